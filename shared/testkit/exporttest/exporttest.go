// Package exporttest builds the estate the export tests read: the catalog
// package's fixture, one integration with three assets, two scans a day
// apart through the real steps (check-results, controls, evidence,
// finalize) over a Prowler output written as the task would, an evidence
// review and an approved exception between them. Tests only.
package exporttest

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
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
	Folder      = "f1"
	Integration = "int-exp"
	Encryption  = "s3_bucket_default_encryption"
	RootMFA     = "iam_root_mfa_enabled"
)

var (
	T1 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	T2 = T1.Add(24 * time.Hour)
)

// Estate is the stored estate; Clock is the store's and steps' clock (an hour
// after the second scan once New returns).
type Estate struct {
	Events *eventbridge.Client
	Bus    string
	Store  *ddb.Store
	S3     *s3.Client
	Bucket string
	ARNs   map[string]string
	Clock  time.Time
}

func (e *Estate) now() time.Time { return e.Clock }

// Asset is the id of asset b1, b2 or root.
func (e *Estate) Asset(name string) string {
	return citadel.AssetID(Integration, citadel.SourceAWS, e.ARNs[name])
}

// New stores the catalog, the integration and its assets, then runs
// scan s1 at T1 (b1 passes, b2 and root fail), an approving review of b1's
// evidence, an exception on b2 approved after s1, and scan s2 at T2 (b1
// regresses, b2 fails excepted, root passes).
func New(t *testing.T) *Estate {
	t.Helper()
	ctx := context.Background()
	cfg := testenv.Config(t)
	_, account, _ := testenv.Account(t, cfg)
	s3c, bucket := testenv.Bucket(t, cfg)
	e := &Estate{S3: s3c, Bucket: bucket, Clock: T1.Add(-time.Hour), ARNs: map[string]string{
		"b1": "arn:aws:s3:::" + account + "-b1", "b2": "arn:aws:s3:::" + account + "-b2", "root": "arn:aws:iam::" + account + ":root"}}
	e.Events = eventbridge.NewFromConfig(cfg)
	e.Bus, _ = testenv.EventBus(t, cfg, `{"source":["citadel"]}`)
	e.Store = testenv.Store(t, ddb.WithBlobs(&blobstore.S3{Client: s3c, Bucket: bucket}), ddb.WithClock(e.now))
	env := stepfn.Env{Clock: e.now}
	fixture := filepath.Join(testenv.RepoRoot(), "shared", "catalog", "testdata")
	if _, err := (&catalogimport.Handler{Store: e.Store, Env: env}).Handle(ctx, citadel.CatalogImportInput{
		ProwlerSource: filepath.Join(fixture, "prowler"), SCFSource: filepath.Join(fixture, "scf")}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.CreateIntegration(ctx, citadel.Integration{ID: Integration, FolderID: Folder, Name: "exports", AccountID: account,
		Regions: []string{"us-east-1"}, CreatedAt: e.Clock, UpdatedAt: e.Clock}); err != nil {
		t.Fatal(err)
	}
	var as []citadel.Asset
	for name, arn := range e.ARNs {
		typ := "AWS::S3::Bucket"
		if name == "root" {
			typ = "AWS::IAM::Root"
		}
		as = append(as, citadel.Asset{ID: e.Asset(name), IntegrationID: Integration, Source: citadel.SourceAWS, SourceID: arn, ServiceType: typ,
			Name: name, Region: "us-east-1", AccountID: account, IsActive: true, FirstSeen: e.Clock, LastSeen: e.Clock})
	}
	if err := e.Store.PutAssets(ctx, as); err != nil {
		t.Fatal(err)
	}

	e.scan(t, "s1", T1, map[string]string{"b1": "PASS", "b2": "FAIL", "root": "FAIL"})
	e.Clock = T1.Add(time.Hour)
	if _, err := e.Store.ReviewEvidence(ctx, citadel.EvidenceID(Integration, Encryption, e.Asset("b1")), citadel.EvidenceReview{
		By: "auditor@example.com", Decision: citadel.ReviewApprove, Comment: "encrypted at rest", At: e.Clock}); err != nil {
		t.Fatal(err)
	}
	x := exctest.Request(t, "exc-b2", Integration, Encryption, citadel.ExceptionScope{Kind: citadel.ScopeAsset, AssetARN: e.ARNs["b2"]},
		T1.Add(2*time.Hour), T1.Add(60*24*time.Hour))
	exctest.Put(t, ctx, e.Store, x, citadel.ExceptionApproved)
	e.scan(t, "s2", T2, map[string]string{"b1": "FAIL", "b2": "FAIL", "root": "PASS"})
	e.Clock = T2.Add(time.Hour)
	return e
}

// scan runs one scan's steps from check-results to finalize over a Prowler
// output of the given statuses (Prowler runs no check here: its OCSF is
// written as the task would).
func (e *Estate) scan(t *testing.T, id string, at time.Time, status map[string]string) {
	t.Helper()
	ctx := context.Background()
	e.Clock = at
	if err := e.Store.StartScan(ctx, citadel.Scan{ID: id, IntegrationID: Integration, FolderID: Folder, Trigger: citadel.TriggerAPI,
		Status: citadel.ScanQueued, CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.MarkScanRunning(ctx, Integration, id, ""); err != nil {
		t.Fatal(err)
	}
	names := []string{"b1", "b2", "root"}
	var doc bytes.Buffer
	if _, err := ocsftest.Write(&doc, len(names), func(i int) ocsftest.Spec {
		check := Encryption
		if names[i] == "root" {
			check = RootMFA
		}
		return ocsftest.Spec{Check: check, StatusCode: status[names[i]], UIDs: []string{e.ARNs[names[i]]}}
	}); err != nil {
		t.Fatal(err)
	}
	m, _ := json.Marshal(citadel.ProwlerManifest{ScanID: id, FindingCount: len(names), ChecksExecuted: []string{Encryption, RootMFA}})
	for key, body := range map[string][]byte{citadel.OCSFFileName: doc.Bytes(), citadel.ManifestName: m} {
		if _, err := e.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.Bucket), Key: aws.String(citadel.ScanObjectKey(id, key)),
			Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	env := stepfn.Env{Clock: e.now}
	plan := citadel.PlanOutput{ScanID: id, IntegrationID: Integration, FolderID: Folder, Bucket: e.Bucket, StartedAt: at}
	results, err := (&checkresults.Handler{Store: e.Store, S3: e.S3, Events: e.Events, EventBus: e.Bus, Writers: 2, Env: env}).Handle(ctx, citadel.CheckResultsInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	ctls, err := (&controls.Handler{Store: e.Store, Catalog: e.Store, Results: e.Store, Env: env}).Handle(ctx, citadel.ControlsInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := (&evidence.Handler{Store: e.Store, Catalog: e.Store, Results: e.Store, Assets: e.Store, Env: env}).Handle(ctx, citadel.EvidenceInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	e.Clock = at.Add(5 * time.Minute)
	if _, err := (&finalize.Handler{Store: e.Store, Env: env}).Handle(ctx, citadel.FinalizeInput{
		Scan: citadel.StartScan{ScanID: id, IntegrationID: Integration, Trigger: citadel.TriggerAPI}, Plan: plan,
		Results: results, Controls: ctls, Evidence: ev}); err != nil {
		t.Fatal(err)
	}
}
