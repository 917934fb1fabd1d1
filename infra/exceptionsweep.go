package main

import (
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// ExceptionSweepEvery is how often the exception sweep runs (hours); its
// targets are retried ExceptionSweepRetries times within
// ExceptionSweepMaxEventAge hours (the sweep and a remark are idempotent).
const (
	ExceptionSweepEvery       = 1
	ExceptionSweepRetries     = 4
	ExceptionSweepMaxEventAge = 6
)

// ExceptionSweep is the sweep's schedule and the rule of the API's
// decisions.
type ExceptionSweep struct {
	Schedule  awsevents.Rule // hourly, on the default bus
	Decisions awsevents.Rule // Exception Approved / Revoked on the Citadel bus
}

// newExceptionSweep wires the exception-sweep function
// (shared/jobs/exceptionsweep): its reminder lead time, an hourly schedule
// (expiries and reminders), and a rule on the Citadel bus routing the API's
// approvals and revocations to it (the check's results re-marked without a
// scan). Its table grant and bus (it puts events) are newFunctions'.
func newExceptionSweep(scope constructs.Construct, cfg Config, fn awslambda.Function, bus awsevents.EventBus) *ExceptionSweep {
	fn.AddEnvironment(jsii.String(citadel.EnvExceptionReminderDays), jsii.String(strconv.Itoa(cfg.ExceptionReminderDays)), nil)
	target := func() awsevents.IRuleTarget {
		return awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
			RetryAttempts: jsii.Number(ExceptionSweepRetries),
			MaxEventAge:   awscdk.Duration_Hours(jsii.Number(ExceptionSweepMaxEventAge)),
		})
	}
	sched := awsevents.NewRule(scope, jsii.String("ExceptionSweepSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Hourly: the exception sweep expires the exceptions past their expiry and sends the reminders"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Hours(jsii.Number(ExceptionSweepEvery))),
	})
	sched.AddTarget(target())
	decisions := awsevents.NewRule(scope, jsii.String("ExceptionDecisionsRule"), &awsevents.RuleProps{
		Description: jsii.String("Exceptions approved or revoked: the exception sweep re-marks the check's results without a scan"),
		EventBus:    bus,
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(citadel.EventSource),
			DetailType: jsii.Strings(citadel.ExceptionDecisionDetailTypes...),
		},
	})
	decisions.AddTarget(target())
	return &ExceptionSweep{Schedule: sched, Decisions: decisions}
}
