// Package exceptions applies approved exceptions (citadel.Exception, risk
// acceptances) to check results: which exception, if any, covers a failing
// result, so that the result reads excepted (citadel.CheckResult.Effective,
// citadel.EffectiveStatus) while its stored status stays Prowler's.
//
// A Set is an integration's approved exceptions as of one time, indexed by
// check. The check-results step loads the integration's set once per scan
// (Load) and marks each result it compares (Set.Mark); a function that
// re-marks one integration's results of one check without a scan (when an
// exception is approved, revoked or expires) builds the set of that check
// from the store's ExceptionsOfCheck (NewSet) and asks the same Set, so
// both apply one rule. Tag scopes need the asset's tags from the inventory:
// NeedsTags says for which checks, Relevant keeps only the tags a scope
// names. The rule of what covers what is citadel's (Exception.Covers,
// citadel.CoveringException); this package only gathers and indexes.
package exceptions

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Store lists an integration's exceptions by status (shared/ddb).
type Store interface {
	ListExceptionsOfIntegration(ctx context.Context, integrationID string, status citadel.ExceptionStatus, limit int, cursor string) (citadel.Page[citadel.Exception], error)
}

// Set is an integration's approved exceptions that are live at a time
// (approved, before their expiry), by check. The zero Set and a nil *Set
// cover nothing.
type Set struct {
	integrationID string
	at            time.Time
	byCheck       map[string][]citadel.Exception
	// tagKeys are the tag keys the tag scopes name, per check and for all.
	tagKeys map[string][]string
	allKeys map[string]bool
}

// Load reads integrationID's approved exceptions (one query of the store's
// list by integration and status, paged to its end) and returns the Set of
// those live at `at`.
func Load(ctx context.Context, store Store, integrationID string, at time.Time) (*Set, error) {
	var es []citadel.Exception
	for e, err := range citadel.Items(func(cursor string) (citadel.Page[citadel.Exception], error) {
		return store.ListExceptionsOfIntegration(ctx, integrationID, citadel.ExceptionApproved, 1000, cursor)
	}) {
		if err != nil {
			return nil, fmt.Errorf("approved exceptions of integration %s: %w", integrationID, err)
		}
		es = append(es, e)
	}
	return NewSet(integrationID, es, at), nil
}

// NewSet indexes the exceptions of es that are integrationID's, approved
// and not expired at `at`; the others are left out (a revoked, rejected,
// requested or expired one covers nothing).
func NewSet(integrationID string, es []citadel.Exception, at time.Time) *Set {
	s := &Set{integrationID: integrationID, at: at, byCheck: map[string][]citadel.Exception{},
		tagKeys: map[string][]string{}, allKeys: map[string]bool{}}
	for _, e := range es {
		if e.IntegrationID != integrationID || e.Status != citadel.ExceptionApproved || !at.Before(e.ExpiresAt) {
			continue
		}
		s.byCheck[e.CheckID] = append(s.byCheck[e.CheckID], e)
		if e.Scope.Kind == citadel.ScopeTag && !slices.Contains(s.tagKeys[e.CheckID], e.Scope.TagKey) {
			s.tagKeys[e.CheckID] = append(s.tagKeys[e.CheckID], e.Scope.TagKey)
			s.allKeys[e.Scope.TagKey] = true
		}
	}
	return s
}

// Len is the number of live exceptions in the set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	n := 0
	for _, es := range s.byCheck {
		n += len(es)
	}
	return n
}

// Has says whether some exception of the set is of checkID: only its
// failing results can be excepted.
func (s *Set) Has(checkID string) bool { return s != nil && len(s.byCheck[checkID]) > 0 }

// NeedsTags says whether an exception of checkID has a tag scope: marking
// its results needs their assets' tags.
func (s *Set) NeedsTags(checkID string) bool { return s != nil && len(s.tagKeys[checkID]) > 0 }

// Relevant is the part of an asset's tags that some tag scope of the set
// names (nil when none): what a caller keeps of the inventory's tags to mark
// results later.
func (s *Set) Relevant(tags map[string]string) map[string]string {
	if s == nil || len(s.allKeys) == 0 {
		return nil
	}
	var out map[string]string
	for k, v := range tags {
		if s.allKeys[k] {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// Mark is the id of the exception that covers r at the set's time
// (citadel.CoveringException: the one that expires last, then the smallest
// id), "" when none does or r does not fail; assetTags are the inventory's
// tags of r's asset (needed only when NeedsTags(r.CheckID)). A muted result
// is marked like any other: Prowler's mute alone does not except.
func (s *Set) Mark(r citadel.CheckResult, assetTags map[string]string) string {
	if !s.Has(r.CheckID) || r.IntegrationID != s.integrationID {
		return ""
	}
	e, ok := citadel.CoveringException(s.byCheck[r.CheckID], r, assetTags, s.at)
	if !ok {
		return ""
	}
	return e.ID
}
