package exceptions_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/exceptions"
	"github.com/citadelsecure/citadel/shared/testkit/exctest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

const (
	integ = "int-1"
	check = "s3_bucket_public_access"
	arn   = "arn:aws:s3:::website"
	day   = 24 * time.Hour
)

var (
	assetScope = citadel.ExceptionScope{Kind: citadel.ScopeAsset, AssetARN: arn}
	integScope = citadel.ExceptionScope{Kind: citadel.ScopeIntegration}
	tagScope   = citadel.ExceptionScope{Kind: citadel.ScopeTag, TagKey: "exposure", TagValue: "public"}
)

// stored is exception id over scope, requested at t0 - 10 days, expiring
// after expiry days from t0, in status (as the store holds it).
func stored(t *testing.T, id string, scope citadel.ExceptionScope, expiry int, status citadel.ExceptionStatus) citadel.Exception {
	e := exctest.Request(t, id, integ, check, scope, t0.Add(-10*day), t0.Add(time.Duration(expiry)*day))
	if scope.Kind == citadel.ScopeAsset {
		e.Scope.AssetID = citadel.AssetID(integ, citadel.SourceAWS, arn)
	}
	e.Status = status
	return e
}

func failing(assetARN string) citadel.CheckResult {
	return citadel.CheckResult{IntegrationID: integ, CheckID: check, AssetID: citadel.AssetID(integ, citadel.SourceAWS, assetARN),
		AssetARN: assetARN, Status: citadel.StatusFail}
}

func TestSetMark(t *testing.T) {
	public := map[string]string{"exposure": "public", "team": "web"}
	other := failing("arn:aws:s3:::other")
	muted := failing(arn)
	muted.Muted = true
	pass := failing(arn)
	pass.Status = citadel.StatusPass
	for _, tc := range []struct {
		name string
		es   []citadel.Exception
		r    citadel.CheckResult
		tags map[string]string
		want string
	}{
		{"no exception", nil, failing(arn), nil, ""},
		{"an approved asset scope covers its asset", []citadel.Exception{stored(t, "exc-a", assetScope, 5, citadel.ExceptionApproved)}, failing(arn), nil, "exc-a"},
		{"not another asset", []citadel.Exception{stored(t, "exc-a", assetScope, 5, citadel.ExceptionApproved)}, other, nil, ""},
		{"an integration scope covers every asset", []citadel.Exception{stored(t, "exc-i", integScope, 5, citadel.ExceptionApproved)}, other, nil, "exc-i"},
		{"a tag scope covers an asset with the tag", []citadel.Exception{stored(t, "exc-t", tagScope, 5, citadel.ExceptionApproved)}, other, public, "exc-t"},
		{"not one with another value", []citadel.Exception{stored(t, "exc-t", tagScope, 5, citadel.ExceptionApproved)}, other, map[string]string{"exposure": "private"}, ""},
		{"not one without tags", []citadel.Exception{stored(t, "exc-t", tagScope, 5, citadel.ExceptionApproved)}, other, nil, ""},
		{"requested covers nothing", []citadel.Exception{stored(t, "exc-a", assetScope, 5, citadel.ExceptionRequested)}, failing(arn), nil, ""},
		{"rejected covers nothing", []citadel.Exception{stored(t, "exc-a", assetScope, 5, citadel.ExceptionRejected)}, failing(arn), nil, ""},
		{"revoked covers nothing", []citadel.Exception{stored(t, "exc-a", assetScope, 5, citadel.ExceptionRevoked)}, failing(arn), nil, ""},
		{"expired covers nothing", []citadel.Exception{stored(t, "exc-a", assetScope, 5, citadel.ExceptionExpired)}, failing(arn), nil, ""},
		{"approved past its expiry covers nothing", []citadel.Exception{stored(t, "exc-a", assetScope, -1, citadel.ExceptionApproved)}, failing(arn), nil, ""},
		{"approved expiring now covers nothing", []citadel.Exception{stored(t, "exc-a", assetScope, 0, citadel.ExceptionApproved)}, failing(arn), nil, ""},
		{"a muted failure is covered", []citadel.Exception{stored(t, "exc-a", assetScope, 5, citadel.ExceptionApproved)}, muted, nil, "exc-a"},
		{"a passing result never is", []citadel.Exception{stored(t, "exc-i", integScope, 5, citadel.ExceptionApproved)}, pass, nil, ""},
		{"another check's exception does not cover", []citadel.Exception{func() citadel.Exception {
			e := stored(t, "exc-i", integScope, 5, citadel.ExceptionApproved)
			e.CheckID = "iam_root_mfa"
			return e
		}()}, failing(arn), nil, ""},
		{"another integration's does not cover", []citadel.Exception{func() citadel.Exception {
			e := stored(t, "exc-i", integScope, 5, citadel.ExceptionApproved)
			e.IntegrationID = "int-2"
			return e
		}()}, failing(arn), nil, ""},
		{"of several, the one that expires last", []citadel.Exception{stored(t, "exc-a", assetScope, 5, citadel.ExceptionApproved),
			stored(t, "exc-i", integScope, 30, citadel.ExceptionApproved), stored(t, "exc-t", tagScope, 9, citadel.ExceptionApproved)}, failing(arn), public, "exc-i"},
		{"the same expiry: the smallest id", []citadel.Exception{stored(t, "exc-b", integScope, 5, citadel.ExceptionApproved),
			stored(t, "exc-a", assetScope, 5, citadel.ExceptionApproved)}, failing(arn), nil, "exc-a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := exceptions.NewSet(integ, tc.es, t0)
			if got := s.Mark(tc.r, tc.tags); got != tc.want {
				t.Errorf("Mark = %q, want %q", got, tc.want)
			}
		})
	}
	var none *exceptions.Set
	if none.Mark(failing(arn), nil) != "" || none.Has(check) || none.NeedsTags(check) || none.Relevant(map[string]string{"a": "b"}) != nil || none.Len() != 0 {
		t.Error("a nil set covers something")
	}
}

// TestSetTags: only the checks with a tag-scoped exception need tags, and
// of an asset's tags only those a scope names are kept.
func TestSetTags(t *testing.T) {
	other := stored(t, "exc-o", citadel.ExceptionScope{Kind: citadel.ScopeTag, TagKey: "env", TagValue: "dev"}, 5, citadel.ExceptionApproved)
	other.CheckID = "ec2_open"
	revoked := stored(t, "exc-r", citadel.ExceptionScope{Kind: citadel.ScopeTag, TagKey: "owner", TagValue: "x"}, 5, citadel.ExceptionRevoked)
	s := exceptions.NewSet(integ, []citadel.Exception{stored(t, "exc-t", tagScope, 5, citadel.ExceptionApproved),
		stored(t, "exc-i", integScope, 5, citadel.ExceptionApproved), other, revoked}, t0)
	got := map[string]any{
		"len": s.Len(), "has": []bool{s.Has(check), s.Has("ec2_open"), s.Has("iam_root_mfa")},
		"needs tags": []bool{s.NeedsTags(check), s.NeedsTags("ec2_open"), s.NeedsTags("iam_root_mfa")},
		"relevant":   s.Relevant(map[string]string{"exposure": "public", "env": "prod", "owner": "x", "team": "web"}),
		"none":       s.Relevant(map[string]string{"team": "web"}) == nil,
	}
	want := map[string]any{
		"len": 3, "has": []bool{true, true, false}, "needs tags": []bool{true, true, false},
		"relevant": map[string]string{"exposure": "public", "env": "prod"}, "none": true,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if s := exceptions.NewSet(integ, []citadel.Exception{stored(t, "exc-i", integScope, 5, citadel.ExceptionApproved)}, t0); s.Relevant(map[string]string{"exposure": "public"}) != nil {
		t.Error("a set without tag scopes keeps tags")
	}
}

// TestLoad reads the approved exceptions of the integration from the store,
// every page, and leaves out the other statuses and integrations.
func TestLoad(t *testing.T) {
	ctx := context.Background()
	store := testenv.Store(t)
	put := func(id, in string, scope citadel.ExceptionScope, expires time.Time, status citadel.ExceptionStatus) {
		exctest.Put(t, ctx, store, exctest.Request(t, id, in, check, scope, t0.Add(-10*day), expires), status)
	}
	for i, id := range []string{"exc-1", "exc-2", "exc-3"} {
		put(id, integ, integScope, t0.Add(time.Duration(i+1)*day), citadel.ExceptionApproved)
	}
	put("exc-old", integ, integScope, t0.Add(-time.Hour), citadel.ExceptionApproved) // stored approved, past its expiry
	put("exc-req", integ, integScope, t0.Add(day), citadel.ExceptionRequested)
	put("exc-rej", integ, integScope, t0.Add(day), citadel.ExceptionRejected)
	put("exc-rev", integ, integScope, t0.Add(day), citadel.ExceptionRevoked)
	put("exc-exp", integ, integScope, t0.Add(-9*day), citadel.ExceptionExpired)
	put("exc-int2", "int-2", integScope, t0.Add(30*day), citadel.ExceptionApproved)

	s, err := exceptions.Load(ctx, store, integ, t0)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 3 {
		t.Errorf("%d live approved exceptions, want 3", s.Len())
	}
	if got := s.Mark(failing(arn), nil); got != "exc-3" {
		t.Errorf("Mark = %q, want exc-3 (expires last)", got)
	}
	if s, err := exceptions.Load(ctx, store, "int-none", t0); err != nil || s.Len() != 0 {
		t.Errorf("an integration without exceptions: %d, %v", s.Len(), err)
	}
}
