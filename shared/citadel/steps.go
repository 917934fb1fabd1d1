package citadel

import "time"

// The states of the scan state machine, in order. The deployed state machine
// and the local runner both follow StepOrder.
const (
	StepPlan         = "plan"
	StepAssetSync    = "asset-sync"
	StepProwler      = "prowler"
	StepCheckResults = "check-results"
	StepControls     = "controls"
	StepPolicies     = "policies"
	StepEvidence     = "evidence"
	StepFinalize     = "finalize"
)

// StepOrder is the order of a scan's steps (the local runner is shared/localrun).
var StepOrder = []string{StepPlan, StepAssetSync, StepProwler, StepCheckResults, StepControls, StepPolicies, StepEvidence, StepFinalize}

// Only identifiers and counts travel between states (Step Functions caps a
// payload at 256 KB); bulk data goes through S3 and DynamoDB. The state
// machine keeps every step's output under its own key (ResultPath), so the
// state grows into a ScanState and each step reads the parts it needs.

// StartScan is the execution input, written by the API and the scheduler.
type StartScan struct {
	ScanID        string      `json:"scan_id"`
	IntegrationID string      `json:"integration_id"`
	Trigger       ScanTrigger `json:"trigger"`
	// Recheck, on a re-check (trigger change), is what it covers: the
	// changed resources are in S3 (Recheck.Key), only counts travel.
	Recheck *Recheck `json:"recheck,omitempty"`
}

// Usage is what a step spent on DynamoDB, for the summary.
type Usage struct {
	Requests   int     `json:"requests"`
	ReadUnits  float64 `json:"read_units"`
	WriteUnits float64 `json:"write_units"`
}

// Add returns the sum of two usages.
func (u Usage) Add(o Usage) Usage {
	return Usage{Requests: u.Requests + o.Requests, ReadUnits: u.ReadUnits + o.ReadUnits, WriteUnits: u.WriteUnits + o.WriteUnits}
}

// PlanInput is the plan step's input: the execution input, and the
// execution's ARN (the state machine passes $$.Execution.Id), so every
// running scan records its execution, a schedule's too (Scheduler cannot
// name it after the scan).
type PlanInput struct {
	Scan         StartScan `json:"scan"`
	ExecutionARN string    `json:"execution_arn,omitempty"`
}

// PlanOutput says what this scan covers. It is stored under "plan".
type PlanOutput struct {
	ScanID        string   `json:"scan_id"`
	IntegrationID string   `json:"integration_id"`
	FolderID      string   `json:"folder_id"`
	AccountID     string   `json:"account_id"`
	RoleARN       string   `json:"role_arn"`    // always present: the state machine reads $.plan.role_arn
	ExternalID    string   `json:"external_id"` // always present: the state machine reads $.plan.external_id
	Regions       []string `json:"regions,omitempty"`
	RegionsArg    string   `json:"regions_arg"` // space-separated, for the Prowler task's environment
	Bucket        string   `json:"bucket"`
	ChecksKey     string   `json:"checks_key"`
	OCSFKey       string   `json:"ocsf_key"`
	// Shards are the scan's Prowler tasks (the state machine's Map items);
	// ShardsKey is the full plan (ShardPlan). A plan without shards (an
	// execution started before shards) ran one task: ChecksKey, OCSFKey.
	Shards        []Shard `json:"shards,omitempty"`
	ShardsKey     string  `json:"shards_key,omitempty"`
	ChecksPlanned int     `json:"checks_planned"`
	// Recheck is set on a re-check: every step touches only the resources
	// of Recheck.Key (RecheckFile), and nothing else is resolved or
	// deactivated.
	Recheck   *Recheck  `json:"recheck,omitempty"`
	StartedAt time.Time `json:"started_at"`
	Usage     Usage     `json:"usage"`
}

// AssetSyncInput is the asset-sync step's input.
type AssetSyncInput struct {
	Plan PlanOutput `json:"plan"`
	// Item, in an item of the fan-out's Map: collect its scopes only
	// (assetsyncfanout.go).
	Item *AssetSyncItem `json:"item,omitempty"`
	// FanOut and Scopes, in the fan-out's apply: the plan and what each item
	// ended with.
	FanOut *AssetSyncFanOut `json:"fan_out,omitempty"`
	Scopes []AssetSyncScope `json:"scopes,omitempty"`
}

// CollectorError is a collector that failed: its assets are left as they were.
type CollectorError struct {
	ResourceType string `json:"resource_type"`
	Service      string `json:"service"`
	Region       string `json:"region"`
	Code         string `json:"code"`
	Message      string `json:"message"`
}

// AssetSyncOutput is stored under "assets".
type AssetSyncOutput struct {
	AssetsCreated        int              `json:"assets_created"`
	AssetsUpdated        int              `json:"assets_updated"`
	AssetsDeactivated    int              `json:"assets_deactivated"`
	TotalAssets          int              `json:"total_assets"`
	RelationshipsCreated int              `json:"relationships_created"`
	RelationshipsDeleted int              `json:"relationships_deleted"`
	Errors               []CollectorError `json:"errors"`
	Usage                Usage            `json:"usage"`
	// FanOut is set instead of the counts when the sync fans out per region
	// (the state machine's Map runs its items); Scope is an item's result.
	FanOut *AssetSyncFanOut `json:"fan_out,omitempty"`
	Scope  *AssetSyncScope  `json:"scope,omitempty"`
}

// ManifestVersion is the version of the manifest the Prowler task writes:
// 2 counts with the OCSF reader check-results uses (finding_count: the
// findings that pass validation; malformed_findings: the others). A
// manifest without a version comes from an older task, which counted every
// element of the array in finding_count.
const ManifestVersion = 2

// ProwlerManifest is written by the Prowler task next to the OCSF file.
type ProwlerManifest struct {
	Version         int      `json:"version,omitempty"`
	ScanID          string   `json:"scan_id"`
	ProwlerVersion  string   `json:"prowler_version"`
	ExitCode        int      `json:"exit_code"`
	DurationSeconds float64  `json:"duration_seconds"`
	FileSize        int64    `json:"file_size"`
	FindingCount    int      `json:"finding_count"`
	ChecksRequested int      `json:"checks_requested"`
	ChecksExecuted  []string `json:"checks_executed"`
	OCSFKey         string   `json:"ocsf_key"`
	Empty           bool     `json:"empty"`
	// MalformedFindings are the findings of the file that fail
	// validation; check-results skips them and must count as many.
	MalformedFindings int `json:"malformed_findings"`
	// TrailingData is set when bytes follow the array's end.
	TrailingData bool `json:"trailing_data,omitempty"`
	// Problems are the first few bad findings (and trailing data), with
	// their position in the file; the counts are exact, the list is not.
	Problems []FindingProblem `json:"problems,omitempty"`
}

// FindingProblem is a bad finding of an OCSF file (index -1: the file).
type FindingProblem struct {
	Index   int    `json:"index"`
	Offset  int64  `json:"offset"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// CheckResultsInput is the check-results step's input.
type CheckResultsInput struct {
	Plan PlanOutput `json:"plan"`
	// Prowler is the outcome of each shard's task, as the Map kept it.
	Prowler []ShardOutcome `json:"prowler,omitempty"`
}

// CheckResultsOutput is stored under "results".
type CheckResultsOutput struct {
	ResultsCreated   int `json:"results_created"`
	ResultsUpdated   int `json:"results_updated"`
	ResultsUnchanged int `json:"results_unchanged"`
	ARNsSkipped      int `json:"arns_skipped"`
	ChecksExecuted   int `json:"checks_executed"`
	ChecksPassed     int `json:"checks_passed"`
	// ChecksFailed counts failing results no exception covers;
	// ChecksExcepted those an approved exception covers (not in it).
	ChecksFailed          int `json:"checks_failed"`
	ChecksExcepted        int `json:"checks_excepted"`
	ChecksError           int `json:"checks_error"`
	ChecksNotApplicable   int `json:"checks_not_applicable"`
	SnapshotsCaptured     int `json:"snapshots_captured"`
	SnapshotsFailed       int `json:"snapshots_failed"`
	HistoryEntriesCreated int `json:"history_entries_created"`
	RegressionEvents      int `json:"regression_events"`
	UnknownChecks         int `json:"unknown_checks"`
	MalformedFindings     int `json:"malformed_findings"`
	// DuplicateFindings name a (check, asset) already seen in the file.
	DuplicateFindings int `json:"duplicate_findings"`
	// ProblemsKey is the S3 key of the report of every bad finding and
	// skipped resource, with its position in the file.
	ProblemsKey string `json:"problems_key,omitempty"`
	// ResultsCarried are results of failed shards' checks in their regions,
	// and on a re-check every result it does not cover, carried from the
	// previous scan's digest into this one's as they were (not counted by
	// status: this scan did not see them).
	ResultsCarried int `json:"results_carried,omitempty"`
	// ShardsFailed are the shards whose findings are missing, the first
	// MaxShardsFailed; ShardsFailedCount counts them all.
	ShardsFailed      []ShardFailure `json:"shards_failed,omitempty"`
	ShardsFailedCount int            `json:"shards_failed_count,omitempty"`
	Usage             Usage          `json:"usage"`
}

// MaxShardsFailed bounds the failed shards a step output or a summary
// names (Step Functions caps a payload at 256 KB); the count stays exact.
const MaxShardsFailed = 50

// ControlsInput is the controls step's input.
type ControlsInput struct {
	Plan PlanOutput `json:"plan"`
}

// ControlsOutput is stored under "controls".
type ControlsOutput struct {
	ControlsCreated      int   `json:"controls_created"`
	ControlsUpdated      int   `json:"controls_updated"`
	SCFControls          int   `json:"scf_controls"`
	RequirementControls  int   `json:"requirement_controls"`
	MappingsCreated      int   `json:"mappings_created"`
	ResultsUnknownChecks int   `json:"results_unknown_checks"`
	Usage                Usage `json:"usage"`
}

// PoliciesInput is the policies step's input.
type PoliciesInput struct {
	Plan PlanOutput `json:"plan"`
}

// PoliciesOutput is stored under "policies".
type PoliciesOutput struct {
	PoliciesCreated int   `json:"policies_created"`
	PoliciesSkipped int   `json:"policies_skipped"`
	Usage           Usage `json:"usage"`
}

// EvidenceInput is the evidence step's input.
type EvidenceInput struct {
	Plan PlanOutput `json:"plan"`
}

// EvidenceOutput is stored under "evidence".
type EvidenceOutput struct {
	EvidenceCreated int   `json:"evidence_created"`
	EvidenceUpdated int   `json:"evidence_updated"`
	LinksCreated    int   `json:"links_created"`
	Usage           Usage `json:"usage"`
	// ResultsUnknownChecks counts results of checks no longer in the catalog (skipped).
	ResultsUnknownChecks int `json:"results_unknown_checks"`
}

// StepError is what a Catch puts under "error": States.ErrorOutput.
type StepError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// FinalizeInput is the whole state at the end of the pipeline, or at a
// failure (Error set, and the outputs of the steps that ran).
type FinalizeInput struct {
	Scan     StartScan          `json:"scan"`
	Plan     PlanOutput         `json:"plan"`
	Assets   AssetSyncOutput    `json:"assets"`
	Prowler  []ShardOutcome     `json:"prowler,omitempty"`
	Results  CheckResultsOutput `json:"results"`
	Controls ControlsOutput     `json:"controls"`
	Policies PoliciesOutput     `json:"policies"`
	Evidence EvidenceOutput     `json:"evidence"`
	Error    *StepError         `json:"error,omitempty"`
}

// FinalizeOutput is the scan as finally recorded.
type FinalizeOutput struct {
	ScanID  string      `json:"scan_id"`
	Status  ScanStatus  `json:"status"`
	Summary ScanSummary `json:"summary"`
}

// Sub returns u minus o: the usage between two readings of a meter.
func (u Usage) Sub(o Usage) Usage {
	return Usage{Requests: u.Requests - o.Requests, ReadUnits: u.ReadUnits - o.ReadUnits, WriteUnits: u.WriteUnits - o.WriteUnits}
}

// StateKeys says under which key of the execution's state each step's output
// is kept (the state machine's ResultPath is "$.<key>"); "" means the output
// is discarded. The prowler Map's output is its shards' outcomes (the
// tasks' results are in S3). With the error key, the keys are
// FinalizeInput's JSON fields.
var StateKeys = map[string]string{
	StepPlan:         "plan",
	StepAssetSync:    "assets",
	StepProwler:      "prowler",
	StepCheckResults: "results",
	StepControls:     "controls",
	StepPolicies:     "policies",
	StepEvidence:     "evidence",
	StepFinalize:     "final",
}

// StateErrorKey is where a Catch puts the failed step's StepError.
const StateErrorKey = "error"
