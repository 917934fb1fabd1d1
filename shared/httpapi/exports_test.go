package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// exportFixture is an API with the export routes: an export state machine
// (a Pass state: the job is exportjob's, tested there), the bucket its
// files are in and the presign client, an account integration, an
// organization and the framework soc2.
func exportFixture(t *testing.T) (*fixture, *s3.Client, string) {
	t.Helper()
	cfg := testenv.Config(t)
	s3c, bucket := testenv.Bucket(t, cfg)
	var smARN string
	f := newFixture(t, func(d *Deps) {
		sm, err := d.Executions.(*sfn.Client).CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
			Name:       aws.String(testenv.Name(t, "citadel-export")),
			Definition: aws.String(`{"StartAt":"export","States":{"export":{"Type":"Pass","End":true}}}`),
			RoleArn:    aws.String("arn:aws:iam::123456789012:role/citadel-states"),
		})
		if err != nil {
			t.Fatal(err)
		}
		smARN = aws.ToString(sm.StateMachineArn)
		d.Exports, d.ExportStateMachineARN, d.Presign, d.Bucket = d.Integrations.(Exports), smARN, s3.NewPresignClient(s3c), bucket
	})
	f.putFrameworks("cis_2.0", "soc2")
	f.createIntegration(validIntegration)
	return f, s3c, smARN
}

func TestCreateExport(t *testing.T) {
	f, s3c, smARN := exportFixture(t)
	ctx := context.Background()
	body := `{"framework":"soc2","scope":{"kind":"integration","id":"int-0001"},"format":"csv","as_of":"2026-11-28T00:00:00Z"}`
	rec := f.as("dana", citadel.RoleAuditor, "POST", "/exports", body)
	expect(t, rec, http.StatusAccepted, "", "")
	got := decodeBody[ExportView](t, rec)
	if got.ID != "exp-0001" || got.Status != citadel.ExportQueued || got.RequestedBy != "dana" || got.ExecutionARN == "" ||
		!got.Expires.Equal(t0.Add(citadel.ExportRetention)) || rec.Header().Get("Location") != "/exports/exp-0001" {
		t.Fatalf("export %+v (Location %s)", got, rec.Header().Get("Location"))
	}
	// The execution is the export's, named after it, with its id as input.
	ex, err := f.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(got.ExecutionARN)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(ex.StateMachineArn) != smARN || aws.ToString(ex.Name) != "exp-0001" || aws.ToString(ex.Input) != `{"export_id":"exp-0001"}` {
		t.Errorf("execution %s of %s: %s", aws.ToString(ex.Name), aws.ToString(ex.StateMachineArn), aws.ToString(ex.Input))
	}

	// Queued: no URL. Succeeded (as the job records it): a presigned GET
	// that fetches the file.
	rec = f.as("dana", citadel.RoleAuditor, "GET", "/exports/exp-0001", "")
	expect(t, rec, http.StatusOK, "", "")
	if v := decodeBody[ExportView](t, rec); v.DownloadURL != "" || v.Status != citadel.ExportQueued {
		t.Errorf("queued: %+v", v)
	}
	file := []byte("findings.csv...")
	key := citadel.ExportKey("exp-0001", "soc2-integration-int-0001-2026-11-28-csv.zip")
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(f.srv.Bucket), Key: aws.String(key), Body: bytes.NewReader(file)}); err != nil {
		t.Fatal(err)
	}
	done := got.Export
	done.Status, done.Key, done.FileName, done.Size = citadel.ExportSucceeded, key, "soc2-integration-int-0001-2026-11-28-csv.zip", int64(len(file))
	if err := f.store.UpdateExport(ctx, citadel.ExportQueued, done); err != nil {
		t.Fatal(err)
	}
	rec = f.as("dana", citadel.RoleAuditor, "GET", "/exports/exp-0001", "")
	expect(t, rec, http.StatusOK, "", "")
	v := decodeBody[ExportView](t, rec)
	if v.DownloadURL == "" || !v.DownloadExpiresAt.Equal(t0.Add(DownloadURLLifetime)) || !strings.Contains(v.DownloadURL, "X-Amz-Expires=300") {
		t.Fatalf("succeeded: %+v", v)
	}
	resp, err := http.Get(v.DownloadURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(b, file) {
		t.Errorf("download: %d %q", resp.StatusCode, b)
	}

	// Listed newest first, without URLs; an export running past its
	// timeout reads failed.
	f.as("dana", citadel.RoleAuditor, "POST", "/exports", `{"framework":"soc2","scope":{"kind":"folder","id":"`+testFolder+`"},"format":"html"}`)
	stale := citadel.Export{ID: "exp-stale", Request: citadel.ExportRequest{Framework: "soc2", Scope: citadel.ExportScope{Kind: citadel.ExportScopeFolder, ID: testFolder},
		Format: citadel.ExportJSON}, Status: citadel.ExportRunning, RequestedBy: "dana", CreatedAt: t0.Add(-time.Hour), Expires: t0.Add(time.Hour)}
	if err := f.store.CreateExport(ctx, stale); err != nil {
		t.Fatal(err)
	}
	rec = f.as("dana", citadel.RoleAuditor, "GET", "/exports", "")
	expect(t, rec, http.StatusOK, "", "")
	page := decodeBody[citadel.Page[ExportView]](t, rec)
	var ids []string
	for _, e := range page.Items {
		ids = append(ids, fmt.Sprintf("%s %s %t", e.ID, e.Status, e.DownloadURL != ""))
	}
	if strings.Join(ids, ", ") != "exp-0002 queued false, exp-0001 succeeded false, exp-stale failed false" {
		t.Errorf("list: %v", ids)
	}
	rec = f.as("dana", citadel.RoleAuditor, "GET", "/exports/exp-stale", "")
	if v := decodeBody[ExportView](t, rec); v.Status != citadel.ExportFailed || !strings.Contains(v.FailureCause, "did not finish within 15m0s") {
		t.Errorf("stale: %+v", v)
	}
}

// TestCreateExportRefuses: each kind of bad request is a 4xx saying what
// is wrong, and no export is recorded.
func TestCreateExportRefuses(t *testing.T) {
	f, _, _ := exportFixture(t)
	org := f.createIntegration(strings.ReplaceAll(validOrganization, "123456789012", "999988887777"))
	req := func(framework, kind, id, format, extra string) string {
		return fmt.Sprintf(`{"framework":%q,"scope":{"kind":%q,"id":%q},"format":%q%s}`, framework, kind, id, format, extra)
	}
	tests := []struct {
		name, body string
		status     int
		code, want string
	}{
		{"not JSON", `{"framework":`, 400, "invalid", ""},
		{"no framework", `{"scope":{"kind":"integration","id":"int-0001"},"format":"csv"}`, 400, "invalid", "framework"},
		{"unknown field", req("soc2", "integration", "int-0001", "csv", `,"owner":"x"`), 400, "invalid", "owner"},
		{"bad scope kind", req("soc2", "account", "int-0001", "csv", ""), 400, "invalid", "scope.kind"},
		{"bad format", req("soc2", "integration", "int-0001", "pdf", ""), 400, "invalid", `"format"`},
		{"in the future", req("soc2", "integration", "int-0001", "csv", `,"as_of":"2027-01-01T00:00:00Z"`), 400, "invalid", "in the future"},
		{"unknown integration", req("soc2", "integration", "int-9999", "csv", ""), 404, "not_found", "int-9999"},
		{"unknown folder", req("soc2", "folder", "nope", "csv", ""), 404, "not_found", "folder nope"},
		{"unknown framework", req("nist_800_53", "integration", "int-0001", "csv", ""), 404, "not_found", "nist_800_53"},
		{"an account as organization", req("soc2", "organization", "int-0001", "csv", ""), 400, "invalid", "is not an organization"},
		{"an organization as integration", req("soc2", "integration", org.ID, "csv", ""), 400, "invalid", "is an organization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := f.as("dana", citadel.RoleAuditor, "POST", "/exports", tt.body)
			expect(t, rec, tt.status, tt.code, tt.want)
		})
	}
	rec := f.as("dana", citadel.RoleAuditor, "GET", "/exports", "")
	if page := decodeBody[citadel.Page[ExportView]](t, rec); len(page.Items) != 0 {
		t.Errorf("refused requests recorded exports: %+v", page.Items)
	}
	expect(t, f.as("dana", citadel.RoleAuditor, "GET", "/exports/exp-9999", ""), 404, "not_found", "exp-9999")
	// A viewer or an operator exports nothing.
	for _, r := range []citadel.Role{citadel.RoleViewer, citadel.RoleOperator} {
		expect(t, f.as("vic", r, "POST", "/exports", req("soc2", "integration", "int-0001", "csv", "")), 403, "forbidden", "")
	}
}

// TestExportsOff: a deployment without the export state machine answers
// 409 saying so.
func TestExportsOff(t *testing.T) {
	f := newFixture(t)
	expect(t, f.do("POST", "/exports", `{"framework":"soc2","scope":{"kind":"folder","id":"`+testFolder+`"},"format":"csv"}`), 409, "conflict", citadel.EnvExportStateMachineARN)
	expect(t, f.do("GET", "/exports", ""), 409, "conflict", "not set up")
}
