package assetsync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/inventory"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/assetsync"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

type fixture struct {
	store   *ddb.Store
	handler *assetsync.Handler
	acct    aws.Config
	account string
	role    string
	estate  estate
	now     time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	cfg := testenv.Config(t)
	acct, account, role := testenv.Account(t, cfg)
	f := &fixture{store: testenv.Store(t), acct: acct, account: account, role: role, now: t0}
	f.estate = buildEstate(t, acct, account)
	f.handler = &assetsync.Handler{Store: f.store, AWS: cfg, Env: stepfn.Env{Clock: func() time.Time { return f.now }}}
	return f
}

func (f *fixture) plan() citadel.PlanOutput {
	return citadel.PlanOutput{ScanID: "scan-1", IntegrationID: "int-1", AccountID: f.account, RoleARN: f.role,
		ExternalID: "citadel-test", Regions: []string{east, west}}
}

func (f *fixture) sync(t *testing.T) citadel.AssetSyncOutput {
	t.Helper()
	out, err := f.handler.Handle(context.Background(), citadel.AssetSyncInput{Plan: f.plan()})
	if err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Hour)
	return out
}

func (f *fixture) activeByType(t *testing.T) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	cursor := ""
	for {
		p, err := f.store.ListActiveAssets(context.Background(), "int-1", 1000, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range p.Items {
			got[a.ServiceType] = append(got[a.ServiceType], a.SourceID)
		}
		if p.Next == "" {
			return got
		}
		cursor = p.Next
	}
}

// wantCounts is the estate by type: the fixture's resources plus what moto
// creates in every account and region (a default VPC with a default
// security group and a subnet per zone: 6 in us-east-1, 3 in eu-west-1;
// every VPC's default security group; a root volume per instance).
var wantCounts = map[string]int{
	inventory.TypeCloudTrail: 1, inventory.TypeDynamoDBTable: 2, inventory.TypeEC2Instance: 3,
	inventory.TypeInternetGateway: 2, inventory.TypeSecurityGroup: 6, inventory.TypeSubnet: 13,
	inventory.TypeEBSVolume: 4, inventory.TypeVPC: 4, inventory.TypeECSCluster: 1,
	inventory.TypeLoadBalancer: 1, inventory.TypeIAMGroup: 1, inventory.TypeIAMPolicy: 1,
	inventory.TypeIAMRole: 2, inventory.TypeIAMUser: 1, inventory.TypeKMSKey: 2,
	inventory.TypeLambdaFunction: 1, inventory.TypeLogGroup: 1, inventory.TypeRDSInstance: 1,
	inventory.TypeS3Bucket: 2, inventory.TypeSecret: 1, inventory.TypeSNSTopic: 1, inventory.TypeSQSQueue: 2,
}

const (
	wantAssets = 53
	wantEdges  = 63
)

func counts(byType map[string][]string) map[string]int {
	out := map[string]int{}
	for k, v := range byType {
		out[k] = len(v)
	}
	return out
}

// wantEdgesFrom are the edges of the fixture's own resources.
func (e estate) wantEdgesFrom() map[string][]citadel.AssetRelationship {
	m := map[string][]citadel.AssetRelationship{}
	add := func(from string, kind citadel.RelationshipKind, to ...string) {
		for _, t := range to {
			m[from] = append(m[from], citadel.AssetRelationship{IntegrationID: "int-1", FromARN: from, ToARN: t, Kind: kind})
		}
	}
	for _, in := range []struct{ arn, subnet string }{{e.web1, e.subnetA}, {e.web2, e.subnetB}} {
		add(in.arn, citadel.RelInstanceInVPC, e.vpc)
		add(in.arn, citadel.RelInstanceInSubnet, in.subnet)
		add(in.arn, citadel.RelInstanceSecurityGroup, e.sg)
		add(in.arn, citadel.RelInstanceRole, e.appRole)
	}
	add(e.instanceEU, citadel.RelInstanceInVPC, e.vpcEU)
	add(e.instanceEU, citadel.RelInstanceInSubnet, e.subnetEU)
	add(e.instanceEU, citadel.RelInstanceSecurityGroup, e.sgEU)
	add(e.dataVolume, citadel.RelVolumeAttached, e.web1)
	add(e.dataVolume, citadel.RelEncryptedBy, e.key)
	add(e.subnetA, citadel.RelSubnetInVPC, e.vpc)
	add(e.subnetB, citadel.RelSubnetInVPC, e.vpc)
	add(e.sg, citadel.RelSecurityGroupInVPC, e.vpc)
	add(e.igw, citadel.RelInternetGatewayVPC, e.vpc)
	add(e.function, citadel.RelFunctionRole, e.lambdaRole)
	add(e.function, citadel.RelFunctionVPC, e.vpc)
	add(e.function, citadel.RelFunctionSubnet, e.subnetA)
	add(e.function, citadel.RelFunctionSecurityGroup, e.sg)
	add(e.function, citadel.RelEncryptedBy, e.key)
	add(e.db, citadel.RelDBInVPC, e.vpc)
	add(e.db, citadel.RelDBSecurityGroup, e.sg)
	add(e.db, citadel.RelEncryptedBy, e.key)
	add(e.table, citadel.RelEncryptedBy, e.key)
	add(e.tableEU, citadel.RelEncryptedBy, e.keyEU)
	add(e.logsBucket, citadel.RelEncryptedBy, e.key)
	add(e.dataBucket, citadel.RelEncryptedBy, e.keyEU)
	add(e.trail, citadel.RelTrailBucket, e.logsBucket)
	add(e.trail, citadel.RelEncryptedBy, e.key)
	add(e.lb, citadel.RelLoadBalancerVPC, e.vpc)
	add(e.lb, citadel.RelLoadBalancerSubnet, e.subnetA, e.subnetB)
	add(e.lb, citadel.RelLoadBalancerSecGroup, e.sg)
	add(e.alice, citadel.RelUserInGroup, e.devs)
	add(e.appPolicy, citadel.RelPolicyAttached, e.devs, e.appRole)
	for _, a := range []string{e.topic, e.queue, e.secret, e.logGroup} {
		add(a, citadel.RelEncryptedBy, e.key)
	}
	add(e.queueEU, citadel.RelEncryptedBy, e.keyEU)
	for _, v := range m {
		sort.Slice(v, func(i, j int) bool {
			if v[i].Kind != v[j].Kind {
				return v[i].Kind < v[j].Kind
			}
			return v[i].ToARN < v[j].ToARN
		})
	}
	return m
}

func (f *fixture) checkEdges(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for from, want := range f.estate.wantEdgesFrom() {
		got, err := f.store.RelationshipsFrom(ctx, "int-1", from)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("edges from %s (-want +got):\n%s", from, d)
		}
	}
	to, err := f.store.RelationshipsTo(ctx, "int-1", f.estate.key)
	if err != nil {
		t.Fatal(err)
	}
	if len(to) != 10 { // volume, function, db, table, bucket, trail, topic, queue, secret, log group
		t.Errorf("edges to the app key: %d, want 10: %v", len(to), to)
	}
}

func TestSyncEstateThenRescanThenDeleteABucket(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)

	// First sync: everything is new.
	out := f.sync(t)
	want := citadel.AssetSyncOutput{AssetsCreated: wantAssets, TotalAssets: wantAssets, RelationshipsCreated: wantEdges, Errors: []citadel.CollectorError{}}
	if d := cmp.Diff(want, out, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Usage" }, cmp.Ignore())); d != "" {
		t.Errorf("first sync (-want +got):\n%s", d)
	}
	byType := f.activeByType(t)
	if d := cmp.Diff(wantCounts, counts(byType)); d != "" {
		t.Errorf("active assets by type (-want +got):\n%s", d)
	}
	if len(wantCounts) < 20 {
		t.Errorf("only %d resource types", len(wantCounts))
	}
	f.checkEdges(t)
	rels, err := f.store.ListRelationships(ctx, "int-1")
	if err != nil || len(rels) != wantEdges {
		t.Fatalf("stored edges: %d, %v; want %d", len(rels), err, wantEdges)
	}
	web1, err := f.store.GetAsset(ctx, "int-1", f.estate.web1)
	if err != nil {
		t.Fatal(err)
	}
	if web1.Name != "web-1" || web1.Region != east || web1.AccountID != f.account || web1.Source != "aws" ||
		!web1.IsActive || !web1.FirstSeen.Equal(t0) || len(web1.RawSourceData) == 0 || web1.Tags["Name"] != "web-1" {
		t.Errorf("web-1 asset: %+v", web1)
	}
	bucket, _ := f.store.GetAsset(ctx, "int-1", f.estate.logsBucket)
	if bucket.Name != "audit logs" || bucket.Region != east || bucket.ServiceType != inventory.TypeS3Bucket {
		t.Errorf("logs bucket asset: %+v", bucket)
	}

	for arn, want := range map[string]map[string]string{
		f.estate.trail:     {"team": "security"},
		f.estate.logGroup:  {"team": "web"},
		f.estate.appPolicy: {"team": "platform"},
		f.estate.function:  {"team": "api"},
	} {
		a, err := f.store.GetAsset(ctx, "int-1", arn)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, a.Tags); d != "" {
			t.Errorf("tags of %s (-want +got):\n%s", arn, d)
		}
	}

	// Second sync, nothing changed: nothing created, updated or rewritten.
	out2 := f.sync(t)
	want2 := citadel.AssetSyncOutput{TotalAssets: wantAssets, Errors: []citadel.CollectorError{}}
	if d := cmp.Diff(want2, out2, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Usage" }, cmp.Ignore())); d != "" {
		t.Errorf("rescan (-want +got):\n%s", d)
	}
	cov, err := f.store.ListCoverage(ctx, "int-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(cov) != 26 { // 12 regional services x 2 regions + s3 + iam
		t.Errorf("coverage scopes: %d, want 26", len(cov))
	}
	// The rescan writes only the coverage items, one unit each.
	if out2.Usage.WriteUnits != float64(len(cov)) {
		t.Errorf("rescan wrote %.0f units, want %d (coverage only); first sync wrote %.0f", out2.Usage.WriteUnits, len(cov), out.Usage.WriteUnits)
	}
	web1b, _ := f.store.GetAsset(ctx, "int-1", f.estate.web1)
	if !web1b.LastSeen.Equal(t0) {
		t.Errorf("unchanged asset was rewritten: last_seen %v", web1b.LastSeen)
	}
	for _, c := range cov {
		if c.Service == "ec2" && c.Region == east {
			if got := ddb.EffectiveLastSeen(web1b, c); !got.Equal(t0.Add(time.Hour)) {
				t.Errorf("effective last_seen of web-1 = %v, want %v", got, t0.Add(time.Hour))
			}
		}
	}

	// Drift: a new tag on one instance rewrites that asset and nothing else.
	ec := ec2.NewFromConfig(inRegion(f.acct, east))
	if _, err := ec.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{lastID(f.estate.web2)},
		Tags: []ec2types.Tag{{Key: aws.String("owner"), Value: aws.String("team-web")}}}); err != nil {
		t.Fatal(err)
	}
	outTag := f.sync(t)
	if outTag.AssetsUpdated != 1 || outTag.AssetsCreated != 0 || outTag.AssetsDeactivated != 0 || outTag.RelationshipsCreated != 0 {
		t.Errorf("after tagging one instance: %+v, want exactly one update", outTag)
	}
	web2, _ := f.store.GetAsset(ctx, "int-1", f.estate.web2)
	if web2.Tags["owner"] != "team-web" || !web2.LastSeen.Equal(t0.Add(2*time.Hour)) || !web2.FirstSeen.Equal(t0) {
		t.Errorf("updated instance: tags %v first_seen %v last_seen %v", web2.Tags, web2.FirstSeen, web2.LastSeen)
	}
	if extra := outTag.Usage.WriteUnits - float64(len(cov)); extra < 2 || extra > 8 {
		t.Errorf("one asset's drift cost %.0f write units beyond the coverage, want one item with its GSI copy", extra)
	}

	// Delete a bucket: exactly one asset goes, with its edge.
	s3c := s3.NewFromConfig(inRegion(f.acct, west), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("data-" + f.account)}); err != nil {
		t.Fatal(err)
	}
	out3 := f.sync(t)
	want3 := citadel.AssetSyncOutput{AssetsDeactivated: 1, TotalAssets: wantAssets - 1, RelationshipsDeleted: 1, Errors: []citadel.CollectorError{}}
	if d := cmp.Diff(want3, out3, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Usage" }, cmp.Ignore())); d != "" {
		t.Errorf("after deleting a bucket (-want +got):\n%s", d)
	}
	gone, err := f.store.GetAsset(ctx, "int-1", f.estate.dataBucket)
	if err != nil {
		t.Fatal(err)
	}
	if gone.IsActive || !gone.LastSeen.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("deleted bucket: active=%v last_seen=%v, want inactive, last seen at the previous sync", gone.IsActive, gone.LastSeen)
	}
	if c := counts(f.activeByType(t)); c[inventory.TypeS3Bucket] != 1 {
		t.Errorf("active buckets: %d, want 1", c[inventory.TypeS3Bucket])
	}
	if rels, _ := f.store.RelationshipsFrom(ctx, "int-1", f.estate.dataBucket); len(rels) != 0 {
		t.Errorf("edges of the deleted bucket remain: %v", rels)
	}
}

// failing wraps a collector so that it fails the way AWS denies a call.
type failing struct {
	inventory.Collector
	err error
}

func (f failing) Collect(ctx context.Context, env inventory.Env, regions []string) (inventory.Batch, error) {
	if f.err == nil {
		<-ctx.Done() // hangs until the scope's timeout
		return inventory.Batch{}, ctx.Err()
	}
	return inventory.Batch{}, f.err
}

func TestFailingCollectorsDeactivateNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.sync(t)

	// The estate shrinks, but the S3 and IAM role collectors are denied and
	// the EBS volume collector times out: their assets and edges stay as they
	// were, and so do the instances' edges to roles, which the sync cannot
	// resolve without the roles' instance profiles.
	s3c := s3.NewFromConfig(inRegion(f.acct, west), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("data-" + f.account)}); err != nil {
		t.Fatal(err)
	}
	denied := &smithy.GenericAPIError{Code: "AccessDenied", Message: "User is not authorized to perform: s3:ListAllMyBuckets"}
	var reg inventory.Registry
	for _, c := range inventory.Default() {
		switch c.ResourceType() {
		case inventory.TypeS3Bucket, inventory.TypeIAMRole:
			c = failing{c, denied}
		case inventory.TypeEBSVolume:
			c = failing{c, nil}
		}
		reg = append(reg, c)
	}
	f.handler.Registry = reg
	healthy := f.handler.Options.Timeout
	f.handler.Options.Timeout = 2 * time.Second // for the EBS collector that hangs
	out := f.sync(t)
	f.handler.Options.Timeout = healthy // the syncs below time nothing out, however loaded the machine

	gotErrs := out.Errors
	for i := range gotErrs {
		gotErrs[i].Message = ""
	}
	wantErrs := []citadel.CollectorError{
		{ResourceType: inventory.TypeEBSVolume, Service: "ec2", Region: west, Code: "Timeout"},
		{ResourceType: inventory.TypeEBSVolume, Service: "ec2", Region: east, Code: "Timeout"},
		{ResourceType: inventory.TypeIAMRole, Service: "iam", Region: inventory.GlobalRegion, Code: "AccessDenied"},
		{ResourceType: inventory.TypeS3Bucket, Service: "s3", Region: inventory.GlobalRegion, Code: "AccessDenied"},
	}
	if d := cmp.Diff(wantErrs, gotErrs); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
	if out.AssetsDeactivated != 0 || out.AssetsCreated != 0 || out.AssetsUpdated != 0 || out.TotalAssets != wantAssets ||
		out.RelationshipsDeleted != 0 || out.RelationshipsCreated != 0 {
		t.Errorf("a sync with failing collectors changed assets: %+v", out)
	}
	if d := cmp.Diff(wantCounts, counts(f.activeByType(t))); d != "" {
		t.Errorf("active assets by type (-want +got):\n%s", d)
	}
	f.checkEdges(t)
	cov, _ := f.store.ListCoverage(ctx, "int-1")
	for _, c := range cov {
		if c.Service == "s3" {
			if tc := c.Types[inventory.TypeS3Bucket]; tc.Error == "" || !tc.SyncedAt.Equal(t0) || !c.SyncedAt.Equal(t0) {
				t.Errorf("s3 coverage after a denied sync: %+v", c)
			}
		}
	}

	// Once the collectors work again, the bucket is deactivated.
	f.handler.Registry = nil
	out = f.sync(t)
	if out.AssetsDeactivated != 1 || out.RelationshipsDeleted != 1 || len(out.Errors) != 0 {
		t.Errorf("after recovery: %+v, want one deactivation", out)
	}

	// A bucket of the same name comes back: the asset is reactivated
	// (an update, not a second asset), with its edge.
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("data-" + f.account),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuWest1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String("data-" + f.account),
		ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(f.estate.keyEU)}}}}}); err != nil {
		t.Fatal(err)
	}
	out = f.sync(t)
	if out.AssetsUpdated != 1 || out.AssetsCreated != 0 || out.RelationshipsCreated != 1 || out.TotalAssets != wantAssets {
		t.Errorf("after the bucket came back: %+v, want one reactivation and its edge", out)
	}
	if back, _ := f.store.GetAsset(ctx, "int-1", f.estate.dataBucket); !back.IsActive || !back.FirstSeen.Equal(t0) {
		t.Errorf("reactivated bucket: %+v", back)
	}
	f.checkEdges(t)
}

func TestBadInputIsRefused(t *testing.T) {
	s := testenv.Store(t)
	h := &assetsync.Handler{Store: s, AWS: testenv.Config(t)}
	good := citadel.PlanOutput{ScanID: "scan-1", IntegrationID: "int-1", AccountID: "123456789012",
		RoleARN: "arn:aws:iam::123456789012:role/CitadelScanner", Regions: []string{east}}
	tests := map[string]struct {
		mutate func(*citadel.PlanOutput)
		want   string
	}{
		"no integration":          {func(p *citadel.PlanOutput) { p.IntegrationID = "" }, "names no integration"},
		"no account id":           {func(p *citadel.PlanOutput) { p.AccountID = "" }, "has no account id"},
		"short account id":        {func(p *citadel.PlanOutput) { p.AccountID = "12345" }, "want 12 digits"},
		"malformed role ARN":      {func(p *citadel.PlanOutput) { p.RoleARN = "arn:aws:iam:123456789012:role" }, "want arn:aws:iam::<account>:role/<name>"},
		"user instead of role":    {func(p *citadel.PlanOutput) { p.RoleARN = "arn:aws:iam::123456789012:user/bob" }, "want arn:aws:iam::<account>:role/<name>"},
		"role of another account": {func(p *citadel.PlanOutput) { p.RoleARN = "arn:aws:iam::999999999999:role/CitadelScanner" }, "not its account 123456789012"},
		"bad region":              {func(p *citadel.PlanOutput) { p.Regions = []string{"us-east-1", "mars-1"} }, `region "mars-1"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := good
			tc.mutate(&p)
			before := s.Usage()
			_, err := h.Handle(context.Background(), citadel.AssetSyncInput{Plan: p})
			if !citadel.IsInvalid(err) {
				t.Fatalf("got %v, want invalid", err)
			}
			if !contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if s.Usage() != before {
				t.Errorf("a refused sync used the store: %+v", s.Usage().Sub(before))
			}
		})
	}
}

// The scanner's own credentials (no role) must be for the integration's account.
func TestCredentialsOfAnotherAccountAreRefused(t *testing.T) {
	s := testenv.Store(t)
	h := &assetsync.Handler{Store: s, AWS: testenv.Config(t)}
	_, err := h.Handle(context.Background(), citadel.AssetSyncInput{Plan: citadel.PlanOutput{
		IntegrationID: "int-1", AccountID: "111122223333", Regions: []string{east}}})
	if !citadel.IsInvalid(err) || !contains(err.Error(), "are for account "+testenv.AccountID+", not its account 111122223333") {
		t.Fatalf("got %v, want invalid naming both accounts", err)
	}
	var re *citadel.RetryableError
	if errors.As(err, &re) {
		t.Errorf("a wrong account is not worth retrying: %v", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestSampleEvents(t *testing.T) {
	// fan-out-item.json and fan-out-apply.json: an item of the fan-out and
	// its apply (one item timed out), as the state machine's Map passes them.
	tests := map[string]bool{"scan.json": true, "no-account.json": false, "fan-out-item.json": true, "fan-out-apply.json": true}
	for name, valid := range tests {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "events", "asset-sync", name))
			if err != nil {
				t.Fatal(err)
			}
			var in citadel.AssetSyncInput
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in); err != nil {
				t.Fatalf("%s does not decode as the step's input: %v", name, err)
			}
			err = assetsync.Validate(in.Plan)
			if valid && err != nil || !valid && !citadel.IsInvalid(err) {
				t.Errorf("Validate = %v, want valid=%v", err, valid)
			}
		})
	}
}

// A throttled store surfaces as a retryable error (the step contract then
// returns it as the type the state machine retries on).
func TestThrottledStoreIsRetryable(t *testing.T) {
	s := throttledStore{Store: testenv.Store(t)}
	cfg := testenv.Config(t)
	h := &assetsync.Handler{Store: s, AWS: cfg, Registry: inventory.Registry{}}
	_, err := h.Handle(context.Background(), citadel.AssetSyncInput{Plan: citadel.PlanOutput{
		IntegrationID: "int-1", AccountID: testenv.AccountID, Regions: []string{east}}})
	if !citadel.IsRetryable(err) {
		t.Fatalf("got %T %v, want a retryable error", err, err)
	}
}

type throttledStore struct{ *ddb.Store }

func (throttledStore) AssetStates(context.Context, string) ([]ddb.AssetState, error) {
	return nil, fmt.Errorf("query: %w", citadel.Retryable(errors.New("ProvisionedThroughputExceededException")))
}

// Under a deadline (a Lambda's), collection stops early enough for the diff
// to run: a hanging collector is reported as timed out, the step succeeds.
func TestDeadlineLeavesTimeForTheDiff(t *testing.T) {
	cfg := testenv.Config(t)
	_, account, role := testenv.Account(t, cfg)
	ec2Instances, _ := inventory.Default().Lookup(inventory.TypeEC2Instance)
	// Collection is cut off 3 s in; the diff then has a minute, however
	// loaded the machine (the deadline is the invocation's, the reserve
	// injected).
	h := &assetsync.Handler{Store: testenv.Store(t), AWS: cfg, Registry: inventory.Registry{failing{ec2Instances, nil}}, Reserve: time.Minute}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute+3*time.Second)
	defer cancel()
	out, err := h.Handle(ctx, citadel.AssetSyncInput{Plan: citadel.PlanOutput{IntegrationID: "int-1", AccountID: account, RoleARN: role,
		ExternalID: "citadel-test", Regions: []string{east}}})
	if err != nil {
		t.Fatalf("the step failed instead of reporting the collector: %v", err)
	}
	if len(out.Errors) != 1 || out.Errors[0].Code != "Timeout" || out.Errors[0].ResourceType != inventory.TypeEC2Instance {
		t.Errorf("errors: %+v, want the instance collector timed out", out.Errors)
	}
}

// Without a region list, the sync covers every enabled region.
func TestNoRegionsMeansEveryEnabledRegion(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	acct, account, role := testenv.Account(t, cfg)
	enabled, err := inventory.EnabledRegions(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	vpcs, _ := inventory.Default().Lookup(inventory.TypeVPC)
	s := testenv.Store(t)
	h := &assetsync.Handler{Store: s, AWS: cfg, Registry: inventory.Registry{vpcs}}
	out, err := h.Handle(ctx, citadel.AssetSyncInput{Plan: citadel.PlanOutput{IntegrationID: "int-1", AccountID: account, RoleARN: role, ExternalID: "citadel-test"}})
	if err != nil {
		t.Fatal(err)
	}
	cov, err := s.ListCoverage(ctx, "int-1")
	if err != nil {
		t.Fatal(err)
	}
	var regions []string
	for _, c := range cov {
		regions = append(regions, c.Region)
	}
	if d := cmp.Diff(enabled, regions); d != "" {
		t.Errorf("synced regions (-enabled +synced):\n%s", d)
	}
	// moto gives every region of a fresh account its default VPC.
	if out.TotalAssets != len(enabled) || len(out.Errors) != 0 {
		t.Errorf("%+v, want one default VPC in each of %d regions", out, len(enabled))
	}
}
