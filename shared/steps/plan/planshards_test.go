package plan_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// TestPlanShardsOfTheStep: the plan step sizes its shards from the
// integration's recorded durations, writes each shard's checks file, and an
// integration without regions gets one shard of Prowler's regions.
func TestPlanShardsOfTheStep(t *testing.T) {
	e := setup(t, catalog)
	ctx := context.Background()

	// eu-west-1's storage took 25 minutes last time: a shard of its own.
	integ := e.integration(t, "int-timed")
	if err := e.store.MergeShardDurations(ctx, integ.ID, citadel.ShardDurations{"eu-west-1/storage": 1500}); err != nil {
		t.Fatal(err)
	}
	e.queue(t, integ.ID, "scan-timed")
	out, err := e.h.Handle(ctx, citadel.PlanInput{Scan: citadel.StartScan{ScanID: "scan-timed", IntegrationID: integ.ID, Trigger: citadel.TriggerAPI}})
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, s := range out.Shards {
		var keys []string
		for _, u := range s.Units {
			keys = append(keys, u.Key())
		}
		got = append(got, append([]string{s.RegionsArg}, keys...))
	}
	// eu-west-1's logging cannot join us-east-1's shard: Prowler would run
	// us-east-1's storage checks in eu-west-1 too.
	wantShards := [][]string{
		{"us-east-1", "us-east-1/logging", "us-east-1/storage", "global/identity"},
		{"eu-west-1", "eu-west-1/logging"},
		{"eu-west-1", "eu-west-1/storage"},
	}
	if d := cmp.Diff(wantShards, got); d != "" {
		t.Errorf("shards (-want +got):\n%s", d)
	}
	for _, s := range out.Shards {
		body, ok := e.object(t, s.ChecksKey)
		cf, err := citadel.ParseChecksFile([]byte(body))
		if !ok || err != nil || len(cf.AWS) != s.Checks {
			t.Errorf("shard %s: checks file %q (exists %v, %v), want %d checks", s.ID, body, ok, err, s.Checks)
		}
	}

	// No regions: Prowler's own, in one shard.
	all := citadel.Integration{ID: "int-all", FolderID: "fld-all", Name: "all", AccountID: "111122223333", CreatedAt: created, UpdatedAt: created}
	if err := e.store.CreateIntegration(ctx, all); err != nil {
		t.Fatal(err)
	}
	e.queue(t, all.ID, "scan-all")
	out, err = e.h.Handle(ctx, citadel.PlanInput{Scan: citadel.StartScan{ScanID: "scan-all", IntegrationID: all.ID, Trigger: citadel.TriggerAPI}})
	if err != nil {
		t.Fatal(err)
	}
	wantAll := []citadel.Shard{{ID: "s01", Regions: []string{}, Units: units(t, "global/identity", "all/logging", "all/storage"),
		ChecksKey: "scans/scan-all/shards/s01/checks.json", OCSFKey: "scans/scan-all/shards/s01/prowler.ocsf.json",
		ManifestKey: "scans/scan-all/shards/s01/manifest.json", Checks: 3, EstimatedSeconds: 90 + 3*2}}
	if d := cmp.Diff(wantAll, out.Shards); d != "" {
		t.Errorf("shards without regions (-want +got):\n%s", d)
	}
}

// TestPlanOutputFitsTheState: 17 regions × every mapped check of the
// reference catalog keeps the plan's output (a part of the execution's
// state, at most 256 KB) small: the shards carry no check ids.
func TestPlanOutputFitsTheState(t *testing.T) {
	real := realMapped(t)
	e := setup(t, real)
	ctx := context.Background()
	in := citadel.Integration{ID: "int-big", FolderID: "fld-big", Name: "big", AccountID: "111122223333",
		RoleARN: "arn:aws:iam::111122223333:role/CitadelScanner", ExternalID: "ext-123", Regions: seventeen, CreatedAt: created, UpdatedAt: created}
	if err := e.store.CreateIntegration(ctx, in); err != nil {
		t.Fatal(err)
	}
	e.queue(t, in.ID, "scan-big")
	out, err := e.h.Handle(ctx, citadel.PlanInput{Scan: citadel.StartScan{ScanID: "scan-big", IntegrationID: in.ID, Trigger: citadel.TriggerAPI}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	const budget = 32 << 10 // an eighth of the state
	if len(b) > budget {
		t.Errorf("plan output of %d checks in %d shards is %d bytes, over %d", out.ChecksPlanned, len(out.Shards), len(b), budget)
	}
	var sp citadel.ShardPlan
	body, _ := e.object(t, out.ShardsKey)
	if err := json.Unmarshal([]byte(body), &sp); err != nil || len(sp.Shards) != len(out.Shards) {
		t.Fatalf("shard plan: %v, %d shards", err, len(sp.Shards))
	}
	t.Logf("%d checks × %d regions: %d shards, plan output %d bytes, shard plan %d bytes", out.ChecksPlanned, len(seventeen), len(out.Shards), len(b), len(body))
}
