package citadel

// The Prowler task's modes (EnvTaskMode).
const (
	TaskModeScan    = "scan"    // scan the plan's account (the state machine's mode)
	TaskModeCatalog = "catalog" // export the installed Prowler's catalog files
)

// ProwlerTaskVar is one variable of the Prowler task's environment that a
// scan takes from its plan: the state machine sets Name to the state's
// value at Path (a JSON path into the execution's state, where the plan
// step's output is kept under "plan"), the local runner to Value of the plan.
type ProwlerTaskVar struct {
	Name  string                    // the variable (EnvTask*, EnvBucket)
	Path  string                    // the state machine's JSON path of the value
	Value func(p PlanOutput) string // the same value, read from the plan
}

// ProwlerTaskEnvironment is the Prowler task's environment for a scan,
// besides EnvTaskMode (TaskModeScan). The CDK state machine
// (infra/statemachine.go) and the local runner (cmd/citadel) both build the
// task's environment from this one list; a test holds each Path to its Value.
var ProwlerTaskEnvironment = []ProwlerTaskVar{
	{EnvTaskScanID, "$.plan.scan_id", func(p PlanOutput) string { return p.ScanID }},
	{EnvBucket, "$.plan.bucket", func(p PlanOutput) string { return p.Bucket }},
	{EnvTaskChecksKey, "$.plan.checks_key", func(p PlanOutput) string { return p.ChecksKey }},
	{EnvTaskRoleARN, "$.plan.role_arn", func(p PlanOutput) string { return p.RoleARN }},
	{EnvTaskExternalID, "$.plan.external_id", func(p PlanOutput) string { return p.ExternalID }},
	{EnvTaskRegions, "$.plan.regions_arg", func(p PlanOutput) string { return p.RegionsArg }},
}

// ProwlerTaskEnv is the Prowler task's environment for a scan of p, as the
// state machine sets it: the scan mode and ProwlerTaskEnvironment's values.
func ProwlerTaskEnv(p PlanOutput) map[string]string {
	env := map[string]string{EnvTaskMode: TaskModeScan}
	for _, v := range ProwlerTaskEnvironment {
		env[v.Name] = v.Value(p)
	}
	return env
}
