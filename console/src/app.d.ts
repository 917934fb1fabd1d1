// Types of the app (SvelteKit's App namespace); none are needed yet.
declare global {
	namespace App {}
}
export {};
