package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/httpapi"
)

// This file is what the integrations and scans commands do for AWS
// Organizations (citadel/integration_org.go): the organization's options
// on add and update, its members, and an organization scan's roll-up.

// orgFlags are an organization integration's options.
type orgFlags struct {
	organization                    bool
	ous, include, exclude, roleName string
}

// orgOptionFlags are the flags of the options, as the API names them.
var orgOptionFlags = map[string]string{
	"ous": "ous", "include-accounts": "include_accounts", "exclude-accounts": "exclude_accounts", "member-role-name": "member_role_name",
}

func (f *orgFlags) register(fs *flag.FlagSet, create bool) {
	if create {
		fs.BoolVar(&f.organization, "organization", false, "an AWS Organization: --account is its management or delegated administrator account, and each scan syncs and scans its member accounts")
	}
	fs.StringVar(&f.ous, "ous", "", "organization: comma-separated OU ids (ou-...) or the root id (r-...) whose accounts are members (default: the whole organization)")
	fs.StringVar(&f.include, "include-accounts", "", "organization: comma-separated account ids: only these accounts of the OUs are members")
	fs.StringVar(&f.exclude, "exclude-accounts", "", "organization: comma-separated account ids that are never members")
	fs.StringVar(&f.roleName, "member-role-name", "", "organization: the scanner role's name in every member account (default: the organization's role's name)")
}

// set reports whether any option flag was given.
func (f *orgFlags) set(fs *flag.FlagSet) bool {
	given := false
	fs.Visit(func(fl *flag.Flag) { _, ok := orgOptionFlags[fl.Name]; given = given || ok })
	return given
}

// merge is o with the option flags given replacing its fields (an empty
// value clears one).
func (f *orgFlags) merge(fs *flag.FlagSet, o citadel.OrganizationOptions) citadel.OrganizationOptions {
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "ous":
			o.OUs = splitList(f.ous)
		case "include-accounts":
			o.IncludeAccounts = splitList(f.include)
		case "exclude-accounts":
			o.ExcludeAccounts = splitList(f.exclude)
		case "member-role-name":
			o.MemberRoleName = strings.TrimSpace(f.roleName)
		}
	})
	return o
}

// orgBody makes an add's body an organization's: its kind and options.
// Citadel's own account has no role of its own, so its members' role name
// is given (the --role-name).
func orgBody(fs *flag.FlagSet, f *integrationFlags, body map[string]any, home bool) {
	o := f.org.merge(fs, citadel.OrganizationOptions{})
	if home && o.MemberRoleName == "" {
		o.MemberRoleName = f.roleName
	}
	body["kind"], body["organization"] = citadel.KindOrganization, o
}

// memberRoleName is the scanner role's name in an organization's member
// accounts: its option, else its own role's name.
func memberRoleName(in citadel.Integration) string {
	if in.Organization != nil && in.Organization.MemberRoleName != "" {
		return in.Organization.MemberRoleName
	}
	if _, name, ok := strings.Cut(in.RoleARN, ":role/"); ok {
		return name
	}
	return DefaultScannerRole
}

// memberRoleCommand deploys the members' role: the organization's
// StackSet stack (infra/stackset.go), deployed in the management account
// (or the StackSets delegated administrator), which deploys the target role
// stack's template to every account of the organization's OUs (its root
// when it names none) and to each account that joins them; its role named
// after the CDK context when the name is not the default.
func memberRoleCommand(trusted string, in citadel.Integration) string {
	targets := "<root id: aws organizations list-roots>"
	if o := in.Organization; o != nil && len(o.OUs) > 0 {
		targets = strings.Join(o.OUs, ",")
	}
	cmd := fmt.Sprintf("cdk deploy %s -c orgStackSet=true -c orgStackSetTargets=%s --parameters TrustedAccountId=%s --parameters ExternalId=%s",
		StackSetStackName, targets, trusted, in.ExternalID)
	if name := memberRoleName(in); name != DefaultScannerRole && !strings.Contains(name, "/") {
		cmd += " -c scannerRoleName=" + name
	}
	return cmd
}

// printOrgDeploy says what an organization needs deployed: the role in its
// management account (none in Citadel's own), and the same role, with the
// same ExternalId, in every member account.
func printOrgDeploy(w io.Writer, in citadel.Integration, trusted string, home bool) {
	if home {
		fmt.Fprintf(w, "\naccount %s is Citadel's own: it lists the organization's accounts with Citadel's roles, nothing to deploy there.\n", in.AccountID)
	} else {
		fmt.Fprintf(w, "\ndeploy the scanner role in account %s, the organization's management or delegated administrator account (it lists the accounts), with that account's credentials, from the Citadel repository:\n", in.AccountID)
		fmt.Fprintf(w, "  %s\n", targetRoleCommand(trusted, in.ExternalID))
	}
	name := memberRoleName(in)
	fmt.Fprintf(w, "\nevery member account needs the scanner role too, named %s, with the same ExternalId: deploy the StackSet stack "+
		"in the management account (or the StackSets delegated administrator, with -c orgStackSetCallAs=DELEGATED_ADMIN); "+
		"it deploys the role to every account of the OUs and to each account that joins them (docs/infra.md):\n", name)
	fmt.Fprintf(w, "  %s\n", memberRoleCommand(trusted, in))
	if strings.Contains(name, "/") {
		fmt.Fprintf(w, "  (the stack makes a role without a path: make %s in each member account yourself, trusting account %s with that ExternalId)\n", name, trusted)
	}
	fmt.Fprintf(w, "each scan of the organization first syncs its members (citadel scan start %s), then lists them: citadel integrations members %s\n", in.ID, in.ID)
}

// kindLabel is an integration's kind for a table: account, organization,
// or member (of its organization).
func kindLabel(in citadel.Integration) string {
	switch {
	case in.IsOrganization():
		return string(citadel.KindOrganization)
	case in.ParentID != "":
		return "member of " + in.ParentID
	}
	return string(citadel.KindAccount)
}

// orgFields are an integration's kind, its organization's options, or its
// organization, as fields lines.
func orgFields(in citadel.Integration) []string {
	kv := []string{"  kind", kindLabel(in)}
	if in.ParentID != "" {
		kv[1] = string(citadel.KindAccount)
		kv = append(kv, "  organization", in.ParentID+" (its syncs set this member: change the organization)")
	}
	if o := in.Organization; in.IsOrganization() {
		if o == nil {
			o = &citadel.OrganizationOptions{}
		}
		ous := strings.Join(o.OUs, " ")
		if ous == "" {
			ous = "none: the whole organization"
		}
		kv = append(kv,
			"  ous", ous,
			"  include accounts", strings.Join(o.IncludeAccounts, " "),
			"  exclude accounts", strings.Join(o.ExcludeAccounts, " "),
			"  member role", memberRoleName(in))
	}
	return kv
}

// showMembers prints how many members an organization has.
func showMembers(ctx context.Context, r *remote, w io.Writer, in citadel.Integration) error {
	if !in.IsOrganization() {
		return nil
	}
	var p citadel.Page[citadel.Integration]
	if _, err := r.api.Do(ctx, http.MethodGet, "/integrations/"+url.PathEscape(in.ID)+"/members", nil, nil, &p); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nmembers: %d (citadel integrations members %s)\n", len(p.Items), in.ID)
	return nil
}

func integrationsMembers(ctx context.Context, args []string, out io.Writer) error {
	id, r, err := openID(ctx, args, out, "integrations members")
	if err != nil {
		return err
	}
	all, err := listAll[citadel.Integration](ctx, r, "/integrations/"+url.PathEscape(id)+"/members", nil)
	if err != nil || r.json {
		return err
	}
	rows := make([][]string, len(all))
	for i, m := range all {
		rows[i] = []string{m.AccountID, orDash(m.Name), m.ID}
	}
	return table(out, "ACCOUNT\tNAME\tMEMBER", rows)
}

// printOrgScan prints an organization scan's roll-up of its members: the
// counts, the sync's, and the failed and skipped accounts with why.
func printOrgScan(w io.Writer, v httpapi.ScanView) error {
	o := v.Organization
	if o == nil {
		return nil
	}
	s := o.Sync
	fmt.Fprintf(w, "\norganization: %d members, %d succeeded, %d failed, %d skipped\n", o.Members, o.Succeeded, o.Failed, o.Skipped)
	if err := fields(w, "  sync", fmt.Sprintf("%d listed, %d added, %d restored, %d updated, %d kept, %d archived, %d excluded, %d suspended skipped, %d refused",
		s.Listed, s.Added, s.Restored, s.Updated, s.Kept, s.Archived, s.Excluded, s.SkippedSuspended, s.Refused)); err != nil {
		return err
	}
	for _, l := range []struct {
		name  string
		n     int
		items []citadel.OrgMemberOutcome
	}{{"failed", o.Failed, o.FailedAccounts}, {"skipped", o.Skipped, o.SkippedAccounts}} {
		if len(l.items) == 0 {
			continue
		}
		more := ""
		if l.n > len(l.items) {
			more = fmt.Sprintf(" (the first %d of %d)", len(l.items), l.n)
		}
		fmt.Fprintf(w, "\n%s accounts%s:\n", l.name, more)
		rows := make([][]string, len(l.items))
		for i, m := range l.items {
			rows[i] = []string{orDash(m.AccountID), m.IntegrationID, m.Status, orDash(m.ScanID), orDash(m.Reason)}
		}
		if err := table(w, "ACCOUNT\tMEMBER\tSTATUS\tSCAN\tREASON", rows); err != nil {
			return err
		}
	}
	return nil
}

// orgScanResult is an organization scan's result for a table of scans.
func orgScanResult(sc citadel.Scan) (string, bool) {
	o := sc.Organization
	if o == nil {
		return "", false
	}
	return fmt.Sprintf("%d members: %d succeeded, %d failed, %d skipped", o.Members, o.Succeeded, o.Failed, o.Skipped), true
}
