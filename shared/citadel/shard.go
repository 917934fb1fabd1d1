package citadel

import (
	"fmt"
	"strings"
)

// A scan's Prowler work is split into shards, each one Fargate task: some
// regions × some service groups. The plan step sizes them (the number of
// checks, the previous scan's durations), writes the full plan to S3
// (ShardsFileName) and each shard's checks file, and puts the small Shard
// list in its output for the state machine's Map. Check results reads every
// shard's OCSF file and manifest; a shard that failed leaves the results of
// its checks in its regions as they were.

// ShardGlobalRegion names the unit of the checks of global services (IAM,
// Organizations, CloudFront, ...): Prowler runs them once, in the shard's
// first region, whatever regions it is given, so they are never split by
// region.
const ShardGlobalRegion = "global"

// ShardsFileName is the full shard plan of a scan (ShardPlan), in the scan's
// S3 prefix.
const ShardsFileName = "shards.json"

// A ShardUnit is the smallest piece of work the planner places: one service
// group in one region (ShardGlobalRegion for global services). Durations
// are recorded per unit, so the plan of the next scan can size its shards
// from them even when it bundles the units differently.
type ShardUnit struct {
	Region string `json:"region"`
	Group  string `json:"group"`
}

// Key is the unit's key in ShardDurations: "<region>/<group>".
func (u ShardUnit) Key() string { return u.Region + "/" + u.Group }

// ParseShardUnit reads a ShardUnit's Key.
func ParseShardUnit(key string) (ShardUnit, error) {
	region, group, ok := strings.Cut(key, "/")
	if !ok || region == "" || group == "" || strings.Contains(group, "/") {
		return ShardUnit{}, Invalid("shard unit %q is not <region>/<group>", key)
	}
	return ShardUnit{Region: region, Group: group}, nil
}

// Shard is one Prowler task of a scan, as the state machine's Map gets it:
// only ids, keys and counts (the check list is in S3 at ChecksKey).
type Shard struct {
	// ID is the shard's place in the plan ("s01", "s02", ...), unique in
	// the scan; its S3 objects are under ShardPrefix(scan, ID).
	ID string `json:"id"`
	// Regions are the regions Prowler is given (one, for a global unit).
	Regions []string `json:"regions"`
	// RegionsArg is Regions space-separated, for the task's environment.
	RegionsArg string `json:"regions_arg"`
	// Units are the units the shard covers.
	Units       []ShardUnit `json:"units"`
	ChecksKey   string      `json:"checks_key"`
	OCSFKey     string      `json:"ocsf_key"`
	ManifestKey string      `json:"manifest_key"`
	// Checks is the number of checks in the shard's checks file.
	Checks int `json:"checks"`
	// EstimatedSeconds is what the planner expects the task to take.
	EstimatedSeconds float64 `json:"estimated_seconds"`
}

// ShardPrefix is the S3 prefix of a shard's objects.
func ShardPrefix(scanID, shardID string) string {
	return ScanObjectKey(scanID, "shards/"+shardID) + "/"
}

// ShardPlan is the full plan of a scan's shards, at ShardsFileName: each
// shard with its check ids, which check results needs to know what a failed
// shard left untouched.
type ShardPlan struct {
	ScanID string         `json:"scan_id"`
	Shards []PlannedShard `json:"shards"`
}

// PlannedShard is a shard of the plan with the ids of its checks.
type PlannedShard struct {
	Shard
	CheckIDs []string `json:"check_ids"`
	// UnitChecks is each unit's number of checks (ShardUnit.Key → count),
	// by which UnitDurations shares the shard's measured duration.
	UnitChecks map[string]int `json:"unit_checks,omitempty"`
	// ResourceARNs, on a re-check, are the changed resources the shard
	// audits (its checks file's, Prowler's --resource-arn).
	ResourceARNs []string `json:"resource_arns,omitempty"`
}

// ShardDurations are the measured seconds of each unit of an integration's
// last scan that ran it (ShardUnit.Key → seconds). A shard's duration is
// shared among its units by their number of checks.
type ShardDurations map[string]float64

// ShardOutcome is what the state machine's Map keeps of a shard's task: its
// id and, when the task failed or did not run, the error. It is all that
// travels back from the Map (its results are selected down to this).
type ShardOutcome struct {
	ShardID string `json:"shard_id"`
	Error   string `json:"error,omitempty"`
	// Cause is the error's cause as Step Functions gave it, except when the
	// task ran and stopped badly: then its cause, the whole ECS task
	// description (KBs), is selected down to Task.
	Cause string         `json:"cause,omitempty"`
	Task  *ShardTaskStop `json:"task,omitempty"`
}

// ShardTaskStop is what a shard's outcome keeps of a task that stopped
// badly: ECS's reason and its containers' exit codes (absent for a
// container that never ran).
type ShardTaskStop struct {
	StoppedReason string `json:"stopped_reason,omitempty"`
	ExitCodes     []int  `json:"exit_codes,omitempty"`
}

// Failed reports whether the shard's task did not end well.
func (o ShardOutcome) Failed() bool { return o.Error != "" }

// ShardFailure is a shard whose findings are missing from the scan, named in
// the check-results output and the scan's summary: its checks in its regions
// kept the results they had.
type ShardFailure struct {
	ShardID string      `json:"shard_id"`
	Regions []string    `json:"regions"`
	Units   []ShardUnit `json:"units"`
	Checks  int         `json:"checks"`
	Reason  string      `json:"reason"`
}

func (f ShardFailure) String() string {
	return fmt.Sprintf("shard %s (%d checks in %s): %s", f.ShardID, f.Checks, strings.Join(f.Regions, " "), f.Reason)
}
