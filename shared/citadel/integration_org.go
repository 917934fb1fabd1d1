package citadel

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// An integration is of one of two kinds. An account integration scans its
// account. An organization integration is an AWS Organization: its role is
// in the organization's management account or its delegated administrator
// (where organizations:ListAccounts answers), and the organization sync
// (shared/steps/orgsync) keeps one member integration per account in its
// scope, each with ParentID naming it, in its folder. A member is an account
// integration like any other; what it scans, and with which role, it
// inherits from its organization (Member).

// IntegrationKind is what an integration scans.
type IntegrationKind string

const (
	// KindAccount is one account; "" means it too (every integration stored
	// before kinds existed).
	KindAccount IntegrationKind = "account"
	// KindOrganization is an AWS Organization's member accounts.
	KindOrganization IntegrationKind = "organization"
)

// OrganizationOptions narrow which accounts of an organization are members:
// the accounts under OUs (none: the whole organization), then only
// IncludeAccounts when some are given, less ExcludeAccounts.
type OrganizationOptions struct {
	// OUs are organizational unit ids (ou-...) or the root (r-...): their
	// accounts, and those of every OU below them, are in scope.
	OUs []string `json:"ous,omitempty" dynamo:",omitempty"`
	// IncludeAccounts, when set, keeps only these accounts of the scope.
	IncludeAccounts []string `json:"include_accounts,omitempty" dynamo:",omitempty"`
	// ExcludeAccounts are never members.
	ExcludeAccounts []string `json:"exclude_accounts,omitempty" dynamo:",omitempty"`
	// MemberRoleName is the scanner role's name (with its path, if any) in
	// every member account; by default the organization integration's own
	// role's name (the role StackSets deploys everywhere under one name).
	MemberRoleName string `json:"member_role_name,omitempty" dynamo:",omitempty"`
}

// MaxOrgScanAccounts is the most accounts one organization scan reaches:
// its members and the organization's own account. The members' Map is
// inline, and its iterations' events share the organization execution's
// history, which Step Functions caps at 25,000 events: at ~17 an account it
// holds ~1,460 (docs/scale.md). Org sync refuses a larger scope before it
// changes anything, rather than let the execution fail hours in; narrow the
// OUs or the include list, or make one organization integration per OU.
const MaxOrgScanAccounts = 1400

// PatternOUID is an organizational unit id or an organization's root id.
const PatternOUID = `^(ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})$`

var ouIDRe = regexp.MustCompile(PatternOUID)

// ValidOUID reports whether s is an OU id (ou-...) or a root id (r-...).
func ValidOUID(s string) bool { return ouIDRe.MatchString(s) }

// IsRootID reports whether s is an organization root's id (r-...).
func IsRootID(s string) bool { return ValidOUID(s) && strings.HasPrefix(s, "r-") }

// IsOrganization reports whether the integration is an organization's.
func (i Integration) IsOrganization() bool { return i.Kind == KindOrganization }

// checkKind is Validate's part for kinds: an organization's options and
// role, and a member's parent.
func (i Integration) checkKind(errs *fieldErrors) {
	switch i.Kind {
	case "", KindAccount:
		errs.add(i.Organization != nil, "organization options are only for an integration of kind organization")
	case KindOrganization:
		errs.add(i.ParentID != "", "an organization integration cannot be a member of another (parent_id must be empty)")
		o := i.options()
		errs.add(i.RoleARN == "" && o.MemberRoleName == "",
			"an organization integration needs role_arn (a role in the management or delegated administrator account) or organization.member_role_name: its members' roles are named after it")
		o.check(errs)
	default:
		errs.add(true, fmt.Sprintf("kind %q must be %s or %s", i.Kind, KindAccount, KindOrganization))
	}
	if i.ParentID == "" {
		return
	}
	errs.add(!ValidID(i.ParentID), fmt.Sprintf("parent_id %q is not an integration id", i.ParentID))
	errs.add(i.ParentID == i.ID, "parent_id must name another integration (its organization)")
	errs.add(i.ScheduleExpression != "", "a member integration is scanned on its organization's schedule: schedule_expression must be empty")
}

func (i Integration) options() OrganizationOptions {
	if i.Organization == nil {
		return OrganizationOptions{}
	}
	return *i.Organization
}

func (o OrganizationOptions) check(errs *fieldErrors) {
	for _, ou := range o.OUs {
		errs.add(!ValidOUID(ou), fmt.Sprintf("organization.ous: %q is not an OU id (ou-xxxx-xxxxxxxx) or a root id (r-xxxx)", ou))
	}
	errs.add(hasDuplicates(o.OUs), "organization.ous must not repeat")
	for _, f := range []struct {
		name string
		ids  []string
	}{{"include_accounts", o.IncludeAccounts}, {"exclude_accounts", o.ExcludeAccounts}} {
		for _, a := range f.ids {
			errs.add(!ValidAccountID(a), fmt.Sprintf("organization.%s: account id %q must be 12 digits", f.name, a))
		}
		errs.add(hasDuplicates(f.ids), fmt.Sprintf("organization.%s must not repeat", f.name))
	}
	for _, a := range o.IncludeAccounts {
		errs.add(slices.Contains(o.ExcludeAccounts, a), fmt.Sprintf("organization: account %s is both included and excluded", a))
	}
	if o.MemberRoleName != "" {
		_, err := ParseRoleARN("arn:aws:iam::000000000000:role/" + o.MemberRoleName)
		errs.add(err != nil || strings.HasPrefix(o.MemberRoleName, "/"),
			fmt.Sprintf("organization.member_role_name %q is not an IAM role name (letters, digits and _+=,.@-, a path before it with /)", o.MemberRoleName))
	}
}

// Selects reports whether the options keep account (in the scope of their
// OUs): listed in IncludeAccounts when that is set, and not excluded.
func (o OrganizationOptions) Selects(account string) bool {
	if slices.Contains(o.ExcludeAccounts, account) {
		return false
	}
	return len(o.IncludeAccounts) == 0 || slices.Contains(o.IncludeAccounts, account)
}

// MemberIntegrationID is the id of organization integration orgID's member
// for an account: derived from both, so a retried or concurrent sync finds
// the same integration and never makes a second one.
func MemberIntegrationID(orgID, accountID string) string {
	return "int-" + accountID + "-" + shortHash("org-member", orgID, accountID)
}

// MemberRoleARN is the scanner role of a member account: the organization's
// member role name (MemberRoleName, else its own role's name) in that
// account, in the organization's partition.
func (i Integration) MemberRoleARN(accountID string) string {
	name := i.options().MemberRoleName
	if name == "" {
		_, name, _ = strings.Cut(i.RoleARN, ":role/")
	}
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", i.partition(), accountID, name)
}

// partition is the organization's partition: its role's, else its regions',
// else aws.
func (i Integration) partition() string {
	if p := ARNPartition(i.RoleARN); p != "" {
		return p
	}
	for _, r := range i.Regions {
		if p, ok := RegionPartition(r); ok {
			return p
		}
	}
	return "aws"
}

// Member is organization integration i's member for an account, new at
// now: in i's folder, named after the account (name, as Organizations
// calls it; "AWS <account>" when it has none), and inheriting what it scans
// (Inherit).
func (i Integration) Member(accountID, name string, now time.Time) Integration {
	if strings.TrimSpace(name) == "" {
		name = "AWS " + accountID
	}
	m := Integration{ID: MemberIntegrationID(i.ID, accountID), FolderID: i.FolderID, Name: name, AccountID: accountID,
		ParentID: i.ID, CreatedAt: now, UpdatedAt: now}
	return i.Inherit(m)
}

// Inherit returns member m with what it takes from organization integration
// i: the role (MemberRoleARN) and i's external id (one role template, one
// ExternalId, deployed to every account), regions, frameworks and checks.
// Its schedule is i's: the organization's scan scans its members, so a
// member has no schedule of its own.
func (i Integration) Inherit(m Integration) Integration {
	m.Kind, m.Organization, m.ScheduleExpression = "", nil, ""
	m.RoleARN, m.ExternalID = i.MemberRoleARN(m.AccountID), i.ExternalID
	m.Regions, m.Frameworks, m.Checks = slices.Clone(i.Regions), slices.Clone(i.Frameworks), slices.Clone(i.Checks)
	return m
}

// Inherits reports whether member m already has everything it inherits
// from i (Inherit would change nothing).
func (i Integration) Inherits(m Integration) bool {
	want := i.Inherit(m)
	return m.Kind == want.Kind && m.Organization == nil && m.ScheduleExpression == "" &&
		m.RoleARN == want.RoleARN && m.ExternalID == want.ExternalID &&
		slices.Equal(m.Regions, want.Regions) && slices.Equal(m.Frameworks, want.Frameworks) && slices.Equal(m.Checks, want.Checks)
}
