package orgsync_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/orgsync"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

var (
	created = time.Date(2026, 11, 29, 11, 0, 0, 0, time.UTC)
	now     = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
)

// org is an AWS Organization on moto, made through the real SDK client in
// a fresh account (testenv.Account), its management account.
type org struct {
	t       *testing.T
	c       *organizations.Client
	account string // the management account
	role    string // the scanner role there
	root    string
}

func newOrg(t *testing.T, cfg aws.Config) *org {
	t.Helper()
	acct, account, role := testenv.Account(t, cfg)
	o := &org{t: t, c: organizations.NewFromConfig(acct), account: account, role: role}
	ctx := context.Background()
	if _, err := o.c.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: types.OrganizationFeatureSetAll}); err != nil {
		t.Fatalf("create organization: %v", err)
	}
	roots, err := o.c.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil || len(roots.Roots) != 1 {
		t.Fatalf("roots: %+v (%v)", roots, err)
	}
	o.root = aws.ToString(roots.Roots[0].Id)
	return o
}

// newAccount creates a member account (moto creates it at once, in the
// root) and moves it under parent when that is not the root.
func (o *org) newAccount(name, parent string) string {
	o.t.Helper()
	out, err := o.c.CreateAccount(context.Background(), &organizations.CreateAccountInput{
		AccountName: aws.String(name), Email: aws.String(name + "@example.com")})
	if err != nil {
		o.t.Fatalf("create account %s: %v", name, err)
	}
	id := aws.ToString(out.CreateAccountStatus.AccountId)
	o.dropRetriedCreates(id, name+"@example.com")
	if parent != o.root {
		o.move(id, o.root, parent)
	}
	return id
}

// dropRetriedCreates removes the accounts a retried CreateAccount made
// beside id: CreateAccount is not idempotent, and under load the SDK may
// send it again after a lost answer (seen in CI: a second "prod" account).
func (o *org) dropRetriedCreates(id, email string) {
	o.t.Helper()
	ctx := context.Background()
	p := organizations.NewListAccountsPaginator(o.c, &organizations.ListAccountsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			o.t.Fatalf("list accounts: %v", err)
		}
		for _, a := range page.Accounts {
			if aws.ToString(a.Email) != email || aws.ToString(a.Id) == id {
				continue
			}
			if _, err := o.c.RemoveAccountFromOrganization(ctx, &organizations.RemoveAccountFromOrganizationInput{AccountId: a.Id}); err != nil {
				o.t.Fatalf("remove the retried account %s: %v", aws.ToString(a.Id), err)
			}
		}
	}
}

func (o *org) newOU(name, parent string) string {
	o.t.Helper()
	out, err := o.c.CreateOrganizationalUnit(context.Background(), &organizations.CreateOrganizationalUnitInput{
		Name: aws.String(name), ParentId: aws.String(parent)})
	if err != nil {
		o.t.Fatalf("create OU %s: %v", name, err)
	}
	return aws.ToString(out.OrganizationalUnit.Id)
}

func (o *org) move(account, from, to string) {
	o.t.Helper()
	if _, err := o.c.MoveAccount(context.Background(), &organizations.MoveAccountInput{
		AccountId: aws.String(account), SourceParentId: aws.String(from), DestinationParentId: aws.String(to)}); err != nil {
		o.t.Fatalf("move account %s to %s: %v", account, to, err)
	}
}

// close closes an account: moto suspends it at once (AWS passes through
// PENDING_CLOSURE first).
func (o *org) close(account string) {
	o.t.Helper()
	if _, err := o.c.CloseAccount(context.Background(), &organizations.CloseAccountInput{AccountId: aws.String(account)}); err != nil {
		o.t.Fatalf("close account %s: %v", account, err)
	}
}

func (o *org) remove(account string) {
	o.t.Helper()
	if _, err := o.c.RemoveAccountFromOrganization(context.Background(), &organizations.RemoveAccountFromOrganizationInput{
		AccountId: aws.String(account)}); err != nil {
		o.t.Fatalf("remove account %s: %v", account, err)
	}
}

// integration is the organization's integration, in folder, stored.
func (o *org) integration(s *ddb.Store, id, folder string, opts *citadel.OrganizationOptions) citadel.Integration {
	o.t.Helper()
	in := citadel.Integration{ID: id, FolderID: folder, Name: "Acme", AccountID: o.account, Kind: citadel.KindOrganization,
		RoleARN: o.role, ExternalID: "citadel-test", Regions: []string{"us-east-1"}, Frameworks: []string{"soc2"},
		ScheduleExpression: "rate(1 day)", Organization: opts, CreatedAt: created, UpdatedAt: created}
	if err := s.CreateIntegration(context.Background(), in); err != nil {
		o.t.Fatal(err)
	}
	return in
}

// estate is an organization of five member accounts beside its management
// account: one in the root, two in Prod (one closed), one in Prod's Child,
// one in Dev.
type estate struct {
	*org
	prod, child, dev      string
	inRoot, inProd, inKid string
	inDev, closed         string
	names                 map[string]string
}

func newEstate(t *testing.T, cfg aws.Config) *estate {
	t.Helper()
	o := newOrg(t, cfg)
	e := &estate{org: o}
	e.prod = o.newOU("Prod", o.root)
	e.child = o.newOU("Child", e.prod)
	e.dev = o.newOU("Dev", o.root)
	e.inRoot = o.newAccount("shared", o.root)
	e.inProd = o.newAccount("prod", e.prod)
	e.inKid = o.newAccount("prod-kid", e.child)
	e.inDev = o.newAccount("dev", e.dev)
	e.closed = o.newAccount("gone", e.prod)
	o.close(e.closed)
	e.names = map[string]string{e.inRoot: "shared", e.inProd: "prod", e.inKid: "prod-kid", e.inDev: "dev", e.closed: "gone"}
	return e
}

// handler syncs through the real SDK client, from the test's own
// credentials, assuming each organization's role on moto; a page of one
// account, so every list call pages.
func handler(cfg aws.Config, s *ddb.Store) *orgsync.Handler {
	return &orgsync.Handler{Store: s, AWS: cfg, Env: stepfn.Env{Clock: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)}, PageSize: 1}
}

// memberIDs are the ids of org's members of accounts, sorted.
func memberIDs(orgID string, accounts ...string) []string {
	ids := []string{}
	for _, a := range accounts {
		ids = append(ids, citadel.MemberIntegrationID(orgID, a))
	}
	slices.Sort(ids)
	return ids
}
