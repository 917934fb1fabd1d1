package checkresults

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"golang.org/x/sync/errgroup"

	"github.com/citadelsecure/citadel/shared/busevents"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/ocsf"
)

// This file is pass 2: the changed results written, their history and
// their regression events.

// cursor reads the scan's files in plan order for pass 2, opening the file
// of the finding wanted next and skipping files with no change.
type cursor struct {
	r    *run
	file *file
	body io.ReadCloser
	rd   *ocsf.Reader
}

// at makes the file that holds scan-wide finding g the one being read.
func (c *cursor) at(ctx context.Context, g uint32) error {
	if c.file != nil && g >= c.file.first && g < c.file.first+c.file.count {
		return nil
	}
	f := c.r.fileOf(g)
	if f == nil {
		return fmt.Errorf("check-results: no file holds finding %d", g)
	}
	if f == c.file {
		return nil
	}
	c.close()
	body, err := c.r.get(ctx, f.ocsfKey)
	if err != nil {
		return inShard(f.shard, err)
	}
	c.file, c.body, c.rd = f, body, c.r.reader(body)
	return nil
}

func (c *cursor) close() {
	if c.body != nil {
		c.body.Close()
	}
	c.file, c.body, c.rd = nil, nil, nil
}

// pass2 re-reads the files and writes the changed results, their history
// and the regression events, a segment at a time: after each segment it
// records its progress (a scan-wide finding index), and stops when the
// invocation runs short of time.
func (r *run) pass2(ctx context.Context, changes []change) error {
	if len(changes) == 0 {
		return nil
	}
	done, err := r.h.Store.ScanProgress(ctx, r.plan.ScanID)
	if err != nil {
		return err
	}
	changes = changes[sort.Search(len(changes), func(i int) bool { return changes[i].finding >= uint32(done) }):]
	if len(changes) == 0 {
		return nil
	}
	cur := &cursor{r: r}
	defer cur.close()
	size := r.h.SegmentResults
	if size <= 0 {
		size = 5000
	}
	margin := r.h.Margin
	if margin <= 0 {
		margin = 2 * time.Minute
	}
	for len(changes) > 0 {
		n := min(size, len(changes))
		for n < len(changes) && changes[n].finding == changes[n-1].finding {
			n++ // a finding's results stay in one segment
		}
		if err := r.segment(ctx, cur, changes[:n]); err != nil {
			return err
		}
		changes = changes[n:]
		if len(changes) == 0 {
			return nil // the digest, written next, is the commit
		}
		if err := r.h.Store.PutScanProgress(ctx, r.plan.ScanID, int(changes[0].finding)); err != nil {
			return err
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < margin {
			return citadel.Retryable(fmt.Errorf("check-results: scan %s stopped before finding %d: %w", r.plan.ScanID, changes[0].finding, ErrOutOfTime))
		}
	}
	return nil
}

// segment writes one segment's changes with concurrent writers and event
// senders, and returns when all of them are stored and sent.
func (r *run) segment(ctx context.Context, cur *cursor, changes []change) error {
	writers := r.h.Writers
	if writers <= 0 {
		writers = 8
	}
	g, gctx := errgroup.WithContext(ctx)
	writes := make(chan []ddb.ResultWrite, writers)
	events := make(chan []ebtypes.PutEventsRequestEntry, 4)
	for w := 0; w < writers; w++ {
		g.Go(func() error {
			for batch := range writes {
				if err := r.h.Store.PutResults(gctx, batch); err != nil {
					return err
				}
			}
			return nil
		})
	}
	var mu sync.Mutex
	sent := 0
	for w := 0; w < 4; w++ {
		g.Go(func() error {
			for batch := range events {
				if err := r.h.putEvents(gctx, batch); err != nil {
					return err
				}
				mu.Lock()
				sent += len(batch)
				mu.Unlock()
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(writes)
		defer close(events)
		return r.produce(gctx, cur, changes, writes, events)
	})
	if err := g.Wait(); err != nil {
		return err
	}
	want := 0
	for _, ch := range changes {
		if ch.regress {
			want++
		}
	}
	if sent != want {
		return fmt.Errorf("check-results: sent %d regression events, decided %d", sent, want)
	}
	return nil
}

func (r *run) produce(ctx context.Context, cur *cursor, changes []change, writes chan<- []ddb.ResultWrite, events chan<- []ebtypes.PutEventsRequestEntry) error {
	now := r.h.Now()
	var batch []ddb.ResultWrite
	var evs []ebtypes.PutEventsRequestEntry
	send := func(force bool) error {
		if len(batch) >= 25 || force && len(batch) > 0 {
			select {
			case writes <- batch:
			case <-ctx.Done():
				return ctx.Err()
			}
			batch = nil
		}
		if len(evs) >= 10 || force && len(evs) > 0 {
			select {
			case events <- evs:
			case <-ctx.Done():
				return ctx.Err()
			}
			evs = nil
		}
		return nil
	}
	k := 0
	for k < len(changes) {
		if err := cur.at(ctx, changes[k].finding); err != nil {
			return err
		}
		file := cur.file
		f, err := cur.rd.Next()
		if err == io.EOF {
			return inShard(file.shard, fmt.Errorf("check-results: the second pass ended before finding %d", changes[k].finding-file.first))
		}
		var p *ocsf.Problem
		if errors.As(err, &p) {
			if p.Index >= 0 && file.first+uint32(p.Index) == changes[k].finding {
				return inShard(file.shard, fmt.Errorf("check-results: finding %d read in the first pass fails in the second: %v", p.Index, p))
			}
			continue
		}
		if err != nil {
			return inShard(file.shard, citadel.Retryable(fmt.Errorf("read %s: %w", r.url(file.ocsfKey), err)))
		}
		g := file.first + uint32(f.Index)
		for k < len(changes) && changes[k].finding == g {
			w, ev := r.build(f, changes[k], now)
			batch = append(batch, w)
			if ev != nil {
				evs = append(evs, *ev)
			}
			if err := send(false); err != nil {
				return err
			}
			k++
		}
	}
	return send(true)
}

func (r *run) build(f ocsf.Finding, ch change, now time.Time) (ddb.ResultWrite, *ebtypes.PutEventsRequestEntry) {
	res := f.Resources[ch.res]
	status := citadel.StatusFromProwler(f.StatusCode)
	hash := contentHash(status, f, res)
	region := res.Region
	if region == "" {
		region = f.Region
	}
	result := citadel.CheckResult{
		IntegrationID: r.plan.IntegrationID, CheckID: f.CheckID,
		AssetID: citadel.AssetID(r.plan.IntegrationID, citadel.SourceAWS, res.UID), AssetARN: res.UID,
		ScanID: r.plan.ScanID, Status: status, Muted: f.Muted(), StatusExtended: f.StatusDetail,
		Severity: citadel.Severity(strings.ToLower(f.Severity)), Region: region,
		RawOutput: f.Raw, ResourceSnapshot: res.Data, ContentHash: hex.EncodeToString(hash[:]),
		ScannedAt: now, FirstScanID: r.plan.ScanID, ExceptionID: r.marks[position{ch.finding, ch.res}],
	}
	w := ddb.ResultWrite{Result: result, PreviousStatus: ch.prev, HadPrevious: ch.hadPrev}
	if !ch.history {
		return w, nil
	}
	effective := result.Effective()
	h := citadel.CheckResultHistory{IntegrationID: result.IntegrationID, CheckID: result.CheckID, AssetID: result.AssetID,
		ScanID: r.plan.ScanID, PreviousStatus: ch.prev, NewStatus: effective, ChangedAt: now}
	w.History = &h
	if !h.IsRegression() || result.Muted {
		return w, nil
	}
	ev := busevents.Regression(result, r.plan.ScanID, ch.prev, "", r.h.EventBus, now)
	return w, &ev
}
