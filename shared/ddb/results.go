package ddb

import (
	"context"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// This file is the current result of (integration, check, asset) (see
// docs/data-model.md, "Check results"): INTEG#<id>#RESULTS / <check>#<asset>
// in the table, in no index, rewritten only when its content
// (status, muted, detail, snapshot ...) changes. Its history is in
// history.go, the scans' digests in digests.go.

// resultHead is what names a current result and its outcome: every
// attribute but the finding's bulk and the comparison state. The
// integration, check and asset are its key's (resultOfKey), not attributes.
type resultHead struct {
	IntegrationID  string `dynamo:"-"`
	CheckID        string `dynamo:"-"`
	AssetID        string `dynamo:"-"`
	AssetARN       string
	ScanID         string
	Status         citadel.CheckStatus
	Muted          bool `dynamo:",omitempty"`
	StatusExtended string
	Severity       citadel.Severity
	Region         string
	ContentHash    string
	ScannedAt      time.Time
	FirstScanID    string
	// ExceptionID marks a failing result an approved exception covers
	// (citadel.CheckResult.ExceptionID); absent when none does.
	ExceptionID string `dynamo:",omitempty"`
}

type resultItem struct {
	item
	resultHead
	RawOutput bounded `dynamo:",omitempty"`
	Snapshot  bounded `dynamo:",omitempty"`
	// RawGzip and SnapshotGzip mark values stored gzip-compressed (compress.go).
	RawGzip      bool `dynamo:",omitempty"`
	SnapshotGzip bool `dynamo:",omitempty"`
	// The effective status (citadel.CheckResult.Effective) before ScanID
	// wrote this content, so a re-run of that scan finds the same change
	// again.
	PreviousStatus citadel.CheckStatus `dynamo:",omitempty"`
	HadPrevious    bool                `dynamo:",omitempty"`
}

// resultHeadItem is what ListResultHeads reads of a current result.
type resultHeadItem struct {
	PK string `dynamo:"PK"`
	SK string `dynamo:"SK"`
	resultHead
}

// resultStateItem is what ResultStates reads of a current result.
type resultStateItem struct {
	PK string `dynamo:"PK"`
	SK string `dynamo:"SK"`
	ResultState
}

// Projections of resultItem, derived from the types read into.
var (
	resultHeadAttributes  = projection[resultHeadItem, resultItem]()
	resultStateAttributes = projection[resultStateItem, resultItem]()
)

// ResultWrite is a result whose content or exception changed in a scan:
// the current item to write, and the history entry when its effective
// status changed. PreviousStatus is the effective status before.
type ResultWrite struct {
	Result         citadel.CheckResult
	PreviousStatus citadel.CheckStatus
	HadPrevious    bool
	History        *citadel.CheckResultHistory
}

// PutResults writes changed results and their history entries, 25 items a
// request. Raw outputs and snapshots over InlineLimit are offloaded to the
// blob store (or truncated without one). Writing the same results again
// stores the same items.
func (s *Store) PutResults(ctx context.Context, ws []ResultWrite) error {
	items := make([]any, 0, 2*len(ws))
	for _, w := range ws {
		r := w.Result
		if err := r.Validate(); err != nil {
			return err
		}
		id := citadel.ResultID(r.IntegrationID, r.CheckID, r.AssetID)
		raw, rawGz, err := s.boundCompressed(ctx, "results/raw", r.RawOutput)
		if err != nil {
			return err
		}
		snap, snapGz, err := s.boundCompressed(ctx, "results/snapshot", r.ResourceSnapshot)
		if err != nil {
			return err
		}
		it := resultItem{
			item: newItem(TypeResult, resultKey(r.IntegrationID, r.CheckID, r.AssetID)),
			resultHead: resultHead{
				IntegrationID: r.IntegrationID, CheckID: r.CheckID, AssetID: r.AssetID, AssetARN: r.AssetARN,
				ScanID: r.ScanID, Status: r.Status, Muted: r.Muted, StatusExtended: r.StatusExtended,
				Severity: r.Severity, Region: r.Region, ContentHash: r.ContentHash, ScannedAt: r.ScannedAt, FirstScanID: r.FirstScanID,
				ExceptionID: r.ExceptionID,
			},
			RawOutput: raw, Snapshot: snap, RawGzip: rawGz, SnapshotGzip: snapGz,
			PreviousStatus: w.PreviousStatus, HadPrevious: w.HadPrevious,
		}
		items = append(items, it)
		if h := w.History; h != nil {
			items = append(items, historyItem{newItem(TypeResultHistory, resultHistoryKey(id, h.ScanID)), *h})
		}
	}
	for len(items) > 0 {
		n := min(len(items), 25)
		if err := s.batchPut(ctx, items[:n]); err != nil {
			return fmt.Errorf("put results: %w", err)
		}
		items = items[n:]
	}
	return nil
}

// result is the result a head read at key k names, without raw output or
// snapshot.
func (h resultHead) result(k Key) (citadel.CheckResult, error) {
	integrationID, checkID, assetID, err := resultOfKey(k)
	if err != nil {
		return citadel.CheckResult{}, err
	}
	return citadel.CheckResult{
		IntegrationID: integrationID, CheckID: checkID, AssetID: assetID, AssetARN: h.AssetARN,
		ScanID: h.ScanID, Status: h.Status, Muted: h.Muted, StatusExtended: h.StatusExtended,
		Severity: h.Severity, Region: h.Region, ContentHash: h.ContentHash, ScannedAt: h.ScannedAt,
		FirstScanID: h.FirstScanID, ExceptionID: h.ExceptionID,
	}, nil
}

func (s *Store) resultOf(ctx context.Context, it resultItem) (citadel.CheckResult, error) {
	r, err := it.result(it.key())
	if err != nil {
		return r, err
	}
	if r.RawOutput, err = s.unboundCompressed(ctx, it.RawOutput, it.RawGzip); err != nil {
		return r, fmt.Errorf("raw output of result %s: %w", it.PK, err)
	}
	if r.ResourceSnapshot, err = s.unboundCompressed(ctx, it.Snapshot, it.SnapshotGzip); err != nil {
		return r, fmt.Errorf("snapshot of result %s: %w", it.PK, err)
	}
	return r, nil
}

// GetResult reads the current result of (integration, check, asset), with
// its raw output and snapshot.
func (s *Store) GetResult(ctx context.Context, integrationID, checkID, assetID string) (citadel.CheckResult, error) {
	var it resultItem
	if err := s.get(ctx, resultKey(integrationID, checkID, assetID), &it, "check result of "+checkID+" on "+assetID); err != nil {
		return citadel.CheckResult{}, err
	}
	return s.resultOf(ctx, it)
}

// ListResults lists an integration's current results by check and asset, a
// page at a time.
func (s *Store) ListResults(ctx context.Context, integrationID string, limit int, cursor string) (citadel.Page[citadel.CheckResult], error) {
	return s.listResults(ctx, s.byPK(resultsOfIntegrationPK(integrationID)), limit, cursor, "results of integration "+integrationID)
}

// ListResultsOfCheck lists an integration's current results of one check.
func (s *Store) ListResultsOfCheck(ctx context.Context, integrationID, checkID string, limit int, cursor string) (citadel.Page[citadel.CheckResult], error) {
	q := s.byPK(resultsOfIntegrationPK(integrationID)).Range(AttrSK, dynamo.BeginsWith, resultsOfCheckSKPrefix(checkID))
	return s.listResults(ctx, q, limit, cursor, "results of check "+checkID)
}

// ListResultHeads lists an integration's current results like ListResults,
// without their raw outputs and snapshots: only the fields that name a result
// and its outcome are read, so steps that group results (controls) neither
// carry the findings' bulk nor fetch offloaded values.
func (s *Store) ListResultHeads(ctx context.Context, integrationID string, limit int, cursor string) (citadel.Page[citadel.CheckResult], error) {
	return s.listResultHeads(ctx, s.byPK(resultsOfIntegrationPK(integrationID)), integrationID, limit, cursor)
}

// ListResultHeadsOfCheck is ListResultHeads of one check's results (what
// re-marking them without a scan reads).
func (s *Store) ListResultHeadsOfCheck(ctx context.Context, integrationID, checkID string, limit int, cursor string) (citadel.Page[citadel.CheckResult], error) {
	q := s.byPK(resultsOfIntegrationPK(integrationID)).Range(AttrSK, dynamo.BeginsWith, resultsOfCheckSKPrefix(checkID))
	return s.listResultHeads(ctx, q, integrationID, limit, cursor)
}

func (s *Store) listResultHeads(ctx context.Context, q *dynamo.Query, integrationID string, limit int, cursor string) (citadel.Page[citadel.CheckResult], error) {
	q = q.Project(resultHeadAttributes...)
	var items []resultHeadItem
	next, err := s.queryPage(ctx, q, limit, cursor, &items, "result heads of integration "+integrationID)
	if err != nil {
		return citadel.Page[citadel.CheckResult]{}, err
	}
	page := citadel.Page[citadel.CheckResult]{Next: next, Items: make([]citadel.CheckResult, len(items))}
	for i, it := range items {
		if page.Items[i], err = it.result(Key{it.PK, it.SK}); err != nil {
			return page, fmt.Errorf("result heads of integration %s: %w", integrationID, err)
		}
	}
	return page, nil
}

func (s *Store) listResults(ctx context.Context, q *dynamo.Query, limit int, cursor, what string) (citadel.Page[citadel.CheckResult], error) {
	var items []resultItem
	next, err := s.queryPage(ctx, q, limit, cursor, &items, what)
	if err != nil {
		return citadel.Page[citadel.CheckResult]{}, err
	}
	page := citadel.Page[citadel.CheckResult]{Next: next, Items: make([]citadel.CheckResult, 0, len(items))}
	for _, it := range items {
		r, err := s.resultOf(ctx, it)
		if err != nil {
			return page, err
		}
		page.Items = append(page.Items, r)
	}
	return page, nil
}

// ResultState is what a scan compares a result against when the previous
// digest does not hold it.
type ResultState struct {
	ScanID         string
	Status         citadel.CheckStatus
	Muted          bool
	ContentHash    string
	ExceptionID    string
	PreviousStatus citadel.CheckStatus
	HadPrevious    bool
}

// Effective is the stored result's status as shown and counted.
func (st ResultState) Effective() citadel.CheckStatus {
	return citadel.EffectiveStatus(st.Status, st.ExceptionID != "")
}

// ResultRef names a current result of an integration.
type ResultRef struct{ CheckID, AssetID string }

// ResultStates reads the comparison state of an integration's results
// (BatchGetItem, 100 keys a request, strongly consistent); missing results
// are absent.
func (s *Store) ResultStates(ctx context.Context, integrationID string, refs []ResultRef) (map[ResultRef]ResultState, error) {
	out := make(map[ResultRef]ResultState, len(refs))
	keys := make([]Key, len(refs))
	for i, r := range refs {
		keys[i] = resultKey(integrationID, r.CheckID, r.AssetID)
	}
	var items []resultStateItem
	if err := s.batchGet(ctx, keys, &items, "results", resultStateAttributes...); err != nil {
		return nil, err
	}
	for _, it := range items {
		c, a, ok := resultOfSK(it.SK)
		if !ok || it.PK != resultsOfIntegrationPK(integrationID) {
			return nil, fmt.Errorf("result states: %s / %s is not a result of integration %s", it.PK, it.SK, integrationID)
		}
		out[ResultRef{c, a}] = it.ResultState
	}
	return out, nil
}
