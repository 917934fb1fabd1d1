package localrun

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Executions is the scan state machine played in this process, behind the
// three Step Functions calls the API makes (start, describe, stop): each
// execution runs a pipeline in a goroutine, as the deployed state machine
// runs its states. `citadel serve` gives it to the API in place of Step
// Functions, so a scan started over the local API really runs.
type Executions struct {
	// StateMachineARN is the ARN the API starts executions of.
	StateMachineARN string
	// Pipeline builds the runner of one execution.
	Pipeline func() *Runner
	// OrgStateMachineARN and OrgPipeline, when set, are the organization
	// state machine: its executions run an OrgRunner.
	OrgStateMachineARN string
	OrgPipeline        func() *OrgRunner
	// Jobs are one-job state machines (the export's), by ARN: an
	// execution runs the job with the execution's input.
	Jobs map[string]Job
	Log  *slog.Logger

	mu   sync.Mutex
	runs map[string]*execution // by execution ARN
	wg   sync.WaitGroup
}

type execution struct {
	stateMachine string
	status       sfntypes.ExecutionStatus
	start, stop  time.Time
	cause        string
	cancel       context.CancelFunc
}

// StartExecution starts the pipeline for the input's scan (a
// citadel.PlanInput, as the API sends it). A second execution of the same
// name is refused, as Step Functions refuses it.
func (e *Executions) StartExecution(ctx context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	sm := aws.ToString(in.StateMachineArn)
	if job, ok := e.Jobs[sm]; ok {
		return e.startJob(sm, aws.ToString(in.Name), job, []byte(aws.ToString(in.Input)))
	}
	org := e.OrgPipeline != nil && sm == e.OrgStateMachineARN
	if sm != e.StateMachineARN && !org {
		return nil, &sfntypes.StateMachineDoesNotExist{Message: aws.String("no state machine " + sm)}
	}
	var input citadel.PlanInput
	if err := json.Unmarshal([]byte(aws.ToString(in.Input)), &input); err != nil || input.Scan.ScanID == "" {
		return nil, &sfntypes.InvalidExecutionInput{Message: aws.String(fmt.Sprintf("input is not a scan's start: %v", err))}
	}
	arn := executionARN(sm, aws.ToString(in.Name))
	run, runCtx := e.register(arn, sm)
	if run == nil {
		return nil, &sfntypes.ExecutionAlreadyExists{Message: aws.String("execution " + arn + " already exists")}
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		failed, err := e.run(runCtx, org, input.Scan, arn)
		e.mu.Lock()
		defer e.mu.Unlock()
		if run.status != sfntypes.ExecutionStatusRunning {
			return // stopped
		}
		run.stop = time.Now()
		switch {
		case err != nil:
			run.status, run.cause = sfntypes.ExecutionStatusFailed, err.Error()
		case failed != nil:
			run.status, run.cause = sfntypes.ExecutionStatusFailed, failed.Cause
		default:
			run.status = sfntypes.ExecutionStatusSucceeded
		}
		if e.Log != nil {
			e.Log.Info("execution ended", "execution_arn", arn, "status", string(run.status), "cause", run.cause)
		}
	}()
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String(arn), StartDate: aws.Time(run.start)}, nil
}

// Job is a one-job state machine's work on an execution's input: it
// returns when the execution would end, its error the execution's failure.
type Job func(ctx context.Context, input []byte) error

// startJob starts an execution of a job's state machine.
func (e *Executions) startJob(sm, name string, job Job, input []byte) (*sfn.StartExecutionOutput, error) {
	arn := executionARN(sm, name)
	run, runCtx := e.register(arn, sm)
	if run == nil {
		return nil, &sfntypes.ExecutionAlreadyExists{Message: aws.String("execution " + arn + " already exists")}
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		err := job(runCtx, input)
		e.mu.Lock()
		defer e.mu.Unlock()
		if run.status != sfntypes.ExecutionStatusRunning {
			return // stopped
		}
		run.stop, run.status = time.Now(), sfntypes.ExecutionStatusSucceeded
		if err != nil {
			run.status, run.cause = sfntypes.ExecutionStatusFailed, err.Error()
		}
		if e.Log != nil {
			e.Log.Info("execution ended", "execution_arn", arn, "status", string(run.status), "cause", run.cause)
		}
	}()
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String(arn), StartDate: aws.Time(run.start)}, nil
}

// run runs an execution's pipeline: the organization's or the account's.
func (e *Executions) run(ctx context.Context, org bool, start citadel.StartScan, arn string) (*citadel.StepError, error) {
	if org {
		res, err := e.OrgPipeline().Run(ctx, start, arn)
		return res.Failed, err
	}
	res, err := e.Pipeline().Run(ctx, start)
	return res.Failed, err
}

// register records a new running execution; nil if the ARN is taken.
func (e *Executions) register(arn, stateMachine string) (*execution, context.Context) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.runs == nil {
		e.runs = map[string]*execution{}
	}
	if _, ok := e.runs[arn]; ok {
		return nil, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &execution{stateMachine: stateMachine, status: sfntypes.ExecutionStatusRunning, start: time.Now(), cancel: cancel}
	e.runs[arn] = run
	return run, ctx
}

// executionARN is the ARN Step Functions gives an execution of a state
// machine: arn:...:execution:<state machine name>:<name>.
func executionARN(stateMachine, name string) string {
	return strings.Replace(stateMachine, ":stateMachine:", ":execution:", 1) + ":" + name
}

// DescribeExecution is an execution's status.
func (e *Executions) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	arn := aws.ToString(in.ExecutionArn)
	run, ok := e.runs[arn]
	if !ok {
		return nil, &sfntypes.ExecutionDoesNotExist{Message: aws.String("no execution " + arn)}
	}
	out := &sfn.DescribeExecutionOutput{ExecutionArn: aws.String(arn), StateMachineArn: aws.String(run.stateMachine),
		Status: run.status, StartDate: aws.Time(run.start)}
	if !run.stop.IsZero() {
		out.StopDate = aws.Time(run.stop)
	}
	if run.cause != "" {
		out.Cause = aws.String(run.cause)
	}
	return out, nil
}

// StopExecution aborts a running execution: its pipeline's context is
// cancelled. Stopping an ended execution changes nothing.
func (e *Executions) StopExecution(_ context.Context, in *sfn.StopExecutionInput, _ ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	arn := aws.ToString(in.ExecutionArn)
	run, ok := e.runs[arn]
	if !ok {
		return nil, &sfntypes.ExecutionDoesNotExist{Message: aws.String("no execution " + arn)}
	}
	if run.status == sfntypes.ExecutionStatusRunning {
		run.status, run.stop, run.cause = sfntypes.ExecutionStatusAborted, time.Now(), aws.ToString(in.Cause)
		run.cancel()
	}
	return &sfn.StopExecutionOutput{StopDate: aws.Time(run.stop)}, nil
}

// Wait waits for every execution's pipeline to return (a stopped one
// returns once its step sees the cancelled context).
func (e *Executions) Wait() { e.wg.Wait() }
