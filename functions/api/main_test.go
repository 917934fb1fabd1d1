package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	sched "github.com/citadelsecure/citadel/shared/scheduler"
	"github.com/citadelsecure/citadel/shared/testkit/lambdatest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

const folder = "folder-default"

// The built bootstrap, under the Lambda Runtime Interface Emulator, serves
// every sample API Gateway (HTTP API, payload 2.0) event of events/api, in an
// order where each finds what the previous made. The function makes its own
// ids, so the integration and scan ids the later events name (int-0001,
// scan-0001) are rewritten to the ones it made; the evidence id (ev-1) and
// the framework (soc2) are seeded as they are.
func TestBootstrapUnderEmulator(t *testing.T) {
	ctx := context.Background()
	root := testenv.RepoRoot()
	cfg := testenv.Config(t)
	_, table := testenv.Table(t, cfg)
	_, bucket := testenv.Bucket(t, cfg)
	store := testenv.StoreOn(t, cfg, table)

	sm, err := sfn.NewFromConfig(cfg).CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String(testenv.Name(t, "citadel-scan")),
		Definition: aws.String(`{"StartAt":"plan","States":{"plan":{"Type":"Pass","End":true}}}`),
		RoleArn:    aws.String(fmt.Sprintf("arn:aws:iam::%s:role/citadel-states", testenv.AccountID)),
	})
	if err != nil {
		t.Fatalf("create state machine: %v", err)
	}
	schedAPI := scheduler.NewFromConfig(cfg)
	group := testenv.Name(t, "citadel")
	if _, err := schedAPI.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String(group)}); err != nil {
		t.Fatalf("create schedule group: %v", err)
	}
	schedRole := fmt.Sprintf("arn:aws:iam::%s:role/citadel-scheduler", testenv.AccountID)
	schedules := &sched.Schedules{API: schedAPI, Group: group, StateMachineARN: aws.ToString(sm.StateMachineArn), RoleARN: schedRole}
	if err := store.PutFrameworks(ctx, []citadel.Framework{{ID: "soc2", Name: "SOC 2", Source: "prowler", RequirementCount: 61}}); err != nil {
		t.Fatal(err)
	}
	// An import writes the catalog's version with its frameworks; scans need it.
	if err := store.PutCatalogVersion(ctx, citadel.CatalogVersion{ProwlerVersion: "5.40.0", ImportedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	seedEvidence(t, ctx, store, "ev-1")
	if err := store.PutChecks(ctx, []citadel.SecurityCheck{{ID: "s3_bucket_public_access", Title: "S3 bucket is not public", Service: "s3",
		Severity: citadel.SeverityCritical, MappedRequirements: []string{"soc2:cc_6_1"}}}); err != nil {
		t.Fatal(err)
	}

	fn := lambdatest.Start(t, root, lambdatest.Build(t, root, "api"), map[string]string{
		citadel.EnvTable: table, citadel.EnvBucket: bucket, citadel.EnvStateMachineARN: aws.ToString(sm.StateMachineArn),
		citadel.EnvSchedulerGroup: group, citadel.EnvSchedulerRole: schedRole, citadel.EnvFolderID: folder,
	})

	var integID, scanID string
	rewrite := func(b []byte) []byte {
		if integID != "" {
			b = bytes.ReplaceAll(b, []byte("int-0001"), []byte(integID))
		}
		if scanID != "" {
			b = bytes.ReplaceAll(b, []byte("scan-0001"), []byte(scanID))
		}
		return b
	}
	tested := map[string]bool{}
	for _, tc := range []struct {
		file   string
		status int
		check  func(t *testing.T, body string)
	}{
		{"create-integration.json", http.StatusCreated, func(t *testing.T, body string) {
			in := decode[citadel.Integration](t, body)
			if !citadel.ValidID(in.ID) || in.FolderID != folder || in.AccountID != "123456789012" || in.ScheduleExpression != "cron(0 3 * * ? *)" {
				t.Fatalf("created %+v", in)
			}
			integID = in.ID
			if _, err := schedules.Get(ctx, in.ID); err != nil {
				t.Errorf("schedule of %s: %v", in.ID, err)
			}
		}},
		{"list-integrations.json", http.StatusOK, func(t *testing.T, body string) {
			if !strings.Contains(body, `"id":"`+integID+`"`) {
				t.Errorf("list: %s", body)
			}
		}},
		{"verify-integration.json", http.StatusOK, func(t *testing.T, body string) {
			// The function assumes the integration's role (moto hands it out).
			var v struct {
				IntegrationID string   `json:"integration_id"`
				Assumed       bool     `json:"assumed"`
				AssumedAs     string   `json:"assumed_as"`
				Regions       []string `json:"regions"`
				Services      []any    `json:"services"`
			}
			if err := json.Unmarshal([]byte(body), &v); err != nil || v.IntegrationID != integID || !v.Assumed ||
				v.AssumedAs != "arn:aws:sts::123456789012:assumed-role/CitadelScanner/citadel-verify" || len(v.Regions) != 1 || len(v.Services) == 0 {
				t.Errorf("verify %s (%v)", body, err)
			}
		}},
		{"start-scan.json", http.StatusAccepted, func(t *testing.T, body string) {
			sc := decode[citadel.Scan](t, body)
			if sc.IntegrationID != integID || sc.Status != citadel.ScanRunning || !strings.HasPrefix(sc.ExecutionARN, "arn:aws:states:") {
				t.Fatalf("scan %+v", sc)
			}
			scanID = sc.ID
		}},
		{"get-scan.json", http.StatusOK, func(t *testing.T, body string) {
			if sc := decode[citadel.Scan](t, body); sc.ID != scanID || sc.ExecutionARN == "" {
				t.Errorf("scan %+v", sc)
			}
		}},
		{"cancel-scan.json", http.StatusAccepted, func(t *testing.T, body string) {
			sc := decode[citadel.Scan](t, body)
			if sc.ID != scanID || sc.Status != citadel.ScanCancelled || sc.CancelledBy != "arn:aws:sts::123456789012:assumed-role/CitadelAdmin/alice" {
				t.Errorf("scan %+v", sc)
			}
		}},
		{"forbidden.json", http.StatusForbidden, func(t *testing.T, body string) {
			var e struct{ Error, Message string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error != "forbidden" || !strings.Contains(e.Message, "val") || !strings.Contains(e.Message, "viewer") {
				t.Errorf("error body %s", body)
			}
			if _, err := store.GetIntegration(ctx, integID); err != nil {
				t.Errorf("a refused delete lost integration %s: %v", integID, err)
			}
		}},
		{"list-frameworks.json", http.StatusOK, func(t *testing.T, body string) {
			if !strings.Contains(body, `"id":"soc2"`) {
				t.Errorf("frameworks: %s", body)
			}
		}},
		{"get-check.json", http.StatusOK, func(t *testing.T, body string) {
			var c struct {
				ID         string   `json:"id"`
				Frameworks []string `json:"frameworks"`
			}
			if err := json.Unmarshal([]byte(body), &c); err != nil || c.ID != "s3_bucket_public_access" || len(c.Frameworks) != 1 {
				t.Errorf("check %s (%v)", body, err)
			}
		}},
		{"review-evidence.json", http.StatusOK, func(t *testing.T, body string) {
			if e := decode[citadel.Evidence](t, body); e.ID != "ev-1" || e.Status != citadel.EvidenceApproved {
				t.Errorf("evidence %+v", e)
			}
		}},
		{"bad-request.json", http.StatusBadRequest, func(t *testing.T, body string) {
			var e struct{ Error, Message string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error != "invalid" || !strings.Contains(e.Message, "account_id") {
				t.Errorf("error body %s", body)
			}
		}},
	} {
		tested[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			resp, err := fn.Invoke(ctx, rewrite(lambdatest.Event(t, root, "api", tc.file)))
			if err != nil {
				t.Fatal(err)
			}
			var out events.APIGatewayV2HTTPResponse
			if resp.ErrorType != "" || json.Unmarshal(resp.Payload, &out) != nil {
				t.Fatalf("response = %s", resp.Payload)
			}
			if out.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", out.StatusCode, tc.status, out.Body)
			}
			if ct := out.Headers["Content-Type"]; ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			tc.check(t, out.Body)
		})
	}
	files, _ := filepathGlob(root)
	for _, f := range files {
		if !tested[f] {
			t.Errorf("sample event %s is not tested", f)
		}
	}

	// An event that is no API Gateway request is a function error, not a crash.
	resp, err := fn.Invoke(ctx, []byte(`["not", "a", "request"]`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorType == "" || strings.HasPrefix(resp.ErrorType, "Runtime.") || !strings.Contains(resp.ErrorMsg, "unmarshal") {
		t.Errorf("bad event: got %s, want a function error", resp.Payload)
	}
}

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, body)
	}
	return v
}

// seedEvidence stores evidence id with two revisions, in review.
func seedEvidence(t *testing.T, ctx context.Context, store *ddb.Store, id string) {
	t.Helper()
	now := time.Now().UTC()
	r1 := citadel.NewRevision(id, 1, "scan-0001", []byte(`{"status":"FAIL"}`), nil, now)
	e := citadel.Evidence{ID: id, FolderID: folder, SourceIntegration: "int-0001", CheckID: "s3_bucket_public_access",
		AssetID: "asset-1", Name: "bucket-1: S3 bucket is not public", Origin: citadel.OriginScan, Status: citadel.EvidenceInReview,
		IsContinuous: true, AssetName: "bucket-1", AssetType: "s3:bucket", AssetSourceID: "arn:aws:s3:::bucket-1",
		ResultStatus: citadel.StatusFail, RevisionCount: 1, LatestHash: r1.Hash, CreatedAt: now, UpdatedAt: now}
	if conflicts, err := store.WriteEvidence(ctx, []ddb.EvidenceWrite{{Evidence: e, Revision: &r1, Create: true}}); err != nil || len(conflicts) > 0 {
		t.Fatalf("write evidence: %v %v", conflicts, err)
	}
}

// filepathGlob lists the sample events' file names.
func filepathGlob(root string) ([]string, error) {
	ms, err := filepath.Glob(filepath.Join(root, "events", "api", "*.json"))
	for i := range ms {
		ms[i] = filepath.Base(ms[i])
	}
	return ms, err
}
