package main

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/steps/prowler"
)

// missingChecks is a bucket where every shard's checks file is missing.
type missingChecks struct{ *s3.Client }

func (missingChecks) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "NoSuchKey", Message: "The specified key does not exist."}
}

// TestRunShardsLocally: the runner's prowler step runs every shard of the
// plan and, as the state machine's Map, turns a failed shard into its
// outcome (States.TaskFailed, the task's one-line reason) instead of
// failing the step; a plan without shards is refused.
func TestRunShardsLocally(t *testing.T) {
	r := &runner{}
	scanner := &prowler.Scanner{S3: missingChecks{}, Prowler: &prowler.Prowler{Bin: "/nonexistent/prowler"}}
	plan := citadel.PlanOutput{ScanID: "scan-1", Bucket: "b", Shards: []citadel.Shard{
		{ID: "s01", RegionsArg: "us-east-1", ChecksKey: "scans/scan-1/shards/s01/checks.json"},
		{ID: "s02", RegionsArg: "eu-west-1", ChecksKey: "scans/scan-1/shards/s02/checks.json"}}}
	out, err := r.runShards(context.Background(), scanner, ProwlerInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	cause := func(id string) string {
		return "prowler task failed (not_found): checks file s3://b/scans/scan-1/shards/" + id + "/checks.json not found (NoSuchKey)"
	}
	want := []citadel.ShardOutcome{{ShardID: "s01", Error: citadel.ShardTaskFailed, Cause: cause("s01")},
		{ShardID: "s02", Error: citadel.ShardTaskFailed, Cause: cause("s02")}}
	if d := cmp.Diff(want, out); d != "" {
		t.Errorf("outcomes (-want +got):\n%s", d)
	}
	if _, err := r.runShards(context.Background(), scanner, ProwlerInput{Plan: citadel.PlanOutput{ScanID: "scan-1"}}); !citadel.IsInvalid(err) {
		t.Errorf("a plan without shards: %v, want invalid", err)
	}
}
