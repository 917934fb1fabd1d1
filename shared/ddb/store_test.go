package ddb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func testItems(n int, body string) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = ddb.NewTestItem("T#batch", fmt.Sprintf("I#%05d", i), i, body)
	}
	return out
}

// withholdUnprocessed makes the first `times` BatchWriteItem calls send only
// part of their request to the real server and hand the rest back as
// UnprocessedItems, as DynamoDB does under load.
func withholdUnprocessed(times int32, calls *atomic.Int32) func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("withhold",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					req, ok := in.Parameters.(*dynamodb.BatchWriteItemInput)
					if !ok || calls.Add(1) > times {
						return next.HandleInitialize(ctx, in)
					}
					held := map[string][]types.WriteRequest{}
					for table, reqs := range req.RequestItems {
						keep := len(reqs) / 2
						held[table] = append([]types.WriteRequest(nil), reqs[keep:]...)
						req.RequestItems[table] = reqs[:keep]
					}
					out, md, err := next.HandleInitialize(ctx, in)
					if err == nil {
						out.Result.(*dynamodb.BatchWriteItemOutput).UnprocessedItems = held
					}
					return out, md, err
				}), middleware.After)
		})
	}
}

func TestBatchPutOver25WithUnprocessedItems(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	_, name := testenv.Table(t, cfg)
	var calls atomic.Int32
	client := dynamodb.NewFromConfig(cfg, withholdUnprocessed(3, &calls))
	s := ddb.NewFromClient(client, name)

	items := testItems(130, "x")
	if err := s.BatchPut(ctx, items); err != nil {
		t.Fatal(err)
	}
	var got []ddb.TestItem
	if err := s.QueryAllPK(ctx, "T#batch", &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 130 {
		t.Fatalf("stored %d items, want 130", len(got))
	}
	// 130 items = 6 requests of ≤25, plus one retry for each of the 3 withheld halves.
	if n := calls.Load(); n < 9 {
		t.Errorf("BatchWriteItem calls = %d, want at least 9 (6 batches + 3 retries)", n)
	}
	u := s.Usage()
	if u.Requests < 9 || u.WriteUnits != 130 {
		t.Errorf("usage = %+v, want ≥9 requests and 130 write units", u)
	}

	keys := make([]ddb.Key, 0, 130)
	for _, it := range got {
		keys = append(keys, it.Key())
	}
	if err := s.BatchDelete(ctx, keys); err != nil {
		t.Fatal(err)
	}
	got = nil
	if err := s.QueryAllPK(ctx, "T#batch", &got); err != nil || len(got) != 0 {
		t.Errorf("after delete: %d items, %v", len(got), err)
	}
}

func TestQueryPagesAcrossDynamoPages(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	// ~1.2 MB in all: DynamoDB (and moto) page queries at 1 MB.
	if err := s.BatchPut(ctx, testItems(60, strings.Repeat("p", 20_000))); err != nil {
		t.Fatal(err)
	}
	var all []ddb.TestItem
	if err := s.QueryAllPK(ctx, "T#batch", &all); err != nil {
		t.Fatal(err)
	}
	if len(all) != 60 {
		t.Errorf("queryAll read %d items, want 60", len(all))
	}
	seen, cursor := 0, ""
	for pages := 0; ; pages++ {
		var page []ddb.TestItem
		next, err := s.QueryPagePK(ctx, "T#batch", 25, cursor, &page)
		if err != nil {
			t.Fatal(err)
		}
		for i, it := range page {
			if it.N != seen+i {
				t.Fatalf("page %d item %d is N=%d, want %d", pages, i, it.N, seen+i)
			}
		}
		seen += len(page)
		if next == "" {
			break
		}
		cursor = next
	}
	if seen != 60 {
		t.Errorf("paged through %d items, want 60", seen)
	}
}

func TestOversizedItemsAreRefused(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	big := ddb.NewTestItem("T#big", "1", 1, strings.Repeat("z", ddb.MaxItemSize))
	err := s.Put(ctx, big, "")
	if !errors.Is(err, ddb.ErrItemTooLarge) {
		t.Fatalf("put of a 400 KB body: got %v, want ddb.ErrItemTooLarge", err)
	}
	if err := s.BatchPut(ctx, []any{big}); !errors.Is(err, ddb.ErrItemTooLarge) {
		t.Fatalf("batch put: got %v, want ddb.ErrItemTooLarge", err)
	}
	var none []ddb.TestItem
	if err := s.QueryAllPK(ctx, "T#big", &none); err != nil || len(none) != 0 {
		t.Errorf("something was written: %d items, %v", len(none), err)
	}
}

func TestBoundOffloadsOrTruncates(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	client, bucket := testenv.Bucket(t, cfg)
	withBlobs := testenv.Store(t, ddb.WithBlobs(&blobstore.S3{Client: client, Bucket: bucket}))
	bare := testenv.Store(t)

	small := []byte(`{"ok":true}`)
	large := bytes.Repeat([]byte("0123456789"), ddb.InlineLimit/5) // 2 × ddb.InlineLimit

	b, err := withBlobs.Bound(ctx, "raw", small)
	if err != nil || b.BlobKey != "" || !bytes.Equal(b.Inline, small) {
		t.Errorf("small value: %+v, %v; want inline", b, err)
	}
	b, err = withBlobs.Bound(ctx, "raw", large)
	if err != nil || b.BlobKey == "" || b.Inline != nil || b.Size != len(large) {
		t.Fatalf("large value with blobs: %+v, %v; want a blob pointer", b, err)
	}
	back, err := withBlobs.Unbound(ctx, b)
	if err != nil || !bytes.Equal(back, large) {
		t.Errorf("offloaded value did not come back whole: %d bytes, %v", len(back), err)
	}
	b2, _ := withBlobs.Bound(ctx, "raw", large)
	if b2.BlobKey != b.BlobKey {
		t.Errorf("same content got two keys: %s, %s", b.BlobKey, b2.BlobKey)
	}
	b, err = bare.Bound(ctx, "raw", large)
	if err != nil || !b.Truncated || len(b.Inline) != ddb.InlineLimit || b.Size != len(large) {
		t.Errorf("large value without blobs: truncated=%v inline=%d size=%d, %v", b.Truncated, len(b.Inline), b.Size, err)
	}
	if _, err := bare.Unbound(ctx, ddb.Bounded{BlobKey: "blobs/raw/x"}); err == nil {
		t.Error("reading a pointer without a blob store should fail")
	}
}

func TestConcurrentWritersConditionalCreate(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	var wg sync.WaitGroup
	var created, conflicts atomic.Int32
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Put(ctx, ddb.NewTestItem("T#race", "one", i, "w"), "attribute_not_exists(PK)")
			switch {
			case err == nil:
				created.Add(1)
			case citadel.IsConflict(err):
				conflicts.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if created.Load() != 1 || conflicts.Load() != 9 {
		t.Errorf("created=%d conflicts=%d, want 1 and 9", created.Load(), conflicts.Load())
	}
}

func TestWrapAWSMarksThrottlingRetryable(t *testing.T) {
	throttled := ddb.WrapAWS(&types.ProvisionedThroughputExceededException{Message: strPtr("slow down")}, "put x")
	if !citadel.IsRetryable(throttled) {
		t.Errorf("throttling not retryable: %v", throttled)
	}
	other := ddb.WrapAWS(errors.New("validation"), "put x")
	if citadel.IsRetryable(other) || !strings.Contains(other.Error(), "dynamodb put x") {
		t.Errorf("plain error: %v", other)
	}
	if ddb.WrapAWS(nil, "x") != nil {
		t.Error("nil should stay nil")
	}
}

func strPtr(s string) *string { return &s }
