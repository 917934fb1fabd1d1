package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/inventory"
)

const integrationsUsage = `usage: citadel integrations <command> [flags]   (the deployed API: --stack or --api)

commands:
  add --account ID --frameworks F[,F] [--name N] [--regions R,...] [--checks C,...] [--schedule EXPR]
      [--folder F] [--role-name NAME | --role-arn ARN] [--external-id X]
      [--organization [--ous OU,...] [--include-accounts ID,...] [--exclude-accounts ID,...] [--member-role-name NAME]]
        create an integration; prints the command that deploys the scanner role in that account
        (--organization: an AWS Organization, --account its management or delegated administrator
        account; each scan syncs its member accounts, which need the role too, and scans them)
  list [--folder F]              the integrations of a folder
  show ID                        one integration and its latest scans
  members ID                     an organization's member integrations, one per account
  update ID [--name] [--regions] [--frameworks] [--checks] [--schedule] [--role-arn] [--external-id]
      [--ous] [--include-accounts] [--exclude-accounts] [--member-role-name]
        change only the flags given (an empty value clears a list or the schedule; the
        organization's options given replace those, the others are kept)
  delete ID                      delete an integration and its schedule
  verify ID [--regions R,...]    assume its role and report, service by service, what the scanner may read

every command takes -o json, --stack NAME (default Citadel) and --api URL
`

// DefaultScannerRole is the scanner role's name in target accounts (the
// CDK app's scannerRoleName default).
const DefaultScannerRole = "CitadelScanner"

// The stacks a target account and an organization deploy for the role.
const (
	TargetStackName   = citadel.TargetStackName
	StackSetStackName = citadel.OrgStackSetStackName
)

func cmdIntegrations(ctx context.Context, args []string, out io.Writer) error {
	if done, err := commandGroup("integrations", args, integrationsUsage, out); done {
		return err
	}
	switch args[0] {
	case "add":
		return integrationsAdd(ctx, args[1:], out)
	case "list":
		return integrationsList(ctx, args[1:], out)
	case "show":
		return integrationsShow(ctx, args[1:], out)
	case "members":
		return integrationsMembers(ctx, args[1:], out)
	case "update":
		return integrationsUpdate(ctx, args[1:], out)
	case "delete":
		return integrationsDelete(ctx, args[1:], out)
	case "verify":
		return integrationsVerify(ctx, args[1:], out)
	}
	fmt.Fprint(os.Stderr, integrationsUsage)
	return usagef("integrations: unknown command %q", args[0])
}

// integrationFlags are the settable fields of an integration.
type integrationFlags struct {
	name, account, folder, roleARN, roleName, externalID string
	regions, frameworks, checks, schedule                string
	org                                                  orgFlags
}

func (f *integrationFlags) register(fs *flag.FlagSet, create bool) {
	fs.StringVar(&f.name, "name", "", "a name for people (default \"AWS <account>\")")
	fs.StringVar(&f.regions, "regions", "", "comma-separated regions to scan (default: every enabled region)")
	fs.StringVar(&f.frameworks, "frameworks", "", "comma-separated framework ids (citadel catalog status lists them)")
	fs.StringVar(&f.checks, "checks", "", "comma-separated check ids: scan only these of the frameworks' checks")
	fs.StringVar(&f.schedule, "schedule", "", "an EventBridge Scheduler expression, e.g. rate(1 day) or cron(0 6 * * ? *)")
	fs.StringVar(&f.roleARN, "role-arn", "", "the scanner role's ARN")
	fs.StringVar(&f.externalID, "external-id", "", "the role's ExternalId")
	if create {
		fs.StringVar(&f.account, "account", "", "the 12-digit AWS account id (required)")
		fs.StringVar(&f.folder, "folder", "", "the folder (default: the deployment's)")
		fs.StringVar(&f.roleName, "role-name", DefaultScannerRole, "the scanner role's name in that account (when --role-arn is not given)")
	}
	f.org.register(fs, create)
}

func integrationsAdd(ctx context.Context, args []string, out io.Writer) error {
	var t target
	var f integrationFlags
	fs := newFlags("integrations add", "integrations add --account ID --frameworks F [flags]", &t)
	f.register(fs, true)
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	if !citadel.ValidAccountID(f.account) {
		return usagef("integrations add: --account %q must be a 12-digit AWS account id", f.account)
	}
	if len(splitList(f.frameworks)) == 0 {
		return usagef("integrations add: --frameworks is required (e.g. --frameworks cis_2.0_aws; citadel catalog status lists them)")
	}
	if !f.org.organization && f.org.set(fs) {
		return usagef("integrations add: --ous, --include-accounts, --exclude-accounts and --member-role-name are an organization's: give --organization")
	}
	r, err := t.connect(ctx, out)
	if err != nil {
		return err
	}
	trusted, err := r.citadelAccount(ctx)
	if err != nil {
		return err
	}
	if f.name == "" {
		f.name = "AWS " + f.account
	}
	body := map[string]any{"account_id": f.account, "name": f.name, "frameworks": splitList(f.frameworks)}
	home := f.account == trusted && f.roleARN == ""
	if !home || f.org.organization { // an organization's members need the ExternalId, its own account or not
		if f.externalID == "" {
			f.externalID = newExternalID()
		}
		body["external_id"] = f.externalID
	}
	if !home {
		if f.roleARN == "" {
			f.roleARN = fmt.Sprintf("arn:%s:iam::%s:role/%s", inventory.Partition(r.api.Region), f.account, f.roleName)
		}
		body["role_arn"] = f.roleARN
	}
	if f.org.organization {
		orgBody(fs, &f, body, home)
	}
	for k, v := range map[string]string{"folder_id": f.folder, "schedule_expression": f.schedule} {
		if v != "" {
			body[k] = v
		}
	}
	for k, v := range map[string]string{"regions": f.regions, "checks": f.checks} {
		if l := splitList(v); len(l) > 0 {
			body[k] = l
		}
	}
	var in citadel.Integration
	if err := r.call(ctx, http.MethodPost, "/integrations", nil, body, &in); err != nil {
		return err
	}
	if r.json {
		return nil
	}
	fmt.Fprintf(out, "integration %s created in folder %s\n", in.ID, in.FolderID)
	if err := printIntegration(out, in); err != nil {
		return err
	}
	if in.IsOrganization() {
		printOrgDeploy(out, in, trusted, home)
	} else if home {
		fmt.Fprintf(out, "\naccount %s is Citadel's own: its scans use Citadel's roles, nothing to deploy there.\n", in.AccountID)
	} else {
		fmt.Fprintf(out, "\ndeploy the scanner role in account %s, with that account's credentials, from the Citadel repository:\n", in.AccountID)
		fmt.Fprintf(out, "  %s\n", targetRoleCommand(trusted, in.ExternalID))
	}
	fmt.Fprintf(out, "then check what the scanner may read:\n  citadel integrations verify %s\n", in.ID)
	return nil
}

// targetRoleCommand deploys the scanner role stack in a target account.
func targetRoleCommand(trusted, externalID string) string {
	return fmt.Sprintf("cdk deploy %s --parameters TrustedAccountId=%s --parameters ExternalId=%s", TargetStackName, trusted, externalID)
}

// newExternalID is a fresh ExternalId: "citadel-" and 128 random bits.
func newExternalID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "citadel-" + hex.EncodeToString(b)
}

// citadelAccount is the account Citadel runs in: the stack's, else the
// caller's.
func (r *remote) citadelAccount(ctx context.Context) (string, error) {
	if r.stack != nil && r.stack.Account != "" {
		return r.stack.Account, nil
	}
	id, err := sts.NewFromConfig(r.cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("the Citadel account (sts get-caller-identity): %w", err)
	}
	return aws.ToString(id.Account), nil
}

func printIntegration(w io.Writer, in citadel.Integration) error {
	kv := []string{"  id", in.ID, "  name", in.Name, "  folder", in.FolderID, "  account", in.AccountID}
	kv = append(kv, orgFields(in)...)
	return fields(w, append(kv,
		"  role", in.RoleARN, "  external id", in.ExternalID,
		"  regions", orDash(strings.Join(in.Regions, " ")), "  frameworks", strings.Join(in.Frameworks, " "),
		"  checks", strings.Join(in.Checks, " "), "  schedule", orDash(in.ScheduleExpression),
		"  created", when(in.CreatedAt), "  updated", when(in.UpdatedAt))...)
}

func integrationsList(ctx context.Context, args []string, out io.Writer) error {
	var t target
	fs := newFlags("integrations list", "integrations list [--folder F]", &t)
	folder := fs.String("folder", "", "the folder (default: the deployment's)")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	r, err := t.connect(ctx, out)
	if err != nil {
		return err
	}
	all, err := listAll[citadel.Integration](ctx, r, "/integrations", folderQuery(*folder))
	if err != nil || r.json {
		return err
	}
	rows := make([][]string, len(all))
	for i, in := range all {
		rows[i] = []string{in.ID, orDash(in.Name), kindLabel(in), in.AccountID, orDash(strings.Join(in.Regions, ",")),
			strings.Join(in.Frameworks, ","), orDash(in.ScheduleExpression)}
	}
	return table(out, "ID\tNAME\tKIND\tACCOUNT\tREGIONS\tFRAMEWORKS\tSCHEDULE", rows)
}

func integrationsShow(ctx context.Context, args []string, out io.Writer) error {
	in, r, err := getByID[citadel.Integration](ctx, args, out, "integrations show", "/integrations/")
	if err != nil || r.json {
		return err
	}
	if err := printIntegration(out, in); err != nil {
		return err
	}
	if err := showMembers(ctx, r, out, in); err != nil {
		return err
	}
	var scans citadel.Page[citadel.Scan]
	if _, err := r.api.Do(ctx, http.MethodGet, "/integrations/"+url.PathEscape(in.ID)+"/scans", url.Values{"limit": {"5"}}, nil, &scans); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nlatest scans:")
	return scanRows(out, scans.Items)
}

func integrationsUpdate(ctx context.Context, args []string, out io.Writer) error {
	var t target
	var f integrationFlags
	fs := newFlags("integrations update", "integrations update ID [flags]", &t)
	f.register(fs, false)
	pos, err := parseArgs(fs, args, "ID")
	if err != nil {
		return err
	}
	body := map[string]any{}
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "name", "role-arn", "external-id":
			body[strings.ReplaceAll(fl.Name, "-", "_")] = fl.Value.String()
		case "schedule":
			body["schedule_expression"] = f.schedule
		case "regions", "frameworks", "checks":
			body[fl.Name] = nonNilSlice(splitList(fl.Value.String()))
		}
	})
	if len(body) == 0 && !f.org.set(fs) {
		return usagef("integrations update: nothing to change (give --name, --regions, --frameworks, --checks, --schedule, --role-arn, --external-id, " +
			"or an organization's --ous, --include-accounts, --exclude-accounts, --member-role-name)")
	}
	r, err := t.connect(ctx, out)
	if err != nil {
		return err
	}
	if f.org.set(fs) { // the API replaces the options: send the others as they are
		var old citadel.Integration
		if _, err := r.api.Do(ctx, http.MethodGet, "/integrations/"+url.PathEscape(pos[0]), nil, nil, &old); err != nil {
			return err
		}
		var o citadel.OrganizationOptions
		if old.Organization != nil {
			o = *old.Organization
		}
		body["organization"] = f.org.merge(fs, o)
	}
	var in citadel.Integration
	if err := r.call(ctx, http.MethodPatch, "/integrations/"+url.PathEscape(pos[0]), nil, body, &in); err != nil || r.json {
		return err
	}
	fmt.Fprintf(out, "integration %s updated\n", in.ID)
	return printIntegration(out, in)
}

func integrationsDelete(ctx context.Context, args []string, out io.Writer) error {
	var t target
	fs := newFlags("integrations delete", "integrations delete ID", &t)
	pos, r, err := t.open(ctx, out, fs, args, "ID")
	if err != nil {
		return err
	}
	if err := r.call(ctx, http.MethodDelete, "/integrations/"+url.PathEscape(pos[0]), nil, nil, nil); err != nil {
		return err
	}
	if r.json {
		return writeJSON(out, map[string]any{"deleted": pos[0]})
	}
	fmt.Fprintf(out, "integration %s deleted\n", pos[0])
	return nil
}

// listAll reads every page of a list route; with -o json it prints them
// as one page.
func listAll[T any](ctx context.Context, r *remote, path string, q url.Values) ([]T, error) {
	all, err := readAll[T](ctx, r, path, q)
	if err == nil && r.json {
		err = writeJSON(r.out, citadel.Page[T]{Items: nonNilSlice(all)})
	}
	return all, err
}

// readAll reads every page of a list route.
func readAll[T any](ctx context.Context, r *remote, path string, q url.Values) ([]T, error) {
	var all []T
	for items, err := range citadel.Pages(func(cursor string) (citadel.Page[T], error) {
		q := cloneValues(q)
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var p citadel.Page[T]
		_, err := r.api.Do(ctx, http.MethodGet, path, q, nil, &p)
		return p, err
	}) {
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
	}
	return all, nil
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
