// Package stepfn is the one contract between a scan step's handler and what
// runs it: every functions/<step>/main.go (through Lambda) and the local
// runner (shared/localrun, through Raw) call a step as a Step, which
//
//   - decodes the step's input from the state's JSON, a bad event being a
//     domain error with its reason (never a crash of the runtime);
//   - applies the retry boundary: a citadel.RetryableError anywhere in the
//     error chain reaches Step Functions as that type (the state machine's
//     Retry matches it by name), with the step's context kept in its message;
//     any other error keeps its own type name (ErrorType);
//   - gives the handler its clock and logger, defaulted once (Env);
//   - measures the step's usage of the store and records the step's progress
//     on the scan (started, finished with its counts or its error), so
//     GET /scans/{id} can show a long scan as it runs.
package stepfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Env is what every step handler gets from its runner. The zero value is
// usable: Now is the system clock and Logger slog's default.
type Env struct {
	Clock citadel.Clock
	Log   *slog.Logger
}

// Now is the current time on the step's clock.
func (e Env) Now() time.Time {
	if e.Clock != nil {
		return e.Clock()
	}
	return citadel.SystemClock()
}

// Logger is the step's logger.
func (e Env) Logger() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.Default()
}

// Defaults returns e with its clock and logger set.
func (e Env) Defaults() Env {
	if e.Clock == nil {
		e.Clock = citadel.SystemClock
	}
	if e.Log == nil {
		e.Log = slog.Default()
	}
	return e
}

// Metered is a store that counts what it spent (*ddb.Store).
type Metered interface {
	Usage() citadel.Usage
}

// Progress records a scan's steps as they start and finish (*ddb.Store).
type Progress interface {
	StepStarted(ctx context.Context, scanID, step string, at time.Time) error
	StepFinished(ctx context.Context, scanID string, p citadel.StepProgress) error
}

// Step is a handler under the contract. Handle and Name are required; a nil
// Meter measures nothing and a nil Progress records nothing.
type Step[In, Out any] struct {
	Name     string
	Handle   func(context.Context, In) (Out, error)
	Env      Env
	Meter    Metered
	Progress Progress
}

// New builds a step: its handler, the environment (defaulted here, once) and
// the store, whose usage is measured when it is Metered and which records
// the scan's progress when it is a Progress (*ddb.Store is both; nil is
// neither).
func New[In, Out any](name string, handle func(context.Context, In) (Out, error), env Env, store any) Step[In, Out] {
	s := Step[In, Out]{Name: name, Handle: handle, Env: env.Defaults()}
	s.Meter, _ = store.(Metered)
	s.Progress, _ = store.(Progress)
	return s
}

// Raw runs the step on a JSON input (a Lambda event, or the local runner's
// state), decoding it into In first.
func (s Step[In, Out]) Raw(ctx context.Context, raw json.RawMessage) (Out, error) {
	in, err := Decode[In](s.Name, raw)
	if err != nil {
		var zero Out
		s.Env.Logger().WarnContext(ctx, "step refused its input", "step", s.Name, "error", err.Error())
		return zero, err
	}
	return s.Run(ctx, in)
}

// Run calls the handler: progress before and after, usage measured, the
// error through the retry boundary.
func (s Step[In, Out]) Run(ctx context.Context, in In) (Out, error) {
	log := s.Env.Logger()
	integrationID, scanID := scanOf(in)
	if scanID != "" {
		log = log.With("scan_id", scanID, "integration_id", integrationID)
	}
	start := s.Env.Now()
	if s.Progress != nil && scanID != "" {
		if err := s.Progress.StepStarted(ctx, scanID, s.Name, start); err != nil {
			log.WarnContext(ctx, "record step start", "step", s.Name, "error", err.Error())
		}
	}
	var before citadel.Usage
	if s.Meter != nil {
		before = s.Meter.Usage()
	}
	out, err := s.Handle(ctx, in)
	err = Boundary(s.Name, err)
	var usage citadel.Usage
	if s.Meter != nil {
		usage = s.Meter.Usage().Sub(before)
	}
	end := s.Env.Now()
	p := citadel.StepProgress{Step: s.Name, Status: citadel.StepSucceeded, StartedAt: start, FinishedAt: end, Usage: usage}
	attrs := []any{"step", s.Name, "ms", end.Sub(start).Milliseconds(), "requests", usage.Requests, "write_units", usage.WriteUnits}
	if err != nil {
		p.Status, p.Error = citadel.StepFailed, ErrorType(err)
		if citadel.IsRetryable(err) {
			p.Status = citadel.StepRetrying
		}
		log.ErrorContext(ctx, "step failed", append(attrs, "error_type", p.Error, "error", err.Error())...)
	} else {
		p.Counts = Counts(out)
		log.InfoContext(ctx, "step finished", attrs...)
	}
	if s.Progress != nil && scanID != "" {
		if perr := s.Progress.StepFinished(ctx, scanID, p); perr != nil {
			log.WarnContext(ctx, "record step end", "step", s.Name, "error", perr.Error())
		}
	}
	return out, err
}

// Decode reads a step's input from JSON; a malformed one is a domain error
// (invalid) naming the step and what is wrong.
func Decode[In any](step string, raw json.RawMessage) (In, error) {
	var in In
	if err := json.Unmarshal(raw, &in); err != nil {
		return in, citadel.Invalid("%s: the input is not a %s: %s", step, reflect.TypeFor[In]().Name(), err.Error())
	}
	return in, nil
}

// Boundary is the retry boundary: a RetryableError anywhere in err's chain
// comes back as a *citadel.RetryableError at the top, its message keeping the
// step's context; any other error is returned as it is.
func Boundary(step string, err error) error {
	if err == nil || !citadel.IsRetryable(err) {
		return err
	}
	if _, top := err.(*citadel.RetryableError); top {
		return err
	}
	return &citadel.RetryableError{Err: fmt.Errorf("%s: %w", step, err)}
}

// ErrorType names err as Step Functions sees it: RetryableError for a
// retryable one, otherwise the Go type name of the first error in the chain
// that is not a mere wrapper (fmt.Errorf's, errors.Join's): a domain error is
// "Error", a JSON syntax error "SyntaxError".
func ErrorType(err error) string {
	if err == nil {
		return ""
	}
	if citadel.IsRetryable(err) {
		return citadel.ErrorTypeRetryable
	}
	for e := err; e != nil; {
		if !isWrapper(e) {
			return typeName(e)
		}
		next := errors.Unwrap(e)
		if next == nil {
			break
		}
		e = next
	}
	return typeName(err)
}

func isWrapper(err error) bool {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath() == "fmt" || (t.PkgPath() == "errors" && t.Name() == "joinError")
}

func typeName(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// scanOf finds the scan a step's input names (citadel.ScanStep).
func scanOf(in any) (integrationID, scanID string) {
	if s, ok := in.(citadel.ScanStep); ok {
		return s.ScanRef()
	}
	return "", ""
}

// Counts are a step output's top-level whole-number fields by their JSON
// names (results_created, assets_updated ...): what a user watching the scan
// sees as each step lands. Lists count their length.
func Counts(out any) map[string]int {
	b, err := json.Marshal(out)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	counts := map[string]int{}
	for k, v := range m {
		switch v := v.(type) {
		case float64:
			if v == float64(int(v)) {
				counts[k] = int(v)
			}
		case []any:
			counts[k] = len(v)
		}
	}
	if len(counts) == 0 {
		return nil
	}
	return counts
}
