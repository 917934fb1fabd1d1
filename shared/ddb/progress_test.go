package ddb_test

import (
	"context"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func TestScanProgress(t *testing.T) {
	ctx := context.Background()
	store := testenv.Store(t, ddb.WithClock(func() time.Time { return rt0 }))
	if n, err := store.ScanProgress(ctx, "scan-1"); err != nil || n != 0 {
		t.Fatalf("no progress yet: %d, %v", n, err)
	}
	for _, want := range []int{120, 4000} {
		if err := store.PutScanProgress(ctx, "scan-1", want); err != nil {
			t.Fatal(err)
		}
		if n, err := store.ScanProgress(ctx, "scan-1"); err != nil || n != want {
			t.Errorf("progress %d, %v; want %d", n, err, want)
		}
	}
}
