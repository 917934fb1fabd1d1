package httpapi

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/scanend"
)

func TestCancelScan(t *testing.T) {
	f := newFixture(t)
	f.putFrameworks("cis_2.0")
	ctx := context.Background()
	in := f.createIntegration(validIntegration)
	started := decodeBody[citadel.Scan](t, f.do("POST", "/integrations/"+in.ID+"/scans", ""))

	rec := f.do("POST", "/scans/"+started.ID+"/cancel", "")
	expect(t, rec, http.StatusAccepted, "", "")
	golden(t, "scan_cancelled", rec.Body.Bytes(), started.ExecutionARN, "<execution-arn>")
	ex, err := f.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(started.ExecutionARN)})
	if err != nil || ex.Status != "ABORTED" {
		t.Errorf("execution %v, %v; want ABORTED", ex.Status, err)
	}
	if _, err := f.store.RunningScan(ctx, in.ID); !citadel.IsNotFound(err) {
		t.Errorf("lock: %v, want released", err)
	}
	// Again: harmless, the same answer.
	again := f.do("POST", "/scans/"+started.ID+"/cancel", "")
	expect(t, again, http.StatusAccepted, "", "")
	if d := cmp.Diff(rec.Body.String(), again.Body.String()); d != "" {
		t.Errorf("second cancel (-first +second):\n%s", d)
	}
	// The integration can be scanned again at once.
	next := decodeBody[citadel.Scan](t, f.do("POST", "/integrations/"+in.ID+"/scans", ""))
	done, _ := f.store.GetScan(ctx, next.ID)
	done.Status, done.FinishedAt = citadel.ScanSucceeded, t0
	if _, err := f.store.FinishScan(ctx, done); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path         string
		status       int
		code, reason string
	}{
		{"/scans/" + next.ID + "/cancel", 409, "conflict", "scan " + next.ID + " is already succeeded"},
		{"/scans/scan-nope/cancel", 404, "not_found", "scan-nope"},
		{"/scans/a:b/cancel", 400, "invalid", `"id"`},
	} {
		t.Run(tc.path, func(t *testing.T) {
			expect(t, f.do("POST", tc.path, ""), tc.status, tc.code, tc.reason)
		})
	}
	expect(t, f.do("POST", "/scans/"+next.ID+"/cancel", `{"why":"x"}`), 400, "invalid", "request body not allowed")
	if sc, _ := f.store.GetScan(ctx, next.ID); sc.Status != citadel.ScanSucceeded {
		t.Errorf("a refused cancel changed the scan: %+v", sc)
	}
}

// A start that meets the lock of a scan whose execution was stopped in the
// console takes the lock over; one that meets a live execution is a 409.
func TestStartScanTakesOverAnEndedLock(t *testing.T) {
	f := newFixture(t, func(d *Deps) { d.Clock = func() time.Time { return t0.Add(time.Hour) } })
	f.putFrameworks("cis_2.0")
	ctx := context.Background()
	in := f.createIntegration(validIntegration)
	first := decodeBody[citadel.Scan](t, f.do("POST", "/integrations/"+in.ID+"/scans", ""))
	expect(t, f.do("POST", "/integrations/"+in.ID+"/scans", ""), http.StatusConflict, "conflict",
		"integration "+in.ID+" already has scan "+first.ID+" running")

	if _, err := f.sfn.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(first.ExecutionARN)}); err != nil {
		t.Fatal(err)
	}
	rec := f.do("POST", "/integrations/"+in.ID+"/scans", "")
	expect(t, rec, http.StatusAccepted, "", "")
	next := decodeBody[citadel.Scan](t, rec)
	old, _ := f.store.GetScan(ctx, first.ID)
	if old.Status != citadel.ScanCancelled || old.FailureCause != "the scan's execution was stopped outside Citadel (found when scan "+next.ID+" started)" {
		t.Errorf("old scan: %s %q", old.Status, old.FailureCause)
	}
	if holder, err := f.store.RunningScan(ctx, in.ID); err != nil || holder.ID != next.ID {
		t.Errorf("holder %s, %v; want %s", holder.ID, err, next.ID)
	}
}

// A scan of an integration of kind organization is the organization's: it
// starts the organization state machine (named by the scan id, the
// execution input as any scan's), is recorded with kind organization and
// holds the organization's lock; a cancel stops that execution. Without an
// organization state machine the start is a 409 and nothing is recorded;
// an account integration's scan is unchanged.
func TestStartScanOfAnOrganization(t *testing.T) {
	org := citadel.Integration{ID: "int-org", FolderID: testFolder, Name: "Acme", AccountID: "123456789012", Kind: citadel.KindOrganization,
		RoleARN: "arn:aws:iam::123456789012:role/CitadelScanner", ExternalID: "citadel-test-0001", CreatedAt: t0, UpdatedAt: t0}
	tests := []struct {
		name   string
		opts   []func(*Deps)
		in     citadel.Integration
		wantSM func(f *fixture) string // "" : refused
	}{
		{name: "organization", in: org, wantSM: func(f *fixture) string { return f.orgSMARN }},
		{name: "account", in: func() citadel.Integration {
			a := org
			a.ID, a.Kind = "int-acct", ""
			return a
		}(), wantSM: func(f *fixture) string { return f.smARN }},
		{name: "organization, no organization state machine", in: org, opts: []func(*Deps){func(d *Deps) { d.OrgStateMachineARN = "" }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, tt.opts...)
			f.putFrameworks("cis_2.0")
			if err := f.store.CreateIntegration(ctx, tt.in); err != nil {
				t.Fatal(err)
			}
			rec := f.do("POST", "/integrations/"+tt.in.ID+"/scans", "")
			if tt.wantSM == nil {
				expect(t, rec, http.StatusConflict, "conflict", "has no organization state machine")
				if _, err := f.store.RunningScan(ctx, tt.in.ID); !citadel.IsNotFound(err) {
					t.Errorf("a refused start holds the lock: %v", err)
				}
				return
			}
			expect(t, rec, http.StatusAccepted, "", "")
			sc := decodeBody[citadel.Scan](t, rec)
			wantARN, _ := scanend.ExecutionARN(tt.wantSM(f), sc.ID)
			if sc.ExecutionARN != wantARN || sc.IsOrganization() != tt.in.IsOrganization() || sc.Status != citadel.ScanRunning {
				t.Errorf("scan = %+v, want execution %s", sc, wantARN)
			}
			ex, err := f.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(wantARN)})
			if err != nil {
				t.Fatal(err)
			}
			want := `{"scan":{"scan_id":"` + sc.ID + `","integration_id":"` + tt.in.ID + `","trigger":"api"}}`
			if aws.ToString(ex.Input) != want {
				t.Errorf("execution input %s, want %s", aws.ToString(ex.Input), want)
			}
			if holder, err := f.store.RunningScan(ctx, tt.in.ID); err != nil || holder.ID != sc.ID {
				t.Errorf("lock held by %q (%v), want %s", holder.ID, err, sc.ID)
			}
			expect(t, f.do("POST", "/scans/"+sc.ID+"/cancel", ""), http.StatusAccepted, "", "")
			if ex, err := f.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(wantARN)}); err != nil || ex.Status != "ABORTED" {
				t.Errorf("after cancel: execution %v (%v), want ABORTED", ex.Status, err)
			}
		})
	}
}
