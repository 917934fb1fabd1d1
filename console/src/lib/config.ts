import { base } from '$app/paths';

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
}

let loaded: Promise<ConsoleConfig> | undefined;

export function config(): Promise<ConsoleConfig> {
	loaded ??= fetch(`${base}/config.json`, { cache: 'no-store' }).then(async (r) => {
		if (!r.ok) throw new Error(`config.json: HTTP ${r.status}`);
		const c = (await r.json()) as ConsoleConfig;
		if (typeof c.api_url !== 'string') throw new Error('config.json: api_url is missing');
		return c;
	});
	return loaded;
}
