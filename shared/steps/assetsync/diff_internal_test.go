package assetsync

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/inventory"
)

// The diff is pure: no store, no moto. Each case is a stored state and a
// collected inventory, and what the sync must write.
func TestDiffAssets(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0.Add(48 * time.Hour)
	scan := t0.Add(47 * time.Hour) // this scan's start
	bucket := func(arn, name string) citadel.Asset {
		return citadel.Asset{SourceID: arn, Source: "aws", ServiceType: "s3.bucket", Region: "us-east-1", Name: name}
	}
	fp := func(a citadel.Asset) string { return collect("int-1", okResult(a)).assets[0].Fingerprint }
	okScope := scopeKey{"s3.bucket", "us-east-1"}
	scopeOf := func(typ, region string) (scopeKey, bool) { return scopeKey{typ, region}, typ == "s3.bucket" }
	a, b := bucket("arn:a", "a"), bucket("arn:b", "b")
	stored := func(x citadel.Asset, active bool, lastSeen time.Time) ddb.AssetState {
		return ddb.AssetState{ARN: x.SourceID, ServiceType: x.ServiceType, Region: x.Region, IsActive: active, Fingerprint: fp(x),
			FirstSeen: t0, LastSeen: lastSeen, ItemBytes: 100}
	}
	changedB := bucket("arn:b", "b2")
	tests := map[string]struct {
		assets     []citadel.Asset
		failed     bool // the scope's collector failed
		states     []ddb.AssetState
		prevSynced time.Time
		startedAt  time.Time
		writes     []string // ARNs written
		gone       []ddb.Deactivation
		active     int
		created    int
		updated    int
	}{
		"first sync creates":      {assets: []citadel.Asset{a, b}, writes: []string{"arn:a", "arn:b"}, active: 2, created: 2},
		"unchanged writes none":   {assets: []citadel.Asset{a, b}, states: []ddb.AssetState{stored(a, true, t0), stored(b, true, t0)}, active: 2},
		"changed is updated":      {assets: []citadel.Asset{a, changedB}, states: []ddb.AssetState{stored(a, true, t0), stored(b, true, t0)}, writes: []string{"arn:b"}, active: 2, updated: 1},
		"inactive is reactivated": {assets: []citadel.Asset{a}, states: []ddb.AssetState{stored(a, false, t0)}, writes: []string{"arn:a"}, active: 1, updated: 1},
		"unseen is deactivated at the later of its last_seen and the scope's sync": {
			assets: []citadel.Asset{a}, states: []ddb.AssetState{stored(a, true, t0), stored(b, true, t0)}, prevSynced: t0.Add(time.Hour),
			gone: []ddb.Deactivation{{ARN: "arn:b", LastSeen: t0.Add(time.Hour), ItemBytes: 100}}, active: 1},
		"failed scope deactivates nothing": {
			failed: true, states: []ddb.AssetState{stored(a, true, t0), stored(b, true, t0)}, active: 2},
		"already inactive stays out": {assets: []citadel.Asset{a}, states: []ddb.AssetState{stored(a, true, t0), stored(b, false, t0)}, active: 1},
		"a retried attempt counts its own writes": {
			assets: []citadel.Asset{a, b}, startedAt: scan,
			states: []ddb.AssetState{stored(a, true, now), {ARN: "arn:b", ServiceType: "s3.bucket", Region: "us-east-1", IsActive: true,
				Fingerprint: fp(b), FirstSeen: now, LastSeen: now}},
			active: 2, updated: 1, created: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			results := okResult(tc.assets...)
			if tc.failed {
				results[0].Err = errFailed
			}
			c := collect("int-1", results)
			prev := map[scopeKey]time.Time{}
			if !tc.prevSynced.IsZero() {
				prev[okScope] = tc.prevSynced
			}
			d := diffAssets(citadel.PlanOutput{IntegrationID: "int-1", StartedAt: tc.startedAt}, c, tc.states, prev, scopeOf, now)
			var writes []string
			for _, w := range d.writes {
				writes = append(writes, w.SourceID)
				if !w.LastSeen.Equal(now) || w.ID == "" || w.Fingerprint == "" {
					t.Errorf("write %+v: want last_seen now, an id and a fingerprint", w)
				}
			}
			got := []any{writes, d.gone, len(d.active), d.created, d.updated}
			want := []any{tc.writes, tc.gone, tc.active, tc.created, tc.updated}
			if df := cmp.Diff(want, got); df != "" {
				t.Errorf("[writes gone active created updated] (-want +got):\n%s", df)
			}
		})
	}
}

func TestDiffEdges(t *testing.T) {
	rel := func(from, to string) citadel.AssetRelationship {
		return citadel.AssetRelationship{IntegrationID: "int-1", FromARN: from, ToARN: to, Kind: "uses"}
	}
	active := map[string]bool{"a": true, "b": true, "c": true, "role": true}
	all := func(string) bool { return true }
	tests := map[string]struct {
		emitted, existing []citadel.AssetRelationship
		aliases           map[string][]string
		collected         func(string) bool
		add, del          []citadel.AssetRelationship
	}{
		"new edges sorted":            {emitted: []citadel.AssetRelationship{rel("b", "c"), rel("a", "b")}, collected: all, add: []citadel.AssetRelationship{rel("a", "b"), rel("b", "c")}},
		"kept edge writes none":       {emitted: []citadel.AssetRelationship{rel("a", "b")}, existing: []citadel.AssetRelationship{rel("a", "b")}, collected: all},
		"not reported again goes":     {existing: []citadel.AssetRelationship{rel("a", "b")}, collected: all, del: []citadel.AssetRelationship{rel("a", "b")}},
		"failed source's edge stays":  {existing: []citadel.AssetRelationship{rel("a", "b")}, collected: func(string) bool { return false }},
		"inactive end goes":           {existing: []citadel.AssetRelationship{rel("a", "gone")}, collected: func(string) bool { return false }, del: []citadel.AssetRelationship{rel("a", "gone")}},
		"alias resolved":              {emitted: []citadel.AssetRelationship{rel("a", "profile")}, aliases: map[string][]string{"profile": {"role"}}, collected: all, add: []citadel.AssetRelationship{rel("a", "role")}},
		"unknown target pins":         {emitted: []citadel.AssetRelationship{rel("a", "unknown")}, existing: []citadel.AssetRelationship{rel("a", "role")}, collected: all},
		"self edge dropped, dup once": {emitted: []citadel.AssetRelationship{rel("a", "a"), rel("a", "b"), rel("a", "b")}, collected: all, add: []citadel.AssetRelationship{rel("a", "b")}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			add, del := diffEdges(tc.emitted, tc.existing, tc.aliases, active, tc.collected)
			if d := cmp.Diff(tc.add, add); d != "" {
				t.Errorf("add (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.del, del); d != "" {
				t.Errorf("del (-want +got):\n%s", d)
			}
		})
	}
}

var errFailed = errors.New("AccessDenied")

// okResult is one successful s3.bucket scope in us-east-1 reporting assets.
func okResult(assets ...citadel.Asset) []inventory.Result {
	return []inventory.Result{{ResourceType: "s3.bucket", Service: "s3", Region: "us-east-1", Batch: inventory.Batch{Assets: assets}}}
}
