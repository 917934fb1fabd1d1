package ddb_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/digest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func digestEntries(n int, checks []string) []digest.Entry {
	var es []digest.Entry
	for c := range checks {
		for i := 0; i < n; i++ {
			var e digest.Entry
			e.Check = uint16(c)
			copy(e.Asset[:], fmt.Sprintf("%010d", i))
			e.Status = digest.PackStatus([]citadel.CheckStatus{citadel.StatusPass, citadel.StatusFail, citadel.StatusError, citadel.StatusNotApplicable}[i%4], i%5 == 0).
				WithException(i%3 == 0) // some failing ones excepted
			copy(e.Hash[:], fmt.Sprintf("h%07d", i))
			es = append(es, e)
		}
	}
	return es
}

func TestScanDigestAnswersStatusOfCheckOnAssetInScan(t *testing.T) {
	ctx := context.Background()
	store := testenv.Store(t)
	checks := []string{"a_check", "b_check", "c_check"}
	entries := digestEntries(2500, checks) // 7500 entries: 3 chunks
	d := ddb.ScanDigest{IntegrationID: "integ-1", ScanID: "scan-1", Checks: checks, Output: []byte(`{"results_created":1}`), CreatedAt: rt0}
	if err := store.PutScanDigest(ctx, d, entries); err != nil {
		t.Fatal(err)
	}
	head, err := store.LatestScanDigest(ctx, "integ-1")
	if err != nil {
		t.Fatal(err)
	}
	if head.Count != 7500 || len(head.Firsts) != 3 || string(head.Output) != `{"results_created":1}` {
		t.Fatalf("head: count %d, %d chunks, output %s", head.Count, len(head.Firsts), head.Output)
	}
	var got []digest.Entry
	if err := store.DigestEntries(ctx, head, func(e digest.Entry) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(entries, got); d != "" {
		t.Fatalf("entries (-want +got):\n%s", d)
	}
	// Point lookups: the first and last of each chunk and some between.
	for _, i := range []int{0, 1, 2999, 3000, 3001, 5999, 6000, 7499, 4321, 9, 13} {
		e := entries[i]
		asset := e.Asset.String()
		r, err := store.ResultInScan(ctx, "scan-1", checks[e.Check], asset)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		st, muted := e.Status.Unpack()
		want := ddb.ScanResult{CheckID: checks[e.Check], AssetID: asset, ResultID: citadel.ResultID("integ-1", checks[e.Check], asset),
			Status: st, Muted: muted, Excepted: st == citadel.StatusFail && i%2500%3 == 0, ContentHash: e.Hash.String()}
		if d := cmp.Diff(want, r); d != "" {
			t.Errorf("entry %d (-want +got):\n%s", i, d)
		}
	}
	for _, miss := range [][2]string{{"a_check", strings.Repeat("f", 20)}, {"zz", strings.Repeat("0", 20)}, {"a_check", "short"}, {"0", strings.Repeat("0", 20)}} {
		if _, err := store.ResultInScan(ctx, "scan-1", miss[0], miss[1]); !citadel.IsNotFound(err) {
			t.Errorf("ResultInScan(%v): %v, want not found", miss, err)
		}
	}
	n := 0
	if err := store.ResultsOfScan(ctx, "scan-1", func(ddb.ScanResult) error { n++; return nil }); err != nil || n != 7500 {
		t.Errorf("ResultsOfScan: %d, %v", n, err)
	}
	// Chunks and head carry the TTL.
	var items []struct {
		SK        string
		ExpiresAt int64
	}
	if err := store.QueryAllPK(ctx, "SCAN#scan-1", &items); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.ExpiresAt != rt0.Add(ddb.DigestRetention).Unix() {
			t.Errorf("%s: ExpiresAt %d", it.SK, it.ExpiresAt)
		}
	}
	if len(items) != 4 {
		t.Errorf("%d digest items, want a head and 3 chunks", len(items))
	}
}

func TestScanDigestRejectsBadEntries(t *testing.T) {
	ctx := context.Background()
	store := testenv.Store(t)
	d := ddb.ScanDigest{IntegrationID: "integ-1", ScanID: "scan-1", Checks: []string{"a", "b"}, CreatedAt: rt0}
	es := digestEntries(2, d.Checks)
	for name, bad := range map[string][]digest.Entry{
		"unsorted":      {es[1], es[0]},
		"repeated":      {es[0], es[0]},
		"unknown check": {{Check: 7}},
	} {
		if err := store.PutScanDigest(ctx, d, bad); !citadel.IsInvalid(err) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	d.Checks = []string{"b", "a"}
	if err := store.PutScanDigest(ctx, d, nil); !citadel.IsInvalid(err) {
		t.Errorf("unsorted checks: %v, want invalid", err)
	}
	if _, err := store.LatestScanDigest(ctx, "integ-1"); !citadel.IsNotFound(err) {
		t.Errorf("no digest was stored, got %v", err)
	}
}

// A digest streams 8 chunks (504 KB) a query: 17 chunks take 3 requests.
func TestDigestEntriesReadEightChunksARequest(t *testing.T) {
	ctx := context.Background()
	store := testenv.Store(t)
	checks := []string{"a_check"}
	entries := digestEntries(16*ddb.DigestChunkEntries+1, checks)
	d := ddb.ScanDigest{IntegrationID: "integ-1", ScanID: "scan-1", Checks: checks, CreatedAt: rt0}
	if err := store.PutScanDigest(ctx, d, entries); err != nil {
		t.Fatal(err)
	}
	head, err := store.GetScanDigest(ctx, "scan-1")
	if err != nil {
		t.Fatal(err)
	}
	before := store.Usage()
	n := 0
	if err := store.DigestEntries(ctx, head, func(digest.Entry) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if used := store.Usage().Sub(before); n != len(entries) || used.Requests != 3 {
		t.Errorf("streamed %d of %d entries in %d requests, want all in 3", n, len(entries), used.Requests)
	}
}
