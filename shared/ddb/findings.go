package ddb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Browsing findings (docs/data-model.md, patterns 30a and 30b): an
// integration's current results filtered, and an asset's current results,
// both from the keys results already have (no index attribute on a result
// item, no table scan).

// ResultFilter narrows an integration's current results. The checks
// (CheckIDs, a requirement's; CheckID; Service, the checks named
// <service>_...) become key conditions on the integration's results
// partition (one begins_with range per
// check, or one per service); Status, Severity and Region filter the items
// the ranges hold. Status is the effective status (citadel.CheckResult.Effective):
// fail is a failing result no exception covers, excepted one that an
// exception covers.
type ResultFilter struct {
	// CheckIDs, when not empty, are the only checks listed.
	CheckIDs []string
	CheckID  string
	Service  string
	Status   citadel.CheckStatus
	Severity citadel.Severity
	Region   string
}

// ranges are the sort-key prefixes the filter reads, in key order ("":
// the whole partition); none when the checks named exclude each other.
func (f ResultFilter) ranges() []string {
	checks := slices.Clone(f.CheckIDs)
	if f.CheckID != "" {
		if len(checks) > 0 && !slices.Contains(checks, f.CheckID) {
			return nil
		}
		checks = []string{f.CheckID}
	}
	if f.Service != "" {
		if len(checks) == 0 {
			return []string{resultsOfServiceSKPrefix(f.Service)}
		}
		checks = slices.DeleteFunc(checks, func(c string) bool { return !strings.HasPrefix(c, resultsOfServiceSKPrefix(f.Service)) })
		if len(checks) == 0 {
			return nil
		}
	}
	if len(checks) == 0 {
		return []string{""}
	}
	slices.Sort(checks)
	checks = slices.Compact(checks)
	out := make([]string, len(checks))
	for i, c := range checks {
		out[i] = resultsOfCheckSKPrefix(c)
	}
	return out
}

// scope names the list a cursor belongs to: the integration and the filter.
func (f ResultFilter) scope(integrationID string) string {
	return fmt.Sprintf("results of integration %s where ranges %q status %q severity %q region %q",
		integrationID, f.ranges(), f.Status, f.Severity, f.Region)
}

// resultListItem is what a filtered list reads of a current result: its
// head and its key (the position of a page).
type resultListItem struct {
	PK string `dynamo:"PK"`
	SK string `dynamo:"SK"`
	resultHead
}

var resultListAttributes = projection[resultListItem, resultItem]()

// How much a filtered page reads: each request examines at most
// filteredExamineMax items (the first as many as the page still needs, then
// twice as many as the last), and a page makes at most filteredRequests
// requests. A filter that matches little so answers a short page (even an
// empty one) with a cursor, never a long wait.
const (
	filteredRequests   = 16
	filteredExamineMax = 1000
)

// ListResultsFiltered lists an integration's current results that pass f,
// by check and asset, without raw outputs or snapshots. A page holds at
// most limit results and may hold fewer while Next is set: the filter drops
// items after they are read. The cursor is bound to the integration and the
// filter.
func (s *Store) ListResultsFiltered(ctx context.Context, integrationID string, f ResultFilter, limit int, cursor string) (citadel.Page[citadel.CheckResult], error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	page := citadel.Page[citadel.CheckResult]{Items: []citadel.CheckResult{}}
	ranges := f.ranges()
	scope := s.cursorScope(f.scope(integrationID))
	partition := resultsOfIntegrationPK(integrationID)
	var pos dynamo.PagingKey // where the next read starts (nil: a range's start)
	first := 0
	if cursor != "" {
		k, err := decodeCursor(cursor, scope)
		if err != nil {
			return page, err
		}
		var key map[string]string
		if err := dynamo.UnmarshalItem(k, &key); err != nil || key[AttrPK] != partition || key[AttrSK] == "" {
			return page, citadel.Invalid("%s", BadCursor)
		}
		sk := key[AttrSK]
		// The first range holding or after the position; the position is
		// a start key only inside its own range.
		for first < len(ranges) && !strings.HasPrefix(sk, ranges[first]) && ranges[first] < sk {
			first++
		}
		if first < len(ranges) && strings.HasPrefix(sk, ranges[first]) {
			pos = k
		}
	}
	// rangeStart is a position just before range i's first result (no
	// result's sort key is a bare prefix).
	rangeStart := func(i int) (dynamo.PagingKey, error) {
		return dynamo.MarshalItem(map[string]string{AttrPK: partition, AttrSK: ranges[i]})
	}
	examine, requests := limit, 0
	for i := first; i < len(ranges); {
		if len(page.Items) == limit || requests == filteredRequests {
			if pos == nil {
				var err error
				if pos, err = rangeStart(i); err != nil {
					return page, fmt.Errorf("results of integration %s: %w", integrationID, err)
				}
			}
			next, err := encodeCursor(pos, scope)
			page.Next = next
			return page, err
		}
		q := s.byPK(partition).Project(resultListAttributes...).SearchLimit(examine)
		if ranges[i] != "" {
			q = q.Range(AttrSK, dynamo.BeginsWith, ranges[i])
		}
		switch f.Status {
		case "":
		case citadel.StatusFail:
			q = q.Filter("'Status' = ? AND attribute_not_exists('ExceptionID')", citadel.StatusFail)
		case citadel.StatusExcepted:
			q = q.Filter("'Status' = ? AND attribute_exists('ExceptionID')", citadel.StatusFail)
		default:
			q = q.Filter("'Status' = ?", f.Status)
		}
		if f.Severity != "" {
			q = q.Filter("'Severity' = ?", f.Severity)
		}
		if f.Region != "" {
			q = q.Filter("'Region' = ?", f.Region)
		}
		if pos != nil {
			q = q.StartFrom(pos)
		}
		var items []resultListItem
		var cc dynamo.ConsumedCapacity
		lek, err := q.ConsumedCapacity(&cc).AllWithLastEvaluatedKey(ctx, &items)
		s.record(&cc, 0)
		requests++
		if err != nil {
			return page, wrapAWS(err, "query results of integration "+integrationID)
		}
		room := limit - len(page.Items)
		for _, it := range items[:min(room, len(items))] {
			r, err := it.result(Key{it.PK, it.SK})
			if err != nil {
				return page, fmt.Errorf("results of integration %s: %w", integrationID, err)
			}
			page.Items = append(page.Items, r)
		}
		switch {
		case len(items) > room:
			last := items[room-1]
			if pos, err = dynamo.MarshalItem(map[string]string{AttrPK: last.PK, AttrSK: last.SK}); err != nil {
				return page, fmt.Errorf("results of integration %s: %w", integrationID, err)
			}
		case len(lek) > 0:
			pos = lek
		default: // the range is read
			pos = nil
			i++
		}
		examine = min(filteredExamineMax, 2*examine)
	}
	return page, nil
}

// ResultsOfAsset reads an asset's current results, by check, without raw
// outputs or snapshots: for each check of the integration's latest scan
// (its digest's check list), the result of (integration, check, asset) by
// key, in consistent BatchGetItem requests of 100. Before the first scan
// (no digest, or the latest one expired) there are none to name.
func (s *Store) ResultsOfAsset(ctx context.Context, integrationID, assetID string) ([]citadel.CheckResult, error) {
	d, err := s.LatestScanDigest(ctx, integrationID)
	switch {
	case citadel.IsNotFound(err), errors.Is(err, ErrDigestExpired):
		return []citadel.CheckResult{}, nil
	case err != nil:
		return nil, err
	}
	keys := make([]Key, len(d.Checks))
	for i, c := range d.Checks {
		keys[i] = resultKey(integrationID, c, assetID)
	}
	var items []resultHeadItem
	if err := s.batchGet(ctx, keys, &items, "results of asset "+assetID, resultHeadAttributes...); err != nil {
		return nil, err
	}
	out := make([]citadel.CheckResult, 0, len(items))
	for _, it := range items {
		r, err := it.result(Key{it.PK, it.SK})
		if err != nil {
			return nil, fmt.Errorf("results of asset %s: %w", assetID, err)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b citadel.CheckResult) int { return strings.Compare(a.CheckID, b.CheckID) })
	return out, nil
}
