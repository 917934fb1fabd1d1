// Exceptions (risk acceptances): the API's types and calls (docs/api.md,
// "Exceptions"). Kept apart from api.ts, whose calls they share.
import { call, seg, type Page } from './api';

export type ExceptionStatus = 'requested' | 'approved' | 'rejected' | 'expired' | 'revoked';
export const exceptionStatuses: ExceptionStatus[] = ['requested', 'approved', 'rejected', 'expired', 'revoked'];
export type ScopeKind = 'asset' | 'integration' | 'tag';
export type Decision = 'approve' | 'reject' | 'revoke';

export interface ExceptionScope {
	kind: ScopeKind;
	asset_arn?: string;
	asset_id?: string;
	tag_key?: string;
	tag_value?: string;
}

export interface ExceptionTransition {
	from: ExceptionStatus | '';
	to: ExceptionStatus;
	by: string;
	at: string;
	note?: string;
}

export interface RiskException {
	id: string;
	folder_id: string;
	integration_id: string;
	check_id: string;
	scope: ExceptionScope;
	justification: string;
	owner: string;
	requested_by: string;
	requested_at: string;
	expires_at: string;
	status: ExceptionStatus;
	decided_by?: string;
	decided_at?: string;
	decision_note?: string;
	updated_at: string;
	history: ExceptionTransition[];
}

export interface ExceptionCreate {
	integration_id: string;
	check_id: string;
	scope: Omit<ExceptionScope, 'asset_id'>;
	justification: string;
	owner: string;
	expires_at: string;
}

/** Which exceptions a list shows: of an integration, or of a folder. */
export type ExceptionsOf = { integration_id: string } | { folder_id?: string };

export const exceptionsAPI = {
	list: (of: ExceptionsOf, status: ExceptionStatus | '', cursor?: string) =>
		call<Page<RiskException>>('GET', '/exceptions', { query: { ...of, status, limit: 100, cursor } }),
	get: (id: string) => call<RiskException>('GET', `/exceptions/${seg(id)}`),
	request: (body: ExceptionCreate) => call<RiskException>('POST', '/exceptions', { body }),
	decide: (id: string, decision: Decision, note: string) =>
		call<RiskException>('POST', `/exceptions/${seg(id)}/${decision}`, { body: note ? { note } : {} })
};

/** The scope in words, as the list and the page show it. */
export function scopeWords(s: ExceptionScope): string {
	switch (s.kind) {
		case 'asset':
			return s.asset_arn ?? s.asset_id ?? 'one asset';
		case 'integration':
			return 'every asset of the integration';
		case 'tag':
			return `assets tagged ${s.tag_key}=${s.tag_value ?? ''}`;
	}
}

/** The moves a status allows (the API refuses the others with a 409); each needs the review permission. */
export function movesOf(s: ExceptionStatus): Decision[] {
	if (s === 'requested') return ['approve', 'reject'];
	if (s === 'approved') return ['revoke'];
	return [];
}

/** An expiry date (YYYY-MM-DD, the end of that day in UTC) as the API takes it. */
export function expiryOf(day: string): string {
	return new Date(`${day}T23:59:59Z`).toISOString();
}
