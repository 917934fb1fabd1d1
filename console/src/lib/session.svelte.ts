// Who is signed in and what they may do: GET /me, read once per sign-in.
// Pages show an action only when can(permission) holds; the API checks the
// same permission again on every call (a 403 says what is missing).
import { api, type Me, type Permission } from './api';

export const session = $state<{ me: Me | null; error: string }>({ me: null, error: '' });

let loading: Promise<Me | null> | undefined;
let generation = 0; // a reset makes answers to earlier loads stale

/** Loads GET /me (once; again after reset). */
export function loadSession(): Promise<Me | null> {
	const g = generation;
	loading ??= api.me().then(
		(m) => {
			if (g !== generation) return null;
			session.me = m;
			session.error = '';
			return m;
		},
		(e: unknown) => {
			if (g !== generation) return null;
			session.me = null;
			session.error = e instanceof Error ? e.message : String(e);
			loading = undefined;
			return null;
		}
	);
	return loading;
}

/** Forgets the caller (after a sign-in or sign-out, or a token the API refused). */
export function resetSession() {
	generation++;
	session.me = null;
	session.error = '';
	loading = undefined;
}

/** Whether the caller holds permission p (false until GET /me answered). */
export function can(p: Permission): boolean {
	return session.me?.permissions.includes(p) ?? false;
}
