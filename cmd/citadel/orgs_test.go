package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/httpapi"
	"github.com/citadelsecure/citadel/shared/testkit/golden"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// orgFixture is an organization integration as its sync leaves it: two
// members, and an ended organization scan whose one member failed and
// another was skipped.
type orgFixture struct {
	org, payments, sandbox citadel.Integration
	scan, memberScan       citadel.Scan
}

var orgT0 = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

// seedOrganization stores the fixture in folder, as the organization sync
// and the organization scan would have.
func seedOrganization(t *testing.T, store *ddb.Store, folder string) orgFixture {
	t.Helper()
	ctx := context.Background()
	org := citadel.Integration{ID: "int-acme-org", FolderID: folder, Name: "Acme organization", AccountID: "111122223333",
		RoleARN: "arn:aws:iam::111122223333:role/" + DefaultScannerRole, ExternalID: "citadel-00112233445566778899aabbccddeeff",
		Regions: []string{"us-east-1"}, Frameworks: []string{"soc2"}, Kind: citadel.KindOrganization,
		Organization: &citadel.OrganizationOptions{OUs: []string{"ou-ab12-cdefgh34"}, ExcludeAccounts: []string{"444455556666"}},
		CreatedAt:    orgT0, UpdatedAt: orgT0}
	f := orgFixture{org: org, payments: org.Member("222233334444", "Payments", orgT0), sandbox: org.Member("333344445555", "", orgT0)}
	for _, in := range []citadel.Integration{f.org, f.payments, f.sandbox} {
		if err := store.CreateIntegration(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	f.scan = citadel.Scan{ID: "scan-20261130090000-org", IntegrationID: org.ID, FolderID: folder, Trigger: citadel.TriggerAPI,
		Status: citadel.ScanQueued, Kind: citadel.KindOrganization, CreatedAt: orgT0}
	f.memberScan = citadel.Scan{ID: citadel.MemberScanID(f.scan.ID, f.payments.ID), IntegrationID: f.payments.ID, FolderID: folder,
		Trigger: citadel.TriggerOrganization, ParentScanID: f.scan.ID, Status: citadel.ScanQueued, CreatedAt: orgT0.Add(time.Minute)}
	for _, sc := range []citadel.Scan{f.scan, f.memberScan} {
		if err := store.StartScan(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	f.memberScan.Status, f.memberScan.StartedAt, f.memberScan.FinishedAt = citadel.ScanFailed, orgT0.Add(time.Minute), orgT0.Add(3*time.Minute)
	f.memberScan.FailureCause = "prowler: AccessDenied: the scanner role CitadelScanner in account 222233334444 may not be assumed"
	o := citadel.OrgScanSummary{Members: 3, Succeeded: 1, Failed: 1, Skipped: 1,
		FailedAccounts: []citadel.OrgMemberOutcome{{IntegrationID: f.payments.ID, AccountID: f.payments.AccountID, ScanID: f.memberScan.ID,
			Status: string(citadel.ScanFailed), Reason: f.memberScan.FailureCause}},
		SkippedAccounts: []citadel.OrgMemberOutcome{{IntegrationID: f.sandbox.ID, AccountID: f.sandbox.AccountID,
			Status: string(citadel.MemberSkipped), Reason: "integration " + f.sandbox.ID + " already has scan scan-earlier running"}},
		Sync: citadel.OrgSyncCounts{Listed: 4, Excluded: 1, Added: 2, Kept: 1}}
	f.scan.Status, f.scan.StartedAt, f.scan.FinishedAt, f.scan.Organization = citadel.ScanSucceeded, orgT0, orgT0.Add(5*time.Minute), &o
	f.scan.Summary = &citadel.ScanSummary{Success: true, Message: o.Message(7), TotalAssets: 40, AssetsCreated: 40,
		ChecksExecuted: 60, ChecksPassed: 53, ChecksFailed: 7, ControlsCreated: 12, EvidenceCreated: 9, DurationSeconds: 300}
	for _, sc := range []citadel.Scan{f.memberScan, f.scan} {
		if _, err := store.FinishScan(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// newOrgCLIEnv is the deployment of newCLIEnv without the estate, Prowler
// or a scan to run: the fixture catalog loaded, the API behind the gateway
// stand-in, and the stack naming it. Each option changes the API before it
// serves (its clock, its ids).
func newOrgCLIEnv(t *testing.T, opts ...func(*httpapi.Server)) *cliEnv {
	t.Helper()
	ctx := context.Background()
	cfg := testenv.Config(t)
	db, table := testenv.Table(t, cfg)
	_, bucket := testenv.Bucket(t, cfg)
	t.Setenv("CITADEL_TABLE", table)
	if err := catalogImport(ctx, []string{"-prowler", fixtureProwler, "-scf", fixtureSCF}, io.Discard); err != nil {
		t.Fatal(err)
	}
	bus := testenv.Name(t, "citadel-bus")
	if _, err := eventbridge.NewFromConfig(cfg).CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	store := ddb.NewFromClient(db, table)
	if err := store.CreateFolder(ctx, citadel.Folder{ID: "fld-org", Name: "org", CreatedAt: orgT0}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	api, execs, err := localAPI(ctx, cfg, &runner{cfg: cfg, table: table, bucket: bucket, eventBus: bus, log: log}, "fld-org")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(execs.Wait)
	for _, o := range opts {
		o(api)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gw := &gateway{t: t, creds: creds, region: cfg.Region, caller: "arn:aws:iam::123456789012:user/alice", adapter: httpadapter.NewV2(api)}
	apiURL := serveGateway(t, gw)
	e := &cliEnv{ctx: ctx, cfg: cfg, store: store, gw: gw, stack: testenv.Name(t, "Citadel"), bucket: bucket}
	body, _ := json.Marshal(map[string]any{
		"Resources": map[string]any{"Marker": map[string]any{"Type": "AWS::CloudFormation::WaitConditionHandle"}},
		"Outputs":   map[string]any{citadel.OutputAPIURL: map[string]any{"Value": apiURL}},
	})
	if _, err := cloudformation.NewFromConfig(cfg).CreateStack(ctx, &cloudformation.CreateStackInput{
		StackName: aws.String(e.stack), TemplateBody: aws.String(string(body)),
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

// serveGateway serves gw on 127.0.0.1 until the test ends: its URL.
func serveGateway(t *testing.T, gw *gateway) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(gw)
	srv.Listener.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestOrganizationCommands: an organization added (its deploy lines), its
// options updated and kept, its members listed, a member shown read-only
// and refused its edits in the API's words, and an organization scan shown
// with its members' outcomes, a member scan with its parent.
func TestOrganizationCommands(t *testing.T) {
	e := newOrgCLIEnv(t)
	f := seedOrganization(t, e.store, "fld-org")

	for _, step := range []struct {
		args   []string
		golden string
	}{
		{[]string{"integrations", "list", "--folder", "fld-org"}, "org_list.txt"},
		{[]string{"integrations", "show", f.org.ID}, "org_show.txt"},
		{[]string{"integrations", "members", f.org.ID}, "org_members.txt"},
		{[]string{"integrations", "show", f.payments.ID}, "org_member_show.txt"},
		{[]string{"scans", "list", f.org.ID}, "org_scans_list.txt"},
		{[]string{"scans", "show", f.scan.ID}, "org_scan_show.txt"},
		{[]string{"scans", "show", f.memberScan.ID}, "org_member_scan_show.txt"},
	} {
		golden.Check(t, step.golden, []byte(e.must(t, step.args...)))
	}

	// Added through the API: the role in the management account, the same
	// role and ExternalId in every member, and the options as given.
	out := e.must(t, "integrations", "add", "--organization", "--account", "210987654321", "--name", "Globex", "--frameworks", "soc2",
		"--folder", "fld-org", "--ous", "ou-ab12-cdefgh34,r-ab12", "--exclude-accounts", "444455556666", "--member-role-name", "CitadelAudit")
	m := regexp.MustCompile(`integration (int-\S+) created`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no integration id in:\n%s", out)
	}
	added, err := e.store.GetIntegration(e.ctx, m[1])
	if err != nil {
		t.Fatal(err)
	}
	line := "cdk deploy CitadelTargetRole --parameters TrustedAccountId=123456789012 --parameters ExternalId=" + added.ExternalID
	if !regexp.MustCompile(`(?m)^  kind +organization$`).MatchString(out) || !regexp.MustCompile(`(?m)^  member role +CitadelAudit$`).MatchString(out) {
		t.Errorf("integrations add --organization: no kind or member role in:\n%s", out)
	}
	contains(t, "integrations add --organization", out,
		"account 210987654321, the organization's management or delegated administrator account",
		"  "+line+"\n", "named CitadelAudit, with the same ExternalId", "deploy the StackSet stack",
		"  cdk deploy CitadelOrgStackSet -c orgStackSet=true -c orgStackSetTargets=ou-ab12-cdefgh34,r-ab12 --parameters TrustedAccountId=123456789012 --parameters ExternalId="+
			added.ExternalID+" -c scannerRoleName=CitadelAudit\n", "citadel integrations members "+added.ID)
	want := &citadel.OrganizationOptions{OUs: []string{"ou-ab12-cdefgh34", "r-ab12"}, ExcludeAccounts: []string{"444455556666"}, MemberRoleName: "CitadelAudit"}
	if d := cmp.Diff(want, added.Organization); d != "" || !added.IsOrganization() || added.RoleARN != "arn:aws:iam::210987654321:role/CitadelScanner" ||
		!regexp.MustCompile(`^citadel-[0-9a-f]{32}$`).MatchString(added.ExternalID) {
		t.Errorf("stored organization %+v, options (-want +got):\n%s", added, d)
	}
	// Citadel's own account: no role of its own, the members' role named.
	out = e.must(t, "integrations", "add", "--organization", "--account", "123456789012", "--frameworks", "soc2", "--folder", "fld-org", "-o", "json")
	var home citadel.Integration
	if err := json.Unmarshal([]byte(out), &home); err != nil || home.RoleARN != "" || home.Organization == nil ||
		home.Organization.MemberRoleName != DefaultScannerRole || home.ExternalID == "" || !home.IsOrganization() {
		t.Errorf("the home organization: %+v (%v)", home, err)
	}

	// An update replaces only the options given.
	contains(t, "integrations update", e.must(t, "integrations", "update", added.ID, "--exclude-accounts", "444455556666,555566667777"),
		"integration "+added.ID+" updated", "444455556666 555566667777", "ou-ab12-cdefgh34 r-ab12")
	if got, _ := e.store.GetIntegration(e.ctx, added.ID); !slices.Equal(got.Organization.OUs, want.OUs) || got.Organization.MemberRoleName != "CitadelAudit" ||
		!slices.Equal(got.Organization.ExcludeAccounts, []string{"444455556666", "555566667777"}) {
		t.Errorf("after update: %+v", got.Organization)
	}

	// Refusals, each in the API's words (or the flag's) with its exit code.
	for name, tc := range map[string]struct {
		code int
		want string
		args []string
	}{
		"update a member": {ExitConflict, "is a member of organization integration " + f.org.ID, []string{"integrations", "update", f.payments.ID, "--name", "mine"}},
		"member options": {ExitConflict, "organization.exclude_accounts leaves account 222233334444 out",
			[]string{"integrations", "update", f.payments.ID, "--exclude-accounts", "999999999999"}},
		"delete a member":       {ExitConflict, "cannot be deleted here", []string{"integrations", "delete", f.sandbox.ID}},
		"members of an account": {ExitUsage, "only an integration of kind organization has members", []string{"integrations", "members", f.payments.ID}},
		"unknown organization":  {ExitNotFound, "int-nope", []string{"integrations", "members", "int-nope"}},
		"options of an account": {ExitUsage, "give --organization", []string{"integrations", "add", "--account", "210987654322", "--frameworks", "soc2", "--ous", "r-ab12"}},
		"a bad OU": {ExitUsage, "organization.ous",
			[]string{"integrations", "add", "--organization", "--account", "210987654323", "--frameworks", "soc2", "--folder", "fld-org", "--ous", "ou-1"}},
		"included and excluded": {ExitUsage, "account 444455556666 is both included and excluded",
			[]string{"integrations", "update", added.ID, "--include-accounts", "444455556666"}},
	} {
		t.Run(name, func(t *testing.T) { e.exits(t, tc.code, tc.want, tc.args...) })
	}
	if got, err := e.store.GetIntegration(e.ctx, f.payments.ID); err != nil || got.Name != "Payments" {
		t.Errorf("the member after the refusals: %+v (%v)", got, err)
	}
}
