package main

import (
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/scanend"
)

// ResultPaths says where each step's output goes in the execution's state,
// from citadel.StateKeys (the local runner reads the same map); the state
// grows into a citadel.FinalizeInput. The prowler Map's output is its
// shards' outcomes (each task's description is discarded: its results are
// in S3).
var ResultPaths = func() map[string]string {
	m := make(map[string]string, len(citadel.StateKeys))
	for step, key := range citadel.StateKeys {
		if key == "" {
			m[step] = "DISCARD"
			continue
		}
		m[step] = "$." + key
	}
	return m
}()

// The states after finalize, and where a caught error goes.
const (
	StateOutcome   = "outcome"                    // Choice: did a step fail?
	StateFailed    = "scan-failed"                // Fail: the execution fails with the step's error
	StateSucceeded = "scan-succeeded"             // Succeed
	ErrorPath      = "$." + citadel.StateErrorKey // a Catch's ResultPath: citadel.StepError
)

// PlanPayload is the plan state's input (citadel.PlanInput): the execution
// input and the execution's ARN, which the plan step records on the scan
// (a scheduled execution is not named after its scan, so cancel and the
// lock take-over find it by this ARN). Every other Lambda state gets the
// whole state.
var PlanPayload = map[string]any{
	"scan.$":          "$.scan",
	"execution_arn.$": "$$.Execution.Id",
}

// LambdaServiceErrors are the Lambda service's transient errors, retried like
// the steps' own citadel.ErrorTypeRetryable.
var LambdaServiceErrors = []string{
	"Lambda.ServiceException",
	"Lambda.AWSLambdaException",
	"Lambda.SdkClientException",
	"Lambda.TooManyRequestsException",
}

// ECSRetryableErrors are the ECS errors worth another RunTask (throttling,
// capacity). A task that ran and failed is not retried.
var ECSRetryableErrors = []string{"ECS.AmazonECSException"}

// Timeouts of the Prowler state and of the whole execution.
const (
	ProwlerStateTimeout = 4 * time.Hour
	ExecutionTimeout    = scanend.ExecutionTimeout
)

func duration(d time.Duration) awscdk.Duration {
	return awscdk.Duration_Seconds(jsii.Number(d.Seconds()))
}

// newStateMachine builds the scan state machine in citadel.StepOrder's order:
// plan → asset-sync → prowler → check-results → controls → policies →
// evidence → finalize. The execution input is {"scan": citadel.StartScan},
// started by the API or a schedule with the scan id as the execution name,
// so a second start of the same scan is refused by Step Functions.
//
// Each Lambda state gets the whole state and puts its output under its
// ResultPaths entry. Every state but finalize catches any error into
// $.error and goes to finalize, which records the scan as failed with the
// cause: a scan never stays "running". After finalize, the execution fails if
// a step did, so its status matches the scan's.
func newStateMachine(scope constructs.Construct, fns *Functions, task *ProwlerTask, prowlerConcurrency int) awsstepfunctions.StateMachine {
	lambdaState := func(step string) awsstepfunctionstasks.LambdaInvoke {
		var payload awsstepfunctions.TaskInput
		if step == citadel.StepPlan {
			payload = awsstepfunctions.TaskInput_FromObject(&PlanPayload)
		}
		return lambdaTask(scope, fns, step, payload, ResultPaths[step])
	}

	finalize := lambdaState(citadel.StepFinalize)
	failed := awsstepfunctions.NewFail(scope, jsii.String(StateFailed), &awsstepfunctions.FailProps{
		StateName: jsii.String(StateFailed),
		ErrorPath: jsii.String(ErrorPath + ".Error"),
		CausePath: jsii.String(ErrorPath + ".Cause"),
	})
	succeeded := awsstepfunctions.NewSucceed(scope, jsii.String(StateSucceeded), &awsstepfunctions.SucceedProps{
		StateName: jsii.String(StateSucceeded),
	})
	finalize.Next(awsstepfunctions.NewChoice(scope, jsii.String(StateOutcome), &awsstepfunctions.ChoiceProps{
		StateName: jsii.String(StateOutcome),
	}).When(awsstepfunctions.Condition_IsPresent(jsii.String(ErrorPath)), failed, nil).Otherwise(succeeded))

	catch := &awsstepfunctions.CatchProps{
		Errors:     jsii.Strings("States.ALL"),
		ResultPath: jsii.String(ErrorPath),
	}
	var chain awsstepfunctions.Chain
	for _, step := range citadel.StepOrder {
		if step == citadel.StepFinalize {
			break
		}
		if step == citadel.StepAssetSync { // its states and their catches: assetsyncmap.go
			chain = chain.Next(assetSyncStates(scope, fns, finalize, catch))
			continue
		}
		var state awsstepfunctions.IChainable
		if step == citadel.StepProwler {
			state = prowlerMap(scope, task, prowlerConcurrency).AddCatch(finalize, catch)
		} else {
			state = lambdaState(step).AddCatch(finalize, catch)
		}
		if chain == nil {
			chain = awsstepfunctions.Chain_Start(state)
		} else {
			chain = chain.Next(state)
		}
	}
	chain = chain.Next(finalize)

	logs := awslogs.NewLogGroup(scope, jsii.String("StateMachineLogs"), &awslogs.LogGroupProps{
		Retention:     logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	sm := awsstepfunctions.NewStateMachine(scope, jsii.String("ScanStateMachine"), &awsstepfunctions.StateMachineProps{
		Comment:          jsii.String("A Citadel scan: plan, assets, Prowler, results, controls, policies, evidence, finalize"),
		DefinitionBody:   awsstepfunctions.DefinitionBody_FromChainable(chain),
		StateMachineType: awsstepfunctions.StateMachineType_STANDARD,
		Timeout:          duration(ExecutionTimeout),
		TracingEnabled:   jsii.Bool(true),
		Logs: &awsstepfunctions.LogOptions{
			Destination:          logs,
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(false), // the state holds the target's role and external id
		},
	})
	suppressStateMachineRole(sm)
	return sm
}

// specOf is the FunctionSpec of a function.
func specOf(name string) FunctionSpec {
	for _, s := range FunctionSpecs {
		if s.Name == name {
			return s
		}
	}
	panic("no FunctionSpec for " + name)
}

// lambdaTask is the state of step's function (named as the step): its
// output alone (the payload response) under resultPath ("" replaces the
// state), given payload or the whole state (nil); the function's timeout
// and a minute; its retries (FunctionSpec.Retries) of a RetryableError and
// of Lambda's service errors, 2 s doubling to 60 s with full jitter.
func lambdaTask(scope constructs.Construct, fns *Functions, step string, payload awsstepfunctions.TaskInput, resultPath string) awsstepfunctionstasks.LambdaInvoke {
	return lambdaTaskNamed(scope, fns, step, step, payload, resultPath)
}

// lambdaTaskNamed is lambdaTask in a state named name (another state of
// step's function: the asset sync's fan-out).
func lambdaTaskNamed(scope constructs.Construct, fns *Functions, name, step string, payload awsstepfunctions.TaskInput, resultPath string) awsstepfunctionstasks.LambdaInvoke {
	spec := specOf(step)
	var rp *string
	if resultPath != "" {
		rp = jsii.String(resultPath)
	}
	st := awsstepfunctionstasks.NewLambdaInvoke(scope, jsii.String(name), &awsstepfunctionstasks.LambdaInvokeProps{
		StateName:                jsii.String(name),
		LambdaFunction:           fns.ByName[step],
		Payload:                  payload,
		PayloadResponseOnly:      jsii.Bool(true),
		RetryOnServiceExceptions: jsii.Bool(false), // retried below, with the steps' own errors
		ResultPath:               rp,
		TaskTimeout:              awsstepfunctions.Timeout_Duration(duration(spec.Timeout + time.Minute)),
	})
	st.AddRetry(&awsstepfunctions.RetryProps{
		Errors:         jsii.Strings(append([]string{citadel.ErrorTypeRetryable}, LambdaServiceErrors...)...),
		Interval:       awscdk.Duration_Seconds(jsii.Number(2)),
		MaxAttempts:    jsii.Number(float64(spec.Retries)),
		BackoffRate:    jsii.Number(2),
		MaxDelay:       awscdk.Duration_Seconds(jsii.Number(60)),
		JitterStrategy: awsstepfunctions.JitterType_FULL,
	})
	return st
}

// suppressStateMachineRole explains the wildcards of the grants CDK gives a
// state machine of Lambda states and the Prowler task (the scan's, the
// catalog's).
func suppressStateMachineRole(sm awsstepfunctions.StateMachine) {
	suppress(sm.Role(), "AwsSolutions-IAM5",
		"CDK's grants for the states: each step function with its versions (<function>:*), the Prowler task "+
			"definition's family at any revision, and the actions that have no resource-level permissions "+
			"(ecs:DescribeTasks and ecs:StopTask for RunTask .sync, CloudWatch Logs delivery, X-Ray).",
		`/^Resource::<Fn[a-z-]+[0-9A-F]{8}\.Arn>:\*$/g`,
		`/^Resource::arn:\{"Fn::Select":\[1,\{"Fn::Split":\[":",\{"Ref":"ProwlerTask[0-9A-F]{8}"\}.*:\*$/g`,
		findingAnyResource)
}
