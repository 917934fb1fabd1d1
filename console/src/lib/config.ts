import { base } from '$app/paths';

/** citadel serve's development sign-in: POST /dev/sign-in with a name and a role. */
export interface DevAuth {
	kind: 'dev';
}
/** Cognito's hosted sign-in: authorization code with PKCE (infra/consoleapi.go ConsoleConfig). */
export interface CognitoAuth {
	kind: 'cognito';
	/** The user pool as an OpenID issuer: https://cognito-idp.<region>.amazonaws.com/<pool id>. */
	authority: string;
	/** The console's app client (no secret). */
	client_id: string;
	/** The hosted domain, https://<prefix>.auth.<region>.amazoncognito.com: its /logout signs out. */
	domain: string;
	/** The scopes to ask for, space-separated. */
	scope: string;
}
export type AuthConfig = DevAuth | CognitoAuth;

// The console's runtime settings, from config.json beside index.html: the
// deployment writes it (citadel serve answers it itself), so one build
// serves any deployment.
export interface ConsoleConfig {
	/** The API's base URL; relative values resolve against the page (citadel serve: "/"). */
	api_url: string;
	/** The account Citadel runs in, which the scanner role trusts (optional). */
	citadel_account_id?: string;
	/** The AWS partition of the deployment (aws, aws-cn, aws-us-gov); aws when absent. */
	partition?: string;
	/** How people sign in; absent, nobody does (requests carry no token). */
	auth?: AuthConfig;
}

let loaded: Promise<ConsoleConfig> | undefined;

export function config(): Promise<ConsoleConfig> {
	loaded ??= fetch(`${base}/config.json`, { cache: 'no-store' })
		.then(async (r) => {
			if (!r.ok) throw new Error(`config.json: HTTP ${r.status}`);
			return validate(await r.json());
		})
		.catch((e: unknown) => {
			loaded = undefined; // a later call tries again
			throw e;
		});
	return loaded;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks config.json's shape, saying which key is wrong. */
export function validate(raw: unknown): ConsoleConfig {
	if (!isObject(raw)) throw new Error('config.json: not a JSON object');
	if (typeof raw.api_url !== 'string' || raw.api_url === '') throw new Error('config.json: api_url is missing');
	for (const k of ['citadel_account_id', 'partition'] as const) {
		if (raw[k] !== undefined && typeof raw[k] !== 'string') throw new Error(`config.json: ${k} must be a string`);
	}
	const c = raw as unknown as ConsoleConfig;
	if (raw.auth === undefined || raw.auth === null) {
		delete c.auth;
		return c;
	}
	const a = raw.auth;
	if (!isObject(a)) throw new Error('config.json: auth must be an object with a kind');
	switch (a.kind) {
		case 'dev':
			return c;
		case 'cognito':
			for (const k of ['authority', 'client_id', 'domain', 'scope'] as const) {
				if (typeof a[k] !== 'string' || a[k] === '') throw new Error(`config.json: auth.${k} is missing (kind cognito)`);
			}
			for (const k of ['authority', 'domain'] as const) {
				if (!/^https:\/\/[^/]+/.test(a[k] as string)) throw new Error(`config.json: auth.${k} must be an https:// URL, not ${JSON.stringify(a[k])}`);
			}
			a.domain = (a.domain as string).replace(/\/+$/, '');
			return c;
		default:
			throw new Error(`config.json: auth.kind ${JSON.stringify(a.kind)} is neither "dev" nor "cognito"`);
	}
}
