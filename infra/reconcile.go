package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/scanend"
)

// ReconcileRetries is how often EventBridge retries delivering an event to
// the reconciler (it is idempotent), within ReconcileMaxEventAge hours.
const (
	ReconcileRetries     = 8
	ReconcileMaxEventAge = 24
)

// executionsFinding is cdk-nag's IAM5 finding for a grant on the state
// machine's executions (<arn>:execution:<name>:*).
const executionsFinding = `/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:\{"Fn::Select":\[6,\{"Fn::Split":\[":",\{"Ref":"ScanStateMachine[0-9A-F]{8}"\}\]\}\]\}:\*$/g`

// newReconciler routes the scan and organization state machines' execution
// status changes to an end no Catch sees (FAILED, TIMED_OUT, ABORTED: scanend.EventPattern,
// on the default bus, where Step Functions sends them) to the reconcile
// function, which ends the scan and releases its lock.
func newReconciler(scope constructs.Construct, fn awslambda.Function, sm, org awsstepfunctions.StateMachine) awsevents.Rule {
	fn.AddEnvironment(jsii.String(citadel.EnvStateMachineARN), sm.StateMachineArn(), nil)
	fn.AddEnvironment(jsii.String(citadel.EnvOrgStateMachineARN), org.StateMachineArn(), nil)
	// Healing the lock that refused a scheduled run: is its holder's
	// execution over?
	sm.GrantExecution(fn, jsii.String("states:DescribeExecution"))
	org.GrantExecution(fn, jsii.String("states:DescribeExecution"))
	suppress(fn, "AwsSolutions-IAM5",
		"The reconciler describes executions named by scan ids (data): the grant covers the scan and organization state machines' executions.",
		executionsFinding, orgExecutionsFinding)
	statuses := make([]*string, len(scanend.EndedStatuses))
	for i, s := range scanend.EndedStatuses {
		statuses[i] = jsii.String(string(s))
	}
	rule := awsevents.NewRule(scope, jsii.String("ReconcileRule"), &awsevents.RuleProps{
		Description: jsii.String("Scan executions that failed, timed out or were aborted: the reconciler ends their scans"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(scanend.EventSource),
			DetailType: jsii.Strings(scanend.EventDetailType),
			Detail: &map[string]any{
				"stateMachineArn": []*string{sm.StateMachineArn(), org.StateMachineArn()},
				"status":          statuses,
			},
		},
	})
	rule.AddTarget(awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
		RetryAttempts: jsii.Number(ReconcileRetries),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(ReconcileMaxEventAge)),
	}))
	return rule
}
