// Package localrun is the local runner: it runs a scan's steps in one
// process, in the order and with the payloads of the deployed state machine:
// the state is a JSON object that grows by each step's output under its key
// (citadel.StateKeys), each step's input is decoded from it into the step's
// own Go type, and a failing step's error goes under "error" before finalize
// runs, as the state machine's Catch does. citadel scan, make demo and the
// end-to-end tests use it; the steps are the very handlers the Lambdas run,
// through the same step contract (shared/stepfn).
package localrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// Step is one state of the pipeline.
type Step struct {
	Name string
	// Run decodes its input from the state and returns its output.
	Run func(ctx context.Context, state json.RawMessage) (any, error)
	// Input is the Go type of the step's payload (for the guard test that
	// compares the runner with the synthesized state machine).
	Input reflect.Type
}

// Of adapts a step under the contract (shared/stepfn) to a Step: the state
// is decoded into In, as Step Functions passes the whole state to the task,
// and the step's error comes back through the same retry boundary a Lambda's
// does.
func Of[In, Out any](s stepfn.Step[In, Out]) Step {
	return Step{
		Name:  s.Name,
		Input: reflect.TypeFor[In](),
		Run: func(ctx context.Context, state json.RawMessage) (any, error) {
			return s.Raw(ctx, state)
		},
	}
}

// Event is reported at the start and at the end of each step.
type Event struct {
	Step    string
	Done    bool
	Output  any           // at the end, when the step succeeded
	Err     error         // at the end, when it failed
	Elapsed time.Duration // at the end
}

// Runner is the ordered steps; the last one is finalize, which also runs
// after a failure.
type Runner struct {
	Steps   []Step
	OnEvent func(Event)
}

// Names lists the steps in order.
func (p *Runner) Names() []string {
	out := make([]string, len(p.Steps))
	for i, s := range p.Steps {
		out[i] = s.Name
	}
	return out
}

// Result is the end state of a run.
type Result struct {
	State  map[string]json.RawMessage
	Final  citadel.FinalizeOutput
	Failed *citadel.StepError
}

// Run executes the steps for the scan; it returns an error only when
// finalize itself fails (a step's failure is recorded on the scan).
func (p *Runner) Run(ctx context.Context, start citadel.StartScan) (Result, error) {
	if len(p.Steps) == 0 || p.Steps[len(p.Steps)-1].Name != citadel.StepFinalize {
		return Result{}, errors.New("pipeline: the last step must be finalize")
	}
	state := map[string]json.RawMessage{}
	b, _ := json.Marshal(start)
	state["scan"] = b
	res := Result{State: state}
	for _, step := range p.Steps[:len(p.Steps)-1] {
		out, err := p.run(ctx, step, state)
		if err != nil {
			res.Failed = &citadel.StepError{Error: stepfn.ErrorType(err), Cause: err.Error()}
			b, _ := json.Marshal(res.Failed)
			state[citadel.StateErrorKey] = b
			break
		}
		if key := citadel.StateKeys[step.Name]; key != "" {
			b, err := json.Marshal(out)
			if err != nil {
				return res, fmt.Errorf("pipeline: encode %s output: %w", step.Name, err)
			}
			state[key] = b
		}
	}
	final := p.Steps[len(p.Steps)-1]
	out, err := p.run(ctx, final, state)
	if err != nil {
		return res, fmt.Errorf("pipeline: %s: %w", final.Name, err)
	}
	fo, ok := out.(citadel.FinalizeOutput)
	if !ok {
		return res, fmt.Errorf("pipeline: finalize returned %T", out)
	}
	res.Final = fo
	b, _ = json.Marshal(fo)
	state[citadel.StateKeys[citadel.StepFinalize]] = b
	return res, nil
}

func (p *Runner) run(ctx context.Context, step Step, state map[string]json.RawMessage) (any, error) {
	raw, err := json.Marshal(state)
	if err != nil {
		return nil, fmt.Errorf("encode state: %w", err)
	}
	p.emit(Event{Step: step.Name})
	t := time.Now()
	out, err := step.Run(ctx, raw)
	p.emit(Event{Step: step.Name, Done: true, Output: out, Err: err, Elapsed: time.Since(t)})
	return out, err
}

func (p *Runner) emit(e Event) {
	if p.OnEvent != nil {
		p.OnEvent(e)
	}
}
