package main

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/cmd/citadel/internal/demoestate"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/jobs/catalogimport"
	"github.com/citadelsecure/citadel/shared/report"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/testkit/catalogtest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// orgChecks are the organization test's checks: few, so its Prowler run is
// short, with a known outcome on the member's estate.
var orgChecks = []string{"kms_cmk_rotation_enabled", "s3_bucket_level_public_access_block"}

// TestLocalOrganizationScan runs an organization's scan through the local
// pipeline with the org steps' own handlers and the real Prowler, on moto's
// Organizations: the sync finds the member account in the OU and makes its
// integration, the member is scanned as a scan of its own under the
// organization's (trigger organization, parent_scan_id), and the
// organization's summary counts it.
func TestLocalOrganizationScan(t *testing.T) {
	p := installedProwler(t)
	ctx := context.Background()
	cfg := testenv.Config(t)
	mgmt, mgmtID, roleARN := testenv.Account(t, cfg)
	org, err := demoestate.SeedOrganization(ctx, cfg, mgmt)
	if err != nil {
		t.Fatal(err)
	}

	db, table := testenv.Table(t, cfg)
	_, bucket := testenv.Bucket(t, cfg)
	bus := testenv.Name(t, "citadel-bus")
	if _, err := eventbridge.NewFromConfig(cfg).CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	store := ddb.NewFromClient(db, table)
	prowlerDir, scfDir := catalogtest.Reduced(t, testenv.SharedData(t), demoestate.Checks)
	log := slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	imp := &catalogimport.Handler{Store: store, Env: stepfn.Env{Log: log}}
	if _, err := imp.Handle(ctx, citadel.CatalogImportInput{ProwlerSource: prowlerDir, ProwlerVersion: p.Version, SCFSource: scfDir}); err != nil {
		t.Fatal(err)
	}
	now := citadel.SystemClock()
	if err := store.CreateFolder(ctx, citadel.Folder{ID: "fld-org", Name: "org", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	orgInteg := citadel.Integration{ID: "int-org-" + mgmtID, FolderID: "fld-org", Name: "organization", AccountID: mgmtID,
		Kind: citadel.KindOrganization, Organization: &citadel.OrganizationOptions{OUs: []string{org.OU}},
		RoleARN: roleARN, ExternalID: demoestate.ExternalID, Regions: []string{demoestate.East},
		Frameworks: report.DefaultFrameworks, Checks: orgChecks, CreatedAt: now, UpdatedAt: now}
	if err := store.CreateIntegration(ctx, orgInteg); err != nil {
		t.Fatal(err)
	}
	r := &runner{cfg: cfg, table: table, bucket: bucket, eventBus: bus, prowler: p, log: log, prowlerDeadline: 10 * time.Minute}

	memberID := citadel.MemberIntegrationID(orgInteg.ID, org.Member)
	// One scan: a second one's sync keeps the member (TestSyncTwiceChangesNothing
	// in shared/steps/orgsync), and each scan here runs Prowler (~1-2 min).
	for i, wantSync := range []citadel.OrgSyncCounts{{Listed: 1, Added: 1}} {
		var out bytes.Buffer
		start := time.Now()
		rep, err := r.scanOrganization(ctx, &out, orgInteg)
		t.Logf("organization scan %d (%s):\n%s", i+1, time.Since(start).Round(time.Millisecond), out.String())
		if err != nil {
			t.Fatal(err)
		}
		if rep.Status != citadel.ScanSucceeded {
			t.Fatalf("scan %d: %s: %s", i+1, rep.Status, rep.FailureCause)
		}
		want := citadel.OrgScanSummary{Members: 1, Succeeded: 1, Sync: wantSync}
		if d := cmp.Diff(want, rep.Organization); d != "" {
			t.Errorf("scan %d: organization summary (-want +got):\n%s", i+1, d)
		}
		if rep.ChecksExecuted != len(orgChecks) || rep.ChecksFailed == 0 {
			t.Errorf("scan %d: the members' counts: %d checks executed, %d failed", i+1, rep.ChecksExecuted, rep.ChecksFailed)
		}
		sc, err := store.GetScanOf(ctx, orgInteg.ID, rep.ScanID)
		if err != nil || sc.Kind != citadel.KindOrganization || sc.Status != citadel.ScanSucceeded {
			t.Errorf("scan %d: the organization's scan record %+v, %v", i+1, sc, err)
		}
		ms, err := store.GetScanOf(ctx, memberID, citadel.MemberScanID(rep.ScanID, memberID))
		if err != nil {
			t.Fatalf("scan %d: the member's scan: %v", i+1, err)
		}
		if ms.ParentScanID != rep.ScanID || ms.Trigger != citadel.TriggerOrganization || ms.Status != citadel.ScanSucceeded {
			t.Errorf("scan %d: member scan parent %q, trigger %s, status %s", i+1, ms.ParentScanID, ms.Trigger, ms.Status)
		}
	}
	m, err := store.GetIntegration(ctx, memberID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != demoestate.MemberAccountName || m.ParentID != orgInteg.ID || m.AccountID != org.Member {
		t.Errorf("member: name %q, parent %q, account %s", m.Name, m.ParentID, m.AccountID)
	}
	// The member's estate is scanned in its own account: its stale key fails
	// rotation.
	page, err := store.ListResults(ctx, memberID, 1000, "")
	if err != nil {
		t.Fatal(err)
	}
	stale := org.Estate.Resources["key-east-stale"]
	var found citadel.CheckStatus
	for _, res := range page.Items {
		if res.CheckID == "kms_cmk_rotation_enabled" && res.AssetARN == stale {
			found = res.Status
		}
	}
	if found != citadel.StatusFail {
		t.Errorf("member's key %s without rotation: %q, want %s (of %d results)", stale, found, citadel.StatusFail, len(page.Items))
	}
}
