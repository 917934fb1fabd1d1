package ddb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func testAsset(integ, arn, typ string) citadel.Asset {
	return citadel.Asset{
		IntegrationID: integ, Source: citadel.SourceAWS, SourceID: arn, ServiceType: typ,
		Name: arn[len(arn)-6:], Region: "us-east-1", AccountID: "123456789012",
		Tags: map[string]string{"env": "prod"}, RawSourceData: json.RawMessage(`{"id":"x"}`),
		IsActive: true, FirstSeen: t0, LastSeen: t0,
	}
}

func TestAssetsPutGetListAndDeactivate(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	var assets []citadel.Asset
	for i := range 5 {
		assets = append(assets, testAsset("int-1", fmt.Sprintf("arn:aws:ec2:us-east-1:123456789012:instance/i-%06d", i), "ec2:instance"))
	}
	other := testAsset("int-2", "arn:aws:s3:::other-bucket", "s3:bucket")
	if err := s.PutAssets(ctx, append(assets, other)); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAsset(ctx, "int-1", assets[2].SourceID)
	if err != nil {
		t.Fatal(err)
	}
	want := assets[2]
	want.ID = citadel.AssetID("int-1", "aws", want.SourceID)
	want.Fingerprint = want.ComputeFingerprint()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	if _, err := s.GetAsset(ctx, "int-1", "arn:aws:s3:::nope"); !citadel.IsNotFound(err) {
		t.Errorf("missing asset: got %v, want not found", err)
	}

	list := func(active bool) []string {
		var arns []string
		cursor := ""
		for {
			var p citadel.Page[citadel.Asset]
			var err error
			if active {
				p, err = s.ListActiveAssets(ctx, "int-1", 2, cursor)
			} else {
				p, err = s.ListAssets(ctx, "int-1", 2, cursor)
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range p.Items {
				arns = append(arns, a.SourceID)
			}
			if p.Next == "" {
				return arns
			}
			cursor = p.Next
		}
	}
	all := []string{assets[0].SourceID, assets[1].SourceID, assets[2].SourceID, assets[3].SourceID, assets[4].SourceID}
	if d := cmp.Diff(all, list(false)); d != "" {
		t.Errorf("ListAssets (-want +got):\n%s", d)
	}
	if d := cmp.Diff(all, list(true)); d != "" {
		t.Errorf("ListActiveAssets (-want +got):\n%s", d)
	}

	t1 := t0.Add(time.Hour)
	n, err := s.DeactivateAssets(ctx, "int-1", []ddb.Deactivation{
		{ARN: assets[1].SourceID, LastSeen: t1},
		{ARN: "arn:aws:ec2:us-east-1:123456789012:instance/i-gone"}, // never stored: skipped
	})
	if err != nil || n != 1 {
		t.Fatalf("DeactivateAssets = %d, %v; want 1, nil", n, err)
	}
	if d := cmp.Diff([]string{all[0], all[2], all[3], all[4]}, list(true)); d != "" {
		t.Errorf("active after deactivation (-want +got):\n%s", d)
	}
	if d := cmp.Diff(all, list(false)); d != "" {
		t.Errorf("all after deactivation (-want +got):\n%s", d)
	}
	gone, err := s.GetAsset(ctx, "int-1", assets[1].SourceID)
	if err != nil {
		t.Fatal(err)
	}
	if gone.IsActive || !gone.LastSeen.Equal(t1) {
		t.Errorf("deactivated asset: active=%v last_seen=%v, want false, %v", gone.IsActive, gone.LastSeen, t1)
	}

	states, err := s.AssetStates(ctx, "int-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 5 || states[1].IsActive || !states[0].IsActive || states[0].Fingerprint != want.ComputeFingerprint() && states[0].Fingerprint == "" || states[0].ItemBytes == 0 || states[0].ServiceType != "ec2:instance" {
		t.Errorf("AssetStates = %+v", states)
	}
}

func TestPutAssetsRefusesBadAssetsAndWritesNothing(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	good := testAsset("int-1", "arn:aws:s3:::good", "s3:bucket")
	tests := map[string]func(*citadel.Asset){
		"no integration":  func(a *citadel.Asset) { a.IntegrationID = "" },
		"not an ARN":      func(a *citadel.Asset) { a.SourceID = "bucket-name" },
		"no service type": func(a *citadel.Asset) { a.ServiceType = "" },
		"raw data too big": func(a *citadel.Asset) {
			a.RawSourceData = json.RawMessage(`"` + string(make([]byte, citadel.MaxRawSourceData)) + `"`)
		},
		"wrong id": func(a *citadel.Asset) { a.ID = "abc" },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			bad := testAsset("int-1", "arn:aws:s3:::bad", "s3:bucket")
			mutate(&bad)
			if err := s.PutAssets(ctx, []citadel.Asset{good, bad}); !citadel.IsInvalid(err) {
				t.Fatalf("got %v, want invalid", err)
			}
			p, err := s.ListAssets(ctx, "int-1", 10, "")
			if err != nil || len(p.Items) != 0 {
				t.Fatalf("after a refused batch: %d assets, %v; want none", len(p.Items), err)
			}
		})
	}
}

func TestRelationshipsFromAndTo(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	const (
		inst  = "arn:aws:ec2:us-east-1:123456789012:instance/i-1"
		inst2 = "arn:aws:ec2:us-east-1:123456789012:instance/i-2"
		vpc   = "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1"
		sg    = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1"
	)
	rel := func(from, to string, k citadel.RelationshipKind) citadel.AssetRelationship {
		return citadel.AssetRelationship{IntegrationID: "int-1", FromARN: from, ToARN: to, Kind: k}
	}
	rels := []citadel.AssetRelationship{
		rel(inst, vpc, citadel.RelInstanceInVPC),
		rel(inst, sg, citadel.RelInstanceSecurityGroup),
		rel(inst2, vpc, citadel.RelInstanceInVPC),
		rel(sg, vpc, citadel.RelSecurityGroupInVPC),
	}
	if err := s.PutRelationships(ctx, rels); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRelationships(ctx, []citadel.AssetRelationship{rel(inst, "vpc-1", citadel.RelInstanceInVPC)}); !citadel.IsInvalid(err) {
		t.Errorf("edge to a non-ARN: got %v, want invalid", err)
	}
	from, err := s.RelationshipsFrom(ctx, "int-1", inst)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]citadel.AssetRelationship{rels[0], rels[1]}, from); d != "" {
		t.Errorf("from (-want +got):\n%s", d)
	}
	to, err := s.RelationshipsTo(ctx, "int-1", vpc)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]citadel.AssetRelationship{rels[0], rels[2], rels[3]}, to); d != "" {
		t.Errorf("to (-want +got):\n%s", d)
	}
	if err := s.DeleteRelationships(ctx, []citadel.AssetRelationship{rels[0]}); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListRelationships(ctx, "int-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Errorf("after deleting one edge: %d edges, want 3", len(all))
	}
	if to, _ := s.RelationshipsTo(ctx, "int-1", vpc); len(to) != 2 {
		t.Errorf("incoming after delete: %v", to)
	}
}

func TestCoverageRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	cov := []ddb.Coverage{
		{IntegrationID: "int-1", Service: "s3", Region: "global", SyncedAt: t0, ScanID: "scan-1",
			Types: map[string]ddb.ScopeTypeCoverage{"s3:bucket": {SyncedAt: t0, Assets: 3}}},
		{IntegrationID: "int-1", Service: "ec2", Region: "us-east-1", SyncedAt: t0, ScanID: "scan-1",
			Types: map[string]ddb.ScopeTypeCoverage{"ec2:instance": {SyncedAt: t0, Assets: 2}, "ec2:volume": {Error: "AccessDenied", FailedAt: t0}}},
	}
	if err := s.PutCoverage(ctx, cov); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListCoverage(ctx, "int-1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]ddb.Coverage{cov[1], cov[0]}, got); d != "" {
		t.Errorf("coverage (-want +got):\n%s", d)
	}
	if err := s.PutCoverage(ctx, []ddb.Coverage{{IntegrationID: "int-1", Service: "ec2"}}); !citadel.IsInvalid(err) {
		t.Errorf("coverage without region: got %v, want invalid", err)
	}
	a := testAsset("int-1", "arn:aws:s3:::b", "s3:bucket")
	if got := ddb.EffectiveLastSeen(a, ddb.Coverage{SyncedAt: t0.Add(time.Hour)}); !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("EffectiveLastSeen of an active asset = %v", got)
	}
	a.IsActive = false
	if got := ddb.EffectiveLastSeen(a, ddb.Coverage{SyncedAt: t0.Add(time.Hour)}); !got.Equal(t0) {
		t.Errorf("EffectiveLastSeen of an inactive asset = %v", got)
	}
}
