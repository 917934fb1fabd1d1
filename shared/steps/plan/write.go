package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// shards plans the scan's shards and names their S3 objects. An
// integration that names no regions leaves them to Prowler (every enabled
// region): one shard, whose regional units are of citadel.ShardAllRegions.
// A re-check (rc) plans its resources alone (PlanRecheck).
func (h *Handler) shards(scanID string, checks []citadel.SecurityCheck, regions []string, previous citadel.ShardDurations, rc *citadel.RecheckFile) ([]citadel.PlannedShard, error) {
	limits := h.Limits
	if limits == (ShardLimits{}) {
		limits = DefaultShardLimits
	}
	var shards []citadel.PlannedShard
	var err error
	switch {
	case rc != nil:
		shards, err = PlanRecheck(checks, regions, rc.ARNs, limits)
	case len(regions) == 0:
		var s citadel.PlannedShard
		s, err = allRegionsShard(checks, previous, limits)
		shards = []citadel.PlannedShard{s}
	default:
		shards, err = PlanShards(checks, regions, previous, limits)
	}
	if err != nil {
		return nil, err
	}
	for i := range shards {
		prefix := citadel.ShardPrefix(scanID, shards[i].ID)
		shards[i].ChecksKey = prefix + citadel.ChecksFileName
		shards[i].OCSFKey = prefix + citadel.OCSFFileName
		shards[i].ManifestKey = prefix + citadel.ManifestName
	}
	return shards, nil
}

// allRegionsShard is the one shard of a scan without regions: every check,
// Prowler's own regions (no RegionsArg).
func allRegionsShard(checks []citadel.SecurityCheck, previous citadel.ShardDurations, limits ShardLimits) (citadel.PlannedShard, error) {
	if err := limits.Validate(); err != nil {
		return citadel.PlannedShard{}, err
	}
	groups, global, err := groupChecks(checks)
	if err != nil {
		return citadel.PlannedShard{}, err
	}
	s := citadel.PlannedShard{Shard: citadel.Shard{ID: "s01", Regions: []string{}, EstimatedSeconds: limits.ShardOverheadSeconds},
		UnitChecks: map[string]int{}}
	for _, g := range sortedKeys(groups) {
		u := citadel.ShardUnit{Region: citadel.ShardAllRegions, Group: g}
		if global[g] {
			u.Region = citadel.ShardGlobalRegion
		}
		s.Units = append(s.Units, u)
		s.UnitChecks[u.Key()] = len(groups[g])
		s.CheckIDs = append(s.CheckIDs, groups[g]...)
		if v, ok := previous[u.Key()]; ok && v >= 0 {
			s.EstimatedSeconds += v
		} else {
			s.EstimatedSeconds += float64(len(groups[g])) * limits.DefaultCheckSeconds
		}
	}
	slices.Sort(s.CheckIDs)
	s.Checks = len(s.CheckIDs)
	return s, nil
}

// checksOf returns the checks of mapped whose ids are in ids.
func checksOf(mapped []citadel.SecurityCheck, ids []string) []citadel.SecurityCheck {
	out := make([]citadel.SecurityCheck, 0, len(ids))
	for _, c := range mapped {
		if _, found := slices.BinarySearch(ids, c.ID); found {
			out = append(out, c)
		}
	}
	return out
}

// shardList is the plan's shards as the state machine's Map gets them:
// without their check ids.
func shardList(shards []citadel.PlannedShard) []citadel.Shard {
	out := make([]citadel.Shard, len(shards))
	for i, s := range shards {
		out[i] = s.Shard
	}
	return out
}

// write puts each shard's checks file (with its resources, on a
// re-check), the shard plan and the scan's whole checks file (at the
// ChecksKey of a plan without shards, for whoever reads it; on a re-check
// with every resource the shards cover) into the bucket, and returns the
// last two keys.
func (h *Handler) write(ctx context.Context, scanID string, checks []string, shards []citadel.PlannedShard) (checksKey, shardsKey string, err error) {
	for _, s := range shards {
		if err := h.put(ctx, scanID, s.ChecksKey, citadel.ChecksFile{AWS: s.CheckIDs, ResourceARNs: s.ResourceARNs}); err != nil {
			return "", "", err
		}
	}
	shardsKey = citadel.ScanObjectKey(scanID, citadel.ShardsFileName)
	if err := h.put(ctx, scanID, shardsKey, citadel.ShardPlan{ScanID: scanID, Shards: shards}); err != nil {
		return "", "", err
	}
	checksKey = citadel.ScanObjectKey(scanID, citadel.ChecksFileName)
	if err := h.put(ctx, scanID, checksKey, citadel.ChecksFile{AWS: checks, ResourceARNs: resourcesOf(shards)}); err != nil {
		return "", "", err
	}
	return checksKey, shardsKey, nil
}

func (h *Handler) put(ctx context.Context, scanID, key string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fail(err, "plan scan %s: encode %s", scanID, key)
	}
	_, err = h.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(h.Bucket), Key: aws.String(key),
		Body: bytes.NewReader(body), ContentType: aws.String("application/json")})
	if err != nil {
		return fail(err, "plan scan %s: write s3://%s/%s", scanID, h.Bucket, key)
	}
	return nil
}
