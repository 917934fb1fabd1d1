package verify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/inventory"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
	"github.com/citadelsecure/citadel/shared/verify"
)

// stub is a collector that answers without AWS: assets, an error, or
// nothing until its context ends (hang).
type stub struct {
	typ    string
	global bool
	assets int
	err    error
	hang   bool
}

func (s stub) ResourceType() string { return s.typ }
func (s stub) Service() string      { return strings.Split(s.typ, ":")[0] }
func (s stub) Global() bool         { return s.global }
func (s stub) Collect(ctx context.Context, env inventory.Env, _ []string) (inventory.Batch, error) {
	if s.hang {
		<-ctx.Done()
		return inventory.Batch{}, fmt.Errorf("list %s: %w", s.typ, ctx.Err())
	}
	if s.err != nil {
		return inventory.Batch{}, s.err
	}
	var b inventory.Batch
	for i := range s.assets {
		b.Assets = append(b.Assets, citadel.Asset{SourceID: fmt.Sprintf("arn:aws:%s:%s:%s:x/%d", s.Service(), env.Region, env.AccountID, i)})
	}
	return b, nil
}

var denied = &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized"}

// TestRun over moto: the role assumed into a fresh account, every scope's
// outcome by service (stub collectors for the outcomes AWS would give, the
// real S3 collector for a real listing), and the bounds.
func TestRun(t *testing.T) {
	cfg := testenv.Config(t)
	acct, account, role := testenv.Account(t, cfg)
	bucket := testenv.Name(t, "citadel-verify")
	if _, err := s3.NewFromConfig(acct, awsx.S3Options).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	buckets, _ := inventory.Default().Lookup(inventory.TypeS3Bucket)
	in := citadel.Integration{ID: "int-1", AccountID: account, RoleARN: role, ExternalID: "citadel-test"}
	assumedAs := "arn:aws:sts::" + account + ":assumed-role/CitadelScanner/" + verify.SessionName
	for _, tc := range []struct {
		name     string
		regions  []string
		opt      verify.Options
		want     verify.Report
		maxTaken time.Duration
	}{
		{
			name:    "every scope answered",
			regions: []string{"us-east-1", "eu-west-1"},
			opt: verify.Options{Registry: inventory.Registry{buckets,
				stub{typ: "ec2:instance", assets: 2}, stub{typ: "rds:db_instance", err: denied}}},
			want: verify.Report{IntegrationID: "int-1", AccountID: account, RoleARN: role, AssumedAs: assumedAs,
				Regions: []string{"us-east-1", "eu-west-1"}, Denied: 2, Services: []verify.ServiceAccess{
					{Service: "ec2", Scopes: []verify.ScopeAccess{
						{ResourceType: "ec2:instance", Region: "eu-west-1", OK: true, Resources: 2},
						{ResourceType: "ec2:instance", Region: "us-east-1", OK: true, Resources: 2},
					}},
					{Service: "rds", Scopes: []verify.ScopeAccess{
						{ResourceType: "rds:db_instance", Region: "eu-west-1", Code: "AccessDenied", Error: denied.Error()},
						{ResourceType: "rds:db_instance", Region: "us-east-1", Code: "AccessDenied", Error: denied.Error()},
					}},
					{Service: "s3", Scopes: []verify.ScopeAccess{
						{ResourceType: inventory.TypeS3Bucket, Region: inventory.GlobalRegion, OK: true, Resources: 1},
					}},
				}},
		},
		{
			name:    "the whole verify bounded: what did not finish is a timeout",
			regions: []string{"us-east-1"},
			opt: verify.Options{Timeout: 2 * time.Second, Registry: inventory.Registry{
				stub{typ: "ec2:instance", assets: 1}, stub{typ: "ecs:cluster", hang: true}}},
			want: verify.Report{IntegrationID: "int-1", AccountID: account, RoleARN: role, AssumedAs: assumedAs,
				Regions: []string{"us-east-1"}, Denied: 1, Services: []verify.ServiceAccess{
					{Service: "ec2", Scopes: []verify.ScopeAccess{{ResourceType: "ec2:instance", Region: "us-east-1", OK: true, Resources: 1}}},
					{Service: "ecs", Scopes: []verify.ScopeAccess{{ResourceType: "ecs:cluster", Region: "us-east-1",
						Code: inventory.CodeTimeout, Error: "did not finish within the verify's 2s"}}},
				}},
			maxTaken: 10 * time.Second,
		},
		{
			// One scope at a time: the second starts after the bound and
			// ends at once (one bound for the whole verify, not 2 s each).
			name:    "scopes not started by the bound are timeouts too",
			regions: []string{"us-east-1"},
			opt: verify.Options{Timeout: 2 * time.Second, Parallelism: 1, Registry: inventory.Registry{
				stub{typ: "ecs:cluster", hang: true}, stub{typ: "sqs:queue", hang: true}}},
			want: verify.Report{IntegrationID: "int-1", AccountID: account, RoleARN: role, AssumedAs: assumedAs,
				Regions: []string{"us-east-1"}, Denied: 2, Services: []verify.ServiceAccess{
					{Service: "ecs", Scopes: []verify.ScopeAccess{{ResourceType: "ecs:cluster", Region: "us-east-1",
						Code: inventory.CodeTimeout, Error: "did not finish within the verify's 2s"}}},
					{Service: "sqs", Scopes: []verify.ScopeAccess{{ResourceType: "sqs:queue", Region: "us-east-1",
						Code: inventory.CodeTimeout, Error: "did not finish within the verify's 2s"}}},
				}},
			maxTaken: 3500 * time.Millisecond,
		},
		{
			name:    "one scope bounded (the CLI's bound)",
			regions: []string{"us-east-1"},
			opt:     verify.Options{ScopeTimeout: 500 * time.Millisecond, Registry: inventory.Registry{stub{typ: "ecs:cluster", hang: true}}},
			want: verify.Report{IntegrationID: "int-1", AccountID: account, RoleARN: role, AssumedAs: assumedAs,
				Regions: []string{"us-east-1"}, Denied: 1, Services: []verify.ServiceAccess{
					{Service: "ecs", Scopes: []verify.ScopeAccess{{ResourceType: "ecs:cluster", Region: "us-east-1",
						Code: inventory.CodeTimeout, Error: "timed out after 500ms: list ecs:cluster: context deadline exceeded"}}},
				}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			got, err := verify.Run(context.Background(), cfg, in, tc.regions, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("report (-want +got):\n%s", d)
			}
			if tc.maxTaken > 0 && time.Since(start) > tc.maxTaken {
				t.Errorf("took %s, want at most %s", time.Since(start), tc.maxTaken)
			}
			if n := got.Scopes(); n != len(flatten(tc.want)) {
				t.Errorf("Scopes() = %d", n)
			}
		})
	}
}

func flatten(r verify.Report) []verify.ScopeAccess {
	var out []verify.ScopeAccess
	for _, s := range r.Services {
		out = append(out, s.Scopes...)
	}
	return out
}

// stsDenying is an STS endpoint that refuses every call as AWS does.
func stsDenying(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>`+
			`<Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/citadel-api/x is not authorized to perform: sts:AssumeRole</Message>`+
			`</Error><RequestId>req-1</RequestId></ErrorResponse>`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// Without credentials of the integration's account nothing is collected:
// an *AssumeError says why, in the words the CLI has always printed.
func TestRunWithoutTheAccountsCredentials(t *testing.T) {
	cfg := testenv.Config(t)
	_, account, role := testenv.Account(t, cfg)
	_, other, _ := testenv.Account(t, cfg)
	refusing := cfg.Copy()
	refusing.BaseEndpoint = aws.String(stsDenying(t))
	for _, tc := range []struct {
		name     string
		cfg      aws.Config
		in       citadel.Integration
		want     string
		sts      bool // the error wraps STS's
		assumeAs string
	}{
		{"STS refuses the role", refusing, citadel.Integration{ID: "int-1", AccountID: account, RoleARN: role, ExternalID: "x"},
			"assume " + role + " with its ExternalId: operation error STS: GetCallerIdentity", true, ""},
		{"the role is of another account", cfg, citadel.Integration{ID: "int-1", AccountID: other, RoleARN: role, ExternalID: "x"},
			"the role's credentials are of account " + account + ", not of the integration's account " + other, false,
			"arn:aws:sts::" + account + ":assumed-role/CitadelScanner/" + verify.SessionName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := verify.Run(context.Background(), tc.cfg, tc.in, []string{"us-east-1"}, verify.Options{Timeout: 10 * time.Second})
			var ae *verify.AssumeError
			if !errors.As(err, &ae) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want an *AssumeError containing %q", err, tc.want)
			}
			var api smithy.APIError
			if got := errors.As(err, &api) && api.ErrorCode() == "AccessDenied"; got != tc.sts {
				t.Errorf("wraps STS's AccessDenied: %v, want %v (%v)", got, tc.sts, err)
			}
			if tc.sts && !strings.Contains(err.Error(), "api error AccessDenied: User: arn:aws:sts::123456789012:assumed-role/citadel-api/x is not authorized to perform: sts:AssumeRole (is the scanner role deployed in account "+account+"?)") {
				t.Errorf("err = %v: no hint", err)
			}
			want := verify.Report{IntegrationID: "int-1", AccountID: tc.in.AccountID, RoleARN: role, AssumedAs: tc.assumeAs, Regions: []string{"us-east-1"}}
			if d := cmp.Diff(want, rep); d != "" {
				t.Errorf("report (-want +got):\n%s", d)
			}
		})
	}
}
