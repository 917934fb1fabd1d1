package checkresults

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/digest"
)

// The comparison's logic without a store: a scan's results merged with a
// base digest and stored heads, decided.

const (
	pass = citadel.StatusPass
	fail = citadel.StatusFail
)

func testAsset(n int) digest.Asset {
	a, _ := digest.ParseAsset(fmt.Sprintf("%020x", n))
	return a
}

// res is a result in a test: check id, asset number, status, muted, hash,
// and the exception that covers it (mark.go).
type res struct {
	check string
	asset int
	st    citadel.CheckStatus
	muted bool
	hash  byte
	exc   string
}

// scanEntries builds a scan's entries as pass 1 would (checks in
// first-seen order, finding i at position i) and sorts them.
func scanEntries(rs []res) ([]entry, []string) {
	var checks []string
	idx := map[string]uint16{}
	var es []entry
	for i, r := range rs {
		ci, ok := idx[r.check]
		if !ok {
			ci = uint16(len(checks))
			idx[r.check] = ci
			checks = append(checks, r.check)
		}
		es = append(es, entry{Entry: digest.Entry{Check: ci, Asset: testAsset(r.asset), Status: digest.PackStatus(r.st, r.muted).WithException(r.exc != ""),
			Hash: digest.Hash{r.hash}.Marked(r.exc)},
			finding: uint32(i), snap: i%2 == 0})
	}
	return es, sortByCheck(checks, es)
}

// baseEntries builds a stored digest's entries, sorted.
func baseEntries(rs []res) ([]digest.Entry, []string) {
	es, checks := scanEntries(rs)
	out := make([]digest.Entry, len(es))
	for i, e := range es {
		out[i] = e.Entry
	}
	return out, checks
}

// outcome is a change as the test states it.
type outcome struct {
	Finding uint32
	Kind    decision
	Prev    citadel.CheckStatus
	HadPrev bool
	History bool
	Regress bool
}

func TestMergeAndDecide(t *testing.T) {
	for _, tt := range []struct {
		name  string
		scan  []res
		base  []res // nil: no base digest
		heads map[int]ddb.ResultState
		want  []outcome
		count decisions // without changes
	}{
		{
			name: "first scan: every result created with a history entry, a first fail a regression unless muted",
			scan: []res{{"s3_a", 1, pass, false, 1, ""}, {"s3_a", 2, fail, false, 2, ""}, {"s3_b", 1, fail, true, 3, ""}},
			want: []outcome{
				{Finding: 0, Kind: created, History: true},
				{Finding: 1, Kind: created, History: true, Regress: true},
				{Finding: 2, Kind: created, History: true},
			},
			count: decisions{created: 3, history: 3, regressions: 1},
		},
		{
			name:  "unchanged rescan",
			scan:  []res{{"s3_a", 1, pass, false, 1, ""}, {"s3_b", 2, fail, false, 2, ""}},
			base:  []res{{"s3_b", 2, fail, false, 2, ""}, {"s3_a", 1, pass, false, 1, ""}},
			count: decisions{unchanged: 2},
		},
		{
			name: "status and content drift against the base",
			scan: []res{{"s3_a", 1, fail, false, 1, ""}, {"s3_a", 2, pass, false, 9, ""}, {"s3_a", 3, pass, true, 3, ""}},
			base: []res{{"s3_a", 1, pass, false, 1, ""}, {"s3_a", 2, pass, false, 2, ""}, {"s3_a", 3, pass, false, 3, ""}},
			want: []outcome{
				{Finding: 0, Kind: updated, Prev: pass, HadPrev: true, History: true, Regress: true},
				{Finding: 1, Kind: updated, Prev: pass, HadPrev: true},
				// Muting changes the packed status: rewritten, no history.
				{Finding: 2, Kind: updated, Prev: pass, HadPrev: true},
			},
			count: decisions{updated: 3, history: 1, regressions: 1},
		},
		{
			name: "checks matched by id though the two digests number them differently",
			scan: []res{{"c", 1, pass, false, 1, ""}, {"a", 1, pass, false, 1, ""}, {"b", 1, fail, false, 1, ""}},
			base: []res{{"c", 1, pass, false, 1, ""}, {"a", 1, pass, false, 1, ""}, {"a", 5, fail, false, 1, ""}, {"d", 1, pass, false, 1, ""}},
			// b is not in the base and has no head: created.
			want:  []outcome{{Finding: 2, Kind: created, History: true, Regress: true}},
			count: decisions{unchanged: 2, created: 1, history: 1, regressions: 1},
		},
		{
			name: "an exception starting or ending to apply against the base",
			scan: []res{{"s3_a", 1, fail, false, 1, "exc-1"}, {"s3_a", 2, fail, false, 2, ""}, {"s3_a", 3, fail, false, 3, "exc-2"},
				{"s3_a", 4, fail, false, 4, "exc-1"}, {"s3_a", 5, fail, true, 5, ""}, {"s3_a", 6, pass, false, 6, ""}},
			base: []res{{"s3_a", 1, fail, false, 1, ""}, {"s3_a", 2, fail, false, 2, "exc-1"}, {"s3_a", 3, fail, false, 3, "exc-1"},
				{"s3_a", 4, fail, false, 4, "exc-1"}, {"s3_a", 5, fail, true, 5, "exc-1"}, {"s3_a", 6, fail, false, 6, "exc-1"}},
			want: []outcome{
				// Newly excepted: rewritten, fail → excepted, no regression.
				{Finding: 0, Kind: updated, Prev: fail, HadPrev: true, History: true},
				// The exception ended: excepted → fail, a regression.
				{Finding: 1, Kind: updated, Prev: citadel.StatusExcepted, HadPrev: true, History: true, Regress: true},
				// Another exception covers it now: rewritten, still excepted.
				{Finding: 2, Kind: updated, Prev: citadel.StatusExcepted, HadPrev: true},
				// Muted and no longer excepted: failing again, but muted sends nothing.
				{Finding: 4, Kind: updated, Prev: citadel.StatusExcepted, HadPrev: true, History: true},
				// Fixed while excepted.
				{Finding: 5, Kind: updated, Prev: citadel.StatusExcepted, HadPrev: true, History: true},
			},
			count: decisions{unchanged: 1, updated: 5, history: 4, regressions: 1},
		},
		{
			name: "marks against the stored heads the base lacks",
			scan: []res{{"s3_a", 1, fail, false, 1, "exc-1"}, {"s3_a", 2, fail, false, 2, "exc-1"}, {"s3_a", 3, fail, false, 3, ""}, {"s3_a", 4, fail, false, 4, "exc-2"}},
			base: []res{{"s3_z", 1, pass, false, 1, ""}},
			heads: map[int]ddb.ResultState{
				0: {ScanID: "scan-0", Status: fail, ContentHash: digest.Hash{1}.String(), ExceptionID: "exc-1"}, // as stored: unchanged
				1: {ScanID: "scan-0", Status: fail, ContentHash: digest.Hash{2}.String()},
				2: {ScanID: "scan-0", Status: fail, ContentHash: digest.Hash{3}.String(), ExceptionID: "exc-1"},
				3: {ScanID: "scan-0", Status: fail, ContentHash: digest.Hash{4}.String(), ExceptionID: "exc-1"},
			},
			want: []outcome{
				{Finding: 1, Kind: updated, Prev: fail, HadPrev: true, History: true},
				{Finding: 2, Kind: updated, Prev: citadel.StatusExcepted, HadPrev: true, History: true, Regress: true},
				{Finding: 3, Kind: updated, Prev: citadel.StatusExcepted, HadPrev: true},
			},
			count: decisions{unchanged: 1, updated: 3, history: 2, regressions: 1},
		},
		{
			name:  "a first scan's excepted result is no regression",
			scan:  []res{{"s3_a", 1, fail, false, 1, "exc-1"}},
			want:  []outcome{{Finding: 0, Kind: created, History: true}},
			count: decisions{created: 1, history: 1},
		},
		{
			name: "results the base lacks decided from their stored heads",
			scan: []res{{"s3_a", 1, pass, false, 1, ""}, {"s3_a", 2, fail, false, 2, ""}, {"s3_a", 3, fail, false, 3, ""}, {"s3_a", 4, fail, false, 4, ""}, {"s3_a", 5, pass, false, 5, ""}},
			base: []res{{"s3_z", 1, pass, false, 1, ""}},
			heads: map[int]ddb.ResultState{
				// Same content as stored: unchanged.
				0: {ScanID: "scan-0", Status: pass, ContentHash: digest.Hash{1}.String()},
				// Other content: updated from the stored status.
				1: {ScanID: "scan-0", Status: pass, ContentHash: digest.Hash{7}.String()},
				// Written by an interrupted run of this scan, which saw a previous pass.
				2: {ScanID: "scan-1", Status: fail, ContentHash: digest.Hash{3}.String(), PreviousStatus: pass, HadPrevious: true},
				// Written by an interrupted run of this scan as a first-ever result.
				3: {ScanID: "scan-1", Status: fail, ContentHash: digest.Hash{4}.String()},
			},
			want: []outcome{
				{Finding: 1, Kind: updated, Prev: pass, HadPrev: true, History: true, Regress: true},
				{Finding: 2, Kind: updated, Prev: pass, HadPrev: true, History: true, Regress: true},
				{Finding: 3, Kind: created, History: true, Regress: true},
				{Finding: 4, Kind: created, History: true},
			},
			count: decisions{unchanged: 1, updated: 2, created: 2, history: 4, regressions: 3},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			es, checks := scanEntries(tt.scan)
			var baseChecks []string
			var base []digest.Entry
			if tt.base != nil {
				base, baseChecks = baseEntries(tt.base)
			}
			m := newMerger(es, checks, baseChecks)
			for _, b := range base {
				m.add(b)
			}
			// Heads are given by finding; entries are in digest order.
			heads := map[int]ddb.ResultState{}
			for i, e := range es {
				if h, ok := tt.heads[int(e.finding)]; ok {
					heads[i] = h
				}
			}
			d := decide("scan-1", es, m.base, heads)
			var got []outcome
			for _, ch := range d.changes {
				got = append(got, outcome{Finding: ch.finding, Kind: ch.kind, Prev: ch.prev, HadPrev: ch.hadPrev, History: ch.history, Regress: ch.regress})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			d.changes = nil
			if diff := cmp.Diff(tt.count, d, cmp.AllowUnexported(decisions{})); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMergerForgetsAnIncompleteBase(t *testing.T) {
	es, checks := scanEntries([]res{{"s3_a", 1, pass, false, 1, ""}, {"s3_a", 2, pass, false, 2, ""}})
	base, baseChecks := baseEntries([]res{{"s3_a", 1, pass, false, 1, ""}})
	m := newMerger(es, checks, baseChecks)
	m.add(base[0])
	if d := cmp.Diff([]int{1}, m.missing()); d != "" {
		t.Errorf("missing (-want +got):\n%s", d)
	}
	m.forget()
	if d := cmp.Diff([]int{0, 1}, m.missing()); d != "" {
		t.Errorf("missing after forget (-want +got):\n%s", d)
	}
}

func TestSortByCheckAndCount(t *testing.T) {
	es, checks := scanEntries([]res{{"z", 2, pass, false, 0, ""}, {"a", 9, fail, true, 0, ""}, {"z", 1, citadel.StatusError, false, 0, ""},
		{"m", 1, citadel.StatusNotApplicable, false, 0, ""}, {"a", 3, fail, false, 0, "exc-1"}, {"a", 4, fail, true, 0, "exc-1"}})
	if d := cmp.Diff([]string{"a", "m", "z"}, checks); d != "" {
		t.Errorf("checks (-want +got):\n%s", d)
	}
	var order []uint32
	for _, e := range es {
		order = append(order, e.finding)
	}
	if d := cmp.Diff([]uint32{4, 5, 1, 3, 2, 0}, order); d != "" {
		t.Errorf("entries by (check, asset): findings (-want +got):\n%s", d)
	}
	var out citadel.CheckResultsOutput
	countResults(&out, es)
	want := citadel.CheckResultsOutput{ChecksPassed: 1, ChecksFailed: 1, ChecksExcepted: 2, ChecksError: 1, ChecksNotApplicable: 1, SnapshotsCaptured: 3, SnapshotsFailed: 3}
	if d := cmp.Diff(want, out); d != "" {
		t.Errorf("counts (-want +got):\n%s", d)
	}
}
