package checkresults_test

import (
	"context"
	"encoding/json"
	"maps"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/steps/checkresults"
)

// s3pub is a second S3 check beside s3enc.
const s3pub = "s3_bucket_public_access"

// recheckInput is a re-check of arns: its resources file in S3, one shard
// of shard (its checks run on the arns), the plan naming the file.
func (e *env) recheckInput(scan string, arns []string, shard testShard) citadel.CheckResultsInput {
	e.t.Helper()
	f := citadel.RecheckFile{IntegrationID: integ, ARNs: arns, Services: citadel.RecheckServices(arns), Events: 3 * len(arns),
		FirstEventAt: now.Add(-5 * 60e9), LastEventAt: now}
	if err := f.Validate(); err != nil {
		e.t.Fatal(err)
	}
	key := citadel.ScanObjectKey(scan, citadel.RecheckFileName)
	b, _ := json.Marshal(f)
	e.put(key, b)
	in := e.putShards(scan, []testShard{shard})
	rc := f.Recheck(key)
	in.Plan.Recheck = &rc
	return in
}

// TestRecheckTouchesOnlyWhatItCovers: after a full scan, a re-check of one
// bucket in which a check regresses updates that result alone (with its
// history entry and its Check Regressed event), leaves every other result as
// it was and carries the rest of the previous digest, so the re-check's
// digest is complete; it records no shard durations. An unchanged re-check
// writes only its digest. A re-check resolves (leaves out of its digest)
// only a result of a covered resource and a check Prowler ran: a result of
// an uncovered resource absent from the OCSF file is carried, as is one of a
// check that did not run. A finding of a resource the re-check does not
// name is skipped, never written.
func TestRecheckTouchesOnlyWhatItCovers(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.seedAt([]string{ebs, s3enc, s3pub}, []assetAt{{volA, "us-east-1"}, {bucketX, "us-east-1"}, {bucketY, "us-east-1"}, {bucketZ, "us-east-1"}})
	h := e.handler()
	full := testShard{id: "s01", regions: []string{"us-east-1"}, seconds: 100,
		units: []citadel.ShardUnit{{Region: "us-east-1", Group: "storage"}, {Region: "us-east-1", Group: "compute"}},
		elems: []string{finding(ebs, "FAIL", "us-east-1", volA),
			finding(s3enc, "PASS", "us-east-1", bucketX), finding(s3enc, "PASS", "us-east-1", bucketY), finding(s3enc, "PASS", "us-east-1", bucketZ),
			finding(s3pub, "PASS", "us-east-1", bucketX), finding(s3pub, "PASS", "us-east-1", bucketY)}}
	out1, err := h.Handle(ctx, e.putShards("scan-01", []testShard{full}))
	if err != nil {
		t.Fatal(err)
	}
	if out1.ResultsCreated != 6 {
		t.Fatalf("full scan: %+v", out1)
	}
	e.events()
	times1, err := e.store.ShardDurations(ctx, integ)
	if err != nil || len(times1) == 0 {
		t.Fatalf("durations of the full scan: %v, %v", times1, err)
	}
	results1, digest1 := e.currentResults(), e.digestOf("scan-01")

	storage := []citadel.ShardUnit{{Region: "us-east-1", Group: "storage"}}
	// The re-check of bucket X: encryption now fails. Prowler also reports
	// bucket Y, which the re-check does not name: skipped.
	regress := testShard{id: "s01", regions: []string{"us-east-1"}, seconds: 5, units: storage,
		elems: []string{finding(s3enc, "FAIL", "us-east-1", bucketX), finding(s3pub, "PASS", "us-east-1", bucketX),
			finding(s3pub, "FAIL", "us-east-1", bucketY)}}
	out2, err := h.Handle(ctx, e.recheckInput("scan-02", []string{bucketX}, regress))
	if err != nil {
		t.Fatal(err)
	}
	want2 := citadel.CheckResultsOutput{ResultsUpdated: 1, ResultsUnchanged: 1, HistoryEntriesCreated: 1, RegressionEvents: 1,
		ARNsSkipped: 1, ChecksExecuted: 2, ChecksPassed: 1, ChecksFailed: 1, SnapshotsCaptured: 2, ResultsCarried: 4,
		ProblemsKey: citadel.ScanObjectKey("scan-02", checkresults.ProblemsFileName)}
	if d := cmp.Diff(want2, out2, ignoreUsage); d != "" {
		t.Errorf("re-check output (-want +got):\n%s", d)
	}
	if ps := e.problems("scan-02"); len(ps) != 1 || ps[0].Kind != checkresults.KindNotRechecked || ps[0].UID != bucketY {
		t.Errorf("problems: %+v", ps)
	}
	evs := e.events()
	if len(evs) != 1 || evs[0].SecurityCheck != s3enc || evs[0].AssetARN != bucketX || evs[0].PreviousStatus != citadel.StatusPass ||
		evs[0].Status != citadel.StatusFail || evs[0].ScanID != "scan-02" {
		t.Errorf("events: %+v", evs)
	}
	results2 := e.currentResults()
	if r := results2[key(s3enc, bucketX)]; r.Status != citadel.StatusFail || r.ScanID != "scan-02" {
		t.Errorf("the regressed result: %+v", r)
	}
	others := func(m map[string]citadel.CheckResult) map[string]citadel.CheckResult {
		m = maps.Clone(m)
		delete(m, key(s3enc, bucketX))
		return m
	}
	if d := cmp.Diff(others(results1), others(results2)); d != "" {
		t.Errorf("results the re-check does not cover changed (-before +after):\n%s", d)
	}
	hist, err := e.store.ResultHistory(ctx, citadel.ResultID(integ, s3enc, citadel.AssetID(integ, citadel.SourceAWS, bucketX)))
	if err != nil || len(hist) != 2 || hist[0].ScanID != "scan-02" && hist[1].ScanID != "scan-02" {
		t.Errorf("history of the regressed result: %+v, %v", hist, err)
	}
	// The digest is complete: the full scan's, X's encryption failing.
	want := maps.Clone(digest1)
	r := want[digestKey(s3enc, bucketX)]
	r.Status, r.ContentHash = citadel.StatusFail, e.digestOf("scan-02")[digestKey(s3enc, bucketX)].ContentHash
	want[digestKey(s3enc, bucketX)] = r
	if d := cmp.Diff(want, e.digestOf("scan-02")); d != "" {
		t.Errorf("re-check digest (-want +got):\n%s", d)
	}
	if times, err := e.store.ShardDurations(ctx, integ); err != nil || !cmp.Equal(times, times1) {
		t.Errorf("a re-check recorded durations: %v (the full scan's %v), %v", times, times1, err)
	}

	// The same re-check again: nothing changed, only the digest is written.
	before := e.store.Usage()
	out3, err := h.Handle(ctx, e.recheckInput("scan-03", []string{bucketX}, regress))
	if err != nil {
		t.Fatal(err)
	}
	if out3.ResultsCreated+out3.ResultsUpdated+out3.HistoryEntriesCreated+out3.RegressionEvents != 0 || out3.ResultsUnchanged != 2 || out3.ResultsCarried != 4 {
		t.Errorf("unchanged re-check: %+v", out3)
	}
	if evs := e.events(); len(evs) != 0 {
		t.Errorf("unchanged re-check sent %+v", evs)
	}
	if d := cmp.Diff(results2, e.currentResults()); d != "" {
		t.Errorf("unchanged re-check rewrote results (-before +after):\n%s", d)
	}
	if d := cmp.Diff(e.digestOf("scan-02"), e.digestOf("scan-03")); d != "" {
		t.Errorf("unchanged re-check's digest (-scan-02 +scan-03):\n%s", d)
	}
	if u := e.store.Usage().Sub(before); u.WriteUnits > 4 {
		t.Errorf("unchanged re-check wrote %.1f units: more than its digest (head, one chunk, the latest pointer)", u.WriteUnits)
	}

	// A re-check of bucket Y whose file has only its encryption result, both
	// S3 checks run: Y's public-access result is resolved (out of the
	// digest, its current item kept), X's results (not covered) and the
	// volume's (a check not run) are carried.
	partial := testShard{id: "s01", regions: []string{"us-east-1"}, seconds: 5, units: storage, executed: []string{s3enc, s3pub},
		elems: []string{finding(s3enc, "PASS", "us-east-1", bucketY)}}
	out4, err := h.Handle(ctx, e.recheckInput("scan-04", []string{bucketY}, partial))
	if err != nil {
		t.Fatal(err)
	}
	if out4.ResultsUnchanged != 1 || out4.ResultsCarried != 4 || out4.ResultsUpdated+out4.ResultsCreated != 0 {
		t.Errorf("re-check of bucket Y: %+v", out4)
	}
	want = e.digestOf("scan-03")
	delete(want, digestKey(s3pub, bucketY))
	if d := cmp.Diff(want, e.digestOf("scan-04")); d != "" {
		t.Errorf("re-check of bucket Y's digest (-want +got):\n%s", d)
	}
	if d := cmp.Diff(results2, e.currentResults()); d != "" {
		t.Errorf("re-check of bucket Y changed results (-before +after):\n%s", d)
	}
}

// TestRecheckFileErrors: a re-check whose resources file is missing, or
// another integration's, fails the step with a non-retryable error that
// names the file, and writes nothing.
func TestRecheckFileErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		edit func(e *env, in *citadel.CheckResultsInput)
		want func(error) bool
	}{
		{"missing", func(e *env, in *citadel.CheckResultsInput) { in.Plan.Recheck.Key = "scans/nowhere/recheck.json" }, citadel.IsNotFound},
		{"another integration's", func(e *env, in *citadel.CheckResultsInput) { in.Plan.IntegrationID = "int-other" }, citadel.IsInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.seedAt([]string{s3enc}, []assetAt{{bucketX, "us-east-1"}})
			in := e.recheckInput("scan-01", []string{bucketX}, testShard{id: "s01", regions: []string{"us-east-1"},
				units: []citadel.ShardUnit{{Region: "us-east-1", Group: "storage"}}, elems: []string{finding(s3enc, "FAIL", "us-east-1", bucketX)}})
			tc.edit(e, &in)
			_, err := e.handler().Handle(ctx, in)
			if err == nil || !tc.want(err) || citadel.IsRetryable(err) {
				t.Fatalf("error %v", err)
			}
			e.noScanWritten("scan-01")
		})
	}
}
