// The folder the pages look at: "" is the deployment's default folder.
// Kept in localStorage so a reload stays in the same folder.
const key = 'citadel.folder';

export const folder = $state({ id: typeof localStorage === 'undefined' ? '' : (localStorage.getItem(key) ?? '') });

export function setFolder(id: string) {
	folder.id = id;
	localStorage.setItem(key, id);
}
