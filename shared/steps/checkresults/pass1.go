package checkresults

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/digest"
	"github.com/citadelsecure/citadel/shared/exceptions"
	"github.com/citadelsecure/citadel/shared/ocsf"
)

// This file is pass 1: every finding read and validated once, and each
// result kept as a digest entry with its position in the scan.

// maxFindings bounds the findings of a scan, all files together (a
// position is 32 bits).
const maxFindings = 1 << 31

// pass1 reads one whole file once, validating every finding and keeping
// what the comparison needs. Bad findings are counted and reported; a file
// that cannot be read at all (empty, not an array, truncated) fails the
// step, never succeeding with part of the scan.
func (r *run) pass1(file *file, body io.Reader) error {
	rd := r.reader(body)
	for {
		f, next := rd.Next()
		err := file.read.Add(rd, next)
		if err == io.EOF {
			file.size = rd.BytesRead()
			file.count = uint32(rd.Index())
			return nil
		}
		var ue *ocsf.UnreadableError
		if errors.As(err, &ue) {
			return citadel.Invalid("the OCSF file %s %s", r.url(file.ocsfKey), ue.Reason())
		}
		if err != nil {
			return citadel.Retryable(fmt.Errorf("read %s: %w", r.url(file.ocsfKey), err))
		}
		if int64(file.first)+int64(rd.Index()) > maxFindings {
			return citadel.Invalid("the OCSF file %s takes the scan over 2^31 findings", r.url(file.ocsfKey))
		}
		var p *ocsf.Problem
		if errors.As(next, &p) {
			if p.Malformed() {
				r.out.MalformedFindings++
			}
			r.problem(Problem{Shard: file.shard, Index: p.Index, Offset: p.Offset, Kind: string(p.Kind), Message: p.Message})
			continue
		}
		r.finding(file, f)
	}
}

// loadCatalogAndAssets reads the catalog's checks, the integration's
// approved exceptions and its active assets (with the tags the exceptions'
// tag scopes name).
func (r *run) loadCatalogAndAssets(ctx context.Context) error {
	checks, err := r.h.Store.ListChecks(ctx)
	if err != nil {
		return fmt.Errorf("check-results: catalog: %w", err)
	}
	r.known = make(map[string]bool, len(checks))
	r.serviceOf = make(map[string]string, len(checks))
	for _, c := range checks {
		r.known[c.ID] = true
		r.serviceOf[c.ID] = c.Service
	}
	if r.exceptions, err = exceptions.Load(ctx, r.h.Store, r.plan.IntegrationID, r.h.Now()); err != nil {
		return fmt.Errorf("check-results: %w", err)
	}
	r.assets = map[digest.Asset]uint16{}
	r.regions = []string{""}
	regionIdx := map[string]uint16{"": 0}
	active := func(cursor string) (citadel.Page[citadel.Asset], error) {
		return r.h.Store.ListActiveAssets(ctx, r.plan.IntegrationID, 1000, cursor)
	}
	for a, err := range citadel.Items(active) {
		if err != nil {
			return fmt.Errorf("check-results: assets: %w", err)
		}
		id, ok := digest.ParseAsset(citadel.AssetID(r.plan.IntegrationID, citadel.SourceAWS, a.SourceID))
		if !ok {
			continue
		}
		region := resultRegion(a.Region, a.SourceID)
		ri, ok := regionIdx[region]
		if !ok && len(r.regions) < 1<<16 {
			ri = uint16(len(r.regions))
			regionIdx[region] = ri
			r.regions = append(r.regions, region)
		}
		r.assets[id] = ri // past 65,535 regions (never): no region, covered everywhere
		r.keepTags(id, a.Tags)
	}
	return nil
}

// statusRank orders statuses for duplicates: the worst wins.
func statusRank(s digest.Status) int {
	switch s.CheckStatus() {
	case citadel.StatusFail:
		return 4
	case citadel.StatusError:
		return 3
	case citadel.StatusPass:
		return 2
	}
	return 1
}

func (r *run) finding(file *file, f ocsf.Finding) {
	g := file.first + uint32(f.Index)
	if !r.known[f.CheckID] {
		r.out.UnknownChecks++
		r.problem(Problem{Shard: file.shard, Index: f.Index, Offset: f.Offset, Kind: KindUnknownCheck, Check: f.CheckID,
			Message: "the check is not in the catalog"})
		return
	}
	ci, ok := r.checkIdx[f.CheckID]
	if !ok {
		if len(r.checks) >= digest.MaxChecks {
			r.out.MalformedFindings++
			r.problem(Problem{Shard: file.shard, Index: f.Index, Offset: f.Offset, Kind: KindUnknownCheck, Check: f.CheckID, Message: "over 65,535 distinct checks in one scan"})
			return
		}
		ci = uint16(len(r.checks))
		r.checks = append(r.checks, f.CheckID)
		r.checkIdx[f.CheckID] = ci
	}
	status := citadel.StatusFromProwler(f.StatusCode)
	for j, res := range f.Resources {
		skip := func(kind, msg string) {
			r.out.ARNsSkipped++
			r.problem(Problem{Shard: file.shard, Index: f.Index, Offset: f.Offset, Kind: kind, Check: f.CheckID, UID: res.UID, Message: msg})
		}
		account, isARN := arnAccount(res.UID)
		if !isARN {
			skip(KindNotARN, "resources[].uid is not an ARN")
			continue
		}
		if account != "" && r.plan.AccountID != "" && account != r.plan.AccountID {
			skip(KindForeignAccount, "the ARN is in account "+account+", not the integration's "+r.plan.AccountID)
			continue
		}
		aid := citadel.AssetID(r.plan.IntegrationID, citadel.SourceAWS, res.UID)
		asset, _ := digest.ParseAsset(aid)
		if _, ok := r.assets[asset]; !ok {
			skip(KindUnknownAsset, "no active asset of the integration has this ARN")
			continue
		}
		if !r.covers(asset) {
			skip(KindNotRechecked, "the re-check does not cover this resource")
			continue
		}
		e := entry{Entry: digest.Entry{Check: ci, Asset: asset, Status: digest.PackStatus(status, f.Muted()), Hash: contentHash(status, f, res)},
			finding: g, res: uint16(j), snap: len(res.Data) > 0}
		k := e.Key()
		if i, dup := r.seen[k]; dup {
			r.out.DuplicateFindings++
			r.problem(Problem{Shard: file.shard, Index: f.Index, Offset: f.Offset, Kind: KindDuplicate, Check: f.CheckID, UID: res.UID,
				Message: fmt.Sprintf("the scan already has a result of this check on this resource (%s); the worse status is kept", r.position(r.entries[i].finding))})
			if statusRank(e.Status) > statusRank(r.entries[i].Status) {
				r.entries[i] = e
			}
			continue
		}
		r.seen[k] = int32(len(r.entries))
		r.entries = append(r.entries, e)
	}
}

// arnAccount returns the account of an ARN (arn:partition:service:region:account:resource).
func arnAccount(s string) (string, bool) {
	if !strings.HasPrefix(s, "arn:") {
		return "", false
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) < 6 || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return "", false
	}
	return parts[4], true
}

// contentHash identifies what a result says, leaving out what changes on
// every run (finding times, uids) and how the JSON is formatted: the
// resource snapshot is hashed compacted, so the same finding written again
// with other whitespace hashes the same. A rescan rewrites a result (and
// the evidence step adds a revision) only when this hash differs.
func contentHash(st citadel.CheckStatus, f ocsf.Finding, res ocsf.Resource) digest.Hash {
	h := sha256.New()
	for _, s := range []string{string(st), fmt.Sprint(f.Muted()), f.StatusDetail, f.Severity, f.Region, res.Region, res.UID} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	writeCompact(h, res.Data)
	var out digest.Hash
	copy(out[:], h.Sum(nil))
	return out
}

var compactBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writeCompact writes data without insignificant whitespace (the reader
// validated it; data that does not compact is written as it is).
func writeCompact(w io.Writer, data []byte) {
	buf := compactBufs.Get().(*bytes.Buffer)
	defer compactBufs.Put(buf)
	buf.Reset()
	if json.Compact(buf, data) != nil {
		_, _ = w.Write(data)
		return
	}
	_, _ = w.Write(buf.Bytes())
}
