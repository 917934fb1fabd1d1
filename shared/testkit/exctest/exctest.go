// Package exctest stores exceptions (citadel.Exception) in each status the
// way the API would: a request, then the decisions that lead to the status,
// through the real store. Tests only.
package exctest

import (
	"context"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Store is what exctest needs of the store (*ddb.Store).
type Store interface {
	CreateException(ctx context.Context, e citadel.Exception) error
	DecideException(ctx context.Context, id string, d citadel.ExceptionDecision) (citadel.Exception, error)
}

// The people of a stored exception: one requests, another decides.
const (
	Requester = "requester"
	Reviewer  = "reviewer"
)

// Request is exception id of integration integ's check, over scope,
// requested at `at` by Requester, expiring at expires (folder f1).
func Request(t testing.TB, id, integ, check string, scope citadel.ExceptionScope, at, expires time.Time) citadel.Exception {
	t.Helper()
	e, err := citadel.RequestException(id, "f1", citadel.ExceptionRequest{IntegrationID: integ, CheckID: check, Scope: scope,
		Justification: "accepted for the test", Owner: "the test's team", ExpiresAt: expires}, Requester, at, citadel.MaxExceptionDaysLimit)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Put stores e (a request) and moves it to status by the decisions that
// lead there, each an hour after the one before (expired: at its expiry),
// and returns it as stored.
func Put(t testing.TB, ctx context.Context, s Store, e citadel.Exception, status citadel.ExceptionStatus) citadel.Exception {
	t.Helper()
	if err := s.CreateException(ctx, e); err != nil {
		t.Fatalf("create exception %s: %v", e.ID, err)
	}
	var path []citadel.ExceptionAction
	switch status {
	case citadel.ExceptionRequested:
	case citadel.ExceptionApproved:
		path = []citadel.ExceptionAction{citadel.ExceptionApprove}
	case citadel.ExceptionRejected:
		path = []citadel.ExceptionAction{citadel.ExceptionReject}
	case citadel.ExceptionRevoked:
		path = []citadel.ExceptionAction{citadel.ExceptionApprove, citadel.ExceptionRevoke}
	case citadel.ExceptionExpired:
		path = []citadel.ExceptionAction{citadel.ExceptionApprove, citadel.ExceptionExpire}
	default:
		t.Fatalf("exctest: no way to status %q", status)
	}
	at := e.RequestedAt
	for _, a := range path {
		at = at.Add(time.Hour)
		if a == citadel.ExceptionExpire {
			at = e.ExpiresAt
		}
		var err error
		if e, err = s.DecideException(ctx, e.ID, citadel.ExceptionDecision{Action: a, By: Reviewer, At: at}); err != nil {
			t.Fatalf("%s exception %s: %v", a, e.ID, err)
		}
	}
	return e
}
