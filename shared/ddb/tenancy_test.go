package ddb_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func integration(id string) citadel.Integration { return integrationOf(id, "123456789012") }

func integrationOf(id, account string) citadel.Integration {
	return citadel.Integration{
		ID: id, FolderID: "f1", Name: "prod", AccountID: account,
		RoleARN: "arn:aws:iam::" + account + ":role/CitadelScanner", ExternalID: "ext-123",
		Regions: []string{"us-east-1", "eu-west-1"}, Frameworks: []string{"soc2"},
		ScheduleExpression: "rate(1 day)", CreatedAt: t0, UpdatedAt: t0,
	}
}

func TestIntegrationRoundTripAndConflicts(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	in := integration("int-1")
	if err := s.CreateIntegration(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetIntegration(ctx, "int-1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(in, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	// Creating the very same item again is a retried request, not a conflict;
	// another integration under the same id is.
	if err := s.CreateIntegration(ctx, in); err != nil {
		t.Errorf("identical second create (a retry): %v", err)
	}
	other := in
	other.Name = "staging"
	if err := s.CreateIntegration(ctx, other); !citadel.IsConflict(err) {
		t.Errorf("second create of another integration under the id: got %v, want a conflict", err)
	}
	if _, err := s.GetIntegration(ctx, "nope"); !citadel.IsNotFound(err) {
		t.Errorf("missing: got %v, want not found", err)
	}
	bad := in
	bad.ID, bad.AccountID = "int-2", "12345"
	if err := s.CreateIntegration(ctx, bad); !citadel.IsInvalid(err) {
		t.Errorf("bad account: got %v, want invalid", err)
	}
	if err := s.UpdateIntegration(ctx, integration("int-404")); !citadel.IsNotFound(err) {
		t.Errorf("update missing: got %v, want not found", err)
	}
}

// An account has one integration per folder: a second is a conflict naming
// the first, in another folder it is fine, and once the first is deleted the
// account can be integrated again.
func TestOneIntegrationPerAccountAndFolder(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	first := integration("int-first")
	if err := s.CreateIntegration(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := integration("int-second")
	err := s.CreateIntegration(ctx, second)
	if !citadel.IsConflict(err) || err.Error() != "account 123456789012 already has integration int-first in folder f1" {
		t.Fatalf("second integration of the account: %v, want a conflict naming int-first", err)
	}
	if _, err := s.GetIntegration(ctx, "int-second"); !citadel.IsNotFound(err) {
		t.Errorf("the refused integration was stored: %v", err)
	}
	elsewhere := second
	elsewhere.FolderID = "f2"
	if err := s.CreateIntegration(ctx, elsewhere); err != nil {
		t.Errorf("the account in another folder: %v", err)
	}
	if err := s.DeleteIntegration(ctx, "int-first"); err != nil {
		t.Fatal(err)
	}
	again := integration("int-again")
	if err := s.CreateIntegration(ctx, again); err != nil {
		t.Errorf("the account after its integration was deleted: %v", err)
	}
	// Deleting the other folder's integration leaves this folder's claim.
	if err := s.DeleteIntegration(ctx, "int-second"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateIntegration(ctx, integration("int-third")); !citadel.IsConflict(err) {
		t.Errorf("after the other folder's delete: %v, want a conflict naming int-again", err)
	}
	// An integration without a claim of its own (made before claims, here
	// moved into f1 by a store update) is deleted without touching the
	// claim another integration holds.
	stray := integration("int-stray")
	stray.FolderID = "f3"
	if err := s.CreateIntegration(ctx, stray); err != nil {
		t.Fatal(err)
	}
	stray.FolderID = "f1"
	if err := s.UpdateIntegration(ctx, stray); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteIntegration(ctx, "int-stray"); err != nil {
		t.Fatalf("delete an integration whose folder's claim is another's: %v", err)
	}
	if _, err := s.GetIntegration(ctx, "int-stray"); !citadel.IsNotFound(err) {
		t.Errorf("int-stray still there: %v", err)
	}
	if err := s.CreateIntegration(ctx, integration("int-fourth")); err == nil || err.Error() != "account 123456789012 already has integration int-again in folder f1" {
		t.Errorf("int-again's claim after the stray's delete: %v", err)
	}
}

func TestListIntegrationsPaginates(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	for i, id := range []string{"a", "b", "c", "d", "e"} {
		if err := s.CreateIntegration(ctx, integrationOf("int-"+id, fmt.Sprintf("12345678901%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	cursor, pages := "", 0
	for {
		p, err := s.ListIntegrations(ctx, "f1", 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, in := range p.Items {
			ids = append(ids, in.ID)
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	if d := cmp.Diff([]string{"int-a", "int-b", "int-c", "int-d", "int-e"}, ids); d != "" {
		t.Errorf("ids (-want +got):\n%s", d)
	}
	if pages < 3 {
		t.Errorf("pages = %d, want at least 3 for 5 items by 2", pages)
	}
	if _, err := s.ListIntegrations(ctx, "f1", 2, "!!bad"); !citadel.IsInvalid(err) {
		t.Errorf("bad cursor: got %v, want invalid", err)
	}
}

func TestScanLifecycleAndLock(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	mk := func(id string) citadel.Scan {
		return citadel.Scan{ID: id, IntegrationID: "int-1", FolderID: "f1", Trigger: citadel.TriggerAPI, Status: citadel.ScanQueued, CreatedAt: t0}
	}
	if err := s.StartScan(ctx, mk("scn-1")); err != nil {
		t.Fatal(err)
	}
	err := s.StartScan(ctx, mk("scn-2"))
	if !citadel.IsConflict(err) {
		t.Fatalf("second start while running: got %v, want conflict", err)
	}
	// A retried start of the scan that holds the lock is no conflict.
	if err := s.StartScan(ctx, mk("scn-1")); err != nil {
		t.Fatalf("retried start of the running scan: %v", err)
	}
	run, err := s.RunningScan(ctx, "int-1")
	if err != nil || run.ID != "scn-1" {
		t.Fatalf("running scan = %v, %v; want scn-1", run.ID, err)
	}
	if _, err := s.MarkScanRunning(ctx, "int-1", "scn-1", "arn:exec"); err != nil {
		t.Fatal(err)
	}
	done, _ := s.GetScan(ctx, "scn-1")
	done.Status, done.FinishedAt = citadel.ScanSucceeded, t0.Add(time.Minute)
	done.Summary = &citadel.ScanSummary{Success: true, ChecksFailed: 3}
	if _, err := s.FinishScan(ctx, done); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishScan(ctx, done); err != nil {
		t.Fatalf("finishing twice: %v", err)
	}
	if _, err := s.RunningScan(ctx, "int-1"); !citadel.IsNotFound(err) {
		t.Errorf("after finish: got %v, want no running scan", err)
	}
	if err := s.StartScan(ctx, mk("scn-3")); err != nil {
		t.Fatalf("start after finish: %v", err)
	}
	page, err := s.ListScans(ctx, "int-1", 10, "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, sc := range page.Items {
		ids = append(ids, sc.ID)
	}
	if d := cmp.Diff([]string{"scn-3", "scn-1"}, ids); d != "" {
		t.Errorf("newest first (-want +got):\n%s", d)
	}
	got, _ := s.GetScan(ctx, "scn-1")
	if got.Summary == nil || got.Summary.ChecksFailed != 3 || got.Status != citadel.ScanSucceeded {
		t.Errorf("finished scan = %+v", got)
	}
}

func TestConcurrentScanStartsTakeOneLock(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := citadel.Scan{ID: citadel.NewID("scn", t0), IntegrationID: "int-c", Trigger: citadel.TriggerSchedule, Status: citadel.ScanQueued, CreatedAt: t0}
			errs[i] = s.StartScan(ctx, sc)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !citadel.IsConflict(err):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent starts succeeded, want exactly 1", ok)
	}
}

func TestFolderRoundTripAndConflict(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	f := citadel.Folder{ID: "f1", Name: "Production", CreatedAt: t0}
	if err := s.CreateFolder(ctx, f); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetFolder(ctx, "f1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(f, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	if err := s.CreateFolder(ctx, citadel.Folder{ID: "f1", Name: "Other", CreatedAt: t0}); !citadel.IsConflict(err) {
		t.Errorf("second create: got %v, want conflict", err)
	}
	if err := s.CreateFolder(ctx, citadel.Folder{ID: "f2"}); !citadel.IsInvalid(err) {
		t.Errorf("folder without a name: got %v, want invalid", err)
	}
	if _, err := s.GetFolder(ctx, "nope"); !citadel.IsNotFound(err) {
		t.Errorf("missing folder: got %v, want not found", err)
	}
}

func TestIntegrationsOfAccount(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	list := func() []string {
		t.Helper()
		ids, err := s.IntegrationsOfAccount(ctx, "123456789012")
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if got := list(); len(got) != 0 {
		t.Fatalf("no integrations yet: %v", got)
	}
	for _, tc := range []struct{ id, folder, account string }{
		{"int-b", "f2", "123456789012"}, {"int-a", "f1", "123456789012"}, {"int-other", "f1", "210987654321"},
	} {
		in := integration(tc.id)
		in.FolderID, in.AccountID = tc.folder, tc.account
		in.RoleARN = "arn:aws:iam::" + tc.account + ":role/CitadelScanner"
		if err := s.CreateIntegration(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"int-a", "int-b"}, list()); diff != "" {
		t.Errorf("the account's integrations, in folder order (-want +got):\n%s", diff)
	}
	if err := s.DeleteIntegration(ctx, "int-a"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"int-b"}, list()); diff != "" {
		t.Errorf("after a delete (-want +got):\n%s", diff)
	}
	if err := s.ArchiveIntegration(ctx, "int-b", time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := list(); len(got) != 0 {
		t.Errorf("after an archive: %v, want none", got)
	}
}
