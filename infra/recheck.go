package main

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Re-checks of what changed (issue 19): each target account's stack
// forwards CloudTrail's management write events of the inventoried services
// from its default bus to Citadel's (targetforward.go); the bus admits them
// from the configured accounts and organization only; a rule puts them on
// an SQS queue, the buffer, and the recheck function (shared/jobs/recheck)
// takes them in batches, per a batching window, and starts one scan of
// trigger change per integration.

// The re-check buffer's settings.
const (
	// DefaultRecheckWindowSeconds is how long the event source gathers
	// change events before it invokes the function (recheckWindowSeconds),
	// at most MaxRecheckWindowSeconds (Lambda's limit on an SQS event
	// source's MaximumBatchingWindowInSeconds).
	DefaultRecheckWindowSeconds = 60
	MaxRecheckWindowSeconds     = 300
	// RecheckBatchSize is the most messages one invocation gets: an SQS
	// event source's limit with a batching window. Without a window (0)
	// Lambda allows recheckBatchSizeNoWindow.
	RecheckBatchSize         = 10000
	recheckBatchSizeNoWindow = 10
	// RecheckConcurrency caps the function's concurrent invocations from the
	// queue (an SQS event source's MaximumConcurrency, whose least is 2).
	RecheckConcurrency = 2
	// RecheckRetryFor is the least time a change event stays in the queue
	// before it goes to the dead-letter queue: the function returns a
	// message while a full scan of its integration runs, and a scan runs at
	// most ExecutionTimeout.
	RecheckRetryFor = ExecutionTimeout + time.Hour
	// How long the queue and its dead-letter queue keep a message. The
	// dead-letter queue's must be longer: a standard queue's message keeps
	// its first enqueue time there.
	RecheckQueueRetention = 24 * time.Hour
	RecheckDLQRetention   = 14 * 24 * time.Hour
)

// RecheckVisibilityTimeout is the queue's visibility timeout with a batching
// window of window seconds: Lambda's advice for an SQS event source, six
// times the function's timeout plus the window. A message the function
// returns is received again after it.
func RecheckVisibilityTimeout(window int) time.Duration {
	return 6*specOf(FnRecheck).Timeout + time.Duration(window)*time.Second
}

// RecheckMaxReceiveCount is how often a message is received before it goes
// to the dead-letter queue: enough visibility timeouts to cover
// RecheckRetryFor.
func RecheckMaxReceiveCount(window int) int {
	return int(math.Ceil(float64(RecheckRetryFor) / float64(RecheckVisibilityTimeout(window))))
}

// orgIDPattern is an AWS Organizations organization id.
var orgIDPattern = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)

// readRecheck reads the re-check keys: the accounts and the organization
// whose change events Citadel's bus admits, and the batching window.
func readRecheck(cfg *Config, get func(string) string) error {
	if v := get(CtxChangeEventAccounts); v != "" {
		for _, a := range strings.Split(v, ",") {
			a = strings.TrimSpace(a)
			switch {
			case !citadel.ValidAccountID(a):
				return fmt.Errorf("context %s: %q is not a 12-digit account id", CtxChangeEventAccounts, a)
			case slices.Contains(cfg.ChangeEventAccounts, a):
				return fmt.Errorf("context %s: %q is named twice", CtxChangeEventAccounts, a)
			}
			cfg.ChangeEventAccounts = append(cfg.ChangeEventAccounts, a)
		}
	}
	if v := get(CtxChangeEventOrganization); v != "" {
		if !orgIDPattern.MatchString(v) {
			return fmt.Errorf("context %s: %q is not an organization id (o- and 10 to 32 lowercase letters or digits)", CtxChangeEventOrganization, v)
		}
		cfg.ChangeEventOrganization = v
	}
	if v := get(CtxRecheckWindow); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxRecheckWindowSeconds {
			return fmt.Errorf("context %s: %q must be a whole number of seconds from 0 to %d (the SQS event source's batching window)",
				CtxRecheckWindow, v, MaxRecheckWindowSeconds)
		}
		cfg.RecheckWindowSeconds = n
	}
	return nil
}

// changeEventDetail narrows CloudTrail's events to what a re-check follows:
// management events (not data events a trail may also log) that wrote.
var changeEventDetail = map[string]any{"readOnly": []any{false}, "eventCategory": []any{"Management"}}

// changeEventPattern is the event pattern of a change event, on both sides:
// the target account's forwarding rule and the rule on Citadel's bus.
func changeEventPattern() *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings(citadel.ChangeEventSources()...),
		DetailType: jsii.Strings(citadel.CloudTrailDetailType),
		Detail:     &changeEventDetail,
	}
}

// changeEventPatternJSON is changeEventPattern as CloudFormation's
// EventPattern (for a rule of the L1 kind).
func changeEventPatternJSON() map[string]any {
	sources := []any{}
	for _, s := range citadel.ChangeEventSources() {
		sources = append(sources, s)
	}
	return map[string]any{"source": sources, "detail-type": []any{citadel.CloudTrailDetailType}, "detail": changeEventDetail}
}

// Recheck is the re-check buffer: the rule on Citadel's bus, the queue and
// its dead-letter queue.
type Recheck struct {
	Rule        awsevents.Rule
	Queue       awssqs.Queue
	DeadLetters awssqs.Queue
}

// newRecheck wires the recheck function: the bus admits the configured
// accounts' change events, a rule queues them, the queue feeds the function
// in batches; the function writes scans/<scan id>/recheck.json, takes
// integrations' locks (scanend.Locks: describing and stopping the scan
// state machine's executions) and starts re-check executions. Its table
// grant and bus are newFunctions'.
func newRecheck(scope constructs.Construct, cfg Config, fn awslambda.Function, bus awsevents.EventBus, bucket awss3.Bucket, sm awsstepfunctions.StateMachine) *Recheck {
	admitChangeEvents(bus, cfg)
	r := &Recheck{}
	r.DeadLetters = awssqs.NewQueue(scope, jsii.String("RecheckDeadLetters"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: duration(RecheckDLQRetention),
	})
	r.Queue = awssqs.NewQueue(scope, jsii.String("RecheckQueue"), &awssqs.QueueProps{
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		RetentionPeriod:   duration(RecheckQueueRetention),
		VisibilityTimeout: duration(RecheckVisibilityTimeout(cfg.RecheckWindowSeconds)),
		DeadLetterQueue: &awssqs.DeadLetterQueue{
			Queue:           r.DeadLetters,
			MaxReceiveCount: jsii.Number(float64(RecheckMaxReceiveCount(cfg.RecheckWindowSeconds))),
		},
	})
	r.Rule = awsevents.NewRule(scope, jsii.String("ChangeEventsRule"), &awsevents.RuleProps{
		Description:  jsii.String("Change events forwarded by the target accounts: the re-check buffer"),
		EventBus:     bus,
		EventPattern: changeEventPattern(),
	})
	r.Rule.AddTarget(awseventstargets.NewSqsQueue(r.Queue, nil))

	source := &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(RecheckBatchSize),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(RecheckConcurrency),
	}
	if cfg.RecheckWindowSeconds > 0 {
		source.MaxBatchingWindow = awscdk.Duration_Seconds(jsii.Number(float64(cfg.RecheckWindowSeconds)))
	} else {
		source.BatchSize = jsii.Number(recheckBatchSizeNoWindow)
	}
	fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(r.Queue, source))

	grantObjects(bucket, fn, citadel.ScanPrefix, true, true) // scans/<scan id>/recheck.json
	fn.AddEnvironment(jsii.String(citadel.EnvStateMachineARN), sm.StateMachineArn(), nil)
	sm.GrantStartExecution(fn)
	sm.GrantExecution(fn, jsii.String("states:DescribeExecution"), jsii.String("states:StopExecution"))
	suppress(fn, "AwsSolutions-IAM5",
		"The re-check starts and inspects executions named by scan ids (data), as the API does for an integration's lock: "+
			"the grant covers the scan state machine's executions only.",
		executionsFinding)
	return r
}

// The bus policy's statements.
const (
	sidChangeEventsAccounts     = "ChangeEventsFromAccounts"
	sidChangeEventsOrganization = "ChangeEventsFromOrganization"
)

// admitChangeEvents lets the configured accounts (changeEventAccounts) and
// the accounts of the configured organization (changeEventOrganization)
// put change events on Citadel's bus: only events:PutEvents, only the
// change events' sources and detail-type. Neither set: no statement, and no
// other account's event is admitted.
func admitChangeEvents(bus awsevents.EventBus, cfg Config) {
	equals := func(extra map[string]any) *map[string]any {
		eq := map[string]any{
			"events:source":      citadel.ChangeEventSources(),
			"events:detail-type": citadel.CloudTrailDetailType,
		}
		for k, v := range extra {
			eq[k] = v
		}
		return &map[string]any{"StringEquals": eq}
	}
	if len(cfg.ChangeEventAccounts) > 0 {
		var principals []awsiam.IPrincipal
		for _, a := range cfg.ChangeEventAccounts {
			principals = append(principals, awsiam.NewAccountPrincipal(jsii.String(a)))
		}
		bus.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String(sidChangeEventsAccounts),
			Actions:    jsii.Strings("events:PutEvents"),
			Resources:  jsii.Strings(*bus.EventBusArn()),
			Principals: &principals,
			Conditions: equals(nil),
		}))
	}
	if cfg.ChangeEventOrganization != "" {
		bus.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String(sidChangeEventsOrganization),
			Actions:    jsii.Strings("events:PutEvents"),
			Resources:  jsii.Strings(*bus.EventBusArn()),
			Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
			Conditions: equals(map[string]any{"aws:PrincipalOrgID": cfg.ChangeEventOrganization}),
		}))
	}
}
