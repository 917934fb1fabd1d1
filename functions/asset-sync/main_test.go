package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/lambdatest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// The built bootstrap, under the Lambda Runtime Interface Emulator, collects
// the inventory of the sample event's account. The event's account id and
// role are rewritten to a fresh account of the local AWS server, which holds
// two buckets beside moto's default network; its other ids are kept as they are.
func TestBootstrapUnderEmulator(t *testing.T) {
	ctx := context.Background()
	root := testenv.RepoRoot()
	cfg := testenv.Config(t)
	_, table := testenv.Table(t, cfg)
	store := testenv.StoreOn(t, cfg, table)
	acct, account, role := testenv.Account(t, cfg)
	s3c := s3.NewFromConfig(acct, func(o *s3.Options) { o.UsePathStyle = true })
	buckets := map[string]string{testenv.Name(t, "audit-logs"): "us-east-1", testenv.Name(t, "eu-reports"): "eu-west-1"}
	for b, region := range buckets {
		in := &s3.CreateBucketInput{Bucket: aws.String(b)}
		if region != "us-east-1" {
			in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
		}
		if _, err := s3c.CreateBucket(ctx, in, func(o *s3.Options) { o.Region = region }); err != nil {
			t.Fatal(err)
		}
	}

	var in citadel.AssetSyncInput
	if err := json.Unmarshal(lambdatest.Event(t, root, "asset-sync", "scan.json"), &in); err != nil {
		t.Fatal(err)
	}
	in.Plan.AccountID, in.Plan.RoleARN = account, role
	event, _ := json.Marshal(in)

	fn := lambdatest.Start(t, root, lambdatest.Build(t, root, "asset-sync"), map[string]string{citadel.EnvTable: table})
	run := func() citadel.AssetSyncOutput {
		t.Helper()
		resp, err := fn.Invoke(ctx, event)
		if err != nil {
			t.Fatal(err)
		}
		var out citadel.AssetSyncOutput
		if resp.ErrorType != "" || json.Unmarshal(resp.Payload, &out) != nil {
			t.Fatalf("response = %s", resp.Payload)
		}
		return out
	}
	first := run()
	// Fifteen assets (below); each subnet and security group is in its VPC.
	if first.AssetsCreated != 15 || first.TotalAssets != 15 || first.RelationshipsCreated != 11 || first.AssetsUpdated != 0 || first.AssetsDeactivated != 0 || len(first.Errors) != 0 {
		t.Errorf("first sync = %+v", first)
	}
	page, err := store.ListActiveAssets(ctx, in.Plan.IntegrationID, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, a := range page.Items {
		types[a.ServiceType+"@"+a.Region]++
	}
	// moto's default network in each region: a VPC, its subnets (one per
	// zone) and its default security group.
	want := map[string]int{"s3:bucket@us-east-1": 1, "s3:bucket@eu-west-1": 1,
		"ec2:vpc@us-east-1": 1, "ec2:subnet@us-east-1": 6, "ec2:security-group@us-east-1": 1,
		"ec2:vpc@eu-west-1": 1, "ec2:subnet@eu-west-1": 3, "ec2:security-group@eu-west-1": 1}
	if d := cmp.Diff(want, types); d != "" {
		t.Errorf("active assets by type (-want +got):\n%s", d)
	}
	for b := range buckets {
		a, err := store.GetAsset(ctx, in.Plan.IntegrationID, "arn:aws:s3:::"+b)
		if err != nil || !a.IsActive || a.Region != buckets[b] {
			t.Errorf("bucket %s: %+v, %v", b, a, err)
		}
	}
	// The same event again is Step Functions retrying the step: the scan's
	// own assets count as it counted them, and no asset is written again.
	if again := run(); again.AssetsCreated != 15 || again.AssetsDeactivated != 0 || again.TotalAssets != 15 || len(again.Errors) != 0 ||
		again.Usage.WriteUnits >= first.Usage.WriteUnits/2 {
		t.Errorf("retried sync = %+v (first wrote %.0f units)", again, first.Usage.WriteUnits)
	}
	// The next scan of the unchanged account creates nothing.
	in.Plan.ScanID, in.Plan.StartedAt = in.Plan.ScanID+"-next", time.Now().UTC()
	event, _ = json.Marshal(in)
	if next := run(); next.AssetsCreated != 0 || next.AssetsUpdated != 0 || next.AssetsDeactivated != 0 || next.TotalAssets != 15 || next.RelationshipsCreated != 0 || len(next.Errors) != 0 {
		t.Errorf("next scan's sync = %+v", next)
	}

	// The sample event without an account id is refused with the domain error's message.
	resp, err := fn.Invoke(ctx, lambdatest.Event(t, root, "asset-sync", "no-account.json"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorType == "" || strings.HasPrefix(resp.ErrorType, "Runtime.") || !strings.Contains(resp.ErrorMsg, "has no account id") {
		t.Errorf("no-account.json: got %s, want a function error", resp.Payload)
	}
}
