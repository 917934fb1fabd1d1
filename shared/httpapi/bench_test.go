package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/citadelsecure/citadel/shared/ddb"
	sched "github.com/citadelsecure/citadel/shared/scheduler"
)

// offlineDeps are real clients that are never called: enough to build the
// server and serve what it answers without AWS (validation failures, routing).
func offlineDeps() Deps {
	cfg := aws.Config{Region: "us-east-1"}
	store := ddb.New(cfg, "citadel-bench")
	return Deps{
		Folders: store, Integrations: store, Scans: store, Assets: store, Catalog: store, Controls: store, Evidence: store,
		Assessments: store, Compliance: store, Exceptions: store, Executions: sfn.NewFromConfig(cfg), StateMachineARN: "arn:aws:states:us-east-1:123456789012:stateMachine:citadel",
		Schedules:     &sched.Schedules{API: scheduler.NewFromConfig(cfg)},
		DefaultFolder: testFolder, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}
}

// BenchmarkNew is the API's share of a cold start: parsing and validating
// the embedded OpenAPI document and building the routes.
func BenchmarkNew(b *testing.B) {
	d := offlineDeps()
	for b.Loop() {
		if _, err := New(context.Background(), d); err != nil {
			b.Fatal(err)
		}
	}
}

func benchRequest(b *testing.B, method, path, body string, want int) {
	srv, err := New(context.Background(), offlineDeps())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != want {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	}
}

// BenchmarkRejectInvalidBody is a create refused by the document (an
// unknown field): routing, reading the body and schema validation.
func BenchmarkRejectInvalidBody(b *testing.B) {
	benchRequest(b, "POST", "/integrations", `{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"],"regions":["us-east-1","eu-west-1"],"colour":"red"}`, http.StatusBadRequest)
}

// BenchmarkRejectDomainRule is a create that passes the document and is
// refused by the domain's validation (role ARN in another account): the
// whole validation path of a valid-looking body, without a store call.
func BenchmarkRejectDomainRule(b *testing.B) {
	benchRequest(b, "POST", "/integrations", `{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"],"role_arn":"arn:aws:iam::210987654321:role/x","regions":["us-east-1","eu-west-1"],"schedule_expression":"rate(1 day)"}`, http.StatusBadRequest)
}

// BenchmarkUnknownRoute is a 404 off the routes.
func BenchmarkUnknownRoute(b *testing.B) {
	benchRequest(b, "GET", "/nope", "", http.StatusNotFound)
}

// BenchmarkGetIntegration is a read through the whole stack against the
// local DynamoDB (moto): mostly the local server's latency.
func BenchmarkGetIntegration(b *testing.B) {
	f := newFixture(b)
	f.createIntegration(`{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"]}`)
	for b.Loop() {
		req := httptest.NewRequest("GET", "/integrations/int-0001", nil)
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	}
}
