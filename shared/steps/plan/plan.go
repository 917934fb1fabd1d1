// Package plan is the first state of a scan: it loads the integration,
// computes the checks to run, splits them into shards (PlanShards: region ×
// service group units packed into Prowler tasks), writes each shard's
// checks file to S3 in Prowler's checks-file format (ECS container
// overrides are capped at 8 KB, so the list never travels in the task's
// environment) and the full shard plan, and moves the scan record to
// running.
//
// The check list is the catalog's mapped checks (checks that at least one
// framework requirement lists, not deprecated), narrowed to the
// integration's frameworks when it selects some: a check stays when one of
// its mapped requirements belongs to a selected framework.
//
// A re-check (trigger change with StartScan.Recheck) plans only its changed
// resources (recheck.go): that list narrowed to their Prowler services, in
// their regions, each shard's checks file naming its resources.
package plan

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// Store is what the plan step needs of the table.
type Store interface {
	GetIntegration(ctx context.Context, id string) (citadel.Integration, error)
	GetScanOf(ctx context.Context, integrationID, scanID string) (citadel.Scan, error)
	StartScan(ctx context.Context, sc citadel.Scan) error
	MarkScanRunning(ctx context.Context, integrationID, scanID, executionARN string) (citadel.Scan, error)
	ListMappedChecks(ctx context.Context) ([]citadel.SecurityCheck, error)
	// ShardDurations are the integration's measured unit durations (empty
	// when none are recorded).
	ShardDurations(ctx context.Context, integrationID string) (citadel.ShardDurations, error)
	Usage() citadel.Usage
}

// S3API is what the plan step needs of S3: the checks files and the shard
// plan written, a re-check's resources read.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Handler plans scans.
type Handler struct {
	// Env is the clock and logger, defaulted once by the step contract.
	stepfn.Env
	Store  Store
	S3     S3API
	Bucket string
	// Limits bound the shards (DefaultShardLimits when zero).
	Limits ShardLimits
}

// Handle plans the scan in.Scan. Retrying it is safe: the checks files and
// the shard plan are overwritten with the same content (the same durations
// give the same shards), a scan already running stays as it is.
func (h *Handler) Handle(ctx context.Context, in citadel.PlanInput) (citadel.PlanOutput, error) {
	sc := in.Scan
	switch {
	case !citadel.ValidID(sc.ScanID):
		return citadel.PlanOutput{}, citadel.Invalid("plan: scan_id %q is not a scan id", sc.ScanID)
	case !citadel.ValidID(sc.IntegrationID):
		return citadel.PlanOutput{}, citadel.Invalid("plan: integration_id %q is not an integration id", sc.IntegrationID)
	case !slices.Contains(citadel.ScanTriggers, sc.Trigger):
		return citadel.PlanOutput{}, citadel.Invalid("plan: trigger %q must be api, schedule, organization or change", sc.Trigger)
	case sc.Recheck != nil && sc.Trigger != citadel.TriggerChange:
		return citadel.PlanOutput{}, citadel.Invalid("plan: a re-check is of trigger %s, not %s", citadel.TriggerChange, sc.Trigger)
	case h.Bucket == "":
		return citadel.PlanOutput{}, citadel.Invalid("plan: no scan bucket configured (%s)", citadel.EnvBucket)
	}
	before := h.Store.Usage()

	integ, err := h.Store.GetIntegration(ctx, sc.IntegrationID)
	if citadel.IsNotFound(err) && sc.Trigger == citadel.TriggerSchedule {
		// A schedule that outlived its integration: nothing is recorded,
		// finalize finds no scan and the execution fails with this.
		return citadel.PlanOutput{}, citadel.NotFound("plan scan %s: the integration %s of this schedule no longer exists; nothing was scanned",
			sc.ScanID, sc.IntegrationID)
	}
	if err != nil {
		return citadel.PlanOutput{}, fail(err, "plan scan %s: integration %s", sc.ScanID, sc.IntegrationID)
	}
	mapped, err := h.Store.ListMappedChecks(ctx)
	if err != nil {
		return citadel.PlanOutput{}, fail(err, "plan scan %s: mapped checks", sc.ScanID)
	}
	checks := Select(mapped, integ.Frameworks)
	narrowed := Narrow(checks, integ.Checks)
	if len(narrowed) == 0 && len(checks) > 0 {
		return citadel.PlanOutput{}, citadel.Invalid("plan scan %s: none of the %d checks of integration %s maps to its frameworks (%s)",
			sc.ScanID, len(integ.Checks), integ.ID, strings.Join(integ.Frameworks, ", "))
	}
	checks = narrowed
	if len(checks) == 0 {
		if len(integ.Frameworks) > 0 {
			return citadel.PlanOutput{}, citadel.Invalid("plan scan %s: no check maps to the frameworks of integration %s (%s); %d mapped checks in the catalog",
				sc.ScanID, integ.ID, strings.Join(integ.Frameworks, ", "), len(mapped))
		}
		return citadel.PlanOutput{}, citadel.Invalid("plan scan %s: the catalog has no mapped checks; import the catalog first", sc.ScanID)
	}

	var rc *citadel.RecheckFile
	var previous citadel.ShardDurations
	if sc.Recheck != nil {
		f, err := h.recheck(ctx, sc, integ)
		if err != nil {
			return citadel.PlanOutput{}, err
		}
		only := OfServices(mapped, checks, f.Services)
		if len(only) == 0 {
			return citadel.PlanOutput{}, citadel.Invalid("plan scan %s: none of the %d checks integration %s runs is of the re-check's services (%s); nothing to re-check",
				sc.ScanID, len(checks), integ.ID, strings.Join(f.Services, ", "))
		}
		checks, rc = only, &f
	} else {
		// A re-check's shards are estimated by their checks: a full scan's
		// durations say nothing of a few resources.
		var err error
		if previous, err = h.Store.ShardDurations(ctx, integ.ID); err != nil {
			return citadel.PlanOutput{}, fail(err, "plan scan %s: shard durations of integration %s", sc.ScanID, integ.ID)
		}
	}
	shards, err := h.shards(sc.ScanID, checksOf(mapped, checks), integ.Regions, previous, rc)
	if err != nil {
		return citadel.PlanOutput{}, fail(err, "plan scan %s", sc.ScanID)
	}
	if rc != nil {
		checks = shardChecks(shards)
	}
	if err := h.ensureRecord(ctx, sc, integ); err != nil {
		return citadel.PlanOutput{}, err
	}
	checksKey, shardsKey, err := h.write(ctx, sc.ScanID, checks, shards)
	if err != nil {
		return citadel.PlanOutput{}, err
	}
	running, err := h.Store.MarkScanRunning(ctx, integ.ID, sc.ScanID, in.ExecutionARN)
	if err != nil {
		return citadel.PlanOutput{}, fail(err, "plan scan %s: mark running", sc.ScanID)
	}
	out := citadel.PlanOutput{
		ScanID:        sc.ScanID,
		IntegrationID: integ.ID,
		FolderID:      integ.FolderID,
		AccountID:     integ.AccountID,
		RoleARN:       integ.RoleARN,
		ExternalID:    integ.ExternalID,
		Regions:       slices.Clone(integ.Regions),
		RegionsArg:    strings.Join(integ.Regions, " "),
		Bucket:        h.Bucket,
		ChecksKey:     checksKey,
		OCSFKey:       citadel.ScanObjectKey(sc.ScanID, citadel.OCSFFileName),
		Shards:        shardList(shards),
		ShardsKey:     shardsKey,
		ChecksPlanned: len(checks),
		Recheck:       sc.Recheck,
		StartedAt:     running.StartedAt,
		Usage:         h.Store.Usage().Sub(before),
	}
	h.Logger().InfoContext(ctx, "scan planned", "scan_id", out.ScanID, "integration_id", out.IntegrationID,
		"checks_planned", out.ChecksPlanned, "frameworks", integ.Frameworks, "regions", out.RegionsArg, "shards", len(shards), "shards_key", shardsKey)
	if rc != nil {
		h.Logger().InfoContext(ctx, "re-check planned", "scan_id", out.ScanID, "resources", len(rc.ARNs),
			"resources_covered", len(resourcesOf(shards)), "services", rc.Services, "recheck_key", sc.Recheck.Key)
	}
	return out, nil
}

// shardChecks are the ids of the shards' checks, sorted.
func shardChecks(shards []citadel.PlannedShard) []string {
	var ids []string
	for _, s := range shards {
		ids = append(ids, s.CheckIDs...)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// resourcesOf are the resources the shards cover, sorted.
func resourcesOf(shards []citadel.PlannedShard) []string {
	var arns []string
	for _, s := range shards {
		arns = append(arns, s.ResourceARNs...)
	}
	slices.Sort(arns)
	return slices.Compact(arns)
}

// ensureRecord makes sure the scan record exists and can run. The API
// records the scan (queued) before it starts the execution, an
// organization scan its members' (shared/steps/orgscan); a scheduled
// start has no record yet, so the plan step records it. A finished scan is a
// conflict, found before anything is written.
func (h *Handler) ensureRecord(ctx context.Context, sc citadel.StartScan, integ citadel.Integration) error {
	rec, err := h.Store.GetScanOf(ctx, integ.ID, sc.ScanID)
	switch {
	case citadel.IsNotFound(err) && sc.Trigger == citadel.TriggerSchedule:
		rec = citadel.Scan{ID: sc.ScanID, IntegrationID: integ.ID, FolderID: integ.FolderID, Trigger: sc.Trigger,
			Status: citadel.ScanQueued, CreatedAt: h.Now()}
		if err := h.Store.StartScan(ctx, rec); err != nil {
			return fail(err, "plan scan %s: record the scheduled scan", sc.ScanID)
		}
		return nil
	case citadel.IsNotFound(err):
		return citadel.NotFound("plan scan %s: no scan record for integration %s (the API records a scan before it starts it)", sc.ScanID, integ.ID)
	case err != nil:
		return fail(err, "plan scan %s: scan record", sc.ScanID)
	case !rec.Status.Active():
		return citadel.Conflict("plan scan %s: the scan is already %s", sc.ScanID, rec.Status)
	}
	return nil
}

// Select returns the ids of the checks to run, sorted: the non-deprecated
// checks with a mapped requirement, and, when frameworks is not empty, a
// mapped requirement in one of those frameworks.
func Select(checks []citadel.SecurityCheck, frameworks []string) []string {
	want := map[string]bool{}
	for _, f := range frameworks {
		want[f] = true
	}
	var ids []string
	for _, c := range checks {
		if c.Deprecated || c.ID == "" {
			continue
		}
		if slices.ContainsFunc(c.MappedRequirements, func(req string) bool {
			fw, _, ok := citadel.SplitRequirementID(req)
			return ok && (len(want) == 0 || want[fw])
		}) {
			ids = append(ids, c.ID)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// Narrow keeps the checks that only lists, in order (all of them when only
// is empty): an integration may pin a subset of its frameworks' checks.
func Narrow(checks, only []string) []string {
	if len(only) == 0 {
		return checks
	}
	keep := map[string]bool{}
	for _, c := range only {
		keep[c] = true
	}
	var out []string
	for _, c := range checks {
		if keep[c] {
			out = append(out, c)
		}
	}
	return out
}

// fail wraps err with context; a retryable cause stays retryable in the
// chain, and the step contract (shared/stepfn) returns it as the type the
// state machine retries on.
func fail(err error, format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, err)...)
}
