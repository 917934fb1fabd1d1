import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

// A single-page app: no page is prerendered, every path falls back to
// index.html, which loads the app and its router. The app lives under a path
// prefix (CITADEL_CONSOLE_BASE, default /console) so it never shares a path
// with the API's routes; the API's URL comes at run time from config.json
// beside index.html (src/lib/config.ts), so one build serves any deployment.
const base = process.env.CITADEL_CONSOLE_BASE ?? '/console';

/** @type {import('@sveltejs/kit').Config} */
export default {
	preprocess: vitePreprocess(),
	kit: {
		adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: true }),
		paths: { base },
		version: { pollInterval: 0 }
	}
};
