package stepfn_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

var throttled = citadel.Retryable(errors.New("dynamodb get scan: ThrottlingException: rate exceeded"))

func TestBoundaryAndErrorType(t *testing.T) {
	var syntax *json.SyntaxError
	_ = json.Unmarshal([]byte("{"), &syntax)
	jsonErr := json.Unmarshal([]byte("{"), &map[string]any{})
	tests := []struct {
		name     string
		err      error
		wantType string
		wantMsg  string
	}{
		{"nil", nil, "", ""},
		{"retryable at the top", throttled, "RetryableError",
			"retryable: dynamodb get scan: ThrottlingException: rate exceeded"},
		{"retryable wrapped by the step", fmt.Errorf("finalize scan s1: %w", throttled), "RetryableError",
			"retryable: finalize: finalize scan s1: retryable: dynamodb get scan: ThrottlingException: rate exceeded"},
		{"retryable in a join", errors.Join(errors.New("other"), fmt.Errorf("put: %w", throttled)), "RetryableError", ""},
		{"domain error wrapped", fmt.Errorf("finalize scan s1: %w", citadel.NotFound("scan s1 not found")), "Error",
			"finalize scan s1: scan s1 not found"},
		{"domain error", citadel.Invalid("bad plan"), "Error", "bad plan"},
		{"json error wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", jsonErr)), "SyntaxError", ""},
		{"plain errors.New", errors.New("boom"), "errorString", "boom"},
		{"plain fmt.Errorf", fmt.Errorf("no cause %d", 1), "errorString", "no cause 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := stepfn.Boundary("finalize", tc.err)
			if tc.err == nil {
				if got != nil {
					t.Fatalf("Boundary(nil) = %v", got)
				}
				return
			}
			if gotType := stepfn.ErrorType(got); gotType != tc.wantType {
				t.Errorf("ErrorType = %q, want %q", gotType, tc.wantType)
			}
			if tc.wantType == citadel.ErrorTypeRetryable {
				if _, top := got.(*citadel.RetryableError); !top {
					t.Errorf("Boundary returned %T, want *citadel.RetryableError at the top", got)
				}
			} else if got != tc.err {
				t.Errorf("Boundary changed a non-retryable error: %v", got)
			}
			if tc.wantMsg != "" && got.Error() != tc.wantMsg {
				t.Errorf("message = %q, want %q", got.Error(), tc.wantMsg)
			}
		})
	}
}

// The Lambda entry answers the runtime with the error's type: Step
// Functions' Retry matches "RetryableError" whatever the step wrapped.
func TestInvokeReportsTheErrorType(t *testing.T) {
	tests := []struct {
		name     string
		event    string
		err      error
		wantType string
	}{
		{"throttled", `{"plan":{"scan_id":"s1","integration_id":"i1"}}`, fmt.Errorf("controls: %w", throttled), "RetryableError"},
		{"domain", `{"plan":{"scan_id":"s1","integration_id":"i1"}}`, fmt.Errorf("controls: %w", citadel.Invalid("no plan")), "Error"},
		{"bad event", `{"plan":"not an object"}`, nil, "Error"},
		{"not JSON", `[1,`, nil, "Error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := stepfn.New(citadel.StepControls, func(context.Context, citadel.ControlsInput) (citadel.ControlsOutput, error) {
				return citadel.ControlsOutput{}, tc.err
			}, stepfn.Env{Log: discard}, nil)
			_, err := s.Invoke(context.Background(), json.RawMessage(tc.event))
			var ire messages.InvokeResponse_Error
			if !errors.As(err, &ire) {
				t.Fatalf("Invoke error = %T %v, want messages.InvokeResponse_Error", err, err)
			}
			if ire.Type != tc.wantType || ire.Message == "" {
				t.Errorf("response = %+v, want type %s with a message", ire, tc.wantType)
			}
			if tc.err == nil && !strings.Contains(ire.Message, "controls: the input is not a ControlsInput") {
				t.Errorf("bad event message = %q", ire.Message)
			}
		})
	}
}

var discard = slog.New(slog.NewJSONHandler(io.Discard, nil))

// recorder is the step contract's progress sink, recording calls in order
// (an interface of our own: the store's real implementation is tested in
// shared/ddb against the emulator).
type recorder struct {
	calls []string
	ends  []citadel.StepProgress
	usage citadel.Usage
}

func (r *recorder) StepStarted(_ context.Context, scanID, step string, at time.Time) error {
	r.calls = append(r.calls, fmt.Sprintf("start %s %s %s", scanID, step, at.Format(time.TimeOnly)))
	return nil
}

func (r *recorder) StepFinished(_ context.Context, scanID string, p citadel.StepProgress) error {
	r.calls = append(r.calls, fmt.Sprintf("end %s %s %s", scanID, p.Step, p.Status))
	r.ends = append(r.ends, p)
	return nil
}

func (r *recorder) Usage() citadel.Usage { return r.usage }

func TestRunRecordsProgressAndUsage(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)
	now := t0
	clock := func() time.Time { now = now.Add(time.Second); return now }
	rec := &recorder{usage: citadel.Usage{Requests: 10, WriteUnits: 5}}
	fail := error(nil)
	step := stepfn.New(citadel.StepCheckResults, func(_ context.Context, in citadel.CheckResultsInput) (citadel.CheckResultsOutput, error) {
		rec.usage = rec.usage.Add(citadel.Usage{Requests: 3, WriteUnits: 7})
		return citadel.CheckResultsOutput{ResultsCreated: 4, ResultsUnchanged: 2}, fail
	}, stepfn.Env{Clock: clock, Log: discard}, rec)
	in := citadel.CheckResultsInput{Plan: citadel.PlanOutput{ScanID: "scn-1", IntegrationID: "int-1"}}
	if _, err := step.Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	fail = fmt.Errorf("put: %w", throttled)
	if _, err := step.Run(context.Background(), in); !citadel.IsRetryable(err) {
		t.Fatalf("err = %v", err)
	}
	fail = citadel.Invalid("the OCSF file is truncated")
	if _, err := step.Run(context.Background(), in); err == nil {
		t.Fatal("no error")
	}
	want := []string{
		"start scn-1 check-results 09:00:01", "end scn-1 check-results succeeded",
		"start scn-1 check-results 09:00:03", "end scn-1 check-results retrying",
		"start scn-1 check-results 09:00:05", "end scn-1 check-results failed",
	}
	if d := cmp.Diff(want, rec.calls); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
	first := rec.ends[0]
	if d := cmp.Diff(citadel.StepProgress{Step: citadel.StepCheckResults, Status: citadel.StepSucceeded,
		StartedAt: t0.Add(time.Second), FinishedAt: t0.Add(2 * time.Second),
		Counts: map[string]int{"results_created": 4, "results_unchanged": 2, "results_updated": 0, "arns_skipped": 0,
			"checks_executed": 0, "checks_passed": 0, "checks_failed": 0, "checks_manual": 0, "history_entries": 0,
			"duplicate_findings": 0, "malformed_findings": 0, "drift_events": 0, "regressions": 0},
		Usage: citadel.Usage{Requests: 3, WriteUnits: 7}}, first, ignoreUnknownCounts(first)); d != "" {
		t.Errorf("progress (-want +got):\n%s", d)
	}
	if rec.ends[1].Error != "RetryableError" || rec.ends[2].Error != "Error" {
		t.Errorf("errors = %q, %q", rec.ends[1].Error, rec.ends[2].Error)
	}
}

// ignoreUnknownCounts compares only the counts the test names: the output
// type may grow fields.
func ignoreUnknownCounts(got citadel.StepProgress) cmp.Option {
	return cmp.FilterPath(func(p cmp.Path) bool {
		return strings.HasPrefix(p.GoString(), "{citadel.StepProgress}.Counts[") &&
			!strings.Contains(p.GoString(), `"results_`)
	}, cmp.Ignore())
}

// A step outside a scan (the catalog import) records no progress.
func TestRunWithoutAScanRecordsNothing(t *testing.T) {
	rec := &recorder{}
	step := stepfn.New(citadel.StepCatalogImport, func(context.Context, citadel.CatalogImportInput) (citadel.CatalogImportOutput, error) {
		return citadel.CatalogImportOutput{}, nil
	}, stepfn.Env{Log: discard}, rec)
	if _, err := step.Raw(context.Background(), json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	if len(rec.calls) != 0 {
		t.Errorf("calls = %v", rec.calls)
	}
}

func TestCounts(t *testing.T) {
	tests := []struct {
		name string
		out  any
		want map[string]int
	}{
		{"assets", citadel.AssetSyncOutput{AssetsCreated: 3, TotalAssets: 9, Errors: []citadel.CollectorError{{}, {}}},
			map[string]int{"assets_created": 3, "assets_updated": 0, "assets_deactivated": 0, "total_assets": 9,
				"relationships_created": 0, "relationships_deleted": 0, "errors": 2}},
		{"no numbers", struct{ A string }{"x"}, nil},
		{"fractions are not counts", struct {
			N float64 `json:"n"`
			M int     `json:"m"`
		}{1.5, 2}, map[string]int{"m": 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, stepfn.Counts(tc.out)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestEnvDefaults(t *testing.T) {
	var e stepfn.Env
	if e.Logger() == nil || e.Now().IsZero() {
		t.Fatal("zero Env has no logger or clock")
	}
	d := e.Defaults()
	if d.Clock == nil || d.Log == nil {
		t.Fatal("Defaults left a field nil")
	}
	fixed := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := (stepfn.Env{Clock: func() time.Time { return fixed }}).Defaults().Now(); !got.Equal(fixed) {
		t.Errorf("Defaults replaced the clock: %v", got)
	}
}
