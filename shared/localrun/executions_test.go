package localrun_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/localrun"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

const sm = "arn:aws:states:us-east-1:000000000000:stateMachine:citadel-local"

// blocking is a pipeline whose plan waits for release or for its context.
func blocking(release <-chan struct{}, failPlan bool) func() *localrun.Runner {
	return func() *localrun.Runner {
		return &localrun.Runner{Steps: []localrun.Step{
			localrun.Of(stepfn.New(citadel.StepPlan, func(ctx context.Context, in citadel.PlanInput) (citadel.PlanOutput, error) {
				select {
				case <-release:
				case <-ctx.Done():
					return citadel.PlanOutput{}, ctx.Err()
				}
				if failPlan {
					return citadel.PlanOutput{}, errors.New("no such integration")
				}
				return citadel.PlanOutput{ScanID: in.Scan.ScanID}, nil
			}, stepfn.Env{}, nil)),
			localrun.Of(stepfn.New(citadel.StepFinalize, func(_ context.Context, in citadel.FinalizeInput) (citadel.FinalizeOutput, error) {
				return citadel.FinalizeOutput{Status: citadel.ScanSucceeded}, nil
			}, stepfn.Env{}, nil)),
		}}
	}
}

func start(t *testing.T, e *localrun.Executions, name string) string {
	t.Helper()
	in, _ := json.Marshal(citadel.PlanInput{Scan: citadel.StartScan{ScanID: name, IntegrationID: "int-1", Trigger: citadel.TriggerAPI}})
	out, err := e.StartExecution(context.Background(), &sfn.StartExecutionInput{StateMachineArn: aws.String(sm), Name: aws.String(name), Input: aws.String(string(in))})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ExecutionArn)
}

func statusOf(t *testing.T, e *localrun.Executions, arn string, want sfntypes.ExecutionStatus) *sfn.DescribeExecutionOutput {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, err := e.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status == want || time.Now().After(deadline) {
			if d.Status != want {
				t.Fatalf("execution %s: %s, want %s", arn, d.Status, want)
			}
			return d
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestExecutionsPlayTheStateMachine: an execution runs its pipeline and
// ends as Step Functions would say; a stop aborts it; names are unique; bad
// input and another state machine are refused as Step Functions refuses them.
func TestExecutionsPlayTheStateMachine(t *testing.T) {
	release := make(chan struct{})
	e := &localrun.Executions{StateMachineARN: sm, Pipeline: blocking(release, false)}
	arn := start(t, e, "scan-1")
	if want := "arn:aws:states:us-east-1:000000000000:execution:citadel-local:scan-1"; arn != want {
		t.Errorf("ARN %s, want %s", arn, want)
	}
	statusOf(t, e, arn, sfntypes.ExecutionStatusRunning)
	close(release)
	if d := statusOf(t, e, arn, sfntypes.ExecutionStatusSucceeded); d.StopDate == nil {
		t.Error("no stop date")
	}

	block := make(chan struct{})
	e2 := &localrun.Executions{StateMachineARN: sm, Pipeline: blocking(block, false)}
	arn2 := start(t, e2, "scan-3")
	if _, err := e2.StopExecution(context.Background(), &sfn.StopExecutionInput{ExecutionArn: aws.String(arn2), Cause: aws.String("cancelled by alice")}); err != nil {
		t.Fatal(err)
	}
	e2.Wait() // the pipeline saw its context end
	if d := statusOf(t, e2, arn2, sfntypes.ExecutionStatusAborted); aws.ToString(d.Cause) != "cancelled by alice" {
		t.Errorf("cause %q", aws.ToString(d.Cause))
	}

	failing := &localrun.Executions{StateMachineARN: sm, Pipeline: blocking(release, true)}
	if d := statusOf(t, failing, start(t, failing, "scan-4"), sfntypes.ExecutionStatusFailed); aws.ToString(d.Cause) == "" {
		t.Error("a failed execution without its cause")
	}

	var exists *sfntypes.ExecutionAlreadyExists
	in, _ := json.Marshal(citadel.PlanInput{Scan: citadel.StartScan{ScanID: "scan-1"}})
	if _, err := e.StartExecution(context.Background(), &sfn.StartExecutionInput{StateMachineArn: aws.String(sm), Name: aws.String("scan-1"), Input: aws.String(string(in))}); !errors.As(err, &exists) {
		t.Errorf("a second scan-1: %v, want ExecutionAlreadyExists", err)
	}
	var bad *sfntypes.InvalidExecutionInput
	if _, err := e.StartExecution(context.Background(), &sfn.StartExecutionInput{StateMachineArn: aws.String(sm), Name: aws.String("x"), Input: aws.String(`[]`)}); !errors.As(err, &bad) {
		t.Errorf("bad input: %v, want InvalidExecutionInput", err)
	}
	var none *sfntypes.StateMachineDoesNotExist
	if _, err := e.StartExecution(context.Background(), &sfn.StartExecutionInput{StateMachineArn: aws.String(sm + "-other"), Name: aws.String("y"), Input: aws.String(string(in))}); !errors.As(err, &none) {
		t.Errorf("another state machine: %v, want StateMachineDoesNotExist", err)
	}
	var missing *sfntypes.ExecutionDoesNotExist
	if _, err := e.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(sm + ":nope")}); !errors.As(err, &missing) {
		t.Errorf("unknown execution: %v", err)
	}
	e.Wait()
	failing.Wait()
}

// An execution of the organization state machine runs the organization
// pipeline, under its own ARN; without an organization pipeline that state
// machine does not exist.
func TestExecutionsPlayTheOrganizationStateMachine(t *testing.T) {
	const orgSM = "arn:aws:states:us-east-1:000000000000:stateMachine:citadel-local-org"
	o := &orgSteps{seen: map[string]any{}}
	e := &localrun.Executions{StateMachineARN: sm, Pipeline: blocking(make(chan struct{}), false), OrgStateMachineARN: orgSM,
		OrgPipeline: func() *localrun.OrgRunner { return o.runner(2, func(citadel.StartScan) error { return nil }) }}
	in, _ := json.Marshal(citadel.PlanInput{Scan: citadel.StartScan{ScanID: "scan-org", IntegrationID: "int-org", Trigger: citadel.TriggerAPI}})
	out, err := e.StartExecution(context.Background(), &sfn.StartExecutionInput{StateMachineArn: aws.String(orgSM), Name: aws.String("scan-org"), Input: aws.String(string(in))})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.ExecutionArn)
	if want := "arn:aws:states:us-east-1:000000000000:execution:citadel-local-org:scan-org"; arn != want {
		t.Errorf("ARN %s, want %s", arn, want)
	}
	e.Wait()
	if d := statusOf(t, e, arn, sfntypes.ExecutionStatusSucceeded); aws.ToString(d.StateMachineArn) != orgSM {
		t.Errorf("state machine %s, want %s", aws.ToString(d.StateMachineArn), orgSM)
	}
	if p, ok := o.seen["plan"].(citadel.PlanInput); !ok || p.ExecutionARN != arn {
		t.Errorf("org-plan's execution ARN: %+v", o.seen["plan"])
	}

	plain := &localrun.Executions{StateMachineARN: sm, Pipeline: blocking(make(chan struct{}), false), OrgStateMachineARN: orgSM}
	var none *sfntypes.StateMachineDoesNotExist
	if _, err := plain.StartExecution(context.Background(), &sfn.StartExecutionInput{StateMachineArn: aws.String(orgSM), Name: aws.String("z"), Input: aws.String(string(in))}); !errors.As(err, &none) {
		t.Errorf("no organization pipeline: %v, want StateMachineDoesNotExist", err)
	}
}
