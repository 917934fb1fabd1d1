package checkresults

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ocsf"
	"github.com/citadelsecure/citadel/shared/scanend"
)

// This file is what the scan's Prowler work left to read: a plan without
// shards (an execution started before shards) names one OCSF file and its
// manifest; a plan with shards names the shard plan (ShardsKey), and each
// shard its own pair. A shard that failed is set apart with what it would
// have covered (scope.go); every other shard's file is read, in plan order.

// The failed shards the output names stay small whatever the plan: at most
// citadel.MaxShardsFailed of them, maxListed regions and units each (the
// first; Checks counts all the shard's checks), maxFailedBytes of JSON in
// all; ShardsFailedCount counts every one.
const (
	maxListed      = 24
	maxFailedBytes = 24 << 10
)

// Prowler's exit codes that mean it ran to the end: 0, and 3 when some
// findings FAIL (shared/steps/prowler's ExitOK and ExitFindingsFailed).
const (
	exitOK             = 0
	exitFindingsFailed = 3
)

// file is one OCSF file of the scan with its manifest. Findings are
// numbered scan-wide: the files in plan order, each file's elements
// (findings and bad ones) after the previous file's, so a finding index
// (pass 2's order, the resume progress) names one finding of one file.
type file struct {
	shard       string // "" for a plan without shards
	ocsfKey     string
	manifestKey string
	manifest    *citadel.ProwlerManifest // nil: none (a plan without shards may have none)
	planned     *citadel.PlannedShard    // nil without shards
	first       uint32                   // scan-wide index of its first element
	count       uint32                   // its elements, once pass 1 read it
	read        ocsf.Tally               // what pass 1 read, checked against the manifest
	size        int64                    // the file's size as pass 1 read it
	absent      bool                     // no OCSF file: the manifest reported no findings
}

// sources finds the files to read and the shards that failed. A shard is
// failed when the Map's outcome for it has an error, when it wrote no
// manifest, or when its manifest's exit code says Prowler did not finish. A
// shard the outcomes do not name is judged by its manifest alone. When every
// shard failed there is nothing to ingest: the step fails, non-retryable,
// rather than record an empty scan.
func (r *run) sources(ctx context.Context, outcomes []citadel.ShardOutcome) error {
	if len(r.plan.Shards) == 0 {
		f := &file{ocsfKey: r.ocsfKey(), manifestKey: citadel.ScanObjectKey(r.plan.ScanID, citadel.ManifestName)}
		m, err := r.manifest(ctx, f)
		if err != nil {
			return err
		}
		f.manifest = m
		r.files = []*file{f}
		return nil
	}
	sp, err := r.shardPlan(ctx)
	if err != nil {
		return err
	}
	byID := make(map[string]citadel.ShardOutcome, len(outcomes))
	for _, o := range outcomes {
		byID[o.ShardID] = o
	}
	for i := range sp.Shards {
		ps := &sp.Shards[i]
		if o := byID[ps.ID]; o.Failed() {
			r.fail(ps, taskReason(o))
			continue
		}
		f := &file{shard: ps.ID, ocsfKey: ps.OCSFKey, manifestKey: ps.ManifestKey, planned: ps}
		m, err := r.manifest(ctx, f)
		switch {
		case err != nil:
			return inShard(ps.ID, err)
		case m == nil:
			r.fail(ps, "the Prowler task wrote no manifest")
		case m.ExitCode != exitOK && m.ExitCode != exitFindingsFailed:
			r.fail(ps, fmt.Sprintf("Prowler exited %d before it finished", m.ExitCode))
		default:
			f.manifest = m
			r.files = append(r.files, f)
		}
	}
	if len(r.files) == 0 {
		var reasons []string
		for _, f := range r.out.ShardsFailed[:min(len(r.out.ShardsFailed), 5)] {
			reasons = append(reasons, f.String())
		}
		return citadel.Invalid("check-results: every shard of scan %s failed (%d), nothing was scanned: %s",
			r.plan.ScanID, r.out.ShardsFailedCount, strings.Join(reasons, "; "))
	}
	return nil
}

// shardPlan reads the full shard plan and checks it is the plan's.
func (r *run) shardPlan(ctx context.Context) (citadel.ShardPlan, error) {
	var sp citadel.ShardPlan
	key := r.plan.ShardsKey
	if key == "" {
		key = citadel.ScanObjectKey(r.plan.ScanID, citadel.ShardsFileName)
	}
	body, err := r.get(ctx, key)
	if citadel.IsNotFound(err) {
		return sp, citadel.Invalid("check-results: the shard plan %s is missing", r.url(key))
	}
	if err != nil {
		return sp, err
	}
	defer body.Close()
	if err := json.NewDecoder(io.LimitReader(body, 64<<20)).Decode(&sp); err != nil {
		return sp, citadel.Invalid("check-results: the shard plan %s is not a shard plan: %v", r.url(key), err)
	}
	if sp.ScanID != r.plan.ScanID {
		return sp, citadel.Invalid("check-results: the shard plan %s is scan %q's, not %s's", r.url(key), sp.ScanID, r.plan.ScanID)
	}
	if len(sp.Shards) != len(r.plan.Shards) {
		return sp, citadel.Invalid("check-results: the shard plan %s has %d shards, the plan %d", r.url(key), len(sp.Shards), len(r.plan.Shards))
	}
	for i, ps := range sp.Shards {
		if ps.ID != r.plan.Shards[i].ID || ps.OCSFKey == "" || ps.ManifestKey == "" {
			return sp, citadel.Invalid("check-results: shard %d of the shard plan %s is %q with OCSF key %q and manifest key %q; the plan's is %q",
				i, r.url(key), ps.ID, ps.OCSFKey, ps.ManifestKey, r.plan.Shards[i].ID)
		}
	}
	return sp, nil
}

// fail sets a shard apart: named in the output (the first
// citadel.MaxShardsFailed), its checks in its regions added to the scope the
// previous digest's entries are carried over in.
func (r *run) fail(ps *citadel.PlannedShard, reason string) {
	r.out.ShardsFailedCount++
	f := citadel.ShardFailure{ShardID: ps.ID, Regions: ps.Regions[:min(len(ps.Regions), maxListed)],
		Units: ps.Units[:min(len(ps.Units), maxListed)], Checks: len(ps.CheckIDs), Reason: reason}
	b, _ := json.Marshal(f)
	if len(r.out.ShardsFailed) < citadel.MaxShardsFailed && r.failedBytes+len(b) <= maxFailedBytes {
		r.out.ShardsFailed = append(r.out.ShardsFailed, f)
		r.failedBytes += len(b)
	}
	r.failedShards = append(r.failedShards, ps)
}

// buildScope puts the failed shards' checks in their regions into the
// scope, once the catalog says each check's service.
func (r *run) buildScope() {
	if len(r.failedShards) == 0 {
		return
	}
	r.scope = scope{}
	for _, ps := range r.failedShards {
		r.scope.add(ps, r.groupOf)
	}
}

// groupOf is a check's shard group: its catalog service's (the planner's
// grouping), then its id's service.
func (r *run) groupOf(check string) []string {
	names := idGroup(check)
	if service, ok := r.serviceOf[check]; ok && service != "" {
		g, _ := citadel.ShardGroupOf(service)
		names = append([]string{g}, names...)
	}
	return names
}

// taskReason says in words why the Map reported a shard's task failed.
func taskReason(o citadel.ShardOutcome) string {
	if t := o.Task; t != nil {
		var parts []string
		for _, code := range t.ExitCodes {
			if code != 0 {
				parts = append(parts, fmt.Sprintf("the Prowler task exited %d", code))
			}
		}
		if t.StoppedReason != "" {
			parts = append(parts, t.StoppedReason)
		}
		if len(parts) > 0 {
			return clipReason("the Prowler task failed: " + strings.Join(parts, ": "))
		}
	}
	if w := scanend.Words(citadel.StepError{Error: o.Error, Cause: o.Cause}); w != "" {
		return clipReason("the Prowler task failed: " + w)
	}
	return "the Prowler task failed"
}

// clipReason bounds a failed shard's reason (the output stays small).
func clipReason(s string) string {
	const maxReason = 300
	if len(s) > maxReason {
		return s[:maxReason]
	}
	return s
}

// inShard names a shard in an error of its files, keeping the error's kind:
// a retryable error stays one at the top, a domain error keeps its code.
func inShard(shard string, err error) error {
	if shard == "" || err == nil {
		return err
	}
	if re, ok := err.(*citadel.RetryableError); ok {
		return citadel.Retryable(fmt.Errorf("shard %s: %w", shard, re.Err))
	}
	if code := citadel.CodeOf(err); code != citadel.CodeInternal {
		return citadel.Errorf(code, "shard %s: %w", shard, err)
	}
	return fmt.Errorf("shard %s: %w", shard, err)
}

// fileOf is the file that holds the scan-wide finding g (files are few:
// one per shard).
func (r *run) fileOf(g uint32) *file {
	var at *file
	for _, f := range r.files {
		if f.first > g {
			break
		}
		at = f
	}
	return at
}

// position names a finding for a person: its index in its file, and the
// file's shard.
func (r *run) position(g uint32) string {
	f := r.fileOf(g)
	if f == nil || f.shard == "" {
		return fmt.Sprintf("finding %d", g)
	}
	return fmt.Sprintf("finding %d of shard %s", g-f.first, f.shard)
}
