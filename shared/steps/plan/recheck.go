package plan

import (
	"context"
	"slices"
	"strings"

	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
)

// A re-check (trigger change, StartScan.Recheck) plans only the changed
// resources: the scan's usual checks narrowed to the Prowler services of
// their ARNs, in the ARNs' regions, each shard's checks file naming the
// resources it covers (Prowler's --resource-arn). Prowler, given resource
// ARNs, audits only the regions those ARNs name (Prowler 5.40:
// get_checks_to_execute_by_audit_resources replaces the audited regions
// with theirs), and none when none does: so the resources without a region
// (S3 buckets, IAM) are never in a shard with regional ones, where a bucket
// outside those regions would go unseen; they go as the planner's global
// units do, in a shard of the integration's first region (of Prowler's own
// regions when it names none), where Prowler looks for them everywhere.

// recheck reads the re-check's resources and checks they are the scan's
// integration's.
func (h *Handler) recheck(ctx context.Context, sc citadel.StartScan, integ citadel.Integration) (citadel.RecheckFile, error) {
	f, err := blobstore.ReadRecheckFile(ctx, h.S3, h.Bucket, sc.Recheck)
	if err != nil {
		return f, fail(err, "plan scan %s", sc.ScanID)
	}
	if f.IntegrationID != integ.ID {
		return f, citadel.Invalid("plan scan %s: the re-check's resources s3://%s/%s are of integration %s, not the scan's %s",
			sc.ScanID, h.Bucket, sc.Recheck.Key, f.IntegrationID, integ.ID)
	}
	return f, nil
}

// OfServices keeps the checks of ids (sorted) whose Prowler service is one
// of services, in order; mapped gives each check's service.
func OfServices(mapped []citadel.SecurityCheck, ids, services []string) []string {
	var out []string
	for _, c := range checksOf(mapped, ids) {
		if slices.Contains(services, c.Service) {
			out = append(out, c.ID)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// PlanRecheck plans a re-check's shards: checks are the scan's selected
// checks, regions the integration's (none: every enabled region), arns
// the changed resources. The regional resources within regions are planned
// over their own regions and the checks of their services (PlanShards),
// the resources without a region apart (one shard of regions[0], or of
// every region); a resource of a region the integration does not scan is
// left out, and so is a shard that covers none of the resources. Each
// shard lists the resources it covers (ResourceARNs: those of its regions
// whose service's group it runs). No recorded durations apply: a re-check
// is estimated by its checks. The shards are numbered s01, s02, ... in
// that order; their S3 keys are the caller's.
func PlanRecheck(checks []citadel.SecurityCheck, regions, arns []string, limits ShardLimits) ([]citadel.PlannedShard, error) {
	scanned := map[string]bool{}
	for _, r := range regions {
		scanned[r] = true
	}
	var regional, global, regionOrder []string
	for _, a := range arns {
		p, ok := citadel.ParseARN(a)
		switch {
		case !ok:
			return nil, citadel.Invalid("plan re-check: %q is not an ARN", a)
		case p.Region == "":
			global = append(global, a)
		case len(regions) == 0 && !citadel.ValidRegion(p.Region):
			return nil, citadel.Invalid("plan re-check: %q names no AWS region", a)
		case len(regions) == 0 || scanned[p.Region]:
			regional = append(regional, a)
			if !slices.Contains(regionOrder, p.Region) {
				regionOrder = append(regionOrder, p.Region)
			}
		}
	}
	if len(regions) > 0 {
		// In the integration's order (the planner's first region is its).
		regionOrder = slices.DeleteFunc(slices.Clone(regions), func(r string) bool { return !slices.Contains(regionOrder, r) })
	} else {
		slices.Sort(regionOrder)
	}

	var out []citadel.PlannedShard
	add := func(part []string, shards []citadel.PlannedShard, regional bool) {
		for _, s := range shards {
			s.ResourceARNs = covered(s, part, regional)
			if len(s.ResourceARNs) > 0 {
				out = append(out, s)
			}
		}
	}
	if cs := checksOfARNs(checks, regional); len(regional) > 0 && len(cs) > 0 {
		shards, err := PlanShards(cs, regionOrder, nil, limits)
		if err != nil {
			return nil, err
		}
		add(regional, shards, true)
	}
	if cs := checksOfARNs(checks, global); len(global) > 0 && len(cs) > 0 {
		var shards []citadel.PlannedShard
		if len(regions) == 0 {
			s, err := allRegionsShard(cs, nil, limits)
			if err != nil {
				return nil, err
			}
			shards = []citadel.PlannedShard{s}
		} else {
			var err error
			if shards, err = PlanShards(cs, regions[:1], nil, limits); err != nil {
				return nil, err
			}
		}
		add(global, shards, false)
	}
	if len(out) == 0 {
		return nil, citadel.Invalid("plan re-check: no selected check runs on its %d resource(s) in the integration's regions (%s; services %s)",
			len(arns), regionsText(regions), strings.Join(citadel.RecheckServices(arns), ", "))
	}
	for i := range out {
		out[i].ID = shardID(i)
	}
	return out, nil
}

// checksOfARNs keeps the checks whose service is one of the arns'.
func checksOfARNs(checks []citadel.SecurityCheck, arns []string) []citadel.SecurityCheck {
	services := citadel.RecheckServices(arns)
	var out []citadel.SecurityCheck
	for _, c := range checks {
		if slices.Contains(services, c.Service) {
			out = append(out, c)
		}
	}
	return out
}

// covered returns the arns the shard s runs checks on: a service of the
// resource whose group the shard holds, in the resource's region (a
// regional one) or anywhere (one without a region: Prowler finds it).
func covered(s citadel.PlannedShard, arns []string, regional bool) []string {
	var out []string
	for _, a := range arns {
		p, _ := citadel.ParseARN(a)
		if slices.ContainsFunc(citadel.ProwlerServicesOfARN(a), func(svc string) bool {
			g, _ := citadel.ShardGroupOf(svc)
			return slices.ContainsFunc(s.Units, func(u citadel.ShardUnit) bool {
				return u.Group == g && (!regional || u.Region == p.Region || u.Region == citadel.ShardGlobalRegion || u.Region == citadel.ShardAllRegions)
			})
		}) {
			out = append(out, a)
		}
	}
	return out
}

func regionsText(regions []string) string {
	if len(regions) == 0 {
		return "every enabled region"
	}
	return strings.Join(regions, ", ")
}
