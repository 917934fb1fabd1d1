package assetsync_test

import (
	"context"
	"encoding/json"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/inventory"
	"github.com/citadelsecure/citadel/shared/steps/assetsync"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// fanOutFixture is the estate's fixture with a scan bucket, fanning out past
// one region (its two regions fan out).
func fanOutFixture(t *testing.T) (*fixture, *s3.Client, string) {
	t.Helper()
	f := newFixture(t)
	s3c, bucket := testenv.Bucket(t, testenv.Config(t))
	f.handler.FanOut, f.handler.FanOutRegions, f.handler.Objects = true, 1, s3c
	return f, s3c, bucket
}

// fanPlan is the fixture's plan with the scan's bucket.
func fanPlan(f *fixture, bucket string) citadel.PlanOutput {
	p := f.plan()
	p.Bucket = bucket
	return p
}

// fanSync plays the state machine's fan-out: the plan, each item (those in
// fail ending as the Map's Catch ends them, with the error's name, or with
// the scope fail gives), then the apply.
func fanSync(t *testing.T, f *fixture, bucket string, fail map[string]citadel.AssetSyncScope) (citadel.AssetSyncFanOut, citadel.AssetSyncOutput) {
	t.Helper()
	ctx := context.Background()
	p := fanPlan(f, bucket)
	first, err := f.handler.Handle(ctx, citadel.AssetSyncInput{Plan: p})
	if err != nil {
		t.Fatal(err)
	}
	if first.FanOut == nil {
		t.Fatalf("no fan-out: %+v", first)
	}
	var scopes []citadel.AssetSyncScope
	for _, item := range first.FanOut.Items {
		if s, ok := fail[item.Region]; ok {
			scopes = append(scopes, s)
			continue
		}
		out, err := f.handler.Handle(ctx, citadel.AssetSyncInput{Plan: p, Item: &item})
		if err != nil {
			t.Fatalf("item %s: %v", item.Region, err)
		}
		scopes = append(scopes, *out.Scope)
	}
	out, err := f.handler.Handle(ctx, citadel.AssetSyncInput{Plan: p, FanOut: first.FanOut, Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Hour)
	return *first.FanOut, out
}

var ignoreUsage = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Usage" }, cmp.Ignore())

// TestFanOutSplitsByRegion: past FanOutRegions the sync plans a global item
// and one per region; each item's file holds its collectors' scopes only;
// the apply syncs the estate as one sync does, and a rescan, fanned out or
// not, writes nothing (the assets read back from the files keep their
// fingerprints).
func TestFanOutSplitsByRegion(t *testing.T) {
	ctx := context.Background()
	f, s3c, bucket := fanOutFixture(t)
	fo, out := fanSync(t, f, bucket, nil)

	regions := []string{west, east} // sorted
	wantPlan := citadel.AssetSyncFanOut{Regions: regions, Items: []citadel.AssetSyncItem{
		{Region: citadel.AssetSyncGlobalItem, Regions: regions}, {Region: west}, {Region: east}}}
	if d := cmp.Diff(wantPlan, fo); d != "" {
		t.Errorf("the fan-out (-want +got):\n%s", d)
	}
	want := citadel.AssetSyncOutput{AssetsCreated: wantAssets, TotalAssets: wantAssets, RelationshipsCreated: wantEdges, Errors: []citadel.CollectorError{}}
	if d := cmp.Diff(want, out, ignoreUsage); d != "" {
		t.Errorf("the fanned-out sync (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantCounts, counts(f.activeByType(t))); d != "" {
		t.Errorf("active assets by type (-want +got):\n%s", d)
	}
	f.checkEdges(t)

	// Each item's file: its collectors, in its scope.
	global, regional := map[string]bool{}, map[string]bool{}
	for _, c := range inventory.Default() {
		if c.Global() {
			global[c.ResourceType()] = true
		} else {
			regional[c.ResourceType()] = true
		}
	}
	for _, item := range fo.Items {
		obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket),
			Key: aws.String(citadel.ScanObjectKey("scan-1", citadel.AssetSyncScopeFile(item.Region)))})
		if err != nil {
			t.Fatalf("item %s: %v", item.Region, err)
		}
		raw, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		var rs []struct {
			ResourceType string `json:"resource_type"`
			Region       string `json:"region"`
		}
		if err := json.Unmarshal(raw, &rs); err != nil {
			t.Fatal(err)
		}
		types, wantTypes, wantRegion := map[string]bool{}, regional, item.Region
		if item.Region == citadel.AssetSyncGlobalItem {
			wantTypes, wantRegion = global, inventory.GlobalRegion
		}
		for _, r := range rs {
			types[r.ResourceType] = true
			if r.Region != wantRegion {
				t.Errorf("item %s collected %s in %s", item.Region, r.ResourceType, r.Region)
			}
		}
		if d := cmp.Diff(wantTypes, types); d != "" {
			t.Errorf("item %s: collectors (-want +got):\n%s", item.Region, d)
		}
	}

	// Rescans write nothing, fanned out or not.
	unchanged := citadel.AssetSyncOutput{TotalAssets: wantAssets, Errors: []citadel.CollectorError{}}
	if _, out := fanSync(t, f, bucket, nil); cmp.Diff(unchanged, out, ignoreUsage) != "" {
		t.Errorf("a fanned-out rescan changed assets: %+v", out)
	}
	f.handler.FanOut = false
	out, err := f.handler.Handle(ctx, citadel.AssetSyncInput{Plan: fanPlan(f, bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(unchanged, out, ignoreUsage); d != "" {
		t.Errorf("a rescan without the fan-out after one with it (-want +got):\n%s", d)
	}
}

// TestFanOutFailedItemDeactivatesNothingInItsScopes: the estate loses a
// queue in each region; a sync whose item of one region failed (or whose
// file is gone) deactivates the other region's queue only, reports that
// item's collectors as failed, and the next sync deactivates the rest.
func TestFanOutFailedItemDeactivatesNothingInItsScopes(t *testing.T) {
	cases := []struct {
		name     string
		fail     citadel.AssetSyncScope
		region   string // of the failed scopes' errors
		global   bool
		gone     int    // deactivated by the failed sync
		messages string // in each error's message
	}{
		{"the west item failed", citadel.AssetSyncScope{Region: west, Error: "States.Timeout"}, west, false, 1, "States.Timeout"},
		{"the west item's file is gone", citadel.AssetSyncScope{Region: west, Key: "scans/scan-1/assets/lost.json"}, west, false, 1, "its file is gone"},
		{"the global item failed", citadel.AssetSyncScope{Region: citadel.AssetSyncGlobalItem, Error: "Lambda.Unknown"}, inventory.GlobalRegion, true, 2, "Lambda.Unknown"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f, _, bucket := fanOutFixture(t)
			_, first := fanSync(t, f, bucket, nil)
			if len(first.Errors) != 0 {
				t.Fatalf("the first sync's collectors failed: %+v", first.Errors)
			}
			for _, q := range []struct{ region, name string }{{east, "jobs"}, {west, "jobs-eu"}} {
				c := sqs.NewFromConfig(inRegion(f.acct, q.region))
				url, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(q.name)})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: url.QueueUrl}); err != nil {
					t.Fatal(err)
				}
			}

			_, out := fanSync(t, f, bucket, map[string]citadel.AssetSyncScope{tc.fail.Region: tc.fail})
			var wantErrs []citadel.CollectorError
			for _, c := range inventory.Default() {
				if c.Global() == tc.global {
					wantErrs = append(wantErrs, citadel.CollectorError{ResourceType: c.ResourceType(), Service: c.Service(), Region: tc.region, Code: assetsync.ItemFailedCode})
				}
			}
			sort.Slice(wantErrs, func(i, j int) bool { return wantErrs[i].ResourceType < wantErrs[j].ResourceType })
			got := out.Errors
			for i := range got {
				if !strings.Contains(got[i].Message, tc.messages) {
					t.Errorf("error %+v does not say %q", got[i], tc.messages)
				}
				got[i].Message = ""
			}
			if d := cmp.Diff(wantErrs, got); d != "" {
				t.Errorf("errors (-want +got):\n%s", d)
			}
			if out.AssetsDeactivated != tc.gone || out.AssetsCreated != 0 || out.AssetsUpdated != 0 {
				t.Errorf("with an item failed: %+v, want %d deactivated", out, tc.gone)
			}
			eu, err := f.store.GetAsset(ctx, "int-1", f.estate.queueEU)
			if err != nil {
				t.Fatal(err)
			}
			if eu.IsActive == (tc.region != west) {
				t.Errorf("the west queue: active %v after %s", eu.IsActive, tc.name)
			}
			cov, _ := f.store.ListCoverage(ctx, "int-1")
			for _, c := range cov {
				if c.Service == "sqs" && c.Region == west {
					if failed := c.Types[inventory.TypeSQSQueue].Error != ""; failed != (tc.region == west) {
						t.Errorf("west sqs coverage %+v", c)
					}
				}
			}

			// The next sync, every item fine, deactivates the rest.
			_, out = fanSync(t, f, bucket, nil)
			if out.AssetsDeactivated != 2-tc.gone || len(out.Errors) != 0 || out.TotalAssets != first.TotalAssets-2 {
				t.Errorf("after recovery: %+v, want %d deactivated of the first sync's %d", out, 2-tc.gone, first.TotalAssets)
			}
			for _, arn := range []string{f.estate.queue, f.estate.queueEU} {
				if a, err := f.store.GetAsset(ctx, "int-1", arn); err != nil || a.IsActive {
					t.Errorf("after recovery, the deleted queue %s: active %v (%v)", arn, a.IsActive, err)
				}
			}
		})
	}
}

// TestFanOutItemRefusesBadInput: an item of no region, or one without the
// scan's bucket, is refused before any call.
func TestFanOutItemRefusesBadInput(t *testing.T) {
	f, _, bucket := fanOutFixture(t)
	for name, c := range map[string]struct {
		bucket string
		item   citadel.AssetSyncItem
		want   string
	}{
		"no region":       {bucket, citadel.AssetSyncItem{Region: "mars-1"}, `item region "mars-1" is not a region name`},
		"a bad region":    {bucket, citadel.AssetSyncItem{Region: citadel.AssetSyncGlobalItem, Regions: []string{"x"}}, `item region "x"`},
		"no scan bucket":  {"", citadel.AssetSyncItem{Region: east}, "needs the scan's bucket"},
		"an empty region": {bucket, citadel.AssetSyncItem{}, `item region ""`},
	} {
		t.Run(name, func(t *testing.T) {
			p := fanPlan(f, c.bucket)
			_, err := f.handler.Handle(context.Background(), citadel.AssetSyncInput{Plan: p, Item: &c.item})
			if err == nil || !strings.Contains(err.Error(), c.want) || !citadel.IsInvalid(err) {
				t.Errorf("err = %v, want an invalid input saying %q", err, c.want)
			}
		})
	}
}
