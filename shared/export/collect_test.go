package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/export"
	"github.com/citadelsecure/citadel/shared/jobs/catalogimport"
	"github.com/citadelsecure/citadel/shared/ocsf/ocsftest"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/checkresults"
	"github.com/citadelsecure/citadel/shared/steps/controls"
	"github.com/citadelsecure/citadel/shared/steps/evidence"
	"github.com/citadelsecure/citadel/shared/steps/finalize"
	"github.com/citadelsecure/citadel/shared/testkit/exctest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// The estate of the export tests: the catalog package's fixture (SOC 2's
// CC6.1 follows the two checks below), three assets of one integration,
// two scans a day apart.
const (
	folder     = "f1"
	integ      = "int-exp"
	encryption = "s3_bucket_default_encryption"
	rootMFA    = "iam_root_mfa_enabled"
)

var (
	t1 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	t2 = t1.Add(24 * time.Hour)
)

type estate struct {
	events *eventbridge.Client
	bus    string
	store  *ddb.Store
	s3     *s3.Client
	bucket string
	arns   map[string]string
	clock  time.Time
}

func (e *estate) now() time.Time { return e.clock }

func (e *estate) asset(name string) string {
	return citadel.AssetID(integ, citadel.SourceAWS, e.arns[name])
}

// newEstate stores the catalog, the integration and its assets, then runs
// scan s1 at t1 (b1 passes, b2 and root fail), an approving review of b1's
// evidence, an exception on b2 approved after s1, and scan s2 at t2 (b1
// regresses, b2 fails excepted, root passes).
func newEstate(t *testing.T) *estate {
	t.Helper()
	ctx := context.Background()
	cfg := testenv.Config(t)
	_, account, _ := testenv.Account(t, cfg)
	s3c, bucket := testenv.Bucket(t, cfg)
	e := &estate{s3: s3c, bucket: bucket, clock: t1.Add(-time.Hour), arns: map[string]string{
		"b1": "arn:aws:s3:::" + account + "-b1", "b2": "arn:aws:s3:::" + account + "-b2", "root": "arn:aws:iam::" + account + ":root"}}
	e.events = eventbridge.NewFromConfig(cfg)
	e.bus, _ = testenv.EventBus(t, cfg, `{"source":["citadel"]}`)
	e.store = testenv.Store(t, ddb.WithBlobs(&blobstore.S3{Client: s3c, Bucket: bucket}), ddb.WithClock(e.now))
	env := stepfn.Env{Clock: e.now}
	fixture := filepath.Join(testenv.RepoRoot(), "shared", "catalog", "testdata")
	if _, err := (&catalogimport.Handler{Store: e.store, Env: env}).Handle(ctx, citadel.CatalogImportInput{
		ProwlerSource: filepath.Join(fixture, "prowler"), SCFSource: filepath.Join(fixture, "scf")}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.CreateIntegration(ctx, citadel.Integration{ID: integ, FolderID: folder, Name: "exports", AccountID: account,
		Regions: []string{"us-east-1"}, CreatedAt: e.clock, UpdatedAt: e.clock}); err != nil {
		t.Fatal(err)
	}
	var as []citadel.Asset
	for name, arn := range e.arns {
		typ := "AWS::S3::Bucket"
		if name == "root" {
			typ = "AWS::IAM::Root"
		}
		as = append(as, citadel.Asset{ID: e.asset(name), IntegrationID: integ, Source: citadel.SourceAWS, SourceID: arn, ServiceType: typ,
			Name: name, Region: "us-east-1", AccountID: account, IsActive: true, FirstSeen: e.clock, LastSeen: e.clock})
	}
	if err := e.store.PutAssets(ctx, as); err != nil {
		t.Fatal(err)
	}

	e.scan(t, "s1", t1, map[string]string{"b1": "PASS", "b2": "FAIL", "root": "FAIL"})
	e.clock = t1.Add(time.Hour)
	if _, err := e.store.ReviewEvidence(ctx, citadel.EvidenceID(integ, encryption, e.asset("b1")), citadel.EvidenceReview{
		By: "auditor@example.com", Decision: citadel.ReviewApprove, Comment: "encrypted at rest", At: e.clock}); err != nil {
		t.Fatal(err)
	}
	x := exctest.Request(t, "exc-b2", integ, encryption, citadel.ExceptionScope{Kind: citadel.ScopeAsset, AssetARN: e.arns["b2"]},
		t1.Add(2*time.Hour), t1.Add(60*24*time.Hour))
	exctest.Put(t, ctx, e.store, x, citadel.ExceptionApproved)
	e.scan(t, "s2", t2, map[string]string{"b1": "FAIL", "b2": "FAIL", "root": "PASS"})
	e.clock = t2.Add(time.Hour)
	return e
}

// scan runs one scan's steps from check-results to finalize over a Prowler
// output of the given statuses (Prowler runs no check here: its OCSF is
// written as the task would).
func (e *estate) scan(t *testing.T, id string, at time.Time, status map[string]string) {
	t.Helper()
	ctx := context.Background()
	e.clock = at
	if err := e.store.StartScan(ctx, citadel.Scan{ID: id, IntegrationID: integ, FolderID: folder, Trigger: citadel.TriggerAPI,
		Status: citadel.ScanQueued, CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.MarkScanRunning(ctx, integ, id, ""); err != nil {
		t.Fatal(err)
	}
	names := []string{"b1", "b2", "root"}
	var doc bytes.Buffer
	if _, err := ocsftest.Write(&doc, len(names), func(i int) ocsftest.Spec {
		check := encryption
		if names[i] == "root" {
			check = rootMFA
		}
		return ocsftest.Spec{Check: check, StatusCode: status[names[i]], UIDs: []string{e.arns[names[i]]}}
	}); err != nil {
		t.Fatal(err)
	}
	m, _ := json.Marshal(citadel.ProwlerManifest{ScanID: id, FindingCount: len(names), ChecksExecuted: []string{encryption, rootMFA}})
	for key, body := range map[string][]byte{citadel.OCSFFileName: doc.Bytes(), citadel.ManifestName: m} {
		if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(citadel.ScanObjectKey(id, key)),
			Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	env := stepfn.Env{Clock: e.now}
	plan := citadel.PlanOutput{ScanID: id, IntegrationID: integ, FolderID: folder, Bucket: e.bucket, StartedAt: at}
	results, err := (&checkresults.Handler{Store: e.store, S3: e.s3, Events: e.events, EventBus: e.bus, Writers: 2, Env: env}).Handle(ctx, citadel.CheckResultsInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	ctls, err := (&controls.Handler{Store: e.store, Catalog: e.store, Results: e.store, Env: env}).Handle(ctx, citadel.ControlsInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := (&evidence.Handler{Store: e.store, Catalog: e.store, Results: e.store, Assets: e.store, Env: env}).Handle(ctx, citadel.EvidenceInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	e.clock = at.Add(5 * time.Minute)
	if _, err := (&finalize.Handler{Store: e.store, Env: env}).Handle(ctx, citadel.FinalizeInput{
		Scan: citadel.StartScan{ScanID: id, IntegrationID: integ, Trigger: citadel.TriggerAPI}, Plan: plan,
		Results: results, Controls: ctls, Evidence: ev}); err != nil {
		t.Fatal(err)
	}
}

// row is what the tests compare of a finding.
type row struct {
	Check, Asset          string
	Status, Prowler       citadel.CheckStatus
	Exception, ScanID     string
	FailingSince          time.Time
	Controls, Requirement []string
}

func rows(ds export.Dataset) []row {
	var out []row
	for _, f := range ds.Findings {
		out = append(out, row{f.CheckID, f.AssetName, f.Status, f.ProwlerStatus, f.ExceptionID, f.ScanID, f.FirstSeen, f.Controls, f.Requirements})
	}
	return out
}

func requirement(t *testing.T, ds export.Dataset, ref string) export.Requirement {
	t.Helper()
	for _, r := range ds.Requirements {
		if r.RefID == ref {
			return r
		}
	}
	t.Fatalf("no requirement %s in %+v", ref, ds.Requirements)
	return export.Requirement{}
}

func TestCollect(t *testing.T) {
	e := newEstate(t)
	ctx := context.Background()
	req := export.Request{Framework: "soc2", Scope: export.Scope{Kind: export.ScopeIntegration, ID: integ}}

	now, err := export.Collect(ctx, e.store, req, e.clock)
	if err != nil {
		t.Fatal(err)
	}
	then, err := export.Collect(ctx, e.store, export.Request{Framework: req.Framework, Scope: req.Scope, AsOf: t1.Add(3 * time.Hour)}, e.clock)
	if err != nil {
		t.Fatal(err)
	}
	before, err := export.Collect(ctx, e.store, export.Request{Framework: req.Framework, Scope: req.Scope, AsOf: t1.Add(-time.Hour)}, e.clock)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ds   export.Dataset
		want []row
		// posture of CC6.1 (its requirement result) and its counts
		result                   citadel.AssessmentResult
		passed, failed, excepted int
		scan                     string
	}{
		{"now", now, []row{
			{Check: rootMFA, Asset: "root", Status: citadel.StatusPass, Prowler: citadel.StatusPass, ScanID: "s2"},
			{Check: encryption, Asset: "b1", Status: citadel.StatusFail, Prowler: citadel.StatusFail, ScanID: "s2", FailingSince: t2},
			{Check: encryption, Asset: "b2", Status: citadel.StatusExcepted, Prowler: citadel.StatusFail, Exception: "exc-b2", ScanID: "s2"},
		}, citadel.ResultPartiallyCompliant, 1, 1, 1, "s2"},
		{"as of between the scans", then, []row{
			{Check: rootMFA, Asset: "root", Status: citadel.StatusFail, Prowler: citadel.StatusFail, ScanID: "s1", FailingSince: t1},
			{Check: encryption, Asset: "b1", Status: citadel.StatusPass, Prowler: citadel.StatusPass, ScanID: "s1"},
			{Check: encryption, Asset: "b2", Status: citadel.StatusFail, Prowler: citadel.StatusFail, ScanID: "s1", FailingSince: t1},
		}, citadel.ResultPartiallyCompliant, 1, 2, 0, "s1"},
		{"as of before any scan", before, nil, citadel.ResultNotAssessed, 0, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rows(tt.ds)
			for i := range got {
				got[i].Controls, got[i].Requirement = nil, nil
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("findings (-want +got):\n%s", d)
			}
			r := requirement(t, tt.ds, "cc_6_1")
			if d := cmp.Diff([]any{tt.result, tt.passed, tt.failed, tt.excepted}, []any{r.Result, r.Passed, r.Failed, r.Excepted}); d != "" {
				t.Errorf("CC6.1 (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.scan, tt.ds.Integrations[0].ScanID); d != "" {
				t.Errorf("scan (-want +got):\n%s", d)
			}
			for _, rec := range tt.ds.Evidence {
				if b := citadel.VerifyChain(rec.Revisions); b != nil {
					t.Errorf("%s: revisions: %+v", rec.Evidence.ID, b)
				}
				if b := citadel.VerifyReviews(rec.Evidence.ID, rec.Reviews, rec.Revisions); b != nil {
					t.Errorf("%s: reviews: %+v", rec.Evidence.ID, b)
				}
				if n := len(rec.Revisions); n != rec.Evidence.RevisionCount || rec.Revisions[n-1].Hash != rec.Evidence.LatestHash {
					t.Errorf("%s: the record's head (%d %s) is not its chain's", rec.Evidence.ID, rec.Evidence.RevisionCount, rec.Evidence.LatestHash)
				}
			}
		})
	}
	// The findings name the framework's requirements through their controls.
	for _, f := range now.Findings {
		if !slices.Contains(f.Requirements, "cc_6_1") || len(f.Controls) == 0 {
			t.Errorf("%s on %s: controls %v requirements %v", f.CheckID, f.AssetName, f.Controls, f.Requirements)
		}
	}
	// The exception that applies is in the dataset; b1's evidence was
	// reviewed after s1 and reopened by s2's regression.
	if len(now.Exceptions) != 1 || now.Exceptions[0].ID != "exc-b2" || now.Exceptions[0].Owner == "" {
		t.Errorf("exceptions: %+v", now.Exceptions)
	}
	b1 := citadel.EvidenceID(integ, encryption, e.asset("b1"))
	for _, c := range []struct {
		ds        export.Dataset
		revisions int
		reviews   int
		status    citadel.EvidenceStatus
	}{{now, 2, 1, citadel.EvidenceInReview}, {then, 1, 1, citadel.EvidenceApproved}} {
		rec := evidenceOf(t, c.ds, b1)
		if d := cmp.Diff([]any{c.revisions, c.reviews, c.status}, []any{len(rec.Revisions), len(rec.Reviews), rec.Evidence.Status}); d != "" {
			t.Errorf("b1's evidence as of %s (-want +got):\n%s", c.ds.AsOf, d)
		}
	}
}

func evidenceOf(t *testing.T, ds export.Dataset, id string) export.EvidenceRecord {
	t.Helper()
	for _, rec := range ds.Evidence {
		if rec.Evidence.ID == id {
			return rec
		}
	}
	t.Fatalf("no evidence %s", id)
	return export.EvidenceRecord{}
}

// TestCollectRefuses: each kind of bad request is a clear client error
// naming what is wrong, and nothing is read.
func TestCollectRefuses(t *testing.T) {
	store := testenv.Store(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	if err := store.CreateIntegration(ctx, citadel.Integration{ID: "int-a", FolderID: folder, Name: "a", AccountID: "111122223333", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  export.Request
		code citadel.ErrorCode
		want string
	}{
		{"no framework", export.Request{Scope: export.Scope{Kind: export.ScopeIntegration, ID: "int-a"}}, citadel.CodeInvalid, "framework is required"},
		{"bad scope kind", export.Request{Framework: "soc2", Scope: export.Scope{Kind: "account", ID: "int-a"}}, citadel.CodeInvalid, `scope kind "account"`},
		{"no scope id", export.Request{Framework: "soc2", Scope: export.Scope{Kind: export.ScopeFolder}}, citadel.CodeInvalid, "scope id is required"},
		{"in the future", export.Request{Framework: "soc2", Scope: export.Scope{Kind: export.ScopeIntegration, ID: "int-a"}, AsOf: now.Add(time.Hour)},
			citadel.CodeInvalid, "is in the future"},
		{"unknown framework", export.Request{Framework: "nope", Scope: export.Scope{Kind: export.ScopeIntegration, ID: "int-a"}}, citadel.CodeNotFound, "framework nope"},
		{"unknown integration", export.Request{Framework: "nope", Scope: export.Scope{Kind: export.ScopeIntegration, ID: "int-zz"}}, citadel.CodeNotFound, ""},
		{"not an organization", export.Request{Framework: "soc2", Scope: export.Scope{Kind: export.ScopeOrganization, ID: "int-a"}}, citadel.CodeInvalid, "is not an organization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := export.Collect(ctx, store, tt.req, now)
			if err == nil {
				t.Fatal("collected")
			}
			if tt.code != "" && citadel.CodeOf(err) != tt.code {
				t.Errorf("code %q, want %q: %v", citadel.CodeOf(err), tt.code, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%v does not say %q", err, tt.want)
			}
		})
	}
}
