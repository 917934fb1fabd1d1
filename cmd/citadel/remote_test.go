package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/citadelsecure/citadel/cmd/citadel/internal/demoestate"
	"github.com/citadelsecure/citadel/shared/apiclient"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/jobs/catalogimport"
	"github.com/citadelsecure/citadel/shared/report"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/testkit/catalogtest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// gateway stands in for API Gateway in front of the api function, which no
// local emulator runs (moto's API Gateway v2 does not invoke integrations):
// it verifies each request's SigV4 signature (service execute-api) as IAM
// authorization does, refusing a bad one with API Gateway's 403, then hands
// the request to the handler as the HTTP API's payload 2.0 event with the
// caller in the IAM authorizer context, through the adapter functions/api
// uses.
type gateway struct {
	t        testing.TB
	creds    aws.Credentials
	region   string
	caller   string
	adapter  *httpadapter.HandlerAdapterV2
	verified atomic.Int64
	refused  atomic.Int64
}

var authRe = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$`)

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if reason := g.verify(r, body); reason != "" {
		g.refused.Add(1)
		g.t.Errorf("%s %s: signature refused: %s", r.Method, r.URL, reason)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"message":"Forbidden: %s"}`, reason)
		return
	}
	g.verified.Add(1)
	headers := map[string]string{}
	for k, v := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: r.URL.Path, RawQueryString: r.URL.RawQuery, Headers: headers,
		Body: base64.StdEncoding.EncodeToString(body), IsBase64Encoded: true,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: fmt.Sprintf("req-%d", g.verified.Load()), DomainName: r.Host,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.Method, Path: r.URL.Path, SourceIP: "127.0.0.1"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{AccessKey: g.creds.AccessKeyID, UserARN: g.caller},
			},
		},
	}
	resp, err := g.adapter.ProxyWithContext(r.Context(), ev)
	if err != nil {
		g.t.Errorf("%s %s: adapter: %v", r.Method, r.URL, err)
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.StatusCode)
	out := []byte(resp.Body)
	if resp.IsBase64Encoded {
		out, _ = base64.StdEncoding.DecodeString(resp.Body)
	}
	_, _ = w.Write(out)
}

// verify recomputes the request's signature from what came over the wire
// (the signed headers, the path, the query, the body's hash) and says why
// it does not match ("" when it does).
func (g *gateway) verify(r *http.Request, body []byte) string {
	m := authRe.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return "no SigV4 Authorization header"
	}
	akid, date, region, service, signed, sig := m[1], m[2], m[3], m[4], m[5], m[6]
	switch {
	case akid != g.creds.AccessKeyID:
		return "unknown access key " + akid
	case service != apiclient.SigningService || region != g.region:
		return fmt.Sprintf("scope %s/%s, want %s/%s", region, service, g.region, apiclient.SigningService)
	}
	sum := sha256.Sum256(body)
	if got := r.Header.Get("X-Amz-Content-Sha256"); got != hex.EncodeToString(sum[:]) {
		return "the body's hash is not the signed one"
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || at.Format("20060102") != date {
		return "bad X-Amz-Date"
	}
	if d := time.Since(at); d > 5*time.Minute || d < -5*time.Minute {
		return "signature expired"
	}
	again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	for _, h := range strings.Split(signed, ";") {
		if h != "host" {
			again.Header.Set(h, r.Header.Get(h))
		}
	}
	again.Header.Del("Authorization")
	if err := v4.NewSigner().SignHTTP(context.Background(), g.creds, again, hex.EncodeToString(sum[:]), service, region, at); err != nil {
		return err.Error()
	}
	want := authRe.FindStringSubmatch(again.Header.Get("Authorization"))
	if want == nil || want[5] != signed || want[6] != sig {
		return "signature mismatch"
	}
	return ""
}

// cliEnv is a deployment on the local AWS server: the demo estate in an
// account of its own, the reduced catalog loaded, the API behind the
// gateway stand-in on 127.0.0.1, and a CloudFormation stack whose outputs
// name it, as `cdk deploy` leaves them.
type cliEnv struct {
	ctx       context.Context
	cfg       aws.Config
	store     *ddb.Store
	gw        *gateway
	stack     string
	account   string // the estate's
	bucket    string
	catalogSM string
	scfDir    string
}

func newCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	p := installedProwler(t)
	ctx := context.Background()
	cfg := testenv.Config(t)
	acct, accountID, _ := testenv.Account(t, cfg)
	if _, err := demoestate.Seed(ctx, acct, accountID); err != nil {
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
	imp := &catalogimport.Handler{Store: store, Env: stepfn.Env{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	if _, err := imp.Handle(ctx, citadel.CatalogImportInput{ProwlerSource: prowlerDir, ProwlerVersion: p.Version, SCFSource: scfDir}); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateFolder(ctx, citadel.Folder{ID: "fld-cli", Name: "cli", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r := &runner{cfg: cfg, table: table, bucket: bucket, eventBus: bus, prowler: p, log: log, prowlerDeadline: 10 * time.Minute}
	api, execs, err := localAPI(ctx, cfg, r, "fld-cli")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(execs.Wait)
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gw := &gateway{t: t, creds: creds, region: cfg.Region, caller: "arn:aws:iam::123456789012:user/alice", adapter: httpadapter.NewV2(api)}
	apiURL := serveGateway(t, gw)

	// The catalog's state machine: its states are the engine test's
	// business; here the CLI only starts it.
	states := sfn.NewFromConfig(cfg)
	sm, err := states.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String(testenv.Name(t, "citadel-catalog")),
		Definition: aws.String(`{"StartAt":"export","States":{"export":{"Type":"Pass","End":true}}}`),
		RoleArn:    aws.String("arn:aws:iam::123456789012:role/citadel-states"),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &cliEnv{ctx: ctx, cfg: cfg, store: store, gw: gw, stack: testenv.Name(t, "Citadel"), account: accountID,
		bucket: bucket, catalogSM: aws.ToString(sm.StateMachineArn), scfDir: scfDir}
	template := map[string]any{
		"Resources": map[string]any{"Marker": map[string]any{"Type": "AWS::CloudFormation::WaitConditionHandle"}},
		"Outputs": map[string]any{
			citadel.OutputAPIURL:              map[string]any{"Value": apiURL},
			citadel.OutputBucketName:          map[string]any{"Value": bucket},
			citadel.OutputCatalogStateMachine: map[string]any{"Value": e.catalogSM},
		},
	}
	body, _ := json.Marshal(template)
	if _, err := cloudformation.NewFromConfig(cfg).CreateStack(ctx, &cloudformation.CreateStackInput{
		StackName: aws.String(e.stack), TemplateBody: aws.String(string(body)),
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

// cli runs a citadel command against the stack: its output, and its error.
func (e *cliEnv) cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	args = append(args, "--stack", e.stack)
	err := run(e.ctx, args, &out)
	t.Logf("$ citadel %s\n%s(exit %d %v)", strings.Join(args, " "), out.String(), exitCode(err), err)
	return out.String(), err
}

// must runs a command that must succeed.
func (e *cliEnv) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := e.cli(t, args...)
	if err != nil {
		t.Fatalf("citadel %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// exits runs a command that must fail with an exit code and a message.
func (e *cliEnv) exits(t *testing.T, code int, want string, args ...string) {
	t.Helper()
	_, err := e.cli(t, args...)
	if got := exitCode(err); got != code || err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("citadel %s: exit %d (%v), want %d with %q", strings.Join(args, " "), got, err, code, want)
	}
}

func contains(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s: no %q in:\n%s", what, w, out)
		}
	}
}

// TestCLIAgainstTheDeployedAPI is the first hour after `cdk deploy` with the
// CLI: the catalog's status, an integration added and verified, a scan
// started and watched to its end, findings browsed down to an asset,
// coverage, evidence reviewed with the reviewer recorded, and the SCF
// library uploaded; every request signed and verified, every refusal with
// its exit code.
func TestCLIAgainstTheDeployedAPI(t *testing.T) {
	e := newCLIEnv(t)

	out := e.must(t, "catalog", "status")
	contains(t, "catalog status", out, "soc2", "iso27001_2022", "cis_controls_8.1", "checks")

	frameworks := strings.Join(report.DefaultFrameworks, ",")
	out = e.must(t, "integrations", "add", "--account", e.account, "--name", "estate", "--frameworks", frameworks,
		"--regions", strings.Join(demoestate.Regions, ","), "--checks", strings.Join(demoestate.Checks, ","),
		"--role-arn", demoestate.RoleARN(e.account), "--external-id", demoestate.ExternalID, "--folder", "fld-cli")
	contains(t, "integrations add", out, "cdk deploy CitadelTargetRole --parameters TrustedAccountId=123456789012 --parameters ExternalId="+demoestate.ExternalID,
		"citadel integrations verify int-")
	id := regexp.MustCompile(`integration (int-\S+) created`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("no integration id in:\n%s", out)
	}
	integ := id[1]
	// A generated ExternalId, and the home account needing no role.
	out = e.must(t, "integrations", "add", "--account", "123456789012", "--frameworks", "soc2", "--folder", "fld-cli")
	contains(t, "home integration", out, "is Citadel's own")
	out = e.must(t, "integrations", "add", "--account", "210987654321", "--frameworks", "soc2", "--folder", "fld-cli", "-o", "json")
	var other citadel.Integration
	if err := json.Unmarshal([]byte(out), &other); err != nil || !regexp.MustCompile(`^citadel-[0-9a-f]{32}$`).MatchString(other.ExternalID) ||
		other.RoleARN != "arn:aws:iam::210987654321:role/CitadelScanner" {
		t.Errorf("generated role and ExternalId: %+v (%v)", other, err)
	}

	// Refusals: each names the flag or the field, with its exit code.
	e.exits(t, ExitConflict, "already has integration "+integ, "integrations", "add", "--account", e.account, "--frameworks", "soc2", "--folder", "fld-cli")
	e.exits(t, ExitUsage, "--account", "integrations", "add", "--account", "12345", "--frameworks", "soc2")
	e.exits(t, ExitUsage, "--frameworks is required", "integrations", "add", "--account", "123456789013")
	e.exits(t, ExitUsage, "schedule", "integrations", "update", integ, "--schedule", "rate(5 minutes)")
	e.exits(t, ExitUsage, "-o \"yaml\"", "integrations", "list", "-o", "yaml")
	e.exits(t, ExitNotFound, "int-nope", "integrations", "show", "int-nope")
	e.exits(t, ExitUsage, "needs ID", "integrations", "show")

	out = e.must(t, "integrations", "list", "--folder", "fld-cli")
	contains(t, "integrations list", out, integ, e.account, "soc2")
	out = e.must(t, "integrations", "update", integ, "--schedule", "rate(1 day)")
	contains(t, "integrations update", out, "rate(1 day)")
	out = e.must(t, "integrations", "verify", integ)
	contains(t, "integrations verify", out, "assumed "+demoestate.RoleARN(e.account), "s3", "iam", "ec2", "readable")

	out = e.must(t, "scan", "start", integ, "--wait", "--interval", "200ms")
	for _, step := range citadel.StepOrder {
		if !regexp.MustCompile(`✓ ` + regexp.QuoteMeta(step) + ` `).MatchString(out) {
			t.Errorf("scan start --wait: no ✓ %s in:\n%s", step, out)
		}
	}
	contains(t, "scan summary", out, "status", "succeeded", "summary:", "pass", "fail")
	if strings.Contains(out, "now in") {
		t.Errorf("an ended scan is shown in a step:\n%s", out)
	}
	scanID := regexp.MustCompile(`scan (scan-\S+) of integration`).FindStringSubmatch(out)[1]
	e.exits(t, ExitConflict, "already succeeded", "scans", "cancel", scanID)
	contains(t, "scans list", e.must(t, "scans", "list", integ), scanID, "succeeded")
	contains(t, "scans show", e.must(t, "scans", "show", scanID), "finalize", "succeeded")

	out = e.must(t, "findings", "--integration", integ, "--status", "fail", "-o", "json")
	var findings struct {
		Items []struct {
			citadel.CheckResult
			AssetRef string `json:"asset_ref"`
		}
	}
	if err := json.Unmarshal([]byte(out), &findings); err != nil || len(findings.Items) == 0 {
		t.Fatalf("findings --status fail: %v, %d items", err, len(findings.Items))
	}
	for _, f := range findings.Items {
		if f.Status != citadel.StatusFail {
			t.Errorf("findings --status fail lists a %s result: %+v", f.Status, f)
		}
	}
	out = e.must(t, "findings", "asset", findings.Items[0].AssetRef)
	contains(t, "findings asset", out, findings.Items[0].AssetARN, findings.Items[0].CheckID)
	e.exits(t, ExitUsage, "severity", "findings", "--integration", integ, "--severity", "urgent")

	out = e.must(t, "coverage", "soc2", "--folder", "fld-cli")
	contains(t, "coverage", out, "assessable requirements", "REQUIREMENT")

	out = e.must(t, "evidence", "queue", "--folder", "fld-cli", "-o", "json")
	var queue citadel.Page[citadel.Evidence]
	if err := json.Unmarshal([]byte(out), &queue); err != nil || len(queue.Items) == 0 {
		t.Fatalf("evidence queue: %v, %d items", err, len(queue.Items))
	}
	ev := queue.Items[0].ID
	e.exits(t, ExitUsage, "--comment is required", "evidence", "approve", ev)
	out = e.must(t, "evidence", "approve", ev, "--comment", "checked against the bucket policy")
	contains(t, "evidence approve", out, "approved by "+e.gw.caller)
	out = e.must(t, "evidence", "show", ev)
	contains(t, "evidence show", out, "verified", e.gw.caller, "checked against the bucket policy")

	// The SCF library: checked with the import's parser before anything is
	// put, then the load started (the export is skipped: a catalog is loaded).
	bad := filepath.Join(t.TempDir(), "scf-2099.1.yaml")
	if err := os.WriteFile(bad, []byte("urn: [unclosed"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.exits(t, ExitUsage, "nothing was uploaded", "catalog", "add-scf", bad)
	files, _ := filepath.Glob(filepath.Join(e.scfDir, "*.yaml"))
	out = e.must(t, append([]string{"catalog", "add-scf"}, files...)...)
	contains(t, "catalog add-scf", out, "catalog load started")
	list, err := s3.NewFromConfig(e.cfg, func(o *s3.Options) { o.UsePathStyle = true }).ListObjectsV2(e.ctx,
		&s3.ListObjectsV2Input{Bucket: aws.String(e.bucket), Prefix: aws.String(citadel.SCFPrefix)})
	if err != nil || int(aws.ToInt32(list.KeyCount)) != len(files) {
		t.Errorf("catalog/scf/ holds %v objects, want %d (%v)", aws.ToInt32(list.KeyCount), len(files), err)
	}
	execs, err := sfn.NewFromConfig(e.cfg).ListExecutions(e.ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(e.catalogSM)})
	if err != nil || len(execs.Executions) != 1 {
		t.Fatalf("catalog executions: %+v, %v", execs, err)
	}
	d, err := sfn.NewFromConfig(e.cfg).DescribeExecution(e.ctx, &sfn.DescribeExecutionInput{ExecutionArn: execs.Executions[0].ExecutionArn})
	if err != nil || aws.ToString(d.Input) != `{"skip_export":true}` {
		t.Errorf("catalog execution input %q (%v), want the export skipped", aws.ToString(d.Input), err)
	}

	// Folders: created, listed, renamed; an unknown one is a 404, never an empty list.
	out = e.must(t, "folders", "create", "Payments", "--id", "fld-pay")
	contains(t, "folders create", out, "folder fld-pay created", "Payments", "--folder fld-pay")
	e.exits(t, ExitConflict, "folder fld-pay already exists", "folders", "create", "Billing", "--id", "fld-pay")
	contains(t, "folders list", e.must(t, "folders", "list"), "fld-cli", "fld-pay", "Payments")
	contains(t, "folders rename", e.must(t, "folders", "rename", "fld-pay", "Payments EU"), "folder fld-pay renamed", "Payments EU")
	out = e.must(t, "folders", "show", "fld-pay", "-o", "json")
	if f := (citadel.Folder{}); json.Unmarshal([]byte(out), &f) != nil || f.Name != "Payments EU" || f.UpdatedAt.IsZero() {
		t.Errorf("folders show -o json: %s", out)
	}
	e.exits(t, ExitNotFound, "folder nope not found", "folders", "show", "nope")
	e.exits(t, ExitNotFound, "folder nope not found", "integrations", "list", "--folder", "nope")
	e.exits(t, ExitUsage, "name", "folders", "rename", "fld-pay", " ")

	// whoami: the signed caller as the gateway's IAM authorizer names it.
	contains(t, "whoami", e.must(t, "whoami"), "arn:aws:iam::123456789012:user/alice", "iam", "read, scan, review, admin")

	if n := e.gw.refused.Load(); n > 0 || e.gw.verified.Load() < 20 {
		t.Errorf("%d requests verified, %d refused", e.gw.verified.Load(), n)
	}
}

// TestGatewayRefusesBadSignatures: the stand-in's verification is real: an
// unsigned request, another service's signature, and a body changed after
// signing are refused.
func TestGatewayRefusesBadSignatures(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}
	gw := &gateway{t: &testing.T{}, creds: creds, region: "us-east-1"}
	sign := func(service string, body []byte) *http.Request {
		req := httptest.NewRequest("POST", "http://127.0.0.1/integrations", bytes.NewReader(body))
		sum := sha256.Sum256(body)
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		return req
	}
	body := []byte(`{"account_id":"123456789012"}`)
	if reason := gw.verify(sign(apiclient.SigningService, body), body); reason != "" {
		t.Fatalf("a good signature refused: %s", reason)
	}
	for name, tc := range map[string]struct {
		req  *http.Request
		body []byte
		want string
	}{
		"unsigned":        {httptest.NewRequest("GET", "http://127.0.0.1/integrations", nil), nil, "no SigV4"},
		"another service": {sign("s3", body), body, "scope"},
		"body changed":    {sign(apiclient.SigningService, body), []byte(`{"account_id":"999999999999"}`), "body's hash"},
	} {
		if reason := gw.verify(tc.req, tc.body); !strings.Contains(reason, tc.want) {
			t.Errorf("%s: %q, want %q", name, reason, tc.want)
		}
	}
	tampered := sign(apiclient.SigningService, body)
	tampered.URL.Path = "/integrations/int-1"
	if reason := gw.verify(tampered, body); reason != "signature mismatch" {
		t.Errorf("path changed after signing: %q", reason)
	}
}
