package ddb_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

var rt0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func testResult(integ, check string, n int, st citadel.CheckStatus, scan string) citadel.CheckResult {
	arn := fmt.Sprintf("arn:aws:s3:::bucket-%d", n)
	return citadel.CheckResult{
		IntegrationID: integ, CheckID: check, AssetID: citadel.AssetID(integ, "aws", arn), AssetARN: arn,
		ScanID: scan, FirstScanID: scan, Status: st, StatusExtended: "detail " + arn, Severity: citadel.SeverityHigh,
		Region: "us-east-1", RawOutput: []byte(`{"status_code":"` + strings.ToUpper(string(st)) + `"}`),
		ResourceSnapshot: []byte(`{"arn":"` + arn + `"}`), ContentHash: fmt.Sprintf("%016x", n), ScannedAt: rt0,
	}
}

func TestPutResultsRoundTrip(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	s3c, bucket := testenv.Bucket(t, cfg)
	store := testenv.Store(t, ddb.WithBlobs(&blobstore.S3{Client: s3c, Bucket: bucket}))

	var ws []ddb.ResultWrite
	var want []citadel.CheckResult
	for i := 0; i < 60; i++ {
		check := []string{"s3_a", "s3_b"}[i%2]
		r := testResult("integ-1", check, i, citadel.StatusFail, "scan-1")
		if i%3 == 1 {
			r.ExceptionID = "exc-1" // an approved exception covers it: excepted
		}
		h := &citadel.CheckResultHistory{IntegrationID: "integ-1", CheckID: check, AssetID: r.AssetID, ScanID: "scan-1", NewStatus: r.Effective(), ChangedAt: rt0}
		ws = append(ws, ddb.ResultWrite{Result: r, History: h})
		want = append(want, r)
	}
	// One result far over the item limit: its raw output goes to S3.
	big := testResult("integ-1", "s3_a", 1000, citadel.StatusPass, "scan-1")
	big.RawOutput = []byte(`{"x":"` + strings.Repeat("y", 600<<10) + `"}`)
	ws = append(ws, ddb.ResultWrite{Result: big})
	want = append(want, big)
	if err := store.PutResults(ctx, ws); err != nil {
		t.Fatal(err)
	}
	// Rewriting the same results stores the same items.
	if err := store.PutResults(ctx, ws); err != nil {
		t.Fatal(err)
	}

	var got []citadel.CheckResult
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := store.ListResults(ctx, "integ-1", 25, cursor)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page.Items...)
		if page.Next == "" {
			if pages < 2 {
				t.Errorf("61 results in %d pages of 25", pages+1)
			}
			break
		}
		cursor = page.Next
	}
	byKey := func(rs []citadel.CheckResult) {
		sort.Slice(rs, func(i, j int) bool { return rs[i].CheckID+rs[i].AssetID < rs[j].CheckID+rs[j].AssetID })
	}
	byKey(want)
	byKey(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ListResults (-want +got):\n%s", d)
	}

	// The heads are the same results without their bulk.
	heads, err := store.ListResultHeads(ctx, "integ-1", 1000, "")
	if err != nil {
		t.Fatal(err)
	}
	byKey(heads.Items)
	wantHeads := make([]citadel.CheckResult, len(want))
	for i, r := range want {
		r.RawOutput, r.ResourceSnapshot = nil, nil
		wantHeads[i] = r
	}
	if d := cmp.Diff(wantHeads, heads.Items); d != "" {
		t.Errorf("ListResultHeads (-want +got):\n%s", d)
	}

	one, err := store.GetResult(ctx, "integ-1", "s3_a", big.AssetID)
	if err != nil || len(one.RawOutput) != len(big.RawOutput) {
		t.Fatalf("GetResult of the offloaded result: %d bytes, %v", len(one.RawOutput), err)
	}
	ofCheck, err := store.ListResultsOfCheck(ctx, "integ-1", "s3_b", 100, "")
	if err != nil || len(ofCheck.Items) != 30 {
		t.Fatalf("ListResultsOfCheck: %d, %v", len(ofCheck.Items), err)
	}
	if _, err := store.GetResult(ctx, "integ-1", "s3_a", "nope"); !citadel.IsNotFound(err) {
		t.Errorf("GetResult of a missing result: %v", err)
	}

	id0 := citadel.ResultID("integ-1", "s3_a", want[0].AssetID)
	hist, err := store.ResultHistory(ctx, id0)
	if err != nil || len(hist) != 1 || hist[0].NewStatus != citadel.StatusFail || hist[0].PreviousStatus != "" {
		t.Fatalf("ResultHistory: %+v, %v", hist, err)
	}
	ref0 := ddb.ResultRef{CheckID: "s3_a", AssetID: want[0].AssetID}
	exc := testResult("integ-1", "s3_b", 1, citadel.StatusFail, "scan-1")
	ref1 := ddb.ResultRef{CheckID: "s3_b", AssetID: exc.AssetID}
	states, err := store.ResultStates(ctx, "integ-1", []ddb.ResultRef{ref0, ref1, {CheckID: "s3_a", AssetID: "missing"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[ddb.ResultRef]ddb.ResultState{
		ref0: {ScanID: "scan-1", Status: citadel.StatusFail, ContentHash: want[0].ContentHash},
		ref1: {ScanID: "scan-1", Status: citadel.StatusFail, ContentHash: exc.ContentHash, ExceptionID: "exc-1"},
	}, states); d != "" {
		t.Errorf("ResultStates (-want +got):\n%s", d)
	}
	if st := states[ref1]; st.Effective() != citadel.StatusExcepted || states[ref0].Effective() != citadel.StatusFail {
		t.Errorf("effective statuses %s, %s", st.Effective(), states[ref0].Effective())
	}
	// The mark goes when the result is written without it.
	exc.ScanID = "scan-2"
	if err := store.PutResults(ctx, []ddb.ResultWrite{{Result: exc, PreviousStatus: citadel.StatusExcepted, HadPrevious: true}}); err != nil {
		t.Fatal(err)
	}
	if got, err := store.GetResult(ctx, "integ-1", "s3_b", exc.AssetID); err != nil || got.ExceptionID != "" || got.Effective() != citadel.StatusFail {
		t.Errorf("unmarked: %+v, %v", got, err)
	}
	bad := exc
	bad.Status, bad.ExceptionID = citadel.StatusPass, "exc-1"
	if err := store.PutResults(ctx, []ddb.ResultWrite{{Result: bad}}); !citadel.IsInvalid(err) {
		t.Errorf("a passing result marked excepted: %v, want invalid", err)
	}
}

func TestResultItemsStayBoundedWithoutBlobs(t *testing.T) {
	ctx := context.Background()
	store := testenv.Store(t)
	r := testResult("integ-1", "s3_a", 1, citadel.StatusFail, "scan-1")
	noise := make([]byte, 195<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	r.RawOutput = []byte(`"` + hex.EncodeToString(noise) + `"`)           // 390 KB that gzip cannot fit in 64 KB
	r.ResourceSnapshot = []byte(`"` + strings.Repeat("z", 390<<10) + `"`) // 390 KB that it can
	if err := store.PutResults(ctx, []ddb.ResultWrite{{Result: r}}); err != nil {
		t.Fatal(err)
	}
	got, err := store.GetResult(ctx, "integ-1", "s3_a", r.AssetID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.RawOutput) != ddb.InlineLimit || string(got.RawOutput) != string(r.RawOutput[:ddb.InlineLimit]) {
		t.Errorf("raw output: kept %d bytes, want its first %d", len(got.RawOutput), ddb.InlineLimit)
	}
	if string(got.ResourceSnapshot) != string(r.ResourceSnapshot) {
		t.Errorf("snapshot: kept %d bytes, want all %d (compressed)", len(got.ResourceSnapshot), len(r.ResourceSnapshot))
	}
	bad := r
	bad.Status = "weird"
	if err := store.PutResults(ctx, []ddb.ResultWrite{{Result: bad}}); !citadel.IsInvalid(err) {
		t.Errorf("a result with a bad status: %v, want invalid", err)
	}
}
