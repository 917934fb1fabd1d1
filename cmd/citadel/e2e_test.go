package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/cmd/citadel/internal/demoestate"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/jobs/catalogimport"
	"github.com/citadelsecure/citadel/shared/report"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/prowler"
	"github.com/citadelsecure/citadel/shared/testkit/catalogtest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// installedProwler is the venv's Prowler (make venv).
func installedProwler(t testing.TB) *prowler.Prowler {
	t.Helper()
	bin := filepath.Join(testenv.RepoRoot(), ".venv", "bin", "prowler")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("prowler is not installed at %s: %v", bin, err)
		}
		t.Skipf("prowler is not installed at %s (make venv)", bin)
	}
	p, err := prowler.Locate(context.Background(), bin)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// demoEnv is a fresh demo: an estate in its own account, a table, a bucket,
// an event bus, the reduced catalog and the integration.
type demoEnv struct {
	ctx    context.Context
	cfg    aws.Config
	acct   aws.Config
	store  *ddb.Store
	runner *runner
	integ  citadel.Integration
	estate demoestate.Estate
}

func newDemoEnv(t *testing.T) *demoEnv {
	t.Helper()
	p := installedProwler(t)
	data := testenv.SharedData(t)
	ctx := context.Background()
	cfg := testenv.Config(t)
	acct, accountID, _ := testenv.Account(t, cfg)
	start := time.Now()
	estate, err := demoestate.Seed(ctx, acct, accountID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("estate: %d resources, %d requests, %s", len(estate.Resources), estate.Requests, time.Since(start).Round(time.Millisecond))

	db, table := testenv.Table(t, cfg)
	_, bucket := testenv.Bucket(t, cfg)
	bus := testenv.Name(t, "citadel-bus")
	if _, err := eventbridge.NewFromConfig(cfg).CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	store := ddb.NewFromClient(db, table)

	start = time.Now()
	prowlerDir, scfDir := catalogtest.Reduced(t, data, demoestate.Checks)
	imp := &catalogimport.Handler{Store: store, Env: stepfn.Env{Log: slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))}}
	out, err := imp.Handle(ctx, citadel.CatalogImportInput{ProwlerSource: prowlerDir, ProwlerVersion: p.Version, SCFSource: scfDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("catalog: %d checks, %d frameworks, %d requirements, %d SCF mappings, %d links, %d templates in %s",
		out.Checks, out.Frameworks, out.Requirements, out.SCFMappings, out.Links, out.Templates, time.Since(start).Round(time.Millisecond))

	now := citadel.SystemClock()
	if err := store.CreateFolder(ctx, citadel.Folder{ID: "fld-e2e", Name: "e2e", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	integ := citadel.Integration{ID: "int-" + accountID, FolderID: "fld-e2e", Name: "demo estate", AccountID: accountID,
		RoleARN: demoestate.RoleARN(accountID), ExternalID: demoestate.ExternalID, Regions: demoestate.Regions,
		Frameworks: report.DefaultFrameworks, CreatedAt: now, UpdatedAt: now}
	if err := store.CreateIntegration(ctx, integ); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r := &runner{cfg: cfg, table: table, bucket: bucket, eventBus: bus, prowler: p, log: log, prowlerDeadline: 10 * time.Minute}
	return &demoEnv{ctx: ctx, cfg: cfg, acct: acct, store: store, runner: r, integ: integ, estate: estate}
}

func (e *demoEnv) scan(t *testing.T) scanResult {
	t.Helper()
	var buf bytes.Buffer
	start := time.Now()
	res, err := e.runner.scan(e.ctx, &buf, e.integ.ID)
	t.Logf("scan output (%s):\n%s", time.Since(start).Round(time.Millisecond), buf.String())
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.Status != citadel.ScanSucceeded {
		t.Fatalf("scan %s: %s", res.Report.Status, res.Report.FailureCause)
	}
	return res
}

// results reads the integration's results: (check, ARN) → status.
func (e *demoEnv) results(t *testing.T) map[[2]string]citadel.CheckStatus {
	t.Helper()
	got := map[[2]string]citadel.CheckStatus{}
	for cursor := ""; ; {
		page, err := e.store.ListResults(e.ctx, e.integ.ID, 1000, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Items {
			got[[2]string{r.CheckID, r.AssetARN}] = r.Status
		}
		if cursor = page.Next; cursor == "" {
			return got
		}
	}
}

// TestScanDemoEstate runs the demo's flow with the estate's 20 checks: the
// real step handlers and the real Prowler against the seeded estate, then a
// rescan of the unchanged estate, then a rescan after one deliberate change.
func TestScanDemoEstate(t *testing.T) {
	e := newDemoEnv(t)
	first := e.scan(t)
	sum := first.Report.ScanSummary

	// Which checks fail on which resources: every expectation of the
	// estate holds, and on the estate's own resources the failures are
	// exactly the expected ones (moto's default VPCs and groups may add more).
	got := e.results(t)
	ours := map[string]bool{}
	for _, arn := range e.estate.Resources {
		ours[arn] = true
	}
	wantFail, gotFail := map[[2]string]bool{}, map[[2]string]bool{}
	for _, x := range e.estate.Expect {
		k := [2]string{x.Check, x.Resource}
		if st := got[k]; st != citadel.StatusFromProwler(x.Status) {
			var saw []string
			for g, st := range got {
				if g[0] == x.Check {
					saw = append(saw, fmt.Sprintf("%s %s", st, g[1]))
				}
			}
			slices.Sort(saw)
			t.Errorf("%s on %s: %q, want %s; the check's results:\n  %s", x.Check, x.Resource, st, x.Status, strings.Join(saw, "\n  "))
		}
		if x.Status == "FAIL" {
			wantFail[k] = true
		}
	}
	fails := 0
	for k, st := range got {
		if st == citadel.StatusFail {
			fails++
			if ours[k[1]] {
				gotFail[k] = true
			}
		}
	}
	if d := cmp.Diff(wantFail, gotFail); d != "" {
		t.Errorf("failures on the estate's resources (-want +got):\n%s", d)
	}

	// The summary counts against the store.
	if sum.ResultsCreated != len(got) || sum.ChecksFailed != fails {
		t.Errorf("summary: %d results created, %d failed; the store holds %d results, %d failing", sum.ResultsCreated, sum.ChecksFailed, len(got), fails)
	}
	if sum.ChecksExecuted != len(demoestate.Checks) {
		t.Errorf("summary: %d checks executed, want %d", sum.ChecksExecuted, len(demoestate.Checks))
	}
	all, err := e.store.AllControls(e.ctx, e.integ.FolderID)
	if err != nil {
		t.Fatal(err)
	}
	var controls, policies, issues int
	for _, c := range all {
		if c.IsPolicy() {
			policies++
			continue
		}
		controls++
		if c.Posture == citadel.PostureIssues || c.Posture == citadel.PosturePartial {
			issues++
		}
	}
	var ev []citadel.Evidence
	for cursor := ""; ; {
		page, err := e.store.ListEvidence(e.ctx, e.integ.FolderID, "", 1000, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range page.Items {
			if x.SourceIntegration == e.integ.ID {
				ev = append(ev, x)
			}
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if sum.ControlsCreated != controls || sum.PoliciesCreated != policies || sum.EvidenceCreated != len(ev) || len(ev) != len(got) {
		t.Errorf("summary: %d controls, %d policies, %d evidence created; the store holds %d controls, %d policies, %d evidence for %d results",
			sum.ControlsCreated, sum.PoliciesCreated, sum.EvidenceCreated, controls, policies, len(ev), len(got))
	}
	if controls == 0 || policies == 0 || issues == 0 {
		t.Errorf("%d controls (%d with issues), %d policies: the estate's failures must show", controls, issues, policies)
	}
	t.Logf("first scan: %d results (%d failing), %d controls (%d with issues), %d policies, %d evidence; %.1f write units in %d requests",
		len(got), fails, controls, issues, policies, len(ev), first.Report.Total.WriteUnits, first.Report.Total.Requests)

	// The report of the scan holds the failing controls and their assets.
	var out bytes.Buffer
	path, d, err := writeReport(e.ctx, e.cfg, e.runner.table, &out, e.integ, first.Report.ScanID, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Frameworks) != 3 || len(d.FailingControls) != issues || len(d.Policies) != policies || d.EvidenceTotal != len(ev) {
		t.Errorf("report: %d frameworks, %d failing controls, %d policies, %d evidence", len(d.Frameworks), len(d.FailingControls), len(d.Policies), d.EvidenceTotal)
	}
	// Every failing asset says why its control follows its check.
	for _, fc := range d.FailingControls {
		for _, a := range fc.Assets {
			if a.Why == "" {
				t.Errorf("report: control %s, check %s on %s: no why", fc.RefID, a.Check, a.ARN)
			}
		}
	}
	// citadel report finds the scan's integration from the scan id alone,
	// and says which scan it does not know.
	var again bytes.Buffer
	if _, err := reportOf(e.ctx, e.cfg, e.runner.table, &again, "", first.Report.ScanID, t.TempDir()); err != nil {
		t.Errorf("report of scan %s: %v", first.Report.ScanID, err)
	} else if !bytes.Contains(again.Bytes(), []byte("coverage per framework")) {
		t.Errorf("report of scan %s printed:\n%s", first.Report.ScanID, again.String())
	}
	if _, err := reportOf(e.ctx, e.cfg, e.runner.table, &again, "", "scan-unknown", t.TempDir()); !citadel.IsNotFound(err) {
		t.Errorf("report of an unknown scan: %v, want not found", err)
	}
	html, _ := os.ReadFile(path)
	for _, arn := range []string{e.estate.Resources["sg-ssh-open-east"], e.estate.Resources["bucket-public"]} {
		if !bytes.Contains(html, []byte(arn)) {
			t.Errorf("report.html does not name failing asset %s", arn)
		}
	}

	// A rescan of the unchanged estate writes almost nothing: no result,
	// history entry, control, policy or evidence changes.
	second := e.scan(t)
	s2 := second.Report.ScanSummary
	rr := resultsOf(second)
	changed := map[string]int{
		"results created": s2.ResultsCreated, "results updated": rr.ResultsUpdated, "history entries": s2.HistoryEntriesCreated,
		"controls created": s2.ControlsCreated, "controls updated": s2.ControlsUpdated, "policies created": s2.PoliciesCreated,
		"evidence created": s2.EvidenceCreated, "evidence updated": s2.EvidenceUpdated, "assets created": s2.AssetsCreated,
		"assets deactivated": s2.AssetsDeactivated,
	}
	for what, n := range changed {
		if n != 0 {
			t.Errorf("rescan: %d %s, want 0", n, what)
		}
	}
	if rr.ResultsUnchanged != len(got) {
		t.Errorf("rescan: %d results unchanged, want %d", rr.ResultsUnchanged, len(got))
	}
	if w1, w2 := first.Report.Total.WriteUnits, second.Report.Total.WriteUnits; w2 > w1/10 {
		t.Errorf("rescan: %.1f write units, more than a tenth of the first scan's %.1f", w2, w1)
	}
	t.Logf("rescan: %.1f write units in %d requests (first scan %.1f); per step %+v", second.Report.Total.WriteUnits,
		second.Report.Total.Requests, first.Report.Total.WriteUnits, second.Report.Usage)

	// One deliberate change: rotation turned on for the stale key. Exactly
	// one result changes, FAIL → PASS, with one history entry.
	stale := e.estate.Resources["key-east-stale"]
	kc := kms.NewFromConfig(e.acct, func(o *kms.Options) { o.Region = demoestate.East })
	if _, err := kc.EnableKeyRotation(e.ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(stale)}); err != nil {
		t.Fatal(err)
	}
	third := e.scan(t)
	r3 := resultsOf(third)
	if third.Report.HistoryEntriesCreated != 1 || r3.ResultsUpdated != 1 || r3.ResultsCreated != 0 || r3.ResultsUnchanged != len(got)-1 {
		t.Errorf("after the change: %d history entries, %d updated, %d created, %d unchanged; want 1, 1, 0, %d",
			third.Report.HistoryEntriesCreated, r3.ResultsUpdated, r3.ResultsCreated, r3.ResultsUnchanged, len(got)-1)
	}
	after := e.results(t)
	var diff []string
	for k, st := range after {
		if got[k] != st {
			diff = append(diff, fmt.Sprintf("%s on %s: %s → %s", k[0], k[1], got[k], st))
		}
	}
	want := []string{fmt.Sprintf("kms_cmk_rotation_enabled on %s: fail → pass", stale)}
	slices.Sort(diff)
	if d := cmp.Diff(want, diff); d != "" {
		t.Errorf("changed results (-want +got):\n%s", d)
	}
	hist, err := e.store.ResultHistory(e.ctx, citadel.ResultID(e.integ.ID, "kms_cmk_rotation_enabled", assetIDOf(t, e, stale)))
	if err != nil {
		t.Fatal(err)
	}
	// The first scan's entry (→ fail) and the change's (fail → pass); the
	// rescan between them added none.
	var entries []string
	for _, h := range hist {
		entries = append(entries, fmt.Sprintf("%s: %q → %q", h.ScanID, h.PreviousStatus, h.NewStatus))
	}
	wantHist := []string{
		fmt.Sprintf("%s: %q → %q", first.Report.ScanID, "", citadel.StatusFail),
		fmt.Sprintf("%s: %q → %q", third.Report.ScanID, citadel.StatusFail, citadel.StatusPass),
	}
	if d := cmp.Diff(wantHist, entries); d != "" {
		t.Errorf("history of the key's result (-want +got):\n%s", d)
	}
}

// assetIDOf is the stored asset id of an ARN.
func assetIDOf(t *testing.T, e *demoEnv, arn string) string {
	t.Helper()
	a, err := e.store.GetAsset(e.ctx, e.integ.ID, arn)
	if err != nil {
		t.Fatalf("asset %s: %v", arn, err)
	}
	return a.ID
}
