package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// TestSampleEventsThroughTheLambdaAdapter runs every sample event of
// events/api through the same adapter functions/api uses (API Gateway HTTP
// API, payload 2.0), in an order where each finds what the previous made.
func TestSampleEventsThroughTheLambdaAdapter(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.store.PutFrameworks(ctx, []citadel.Framework{{ID: "soc2", Name: "SOC 2", Source: "prowler", RequirementCount: 61}}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutCatalogVersion(ctx, citadel.CatalogVersion{ProwlerVersion: "5.40.0", ImportedAt: t0}); err != nil {
		t.Fatal(err)
	}
	seedEvidence(t, f, "ev-1")
	if err := f.store.PutChecks(ctx, []citadel.SecurityCheck{{ID: "s3_bucket_public_access", Title: "S3 bucket is not public", Service: "s3",
		Severity: citadel.SeverityCritical, MappedRequirements: []string{"soc2:cc_6_1"}}}); err != nil {
		t.Fatal(err)
	}
	adapter := httpadapter.NewV2(f.srv)

	dir := filepath.Join(testenv.RepoRoot(), "events", "api")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events in %s: %v", dir, err)
	}
	tested := map[string]bool{}
	for _, tc := range []struct {
		file   string
		status int
		check  func(t *testing.T, body string)
	}{
		{"create-integration.json", http.StatusCreated, func(t *testing.T, body string) {
			in := decodeJSON[citadel.Integration](t, body)
			if in.ID != "int-0001" || in.ScheduleExpression != "cron(0 3 * * ? *)" {
				t.Errorf("created %+v", in)
			}
			if _, err := f.schedules.Get(ctx, "int-0001"); err != nil {
				t.Errorf("schedule: %v", err)
			}
		}},
		{"list-integrations.json", http.StatusOK, func(t *testing.T, body string) {
			if !strings.Contains(body, `"id":"int-0001"`) {
				t.Errorf("list: %s", body)
			}
		}},
		{"verify-integration.json", http.StatusOK, func(t *testing.T, body string) {
			v := decodeJSON[VerifyResult](t, body)
			if v.IntegrationID != "int-0001" || !v.Assumed || v.AccountID != "123456789012" || len(v.Regions) != 1 || len(v.Services) == 0 {
				t.Errorf("verify %+v", v)
			}
		}},
		{"start-scan.json", http.StatusAccepted, func(t *testing.T, body string) {
			if sc := decodeJSON[citadel.Scan](t, body); sc.ID != "scan-0001" || sc.Status != citadel.ScanRunning {
				t.Errorf("scan %+v", sc)
			}
		}},
		{"get-scan.json", http.StatusOK, func(t *testing.T, body string) {
			if sc := decodeJSON[citadel.Scan](t, body); sc.ID != "scan-0001" || sc.ExecutionARN == "" {
				t.Errorf("scan %+v", sc)
			}
		}},
		{"cancel-scan.json", http.StatusAccepted, func(t *testing.T, body string) {
			sc := decodeJSON[citadel.Scan](t, body)
			if sc.ID != "scan-0001" || sc.Status != citadel.ScanCancelled || sc.CancelledBy != "arn:aws:sts::123456789012:assumed-role/CitadelAdmin/alice" {
				t.Errorf("scan %+v", sc)
			}
		}},
		{"list-frameworks.json", http.StatusOK, func(t *testing.T, body string) {
			if !strings.Contains(body, `"id":"soc2"`) {
				t.Errorf("frameworks: %s", body)
			}
		}},
		{"get-check.json", http.StatusOK, func(t *testing.T, body string) {
			// The console's viewer reads a check.
			if c := decodeJSON[CheckDetail](t, body); c.ID != "s3_bucket_public_access" || len(c.Frameworks) != 1 || c.Frameworks[0] != "soc2" {
				t.Errorf("check %+v", c)
			}
		}},
		{"review-evidence.json", http.StatusOK, func(t *testing.T, body string) {
			if e := decodeJSON[citadel.Evidence](t, body); e.Status != citadel.EvidenceApproved {
				t.Errorf("evidence %+v", e)
			}
		}},
		{"forbidden.json", http.StatusForbidden, func(t *testing.T, body string) {
			// A viewer's token cannot delete: the handler checks the role
			// the gateway's route scopes checked, and the integration stays.
			if e := decodeJSON[ErrorBody](t, body); e.Error != "forbidden" || !strings.Contains(e.Message, "val has role viewer") {
				t.Errorf("error %+v", e)
			}
			if _, err := f.store.GetIntegration(ctx, "int-0001"); err != nil {
				t.Errorf("the integration is gone: %v", err)
			}
		}},
		{"bad-request.json", http.StatusBadRequest, func(t *testing.T, body string) {
			if e := decodeJSON[ErrorBody](t, body); e.Error != "invalid" || !strings.Contains(e.Message, "account_id") {
				t.Errorf("error %+v", e)
			}
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			tested[tc.file] = true
			raw, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			resp, err := adapter.ProxyWithContext(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, resp.Body)
			}
			if ct := resp.Headers["Content-Type"]; ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			tc.check(t, resp.Body)
		})
	}
	for _, file := range files {
		if !tested[filepath.Base(file)] {
			t.Errorf("sample event %s is not tested", filepath.Base(file))
		}
	}
	// The caller from the request context is in the logs: the IAM principal
	// and, for the JWT events, the token's user name.
	logs := f.logs.String()
	for _, want := range []string{
		`"caller":"arn:aws:sts::123456789012:assumed-role/CitadelAdmin/alice"`,
		`"caller":"dana"`,
		`"caller":"val"`,
		`"request_id":"Ab1Cd2Ef3Gh003="`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
}

func decodeJSON[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, body)
	}
	return v
}
