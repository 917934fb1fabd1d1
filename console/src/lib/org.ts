// AWS Organizations in the console (shared/citadel/integration_org.go,
// orgscan.go): an organization integration's options, an organization
// scan's roll-up of its members, and what a page needs to say of them.
import { splitList, type Integration } from './api';

/** Which accounts of an organization are members (citadel.OrganizationOptions). */
export interface OrganizationOptions {
	ous?: string[];
	include_accounts?: string[];
	exclude_accounts?: string[];
	member_role_name?: string;
}
/** One member that failed or was skipped in an organization scan. */
export interface OrgMemberOutcome {
	integration_id: string;
	account_id?: string;
	scan_id?: string;
	status: string;
	reason?: string;
}
/** An ended organization scan's members, how each ended, and what its sync did (citadel.OrgScanSummary). */
export interface OrgScanSummary {
	members: number;
	succeeded: number;
	failed: number;
	skipped: number;
	failed_accounts?: OrgMemberOutcome[];
	skipped_accounts?: OrgMemberOutcome[];
	sync: Record<string, number>;
}

export const isOrganization = (i: Integration) => i.kind === 'organization';

/** The scanner role's name in an organization's member accounts: its option, else its own role's name. */
export function memberRoleName(i: Integration): string {
	return i.organization?.member_role_name || i.role_arn?.split(':role/')[1] || 'CitadelScanner';
}

/** The command that deploys the members' role: the organization's StackSet stack, in the management account, deploying the target role to every account of its OUs (its root when it names none), named after the CDK context when not the default (cmd/citadel memberRoleCommand). */
export function memberRoleCommand(trusted: string, externalId: string, ous: string[] | undefined, roleName: string): string {
	const targets = ous?.length ? ous.join(',') : '<root id: aws organizations list-roots>';
	const base = `cdk deploy CitadelOrgStackSet -c orgStackSet=true -c orgStackSetTargets=${targets} --parameters TrustedAccountId=${trusted} --parameters ExternalId=${externalId}`;
	return roleName !== 'CitadelScanner' && !roleName.includes('/') ? `${base} -c scannerRoleName=${roleName}` : base;
}

/** The options as typed in a form: each list comma- or space-separated. */
export interface OptionsInput {
	ous: string;
	include: string;
	exclude: string;
	roleName: string;
}
export const optionsInput = (o?: OrganizationOptions): OptionsInput => ({
	ous: (o?.ous ?? []).join(', '),
	include: (o?.include_accounts ?? []).join(', '),
	exclude: (o?.exclude_accounts ?? []).join(', '),
	roleName: o?.member_role_name ?? ''
});

/** The options a form's fields say (an empty list or name is left out). */
export function optionsOf(v: OptionsInput): OrganizationOptions {
	const o: OrganizationOptions = {};
	if (splitList(v.ous).length) o.ous = splitList(v.ous);
	if (splitList(v.include).length) o.include_accounts = splitList(v.include);
	if (splitList(v.exclude).length) o.exclude_accounts = splitList(v.exclude);
	if (v.roleName.trim()) o.member_role_name = v.roleName.trim();
	return o;
}
