package plan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/steps/plan"
)

const (
	bucketARN   = "arn:aws:s3:::logs"
	roleARN     = "arn:aws:iam::111122223333:role/app"
	instanceUSE = "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc"
	instanceEUW = "arn:aws:ec2:eu-west-1:111122223333:instance/i-0def"
	vpcEUW      = "arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-1"
	tableUSW    = "arn:aws:dynamodb:us-west-2:111122223333:table/orders"
)

// recheckCatalog: a check of each service the cases re-check.
var recheckCatalog = []citadel.SecurityCheck{
	{ID: "s3_bucket_default_encryption", Service: "s3"},
	{ID: "s3_bucket_object_versioning", Service: "s3"},
	{ID: "iam_role_administratoraccess_policy", Service: "iam"},
	{ID: "ec2_instance_imdsv2_enabled", Service: "ec2"},
	{ID: "vpc_flow_logs_enabled", Service: "vpc"},
	{ID: "dynamodb_tables_pitr_enabled", Service: "dynamodb"},
	{ID: "cloudtrail_multi_region_enabled", Service: "cloudtrail"},
}

// shardView is what a re-check's shard says: its regions, units, checks
// and resources.
type shardView struct {
	ID      string
	Regions []string
	Units   []string
	Checks  []string
	ARNs    []string
}

func viewOf(shards []citadel.PlannedShard) []shardView {
	var out []shardView
	for _, s := range shards {
		v := shardView{ID: s.ID, Regions: s.Regions, Checks: s.CheckIDs, ARNs: s.ResourceARNs}
		for _, u := range s.Units {
			v.Units = append(v.Units, u.Key())
		}
		out = append(out, v)
	}
	return out
}

func TestPlanRecheck(t *testing.T) {
	regions := []string{"us-east-1", "eu-west-1"}
	cases := []struct {
		name    string
		regions []string
		arns    []string
		want    []shardView
		err     string
	}{
		{name: "one bucket: one shard of the first region, its service's checks", regions: regions, arns: []string{bucketARN},
			want: []shardView{{ID: "s01", Regions: []string{"us-east-1"}, Units: []string{"us-east-1/storage"},
				Checks: []string{"s3_bucket_default_encryption", "s3_bucket_object_versioning"}, ARNs: []string{bucketARN}}}},
		{name: "an instance: its region only", regions: regions, arns: []string{instanceEUW},
			want: []shardView{{ID: "s01", Regions: []string{"eu-west-1"}, Units: []string{"eu-west-1/compute"},
				Checks: []string{"ec2_instance_imdsv2_enabled"}, ARNs: []string{instanceEUW}}}},
		{name: "resources of two regions: one shard over both", regions: regions, arns: []string{instanceEUW, instanceUSE},
			want: []shardView{{ID: "s01", Regions: []string{"us-east-1", "eu-west-1"}, Units: []string{"us-east-1/compute", "eu-west-1/compute"},
				Checks: []string{"ec2_instance_imdsv2_enabled"}, ARNs: []string{instanceEUW, instanceUSE}}}},
		{name: "an instance and a VPC: both groups of the region", regions: regions, arns: []string{instanceEUW, vpcEUW},
			want: []shardView{{ID: "s01", Regions: []string{"eu-west-1"}, Units: []string{"eu-west-1/compute", "eu-west-1/network"},
				Checks: []string{"ec2_instance_imdsv2_enabled", "vpc_flow_logs_enabled"}, ARNs: []string{instanceEUW, vpcEUW}}}},
		{name: "regional and region-less resources never share a shard", regions: regions, arns: []string{bucketARN, instanceEUW, roleARN},
			want: []shardView{
				{ID: "s01", Regions: []string{"eu-west-1"}, Units: []string{"eu-west-1/compute"},
					Checks: []string{"ec2_instance_imdsv2_enabled"}, ARNs: []string{instanceEUW}},
				{ID: "s02", Regions: []string{"us-east-1"}, Units: []string{"us-east-1/storage", "global/identity"},
					Checks: []string{"iam_role_administratoraccess_policy", "s3_bucket_default_encryption", "s3_bucket_object_versioning"},
					ARNs:   []string{bucketARN, roleARN}},
			}},
		{name: "a resource outside the integration's regions is left out", regions: regions, arns: []string{instanceEUW, tableUSW},
			want: []shardView{{ID: "s01", Regions: []string{"eu-west-1"}, Units: []string{"eu-west-1/compute"},
				Checks: []string{"ec2_instance_imdsv2_enabled"}, ARNs: []string{instanceEUW}}}},
		{name: "an integration of every region: the resources' regions", arns: []string{tableUSW},
			want: []shardView{{ID: "s01", Regions: []string{"us-west-2"}, Units: []string{"us-west-2/database"},
				Checks: []string{"dynamodb_tables_pitr_enabled"}, ARNs: []string{tableUSW}}}},
		{name: "an integration of every region: region-less ones in Prowler's regions", arns: []string{roleARN},
			want: []shardView{{ID: "s01", Regions: []string{}, Units: []string{"global/identity"},
				Checks: []string{"iam_role_administratoraccess_policy"}, ARNs: []string{roleARN}}}},
		{name: "only resources outside the regions", regions: regions, arns: []string{tableUSW},
			err: "no selected check runs on its 1 resource(s) in the integration's regions (us-east-1, eu-west-1; services dynamodb)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			shards, err := plan.PlanRecheck(recheckCatalog, tc.regions, tc.arns, plan.DefaultShardLimits)
			if tc.err != "" {
				if !citadel.IsInvalid(err) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want invalid with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, viewOf(shards)); d != "" {
				t.Errorf("shards (-want +got):\n%s", d)
			}
		})
	}
}

// TestPlanRecheckNarrowsToSelection: only the scan's selected checks run,
// and a resource whose services have none of them is in no shard.
func TestPlanRecheckNarrowsToSelection(t *testing.T) {
	only := []citadel.SecurityCheck{{ID: "s3_bucket_default_encryption", Service: "s3"}}
	shards, err := plan.PlanRecheck(only, []string{"us-east-1"}, []string{bucketARN, instanceUSE}, plan.DefaultShardLimits)
	if err != nil {
		t.Fatal(err)
	}
	want := []shardView{{ID: "s01", Regions: []string{"us-east-1"}, Units: []string{"us-east-1/storage"},
		Checks: []string{"s3_bucket_default_encryption"}, ARNs: []string{bucketARN}}}
	if d := cmp.Diff(want, viewOf(shards)); d != "" {
		t.Errorf("shards (-want +got):\n%s", d)
	}
}

// mappedRecheckCatalog is recheckCatalog mapped to SOC 2 (all but the
// CloudTrail check) so the plan step selects it.
func mappedRecheckCatalog() []citadel.SecurityCheck {
	out := make([]citadel.SecurityCheck, len(recheckCatalog))
	for i, c := range recheckCatalog {
		c.Severity = citadel.SeverityMedium
		c.MappedRequirements = []string{"soc2_aws:cc_6_1"}
		if c.Service == "cloudtrail" {
			c.MappedRequirements = []string{"cis_2.0_aws:3.1"}
		}
		out[i] = c
	}
	return out
}

func (e env) putRecheck(t *testing.T, scanID string, f citadel.RecheckFile) *citadel.Recheck {
	t.Helper()
	key := citadel.ScanObjectKey(scanID, citadel.RecheckFileName)
	b, _ := json.Marshal(f)
	if _, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(key), Body: bytes.NewReader(b)}); err != nil {
		t.Fatal(err)
	}
	rc := f.Recheck(key)
	return &rc
}

func (e env) queueChange(t *testing.T, integrationID, scanID string, rc *citadel.Recheck) {
	t.Helper()
	err := e.store.StartScan(context.Background(), citadel.Scan{ID: scanID, IntegrationID: integrationID, FolderID: "fld-" + integrationID,
		Trigger: citadel.TriggerChange, Status: citadel.ScanQueued, CreatedAt: created, Recheck: rc})
	if err != nil {
		t.Fatal(err)
	}
}

func recheckFile(integrationID string, arns ...string) citadel.RecheckFile {
	arns = slices.Sorted(slices.Values(arns))
	return citadel.RecheckFile{IntegrationID: integrationID, ARNs: arns, Services: citadel.RecheckServices(arns), Events: 2,
		FirstEventAt: created, LastEventAt: created.Add(time.Minute)}
}

// TestPlanHandlesRecheck: a re-check's plan reads its resources from S3,
// writes shards of their services and regions whose checks files name
// them (and stay Prowler's format), and carries the re-check on.
func TestPlanHandlesRecheck(t *testing.T) {
	e := setup(t, mappedRecheckCatalog())
	ctx := context.Background()
	integ := e.integration(t, "int-rc", "soc2_aws")
	scanID := "scan-rc"
	rc := e.putRecheck(t, scanID, recheckFile(integ.ID, bucketARN, instanceEUW))
	e.queueChange(t, integ.ID, scanID, rc)

	out, err := e.h.Handle(ctx, citadel.PlanInput{Scan: citadel.StartScan{ScanID: scanID, IntegrationID: integ.ID, Trigger: citadel.TriggerChange, Recheck: rc}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(rc, out.Recheck); d != "" {
		t.Errorf("plan's recheck (-want +got):\n%s", d)
	}
	if out.ChecksPlanned != 3 {
		t.Errorf("checks planned %d, want 3 (two of s3, one of ec2)", out.ChecksPlanned)
	}
	files := map[string]string{}
	for _, s := range out.Shards {
		body, ok := e.object(t, s.ChecksKey)
		if !ok {
			t.Fatalf("no checks file for shard %s", s.ID)
		}
		files[s.ID+" "+s.RegionsArg] = body
	}
	want := map[string]string{
		"s01 eu-west-1": `{"aws":["ec2_instance_imdsv2_enabled"],"resource_arns":["` + instanceEUW + `"]}`,
		"s02 us-east-1": `{"aws":["s3_bucket_default_encryption","s3_bucket_object_versioning"],"resource_arns":["` + bucketARN + `"]}`,
	}
	if d := cmp.Diff(want, files); d != "" {
		t.Errorf("shards' checks files (-want +got):\n%s", d)
	}
	for _, body := range files {
		if _, err := citadel.ParseChecksFile([]byte(body)); err != nil {
			t.Errorf("checks file %s: %v", body, err)
		}
	}
	whole, _ := e.object(t, out.ChecksKey)
	if wantWhole := `{"aws":["ec2_instance_imdsv2_enabled","s3_bucket_default_encryption","s3_bucket_object_versioning"],"resource_arns":["` +
		instanceEUW + `","` + bucketARN + `"]}`; whole != wantWhole {
		t.Errorf("the scan's checks file %s, want %s", whole, wantWhole)
	}
	sc, err := e.store.GetScanOf(ctx, integ.ID, scanID)
	if err != nil || sc.Status != citadel.ScanRunning {
		t.Errorf("scan record %+v, %v: want running", sc, err)
	}
}

// TestPlanRecheckRefused: a re-check that cannot run fails before anything
// is written, with an error that says why.
func TestPlanRecheckRefused(t *testing.T) {
	e := setup(t, mappedRecheckCatalog())
	ctx := context.Background()
	integ := e.integration(t, "int-rx", "soc2_aws")
	other := e.integration(t, "int-other", "soc2_aws")
	cases := []struct {
		name    string
		trigger citadel.ScanTrigger
		file    *citadel.RecheckFile // nil: none in S3
		rc      *citadel.Recheck     // when no file
		check   func(error) bool
		err     string
	}{
		{name: "a re-check of another trigger", trigger: citadel.TriggerAPI, rc: &citadel.Recheck{Key: "scans/x/recheck.json", Resources: 1},
			check: citadel.IsInvalid, err: "a re-check is of trigger change, not api"},
		{name: "no resources file", trigger: citadel.TriggerChange, rc: &citadel.Recheck{Key: "scans/scan-rx1/recheck.json", Resources: 1},
			check: citadel.IsNotFound, err: "not found"},
		{name: "another integration's resources", trigger: citadel.TriggerChange, file: ptr(recheckFile(other.ID, bucketARN)),
			check: citadel.IsInvalid, err: "are of integration int-other, not the scan's int-rx"},
		{name: "no selected check of the services", trigger: citadel.TriggerChange,
			file:  ptr(recheckFile(integ.ID, "arn:aws:cloudtrail:us-east-1:111122223333:trail/main")),
			check: citadel.IsInvalid, err: "none of the 6 checks integration int-rx runs is of the re-check's services (cloudtrail); nothing to re-check"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			scanID := "scan-rx" + string(rune('1'+i))
			rc := tc.rc
			if tc.file != nil {
				rc = e.putRecheck(t, scanID, *tc.file)
			}
			_, err := e.h.Handle(ctx, citadel.PlanInput{Scan: citadel.StartScan{ScanID: scanID, IntegrationID: integ.ID, Trigger: tc.trigger, Recheck: rc}})
			if !tc.check(err) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want one with %q", err, tc.err)
			}
			if _, ok := e.object(t, citadel.ScanObjectKey(scanID, citadel.ShardsFileName)); ok {
				t.Error("a refused re-check wrote its shard plan")
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
