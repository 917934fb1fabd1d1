package ddb

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Check results (see docs/data-model.md, "Check results"):
//
//   - the current result of (integration, check, asset): RES#<result id> /
//     CURRENT, in GSI1 INTEG#<id>#RESULTS / <check>#<asset>; rewritten only
//     when its content (status, muted, detail, snapshot ...) changes;
//   - its history: RES#<result id> / HIST#<scan id>, one item per status
//     change (a first-ever result records PreviousStatus "");
//   - every scan's outcome, compactly: SCAN#<scan id> / DIGEST (the head) and
//     DIGEST#<nnnnn> chunks of 21-byte entries sorted by (check, asset),
//     with a TTL; INTEG#<id> / RESULTS#DIGEST points at the latest complete
//     digest, the base the next scan compares against.
//
// An unchanged rescan writes only its digest (21 bytes a result) and reads
// the previous one: writes grow with drift, not with inventory.

// DigestRetention is how long a scan's digest is kept (TTL). Status changes
// stay in the results' history for good.
const DigestRetention = 400 * 24 * time.Hour

// DigestChunkEntries is the number of entries in one digest chunk (63 KB).
const DigestChunkEntries = 3000

// digestEntrySize is the packed size of a DigestEntry.
const digestEntrySize = 21

type resultItem struct {
	item
	IntegrationID  string
	CheckID        string
	AssetID        string
	AssetARN       string
	ScanID         string
	Status         citadel.CheckStatus
	Muted          bool `dynamo:",omitempty"`
	StatusExtended string
	Severity       citadel.Severity
	Region         string
	RawOutput      bounded `dynamo:",omitempty"`
	Snapshot       bounded `dynamo:",omitempty"`
	// RawGzip and SnapshotGzip mark values stored gzip-compressed: JSON
	// findings shrink about fourfold, and so do the item's write units.
	RawGzip      bool `dynamo:",omitempty"`
	SnapshotGzip bool `dynamo:",omitempty"`
	ContentHash  string
	ScannedAt    time.Time
	FirstScanID  string
	// The status before ScanID wrote this content, so a re-run of that scan
	// finds the same change again.
	PreviousStatus citadel.CheckStatus `dynamo:",omitempty"`
	HadPrevious    bool                `dynamo:",omitempty"`
}

type historyItem struct {
	item
	citadel.CheckResultHistory
}

// ResultWrite is a result whose content changed in a scan: the current item
// to write, and the history entry when its status changed.
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
			item:          newItem(TypeResult, resultKey(id)).withGSI1(resultsOfIntegrationGSI(r.IntegrationID, r.CheckID, r.AssetID)),
			IntegrationID: r.IntegrationID, CheckID: r.CheckID, AssetID: r.AssetID, AssetARN: r.AssetARN,
			ScanID: r.ScanID, Status: r.Status, Muted: r.Muted, StatusExtended: r.StatusExtended,
			Severity: r.Severity, Region: r.Region, RawOutput: raw, Snapshot: snap,
			ContentHash: r.ContentHash, ScannedAt: r.ScannedAt, FirstScanID: r.FirstScanID,
			PreviousStatus: w.PreviousStatus, HadPrevious: w.HadPrevious, RawGzip: rawGz, SnapshotGzip: snapGz,
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

func (s *Store) resultOf(ctx context.Context, it resultItem) (citadel.CheckResult, error) {
	r := citadel.CheckResult{
		IntegrationID: it.IntegrationID, CheckID: it.CheckID, AssetID: it.AssetID, AssetARN: it.AssetARN,
		ScanID: it.ScanID, Status: it.Status, Muted: it.Muted, StatusExtended: it.StatusExtended,
		Severity: it.Severity, Region: it.Region, ContentHash: it.ContentHash, ScannedAt: it.ScannedAt,
		FirstScanID: it.FirstScanID,
	}
	var err error
	if r.RawOutput, err = s.unboundCompressed(ctx, it.RawOutput, it.RawGzip); err != nil {
		return r, fmt.Errorf("raw output of result %s: %w", it.PK, err)
	}
	if r.ResourceSnapshot, err = s.unboundCompressed(ctx, it.Snapshot, it.SnapshotGzip); err != nil {
		return r, fmt.Errorf("snapshot of result %s: %w", it.PK, err)
	}
	return r, nil
}

var gzipWriters = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed); return w }}

// boundCompressed stores a JSON value gzip-compressed when that makes it
// smaller and keeps it whole (inline, or offloaded); a value that would be
// truncated is stored as it is, so its prefix stays readable.
func (s *Store) boundCompressed(ctx context.Context, prefix string, data []byte) (bounded, bool, error) {
	if len(data) >= 256 {
		var buf bytes.Buffer
		zw := gzipWriters.Get().(*gzip.Writer)
		zw.Reset(&buf)
		_, werr := zw.Write(data)
		cerr := zw.Close()
		gzipWriters.Put(zw)
		if werr == nil && cerr == nil && buf.Len() < len(data) && (buf.Len() <= InlineLimit || s.blobs != nil) {
			b, err := s.bound(ctx, prefix, buf.Bytes())
			return b, true, err
		}
	}
	b, err := s.bound(ctx, prefix, data)
	return b, false, err
}

func (s *Store) unboundCompressed(ctx context.Context, b bounded, gz bool) ([]byte, error) {
	data, err := s.unbound(ctx, b)
	if err != nil || !gz {
		return data, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	return out, nil
}

// GetResult reads the current result of (integration, check, asset) by its
// id (citadel.ResultID), with its raw output and snapshot.
func (s *Store) GetResult(ctx context.Context, resultID string) (citadel.CheckResult, error) {
	var it resultItem
	if err := s.get(ctx, resultKey(resultID), &it, "check result "+resultID); err != nil {
		return citadel.CheckResult{}, err
	}
	return s.resultOf(ctx, it)
}

// ListResults lists an integration's current results by check and asset, a
// page at a time.
func (s *Store) ListResults(ctx context.Context, integrationID string, limit int, cursor string) (Page[citadel.CheckResult], error) {
	return s.listResults(ctx, s.byGSI1(resultsOfIntegrationGSI(integrationID, "", "").PK), limit, cursor, "results of integration "+integrationID)
}

// ListResultsOfCheck lists an integration's current results of one check.
func (s *Store) ListResultsOfCheck(ctx context.Context, integrationID, checkID string, limit int, cursor string) (Page[citadel.CheckResult], error) {
	g := resultsOfIntegrationGSI(integrationID, checkID, "")
	q := s.byGSI1(g.PK).Range(AttrGSI1SK, dynamo.BeginsWith, g.SK)
	return s.listResults(ctx, q, limit, cursor, "results of check "+checkID)
}

// ListResultHeads lists an integration's current results like ListResults,
// without their raw outputs and snapshots: only the fields that name a result
// and its outcome are read, so steps that group results (controls) neither
// carry the findings' bulk nor fetch offloaded values.
func (s *Store) ListResultHeads(ctx context.Context, integrationID string, limit int, cursor string) (Page[citadel.CheckResult], error) {
	q := s.byGSI1(resultsOfIntegrationGSI(integrationID, "", "").PK).
		Project(AttrPK, AttrSK, "IntegrationID", "CheckID", "AssetID", "AssetARN", "ScanID", "Status", "Muted", "StatusExtended",
			"Severity", "Region", "ContentHash", "ScannedAt", "FirstScanID")
	return s.listResults(ctx, q, limit, cursor, "result heads of integration "+integrationID)
}

func (s *Store) listResults(ctx context.Context, q *dynamo.Query, limit int, cursor, what string) (Page[citadel.CheckResult], error) {
	var items []resultItem
	next, err := s.queryPage(ctx, q, limit, cursor, &items, what)
	if err != nil {
		return Page[citadel.CheckResult]{}, err
	}
	page := Page[citadel.CheckResult]{Next: next, Items: make([]citadel.CheckResult, 0, len(items))}
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
	ResultID       string
	ScanID         string
	Status         citadel.CheckStatus
	Muted          bool
	ContentHash    string
	PreviousStatus citadel.CheckStatus
	HadPrevious    bool
}

// ResultStates reads the comparison state of results by id (BatchGetItem,
// 100 keys a request, strongly consistent); missing ids are absent.
func (s *Store) ResultStates(ctx context.Context, ids []string) (map[string]ResultState, error) {
	out := make(map[string]ResultState, len(ids))
	keys := make([]Key, len(ids))
	for i, id := range ids {
		keys[i] = resultKey(id)
	}
	var items []resultItem
	if err := s.batchGet(ctx, keys, &items, "results", AttrPK, "ScanID", "Status", "Muted", "ContentHash", "PreviousStatus", "HadPrevious"); err != nil {
		return nil, err
	}
	for _, it := range items {
		id := it.PK[len("RES#"):]
		out[id] = ResultState{ResultID: id, ScanID: it.ScanID, Status: it.Status, Muted: it.Muted,
			ContentHash: it.ContentHash, PreviousStatus: it.PreviousStatus, HadPrevious: it.HadPrevious}
	}
	return out, nil
}

// ResultHistory lists a result's status changes, oldest first.
func (s *Store) ResultHistory(ctx context.Context, resultID string) ([]citadel.CheckResultHistory, error) {
	var items []historyItem
	q := s.byPK(resultKey(resultID).PK).Range(AttrSK, dynamo.BeginsWith, resultHistorySKPrefix())
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
	q := s.byPK(resultKey(resultID).PK).Range(AttrSK, dynamo.Between, resultHistorySKPrefix(), resultHistoryKey(resultID, scanID).SK).
		Order(dynamo.Descending).Limit(1)
	if err := s.queryAll(ctx, q, &items, "history of result "+resultID); err != nil {
		return "", false, err
	}
	if len(items) == 0 {
		return "", false, nil
	}
	return items[0].NewStatus, true, nil
}

// --- scan digests ---------------------------------------------------------------

// DigestEntry is one result of a scan, packed: the check as an index into
// its digest's Checks, the asset id's 10 bytes, the status (with the muted
// flag) and 8 bytes of the content hash.
type DigestEntry struct {
	Check  uint16
	Asset  [10]byte
	Status byte
	Hash   [8]byte
}

const mutedFlag = 0x80

var statusCodes = []citadel.CheckStatus{"", citadel.StatusPass, citadel.StatusFail, citadel.StatusError, citadel.StatusNotApplicable}

// PackStatus encodes a status and the muted flag in a byte.
func PackStatus(st citadel.CheckStatus, muted bool) byte {
	var b byte
	for i, c := range statusCodes {
		if c == st && i > 0 {
			b = byte(i)
		}
	}
	if muted {
		b |= mutedFlag
	}
	return b
}

// UnpackStatus decodes PackStatus.
func UnpackStatus(b byte) (citadel.CheckStatus, bool) {
	i := int(b &^ mutedFlag)
	if i >= len(statusCodes) {
		i = 0
	}
	return statusCodes[i], b&mutedFlag != 0
}

// ParseAssetID turns an asset id (20 hex digits) into its packed form.
func ParseAssetID(id string) ([10]byte, bool) {
	var a [10]byte
	if len(id) != 20 {
		return a, false
	}
	_, err := hex.Decode(a[:], []byte(id))
	return a, err == nil
}

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
	// Firsts is "<check>#<asset id>" of each chunk's first entry.
	Firsts []string `dynamo:"Firsts,omitempty"`
	// Output is the step's output, returned as it is when the step re-runs.
	Output    []byte    `dynamo:"Output,omitempty"`
	CreatedAt time.Time `dynamo:"CreatedAt"`
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
func (s *Store) PutScanDigest(ctx context.Context, d ScanDigest, entries []DigestEntry) error {
	if d.ScanID == "" || d.IntegrationID == "" {
		return citadel.Invalid("scan digest: scan and integration are required")
	}
	if !sort.StringsAreSorted(d.Checks) {
		return citadel.Invalid("scan digest %s: checks are not sorted", d.ScanID)
	}
	for i, e := range entries {
		if int(e.Check) >= len(d.Checks) {
			return citadel.Invalid("scan digest %s: entry %d names check %d of %d", d.ScanID, i, e.Check, len(d.Checks))
		}
		if i > 0 && compareEntries(d.Checks, entries[i-1], e) >= 0 {
			return citadel.Invalid("scan digest %s: entries are not sorted at %d", d.ScanID, i)
		}
	}
	expires := d.CreatedAt.Add(DigestRetention).Unix()
	d.Count, d.Firsts = len(entries), nil
	var chunks []any
	for n := 0; n*DigestChunkEntries < len(entries); n++ {
		part := entries[n*DigestChunkEntries : min(len(entries), (n+1)*DigestChunkEntries)]
		data := make([]byte, 0, len(part)*digestEntrySize)
		for _, e := range part {
			data = append(data, byte(e.Check>>8), byte(e.Check))
			data = append(data, e.Asset[:]...)
			data = append(data, e.Status)
			data = append(data, e.Hash[:]...)
		}
		it := digestChunkItem{newItem(TypeScanDigest, scanDigestKey(d.ScanID, n)), d.ScanID, data}
		it.ExpiresAt = expires
		chunks = append(chunks, it)
		d.Firsts = append(d.Firsts, d.Checks[part[0].Check]+"#"+hex.EncodeToString(part[0].Asset[:]))
	}
	for len(chunks) > 0 {
		n := min(len(chunks), 5) // 5 × 63 KB stays under BatchWriteItem's 16 MB
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

func compareEntries(checks []string, a, b DigestEntry) int {
	if a.Check != b.Check {
		if checks[a.Check] < checks[b.Check] {
			return -1
		}
		return 1
	}
	return bytes.Compare(a.Asset[:], b.Asset[:])
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
// the one it had is gone.
func (s *Store) LatestScanDigest(ctx context.Context, integrationID string) (ScanDigest, error) {
	var ptr latestDigestItem
	if err := s.get(ctx, latestDigestKey(integrationID), &ptr, "latest digest of integration "+integrationID); err != nil {
		return ScanDigest{}, err
	}
	d, err := s.GetScanDigest(ctx, ptr.ScanID)
	if citadel.IsNotFound(err) {
		return d, fmt.Errorf("latest digest of integration %s, scan %s: %w", integrationID, ptr.ScanID, ErrDigestExpired)
	}
	return d, err
}

// DigestEntries streams a digest's entries in order, a chunk at a time.
func (s *Store) DigestEntries(ctx context.Context, d ScanDigest, fn func(DigestEntry) error) error {
	cursor := ""
	seen := 0
	for {
		var items []digestChunkItem
		q := s.byPK(scanDigestKey(d.ScanID, 0).PK).Range(AttrSK, dynamo.BeginsWith, scanDigestSKPrefix())
		next, err := s.queryPage(ctx, q, 8, cursor, &items, "digest of scan "+d.ScanID)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := eachPacked(it.Data, func(e DigestEntry) error {
				if int(e.Check) >= len(d.Checks) {
					return fmt.Errorf("digest of scan %s: entry names check %d of %d", d.ScanID, e.Check, len(d.Checks))
				}
				seen++
				return fn(e)
			}); err != nil {
				return err
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if seen != d.Count {
		return fmt.Errorf("digest of scan %s has %d entries, its head says %d: %w", d.ScanID, seen, d.Count, ErrDigestExpired)
	}
	return nil
}

func eachPacked(data []byte, fn func(DigestEntry) error) error {
	if len(data)%digestEntrySize != 0 {
		return fmt.Errorf("digest chunk of %d bytes is not whole entries", len(data))
	}
	for len(data) > 0 {
		var e DigestEntry
		e.Check = uint16(data[0])<<8 | uint16(data[1])
		copy(e.Asset[:], data[2:12])
		e.Status = data[12]
		copy(e.Hash[:], data[13:21])
		if err := fn(e); err != nil {
			return err
		}
		data = data[digestEntrySize:]
	}
	return nil
}

// ScanResult is one result as a scan recorded it.
type ScanResult struct {
	CheckID     string              `json:"security_check"`
	AssetID     string              `json:"asset"`
	ResultID    string              `json:"result_id"`
	Status      citadel.CheckStatus `json:"status"`
	Muted       bool                `json:"muted"`
	ContentHash string              `json:"content_hash"`
}

func (d ScanDigest) result(e DigestEntry) ScanResult {
	st, muted := UnpackStatus(e.Status)
	check, asset := d.Checks[e.Check], hex.EncodeToString(e.Asset[:])
	return ScanResult{CheckID: check, AssetID: asset, ResultID: citadel.ResultID(d.IntegrationID, check, asset),
		Status: st, Muted: muted, ContentHash: hex.EncodeToString(e.Hash[:])}
}

// ResultsOfScan streams every result a scan recorded, by check and asset.
func (s *Store) ResultsOfScan(ctx context.Context, scanID string, fn func(ScanResult) error) error {
	d, err := s.GetScanDigest(ctx, scanID)
	if err != nil {
		return err
	}
	return s.DigestEntries(ctx, d, func(e DigestEntry) error { return fn(d.result(e)) })
}

// ResultInScan answers "what was the status of check C on asset A in scan
// X": the digest's head, then the one chunk that can hold it. A result the
// scan did not record is a not-found error.
func (s *Store) ResultInScan(ctx context.Context, scanID, checkID, assetID string) (ScanResult, error) {
	d, err := s.GetScanDigest(ctx, scanID)
	if err != nil {
		return ScanResult{}, err
	}
	ci := sort.SearchStrings(d.Checks, checkID)
	asset, ok := ParseAssetID(assetID)
	if ci == len(d.Checks) || d.Checks[ci] != checkID || !ok {
		return ScanResult{}, citadel.NotFound("scan %s has no result of %s on %s", scanID, checkID, assetID)
	}
	key := checkID + "#" + assetID
	// The last chunk whose first entry is at or before the key.
	n := sort.Search(len(d.Firsts), func(i int) bool { return firstAfter(d.Firsts[i], checkID, assetID) }) - 1
	if n < 0 {
		return ScanResult{}, citadel.NotFound("scan %s has no result of %s on %s", scanID, checkID, assetID)
	}
	var chunk digestChunkItem
	if err := s.get(ctx, scanDigestKey(scanID, n), &chunk, "digest chunk of scan "+scanID); err != nil {
		return ScanResult{}, err
	}
	want := DigestEntry{Check: uint16(ci), Asset: asset}
	var found *ScanResult
	err = eachPacked(chunk.Data, func(e DigestEntry) error {
		if e.Check == want.Check && e.Asset == want.Asset {
			r := d.result(e)
			found = &r
		}
		return nil
	})
	if err != nil {
		return ScanResult{}, err
	}
	if found == nil {
		return ScanResult{}, citadel.NotFound("scan %s has no result for %s", scanID, key)
	}
	return *found, nil
}

// firstAfter reports whether a chunk's first "<check>#<asset>" sorts after
// (check, asset), comparing the check first (check ids may hold no '#',
// but compare them as a unit anyway).
func firstAfter(first, check, asset string) bool {
	fc, fa := first[:len(first)-21], first[len(first)-20:]
	if fc != check {
		return fc > check
	}
	return fa > asset
}

// --- progress of a long run -------------------------------------------------------

// ProgressRetention is how long a scan's progress marker is kept.
const ProgressRetention = 7 * 24 * time.Hour

type progressItem struct {
	item
	ScanID  string
	Finding int
}

// PutScanProgress records that every change of a scan before finding index
// `finding` is written (results, history and events), so a run that ran
// out of time resumes there.
func (s *Store) PutScanProgress(ctx context.Context, scanID string, finding int) error {
	it := progressItem{newItem(TypeScanDigest, scanProgressKey(scanID)), scanID, finding}
	it.ExpiresAt = s.clock().Add(ProgressRetention).Unix()
	return s.put(ctx, it, "")
}

// ScanProgress returns the recorded progress of a scan, 0 when none.
func (s *Store) ScanProgress(ctx context.Context, scanID string) (int, error) {
	var it progressItem
	err := s.get(ctx, scanProgressKey(scanID), &it, "progress of scan "+scanID)
	if citadel.IsNotFound(err) {
		return 0, nil
	}
	return it.Finding, err
}
