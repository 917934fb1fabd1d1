package main

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// The prowler state is a Map over the plan's shards (citadel.Shard), each
// item one Prowler task; an item ends as its citadel.ShardOutcome.
const (
	StateProwlerTask    = "prowler-task"     // RunTask .sync of one shard
	StateShardSucceeded = "shard-succeeded"  // Pass: {shard_id}
	StateShardFailed    = "shard-failed"     // Pass: {shard_id, error, cause}
	StateShardFailedHow = "shard-failed-how" // Choice: did the task run and stop badly?
	StateShardTaskRead  = "shard-task-read"  // Pass: the cause (ECS's task description) parsed
	StateShardStopped   = "shard-stopped"    // Choice: is it a stopped task's description?
	StateShardTaskStop  = "shard-task-stop"  // Pass: {shard_id, error, task: {stopped_reason, exit_codes}}
)

// A task that ran and stopped badly fails its state with States.TaskFailed
// and the whole ECS task description as the cause, a few KB; 40 of them
// would crowd Step Functions' 256 KB. The item keeps only the stop reason
// and the exit codes (citadel.ShardTaskStop). Any other error's cause is a
// sentence and is kept as it is.
var (
	// ShardTaskParsed keeps the item's input and parses the cause; the
	// Choice before it lets only a JSON object's text through.
	ShardTaskParsed = map[string]any{"shard.$": "$.shard", "error.$": ErrorPath, "task.$": "States.StringToJson(" + ErrorPath + ".Cause)"}
	// ShardTaskStopResult reads the parsed description: StoppedReason is
	// checked present first (a definite path fails when absent); the exit
	// codes' path is indefinite, so a container that never ran gives none.
	ShardTaskStopResult = map[string]any{"shard_id.$": "$.shard.id", "error.$": ErrorPath + ".Error", "task": map[string]any{
		"stopped_reason.$": "$.task.StoppedReason", "exit_codes.$": "$.task.Containers[*].ExitCode"}}
)

// The Map runs this many shards at once by default, and at most
// MaxProwlerConcurrency (an inline Map's limit).
const (
	DefaultProwlerConcurrency = 10
	MaxProwlerConcurrency     = 40
)

// ShardsPath is the Map's items: the plan's shards.
var ShardsPath = ResultPaths[citadel.StepPlan] + ".shards"

// ShardItemSelector is each item of the Map (a citadel.ShardTask): the
// plan's fields the task's environment reads (the $.plan.<name> paths of
// citadel.ProwlerTaskEnvironment, copied under the same names) and the shard.
var ShardItemSelector = func() map[string]any {
	plan := map[string]any{}
	for _, e := range citadel.ProwlerTaskEnvironment {
		if name, ok := strings.CutPrefix(e.Path, "$.plan."); ok {
			plan[name+".$"] = "$.plan." + name
		}
	}
	return map[string]any{"plan": plan, "shard.$": "$$.Map.Item.Value"}
}()

// The item's result: what travels back from the Map (citadel.ShardOutcome).
var (
	ShardSucceededResult = map[string]any{"shard_id.$": "$.shard.id"}
	ShardFailedResult    = map[string]any{"shard_id.$": "$.shard.id", "error.$": ErrorPath + ".Error", "cause.$": ErrorPath + ".Cause"}
)

// prowlerMap is the prowler state: a Map over the plan's shards, at most
// concurrency at once, each item the Prowler task (RunTask .sync, the
// shard's environment, ProwlerStateTimeout, ECS's transient errors retried)
// whose any error is caught into the item's outcome, so one shard's
// failure never fails the Map; the outcomes go to $.prowler.
func prowlerMap(scope constructs.Construct, task *ProwlerTask, concurrency int) awsstepfunctions.Map {
	env := []*awsstepfunctionstasks.TaskEnvironmentVariable{}
	for _, e := range citadel.ProwlerTaskEnvironment {
		env = append(env, &awsstepfunctionstasks.TaskEnvironmentVariable{
			Name: jsii.String(e.Name), Value: awsstepfunctions.JsonPath_StringAt(jsii.String(e.Path)),
		})
	}
	env = append(env, &awsstepfunctionstasks.TaskEnvironmentVariable{
		Name: jsii.String(citadel.EnvTaskMode), Value: jsii.String(citadel.TaskModeScan),
	})
	run := task.runState(scope, StateProwlerTask, env, ProwlerStateTimeout)
	failed := awsstepfunctions.NewPass(scope, jsii.String(StateShardFailed), &awsstepfunctions.PassProps{
		StateName: jsii.String(StateShardFailed), Parameters: &ShardFailedResult,
	})
	succeeded := awsstepfunctions.NewPass(scope, jsii.String(StateShardSucceeded), &awsstepfunctions.PassProps{
		StateName: jsii.String(StateShardSucceeded), Parameters: &ShardSucceededResult,
	})
	read := awsstepfunctions.NewPass(scope, jsii.String(StateShardTaskRead), &awsstepfunctions.PassProps{
		StateName: jsii.String(StateShardTaskRead), Parameters: &ShardTaskParsed,
	})
	stop := awsstepfunctions.NewPass(scope, jsii.String(StateShardTaskStop), &awsstepfunctions.PassProps{
		StateName: jsii.String(StateShardTaskStop), Parameters: &ShardTaskStopResult,
	})
	stopped := awsstepfunctions.NewChoice(scope, jsii.String(StateShardStopped), &awsstepfunctions.ChoiceProps{StateName: jsii.String(StateShardStopped)}).
		When(awsstepfunctions.Condition_IsPresent(jsii.String("$.task.StoppedReason")), stop, nil).
		Otherwise(failed)
	how := awsstepfunctions.NewChoice(scope, jsii.String(StateShardFailedHow), &awsstepfunctions.ChoiceProps{StateName: jsii.String(StateShardFailedHow)}).
		When(awsstepfunctions.Condition_And(
			awsstepfunctions.Condition_StringEquals(jsii.String(ErrorPath+".Error"), jsii.String("States.TaskFailed")),
			awsstepfunctions.Condition_StringMatches(jsii.String(ErrorPath+".Cause"), jsii.String("{*}")),
		), read.Next(stopped), nil).
		Otherwise(failed)
	run.AddCatch(how, &awsstepfunctions.CatchProps{Errors: jsii.Strings("States.ALL"), ResultPath: jsii.String(ErrorPath)})

	m := awsstepfunctions.NewMap(scope, jsii.String(citadel.StepProwler), &awsstepfunctions.MapProps{
		StateName:      jsii.String(citadel.StepProwler),
		ItemsPath:      jsii.String(ShardsPath),
		ItemSelector:   &ShardItemSelector,
		MaxConcurrency: jsii.Number(float64(concurrency)),
		ResultPath:     jsii.String(ResultPaths[citadel.StepProwler]),
	})
	m.ItemProcessor(awsstepfunctions.Chain_Start(run).Next(succeeded), &awsstepfunctions.ProcessorConfig{Mode: awsstepfunctions.ProcessorMode_INLINE})
	return m
}
