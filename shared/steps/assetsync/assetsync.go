// Package assetsync is step 1 of a scan: it collects the integration's AWS
// inventory (shared/inventory) and brings the stored assets and their
// relationships up to date.
//
// Writes grow with drift, not with inventory: an asset whose fingerprint is
// unchanged costs no write; its last_seen is kept by one coverage item per
// (service, region) scope (see ddb.EffectiveLastSeen). Assets not seen are
// deactivated only in the scopes whose collector succeeded: a failing
// collector is reported in the output and leaves its assets and edges as
// they were.
//
// Past citadel.AssetSyncFanOutRegions regions the sync fans out per region
// (fanout.go): items collect a region each (and one the global collectors)
// into S3, and one diff runs over their union, a failed item's scopes left
// as a failing collector leaves them.
//
// A re-check (the plan's Recheck, recheck.go) syncs only its changed
// resources, in one invocation: nothing else is updated or deactivated.
package assetsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/inventory"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// Store is what the step needs of the store.
type Store interface {
	AssetStates(ctx context.Context, integrationID string) ([]ddb.AssetState, error)
	PutAssets(ctx context.Context, assets []citadel.Asset) error
	DeactivateAssets(ctx context.Context, integrationID string, gone []ddb.Deactivation) (int, error)
	ListRelationships(ctx context.Context, integrationID string) ([]citadel.AssetRelationship, error)
	PutRelationships(ctx context.Context, rels []citadel.AssetRelationship) error
	DeleteRelationships(ctx context.Context, rels []citadel.AssetRelationship) error
	ListCoverage(ctx context.Context, integrationID string) ([]ddb.Coverage, error)
	PutCoverage(ctx context.Context, cov []ddb.Coverage) error
	Usage() citadel.Usage
}

// Handler runs the asset-sync step.
type Handler struct {
	// Env is the clock and logger, defaulted once by the step contract.
	stepfn.Env
	Store Store
	// AWS is the scanner's own configuration; the integration's role is
	// assumed from it.
	AWS      aws.Config
	Registry inventory.Registry // inventory.Default() when nil
	Options  inventory.Options
	// Reserve is the time left to the diff and its writes before the
	// invocation's deadline (default: a quarter of the time left, at most
	// two minutes); collectors still running then are cut off.
	Reserve time.Duration
	// FanOut lets a sync of more than FanOutRegions regions (default
	// citadel.AssetSyncFanOutRegions) fan out per region (fanout.go): its
	// items write what they collect to Objects, in the plan's bucket.
	FanOut        bool
	FanOutRegions int
	Objects       Objects
}

// Validate refuses a plan the step cannot sync: no integration, no or a
// malformed account id, a malformed role ARN or one of another account, a
// malformed region. The patterns are the API's (citadel.Pattern*), so an
// integration the API accepted is one the step syncs.
func Validate(p citadel.PlanOutput) error {
	switch {
	case p.IntegrationID == "":
		return citadel.Invalid("asset sync: the plan names no integration")
	case p.AccountID == "":
		return citadel.Invalid("asset sync: integration %s has no account id", p.IntegrationID)
	case !citadel.ValidAccountID(p.AccountID):
		return citadel.Invalid("asset sync: integration %s has account id %q, want 12 digits", p.IntegrationID, p.AccountID)
	}
	if p.RoleARN != "" {
		account, err := citadel.ParseRoleARN(p.RoleARN)
		if err != nil {
			return citadel.Invalid("asset sync: integration %s has role ARN %q, want arn:aws:iam::<account>:role/<name>", p.IntegrationID, p.RoleARN)
		}
		if account != p.AccountID {
			return citadel.Invalid("asset sync: integration %s has role ARN %q in account %s, not its account %s", p.IntegrationID, p.RoleARN, account, p.AccountID)
		}
	}
	for _, r := range p.Regions {
		if !citadel.ValidRegion(r) {
			return citadel.Invalid("asset sync: integration %s has region %q, not a region name", p.IntegrationID, r)
		}
	}
	return nil
}

// Handle syncs the integration's inventory. Throttled or transient failures
// (store, STS, a cancelled context) are marked retryable; the step
// contract (shared/stepfn) returns them as the type the state machine retries.
//
// Its input chooses its part when the sync fans out (fanout.go): an item
// (in.Item) collects its scopes, the apply (in.FanOut) diffs what the items
// collected; otherwise it syncs every region, or, past FanOutRegions,
// returns the fan-out's plan.
func (h *Handler) Handle(ctx context.Context, in citadel.AssetSyncInput) (citadel.AssetSyncOutput, error) {
	p := in.Plan
	if err := Validate(p); err != nil {
		return citadel.AssetSyncOutput{}, err
	}
	switch {
	case in.Item != nil:
		return h.collectItem(ctx, p, *in.Item)
	case in.FanOut != nil:
		return h.applyFanOut(ctx, p, *in.FanOut, in.Scopes)
	case p.Recheck != nil:
		return h.recheck(ctx, p)
	}
	log := h.logger(p)
	clock := h.Env.Defaults().Clock
	reg := h.registry()
	startUsage := h.Store.Usage()

	cfg, err := h.session(ctx, p)
	if err != nil {
		return citadel.AssetSyncOutput{}, err
	}
	regions := append([]string(nil), p.Regions...)
	if len(regions) == 0 {
		if regions, err = inventory.EnabledRegions(ctx, cfg); err != nil {
			return citadel.AssetSyncOutput{}, awsErr(fmt.Errorf("asset sync: %w", err))
		}
	}
	sort.Strings(regions)
	if fo, ok := h.fanOut(p, regions); ok {
		log.Info("asset sync fans out", "regions", len(regions), "items", len(fo.Items))
		return citadel.AssetSyncOutput{Errors: []citadel.CollectorError{}, FanOut: &fo}, nil
	}

	opt := h.Options
	opt.Log = log
	start := time.Now()
	results := inventory.Run(collectContext(ctx, h.Reserve), cfg, p.AccountID, regions, reg, opt)
	if err := ctx.Err(); err != nil {
		return citadel.AssetSyncOutput{}, citadel.Retryable(fmt.Errorf("asset sync: %w", err))
	}
	collected := time.Now()
	slowest := inventory.Result{}
	for _, r := range results {
		if r.Duration > slowest.Duration {
			slowest = r
		}
	}
	out, err := h.apply(ctx, p, reg, results, clock())
	out.Usage = h.Store.Usage().Sub(startUsage)
	if err != nil {
		return out, err
	}
	log.Info("asset sync done", "regions", len(regions), "assets_created", out.AssetsCreated, "assets_updated", out.AssetsUpdated,
		"assets_deactivated", out.AssetsDeactivated, "total_assets", out.TotalAssets, "relationships_created", out.RelationshipsCreated,
		"relationships_deleted", out.RelationshipsDeleted, "errors", len(out.Errors), "duration_ms", time.Since(start).Milliseconds(),
		"collect_ms", collected.Sub(start).Milliseconds(), "apply_ms", time.Since(collected).Milliseconds(),
		"slowest_scope", slowest.ResourceType+"@"+slowest.Region, "slowest_ms", slowest.Duration.Milliseconds(),
		"write_units", out.Usage.WriteUnits)
	return out, nil
}

func (h *Handler) logger(p citadel.PlanOutput) *slog.Logger {
	return h.Logger().With("step", citadel.StepAssetSync, "scan_id", p.ScanID, "integration_id", p.IntegrationID)
}

func (h *Handler) registry() inventory.Registry {
	if h.Registry == nil {
		return inventory.Default()
	}
	return h.Registry
}

// session is the integration's credentials (its role assumed, or the
// scanner's own), checked to be its account's.
func (h *Handler) session(ctx context.Context, p citadel.PlanOutput) (aws.Config, error) {
	session := "citadel-asset-sync"
	if p.ScanID != "" && citadel.ValidID(p.ScanID) {
		session = "citadel-" + p.ScanID
		if len(session) > 64 {
			session = session[:64]
		}
	}
	cfg := awsx.AssumeRole(h.AWS, p.RoleARN, p.ExternalID, session)
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return cfg, awsErr(fmt.Errorf("asset sync: credentials for integration %s (role %q): %w", p.IntegrationID, p.RoleARN, err))
	}
	if got := aws.ToString(id.Account); got != p.AccountID {
		return cfg, citadel.Invalid("asset sync: the credentials of integration %s are for account %s, not its account %s", p.IntegrationID, got, p.AccountID)
	}
	return cfg, nil
}

// collectContext leaves the diff and its writes the reserve (by default a
// quarter of the time left, at most two minutes) when ctx has a deadline (a Lambda's): collectors
// still running then are cut off and reported as timed out, which keeps
// their assets as they were, instead of the whole step running out.
func collectContext(ctx context.Context, reserve time.Duration) context.Context {
	deadline, ok := ctx.Deadline()
	if !ok {
		return ctx
	}
	if reserve <= 0 {
		reserve = min(time.Until(deadline)/4, 2*time.Minute)
	}
	c, cancel := context.WithDeadline(ctx, deadline.Add(-reserve))
	context.AfterFunc(ctx, cancel)
	return c
}

// awsErr marks throttling and transient failures (awsx.IsThrottle, an
// error the SDK calls retryable, a timeout) retryable; others (access denied
// assuming the role ...) stay as they are, wrapped with context.
func awsErr(err error) error {
	var re interface{ RetryableError() bool }
	if errors.As(err, &re) && re.RetryableError() || awsx.IsThrottle(err) || inventory.ErrorCode(err) == inventory.CodeTimeout {
		return citadel.Retryable(err)
	}
	return err
}

// apply diffs the collected inventory against the store and writes the
// drift: collect, load, diff, write.
func (h *Handler) apply(ctx context.Context, p citadel.PlanOutput, reg inventory.Registry, results []inventory.Result, now time.Time) (citadel.AssetSyncOutput, error) {
	out := citadel.AssetSyncOutput{Errors: inventory.Errors(results)}
	integ := p.IntegrationID
	c := collect(integ, results)

	states, err := h.Store.AssetStates(ctx, integ)
	if err != nil {
		return out, fmt.Errorf("asset sync: %w", err)
	}
	coverage, err := h.Store.ListCoverage(ctx, integ)
	if err != nil {
		return out, fmt.Errorf("asset sync: %w", err)
	}
	prevSynced, covByScope := lastSynced(coverage)
	scopeOf := scopesOf(reg)

	d := diffAssets(p, c, states, prevSynced, scopeOf, now)
	out.AssetsCreated, out.AssetsUpdated = d.created, d.updated
	if err := h.Store.PutAssets(ctx, d.writes); err != nil {
		return out, fmt.Errorf("asset sync: %w", err)
	}
	n, err := h.Store.DeactivateAssets(ctx, integ, d.gone)
	out.AssetsDeactivated = n
	if err != nil {
		return out, fmt.Errorf("asset sync: %w", err)
	}
	out.TotalAssets = len(d.active)

	stored := make(map[string]ddb.AssetState, len(states))
	for _, st := range states {
		stored[st.ARN] = st
	}
	inCollectedScope := collectedScope(c, stored, scopeOf)
	existing, err := h.Store.ListRelationships(ctx, integ)
	if err != nil {
		return out, fmt.Errorf("asset sync: %w", err)
	}
	add, del := diffEdges(c.edges, existing, c.aliases, d.active, inCollectedScope)
	if err := h.Store.PutRelationships(ctx, add); err != nil {
		return out, fmt.Errorf("asset sync: %w", err)
	}
	out.RelationshipsCreated = len(add)
	if err := h.Store.DeleteRelationships(ctx, del); err != nil {
		return out, fmt.Errorf("asset sync: %w", err)
	}
	out.RelationshipsDeleted = len(del)

	if err := h.Store.PutCoverage(ctx, updatedCoverage(integ, p.ScanID, results, covByScope, now)); err != nil {
		return out, fmt.Errorf("asset sync: %w", err)
	}
	return out, nil
}

// lastSynced is each scope's last full sync (by type and region) and the
// coverage items by (service, region).
func lastSynced(coverage []ddb.Coverage) (map[scopeKey]time.Time, map[[2]string]ddb.Coverage) {
	prevSynced := map[scopeKey]time.Time{}
	covByScope := map[[2]string]ddb.Coverage{}
	for _, cv := range coverage {
		covByScope[[2]string{cv.Service, cv.Region}] = cv
		for typ, tc := range cv.Types {
			prevSynced[scopeKey{typ, cv.Region}] = tc.SyncedAt
		}
	}
	return prevSynced, covByScope
}

// scopesOf is the registry's coverage scope of a type in a region.
func scopesOf(reg inventory.Registry) scopes {
	return func(typ, region string) (scopeKey, bool) {
		col, ok := reg.Lookup(typ)
		if !ok {
			return scopeKey{}, false
		}
		return scopeKey{typ, inventory.ScopeRegion(col, region)}, true
	}
}

// collectedScope reports whether an edge source's scope was collected (its
// collector succeeded): its edges not reported again are gone.
func collectedScope(c collected, stored map[string]ddb.AssetState, scopeOf scopes) func(from string) bool {
	return func(from string) bool {
		typ, region := "", ""
		if a, ok := c.byARN[from]; ok {
			typ, region = a.ServiceType, a.Region
		} else if s, ok := stored[from]; ok {
			typ, region = s.ServiceType, s.Region
		} else {
			return false
		}
		sc, ok := scopeOf(typ, region)
		return ok && c.succeeded[sc]
	}
}

func sortEdges(es []citadel.AssetRelationship) {
	sort.Slice(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.FromARN != b.FromARN {
			return a.FromARN < b.FromARN
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.ToARN < b.ToARN
	})
}

// updatedCoverage folds this sync's results into the coverage of every
// (service, region) scope it ran.
func updatedCoverage(integ, scanID string, results []inventory.Result, prev map[[2]string]ddb.Coverage, now time.Time) []ddb.Coverage {
	next := map[[2]string]ddb.Coverage{}
	var order [][2]string
	for _, r := range results {
		k := [2]string{r.Service, r.Region}
		c, ok := next[k]
		if !ok {
			c = prev[k]
			c.IntegrationID, c.Service, c.Region, c.ScanID = integ, r.Service, r.Region, scanID
			types := map[string]ddb.ScopeTypeCoverage{}
			for t, tc := range c.Types {
				types[t] = tc
			}
			c.Types = types
			c.SyncedAt = now
			order = append(order, k)
		}
		tc := c.Types[r.ResourceType]
		if r.Err != nil {
			tc.Error, tc.FailedAt = fmt.Sprintf("%s: %v", inventory.ErrorCode(r.Err), r.Err), now
			c.SyncedAt = prev[k].SyncedAt // the scope is not fully synced
		} else {
			tc = ddb.ScopeTypeCoverage{SyncedAt: now, Assets: len(r.Batch.Assets)}
		}
		c.Types[r.ResourceType] = tc
		next[k] = c
	}
	cov := make([]ddb.Coverage, 0, len(order))
	for _, k := range order {
		cov = append(cov, next[k])
	}
	return cov
}
