// Signing in (config.json's auth): the bearer token the API client sends,
// and the ways to get one.
//
// - dev (citadel serve): POST /dev/sign-in with a name and a role answers a
//   token; it is kept in sessionStorage until it expires.
// - cognito (the deployed console): the hosted sign-in, authorization code
//   with PKCE, by oidc-client-ts (loaded only then); the user, with its
//   access token, is kept in sessionStorage. Access tokens last an hour and
//   are not renewed: on expiry, or a 401, the console signs in again and
//   comes back to the page it was on.
//
// Without auth nobody signs in and requests carry no token.
import { base } from '$app/paths';
import { goto } from '$app/navigation';
import type { UserManager } from 'oidc-client-ts';
import type { Role } from './api';
import { config, type CognitoAuth } from './config';
import { resetSession } from './session.svelte';

/** The development sign-in, as POST /dev/sign-in answered it. */
export interface DevSession {
	token: string;
	user: string;
	roles: Role[];
	expires_at: string;
}

const devKey = 'citadel.dev-sign-in';
const signinPath = `${base}/signin`;

/** Whether path is one of the sign-in pages (shown without the app's header). */
export const isSignInPath = (path: string) => path === signinPath || path.startsWith(`${signinPath}/`);

/** A path within the console to come back to; anything else is the console's root. */
export function safeReturn(path: string | null | undefined): string {
	if (!path || !path.startsWith(`${base}/`) || path.startsWith('//') || path.includes('\\')) return `${base}/`;
	const p = new URL(path, window.location.origin);
	if (p.origin !== window.location.origin || isSignInPath(p.pathname)) return `${base}/`;
	return p.pathname + p.search + p.hash;
}

/** The sign-in page, with where to come back to. */
export function signInPage(returnTo: string, reason?: 'expired'): string {
	const q = new URLSearchParams({ return: safeReturn(returnTo) });
	if (reason) q.set('reason', reason);
	return `${signinPath}?${q}`;
}

const here = () => window.location.pathname + window.location.search + window.location.hash;

let manager: Promise<UserManager> | undefined;

/** The OpenID client of the user pool (created once, on first use). */
function cognito(a: CognitoAuth): Promise<UserManager> {
	manager ??= import('oidc-client-ts').then(({ UserManager, WebStorageStateStore }) => {
		const origin = window.location.origin;
		return new UserManager({
			authority: a.authority,
			client_id: a.client_id,
			redirect_uri: `${origin}${base}/signin/callback`,
			post_logout_redirect_uri: `${origin}${base}/`,
			response_type: 'code',
			scope: a.scope,
			userStore: new WebStorageStateStore({ store: window.sessionStorage }),
			stateStore: new WebStorageStateStore({ store: window.sessionStorage }),
			automaticSilentRenew: false,
			monitorSession: false,
			loadUserInfo: false
		});
	});
	return manager;
}

function readDev(): DevSession | null {
	try {
		const s = JSON.parse(window.sessionStorage.getItem(devKey) ?? 'null') as DevSession | null;
		if (s && typeof s.token === 'string' && Date.parse(s.expires_at) > Date.now()) return s;
	} catch {
		// unreadable: signed out
	}
	window.sessionStorage.removeItem(devKey);
	return null;
}

/** The bearer token to send, or null (no sign-in configured, not signed in, expired). */
export async function token(): Promise<string | null> {
	const { auth } = await config();
	if (auth?.kind === 'dev') return readDev()?.token ?? null;
	if (auth?.kind === 'cognito') {
		const user = await (await cognito(auth)).getUser();
		return user && !user.expired && user.access_token ? user.access_token : null;
	}
	return null;
}

/**
 * Whether this tab held a sign-in that has expired; it is forgotten, so the
 * sign-in page can say the sign-in ended rather than that there was none.
 */
export async function forgetExpired(): Promise<boolean> {
	const { auth } = await config();
	let expired = false;
	if (auth?.kind === 'cognito') {
		const user = await (await cognito(auth)).getUser();
		expired = user?.expired === true;
	} else if (auth?.kind === 'dev') {
		expired = window.sessionStorage.getItem(devKey) !== null && readDev() === null;
	}
	if (expired) await forget();
	return expired;
}

/**
 * Signs in, then comes back to returnTo: Cognito's hosted sign-in, or, for
 * the development sign-in, its form on the sign-in page.
 */
export async function signIn(returnTo: string): Promise<void> {
	const { auth } = await config();
	if (auth?.kind === 'cognito') {
		await (await cognito(auth)).signinRedirect({ state: { returnTo: safeReturn(returnTo) } });
	} else if (auth?.kind === 'dev') {
		await goto(signInPage(returnTo));
	} else {
		await goto(safeReturn(returnTo));
	}
}

/** The sign-in's callback: exchanges Cognito's code for tokens; answers the path to go back to. */
export async function completeSignIn(): Promise<string> {
	const { auth } = await config();
	if (auth?.kind !== 'cognito') throw new Error('This console does not sign in with Cognito: nothing to complete here.');
	let user;
	try {
		user = await (await cognito(auth)).signinRedirectCallback();
	} catch (e) {
		const err = e as Error & { error?: string; error_description?: string };
		if (err.error) throw new Error(`Cognito refused the sign-in: ${err.error_description || err.error} (${err.error}).`);
		if (/state/i.test(err.message)) {
			throw new Error('This sign-in is unknown to this tab (it was completed already, or started in another tab or window): sign in again.');
		}
		throw new Error(`The sign-in could not be completed: ${err.message}`);
	}
	resetSession();
	return safeReturn((user.state as { returnTo?: string } | undefined)?.returnTo);
}

/** The development sign-in (citadel serve): a name and a role. */
export async function devSignIn(user: string, role: Role): Promise<DevSession> {
	const { api_url } = await config();
	const root = new URL(api_url, window.location.href);
	const u = new URL('dev/sign-in', root.href.endsWith('/') ? root.href : root.href + '/');
	let r: Response;
	try {
		r = await fetch(u.href, {
			method: 'POST',
			headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
			body: JSON.stringify({ user, role })
		});
	} catch (e) {
		throw new Error(`the API did not answer (${(e as Error).message})`);
	}
	const body = (await r.json().catch(() => ({}))) as Partial<DevSession> & { error?: string; message?: string };
	if (!r.ok) throw new Error(`${body.message ?? body.error ?? r.statusText} (HTTP ${r.status})`);
	if (typeof body.token !== 'string' || typeof body.expires_at !== 'string') throw new Error('the sign-in answered no token');
	const s: DevSession = { token: body.token, user: body.user ?? user, roles: body.roles ?? [role], expires_at: body.expires_at };
	window.sessionStorage.setItem(devKey, JSON.stringify(s));
	resetSession();
	return s;
}

/** Forgets the signed-in user in this browser. */
async function forget(): Promise<void> {
	const { auth } = await config();
	window.sessionStorage.removeItem(devKey);
	if (auth?.kind === 'cognito') await (await cognito(auth)).removeUser();
	resetSession();
}

/** Signs out: forgets the user, then, for Cognito, ends the hosted sign-in's session too. */
export async function signOut(): Promise<void> {
	const { auth } = await config();
	await forget();
	if (auth?.kind === 'cognito') {
		// Cognito's logout, not OpenID's end_session (which it does not have).
		const back = encodeURIComponent(`${window.location.origin}${base}/`);
		window.location.assign(`${auth.domain}/logout?client_id=${encodeURIComponent(auth.client_id)}&logout_uri=${back}`);
		return;
	}
	await goto(signinPath);
}

let leaving = false;

/**
 * The sign-in has ended (no token, or the API answered 401): forgets it and
 * goes to the sign-in page, which comes back to this page.
 */
export async function signInAgain(): Promise<void> {
	if (leaving || isSignInPath(window.location.pathname)) return;
	leaving = true;
	try {
		const back = here();
		await forget();
		await goto(signInPage(back, 'expired'), { replaceState: true });
	} finally {
		leaving = false;
	}
}
