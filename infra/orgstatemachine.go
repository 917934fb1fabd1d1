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

// The organization state machine's states besides its Lambda states
// (citadel.OrgStepOrder's names).
const (
	StateOrgMembers       = "members"            // Map: one item a member to scan
	StateMemberStarted    = "member-started"     // Choice: did org-member start the member's scan?
	StateMemberScan       = "member-scan"        // the account scan state machine, a child execution (.sync:2)
	StateMemberScanned    = "member-scanned"     // Pass: the item's result
	StateMemberFailed     = "member-failed"      // Pass: a caught failure as the item's result
	StateMemberNotStarted = "member-not-started" // Succeed: org-member's skipped or failed result
	StateOrgOutcome       = "org-outcome"        // Choice: did the organization scan's own states fail?
	StateOrgFailed        = "org-scan-failed"
	StateOrgSucceeded     = "org-scan-succeeded"
)

// OrgResultPaths says where each Lambda state's output goes in the
// organization execution's state, from citadel.OrgStateKeys; org-member's
// replaces the item's state, the Map's results go under org-member's key.
var OrgResultPaths = func() map[string]string {
	m := make(map[string]string, len(citadel.OrgStateKeys))
	for step, key := range citadel.OrgStateKeys {
		m[step] = "$." + key
	}
	return m
}()

// OrgSyncPayload is org-sync's input (citadel.OrgSyncInput): the
// organization, and its scan (where the sync's progress is recorded).
var OrgSyncPayload = map[string]any{
	"integration_id.$": "$.scan.integration_id",
	"scan_id.$":        "$.scan.scan_id",
}

// MemberItemSelector is each item of the Map (citadel.OrgMemberInput): a
// member's id from org-sync's list, and the organization scan.
var MemberItemSelector = map[string]any{
	"integration_id.$":     "$$.Map.Item.Value",
	"org_scan_id.$":        "$.scan.scan_id",
	"org_integration_id.$": "$.scan.integration_id",
}

// MemberScanInput is the child execution's input: the account state
// machine's {"scan": citadel.StartScan}, from org-member's result (CDK adds
// AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID, the child's parent).
var MemberScanInput = map[string]any{"scan.$": "$.scan"}

// Each item ends as ids and a status alone (citadel.OrgMemberResult): a
// scanned member, or a failure the item caught, by its error's name.
var (
	MemberScannedResult = map[string]any{"integration_id.$": "$.integration_id", "status": string(citadel.MemberScanned)}
	MemberFailedResult  = map[string]any{"integration_id.$": "$.integration_id", "status": string(citadel.MemberFailed),
		"reason.$": ErrorPath + ".Error"}
)

// MemberStartErrors are the errors of starting the child execution worth
// another StartExecution (too many open executions, throttling); a child
// that ran and failed is not retried.
var MemberStartErrors = []string{"StepFunctions.ExecutionLimitExceededException", "StepFunctions.SfnException"}

// Timeouts of the organization execution and of one member's child
// execution state (the account execution's own and a margin).
const (
	OrgExecutionTimeout = scanend.OrgExecutionTimeout
	MemberScanTimeout   = ExecutionTimeout + 15*time.Minute
)

// newOrgStateMachine builds the organization scan state machine:
//
//	org-plan → org-sync → members (Map over $.sync.scan, concurrency members at once)
//	                        └ org-member → member-started? → member-scan (the account state machine, .sync:2) → member-scanned
//	                                                      └ not started → member-not-started (its result)
//	                          any error of an item ── Catch ──► member-failed (its result)
//	→ org-summary → org-outcome: $.error present → org-scan-failed, else org-scan-succeeded
//	any error of org-plan, org-sync or the Map ── Catch, ResultPath $.error ──► org-summary
//
// The execution input is the account scan's {"scan": citadel.StartScan},
// started by the API or a schedule with the organization scan's id as the
// execution name. One member's failure never fails the Map: each item ends
// as a small citadel.OrgMemberResult, and org-summary reads the member
// scans themselves from the table.
func newOrgStateMachine(scope constructs.Construct, fns *Functions, account awsstepfunctions.StateMachine, concurrency int) awsstepfunctions.StateMachine {
	summary := lambdaTask(scope, fns, citadel.StepOrgSummary, nil, OrgResultPaths[citadel.StepOrgSummary])
	failed := awsstepfunctions.NewFail(scope, jsii.String(StateOrgFailed), &awsstepfunctions.FailProps{
		StateName: jsii.String(StateOrgFailed),
		ErrorPath: jsii.String(ErrorPath + ".Error"),
		CausePath: jsii.String(ErrorPath + ".Cause"),
	})
	succeeded := awsstepfunctions.NewSucceed(scope, jsii.String(StateOrgSucceeded), &awsstepfunctions.SucceedProps{
		StateName: jsii.String(StateOrgSucceeded),
	})
	summary.Next(awsstepfunctions.NewChoice(scope, jsii.String(StateOrgOutcome), &awsstepfunctions.ChoiceProps{
		StateName: jsii.String(StateOrgOutcome),
	}).When(awsstepfunctions.Condition_IsPresent(jsii.String(ErrorPath)), failed, nil).Otherwise(succeeded))
	catch := &awsstepfunctions.CatchProps{Errors: jsii.Strings("States.ALL"), ResultPath: jsii.String(ErrorPath)}

	plan := lambdaTask(scope, fns, citadel.StepOrgPlan, awsstepfunctions.TaskInput_FromObject(&PlanPayload), OrgResultPaths[citadel.StepOrgPlan])
	sync := lambdaTask(scope, fns, citadel.StepOrgSync, awsstepfunctions.TaskInput_FromObject(&OrgSyncPayload), OrgResultPaths[citadel.StepOrgSync])
	members := awsstepfunctions.NewMap(scope, jsii.String(StateOrgMembers), &awsstepfunctions.MapProps{
		StateName:      jsii.String(StateOrgMembers),
		ItemsPath:      jsii.String(OrgResultPaths[citadel.StepOrgSync] + ".scan"),
		ItemSelector:   &MemberItemSelector,
		MaxConcurrency: jsii.Number(float64(concurrency)),
		ResultPath:     jsii.String(OrgResultPaths[citadel.StepOrgMember]),
	})
	members.ItemProcessor(memberChain(scope, fns, account), &awsstepfunctions.ProcessorConfig{Mode: awsstepfunctions.ProcessorMode_INLINE})
	plan.AddCatch(summary, catch)
	sync.AddCatch(summary, catch)
	members.AddCatch(summary, catch)
	chain := awsstepfunctions.Chain_Start(plan).Next(sync).Next(members).Next(summary)

	logs := awslogs.NewLogGroup(scope, jsii.String("OrgStateMachineLogs"), &awslogs.LogGroupProps{
		Retention:     logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	sm := awsstepfunctions.NewStateMachine(scope, jsii.String("OrgScanStateMachine"), &awsstepfunctions.StateMachineProps{
		Comment:          jsii.String("A Citadel organization scan: plan, sync the members, scan each (the scan state machine), summary"),
		DefinitionBody:   awsstepfunctions.DefinitionBody_FromChainable(chain),
		StateMachineType: awsstepfunctions.StateMachineType_STANDARD,
		Timeout:          duration(OrgExecutionTimeout),
		TracingEnabled:   jsii.Bool(true),
		Logs: &awsstepfunctions.LogOptions{
			Destination:          logs,
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(false),
		},
	})
	suppress(sm.Role(), "AwsSolutions-IAM5",
		"CDK's grants for the states: each organization step function with its versions (<function>:*); the member "+
			"scans' child executions of the scan state machine, named by their scan ids (data), described and stopped by "+
			"startExecution.sync; X-Ray and CloudWatch Logs delivery, which have no resource-level permissions.",
		`/^Resource::<Fn[a-z-]+[0-9A-F]{8}\.Arn>:\*$/g`,
		`/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:\{"Fn::Select":\[6,\{"Fn::Split":\[":",\{"Ref":"ScanStateMachine[0-9A-F]{8}"\}\]\}\]\}\*$/g`,
		findingAnyResource)
	return sm
}

// memberChain is one item of the Map: org-member starts the member's scan
// (or says why not), the account state machine runs it as a child
// execution named by the scan's id, and the item ends as its result; any
// error of the item is caught into its result.
func memberChain(scope constructs.Construct, fns *Functions, account awsstepfunctions.StateMachine) awsstepfunctions.IChainable {
	memberFailed := awsstepfunctions.NewPass(scope, jsii.String(StateMemberFailed), &awsstepfunctions.PassProps{
		StateName: jsii.String(StateMemberFailed), Parameters: &MemberFailedResult,
	})
	catch := &awsstepfunctions.CatchProps{Errors: jsii.Strings("States.ALL"), ResultPath: jsii.String(ErrorPath)}
	start := lambdaTask(scope, fns, citadel.StepOrgMember, nil, "")
	start.AddCatch(memberFailed, catch)

	scan := awsstepfunctionstasks.NewStepFunctionsStartExecution(scope, jsii.String(StateMemberScan), &awsstepfunctionstasks.StepFunctionsStartExecutionProps{
		StateName:           jsii.String(StateMemberScan),
		StateMachine:        account,
		IntegrationPattern:  awsstepfunctions.IntegrationPattern_RUN_JOB,
		Name:                awsstepfunctions.JsonPath_StringAt(jsii.String("$.scan_id")),
		Input:               awsstepfunctions.TaskInput_FromObject(&MemberScanInput),
		AssociateWithParent: jsii.Bool(true),
		ResultPath:          awsstepfunctions.JsonPath_DISCARD(),
		TaskTimeout:         awsstepfunctions.Timeout_Duration(duration(MemberScanTimeout)),
	})
	scan.AddRetry(&awsstepfunctions.RetryProps{
		Errors:         jsii.Strings(MemberStartErrors...),
		Interval:       awscdk.Duration_Seconds(jsii.Number(30)),
		MaxAttempts:    jsii.Number(4),
		BackoffRate:    jsii.Number(2),
		JitterStrategy: awsstepfunctions.JitterType_FULL,
	})
	scan.AddCatch(memberFailed, catch)
	scanned := awsstepfunctions.NewPass(scope, jsii.String(StateMemberScanned), &awsstepfunctions.PassProps{
		StateName: jsii.String(StateMemberScanned), Parameters: &MemberScannedResult,
	})
	notStarted := awsstepfunctions.NewSucceed(scope, jsii.String(StateMemberNotStarted), &awsstepfunctions.SucceedProps{
		StateName: jsii.String(StateMemberNotStarted),
	})
	started := awsstepfunctions.NewChoice(scope, jsii.String(StateMemberStarted), &awsstepfunctions.ChoiceProps{
		StateName: jsii.String(StateMemberStarted),
	}).When(awsstepfunctions.Condition_StringEquals(jsii.String("$.status"), jsii.String(string(citadel.MemberStarted))),
		scan.Next(scanned), nil).Otherwise(notStarted)
	return awsstepfunctions.Chain_Start(start).Next(started)
}

// wireOrgFunctions gives org-member and org-summary the scan state machine
// (citadel.EnvStateMachineARN) whose executions they describe: a member
// lock's holder (org-member's take-over), a member scan's child execution
// that did not record its end (org-summary).
func wireOrgFunctions(fns *Functions, account awsstepfunctions.StateMachine) {
	for _, name := range []string{FnOrgMember, FnOrgSummary} {
		fn := fns.ByName[name]
		fn.AddEnvironment(jsii.String(citadel.EnvStateMachineARN), account.StateMachineArn(), nil)
		account.GrantExecution(fn, jsii.String("states:DescribeExecution"))
		suppress(fn, "AwsSolutions-IAM5",
			"It describes executions named by scan ids (data): the grant covers the scan state machine's executions only.",
			executionsFinding)
	}
}
