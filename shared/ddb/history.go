package ddb

import (
	"context"

	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// This file is the history of a result: RES#<result id> / HIST#<scan id>,
// one item per status change (a first-ever result records PreviousStatus
// ""), written with the result by PutResults. History never expires.

type historyItem struct {
	item
	citadel.CheckResultHistory
}

// ResultHistory lists a result's status changes, oldest first.
func (s *Store) ResultHistory(ctx context.Context, resultID string) ([]citadel.CheckResultHistory, error) {
	var items []historyItem
	q := s.byPK(resultHistoryPK(resultID)).Range(AttrSK, dynamo.BeginsWith, resultHistorySKPrefix())
	if err := s.queryAll(ctx, q, &items, "history of result "+resultID); err != nil {
		return nil, err
	}
	out := make([]citadel.CheckResultHistory, len(items))
	for i, it := range items {
		out[i] = it.CheckResultHistory
	}
	return out, nil
}

// StatusAsOf is the status a result had in a scan according to its history
// (the latest change at or before the scan; scan ids sort by time). It
// answers for scans whose digest has expired; ok is false when the result
// did not exist yet.
func (s *Store) StatusAsOf(ctx context.Context, resultID, scanID string) (status citadel.CheckStatus, ok bool, err error) {
	var items []historyItem
	q := s.byPK(resultHistoryPK(resultID)).Range(AttrSK, dynamo.Between, resultHistorySKPrefix(), resultHistoryKey(resultID, scanID).SK).
		Order(dynamo.Descending).SearchLimit(1) // one request, no key inference (store.go queryPage)
	if err := s.queryAll(ctx, q, &items, "history of result "+resultID); err != nil {
		return "", false, err
	}
	if len(items) == 0 {
		return "", false, nil
	}
	return items[0].NewStatus, true, nil
}
