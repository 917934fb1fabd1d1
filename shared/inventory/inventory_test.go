package inventory_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/inventory"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func TestRawDataDropsVolatileFieldsAndStaysBounded(t *testing.T) {
	small := inventory.RawData(map[string]any{"Name": "t", "ItemCount": 7, "Unset": nil}, "ItemCount")
	if d := cmp.Diff(`{"Name":"t"}`, string(small)); d != "" {
		t.Errorf("small (-want +got):\n%s", d)
	}
	big := map[string]any{
		"Id":     "x",
		"Policy": strings.Repeat("p", citadel.MaxRawSourceData), // alone over the bound
		"Rules":  strings.Repeat("r", 1000),
	}
	got := inventory.RawData(big)
	if len(got) > citadel.MaxRawSourceData {
		t.Fatalf("raw data is %d bytes, over %d", len(got), citadel.MaxRawSourceData)
	}
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatalf("bounded raw data is not JSON: %v", err)
	}
	want := map[string]any{"Id": "x", "Rules": strings.Repeat("r", 1000), "_truncated": []any{"Policy"}}
	if d := cmp.Diff(want, m); d != "" {
		t.Errorf("bounded (-want +got):\n%s", d)
	}
	if raw := inventory.RawData(strings.Repeat("s", citadel.MaxRawSourceData+10)); len(raw) > citadel.MaxRawSourceData || !json.Valid(raw) {
		t.Errorf("a large scalar: %d bytes, valid=%v", len(raw), json.Valid(raw))
	}
}

// stub is a collector for Run's own logic (no AWS API is imitated: it
// returns assets or errors directly).
type stub struct {
	typ    string
	global bool
	run    func(ctx context.Context, env inventory.Env) (inventory.Batch, error)
}

func (s stub) ResourceType() string { return s.typ }
func (s stub) Service() string      { return strings.Split(s.typ, ":")[0] }
func (s stub) Global() bool         { return s.global }
func (s stub) Collect(ctx context.Context, env inventory.Env, _ []string) (inventory.Batch, error) {
	return s.run(ctx, env)
}

func TestRunReportsEachScopeOnItsOwn(t *testing.T) {
	var calls atomic.Int32
	ok := stub{typ: "ec2:instance", run: func(_ context.Context, env inventory.Env) (inventory.Batch, error) {
		calls.Add(1)
		if env.Region == "eu-west-1" {
			return inventory.Batch{}, &smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: "denied"}
		}
		return inventory.Batch{Assets: []citadel.Asset{{SourceID: inventory.EC2ARN(env.Region, env.AccountID, "instance", "i-1")}}}, nil
	}}
	global := stub{typ: "iam:role", global: true, run: func(_ context.Context, env inventory.Env) (inventory.Batch, error) {
		calls.Add(1)
		if env.Region != "us-east-1" || env.Config.Region != "us-east-1" || env.Partition != "aws" {
			t.Errorf("global collector called in %s / %s", env.Region, env.Config.Region)
		}
		return inventory.Batch{}, nil
	}}
	slow := stub{typ: "rds:db", run: func(ctx context.Context, _ inventory.Env) (inventory.Batch, error) {
		<-ctx.Done()
		return inventory.Batch{}, ctx.Err()
	}}
	panics := stub{typ: "kms:key", global: true, run: func(context.Context, inventory.Env) (inventory.Batch, error) {
		panic("boom")
	}}
	res := inventory.Run(context.Background(), aws.Config{Region: "us-east-1"}, "123456789012", []string{"eu-west-1", "us-east-1"},
		inventory.Registry{ok, global, slow, panics}, inventory.Options{Timeout: 50 * time.Millisecond})
	if calls.Load() != 3 {
		t.Errorf("collector calls: %d, want 3 (2 regions + 1 global)", calls.Load())
	}
	var scopes []string
	for _, r := range res {
		scopes = append(scopes, r.ResourceType+"@"+r.Region)
	}
	wantScopes := []string{"ec2:instance@eu-west-1", "ec2:instance@us-east-1", "iam:role@global", "kms:key@global", "rds:db@eu-west-1", "rds:db@us-east-1"}
	if d := cmp.Diff(wantScopes, scopes); d != "" {
		t.Errorf("scopes (-want +got):\n%s", d)
	}
	errs := inventory.Errors(res)
	for i := range errs {
		if errs[i].Message == "" {
			t.Errorf("error %d has no message", i)
		}
		errs[i].Message = ""
	}
	wantErrs := []citadel.CollectorError{
		{ResourceType: "ec2:instance", Service: "ec2", Region: "eu-west-1", Code: "UnauthorizedOperation"},
		{ResourceType: "kms:key", Service: "kms", Region: "global", Code: "Error"},
		{ResourceType: "rds:db", Service: "rds", Region: "eu-west-1", Code: "Timeout"},
		{ResourceType: "rds:db", Service: "rds", Region: "us-east-1", Code: "Timeout"},
	}
	if d := cmp.Diff(wantErrs, errs); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
	if got := len(res[1].Batch.Assets); got != 1 {
		t.Errorf("us-east-1 instances: %d, want 1", got)
	}
}

func TestErrorCode(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&smithy.GenericAPIError{Code: "AccessDenied"}, "AccessDenied"},
		{errors.Join(errors.New("list"), &smithy.GenericAPIError{Code: "OptInRequired"}), "OptInRequired"},
		{&inventory.TimeoutError{After: time.Second, Err: context.DeadlineExceeded}, "Timeout"},
		{context.DeadlineExceeded, "Timeout"},
		{errors.New("connection reset"), "Error"},
	}
	for _, tc := range tests {
		if got := inventory.ErrorCode(tc.err); got != tc.want {
			t.Errorf("ErrorCode(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestDefaultRegistryHasEveryType(t *testing.T) {
	reg := inventory.Default()
	seen := map[string]bool{}
	for _, c := range reg {
		if seen[c.ResourceType()] {
			t.Errorf("%s registered twice", c.ResourceType())
		}
		seen[c.ResourceType()] = true
		if !strings.HasPrefix(c.ResourceType(), c.Service()+":") {
			t.Errorf("%s: service %q is not its prefix", c.ResourceType(), c.Service())
		}
	}
	if len(reg) < 20 {
		t.Errorf("%d collectors, want at least 20", len(reg))
	}
	if c, ok := reg.Lookup(inventory.TypeS3Bucket); !ok || !c.Global() || inventory.ScopeRegion(c, "eu-west-1") != inventory.GlobalRegion {
		t.Errorf("s3 bucket collector: %v %v", c, ok)
	}
	if c, ok := reg.Lookup(inventory.TypeEC2Instance); !ok || c.Global() || inventory.ScopeRegion(c, "eu-west-1") != "eu-west-1" {
		t.Errorf("ec2 instance collector: %v %v", c, ok)
	}
}

func TestEnabledRegions(t *testing.T) {
	cfg := testenv.Config(t)
	regions, err := inventory.EnabledRegions(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(regions) || !slices.Contains(regions, "us-east-1") || !slices.Contains(regions, "eu-west-1") || len(regions) < 10 {
		t.Errorf("enabled regions: %v", regions)
	}
}
