package ddb_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// member is a member scan of organization scan parent.
func member(id, integ, parent string) citadel.Scan {
	sc := queued(id, integ)
	sc.Trigger, sc.ParentScanID = citadel.TriggerOrganization, parent
	return sc
}

// An organization scan holds its integration's lock; the member scan of
// the organization's own account starts under it (the lock stays the
// parent's), finishes without releasing it, and the parent's finish
// releases it. A scan that names another parent, or none, is refused.
func TestNestedScanSharesItsParentsLock(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	org := queued("scn-org", "int-org")
	org.Kind = citadel.KindOrganization
	if err := s.StartScan(ctx, org); err != nil {
		t.Fatal(err)
	}
	own := member("scn-org-own", "int-org", org.ID)
	tests := []struct {
		name string
		scan citadel.Scan
		ok   bool
	}{
		{"under its parent", own, true},
		{"again (a retried start)", own, true},
		{"another parent", member("scn-other", "int-org", "scn-nope"), false},
		{"no parent", queued("scn-api", "int-org"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.StartScan(ctx, tt.scan)
			if tt.ok && err != nil || !tt.ok && !citadel.IsConflict(err) {
				t.Fatalf("start: %v, want ok = %v (else a conflict)", err, tt.ok)
			}
		})
	}
	holder, err := s.RunningScan(ctx, "int-org")
	if err != nil || holder.ID != org.ID {
		t.Fatalf("lock holder = %v, %v; want the organization scan", holder.ID, err)
	}

	done := ended(own, citadel.ScanSucceeded, "", time.Minute)
	got, err := s.FinishScan(ctx, done)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(done, got); d != "" {
		t.Errorf("finish (-want +got):\n%s", d)
	}
	if holder, err := s.RunningScan(ctx, "int-org"); err != nil || holder.ID != org.ID {
		t.Errorf("after the member's finish the lock holder = %v, %v; want the organization scan still", holder.ID, err)
	}
	// Again: the ended scan stays as it is, the parent's lock too.
	if got, err := s.FinishScan(ctx, ended(own, citadel.ScanFailed, "late", 2*time.Minute)); err != nil || got.Status != citadel.ScanSucceeded {
		t.Errorf("second finish = %v, %v", got.Status, err)
	}
	if _, err := s.RunningScan(ctx, "int-org"); err != nil {
		t.Errorf("the parent's lock is gone: %v", err)
	}
	if _, err := s.FinishScan(ctx, ended(org, citadel.ScanSucceeded, "", 3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RunningScan(ctx, "int-org"); !citadel.IsNotFound(err) {
		t.Errorf("lock after the parent's finish: %v, want released", err)
	}
}

// A member scan of another integration takes and releases that
// integration's own lock; one finishing after another scan took the lock
// (its organization scan was cancelled, the lock healed) leaves it alone.
func TestMemberScanLock(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	m := member("scn-m", "int-m", "scn-org")
	if err := s.StartScan(ctx, m); err != nil {
		t.Fatal(err)
	}
	if holder, err := s.RunningScan(ctx, "int-m"); err != nil || holder.ID != m.ID {
		t.Fatalf("lock holder = %v, %v; want the member scan", holder.ID, err)
	}
	if _, err := s.FinishScan(ctx, ended(m, citadel.ScanFailed, "boom", time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RunningScan(ctx, "int-m"); !citadel.IsNotFound(err) {
		t.Fatalf("lock: %v, want released", err)
	}

	// A member scan nested under its parent, whose lock another scan took
	// since: its finish leaves the new holder's lock.
	org := queued("scn-org2", "int-o")
	org.Kind = citadel.KindOrganization
	if err := s.StartScan(ctx, org); err != nil {
		t.Fatal(err)
	}
	own := member("scn-own2", "int-o", org.ID)
	if err := s.StartScan(ctx, own); err != nil {
		t.Fatal(err)
	}
	next := queued("scn-next", "int-o")
	if err := s.TakeOverScan(ctx, ended(org, citadel.ScanCancelled, "cancelled", time.Minute), next); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishScan(ctx, ended(own, citadel.ScanCancelled, "cancelled", 2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if holder, err := s.RunningScan(ctx, "int-o"); err != nil || holder.ID != next.ID {
		t.Errorf("lock holder = %v, %v; want %s", holder.ID, err, next.ID)
	}
}
