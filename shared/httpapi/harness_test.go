package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	sched "github.com/citadelsecure/citadel/shared/scheduler"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
	"github.com/citadelsecure/citadel/shared/verify"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// t0 is the fixed clock of every test.
var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

const testFolder = "folder-1"

// fixture is an API on a fresh table, with a state machine and a schedule
// group in a fresh account of the local AWS server.
type fixture struct {
	t         testing.TB
	srv       *Server
	store     *ddb.Store
	sfn       *sfn.Client
	sched     *scheduler.Client
	schedules *sched.Schedules
	smARN     string
	orgSMARN  string // the organization state machine
	group     string
	doc       *openapi3.T
	logs      *syncBuffer
}

// syncBuffer collects the server's logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// counterIDs makes ids prefix-0001, prefix-0002 ... so responses are exact.
func counterIDs() func(string, time.Time) string {
	var mu sync.Mutex
	n := map[string]int{}
	return func(prefix string, _ time.Time) string {
		mu.Lock()
		defer mu.Unlock()
		n[prefix]++
		return fmt.Sprintf("%s-%04d", prefix, n[prefix])
	}
}

func newFixture(t testing.TB, opts ...func(*Deps)) *fixture {
	t.Helper()
	ctx := context.Background()
	cfg := testenv.Config(t)
	store := testenv.Store(t, ddb.WithClock(func() time.Time { return t0 }))
	acct, accountID, _ := testenv.Account(t, cfg)
	f := &fixture{t: t, store: store, sfn: sfn.NewFromConfig(acct), sched: scheduler.NewFromConfig(acct), logs: &syncBuffer{}}

	sm, err := f.sfn.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String(testenv.Name(t, "citadel-scan")),
		Definition: aws.String(`{"StartAt":"plan","States":{"plan":{"Type":"Pass","End":true}}}`),
		RoleArn:    aws.String(fmt.Sprintf("arn:aws:iam::%s:role/citadel-states", accountID)),
	})
	if err != nil {
		t.Fatalf("create state machine: %v", err)
	}
	f.smARN = aws.ToString(sm.StateMachineArn)
	orgSM, err := f.sfn.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String(testenv.Name(t, "citadel-org-scan")),
		Definition: aws.String(`{"StartAt":"org-plan","States":{"org-plan":{"Type":"Pass","End":true}}}`),
		RoleArn:    aws.String(fmt.Sprintf("arn:aws:iam::%s:role/citadel-states", accountID)),
	})
	if err != nil {
		t.Fatalf("create organization state machine: %v", err)
	}
	f.orgSMARN = aws.ToString(orgSM.StateMachineArn)
	f.group = testenv.Name(t, "citadel")
	if _, err := f.sched.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String(f.group)}); err != nil {
		t.Fatalf("create schedule group: %v", err)
	}
	f.schedules = &sched.Schedules{API: f.sched, Group: f.group, StateMachineARN: f.smARN, OrgStateMachineARN: f.orgSMARN,
		RoleARN: fmt.Sprintf("arn:aws:iam::%s:role/citadel-scheduler", accountID)}

	d := Deps{
		Folders: store, Integrations: store, Scans: store, Assets: store, Catalog: store, Controls: store, Evidence: store, Assessments: store, Compliance: store,
		Exceptions: store, Schedules: f.schedules, Executions: f.sfn, StateMachineARN: f.smARN, OrgStateMachineARN: f.orgSMARN, Verify: &verify.Verifier{Config: cfg},
		DefaultFolder: testFolder, Clock: func() time.Time { return t0 }, NewID: counterIDs(),
		Log: slog.New(slog.NewJSONHandler(f.logs, nil)),
	}
	for _, o := range opts {
		o(&d)
	}
	if f.srv, err = New(ctx, d); err != nil {
		t.Fatal(err)
	}
	if f.doc, err = LoadSpec(ctx); err != nil {
		t.Fatal(err)
	}
	return f
}

// do sends a request to the API and checks the response against the
// OpenAPI document (status declared, body matching its schema), or, off
// the routes, against the error schema.
func (f *fixture) do(method, path, body string, header ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	f.checkResponse(req, rec)
	return rec
}

func (f *fixture) checkResponse(req *http.Request, rec *httptest.ResponseRecorder) {
	f.t.Helper()
	if rec.Code == http.StatusNoContent {
		return
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("%s %s: Content-Type %q, want application/json", req.Method, req.URL, ct)
	}
	if rec.Code >= 400 {
		var e ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" || e.Message == "" {
			f.t.Errorf("%s %s: error body %q is not {error, message}", req.Method, req.URL, rec.Body.String())
		}
	}
	_, pattern := f.srv.mux.Handler(req)
	if pattern == "" {
		return
	}
	method, tmpl, _ := strings.Cut(pattern, " ")
	route, err := Operation(f.doc, method, tmpl)
	if err != nil {
		f.t.Fatal(err)
	}
	params := map[string]string{}
	if strings.Contains(tmpl, "{id}") {
		params["id"] = "x"
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		f.t.Errorf("%s %s: response %d does not match openapi.yaml: %v\n%s", req.Method, req.URL, rec.Code, err, rec.Body.String())
	}
}

// expect checks a response's status and, for errors, its code and that the
// message says why (contains want).
func expect(t testing.TB, rec *httptest.ResponseRecorder, status int, code, want string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body.String())
	}
	if code == "" {
		return
	}
	var e ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body: %v: %s", err, rec.Body.String())
	}
	if os.Getenv("SHOW_ERRORS") != "" {
		t.Logf("%d %s: %s", rec.Code, e.Error, e.Message)
	}
	if e.Error != code || !strings.Contains(e.Message, want) {
		t.Errorf("error %s %q, want %s containing %q", e.Error, e.Message, code, want)
	}
}

func decodeBody[T any](t testing.TB, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, rec.Body.String())
	}
	return v
}

// golden compares a response body with testdata/<name>.json (indented);
// -update rewrites it. replace holds old, new pairs for the parts that
// differ per run (the fresh account's ARNs).
func golden(t testing.TB, name string, body []byte, replace ...string) {
	t.Helper()
	body = []byte(strings.NewReplacer(replace...).Replace(string(body)))
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		t.Fatalf("indent %s: %v", name, err)
	}
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(want), bytes.TrimSpace(buf.Bytes())) {
		t.Errorf("%s differs from %s:\n got: %s\nwant: %s", name, path, buf.String(), want)
	}
}

// createIntegration creates an integration through the API and returns it.
func (f *fixture) createIntegration(body string) citadel.Integration {
	f.t.Helper()
	rec := f.do("POST", "/integrations", body)
	expect(f.t, rec, http.StatusCreated, "", "")
	return decodeBody[citadel.Integration](f.t, rec)
}

// putFrameworks imports frameworks with these ids into the catalog, so an
// integration may name them (validIntegration names cis_2.0).
func (f *fixture) putFrameworks(ids ...string) {
	f.t.Helper()
	fws := make([]citadel.Framework, len(ids))
	for i, id := range ids {
		fws[i] = citadel.Framework{ID: id, Name: id, Source: "prowler", RequirementCount: 1}
	}
	if err := f.store.PutFrameworks(context.Background(), fws); err != nil {
		f.t.Fatal(err)
	}
	// An import writes the catalog's version with its frameworks.
	if err := f.store.PutCatalogVersion(context.Background(), citadel.CatalogVersion{ProwlerVersion: "5.40.0", ImportedAt: t0,
		Counts: citadel.CatalogCounts{Frameworks: len(fws)}}); err != nil {
		f.t.Fatal(err)
	}
}

// validIntegration needs f.putFrameworks("cis_2.0") first.
const validIntegration = `{"name":"prod","account_id":"123456789012","role_arn":"arn:aws:iam::123456789012:role/CitadelScanner","external_id":"ext-123","regions":["us-east-1","eu-west-1"],"frameworks":["cis_2.0"],"schedule_expression":"rate(1 day)"}`
