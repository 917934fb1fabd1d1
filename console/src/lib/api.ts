// A small typed client of Citadel's public API (shared/httpapi/openapi.yaml):
// the console talks to nothing else.
import { config } from './config';
import { signInAgain, token } from './auth';
import type { OrganizationOptions, OrgScanSummary } from './org';
import type { ShardFailure } from './shards';
import type { ExceptionScope, ExceptionStatus } from './exceptions';
export type { ShardFailure } from './shards';

export type ScanStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled';
/** A result's effective status: a failure an approved exception covers is 'excepted' (prowler_status stays 'fail'). */
export type ResultStatus = 'pass' | 'fail' | 'error' | 'not_applicable' | 'excepted';
export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'informational';
export type EvidenceStatus = 'in_review' | 'approved' | 'rejected' | 'expired';

export type Role = 'admin' | 'operator' | 'auditor' | 'viewer';
export type Permission = 'read' | 'scan' | 'review' | 'admin' | 'exception';
/** GET /me: the caller, how it signed in, its roles and their permissions. */
export interface Me {
	caller: string;
	via: 'iam' | 'jwt' | 'local';
	roles: Role[];
	permissions: Permission[];
}

export interface Page<T> {
	items: T[];
	next?: string;
}
export interface Folder {
	id: string;
	name: string;
	created_at: string;
	updated_at?: string;
}
export interface Integration {
	id: string;
	folder_id: string;
	name: string;
	account_id: string;
	role_arn?: string;
	external_id?: string;
	regions?: string[];
	frameworks?: string[];
	checks?: string[];
	schedule_expression?: string;
	created_at: string;
	updated_at: string;
	/** Absent for an account; a member is an account with parent_id, its organization (lib/org.ts). */
	kind?: 'account' | 'organization';
	organization?: OrganizationOptions;
	parent_id?: string;
}
export interface IntegrationCreate {
	folder_id?: string;
	name: string;
	account_id: string;
	role_arn?: string;
	external_id?: string;
	regions?: string[];
	frameworks: string[];
	schedule_expression?: string;
	kind?: 'account' | 'organization';
	organization?: OrganizationOptions;
}
export interface StepProgress {
	step: string;
	status: 'running' | 'succeeded' | 'retrying' | 'failed';
	attempts: number;
	started_at: string;
	finished_at?: string;
	counts?: Record<string, number>;
	usage: { requests: number; read_units: number; write_units: number };
	error?: string;
}
export interface ScanSummary {
	success: boolean;
	message: string;
	duration_seconds: number;
	shards_failed?: ShardFailure[];
	shards_failed_count?: number;
	results_carried?: number;
	[count: string]: number | boolean | string | ShardFailure[] | undefined;
}
export interface Scan {
	id: string;
	integration_id: string;
	folder_id: string;
	trigger: 'api' | 'schedule' | 'organization';
	status: ScanStatus;
	failure_cause?: string;
	cancelled_by?: string;
	execution_arn?: string;
	created_at: string;
	started_at?: string;
	finished_at?: string;
	summary?: ScanSummary;
	steps?: StepProgress[];
	current_step?: string;
	current_step_since?: string;
	/** An organization's scan: kind, and once ended its members' roll-up; a member's: its parent_scan_id. */
	kind?: 'organization';
	parent_scan_id?: string;
	organization?: OrgScanSummary;
}
export interface CatalogStatus {
	loaded: boolean;
	version?: { prowler_version: string; scf_version?: string; imported_at: string; counts: Record<string, number> };
	frameworks: { id: string; name: string; requirements: number }[];
	last_load?: { execution_arn: string; status: string; started_at: string; stopped_at?: string; error?: string; cause?: string };
	problems: string[];
}
export interface CheckResult {
	integration_id: string;
	security_check: string;
	asset: string;
	asset_arn: string;
	scan_id: string;
	status: ResultStatus;
	prowler_status?: ResultStatus;
	exception_id?: string;
	muted: boolean;
	status_extended?: string;
	severity?: string;
	region?: string;
	scanned_at: string;
}
/** One change of a result's status (GET /results/history); previous_status '' for the first-ever result. */
export interface ResultChange {
	integration_id: string;
	security_check: string;
	asset: string;
	scan_id: string;
	previous_status: ResultStatus | '';
	new_status: ResultStatus;
	changed_at: string;
}
export interface Finding extends CheckResult {
	asset_ref: string;
}
export interface Asset {
	id: string;
	integration_id: string;
	source: string;
	source_id: string;
	service_type: string;
	name: string;
	region: string;
	account_id: string;
	tags?: Record<string, string>;
	is_active: boolean;
	first_seen: string;
	last_seen: string;
}
export interface AssetRelationship {
	integration_id: string;
	from: string;
	to: string;
	kind: string;
}
export interface AssetDetail {
	ref: string;
	asset: Asset;
	results: CheckResult[];
	relationships_out: AssetRelationship[];
	relationships_in: AssetRelationship[];
}
export interface CoverageRequirement {
	requirement_id: string;
	assessment_id: string;
	ref_id: string;
	name?: string;
	assessable: boolean;
	weight: number;
	controls: { control_id: string; ref_id?: string; name?: string; security_posture: string; sources: string[]; checks: { check_id: string; origin: string }[]; missing?: boolean }[];
	all_passing: boolean;
	result: string;
	score?: number;
}
export interface Coverage {
	folder_id: string;
	/** The integration the view is narrowed to; absent for the whole folder. */
	integration_id?: string;
	framework_id: string;
	framework: string;
	next?: string;
	requirements: CoverageRequirement[];
	coverage: {
		requirements: number;
		with_controls: number;
		all_passing: number;
		with_controls_pct: number;
		all_passing_pct: number;
		controls_by_posture: Record<string, number>;
		distinct_controls: number;
	};
	score: { value: number; answered: number; unscored: number };
}
export interface Evidence {
	id: string;
	folder_id: string;
	source_integration: string;
	security_check: string;
	asset: string;
	name: string;
	origin: 'scan' | 'manual';
	status: EvidenceStatus;
	is_continuous: boolean;
	asset_name?: string;
	asset_type?: string;
	result_status: string;
	/** The approved exception covering the result as of the latest revision. */
	exception_id?: string;
	revision_count: number;
	latest_hash?: string;
	review_comment?: string;
	reviewed_at?: string;
	reviewed_by?: string;
	review_count?: number;
	created_at: string;
	updated_at: string;
}
export interface EvidenceRevision {
	evidence_id: string;
	number: number;
	scan_id: string;
	raw_output?: string | null;
	exception?: RevisionException;
	content_hash: string;
	prev_hash: string;
	hash: string;
	created_at: string;
}
/** The decision of the exception that applies to a revision's result, or has just stopped applying (in its content hash). */
export interface RevisionException {
	id: string;
	applies: boolean;
	status: ExceptionStatus;
	decided_by: string;
	decided_at: string;
	note?: string;
	expires_at: string;
	scope: ExceptionScope;
	justification: string;
	owner: string;
	requested_by: string;
}
export interface EvidenceReview {
	evidence_id: string;
	number: number;
	by: string;
	decision: 'approve' | 'reject';
	comment: string;
	at: string;
	revision: number;
	revision_hash?: string;
	prev_hash: string;
	hash: string;
}
export interface EvidenceDetail {
	evidence: Evidence;
	revisions: EvidenceRevision[];
	reviews: EvidenceReview[];
	chain_break?: { number?: number; review?: number; reason?: string };
}

export type Posture = 'passing' | 'partial' | 'issues' | 'not_scanned';
/** Why a scan linked a check to a control (citadel.LinkWhy). */
export interface LinkWhy {
	origin: 'imported' | 'manual' | 'prowler';
	rank?: number;
	score?: number;
	relevance?: number;
	frameworks?: string[];
	requirements?: string[];
	by?: string;
	reason?: string;
	at?: string;
	summary: string;
}
/** A control's link to an asset (its id), a check (its Prowler id) or an evidence record (citadel.ControlLink). */
export interface ControlLink {
	control_id: string;
	kind: 'asset' | 'check' | 'evidence';
	target_id: string;
	origin: 'scan' | 'manual';
	why?: LinkWhy;
}
/** An applied control or policy of a folder (citadel.AppliedControl). */
export interface Control {
	id: string;
	folder_id: string;
	ref_id: string;
	name: string;
	description?: string;
	category: string;
	origin: 'scan' | 'manual';
	status: string;
	is_automated: boolean;
	scf_control?: string;
	source_requirement?: string;
	reference_control?: string;
	security_checks?: string[];
	security_posture: Posture;
	pass_count: number;
	fail_count: number;
	excepted_count?: number;
	error_count: number;
	last_scan_id?: string;
	created_at: string;
	updated_at: string;
	integrations?: Record<string, { passed: number; failed: number; errored: number; not_applicable: number; excepted?: number; links_digest?: string }>;
	version?: number;
}
/** GET /controls/{id} (httpapi.ControlDetail). */
export interface ControlDetail {
	control: Control;
	mappings: { control_id: string; requirement_id: string; framework_id: string; source: 'prowler' | 'scf' | 'requirement' | 'manual' }[];
	evidence: ControlLink[];
	checks: ControlLink[];
	assets: ControlLink[];
}
/** A check's remediation in Prowler's metadata (citadel.Remediation). */
export interface Remediation {
	text?: string;
	url?: string;
	cli?: string;
	terraform?: string;
	native_iac?: string;
	other?: string;
}
/** GET /checks/{id}: one Prowler check of the catalog (citadel.SecurityCheck). */
export interface SecurityCheck {
	id: string;
	title: string;
	service: string;
	sub_service?: string;
	resource_type: string;
	severity: Severity;
	categories?: string[];
	description?: string;
	risk?: string;
	remediation: Remediation;
	mapped_requirements?: string[];
	deprecated: boolean;
	prowler_version?: string;
}
/** PATCH /integrations/{id}: the fields sent replace the stored ones; "" as schedule_expression removes the schedule. */
export type IntegrationPatch = Partial<Pick<Integration, 'name' | 'role_arn' | 'external_id' | 'regions' | 'frameworks' | 'checks' | 'schedule_expression' | 'organization'>>;
/** One inventory collector in one region ("global" for a global service) during a verify. */
export interface VerifyScope {
	resource_type: string;
	region: string;
	ok: boolean;
	resources: number;
	code?: string;
	error?: string;
}
/** POST /integrations/{id}/verify: what the scanner role may list, service by service. */
export interface VerifyReport {
	integration_id: string;
	account_id: string;
	role_arn?: string;
	assumed_as: string;
	assumed?: boolean;
	regions: string[];
	services: { service: string; scopes: VerifyScope[] }[];
	denied: number;
}

/** An answer of the API other than 2xx: its status and {error, message}. */
export class APIError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string
	) {
		super(message);
	}
}

type Query = Record<string, string | number | undefined | null>;

async function url(path: string, query?: Query): Promise<string> {
	const { api_url } = await config();
	const root = new URL(api_url, window.location.href);
	const u = new URL(path.replace(/^\//, ''), root.href.endsWith('/') ? root.href : root.href + '/');
	for (const [k, v] of Object.entries(query ?? {})) {
		if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, String(v));
	}
	return u.href;
}

export async function call<T>(method: string, path: string, opts: { query?: Query; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
	const headers: Record<string, string> = { Accept: 'application/json' };
	const init: RequestInit = { method, signal: opts.signal, headers };
	if (opts.body !== undefined) {
		init.body = JSON.stringify(opts.body);
		headers['Content-Type'] = 'application/json';
	}
	// With a sign-in configured, every call carries its bearer token; without
	// one (never signed in, or expired) the call is not made: sign in first.
	const { auth } = await config();
	const bearer = await token();
	if (bearer) headers.Authorization = `Bearer ${bearer}`;
	else if (auth) {
		void signInAgain();
		throw new APIError(401, 'unauthorized', 'not signed in: sign in first');
	}
	let r: Response;
	try {
		r = await fetch(await url(path, opts.query), init);
	} catch (e) {
		if ((e as Error).name === 'AbortError') throw e;
		throw new APIError(0, 'network', `the API did not answer (${(e as Error).message})`);
	}
	if (r.status === 401 && auth) void signInAgain(); // the token was refused: sign in again, then come back
	if (r.status === 204) return undefined as T;
	const text = await r.text();
	let body: unknown;
	try {
		body = text ? JSON.parse(text) : undefined;
	} catch {
		body = undefined;
	}
	if (!r.ok) {
		const b = (body ?? {}) as { error?: string; message?: string };
		throw new APIError(r.status, b.error ?? 'http', b.message ?? `HTTP ${r.status} ${r.statusText}`);
	}
	return body as T;
}

/** Every page of a list, following next. */
async function all<T>(path: string, query: Query = {}, signal?: AbortSignal): Promise<T[]> {
	const out: T[] = [];
	let cursor: string | undefined;
	do {
		const page = await call<Page<T>>('GET', path, { query: { ...query, limit: 1000, cursor }, signal });
		out.push(...page.items);
		cursor = page.next;
	} while (cursor);
	return out;
}

export const seg = encodeURIComponent;

export const api = {
	me: () => call<Me>('GET', '/me'),
	folders: () => all<Folder>('/folders'),
	integrations: (folder?: string) => all<Integration>('/integrations', { folder_id: folder }),
	integration: (id: string) => call<Integration>('GET', `/integrations/${seg(id)}`),
	/** An organization's members, all at once. */
	members: (id: string) => call<Page<Integration>>('GET', `/integrations/${seg(id)}/members`).then((p) => p.items),
	createIntegration: (body: IntegrationCreate) => call<Integration>('POST', '/integrations', { body }),
	deleteIntegration: (id: string) => call<void>('DELETE', `/integrations/${seg(id)}`),
	startScan: (id: string) => call<Scan>('POST', `/integrations/${seg(id)}/scans`),
	scans: (integration: string, limit = 20, cursor?: string) =>
		call<Page<Scan>>('GET', `/integrations/${seg(integration)}/scans`, { query: { limit, cursor } }),
	scan: (id: string, signal?: AbortSignal) => call<Scan>('GET', `/scans/${seg(id)}`, { signal }),
	cancelScan: (id: string) => call<Scan>('POST', `/scans/${seg(id)}/cancel`),
	catalog: () => call<CatalogStatus>('GET', '/catalog'),
	coverage: (framework: string, folder?: string, cursor?: string, integration?: string) =>
		call<Coverage>('GET', `/frameworks/${seg(framework)}/coverage`, { query: { folder_id: folder, cursor, integration_id: integration } }),
	results: (q: Query, cursor?: string) => call<Page<Finding>>('GET', '/results', { query: { ...q, limit: 200, cursor } }),
	asset: (ref: string) => call<AssetDetail>('GET', `/assets/${seg(ref)}`),
	evidenceList: (status: EvidenceStatus | '', folder?: string, cursor?: string) =>
		call<Page<Evidence>>('GET', '/evidence', { query: { status, folder_id: folder, limit: 100, cursor } }),
	evidence: (id: string) => call<EvidenceDetail>('GET', `/evidence/${seg(id)}`),
	review: (id: string, decision: 'approve' | 'reject', comment: string) =>
		call<Evidence>('POST', `/evidence/${seg(id)}/review`, { body: { decision, comment } }),
	control: (id: string) => call<ControlDetail>('GET', `/controls/${seg(id)}`),
	check: (id: string) => call<SecurityCheck>('GET', `/checks/${seg(id)}`),
	updateIntegration: (id: string, patch: IntegrationPatch) => call<Integration>('PATCH', `/integrations/${seg(id)}`, { body: patch }),
	verifyIntegration: (id: string, regions?: string[]) =>
		call<VerifyReport>('POST', `/integrations/${seg(id)}/verify`, regions?.length ? { body: { regions } } : {}),
	/** A result's status changes, oldest first (asset: the result's `asset` id, not the asset's ref). */
	resultHistory: (integration: string, check: string, asset: string) =>
		call<{ items: ResultChange[] }>('GET', '/results/history', { query: { integration_id: integration, check_id: check, asset } })
};

/** A fresh ExternalId as the CLI makes one: "citadel-" and 128 random bits in hex. */
export function newExternalId(): string {
	const b = new Uint8Array(16);
	crypto.getRandomValues(b);
	return 'citadel-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** The command that deploys the scanner role in a target account (cmd/citadel targetRoleCommand). */
export function targetRoleCommand(trusted: string, externalId: string): string {
	return `cdk deploy CitadelTargetRole --parameters TrustedAccountId=${trusted} --parameters ExternalId=${externalId}`;
}

/** The items of a comma- or space-separated list a person typed ("us-east-1, eu-west-1"). */
export function splitList(s: string): string[] {
	return s.split(/[\s,]+/).filter(Boolean);
}

/** The partition of a region name. */
export function partitionOf(region: string | undefined, fallback = 'aws'): string {
	if (!region) return fallback;
	if (region.startsWith('cn-')) return 'aws-cn';
	if (region.startsWith('us-gov-')) return 'aws-us-gov';
	return 'aws';
}

export const activeScan = (s: ScanStatus) => s === 'queued' || s === 'running';

export function message(e: unknown): string {
	if (e instanceof APIError) return e.status ? `${e.message} (HTTP ${e.status})` : e.message;
	return e instanceof Error ? e.message : String(e);
}

export function when(t?: string): string {
	if (!t) return '—';
	const d = new Date(t);
	return isNaN(d.getTime()) ? t : d.toLocaleString();
}
