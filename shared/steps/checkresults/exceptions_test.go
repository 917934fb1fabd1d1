package checkresults_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ocsf/ocsftest"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/testkit/exctest"
)

const day = 24 * time.Hour

// excCase is one result of the exceptions scan: its finding, and the
// exception on it (scope and status) if any.
type excCase struct {
	check, status string
	muted         bool
	asset         int    // bucket number (b01 tagged exposure=public, b02 private)
	exc           string // the exception's id, "" none
	scope         citadel.ScopeKind
	excStatus     citadel.ExceptionStatus
	expires       time.Duration // from now; 0: 30 days
}

const (
	publicCheck  = "s3_bucket_public_access"
	mfaCheck     = "iam_user_mfa_enabled"
	encryptCheck = "ec2_ebs_volume_encryption"
)

var excCases = []excCase{
	{check: publicCheck, status: "FAIL", asset: 0, exc: "exc-asset", scope: citadel.ScopeAsset, excStatus: citadel.ExceptionApproved},
	{check: publicCheck, status: "FAIL", asset: 1, exc: "exc-tag", scope: citadel.ScopeTag, excStatus: citadel.ExceptionApproved},
	{check: publicCheck, status: "FAIL", asset: 2},
	{check: publicCheck, status: "FAIL", muted: true, asset: 3},
	{check: publicCheck, status: "FAIL", muted: true, asset: 4, exc: "exc-muted", scope: citadel.ScopeAsset, excStatus: citadel.ExceptionApproved, expires: day},
	{check: publicCheck, status: "FAIL", asset: 5, exc: "exc-req", scope: citadel.ScopeAsset, excStatus: citadel.ExceptionRequested},
	{check: publicCheck, status: "FAIL", asset: 6, exc: "exc-rej", scope: citadel.ScopeAsset, excStatus: citadel.ExceptionRejected},
	{check: publicCheck, status: "FAIL", asset: 7, exc: "exc-rev", scope: citadel.ScopeAsset, excStatus: citadel.ExceptionRevoked},
	{check: publicCheck, status: "FAIL", asset: 8, exc: "exc-exp", scope: citadel.ScopeAsset, excStatus: citadel.ExceptionExpired, expires: -9 * day},
	{check: publicCheck, status: "FAIL", asset: 9, exc: "exc-old", scope: citadel.ScopeAsset, excStatus: citadel.ExceptionApproved, expires: -time.Hour},
	{check: publicCheck, status: "PASS", asset: 10, exc: "exc-pass", scope: citadel.ScopeAsset, excStatus: citadel.ExceptionApproved},
	{check: encryptCheck, status: "FAIL", asset: 0, exc: "exc-integ", scope: citadel.ScopeIntegration, excStatus: citadel.ExceptionApproved},
	{check: encryptCheck, status: "FAIL", asset: 1},
	{check: encryptCheck, status: "PASS", asset: 2},
	{check: mfaCheck, status: "FAIL", asset: 0},
}

// excEnv is the exceptions scan's estate: its buckets, their findings and
// the exceptions, stored.
type excEnv struct {
	*env
	arns []string
}

func (e *excEnv) arn(n int) string   { return e.arns[n] }
func (e *excEnv) asset(n int) string { return citadel.AssetID(integ, citadel.SourceAWS, e.arns[n]) }

func newExcEnv(t *testing.T) *excEnv {
	ctx := context.Background()
	e := &excEnv{env: newEnv(t)}
	for i := range 11 {
		e.arns = append(e.arns, fmt.Sprintf("arn:aws:s3:::%s-b%02d", e.account, i))
	}
	e.seed([]string{publicCheck, mfaCheck, encryptCheck}, e.arns)
	e.tag(map[int]map[string]string{1: {"exposure": "public", "team": "web"}, 2: {"exposure": "private"}})
	for _, c := range excCases {
		if c.exc == "" {
			continue
		}
		scope := citadel.ExceptionScope{Kind: c.scope}
		switch c.scope {
		case citadel.ScopeAsset:
			scope.AssetARN = e.arn(c.asset)
		case citadel.ScopeTag:
			scope.TagKey, scope.TagValue = "exposure", "public"
		}
		expires := c.expires
		if expires == 0 {
			expires = 30 * day
		}
		exctest.Put(t, ctx, e.store, exctest.Request(t, c.exc, integ, c.check, scope, now.Add(-10*day), now.Add(expires)), c.excStatus)
	}
	return e
}

// tag sets buckets' inventory tags.
func (e *excEnv) tag(tags map[int]map[string]string) {
	e.t.Helper()
	var as []citadel.Asset
	for n, ts := range tags {
		as = append(as, citadel.Asset{ID: e.asset(n), IntegrationID: integ, Source: citadel.SourceAWS, SourceID: e.arn(n),
			ServiceType: "AWS::S3::Bucket", Name: e.arn(n), Tags: ts, IsActive: true, FirstSeen: now, LastSeen: now})
	}
	if err := e.store.PutAssets(context.Background(), as); err != nil {
		e.t.Fatal(err)
	}
}

// scan runs check-results over the cases' findings at clock `at`.
func (e *excEnv) scan(t *testing.T, scan string, at time.Time) citadel.CheckResultsOutput {
	t.Helper()
	doc := generated(t, len(excCases), func(i int) ocsftest.Spec {
		c := excCases[i]
		s := ocsftest.Spec{Check: c.check, StatusCode: c.status, UIDs: []string{e.arn(c.asset)}}
		if c.muted {
			s.Status = "Suppressed"
		}
		return s
	})
	e.putScan(scan, doc, &citadel.ProwlerManifest{ScanID: scan, FindingCount: len(excCases), ChecksExecuted: []string{publicCheck, mfaCheck, encryptCheck}})
	h := e.handler()
	h.Env = stepfn.Env{Clock: func() time.Time { return at }}
	out, err := h.Handle(context.Background(), citadel.CheckResultsInput{Plan: e.plan(scan)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// marks is each result's effective status and exception, as stored.
type mark struct {
	Status    citadel.CheckStatus // Prowler's
	Effective citadel.CheckStatus
	Muted     bool
	Exception string
}

func (e *excEnv) marks(t *testing.T) map[string]mark {
	t.Helper()
	got := map[string]mark{}
	page, err := e.store.ListResults(context.Background(), integ, 1000, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range page.Items {
		got[fmt.Sprintf("%s b%02d", r.CheckID, e.assetIndex(r.AssetID))] = mark{r.Status, r.Effective(), r.Muted, r.ExceptionID}
	}
	return got
}

func (e *excEnv) assetIndex(id string) int {
	for i := range e.arns {
		if e.asset(i) == id {
			return i
		}
	}
	return -1
}

// history is a result's history: (previous, new) status, oldest first.
func (e *excEnv) history(t *testing.T, check string, asset int) [][2]citadel.CheckStatus {
	t.Helper()
	hist, err := e.store.ResultHistory(context.Background(), citadel.ResultID(integ, check, e.asset(asset)))
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]citadel.CheckStatus
	for _, h := range hist {
		got = append(got, [2]citadel.CheckStatus{h.PreviousStatus, h.NewStatus})
	}
	return got
}

// TestExceptionsMarkResults: a failing result an approved, unexpired
// exception covers (by asset, integration or tag) is excepted after
// check-results, counted apart and no regression; requested, rejected,
// revoked, expired (or approved past expires_at) exceptions cover nothing;
// a muted finding stays failing unless covered; an unchanged rescan writes
// nothing; an exception ending, or its scope no longer matching, takes the
// mark off (excepted → fail in the history, a regression), one starting
// puts it on (fail → excepted, none).
func TestExceptionsMarkResults(t *testing.T) {
	ctx := context.Background()
	e := newExcEnv(t)
	fail, pass, excepted := citadel.StatusFail, citadel.StatusPass, citadel.StatusExcepted
	want := map[string]mark{
		publicCheck + " b00":  {fail, excepted, false, "exc-asset"},
		publicCheck + " b01":  {fail, excepted, false, "exc-tag"},
		publicCheck + " b02":  {fail, fail, false, ""},
		publicCheck + " b03":  {fail, fail, true, ""},
		publicCheck + " b04":  {fail, excepted, true, "exc-muted"},
		publicCheck + " b05":  {fail, fail, false, ""},
		publicCheck + " b06":  {fail, fail, false, ""},
		publicCheck + " b07":  {fail, fail, false, ""},
		publicCheck + " b08":  {fail, fail, false, ""},
		publicCheck + " b09":  {fail, fail, false, ""},
		publicCheck + " b10":  {pass, pass, false, ""},
		encryptCheck + " b00": {fail, excepted, false, "exc-integ"},
		encryptCheck + " b01": {fail, excepted, false, "exc-integ"},
		encryptCheck + " b02": {pass, pass, false, ""},
		mfaCheck + " b00":     {fail, fail, false, ""},
	}
	out1 := e.scan(t, "scan-01", now)
	want1 := citadel.CheckResultsOutput{ResultsCreated: 15, ChecksExecuted: 3, ChecksPassed: 2, ChecksFailed: 8, ChecksExcepted: 5,
		SnapshotsCaptured: 15, HistoryEntriesCreated: 15, RegressionEvents: 7}
	if d := cmp.Diff(want1, out1, ignoreUsage); d != "" {
		t.Errorf("first scan (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, e.marks(t)); d != "" {
		t.Errorf("first scan's results (-want +got):\n%s", d)
	}
	var regressed []string
	for _, ev := range e.events() {
		regressed = append(regressed, fmt.Sprintf("%s b%02d", ev.SecurityCheck, e.assetIndex(ev.Asset)))
	}
	sort.Strings(regressed)
	// Every unexcepted, unmuted new fail; no excepted one.
	wantRegressed := []string{mfaCheck + " b00", publicCheck + " b02", publicCheck + " b05", publicCheck + " b06", publicCheck + " b07", publicCheck + " b08", publicCheck + " b09"}
	if d := cmp.Diff(wantRegressed, regressed); d != "" {
		t.Errorf("first scan's events (-want +got):\n%s", d)
	}
	if r, err := e.store.ResultInScan(ctx, "scan-01", publicCheck, e.asset(0)); err != nil || !r.Excepted || r.Effective() != excepted {
		t.Errorf("scan-01's digest of %s b00: %+v, %v", publicCheck, r, err)
	}

	// The same findings and exceptions: nothing written but the digest
	// (its chunk, its head, the integration's pointer).
	out2 := e.scan(t, "scan-02", now)
	want2 := want1
	want2.ResultsCreated, want2.ResultsUnchanged, want2.HistoryEntriesCreated, want2.RegressionEvents = 0, 15, 0, 0
	if d := cmp.Diff(want2, out2, ignoreUsage); d != "" {
		t.Errorf("unchanged rescan (-want +got):\n%s", d)
	}
	if out2.Usage.WriteUnits > 3 {
		t.Errorf("unchanged rescan wrote %v units, more than its digest's 3", out2.Usage.WriteUnits)
	}
	if evs := e.events(); len(evs) != 0 {
		t.Errorf("unchanged rescan sent %d events", len(evs))
	}

	// Decisions and inventory change: exc-asset revoked, exc-req approved,
	// b01's tag no longer public and b02's now is; and a new exception of
	// encrypt on b00 that outlasts exc-integ, which it now reads (still
	// excepted: rewritten, no history).
	exctest.Put(t, ctx, e.store, exctest.Request(t, "exc-later", integ, encryptCheck, citadel.ExceptionScope{Kind: citadel.ScopeAsset, AssetARN: e.arn(0)},
		now.Add(-day), now.Add(60*day)), citadel.ExceptionApproved)
	for id, a := range map[string]citadel.ExceptionAction{"exc-asset": citadel.ExceptionRevoke, "exc-req": citadel.ExceptionApprove} {
		if _, err := e.store.DecideException(ctx, id, citadel.ExceptionDecision{Action: a, By: exctest.Reviewer, At: now}); err != nil {
			t.Fatal(err)
		}
	}
	e.tag(map[int]map[string]string{1: {"exposure": "private"}, 2: {"exposure": "public"}})
	out3 := e.scan(t, "scan-03", now.Add(time.Hour))
	want3 := want2
	want3.ResultsUnchanged, want3.ResultsUpdated, want3.HistoryEntriesCreated, want3.RegressionEvents = 10, 5, 4, 2
	if d := cmp.Diff(want3, out3, ignoreUsage); d != "" {
		t.Errorf("after the decisions (-want +got):\n%s", d)
	}
	want[publicCheck+" b00"] = mark{fail, fail, false, ""}
	want[publicCheck+" b01"] = mark{fail, fail, false, ""}
	want[publicCheck+" b02"] = mark{fail, excepted, false, "exc-tag"}
	want[publicCheck+" b05"] = mark{fail, excepted, false, "exc-req"}
	want[encryptCheck+" b00"] = mark{fail, excepted, false, "exc-later"}
	if d := cmp.Diff(want, e.marks(t)); d != "" {
		t.Errorf("after the decisions (-want +got):\n%s", d)
	}
	regressed = nil
	for _, ev := range e.events() {
		regressed = append(regressed, fmt.Sprintf("%s b%02d %s→%s", ev.SecurityCheck, e.assetIndex(ev.Asset), ev.PreviousStatus, ev.Status))
	}
	sort.Strings(regressed)
	if d := cmp.Diff([]string{publicCheck + " b00 excepted→fail", publicCheck + " b01 excepted→fail"}, regressed); d != "" {
		t.Errorf("after the decisions, events (-want +got):\n%s", d)
	}

	// Two days on, exc-muted (a day) has expired though still stored
	// approved: b04 fails again, muted, so no event.
	out4 := e.scan(t, "scan-04", now.Add(2*day))
	want4 := want3
	want4.ResultsUnchanged, want4.ResultsUpdated, want4.HistoryEntriesCreated, want4.RegressionEvents = 14, 1, 1, 0
	want4.ChecksFailed, want4.ChecksExcepted = 9, 4
	if d := cmp.Diff(want4, out4, ignoreUsage); d != "" {
		t.Errorf("past an expiry (-want +got):\n%s", d)
	}
	want[publicCheck+" b04"] = mark{fail, fail, true, ""}
	if d := cmp.Diff(want, e.marks(t)); d != "" {
		t.Errorf("past an expiry (-want +got):\n%s", d)
	}
	if evs := e.events(); len(evs) != 0 {
		t.Errorf("a muted result's exception ending sent %+v", evs)
	}

	// The history shows the mark coming and going.
	for _, tc := range []struct {
		asset int
		want  [][2]citadel.CheckStatus // previous, new, scan after scan
	}{
		{0, [][2]citadel.CheckStatus{{"", excepted}, {excepted, fail}}},
		{2, [][2]citadel.CheckStatus{{"", fail}, {fail, excepted}}},
		{4, [][2]citadel.CheckStatus{{"", excepted}, {excepted, fail}}},
		{5, [][2]citadel.CheckStatus{{"", fail}, {fail, excepted}}},
		{3, [][2]citadel.CheckStatus{{"", fail}}},
	} {
		if d := cmp.Diff(tc.want, e.history(t, publicCheck, tc.asset)); d != "" {
			t.Errorf("history of b%02d (-want +got):\n%s", tc.asset, d)
		}
	}
}
