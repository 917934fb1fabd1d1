package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/localrun"
	"github.com/citadelsecure/citadel/shared/scanend"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/orgscan"
	"github.com/citadelsecure/citadel/shared/steps/orgsync"
)

// localOrgStateMachine is the ARN the local API starts organization scans
// of (localrun.Executions plays it).
const localOrgStateMachine = "arn:aws:states:us-east-1:000000000000:stateMachine:citadel-local-org"

// localOrgConcurrency is how many members a local organization scan scans
// at once: Prowler is the bulk of a member's scan, and runs on this machine.
const localOrgConcurrency = 2

// orgPipeline builds the organization's steps, each the very handler its
// Lambda runs, wired as functions/org-*/main.go wire them; execs answers
// for the executions (a member lock's holder, a member scan that ended
// unseen), as Step Functions does for the Lambdas.
func (r *runner) orgPipeline(execs *localrun.Executions) *localrun.OrgRunner {
	store := ddb.New(r.cfg, r.table)
	env := stepfn.Env{Log: r.log}.Defaults()
	announce := &scanend.Announcer{Events: eventbridge.NewFromConfig(r.cfg), Bus: r.eventBus, Log: r.log}
	locks := &scanend.Locks{Store: store, Executions: execs, StateMachineARN: localStateMachine, OrgStateMachineARN: localOrgStateMachine,
		Announce: announce, Log: r.log}
	planner := &orgscan.Planner{Store: store, Env: env}
	syncer := &orgsync.Handler{Store: store, AWS: r.cfg, Env: env}
	starter := &orgscan.Starter{Store: store, Locks: locks, Env: env}
	summarizer := &orgscan.Summarizer{Store: store, Executions: execs, StateMachineARN: localStateMachine, Announce: announce, Env: env}
	return &localrun.OrgRunner{
		Plan:        localrun.Of(stepfn.New(citadel.StepOrgPlan, planner.Handle, env, store)),
		Sync:        localrun.Of(stepfn.New(citadel.StepOrgSync, syncer.Handle, env, store)),
		Member:      localrun.Of(stepfn.New(citadel.StepOrgMember, starter.Handle, env, store)),
		Summary:     localrun.Of(stepfn.New(citadel.StepOrgSummary, summarizer.Handle, env, store)),
		Account:     r.pipeline,
		Concurrency: localOrgConcurrency,
	}
}

// OrgScanReport is what `citadel scan` prints at the end of an
// organization's scan: its status, the members' counts added up, and the
// organization's summary (members scanned, failed, skipped).
type OrgScanReport struct {
	ScanID        string             `json:"scan_id"`
	IntegrationID string             `json:"integration_id"`
	Status        citadel.ScanStatus `json:"status"`
	FailureCause  string             `json:"failure_cause,omitempty"`
	citadel.ScanSummary
	Organization citadel.OrgScanSummary `json:"organization"`
}

// scanOrganization records a queued organization scan as the API does and
// runs the organization pipeline, printing each of its steps and each
// member's end on w.
func (r *runner) scanOrganization(ctx context.Context, w io.Writer, org citadel.Integration) (OrgScanReport, error) {
	store := ddb.New(r.cfg, r.table)
	now := citadel.SystemClock()
	sc := citadel.Scan{ID: citadel.NewID("scan", now), IntegrationID: org.ID, FolderID: org.FolderID, Kind: citadel.KindOrganization,
		Trigger: citadel.TriggerAPI, Status: citadel.ScanQueued, CreatedAt: now}
	if err := store.StartScan(ctx, sc); err != nil {
		return OrgScanReport{}, fmt.Errorf("scan: %w", err)
	}
	fmt.Fprintf(w, "organization scan %s of integration %s (account %s, regions %s)\n", sc.ID, org.ID, org.AccountID, strings.Join(org.Regions, " "))
	prog := &progress{w: w}
	execs := &localrun.Executions{StateMachineARN: localStateMachine, Pipeline: r.pipeline, Log: r.log}
	p := r.orgPipeline(execs)
	p.OnEvent = prog.event
	var mu sync.Mutex
	p.OnMember = func(m citadel.OrgMemberResult) {
		mu.Lock()
		defer mu.Unlock()
		line := fmt.Sprintf("  member %s: %s", m.IntegrationID, m.Status)
		if m.Reason != "" {
			line += " (" + m.Reason + ")"
		}
		fmt.Fprintln(w, line)
	}
	res, err := p.Run(ctx, citadel.StartScan{ScanID: sc.ID, IntegrationID: org.ID, Trigger: citadel.TriggerAPI},
		strings.Replace(localOrgStateMachine, ":stateMachine:", ":execution:", 1)+":"+sc.ID)
	if err != nil {
		return OrgScanReport{}, err
	}
	rep := OrgScanReport{ScanID: sc.ID, IntegrationID: org.ID, Status: res.Final.Status, ScanSummary: res.Final.Summary, Organization: res.Final.Organization}
	if res.Failed != nil {
		rep.FailureCause = res.Failed.Cause
	}
	return rep, nil
}

// finishOrganization prints the organization scan's summary and fails when
// the scan did not succeed.
func finishOrganization(w io.Writer, rep OrgScanReport) error {
	fmt.Fprintln(w, "\norganization scan summary:")
	if err := writeJSON(w, rep); err != nil {
		return err
	}
	if rep.Status != citadel.ScanSucceeded {
		return fmt.Errorf("organization scan %s %s: %s", rep.ScanID, rep.Status, rep.FailureCause)
	}
	return nil
}

// scanAndReport scans an integration with progress on w: an organization
// through the organization pipeline (its summary printed), an account
// through the scan pipeline (its summary, coverage and report.html in
// outDir).
func (r *runner) scanAndReport(ctx context.Context, w io.Writer, integrationID, outDir string) error {
	integ, err := ddb.New(r.cfg, r.table).GetIntegration(ctx, integrationID)
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	if integ.IsOrganization() {
		rep, err := r.scanOrganization(ctx, w, integ)
		if err != nil {
			return err
		}
		return finishOrganization(w, rep)
	}
	res, err := r.scan(ctx, w, integrationID)
	if err != nil {
		return err
	}
	return r.finish(ctx, w, res, outDir)
}
