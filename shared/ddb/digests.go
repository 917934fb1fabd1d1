package ddb

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/digest"
)

// This file stores every scan's outcome compactly (see docs/data-model.md,
// "Check results"): SCAN#<scan id> / DIGEST (the head) and DIGEST#<nnnnn>
// chunks of digest entries (shared/digest) sorted by (check, asset), with a
// TTL; INTEG#<id> / RESULTS#DIGEST points at the latest complete digest,
// the base the next scan compares against. An unchanged rescan writes only
// its digest (21 bytes a result) and reads the previous one: writes grow
// with drift, not with inventory.

// DigestRetention is how long a scan's digest is kept (TTL). Status changes
// stay in the results' history for good.
const DigestRetention = 400 * 24 * time.Hour

// DigestChunkEntries is the number of entries in one digest chunk (63 KB).
const DigestChunkEntries = 3000

// How many digest chunks one request carries:
// 8 × 63 KB a query page; 5 × 63 KB a batch write stays under BatchWriteItem's
// 16 MB.
const (
	digestChunksPerQuery = 8
	digestChunksPerBatch = 5
)

// ResultLayout is the version of the current results' keys a digest was
// written beside. 2: a result is INTEG#<id>#RESULTS / <check>#<asset>
// (before, RES#<result id> / CURRENT in GSI1). A base digest of an earlier
// layout names results that are not where the store reads them, so the
// next scan takes it for expired and writes every result at its key once.
const ResultLayout = 2

// ScanDigest is the head of a scan's digest.
type ScanDigest struct {
	IntegrationID string `dynamo:"IntegrationID"`
	ScanID        string `dynamo:"ScanID"`
	// PreviousScanID is the digest this scan was compared against.
	PreviousScanID string `dynamo:"PreviousScanID,omitempty"`
	// Checks are the checks of the scan's results, sorted; entries name them
	// by index.
	Checks []string `dynamo:"Checks,omitempty"`
	Count  int      `dynamo:"Count"`
	// Firsts is digest.FirstKey of each chunk's first entry.
	Firsts []string `dynamo:"Firsts,omitempty"`
	// Output is the step's output, returned as it is when the step re-runs.
	Output    []byte    `dynamo:"Output,omitempty"`
	CreatedAt time.Time `dynamo:"CreatedAt"`
	// ResultLayout is set by PutScanDigest.
	ResultLayout int `dynamo:"ResultLayout,omitempty"`
}

type digestHeadItem struct {
	item
	ScanDigest
}

type digestChunkItem struct {
	item
	ScanID string
	Data   []byte
}

type latestDigestItem struct {
	item
	ScanID string
}

// PutScanDigest stores a scan's digest: its chunks, then its head, then the
// integration's pointer to it, so a digest is visible only once whole.
// Entries must be sorted by (Checks[Check], Asset) with no repeats.
func (s *Store) PutScanDigest(ctx context.Context, d ScanDigest, entries []digest.Entry) error {
	if d.ScanID == "" || d.IntegrationID == "" {
		return citadel.Invalid("scan digest: scan and integration are required")
	}
	if !sort.StringsAreSorted(d.Checks) {
		return citadel.Invalid("scan digest %s: checks are not sorted", d.ScanID)
	}
	if err := digest.Validate(d.Checks, entries); err != nil {
		return citadel.Invalid("scan digest %s: %v", d.ScanID, err)
	}
	expires := d.CreatedAt.Add(DigestRetention).Unix()
	d.Count, d.Firsts, d.ResultLayout = len(entries), nil, ResultLayout
	var chunks []any
	for n := 0; n*DigestChunkEntries < len(entries); n++ {
		part := entries[n*DigestChunkEntries : min(len(entries), (n+1)*DigestChunkEntries)]
		it := digestChunkItem{newItem(TypeScanDigest, scanDigestKey(d.ScanID, n)), d.ScanID, digest.Encode(part)}
		it.ExpiresAt = expires
		chunks = append(chunks, it)
		d.Firsts = append(d.Firsts, digest.FirstKey(d.Checks[part[0].Check], part[0].Asset))
	}
	for len(chunks) > 0 {
		n := min(len(chunks), digestChunksPerBatch)
		if err := s.batchPut(ctx, chunks[:n]); err != nil {
			return fmt.Errorf("put digest of scan %s: %w", d.ScanID, err)
		}
		chunks = chunks[n:]
	}
	head := digestHeadItem{newItem(TypeScanDigest, scanDigestHeadKey(d.ScanID)), d}
	head.ExpiresAt = expires
	if err := s.put(ctx, head, ""); err != nil {
		return fmt.Errorf("put digest head of scan %s: %w", d.ScanID, err)
	}
	ptr := latestDigestItem{newItem(TypeScanDigest, latestDigestKey(d.IntegrationID)), d.ScanID}
	return s.put(ctx, ptr, "")
}

// GetScanDigest reads the head of a scan's digest.
func (s *Store) GetScanDigest(ctx context.Context, scanID string) (ScanDigest, error) {
	var it digestHeadItem
	err := s.get(ctx, scanDigestHeadKey(scanID), &it, "digest of scan "+scanID)
	return it.ScanDigest, err
}

// ErrDigestExpired is returned when a digest's head or chunks have passed
// their TTL: the integration has results, but no digest to compare with.
var ErrDigestExpired = errors.New("scan digest expired")

// LatestScanDigest reads the head of an integration's latest complete
// digest: not found when the integration has none, ErrDigestExpired when
// the one it had is gone or was written beside an earlier ResultLayout.
func (s *Store) LatestScanDigest(ctx context.Context, integrationID string) (ScanDigest, error) {
	var ptr latestDigestItem
	if err := s.get(ctx, latestDigestKey(integrationID), &ptr, "latest digest of integration "+integrationID); err != nil {
		return ScanDigest{}, err
	}
	d, err := s.GetScanDigest(ctx, ptr.ScanID)
	switch {
	case citadel.IsNotFound(err):
		return d, fmt.Errorf("latest digest of integration %s, scan %s: %w", integrationID, ptr.ScanID, ErrDigestExpired)
	case err == nil && d.ResultLayout < ResultLayout:
		return d, fmt.Errorf("latest digest of integration %s, scan %s, beside results of layout %d (now %d): %w",
			integrationID, ptr.ScanID, d.ResultLayout, ResultLayout, ErrDigestExpired)
	}
	return d, err
}

// DigestEntries streams a digest's entries in order, a chunk at a time
// (digestChunksPerQuery chunks a request). Fewer entries than the head
// counts (chunks past their TTL) is ErrDigestExpired.
func (s *Store) DigestEntries(ctx context.Context, d ScanDigest, fn func(digest.Entry) error) error {
	var cc dynamo.ConsumedCapacity
	defer s.record(&cc, 0)
	seen := 0
	var from dynamo.PagingKey
	for page := 0; page == 0 || from != nil; page++ {
		// SearchLimit makes the iterator read one page; the loop pages on.
		q := s.byPK(scanDigestKey(d.ScanID, 0).PK).Range(AttrSK, dynamo.BeginsWith, scanDigestSKPrefix()).
			SearchLimit(digestChunksPerQuery).ConsumedCapacity(&cc)
		if from != nil {
			q = q.StartFrom(from)
		}
		iter := q.Iter()
		for {
			var chunk digestChunkItem
			if !iter.Next(ctx, &chunk) {
				break
			}
			err := digest.Decode(chunk.Data, func(e digest.Entry) error {
				if int(e.Check) >= len(d.Checks) {
					return fmt.Errorf("entry names check %d of %d", e.Check, len(d.Checks))
				}
				seen++
				return fn(e)
			})
			if err != nil {
				return fmt.Errorf("digest of scan %s, %s: %w", d.ScanID, chunk.SK, err)
			}
		}
		var err error
		if err = iter.Err(); err == nil {
			from, err = iter.LastEvaluatedKey(ctx)
		}
		if err != nil {
			return wrapAWS(err, "query digest of scan "+d.ScanID)
		}
	}
	if seen != d.Count {
		return fmt.Errorf("digest of scan %s has %d entries, its head says %d: %w", d.ScanID, seen, d.Count, ErrDigestExpired)
	}
	return nil
}

// ScanResult is one result as a scan recorded it: Prowler's status, muted,
// and Excepted when an approved exception covered it then (Effective is
// excepted). ContentHash is the entry's: the content hash, marked with the
// exception when one covered the result (digest.Hash.Marked).
type ScanResult struct {
	CheckID     string              `json:"security_check"`
	AssetID     string              `json:"asset"`
	ResultID    string              `json:"result_id"`
	Status      citadel.CheckStatus `json:"status"`
	Muted       bool                `json:"muted"`
	Excepted    bool                `json:"excepted"`
	ContentHash string              `json:"content_hash"`
}

// Effective is the result's status in the scan as shown and counted.
func (r ScanResult) Effective() citadel.CheckStatus {
	return citadel.EffectiveStatus(r.Status, r.Excepted)
}

func (d ScanDigest) result(e digest.Entry) ScanResult {
	st, muted := e.Status.Unpack()
	check, asset := d.Checks[e.Check], e.Asset.String()
	return ScanResult{CheckID: check, AssetID: asset, ResultID: citadel.ResultID(d.IntegrationID, check, asset),
		Status: st, Muted: muted, Excepted: e.Status.Excepted(), ContentHash: e.Hash.String()}
}

// ResultsOfScan streams every result a scan recorded, by check and asset.
func (s *Store) ResultsOfScan(ctx context.Context, scanID string, fn func(ScanResult) error) error {
	d, err := s.GetScanDigest(ctx, scanID)
	if err != nil {
		return err
	}
	return s.DigestEntries(ctx, d, func(e digest.Entry) error { return fn(d.result(e)) })
}

// ResultInScan answers "what was the status of check C on asset A in scan
// X": the digest's head, then the one chunk that can hold it. A result the
// scan did not record is a not-found error.
func (s *Store) ResultInScan(ctx context.Context, scanID, checkID, assetID string) (ScanResult, error) {
	d, err := s.GetScanDigest(ctx, scanID)
	if err != nil {
		return ScanResult{}, err
	}
	notFound := citadel.NotFound("scan %s has no result of %s on %s", scanID, checkID, assetID)
	ci := sort.SearchStrings(d.Checks, checkID)
	asset, ok := digest.ParseAsset(assetID)
	if ci == len(d.Checks) || d.Checks[ci] != checkID || !ok {
		return ScanResult{}, notFound
	}
	// The last chunk whose first entry is at or before the key.
	n := sort.Search(len(d.Firsts), func(i int) bool { return digest.FirstAfter(d.Firsts[i], checkID, asset) }) - 1
	if n < 0 {
		return ScanResult{}, notFound
	}
	var chunk digestChunkItem
	if err := s.get(ctx, scanDigestKey(scanID, n), &chunk, "digest chunk of scan "+scanID); err != nil {
		return ScanResult{}, err
	}
	want := digest.Key{Check: uint16(ci), Asset: asset}
	var found *ScanResult
	err = digest.Decode(chunk.Data, func(e digest.Entry) error {
		if e.Key() == want {
			r := d.result(e)
			found = &r
		}
		return nil
	})
	if err != nil {
		return ScanResult{}, fmt.Errorf("digest chunk %d of scan %s: %w", n, scanID, err)
	}
	if found == nil {
		return ScanResult{}, notFound
	}
	return *found, nil
}
