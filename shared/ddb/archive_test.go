package ddb_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// Archiving an integration: refused while its scan holds the lock; then the
// record is out of reads, writes and its folder's list but readable as a
// record with its scans; its account's claim is released; again is nothing.
func TestArchiveIntegration(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	in, other := integration("int-1"), integrationOf("int-2", "210987654321")
	for _, i := range []citadel.Integration{in, other} {
		if err := s.CreateIntegration(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	sc := citadel.Scan{ID: "scan-1", IntegrationID: in.ID, FolderID: in.FolderID, Trigger: citadel.TriggerAPI, Status: citadel.ScanQueued, CreatedAt: t0}
	if err := s.StartScan(ctx, sc); err != nil {
		t.Fatal(err)
	}
	if err := s.ArchiveIntegration(ctx, in.ID, t0); !citadel.IsConflict(err) {
		t.Fatalf("archive while scan-1 is queued: %v, want a conflict", err)
	}
	if _, err := s.GetIntegration(ctx, in.ID); err != nil {
		t.Fatalf("a refused archive changed the integration: %v", err)
	}
	sc.Status, sc.FinishedAt = citadel.ScanSucceeded, t0
	if _, err := s.FinishScan(ctx, sc); err != nil {
		t.Fatal(err)
	}
	for range 2 { // again is nothing
		if err := s.ArchiveIntegration(ctx, in.ID, t0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.GetIntegration(ctx, in.ID); !citadel.IsNotFound(err) {
		t.Errorf("get an archived integration: %v, want not found", err)
	}
	if err := s.UpdateIntegration(ctx, in); !citadel.IsNotFound(err) {
		t.Errorf("update an archived integration: %v, want not found", err)
	}
	rec, archived, err := s.GetIntegrationRecord(ctx, in.ID)
	if err != nil || !archived.Equal(t0) {
		t.Fatalf("record: archived %v (%v)", archived, err)
	}
	if d := cmp.Diff(in, rec); d != "" {
		t.Errorf("archived record (-want +got):\n%s", d)
	}
	page, err := s.ListIntegrations(ctx, in.FolderID, 10, "")
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != other.ID {
		t.Errorf("integrations of the folder: %+v (%v)", page.Items, err)
	}
	scans, err := s.ListScans(ctx, in.ID, 10, "")
	if err != nil || len(scans.Items) != 1 || scans.Items[0].Status != citadel.ScanSucceeded {
		t.Errorf("scans of the archived integration: %+v (%v)", scans.Items, err)
	}
	if err := s.CreateIntegration(ctx, integration("int-3")); err != nil {
		t.Errorf("the account again, once its integration is archived: %v", err)
	}
	if err := s.ArchiveIntegration(ctx, "int-nope", t0); !citadel.IsNotFound(err) {
		t.Errorf("archive an unknown integration: %v, want not found", err)
	}
}

// Removing an integration from a folder's controls recomputes each posture
// from the remaining integrations, leaves controls it never counted in and
// other folders alone, and is idempotent.
func TestRemoveIntegrationFromControls(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	put := func(folder, scf string, by map[string]citadel.IntegrationPosture) {
		t.Helper()
		c := citadel.AppliedControl{ID: citadel.AppliedControlIDForSCF(folder, scf), FolderID: folder, RefID: scf, Name: scf,
			Category: citadel.CategoryTechnical, Origin: citadel.OriginScan, Status: citadel.ControlActive, Integrations: by, CreatedAt: t0, UpdatedAt: t0}
		c.SumIntegrations()
		if _, err := s.PutControl(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	put("f1", "IAC-01", map[string]citadel.IntegrationPosture{"int-1": {Failed: 2, Errored: 1}, "int-2": {Passed: 4, NotApplicable: 1}})
	put("f1", "IAC-02", map[string]citadel.IntegrationPosture{"int-1": {Failed: 1}})
	put("f1", "IAC-03", map[string]citadel.IntegrationPosture{"int-2": {Passed: 1, Failed: 1}})
	put("f2", "IAC-01", map[string]citadel.IntegrationPosture{"int-1": {Failed: 1}})

	later := t0.Add(1)
	for i, want := range []int{2, 0} {
		n, err := s.RemoveIntegrationFromControls(ctx, "f1", "int-1", later)
		if err != nil || n != want {
			t.Fatalf("run %d: %d controls changed (%v), want %d", i+1, n, err, want)
		}
	}
	type view struct {
		Posture             citadel.Posture
		Pass, Fail, Errored int
		Integrations        int
		Updated             bool
	}
	got := map[string]view{}
	for _, f := range []string{"f1", "f2"} {
		cs, err := s.AllControls(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			got[f+"/"+c.RefID] = view{c.Posture, c.PassCount, c.FailCount, c.ErrorCount, len(c.Integrations), c.UpdatedAt.Equal(later)}
		}
	}
	want := map[string]view{
		"f1/IAC-01": {citadel.PosturePassing, 4, 0, 0, 1, true},
		"f1/IAC-02": {citadel.PostureNotScanned, 0, 0, 0, 0, true},
		"f1/IAC-03": {citadel.PosturePartial, 1, 1, 0, 1, false},
		"f2/IAC-01": {citadel.PostureIssues, 0, 1, 0, 1, false},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("controls (-want +got):\n%s", d)
	}
}
