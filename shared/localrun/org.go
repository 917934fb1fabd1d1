package localrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// OrgRunner is the organization state machine (infra/orgstatemachine.go)
// played in this process: org-plan → org-sync → each member (org-member,
// then its account scan as the child execution would run it) → org-summary,
// with the state machine's payloads and its catches: a member's failure is
// its item's result, a failure of org-plan, org-sync or the members goes
// under "error" before org-summary runs.
type OrgRunner struct {
	Plan, Sync, Member, Summary Step
	// Account builds the runner of one member's scan (the child execution).
	Account func() *Runner
	// Concurrency is how many members scan at once (the Map's
	// MaxConcurrency); 0 is one at a time.
	Concurrency int
	// OnEvent reports the organization's own steps; OnMember each member's
	// result as its item ends.
	OnEvent  func(Event)
	OnMember func(citadel.OrgMemberResult)
}

// OrgResult is the end state of an organization run.
type OrgResult struct {
	State   map[string]json.RawMessage
	Members []citadel.OrgMemberResult
	Final   citadel.OrgSummaryOutput
	Failed  *citadel.StepError
}

// Run executes the organization scan start (with the execution's ARN, as
// the state machine passes $$.Execution.Id); it returns an error only when
// org-summary itself fails.
func (o *OrgRunner) Run(ctx context.Context, start citadel.StartScan, executionARN string) (OrgResult, error) {
	for _, s := range []Step{o.Plan, o.Sync, o.Member, o.Summary} {
		if s.Run == nil {
			return OrgResult{}, errors.New("organization pipeline: a step is missing")
		}
	}
	if o.Account == nil {
		return OrgResult{}, errors.New("organization pipeline: no account pipeline")
	}
	state := map[string]json.RawMessage{"scan": mustJSON(start)}
	res := OrgResult{State: state}
	fail := func(err error) {
		res.Failed = &citadel.StepError{Error: stepfn.ErrorType(err), Cause: err.Error()}
		state[citadel.StateErrorKey] = mustJSON(res.Failed)
	}
	var syncOut citadel.OrgSyncOutput
	err := o.step(ctx, o.Plan, citadel.PlanInput{Scan: start, ExecutionARN: executionARN}, citadel.OrgStateKeys[citadel.StepOrgPlan], state, nil)
	if err == nil {
		err = o.step(ctx, o.Sync, citadel.OrgSyncInput{IntegrationID: start.IntegrationID, ScanID: start.ScanID},
			citadel.OrgStateKeys[citadel.StepOrgSync], state, &syncOut)
	}
	if err == nil {
		res.Members, err = o.members(ctx, start, syncOut.Scan)
		if err == nil {
			state[citadel.OrgStateKeys[citadel.StepOrgMember]] = mustJSON(res.Members)
		}
	}
	if err != nil {
		fail(err)
	}
	var final citadel.OrgSummaryOutput
	if err := o.step(ctx, o.Summary, state, citadel.OrgStateKeys[citadel.StepOrgSummary], state, &final); err != nil {
		return res, fmt.Errorf("organization pipeline: %s: %w", o.Summary.Name, err)
	}
	res.Final = final
	return res, nil
}

// step runs s on payload, puts its output under key in state and, when out
// is set, decodes the output into it.
func (o *OrgRunner) step(ctx context.Context, s Step, payload any, key string, state map[string]json.RawMessage, out any) error {
	raw, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode %s input: %w", s.Name, err)
	}
	o.emit(Event{Step: s.Name})
	t := time.Now()
	v, err := s.Run(ctx, raw)
	o.emit(Event{Step: s.Name, Done: true, Output: v, Err: err, Elapsed: time.Since(t)})
	if err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s output: %w", s.Name, err)
	}
	state[key] = b
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// members runs each member's item, Concurrency at once, results in the
// order of ids (the Map's). Only the context's end stops them: an item's
// own failure is its result.
func (o *OrgRunner) members(ctx context.Context, start citadel.StartScan, ids []string) ([]citadel.OrgMemberResult, error) {
	results := make([]citadel.OrgMemberResult, len(ids))
	limit := max(o.Concurrency, 1)
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i, id := range ids {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return nil, ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = o.member(ctx, citadel.OrgMemberInput{IntegrationID: id, OrgScanID: start.ScanID, OrgIntegrationID: start.IntegrationID})
			if o.OnMember != nil {
				o.OnMember(results[i])
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return results, nil
}

// member is one item: org-member, then, when it started the member's scan,
// the account pipeline; the item's result is what the state machine's
// Pass states keep (scanned, or failed with the error's name).
func (o *OrgRunner) member(ctx context.Context, in citadel.OrgMemberInput) citadel.OrgMemberResult {
	failed := func(err error) citadel.OrgMemberResult {
		return citadel.OrgMemberResult{IntegrationID: in.IntegrationID, Status: citadel.MemberFailed, Reason: stepfn.ErrorType(err)}
	}
	raw, err := json.Marshal(in)
	if err != nil {
		return failed(err)
	}
	v, err := o.Member.Run(ctx, raw)
	if err != nil {
		return failed(err)
	}
	started, ok := v.(citadel.OrgMemberResult)
	if !ok {
		return failed(fmt.Errorf("%s returned %T", o.Member.Name, v))
	}
	started.IntegrationID = in.IntegrationID
	if started.Status != citadel.MemberStarted || started.Scan == nil {
		return started // skipped, or failed with its reason
	}
	run, err := o.Account().Run(ctx, *started.Scan)
	switch {
	case err != nil:
		return failed(err)
	case run.Failed != nil:
		return citadel.OrgMemberResult{IntegrationID: in.IntegrationID, Status: citadel.MemberFailed, Reason: run.Failed.Error}
	}
	return citadel.OrgMemberResult{IntegrationID: in.IntegrationID, Status: citadel.MemberScanned}
}

func (o *OrgRunner) emit(e Event) {
	if o.OnEvent != nil {
		o.OnEvent(e)
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("localrun: encode %T: %v", v, err))
	}
	return b
}
