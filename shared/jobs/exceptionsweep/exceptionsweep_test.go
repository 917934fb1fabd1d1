package exceptionsweep_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/busevents"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/jobs/exceptionsweep"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/testkit/exctest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

const (
	day   = 24 * time.Hour
	integ = "int-1"
	check = "s3_bucket_default_encryption"
	other = "iam_user_mfa_enabled"
)

// env is a store with integration int-1 of folder f1, three results of
// check (a0 and a1 failing, a2 passing), one of other failing, a control
// counting check's, and a bus whose citadel events land in a queue.
type env struct {
	t     *testing.T
	cfg   aws.Config
	store *ddb.Store
	eb    *eventbridge.Client
	bus   string
	queue string
}

func arn(n int) string                    { return fmt.Sprintf("arn:aws:s3:::bucket-a%d", n) }
func assetID(n int) string                { return citadel.AssetID(integ, citadel.SourceAWS, arn(n)) }
func controlID() string                   { return citadel.AppliedControlIDForSCF("f1", "CRY-05") }
func hash(n int) string                   { return fmt.Sprintf("%032x", n+1) }
func at(d time.Duration) func() time.Time { return func() time.Time { return t0.Add(d) } }

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, cfg: testenv.Config(t), store: testenv.Store(t)}
	e.eb = eventbridge.NewFromConfig(e.cfg)
	e.bus, e.queue = testenv.EventBus(t, e.cfg, `{"source":["citadel"]}`)
	if err := e.store.CreateIntegration(ctx, citadel.Integration{ID: integ, FolderID: "f1", Name: "test", AccountID: "123456789012",
		RoleARN: "arn:aws:iam::123456789012:role/citadel-scanner", ExternalID: "citadel-test", Regions: []string{"us-east-1"},
		CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	var ws []ddb.ResultWrite
	for i, st := range []citadel.CheckStatus{citadel.StatusFail, citadel.StatusFail, citadel.StatusPass} {
		ws = append(ws, e.result(check, i, st))
	}
	ws = append(ws, e.result(other, 0, citadel.StatusFail))
	if err := e.store.PutResults(ctx, ws); err != nil {
		t.Fatal(err)
	}
	c := citadel.AppliedControl{ID: controlID(), FolderID: "f1", RefID: "SCF-CRY-05", Name: "SCF-CRY-05: encryption",
		Category: citadel.CategoryTechnical, Origin: citadel.OriginScan, Status: citadel.ControlActive, IsAutomated: true,
		SCFControlID: "CRY-05", SecurityCheckIDs: []string{check},
		Integrations: map[string]citadel.IntegrationPosture{integ: {Passed: 1, Failed: 2, LinksDigest: "d1"}}, CreatedAt: t0, UpdatedAt: t0}
	c.SumIntegrations()
	if _, err := e.store.PutControl(ctx, c); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) result(checkID string, n int, st citadel.CheckStatus) ddb.ResultWrite {
	r := citadel.CheckResult{IntegrationID: integ, CheckID: checkID, AssetID: assetID(n), AssetARN: arn(n), ScanID: "scan-01",
		Status: st, Severity: citadel.Severity("high"), Region: "us-east-1", ContentHash: hash(n), ScannedAt: t0, FirstScanID: "scan-01"}
	return ddb.ResultWrite{Result: r, History: &citadel.CheckResultHistory{IntegrationID: integ, CheckID: checkID, AssetID: r.AssetID,
		ScanID: "scan-01", NewStatus: st, ChangedAt: t0}}
}

func (e *env) sweeper(clock func() time.Time, store exceptionsweep.Store) *exceptionsweep.Handler {
	if store == nil {
		store = e.store
	}
	return &exceptionsweep.Handler{Store: store, Events: e.eb, EventBus: e.bus, ReminderDays: 14, Env: stepfn.Env{Clock: clock}}
}

// exception stores an exception of check over the whole integration,
// requested at t0-day, expiring at expires, moved to status.
func (e *env) exception(id string, expires time.Duration, status citadel.ExceptionStatus) citadel.Exception {
	return exctest.Put(e.t, context.Background(), e.store,
		exctest.Request(e.t, id, integ, check, citadel.ExceptionScope{Kind: citadel.ScopeIntegration}, t0.Add(-day), t0.Add(expires)), status)
}

// statuses are check's results' effective statuses and marks, by asset.
func (e *env) statuses() map[int]string {
	e.t.Helper()
	out := map[int]string{}
	for i := range 3 {
		r, err := e.store.GetResult(context.Background(), integ, check, assetID(i))
		if err != nil {
			e.t.Fatal(err)
		}
		out[i] = string(r.Effective()) + " " + r.ExceptionID
	}
	return out
}

// posture is the control's counts and posture of the integration.
type posture struct {
	Passed, Failed, Excepted int
	Posture                  citadel.Posture
}

func (e *env) posture() posture {
	e.t.Helper()
	c, err := e.store.GetControl(context.Background(), controlID())
	if err != nil {
		e.t.Fatal(err)
	}
	p := c.Integrations[integ]
	if c.FailCount != p.Failed || c.ExceptedCount != p.Excepted {
		e.t.Errorf("control's sums %d failed, %d excepted; its integration's %+v", c.FailCount, c.ExceptedCount, p)
	}
	return posture{p.Passed, p.Failed, p.Excepted, c.Posture}
}

// events reads the bus's events (up to want, or a short wait): detail type
// and the exception's id or the regressed result's asset.
func (e *env) events(want int) []string {
	e.t.Helper()
	wait := 5 * time.Second
	if want == 0 {
		wait, want = 2*time.Second, 1
	}
	var out []string
	for _, b := range testenv.Receive(e.t, e.cfg, e.queue, want, wait) {
		var ev struct {
			DetailType string          `json:"detail-type"`
			Detail     json.RawMessage `json:"detail"`
		}
		if err := json.Unmarshal([]byte(b), &ev); err != nil {
			e.t.Fatal(err)
		}
		switch ev.DetailType {
		case citadel.EventCheckRegressed:
			var d busevents.RegressionDetail
			_ = json.Unmarshal(ev.Detail, &d)
			out = append(out, fmt.Sprintf("%s %s %s→%s by %s", ev.DetailType, d.AssetARN, d.PreviousStatus, d.Status, d.ExceptionID))
		default:
			var d busevents.ExceptionDetail
			_ = json.Unmarshal(ev.Detail, &d)
			out = append(out, fmt.Sprintf("%s %s %s", ev.DetailType, d.ExceptionID, d.Status))
		}
	}
	sort.Strings(out)
	return out
}

func regressed(n int, exc string) string {
	return fmt.Sprintf("%s %s excepted→fail by %s", citadel.EventCheckRegressed, arn(n), exc)
}

// TestSweepExpires: past their expiry, an approved exception's results fail
// again (history, Check Regressed each), the control's posture goes back,
// and it and a requested one are expired with an Exception Expired event;
// one not yet expired is left alone.
func TestSweepExpires(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.exception("exc-app", 2*time.Hour, citadel.ExceptionApproved)
	e.exception("exc-req", 2*time.Hour, citadel.ExceptionRequested)
	e.exception("exc-live", 60*day, citadel.ExceptionRequested)
	if _, err := e.sweeper(at(0), nil).Remark(ctx, integ, check); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[int]string{0: "excepted exc-app", 1: "excepted exc-app", 2: "pass "}, e.statuses()); d != "" {
		t.Errorf("approved (-want +got):\n%s", d)
	}
	if d := cmp.Diff(posture{1, 0, 2, citadel.PosturePassing}, e.posture()); d != "" {
		t.Errorf("approved, control (-want +got):\n%s", d)
	}

	out, err := e.sweeper(at(3*time.Hour), nil).Handle(ctx, exceptionsweep.Input{DetailType: "Scheduled Event", Detail: json.RawMessage(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	want := exceptionsweep.Outcome{Expired: 2, Remarked: exceptionsweep.Remarked{ResultsRemarked: 2, Regressions: 2, ControlsUpdated: 1}}
	if d := cmp.Diff(want, out); d != "" {
		t.Errorf("sweep (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[int]string{0: "fail ", 1: "fail ", 2: "pass "}, e.statuses()); d != "" {
		t.Errorf("expired (-want +got):\n%s", d)
	}
	if d := cmp.Diff(posture{1, 2, 0, citadel.PosturePartial}, e.posture()); d != "" {
		t.Errorf("expired, control (-want +got):\n%s", d)
	}
	wantEvents := []string{regressed(0, "exc-app"), regressed(1, "exc-app"),
		citadel.EventExceptionExpired + " exc-app expired", citadel.EventExceptionExpired + " exc-req expired"}
	sort.Strings(wantEvents)
	if d := cmp.Diff(wantEvents, e.events(len(wantEvents))); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	for id, st := range map[string]citadel.ExceptionStatus{"exc-app": citadel.ExceptionExpired, "exc-req": citadel.ExceptionExpired, "exc-live": citadel.ExceptionRequested} {
		got, err := e.store.GetException(ctx, id)
		if err != nil || got.Status != st {
			t.Errorf("%s: %s, %v; want %s", id, got.Status, err, st)
		}
		if st == citadel.ExceptionExpired && got.History[len(got.History)-1].By != citadel.ExceptionSweeper {
			t.Errorf("%s expired by %q", id, got.History[len(got.History)-1].By)
		}
	}
	hist, err := e.store.ResultHistory(ctx, citadel.ResultID(integ, check, assetID(0)))
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]citadel.CheckStatus
	for _, h := range hist {
		got = append(got, [2]citadel.CheckStatus{h.PreviousStatus, h.NewStatus})
	}
	if d := cmp.Diff([][2]citadel.CheckStatus{{"", "fail"}, {"fail", "excepted"}, {"excepted", "fail"}}, got); d != "" {
		t.Errorf("history of a0 (-want +got):\n%s", d)
	}

	// Nothing left to expire: a second sweep does nothing.
	out, err = e.sweeper(at(4*time.Hour), nil).Sweep(ctx, t0.Add(4*time.Hour))
	if err != nil || out != (exceptionsweep.Outcome{}) {
		t.Errorf("second sweep: %+v, %v", out, err)
	}
	if evs := e.events(0); len(evs) != 0 {
		t.Errorf("second sweep sent %v", evs)
	}
}

// TestReminderSentOnce: an approved exception expiring within the lead
// time gets one Exception Expiring event, recorded; a later sweep sends
// none; one expiring later, or only requested, gets none.
func TestReminderSentOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.exception("exc-soon", 10*day, citadel.ExceptionApproved)
	e.exception("exc-later", 20*day, citadel.ExceptionApproved)
	e.exception("exc-asked", 10*day, citadel.ExceptionRequested)
	for i, tc := range []struct {
		at     time.Duration
		want   int
		events []string
	}{
		{0, 1, []string{citadel.EventExceptionExpiring + " exc-soon approved"}},
		{time.Hour, 0, nil},
	} {
		out, err := e.sweeper(at(tc.at), nil).Sweep(ctx, t0.Add(tc.at))
		if err != nil {
			t.Fatal(err)
		}
		if out.Reminded != tc.want || out.Expired != 0 {
			t.Errorf("sweep %d: %+v, want %d reminded", i, out, tc.want)
		}
		if d := cmp.Diff(tc.events, e.events(len(tc.events))); d != "" {
			t.Errorf("sweep %d's events (-want +got):\n%s", i, d)
		}
	}
	got, err := e.store.GetException(ctx, "exc-soon")
	if err != nil || !got.RemindedAt.Equal(t0) {
		t.Errorf("exc-soon reminded at %v (%v), want %v", got.RemindedAt, err, t0)
	}
	if got, _ := e.store.GetException(ctx, "exc-later"); !got.RemindedAt.IsZero() {
		t.Errorf("exc-later reminded at %v", got.RemindedAt)
	}
}

// TestDecisionsRemark: the API's events make a decision take effect without
// a scan: approved → the failures excepted, no regression; revoked → back
// to fail with a Check Regressed each. Other checks' results stay.
func TestDecisionsRemark(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	exc := e.exception("exc-1", 30*day, citadel.ExceptionRequested)
	for _, tc := range []struct {
		action   citadel.ExceptionAction
		event    string
		statuses map[int]string
		posture  posture
		out      exceptionsweep.Remarked
		events   []string
	}{
		{citadel.ExceptionApprove, citadel.EventExceptionApproved, map[int]string{0: "excepted exc-1", 1: "excepted exc-1", 2: "pass "},
			posture{1, 0, 2, citadel.PosturePassing}, exceptionsweep.Remarked{ResultsRemarked: 2, ControlsUpdated: 1}, nil},
		{citadel.ExceptionRevoke, citadel.EventExceptionRevoked, map[int]string{0: "fail ", 1: "fail ", 2: "pass "},
			posture{1, 2, 0, citadel.PosturePartial}, exceptionsweep.Remarked{ResultsRemarked: 2, Regressions: 2, ControlsUpdated: 1},
			[]string{regressed(0, "exc-1"), regressed(1, "exc-1")}},
	} {
		t.Run(string(tc.action), func(t *testing.T) {
			decided, err := e.store.DecideException(ctx, exc.ID, citadel.ExceptionDecision{Action: tc.action, By: exctest.Reviewer, At: t0})
			if err != nil {
				t.Fatal(err)
			}
			ev := busevents.Exception(decided, tc.event, "", t0)
			out, err := e.sweeper(at(time.Minute), nil).Handle(ctx, exceptionsweep.Input{DetailType: tc.event, Detail: json.RawMessage(aws.ToString(ev.Detail))})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.out, out.Remarked); d != "" {
				t.Errorf("remark (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.statuses, e.statuses()); d != "" {
				t.Errorf("results (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.posture, e.posture()); d != "" {
				t.Errorf("control (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.events, e.events(len(tc.events))); d != "" {
				t.Errorf("events (-want +got):\n%s", d)
			}
			if r, err := e.store.GetResult(ctx, integ, other, assetID(0)); err != nil || r.ExceptionID != "" {
				t.Errorf("the other check's result: %+v, %v", r, err)
			}
			// Again: nothing left to change.
			again, err := e.sweeper(at(2*time.Minute), nil).Remark(ctx, integ, check)
			if err != nil || again != (exceptionsweep.Remarked{}) {
				t.Errorf("second remark: %+v, %v", again, err)
			}
		})
	}
}

// racing is a store where another sweep expires each exception just before
// this one decides it.
type racing struct{ *ddb.Store }

func (r racing) DecideException(ctx context.Context, id string, d citadel.ExceptionDecision) (citadel.Exception, error) {
	if _, err := r.Store.DecideException(ctx, id, d); err != nil {
		return citadel.Exception{}, err
	}
	return r.Store.DecideException(ctx, id, d)
}

// TestLostDecisionSkipped: a decision another writer made first is
// skipped, not an error, and this sweep sends no Exception Expired for it.
func TestLostDecisionSkipped(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.exception("exc-req", time.Hour, citadel.ExceptionRequested)
	out, err := e.sweeper(at(2*time.Hour), racing{e.store}).Sweep(ctx, t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(exceptionsweep.Outcome{Skipped: 1}, out); d != "" {
		t.Errorf("sweep (-want +got):\n%s", d)
	}
	if evs := e.events(0); len(evs) != 0 {
		t.Errorf("a lost decision sent %v", evs)
	}
}

// TestRefusedInputs: a decision event without its exception's check, or a
// remark naming an invalid id, is refused as invalid.
func TestRefusedInputs(t *testing.T) {
	e := newEnv(t)
	for _, in := range []exceptionsweep.Input{
		{DetailType: citadel.EventExceptionApproved, Detail: json.RawMessage(`{}`)},
		{DetailType: citadel.EventExceptionRevoked, Detail: json.RawMessage(`"x"`)},
		{IntegrationID: integ},
		{IntegrationID: "bad id", CheckID: check},
	} {
		if _, err := e.sweeper(at(0), nil).Handle(context.Background(), in); !citadel.IsInvalid(err) {
			t.Errorf("%+v: %v, want invalid", in, err)
		}
	}
}
