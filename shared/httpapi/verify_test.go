package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/inventory"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
	"github.com/citadelsecure/citadel/shared/verify"
)

// verifySummary is what the verify tests compare of an answer; the scopes
// are checked on their own.
type verifySummary struct {
	IntegrationID, AccountID, RoleARN, AssumedAs string
	Assumed                                      bool
	Regions                                      []string
	Denied                                       int
}

func summarize(v VerifyResult) verifySummary {
	return verifySummary{v.IntegrationID, v.AccountID, v.RoleARN, v.AssumedAs, v.Assumed, v.Regions, v.Denied}
}

// scopeOf finds a scope of an answer.
func scopeOf(v VerifyResult, resourceType, region string) (verify.ScopeAccess, bool) {
	for _, s := range v.Services {
		for _, sc := range s.Scopes {
			if sc.ResourceType == resourceType && sc.Region == region {
				return sc, true
			}
		}
	}
	return verify.ScopeAccess{}, false
}

// POST /integrations/{id}/verify over moto, with every inventory collector:
// a role moto assumes (into a fresh account with a bucket), Citadel's own
// account without a role, the regions asked for or the defaults, and every
// refusal a 4xx naming its reason.
func TestVerifyIntegration(t *testing.T) {
	f := newFixture(t)
	f.putFrameworks("cis_2.0")
	cfg := testenv.Config(t)
	acct, account, role := testenv.Account(t, cfg)
	if _, err := s3.NewFromConfig(acct, awsx.S3Options).CreateBucket(context.Background(),
		&s3.CreateBucketInput{Bucket: aws.String(testenv.Name(t, "citadel-verify"))}); err != nil {
		t.Fatal(err)
	}
	scanned := f.createIntegration(fmt.Sprintf(`{"name":"scanned","account_id":%q,"role_arn":%q,"external_id":"citadel-test","regions":["us-east-1","eu-west-1"],"frameworks":["cis_2.0"]}`, account, role))
	home := f.createIntegration(`{"name":"home","account_id":"123456789012","frameworks":["cis_2.0"]}`)
	assumed := "arn:aws:sts::" + account + ":assumed-role/CitadelScanner/" + verify.SessionName
	path := func(id string) string { return "/integrations/" + id + "/verify" }
	for _, tc := range []struct {
		name, id, body, ctype string
		status                int
		want                  verifySummary
		buckets               int // the S3 scope's: the account's bucket is in us-east-1
		code, reason          string
	}{
		{name: "a role moto assumes, the region asked for", id: scanned.ID, body: `{"regions":["eu-west-1"]}`, status: http.StatusOK,
			want: verifySummary{scanned.ID, account, role, assumed, true, []string{"eu-west-1"}, 0}},
		{name: "an empty body (no Content-Type): the integration's regions", id: scanned.ID, status: http.StatusOK,
			want: verifySummary{scanned.ID, account, role, assumed, true, []string{"us-east-1", "eu-west-1"}, 0}, buckets: 1},
		{name: "an empty JSON body", id: scanned.ID, ctype: "application/json", status: http.StatusOK,
			want: verifySummary{scanned.ID, account, role, assumed, true, []string{"us-east-1", "eu-west-1"}, 0}, buckets: 1},
		{name: "no regions: the integration's", id: scanned.ID, body: `{"regions":[]}`, status: http.StatusOK,
			want: verifySummary{scanned.ID, account, role, assumed, true, []string{"us-east-1", "eu-west-1"}, 0}, buckets: 1},
		{name: "Citadel's own account without a role: the deployment's region", id: home.ID, body: `{}`, status: http.StatusOK,
			want: verifySummary{home.ID, "123456789012", "", "arn:aws:sts::123456789012:user/moto", true, []string{"us-east-1"}, 0}},
		{name: "own account, any region of its partition", id: home.ID, body: `{"regions":["ap-south-1"]}`, status: http.StatusOK,
			want: verifySummary{home.ID, "123456789012", "", "arn:aws:sts::123456789012:user/moto", true, []string{"ap-south-1"}, 0}},

		{name: "unknown integration", id: "int-nope", status: http.StatusNotFound, code: "not_found", reason: "integration int-nope not found"},
		{name: "unknown integration, bad body", id: "int-nope", body: `{"regions":"us-east-1"}`, status: http.StatusBadRequest, code: "invalid", reason: "regions"},
		{name: "malformed id", id: "int%20x", status: http.StatusBadRequest, code: "invalid", reason: `parameter "id"`},
		{name: "malformed JSON", id: scanned.ID, body: `{"regions":`, status: http.StatusBadRequest, code: "invalid", reason: "request body"},
		{name: "unknown field", id: scanned.ID, body: `{"region":"us-east-1"}`, status: http.StatusBadRequest, code: "invalid", reason: `"region"`},
		{name: "regions not a list", id: scanned.ID, body: `{"regions":"us-east-1"}`, status: http.StatusBadRequest, code: "invalid", reason: "regions"},
		{name: "not a region name", id: scanned.ID, body: `{"regions":["mars-1"]}`, status: http.StatusBadRequest, code: "invalid", reason: "regions.0"},
		{name: "a region AWS lacks", id: home.ID, body: `{"regions":["us-east-9"]}`, status: http.StatusBadRequest, code: "invalid",
			reason: `regions: "us-east-9" is not an AWS region name`},
		{name: "not one of the integration's", id: scanned.ID, body: `{"regions":["ap-south-1"]}`, status: http.StatusBadRequest, code: "invalid",
			reason: "regions: ap-south-1 is not one of integration " + scanned.ID + "'s regions (us-east-1, eu-west-1)"},
		{name: "another partition", id: home.ID, body: `{"regions":["cn-north-1"]}`, status: http.StatusBadRequest, code: "invalid",
			reason: "regions: cn-north-1 is in partition aws-cn, not in integration " + home.ID + "'s partition aws"},
		{name: "repeated", id: scanned.ID, body: `{"regions":["us-east-1","us-east-1"]}`, status: http.StatusBadRequest, code: "invalid",
			reason: "regions: us-east-1 is named twice"},
		{name: "too many", id: scanned.ID, body: `{"regions":[` + strings.Repeat(`"us-east-1",`, 64) + `"us-east-1"]}`, status: http.StatusBadRequest, code: "invalid", reason: "regions"},
		{name: "not JSON", id: scanned.ID, body: `regions=us-east-1`, ctype: "text/plain", status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", reason: "application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var header []string
			if tc.ctype != "" {
				header = []string{"Content-Type", tc.ctype}
			}
			rec := f.do("POST", path(tc.id), tc.body, header...)
			expect(t, rec, tc.status, tc.code, tc.reason)
			if tc.status != http.StatusOK {
				return
			}
			got := decodeBody[VerifyResult](t, rec)
			if d := cmp.Diff(tc.want, summarize(got)); d != "" {
				t.Errorf("verify (-want +got):\n%s", d)
			}
			if got.AssumeError != "" || len(got.Services) == 0 {
				t.Errorf("assume_error %q, %d services", got.AssumeError, len(got.Services))
			}
			for _, s := range got.Services {
				for _, sc := range s.Scopes {
					if !sc.OK {
						t.Errorf("%s in %s: %s %s", sc.ResourceType, sc.Region, sc.Code, sc.Error)
					}
				}
			}
			if tc.id == scanned.ID {
				if sc, ok := scopeOf(got, inventory.TypeS3Bucket, inventory.GlobalRegion); !ok || sc.Resources != tc.buckets {
					t.Errorf("the account's buckets: %+v (found %v), want %d", sc, ok, tc.buckets)
				}
			}
		})
	}
}

// stsRefusing is an STS endpoint that refuses every call as AWS does.
func stsRefusing(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code>`+
			`<Message>User: arn:aws:sts::123456789012:assumed-role/citadel-api/x is not authorized to perform: sts:AssumeRole</Message></Error>`+
			`<RequestId>req-1</RequestId></ErrorResponse>`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// hanging is a collector that never answers before its context ends.
type hanging struct{ typ string }

func (h hanging) ResourceType() string { return h.typ }
func (h hanging) Service() string      { return strings.Split(h.typ, ":")[0] }
func (h hanging) Global() bool         { return false }
func (h hanging) Collect(ctx context.Context, _ inventory.Env, _ []string) (inventory.Batch, error) {
	<-ctx.Done()
	return inventory.Batch{}, fmt.Errorf("list %s: %w", h.typ, ctx.Err())
}

// A role that cannot be assumed, and scopes that outlast the bound, are
// both 200 answers that say so: the request was fine.
func TestVerifyIntegrationReportsTheTargetsProblems(t *testing.T) {
	cfg := testenv.Config(t)
	refusing := cfg.Copy()
	refusing.BaseEndpoint = aws.String(stsRefusing(t))
	buckets, _ := inventory.Default().Lookup(inventory.TypeS3Bucket)
	for _, tc := range []struct {
		name       string
		deps       func(*Deps)
		want       VerifyResult
		wantAssume string
		maxTaken   time.Duration
	}{
		{
			name: "the role cannot be assumed",
			deps: func(d *Deps) { d.Verify = &verify.Verifier{Config: refusing} },
			want: VerifyResult{Report: verify.Report{AccountID: "123456789012", RoleARN: "arn:aws:iam::123456789012:role/CitadelScanner",
				Regions: []string{"us-east-1", "eu-west-1"}, Services: []verify.ServiceAccess{}}},
			wantAssume: "assume arn:aws:iam::123456789012:role/CitadelScanner with its ExternalId: operation error STS: GetCallerIdentity, " +
				"get identity: get credentials: failed to refresh cached credentials, operation error STS: AssumeRole, https response error StatusCode: 403, " +
				"RequestID: , api error AccessDenied: User: arn:aws:sts::123456789012:assumed-role/citadel-api/x is not authorized to perform: sts:AssumeRole " +
				"(is the scanner role deployed in account 123456789012?)",
		},
		{
			name: "scopes that did not finish in time",
			deps: func(d *Deps) {
				d.Verify = &verify.Verifier{Config: cfg, Registry: inventory.Registry{buckets, hanging{"ecs:cluster"}}}
				d.VerifyTimeout = 2 * time.Second
			},
			want: VerifyResult{Assumed: true, Report: verify.Report{AccountID: "123456789012", RoleARN: "arn:aws:iam::123456789012:role/CitadelScanner",
				AssumedAs: "arn:aws:sts::123456789012:assumed-role/CitadelScanner/" + verify.SessionName,
				Regions:   []string{"us-east-1", "eu-west-1"}, Denied: 2, Services: []verify.ServiceAccess{
					{Service: "ecs", Scopes: []verify.ScopeAccess{
						{ResourceType: "ecs:cluster", Region: "eu-west-1", Code: "Timeout", Error: "did not finish within the verify's 2s"},
						{ResourceType: "ecs:cluster", Region: "us-east-1", Code: "Timeout", Error: "did not finish within the verify's 2s"},
					}},
					{Service: "s3", Scopes: []verify.ScopeAccess{{ResourceType: inventory.TypeS3Bucket, Region: inventory.GlobalRegion, OK: true}}},
				}}},
			maxTaken: 10 * time.Second,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.deps)
			f.putFrameworks("cis_2.0")
			in := f.createIntegration(validIntegration)
			start := time.Now()
			rec := f.do("POST", "/integrations/"+in.ID+"/verify", "")
			expect(t, rec, http.StatusOK, "", "")
			got := decodeBody[VerifyResult](t, rec)
			// The buckets of the shared account are other tests'.
			for _, s := range got.Services {
				for i := range s.Scopes {
					s.Scopes[i].Resources = 0
				}
			}
			tc.want.IntegrationID, tc.want.AssumeError = in.ID, tc.wantAssume
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("verify (-want +got):\n%s", d)
			}
			if tc.maxTaken > 0 && time.Since(start) > tc.maxTaken {
				t.Errorf("took %s, want at most %s", time.Since(start), tc.maxTaken)
			}
		})
	}
}

// Without a Verifier the route is a server error, logged, never a crash.
func TestVerifyWithoutAVerifier(t *testing.T) {
	f := newFixture(t, func(d *Deps) { d.Verify = nil })
	f.putFrameworks("cis_2.0")
	in := f.createIntegration(validIntegration)
	expect(t, f.do("POST", "/integrations/"+in.ID+"/verify", ""), http.StatusInternalServerError, "internal", "internal error")
	if !strings.Contains(f.logs.String(), "the API was built without a Verifier") {
		t.Errorf("logs: %s", f.logs.String())
	}
}
