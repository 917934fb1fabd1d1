package assetsync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/inventory"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/assetsync"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// TestRecheck: after a full sync, each re-check writes only its resources:
// a changed bucket among several is the one update, a deleted bucket the
// one deactivation (another deleted bucket it does not name stays active),
// an instance's re-check leaves every bucket as it was.
func TestRecheck(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	acct, account, role := testenv.Account(t, cfg)
	store := testenv.Store(t)
	objects, scanBucket := testenv.Bucket(t, cfg)
	now := t0
	h := &assetsync.Handler{Store: store, AWS: cfg, Objects: objects, Env: stepfn.Env{Clock: func() time.Time { return now }}}

	ecfg := acct.Copy()
	ecfg.Region = east
	s3c := s3.NewFromConfig(ecfg, func(o *s3.Options) { o.UsePathStyle = true })
	buckets := map[string]string{}
	for _, b := range []string{"rc-a", "rc-b", "rc-c"} {
		name := b + "-" + account[6:]
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		buckets[b] = name
	}
	ec := ec2.NewFromConfig(ecfg)
	imgs, err := ec.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	if err != nil || len(imgs.Images) == 0 {
		t.Fatalf("no AMI: %v", err)
	}
	run, err := ec.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: imgs.Images[0].ImageId, InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	instanceID := aws.ToString(run.Instances[0].InstanceId)
	instance := inventory.EC2ARN(east, account, "instance", instanceID)
	bucketARN := func(b string) string { return inventory.S3BucketARN("aws", buckets[b]) }

	plan := citadel.PlanOutput{ScanID: "scan-full", IntegrationID: "int-1", AccountID: account, RoleARN: role,
		ExternalID: "citadel-test", Regions: []string{east, west}, Bucket: scanBucket}
	if _, err := h.Handle(ctx, citadel.AssetSyncInput{Plan: plan}); err != nil {
		t.Fatal(err)
	}
	states := func() map[string]ddb.AssetState {
		t.Helper()
		ss, err := store.AssetStates(ctx, "int-1")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]ddb.AssetState{}
		for _, s := range ss {
			m[s.ARN] = s
		}
		return m
	}
	if _, ok := states()[bucketARN("rc-b")]; !ok {
		t.Fatalf("the full sync did not store bucket %s", bucketARN("rc-b"))
	}

	cases := []struct {
		name    string
		change  func(t *testing.T)
		arns    []string
		want    citadel.AssetSyncOutput // counts
		changed []string                // the only stored assets that differ afterwards
	}{
		{name: "a bucket changed among several", arns: []string{bucketARN("rc-b")},
			change: func(t *testing.T) {
				_, err := s3c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(buckets["rc-b"]),
					Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("team"), Value: aws.String("data")}}}})
				if err != nil {
					t.Fatal(err)
				}
			},
			want: citadel.AssetSyncOutput{AssetsUpdated: 1}, changed: []string{bucketARN("rc-b")}},
		{name: "a deleted bucket, and one deleted that it does not name", arns: []string{bucketARN("rc-c")},
			change: func(t *testing.T) {
				for _, b := range []string{"rc-a", "rc-c"} {
					if _, err := s3c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(buckets[b])}); err != nil {
						t.Fatal(err)
					}
				}
			},
			want: citadel.AssetSyncOutput{AssetsDeactivated: 1}, changed: []string{bucketARN("rc-c")}},
		{name: "an instance's re-check touches no bucket", arns: []string{instance},
			change: func(t *testing.T) {
				_, err := ec.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{instanceID}, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("web")}}})
				if err != nil {
					t.Fatal(err)
				}
			},
			want: citadel.AssetSyncOutput{AssetsUpdated: 1}, changed: []string{instance}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now = now.Add(time.Hour)
			before := states()
			tc.change(t)
			scanID := "scan-rc" + string(rune('1'+i))
			f := citadel.RecheckFile{IntegrationID: "int-1", ARNs: tc.arns, Services: citadel.RecheckServices(tc.arns), Events: 1, FirstEventAt: now, LastEventAt: now}
			key := citadel.ScanObjectKey(scanID, citadel.RecheckFileName)
			b, _ := json.Marshal(f)
			if _, err := objects.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(scanBucket), Key: aws.String(key), Body: bytes.NewReader(b)}); err != nil {
				t.Fatal(err)
			}
			rc := f.Recheck(key)
			p := plan
			p.ScanID, p.Recheck, p.StartedAt = scanID, &rc, now
			out, err := h.Handle(ctx, citadel.AssetSyncInput{Plan: p})
			if err != nil {
				t.Fatal(err)
			}
			if out.FanOut != nil {
				t.Fatal("a re-check fanned out")
			}
			got := citadel.AssetSyncOutput{AssetsCreated: out.AssetsCreated, AssetsUpdated: out.AssetsUpdated, AssetsDeactivated: out.AssetsDeactivated}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("counts (-want +got):\n%s", d)
			}
			after := states()
			var changed []string
			for arn, s := range after {
				if before[arn] != s {
					changed = append(changed, arn)
				}
			}
			for arn := range before {
				if _, ok := after[arn]; !ok {
					changed = append(changed, arn)
				}
			}
			slices.Sort(changed)
			if d := cmp.Diff(tc.changed, changed); d != "" {
				t.Errorf("stored assets changed (-want +got):\n%s", d)
			}
		})
	}
	if s := states()[bucketARN("rc-a")]; !s.IsActive {
		t.Error("a deleted bucket no re-check named was deactivated")
	}
}
