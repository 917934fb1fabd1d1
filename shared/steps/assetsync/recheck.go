package assetsync

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/inventory"
)

// A re-check (the plan's Recheck) syncs only its changed resources: the
// collectors of their types run in their regions (the global ones, S3 and
// IAM, once, over the integration's regions), never fanned out; of what
// they report, only the covered resources are written: each found is
// created or updated, each not found while its scope's collector succeeded
// is deactivated (deleted), and the edges from them are brought up to date.
// Every other asset, every edge from another asset and the coverage items
// are left as they were: a re-check dates nothing else.

// recheck syncs the resources of the plan's re-check.
func (h *Handler) recheck(ctx context.Context, p citadel.PlanOutput) (citadel.AssetSyncOutput, error) {
	log := h.logger(p)
	if h.Objects == nil {
		return citadel.AssetSyncOutput{}, citadel.Invalid("asset sync: a re-check needs the scan bucket (the handler has no Objects client)")
	}
	f, err := blobstore.ReadRecheckFile(ctx, h.Objects, p.Bucket, p.Recheck)
	if err != nil {
		return citadel.AssetSyncOutput{}, fmt.Errorf("asset sync: %w", err)
	}
	if f.IntegrationID != p.IntegrationID {
		return citadel.AssetSyncOutput{}, citadel.Invalid("asset sync: the re-check's resources s3://%s/%s are of integration %s, not %s",
			p.Bucket, p.Recheck.Key, f.IntegrationID, p.IntegrationID)
	}
	reg := h.registry()
	covered := map[string]bool{}
	var global, regional inventory.Registry
	var regions []string
	for _, a := range f.ARNs {
		typ, ok := inventory.ResourceTypeOfARN(a)
		col, found := reg.Lookup(typ)
		if !ok || !found {
			continue
		}
		if !col.Global() {
			arn, _ := citadel.ParseARN(a)
			if len(p.Regions) > 0 && !slices.Contains(p.Regions, arn.Region) || !citadel.ValidRegion(arn.Region) {
				continue // a region the integration does not scan
			}
			if !slices.Contains(regions, arn.Region) {
				regions = append(regions, arn.Region)
			}
			if !slices.ContainsFunc(regional, sameType(col)) {
				regional = append(regional, col)
			}
		} else if !slices.ContainsFunc(global, sameType(col)) {
			global = append(global, col)
		}
		covered[a] = true
	}
	startUsage := h.Store.Usage()
	if len(covered) == 0 {
		log.Info("re-check: no inventoried resource to sync", "resources", len(f.ARNs))
		return citadel.AssetSyncOutput{Errors: []citadel.CollectorError{}}, nil
	}
	cfg, err := h.session(ctx, p)
	if err != nil {
		return citadel.AssetSyncOutput{}, err
	}
	opt := h.Options
	opt.Log = log
	cctx := collectContext(ctx, h.Reserve)
	var results []inventory.Result
	if len(regional) > 0 {
		slices.Sort(regions)
		results = inventory.Run(cctx, cfg, p.AccountID, regions, regional, opt)
	}
	if len(global) > 0 {
		// A global collector keeps the resources of the regions it is given:
		// the integration's, as a full sync gives them.
		all := slices.Clone(p.Regions)
		if len(all) == 0 {
			if all, err = inventory.EnabledRegions(ctx, cfg); err != nil {
				return citadel.AssetSyncOutput{}, awsErr(fmt.Errorf("asset sync: %w", err))
			}
		}
		slices.Sort(all)
		results = append(results, inventory.Run(cctx, cfg, p.AccountID, all, global, opt)...)
	}
	if err := ctx.Err(); err != nil {
		return citadel.AssetSyncOutput{}, citadel.Retryable(fmt.Errorf("asset sync: %w", err))
	}
	out, err := h.applyRecheck(ctx, p, reg, results, covered, h.Env.Defaults().Clock())
	out.Usage = h.Store.Usage().Sub(startUsage)
	if err != nil {
		return out, err
	}
	log.Info("re-check asset sync done", "resources", len(f.ARNs), "resources_synced", len(covered), "regions", regions,
		"assets_created", out.AssetsCreated, "assets_updated", out.AssetsUpdated, "assets_deactivated", out.AssetsDeactivated,
		"relationships_created", out.RelationshipsCreated, "relationships_deleted", out.RelationshipsDeleted, "errors", len(out.Errors))
	return out, nil
}

// sameType matches the collectors of c's type (collectors hold funcs: not
// comparable).
func sameType(c inventory.Collector) func(inventory.Collector) bool {
	return func(o inventory.Collector) bool { return o.ResourceType() == c.ResourceType() }
}

// applyRecheck is apply narrowed to the covered resources: the collected
// assets and edges of others are dropped, the stored assets and edges of
// others kept as they are (and, when active, counted in TotalAssets and
// as edge ends), and no coverage is written.
func (h *Handler) applyRecheck(ctx context.Context, p citadel.PlanOutput, reg inventory.Registry, results []inventory.Result,
	covered map[string]bool, now time.Time) (citadel.AssetSyncOutput, error) {
	out := citadel.AssetSyncOutput{Errors: inventory.Errors(results)}
	integ := p.IntegrationID
	c := collect(integ, results)
	c.assets = slices.DeleteFunc(c.assets, func(a citadel.Asset) bool { return !covered[a.SourceID] })
	for arn := range c.byARN {
		if !covered[arn] {
			delete(c.byARN, arn)
		}
	}
	c.edges = slices.DeleteFunc(c.edges, func(e citadel.AssetRelationship) bool { return !covered[e.FromARN] })

	states, err := h.Store.AssetStates(ctx, integ)
	if err != nil {
		return out, fmt.Errorf("asset sync: %w", err)
	}
	coverage, err := h.Store.ListCoverage(ctx, integ)
	if err != nil {
		return out, fmt.Errorf("asset sync: %w", err)
	}
	prevSynced, _ := lastSynced(coverage)
	scopeOf := scopesOf(reg)
	mine := slices.DeleteFunc(slices.Clone(states), func(s ddb.AssetState) bool { return !covered[s.ARN] })
	d := diffAssets(p, c, mine, prevSynced, scopeOf, now)
	out.AssetsCreated, out.AssetsUpdated = d.created, d.updated
	if err := h.Store.PutAssets(ctx, d.writes); err != nil {
		return out, fmt.Errorf("asset sync: %w", err)
	}
	n, err := h.Store.DeactivateAssets(ctx, integ, d.gone)
	out.AssetsDeactivated = n
	if err != nil {
		return out, fmt.Errorf("asset sync: %w", err)
	}
	stored := map[string]ddb.AssetState{}
	for _, s := range states {
		stored[s.ARN] = s
		if !covered[s.ARN] && s.IsActive {
			d.active[s.ARN] = true
		}
	}
	out.TotalAssets = len(d.active)

	existing, err := h.Store.ListRelationships(ctx, integ)
	if err != nil {
		return out, fmt.Errorf("asset sync: %w", err)
	}
	existing = slices.DeleteFunc(existing, func(e citadel.AssetRelationship) bool { return !covered[e.FromARN] })
	add, del := diffEdges(c.edges, existing, c.aliases, d.active, collectedScope(c, stored, scopeOf))
	if err := h.Store.PutRelationships(ctx, add); err != nil {
		return out, fmt.Errorf("asset sync: %w", err)
	}
	out.RelationshipsCreated = len(add)
	if err := h.Store.DeleteRelationships(ctx, del); err != nil {
		return out, fmt.Errorf("asset sync: %w", err)
	}
	out.RelationshipsDeleted = len(del)
	return out, nil
}
