package inventory

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// resource is what a collector knows of one resource; asset turns it into a
// citadel.Asset (integration, id and fingerprint are the sync's to fill).
type resource struct {
	typ, arn, id, region, account string
	tags                          map[string]string
	raw                           any
	// volatile are top-level fields of raw that change without the resource
	// changing (counters, sizes, last-access times): they are dropped so that
	// the fingerprint moves only with real drift.
	volatile []string
}

func (r resource) asset() citadel.Asset {
	name := r.tags["Name"]
	if name == "" {
		name = r.id
	}
	tags := r.tags
	if len(tags) == 0 {
		tags = nil
	}
	return citadel.Asset{
		Source: citadel.SourceAWS, SourceID: r.arn, ServiceType: r.typ, Name: name,
		Region: r.region, AccountID: r.account, Tags: tags,
		RawSourceData: RawData(r.raw, r.volatile...), IsActive: true,
	}
}

// RawData is v as JSON without the drop fields, bounded to
// citadel.MaxRawSourceData: when too large, the largest top-level fields are
// left out (largest first) and named under "_truncated".
func RawData(v any, drop ...string) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		if len(b) <= citadel.MaxRawSourceData {
			return b
		}
		return json.RawMessage(`{"_truncated":["*"]}`)
	}
	for _, k := range drop {
		delete(m, k)
	}
	for k, v := range m {
		if string(v) == "null" {
			delete(m, k) // SDK structs marshal every unset pointer as null
		}
	}
	out, _ := json.Marshal(m)
	if len(out) <= citadel.MaxRawSourceData {
		return out
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(m[keys[i]]) != len(m[keys[j]]) {
			return len(m[keys[i]]) > len(m[keys[j]])
		}
		return keys[i] < keys[j]
	})
	var dropped []string
	for _, k := range keys {
		delete(m, k)
		dropped = append(dropped, k)
		m["_truncated"], _ = json.Marshal(dropped)
		out, _ = json.Marshal(m)
		if len(out) <= citadel.MaxRawSourceData {
			return out
		}
	}
	return json.RawMessage(`{"_truncated":["*"]}`)
}

// tagMap turns the SDKs' many tag shapes into a map.
func tagMap[T any](tags []T, kv func(T) (*string, *string)) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		k, v := kv(t)
		if k != nil {
			m[*k] = deref(v)
		}
	}
	return m
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func inRegions(regions []string, r string) bool {
	for _, x := range regions {
		if x == r {
			return true
		}
	}
	return false
}

func sortStrings(s []string) { sort.Strings(s) }

// funcCollector is a collector made of its description and a function.
type funcCollector struct {
	typ, service string
	global       bool
	collect      func(ctx context.Context, env Env, regions []string, b *Batch) error
}

func (f funcCollector) ResourceType() string { return f.typ }
func (f funcCollector) Service() string      { return f.service }
func (f funcCollector) Global() bool         { return f.global }
func (f funcCollector) Collect(ctx context.Context, env Env, regions []string) (Batch, error) {
	var b Batch
	err := f.collect(ctx, env, regions, &b)
	return b, err
}

// perResourceWorkers bounds the concurrent per-resource calls of one
// collector (tags, attributes, descriptions); the SDK retryer absorbs the
// throttling this may cause.
const perResourceWorkers = 8

// each runs fn for every item on up to perResourceWorkers goroutines and
// returns the first error. Callers store results by index, so the outcome
// keeps the listing's order.
func each[T any](ctx context.Context, items []T, fn func(ctx context.Context, i int, item T) error) error {
	if len(items) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  atomic.Int64
	)
	for range min(perResourceWorkers, len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(items) || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i, items[i]); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}
