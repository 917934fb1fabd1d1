package citadel_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

const bucketARN = "arn:aws:s3:::logs"

func exceptionRequest(kind citadel.ScopeKind) citadel.ExceptionRequest {
	r := citadel.ExceptionRequest{IntegrationID: "int-1", CheckID: "s3_bucket_public_access", Scope: citadel.ExceptionScope{Kind: kind},
		Justification: "a public website bucket", Owner: "web team", ExpiresAt: t0.Add(30 * 24 * time.Hour)}
	switch kind {
	case citadel.ScopeAsset:
		r.Scope.AssetARN = bucketARN
	case citadel.ScopeTag:
		r.Scope.TagKey, r.Scope.TagValue = "public", "yes"
	}
	return r
}

func requested(t *testing.T, kind citadel.ScopeKind) citadel.Exception {
	t.Helper()
	e, err := citadel.RequestException("exc-1", "f1", exceptionRequest(kind), "alice", t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func decide(t *testing.T, e citadel.Exception, a citadel.ExceptionAction, by string, at time.Time) citadel.Exception {
	t.Helper()
	next, err := e.Decide(citadel.ExceptionDecision{Action: a, By: by, At: at, Note: string(a) + " note"})
	if err != nil {
		t.Fatal(err)
	}
	return next
}

func TestRequestException(t *testing.T) {
	got := requested(t, citadel.ScopeAsset)
	want := citadel.Exception{ID: "exc-1", FolderID: "f1", IntegrationID: "int-1", CheckID: "s3_bucket_public_access",
		Scope:         citadel.ExceptionScope{Kind: citadel.ScopeAsset, AssetARN: bucketARN, AssetID: citadel.AssetID("int-1", citadel.SourceAWS, bucketARN)},
		Justification: "a public website bucket", Owner: "web team", RequestedBy: "alice", RequestedAt: t0,
		ExpiresAt: t0.Add(30 * 24 * time.Hour), Status: citadel.ExceptionRequested, UpdatedAt: t0,
		History: []citadel.ExceptionTransition{{From: "", To: citadel.ExceptionRequested, By: "alice", At: t0}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("requested exception (-want +got):\n%s", d)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("a requested exception does not validate: %v", err)
	}

	day := 24 * time.Hour
	tests := []struct {
		name    string
		mutate  func(*citadel.ExceptionRequest)
		maxDays int
		want    []string // substrings of the error; none: valid
	}{
		{"integration scope", func(r *citadel.ExceptionRequest) { *r = exceptionRequest(citadel.ScopeIntegration) }, 0, nil},
		{"tag scope", func(r *citadel.ExceptionRequest) { *r = exceptionRequest(citadel.ScopeTag) }, 0, nil},
		{"tag with an empty value", func(r *citadel.ExceptionRequest) { *r = exceptionRequest(citadel.ScopeTag); r.Scope.TagValue = "" }, 0, nil},
		{"expiry exactly the maximum ahead", func(r *citadel.ExceptionRequest) { r.ExpiresAt = t0.Add(365 * day) }, 0, nil},
		{"a second over the maximum", func(r *citadel.ExceptionRequest) { r.ExpiresAt = t0.Add(365*day + time.Second) }, 0,
			[]string{"more than 365 days ahead", "by 2027-11-29T12:00:00Z at the latest"}},
		{"a deployment's shorter maximum", func(r *citadel.ExceptionRequest) { r.ExpiresAt = t0.Add(8 * day) }, 7, []string{"more than 7 days ahead"}},
		{"expiry now", func(r *citadel.ExceptionRequest) { r.ExpiresAt = t0 }, 0, []string{"is not in the future"}},
		{"expiry in the past", func(r *citadel.ExceptionRequest) { r.ExpiresAt = t0.Add(-day) }, 0, []string{"is not in the future"}},
		{"no expiry", func(r *citadel.ExceptionRequest) { r.ExpiresAt = time.Time{} }, 0, []string{"expires_at is required"}},
		{"nothing at all", func(r *citadel.ExceptionRequest) { *r = citadel.ExceptionRequest{} }, 0,
			[]string{"integration_id is required", "check_id is required", `scope.kind "" must be asset, integration or tag`,
				"justification is required", "owner is required", "expires_at is required"}},
		{"bad ids", func(r *citadel.ExceptionRequest) { r.IntegrationID, r.CheckID = "a/b", "c d" }, 0,
			[]string{`integration_id "a/b" must match`, `check_id "c d" must match`}},
		{"blank justification", func(r *citadel.ExceptionRequest) { r.Justification = " \n " }, 0, []string{"justification is required (not blank)"}},
		{"justification too long", func(r *citadel.ExceptionRequest) { r.Justification = strings.Repeat("é", 2001) }, 0, []string{"justification is over 2000 characters"}},
		{"owner too long", func(r *citadel.ExceptionRequest) { r.Owner = strings.Repeat("o", 257) }, 0, []string{"owner is over 256 characters"}},
		{"unknown scope kind", func(r *citadel.ExceptionRequest) { r.Scope.Kind = "account" }, 0, []string{`scope.kind "account"`}},
		{"asset without its ARN", func(r *citadel.ExceptionRequest) { r.Scope.AssetARN = "" }, 0, []string{"scope.asset_arn is required for kind asset"}},
		{"asset ARN with a newline", func(r *citadel.ExceptionRequest) { r.Scope.AssetARN = "arn:aws:s3:::a\nb" }, 0, []string{"without control characters"}},
		{"asset ARN too long", func(r *citadel.ExceptionRequest) { r.Scope.AssetARN = "arn:" + strings.Repeat("a", 2045) }, 0, []string{"at most 2048 bytes"}},
		{"asset with a tag", func(r *citadel.ExceptionRequest) { r.Scope.TagKey = "k" }, 0, []string{"tag_key and tag_value are for kind tag"}},
		{"integration with an asset", func(r *citadel.ExceptionRequest) { r.Scope.Kind = citadel.ScopeIntegration }, 0,
			[]string{"kind integration takes no asset_arn"}},
		{"tag without a key", func(r *citadel.ExceptionRequest) { *r = exceptionRequest(citadel.ScopeTag); r.Scope.TagKey = " " }, 0,
			[]string{"scope.tag_key is required for kind tag"}},
		{"tag key and value too long", func(r *citadel.ExceptionRequest) {
			*r = exceptionRequest(citadel.ScopeTag)
			r.Scope.TagKey, r.Scope.TagValue = strings.Repeat("k", 129), strings.Repeat("v", 257)
		}, 0, []string{"scope.tag_key is over 128", "scope.tag_value is over 256"}},
		{"tag with an asset", func(r *citadel.ExceptionRequest) {
			*r = exceptionRequest(citadel.ScopeTag)
			r.Scope.AssetARN = bucketARN
		}, 0,
			[]string{"scope.asset_arn is for kind asset"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := exceptionRequest(citadel.ScopeAsset)
			tt.mutate(&r)
			_, err := citadel.RequestException("exc-1", "f1", r, "alice", t0, tt.maxDays)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("RequestException: %v", err)
				}
				return
			}
			if !citadel.IsInvalid(err) {
				t.Fatalf("RequestException = %v, want an invalid error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestParseMaxExceptionDays(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"", citadel.DefaultMaxExceptionDays, true}, {"90", 90, true}, {"1", 1, true}, {"3650", 3650, true},
		{"0", 0, false}, {"-5", 0, false}, {"3651", 0, false}, {"30d", 0, false}, {"1.5", 0, false},
	} {
		got, err := citadel.ParseMaxExceptionDays(tt.in)
		if got != tt.want || (err == nil) != tt.ok || (err != nil && !citadel.IsInvalid(err)) {
			t.Errorf("ParseMaxExceptionDays(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestNextExceptionStatus walks every status with every action.
func TestNextExceptionStatus(t *testing.T) {
	actions := []citadel.ExceptionAction{citadel.ExceptionApprove, citadel.ExceptionReject, citadel.ExceptionRevoke, citadel.ExceptionExpire}
	want := map[citadel.ExceptionStatus]map[citadel.ExceptionAction]citadel.ExceptionStatus{
		citadel.ExceptionRequested: {citadel.ExceptionApprove: citadel.ExceptionApproved, citadel.ExceptionReject: citadel.ExceptionRejected, citadel.ExceptionExpire: citadel.ExceptionExpired},
		citadel.ExceptionApproved:  {citadel.ExceptionRevoke: citadel.ExceptionRevoked, citadel.ExceptionExpire: citadel.ExceptionExpired},
	}
	got := map[citadel.ExceptionStatus]map[citadel.ExceptionAction]citadel.ExceptionStatus{}
	for _, from := range citadel.ExceptionStatuses {
		for _, a := range actions {
			to, err := citadel.NextExceptionStatus(from, a)
			switch {
			case err == nil:
				if got[from] == nil {
					got[from] = map[citadel.ExceptionAction]citadel.ExceptionStatus{}
				}
				got[from][a] = to
			case !citadel.IsConflict(err):
				t.Errorf("%s %s: %v, want a conflict", from, a, err)
			case !from.Live() && !strings.Contains(err.Error(), "is final"):
				t.Errorf("%s %s: %q does not say %s is final", from, a, err, from)
			}
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("state machine (-want +got):\n%s", d)
	}
	if _, err := citadel.NextExceptionStatus(citadel.ExceptionApproved, citadel.ExceptionRevoke+"x"); !citadel.IsInvalid(err) {
		t.Errorf("unknown action: %v, want invalid", err)
	}
	_, err := citadel.NextExceptionStatus(citadel.ExceptionApproved, citadel.ExceptionApprove)
	if err == nil || !strings.Contains(err.Error(), "an exception approved cannot approve (it can: revoke, expire)") {
		t.Errorf("approve an approved one: %v", err)
	}
}

func TestExceptionDecide(t *testing.T) {
	e := requested(t, citadel.ScopeIntegration)
	t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	approved := decide(t, e, citadel.ExceptionApprove, "bob", t1)
	want := e
	want.Status, want.UpdatedAt, want.DecidedBy, want.DecidedAt, want.DecisionNote = citadel.ExceptionApproved, t1, "bob", t1, "approve note"
	want.History = append(want.History, citadel.ExceptionTransition{From: citadel.ExceptionRequested, To: citadel.ExceptionApproved, By: "bob", At: t1, Note: "approve note"})
	if d := cmp.Diff(want, approved); d != "" {
		t.Errorf("approved (-want +got):\n%s", d)
	}
	if len(e.History) != 1 || e.Status != citadel.ExceptionRequested {
		t.Errorf("Decide changed the exception it was given: %+v", e)
	}
	// The requester may revoke what someone else approved; the decision stays the approver's.
	revoked := decide(t, approved, citadel.ExceptionRevoke, "alice", t2)
	if revoked.Status != citadel.ExceptionRevoked || revoked.DecidedBy != "bob" || len(revoked.History) != 3 ||
		revoked.History[2] != (citadel.ExceptionTransition{From: citadel.ExceptionApproved, To: citadel.ExceptionRevoked, By: "alice", At: t2, Note: "revoke note"}) {
		t.Errorf("revoked: %+v", revoked)
	}
	rejected := decide(t, e, citadel.ExceptionReject, "carol", t1)
	if rejected.Status != citadel.ExceptionRejected || rejected.DecidedBy != "carol" || rejected.DecisionNote != "reject note" {
		t.Errorf("rejected: %+v", rejected)
	}
	after := e.ExpiresAt
	expired := decide(t, approved, citadel.ExceptionExpire, citadel.ExceptionSweeper, after)
	if expired.Status != citadel.ExceptionExpired || expired.History[2].By != citadel.ExceptionSweeper {
		t.Errorf("expired: %+v", expired)
	}
	for _, x := range []citadel.Exception{approved, revoked, rejected, expired, decide(t, e, citadel.ExceptionExpire, citadel.ExceptionSweeper, after)} {
		if err := x.Validate(); err != nil {
			t.Errorf("%s: %v", x.Status, err)
		}
	}

	for _, tt := range []struct {
		name string
		from citadel.Exception
		d    citadel.ExceptionDecision
		code citadel.ErrorCode
		msg  string
	}{
		{"the requester approves", e, citadel.ExceptionDecision{Action: citadel.ExceptionApprove, By: "alice", At: t1}, citadel.CodeForbidden, "requested by alice: its requester may not approve it"},
		{"the requester rejects", e, citadel.ExceptionDecision{Action: citadel.ExceptionReject, By: "alice", At: t1}, citadel.CodeForbidden, "may not reject it"},
		{"approve twice", approved, citadel.ExceptionDecision{Action: citadel.ExceptionApprove, By: "carol", At: t2}, citadel.CodeConflict, "an exception approved cannot approve"},
		{"revoke a request", e, citadel.ExceptionDecision{Action: citadel.ExceptionRevoke, By: "bob", At: t1}, citadel.CodeConflict, "an exception requested cannot revoke (it can: approve, reject, expire)"},
		{"approve a rejected one", rejected, citadel.ExceptionDecision{Action: citadel.ExceptionApprove, By: "bob", At: t2}, citadel.CodeConflict, "rejected is final"},
		{"revoke a revoked one", revoked, citadel.ExceptionDecision{Action: citadel.ExceptionRevoke, By: "bob", At: t2}, citadel.CodeConflict, "revoked is final"},
		{"expire early", approved, citadel.ExceptionDecision{Action: citadel.ExceptionExpire, By: citadel.ExceptionSweeper, At: after.Add(-time.Second)}, citadel.CodeConflict, "cannot expire before then"},
		{"approve once expired", e, citadel.ExceptionDecision{Action: citadel.ExceptionApprove, By: "bob", At: after}, citadel.CodeConflict, "it can no longer approve"},
		{"revoke once expired", approved, citadel.ExceptionDecision{Action: citadel.ExceptionRevoke, By: "bob", At: after.Add(time.Hour)}, citadel.CodeConflict, "it can no longer revoke"},
		{"nobody", e, citadel.ExceptionDecision{Action: citadel.ExceptionApprove, At: t1}, citadel.CodeInvalid, "by is required"},
		{"no time", e, citadel.ExceptionDecision{Action: citadel.ExceptionApprove, By: "bob"}, citadel.CodeInvalid, "at is required"},
		{"a note too long", e, citadel.ExceptionDecision{Action: citadel.ExceptionApprove, By: "bob", At: t1, Note: strings.Repeat("n", 1001)}, citadel.CodeInvalid, "note is over 1000"},
		{"an unknown action", e, citadel.ExceptionDecision{Action: "extend", By: "bob", At: t1}, citadel.CodeInvalid, `action "extend"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.from.Decide(tt.d)
			if citadel.CodeOf(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Decide = %v, want %s saying %q", err, tt.code, tt.msg)
			}
			if d := cmp.Diff(tt.from, got); d != "" {
				t.Errorf("a refused decision changed the exception (-before +after):\n%s", d)
			}
		})
	}
}

func TestExceptionValidateHistory(t *testing.T) {
	approved := decide(t, requested(t, citadel.ScopeTag), citadel.ExceptionApprove, "bob", t0.Add(time.Hour))
	for _, tt := range []struct {
		name   string
		mutate func(*citadel.Exception)
		want   string
	}{
		{"no history", func(e *citadel.Exception) { e.History = nil }, "history must start with the request"},
		{"a request by someone else", func(e *citadel.Exception) { e.History[0].By = "mallory" }, "history must start with the request"},
		{"a skipped step", func(e *citadel.Exception) { e.History[1].From = citadel.ExceptionRejected }, "history[1]: rejected → approved does not follow requested"},
		{"an illegal step", func(e *citadel.Exception) {
			e.History[1].To, e.Status = citadel.ExceptionRevoked, citadel.ExceptionRevoked
		}, "history[1]: requested → revoked"},
		{"a status the history does not reach", func(e *citadel.Exception) { e.Status = citadel.ExceptionRevoked }, "status revoked is not where the history ends (approved)"},
		{"time running back", func(e *citadel.Exception) { e.History[1].At = t0.Add(-time.Minute) }, "history[1] needs who (by) and a time not before"},
		{"an unknown status", func(e *citadel.Exception) { e.Status = "paused" }, `status "paused" is not an exception status`},
		{"expiry before the request", func(e *citadel.Exception) { e.ExpiresAt = t0.Add(-time.Hour) }, "expires_at must be after requested_at"},
		{"an asset id of another ARN", func(e *citadel.Exception) {
			e.Scope = citadel.ExceptionScope{Kind: citadel.ScopeAsset, AssetARN: bucketARN, AssetID: citadel.AssetID("int-2", citadel.SourceAWS, bucketARN)}
		}, "scope.asset_id is not the asset id of asset_arn"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := approved
			e.History = append([]citadel.ExceptionTransition(nil), approved.History...)
			tt.mutate(&e)
			if err := e.Validate(); !citadel.IsInvalid(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestExceptionCovers(t *testing.T) {
	approve := func(kind citadel.ScopeKind) citadel.Exception {
		return decide(t, requested(t, kind), citadel.ExceptionApprove, "bob", t0.Add(time.Hour))
	}
	asset, integ, tag := approve(citadel.ScopeAsset), approve(citadel.ScopeIntegration), approve(citadel.ScopeTag)
	now := t0.Add(2 * time.Hour)
	onBucket := citadel.CheckResult{IntegrationID: "int-1", CheckID: "s3_bucket_public_access", AssetID: citadel.AssetID("int-1", citadel.SourceAWS, bucketARN),
		AssetARN: bucketARN, Status: citadel.StatusFail}
	other := onBucket
	other.AssetID, other.AssetARN = citadel.AssetID("int-1", citadel.SourceAWS, "arn:aws:s3:::other"), "arn:aws:s3:::other"
	with := func(f func(*citadel.CheckResult)) citadel.CheckResult { r := onBucket; f(&r); return r }
	public := map[string]string{"public": "yes", "team": "web"}

	for _, tt := range []struct {
		name string
		e    citadel.Exception
		r    citadel.CheckResult
		tags map[string]string
		at   time.Time
		want bool
	}{
		{"its asset", asset, onBucket, nil, now, true},
		{"another asset", asset, other, nil, now, false},
		{"its asset, muted and passing", asset, with(func(r *citadel.CheckResult) { r.Muted, r.Status = true, citadel.StatusPass }), nil, now, true},
		{"another check", asset, with(func(r *citadel.CheckResult) { r.CheckID = "s3_bucket_versioning" }), nil, now, false},
		{"another integration's same ARN", asset, with(func(r *citadel.CheckResult) {
			r.IntegrationID, r.AssetID = "int-2", citadel.AssetID("int-2", citadel.SourceAWS, bucketARN)
		}), nil, now, false},
		{"the integration: any asset", integ, other, nil, now, true},
		{"the integration: another integration", integ, with(func(r *citadel.CheckResult) { r.IntegrationID = "int-2" }), nil, now, false},
		{"the tag", tag, other, public, now, true},
		{"the tag with another value", tag, other, map[string]string{"public": "no"}, now, false},
		{"the tag's value under another key", tag, other, map[string]string{"exposed": "yes"}, now, false},
		{"no tags", tag, other, nil, now, false},
		{"a second before expiry", integ, other, nil, integ.ExpiresAt.Add(-time.Second), true},
		{"at expiry", integ, other, nil, integ.ExpiresAt, false},
		{"requested only", requested(t, citadel.ScopeIntegration), other, nil, now, false},
		{"revoked", decide(t, integ, citadel.ExceptionRevoke, "bob", now), other, nil, now.Add(time.Hour), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.Covers(tt.r, tt.tags, tt.at); got != tt.want {
				t.Errorf("Covers = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCoveringException(t *testing.T) {
	mk := func(id string, kind citadel.ScopeKind, days int) citadel.Exception {
		r := exceptionRequest(kind)
		r.ExpiresAt = t0.Add(time.Duration(days) * 24 * time.Hour)
		e, err := citadel.RequestException(id, "f1", r, "alice", t0, 0)
		if err != nil {
			t.Fatal(err)
		}
		return decide(t, e, citadel.ExceptionApprove, "bob", t0)
	}
	fail := citadel.CheckResult{IntegrationID: "int-1", CheckID: "s3_bucket_public_access", AssetID: citadel.AssetID("int-1", citadel.SourceAWS, bucketARN), Status: citadel.StatusFail}
	now := t0.Add(time.Hour)
	for _, tt := range []struct {
		name string
		es   []citadel.Exception
		r    citadel.CheckResult
		want string // "": none
	}{
		{"none", nil, fail, ""},
		{"the one expiring last", []citadel.Exception{mk("exc-a", citadel.ScopeAsset, 10), mk("exc-b", citadel.ScopeIntegration, 20), mk("exc-c", citadel.ScopeTag, 90)}, fail, "exc-b"},
		{"a tie: the smallest id", []citadel.Exception{mk("exc-z", citadel.ScopeAsset, 20), mk("exc-b", citadel.ScopeIntegration, 20)}, fail, "exc-b"},
		{"a passing result is not excepted", []citadel.Exception{mk("exc-a", citadel.ScopeAsset, 10)}, func() citadel.CheckResult { r := fail; r.Status = citadel.StatusPass; return r }(), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := citadel.CoveringException(tt.es, tt.r, nil, now)
			if ok != (tt.want != "") || got.ID != tt.want {
				t.Errorf("CoveringException = %q, %v; want %q", got.ID, ok, tt.want)
			}
		})
	}
}

// Requesting is for every role that works on the estate; deciding is the
// reviewers'.
func TestExceptionPermissions(t *testing.T) {
	got := map[citadel.Permission][]citadel.Role{
		citadel.PermException: citadel.RolesWith(citadel.PermException),
		citadel.PermReview:    citadel.RolesWith(citadel.PermReview),
	}
	want := map[citadel.Permission][]citadel.Role{
		citadel.PermException: {citadel.RoleAdmin, citadel.RoleOperator, citadel.RoleAuditor},
		citadel.PermReview:    {citadel.RoleAdmin, citadel.RoleAuditor},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("roles (-want +got):\n%s", d)
	}
	if citadel.RoleViewer.Allows(citadel.PermException) {
		t.Error("a viewer may request an exception")
	}
}
