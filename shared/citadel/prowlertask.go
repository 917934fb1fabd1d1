package citadel

// The Prowler task's modes (EnvTaskMode).
const (
	TaskModeScan    = "scan"    // scan the plan's account (the state machine's mode)
	TaskModeCatalog = "catalog" // export the installed Prowler's catalog files
)

// ShardTask is the input of one Prowler task of a scan: an iteration of the
// state machine's prowler Map (its ItemSelector builds it) and of the local
// runner's shards: the plan's fields the task needs, under "plan" with the
// plan's JSON names, and the shard.
type ShardTask struct {
	Plan  ShardTaskPlan `json:"plan"`
	Shard Shard         `json:"shard"`
}

// ShardTaskPlan is the part of PlanOutput a shard's task reads (the same
// JSON names: the state machine copies $.plan.<name> of the execution's
// state).
type ShardTaskPlan struct {
	ScanID     string `json:"scan_id"`
	Bucket     string `json:"bucket"`
	RoleARN    string `json:"role_arn"`
	ExternalID string `json:"external_id"`
}

// NewShardTask is the task input of shard s of plan p.
func NewShardTask(p PlanOutput, s Shard) ShardTask {
	return ShardTask{Plan: ShardTaskPlan{ScanID: p.ScanID, Bucket: p.Bucket, RoleARN: p.RoleARN, ExternalID: p.ExternalID}, Shard: s}
}

// ProwlerTaskVar is one variable of the Prowler task's environment that a
// scan takes from its shard's task input: the state machine sets Name to
// the value at Path (a JSON path into the Map iteration's input, a
// ShardTask), the local runner to Value of the same ShardTask.
type ProwlerTaskVar struct {
	Name  string                   // the variable (EnvTask*, EnvBucket)
	Path  string                   // the state machine's JSON path of the value
	Value func(t ShardTask) string // the same value, read from the task input
}

// ProwlerTaskEnvironment is the Prowler task's environment for a shard of a
// scan, besides EnvTaskMode (TaskModeScan). The CDK state machine
// (infra/statemachine.go: its ItemSelector copies the $.plan.<name> paths
// of this list) and the local runner (cmd/citadel) both build the task's
// environment from this one list; a test holds each Path to its Value.
var ProwlerTaskEnvironment = []ProwlerTaskVar{
	{EnvTaskScanID, "$.plan.scan_id", func(t ShardTask) string { return t.Plan.ScanID }},
	{EnvBucket, "$.plan.bucket", func(t ShardTask) string { return t.Plan.Bucket }},
	{EnvTaskRoleARN, "$.plan.role_arn", func(t ShardTask) string { return t.Plan.RoleARN }},
	{EnvTaskExternalID, "$.plan.external_id", func(t ShardTask) string { return t.Plan.ExternalID }},
	{EnvTaskShardID, "$.shard.id", func(t ShardTask) string { return t.Shard.ID }},
	{EnvTaskChecksKey, "$.shard.checks_key", func(t ShardTask) string { return t.Shard.ChecksKey }},
	{EnvTaskOCSFKey, "$.shard.ocsf_key", func(t ShardTask) string { return t.Shard.OCSFKey }},
	{EnvTaskManifestKey, "$.shard.manifest_key", func(t ShardTask) string { return t.Shard.ManifestKey }},
	{EnvTaskRegions, "$.shard.regions_arg", func(t ShardTask) string { return t.Shard.RegionsArg }},
}

// ProwlerTaskEnv is the Prowler task's environment for t, as the state
// machine sets it: the scan mode and ProwlerTaskEnvironment's values.
func ProwlerTaskEnv(t ShardTask) map[string]string {
	env := map[string]string{EnvTaskMode: TaskModeScan}
	for _, v := range ProwlerTaskEnvironment {
		env[v.Name] = v.Value(t)
	}
	return env
}

// ShardTaskFailed is the error of a shard whose task ran and failed (Step
// Functions' for a RunTask .sync whose container exited non-zero; the local
// runner gives a failed shard the same).
const ShardTaskFailed = "States.TaskFailed"
