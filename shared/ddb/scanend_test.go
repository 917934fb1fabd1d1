package ddb_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func queued(id, integ string) citadel.Scan {
	return citadel.Scan{ID: id, IntegrationID: integ, FolderID: "f1", Trigger: citadel.TriggerAPI, Status: citadel.ScanQueued, CreatedAt: t0}
}

func ended(sc citadel.Scan, st citadel.ScanStatus, cause string, at time.Duration) citadel.Scan {
	sc.Status, sc.FailureCause, sc.FinishedAt = st, cause, t0.Add(at)
	return sc
}

// An ended scan never changes: whoever finishes second (a finalize after a
// cancel, a reconciler after finalize) gets the first outcome back, and a
// lock still naming the scan is released.
func TestFinishScanNeverOverwritesAnEndedScan(t *testing.T) {
	tests := []struct {
		name          string
		first, second citadel.ScanStatus
	}{
		{"finalize after cancel", citadel.ScanCancelled, citadel.ScanSucceeded},
		{"reconciler after finalize", citadel.ScanSucceeded, citadel.ScanFailed},
		{"reconciler twice", citadel.ScanTimedOut, citadel.ScanTimedOut},
		{"cancel after failure", citadel.ScanFailed, citadel.ScanCancelled},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := testenv.Store(t)
			sc := queued("scn-1", "int-"+string(rune('a'+i)))
			if err := s.StartScan(ctx, sc); err != nil {
				t.Fatal(err)
			}
			first := ended(sc, tt.first, "first cause", time.Minute)
			got, err := s.FinishScan(ctx, first)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(first, got); d != "" {
				t.Errorf("first finish (-want +got):\n%s", d)
			}
			got, err = s.FinishScan(ctx, ended(sc, tt.second, "second cause", 2*time.Minute))
			if err != nil {
				t.Fatalf("second finish: %v", err)
			}
			if d := cmp.Diff(first, got); d != "" {
				t.Errorf("second finish reports (-want +got):\n%s", d)
			}
			stored, _ := s.GetScan(ctx, sc.ID)
			if d := cmp.Diff(first, stored); d != "" {
				t.Errorf("stored (-want +got):\n%s", d)
			}
			if _, err := s.RunningScan(ctx, sc.IntegrationID); !citadel.IsNotFound(err) {
				t.Errorf("lock: %v, want released", err)
			}
		})
	}
}

func TestFinishScanBadInput(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	sc := queued("scn-1", "int-1")
	if err := s.StartScan(ctx, sc); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		scan  citadel.Scan
		check func(error) bool
	}{
		{"not an end state", ended(sc, citadel.ScanRunning, "", 0), citadel.IsInvalid},
		{"timed out without a cause", ended(sc, citadel.ScanTimedOut, "", 0), citadel.IsInvalid},
		{"cancelled_by on a failed scan", func() citadel.Scan {
			x := ended(sc, citadel.ScanFailed, "x", 0)
			x.CancelledBy = "me"
			return x
		}(), citadel.IsInvalid},
		{"unknown scan", ended(queued("scn-9", "int-1"), citadel.ScanFailed, "x", 0), citadel.IsNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.FinishScan(ctx, tt.scan); !tt.check(err) {
				t.Errorf("got %v", err)
			}
		})
	}
	// Nothing was lost: the scan still holds its lock, queued.
	run, err := s.RunningScan(ctx, "int-1")
	if err != nil || run.Status != citadel.ScanQueued {
		t.Errorf("after bad input: %+v, %v", run, err)
	}
}

func TestTakeOverScan(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	old := queued("scn-1", "int-1")
	if err := s.StartScan(ctx, old); err != nil {
		t.Fatal(err)
	}
	next := queued("scn-2", "int-1")
	done := ended(old, citadel.ScanCancelled, "the scan's execution was stopped outside Citadel", time.Minute)

	// Bad input writes nothing.
	for name, call := range map[string]func() error{
		"old not ended":     func() error { return s.TakeOverScan(ctx, old, next) },
		"next not queued":   func() error { return s.TakeOverScan(ctx, done, ended(next, citadel.ScanFailed, "x", 0)) },
		"other integration": func() error { return s.TakeOverScan(ctx, done, queued("scn-2", "int-2")) },
	} {
		if err := call(); !citadel.IsInvalid(err) {
			t.Errorf("%s: got %v, want invalid", name, err)
		}
	}
	// A holder that is not old: conflict, nothing written.
	if err := s.TakeOverScan(ctx, ended(queued("scn-0", "int-1"), citadel.ScanFailed, "x", 0), next); !citadel.IsConflict(err) {
		t.Errorf("wrong holder: got %v, want conflict", err)
	}
	if _, err := s.GetScan(ctx, "scn-2"); !citadel.IsNotFound(err) {
		t.Errorf("wrong holder wrote scn-2: %v", err)
	}

	if err := s.TakeOverScan(ctx, done, next); err != nil {
		t.Fatal(err)
	}
	if err := s.TakeOverScan(ctx, done, next); err != nil {
		t.Errorf("retried take-over: %v", err)
	}
	run, err := s.RunningScan(ctx, "int-1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(next, run); d != "" {
		t.Errorf("holder (-want +got):\n%s", d)
	}
	got, _ := s.GetScan(ctx, "scn-1")
	if d := cmp.Diff(done, got); d != "" {
		t.Errorf("old scan (-want +got):\n%s", d)
	}
	// The old scan, ended, never comes back.
	third := queued("scn-3", "int-1")
	if err := s.TakeOverScan(ctx, done, third); !citadel.IsConflict(err) {
		t.Errorf("take-over from a scan that no longer holds the lock: got %v, want conflict", err)
	}
}
