package scanend_test

import (
	"testing"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/scanend"
)

func TestExecutionCause(t *testing.T) {
	lambda := citadel.StepError{Error: "wrapError", Cause: `{"errorMessage":"finalize scan s1: dynamodb finish scan s1: operation error DynamoDB: TransactWriteItems, ` +
		`https response error StatusCode: 400, RequestID: ABC123, TransactionCanceledException: cancelled","errorType":"wrapError"}`}
	tests := []struct {
		name   string
		status sfntypes.ExecutionStatus
		step   string
		err    citadel.StepError
		want   string
	}{
		{"timed out in a step", sfntypes.ExecutionStatusTimedOut, citadel.StepCheckResults, citadel.StepError{},
			"the scan hit the 6-hour execution timeout in step check-results"},
		{"timed out", sfntypes.ExecutionStatusTimedOut, "", citadel.StepError{}, "the scan hit the 6-hour execution timeout"},
		{"stopped during a step", sfntypes.ExecutionStatusAborted, citadel.StepProwler, citadel.StepError{},
			"the scan's execution was stopped during step prowler outside Citadel"},
		{"finalize failed", sfntypes.ExecutionStatusFailed, citadel.StepFinalize, lambda,
			"the finalize step failed: finalize scan s1: dynamodb finish scan s1: the DynamoDB TransactWriteItems call failed"},
		{"failed, step unknown", sfntypes.ExecutionStatusFailed, "", lambda,
			"the scan's execution failed: finalize scan s1: dynamodb finish scan s1: the DynamoDB TransactWriteItems call failed"},
		{"failed, nothing known", sfntypes.ExecutionStatusFailed, "", citadel.StepError{}, "the scan's execution failed"},
		{"states error", sfntypes.ExecutionStatusFailed, "", citadel.StepError{Error: "States.Runtime",
			Cause: "An error occurred while executing the state 'plan' (arn:aws:states:us-east-1:123456789012:execution:x:y)"},
			"the scan's execution failed: the state machine could not run the step: An error occurred while executing the state 'plan' ([ARN in the logs])"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, scanend.ExecutionCause(tt.status, tt.step, tt.err)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestEndStatus(t *testing.T) {
	for status, want := range map[sfntypes.ExecutionStatus]citadel.ScanStatus{
		sfntypes.ExecutionStatusFailed: citadel.ScanFailed, sfntypes.ExecutionStatusTimedOut: citadel.ScanTimedOut,
		sfntypes.ExecutionStatusAborted: citadel.ScanCancelled, sfntypes.ExecutionStatusSucceeded: citadel.ScanFailed,
		sfntypes.ExecutionStatusRunning: "", sfntypes.ExecutionStatusPendingRedrive: "",
	} {
		got, ok := scanend.EndStatus(status)
		if got != want || ok != (want != "") {
			t.Errorf("%s: got %q, %v; want %q", status, got, ok, want)
		}
	}
}

func TestStepAtEnd(t *testing.T) {
	ok := func(step string) citadel.StepProgress {
		return citadel.StepProgress{Step: step, Status: citadel.StepSucceeded}
	}
	tests := []struct {
		name  string
		steps []citadel.StepProgress
		want  string
	}{
		{"nothing recorded", nil, ""},
		{"in plan", []citadel.StepProgress{{Step: citadel.StepPlan, Status: citadel.StepRunning}}, citadel.StepPlan},
		{"in the Prowler task (records nothing)", []citadel.StepProgress{ok(citadel.StepPlan), ok(citadel.StepAssetSync)}, citadel.StepProwler},
		{"retrying check-results", []citadel.StepProgress{ok(citadel.StepAssetSync), ok(citadel.StepPlan), {Step: citadel.StepCheckResults, Status: citadel.StepRetrying}}, citadel.StepCheckResults},
		{"finalize failed", []citadel.StepProgress{ok(citadel.StepPlan), {Step: citadel.StepFinalize, Status: citadel.StepFailed}}, citadel.StepFinalize},
		{"a step failed, finalize not yet started", []citadel.StepProgress{ok(citadel.StepPlan), {Step: citadel.StepAssetSync, Status: citadel.StepFailed}}, citadel.StepAssetSync},
		{"an unknown step is ignored", []citadel.StepProgress{ok(citadel.StepPlan), {Step: "other", Status: citadel.StepRunning}}, citadel.StepAssetSync},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, scanend.StepAtEnd(tt.steps)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
