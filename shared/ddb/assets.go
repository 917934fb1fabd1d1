package ddb

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Inventory: assets, the edges between them and the sync coverage that keeps
// their last_seen without rewriting every asset on every sync.
//
// last_seen: an asset's item is written only when it is created, changes
// (its fingerprint differs), is reactivated or deactivated. Its stored
// LastSeen is the time of that write; while it stays active, it was last seen
// at the latest successful sync of its (service, region) scope, which the
// Coverage item of that scope records (one small write per scope per sync,
// independent of how many assets it holds). EffectiveLastSeen combines both.

type assetItem struct {
	item
	citadel.Asset
	// ItemBytes is the item's own size, so a later deactivation can account
	// its write units without reading it back.
	ItemBytes int `dynamo:",omitempty"`
}

func newAssetItem(a citadel.Asset) assetItem {
	it := newItem(TypeAsset, assetKey(a.IntegrationID, a.SourceID))
	if a.IsActive {
		it = it.withGSI1(activeAssetsGSI(a.IntegrationID, a.SourceID))
	}
	return assetItem{item: it, Asset: a}
}

// prepareAsset validates an asset, fills its id and fingerprint and returns
// its item, size accounted.
func prepareAsset(a citadel.Asset) (assetItem, error) {
	if a.ID == "" {
		a.ID = citadel.AssetID(a.IntegrationID, a.Source, a.SourceID)
	}
	if err := a.Validate(); err != nil {
		return assetItem{}, err
	}
	if a.Fingerprint == "" {
		a.Fingerprint = a.ComputeFingerprint()
	}
	it := newAssetItem(a)
	av, err := marshalChecked(it)
	if err != nil {
		return assetItem{}, err
	}
	it.ItemBytes = itemSize(av) + len("ItemBytes") + 8
	return it, nil
}

// PutAssets upserts assets in batches: ids come from citadel.AssetID,
// fingerprints from Asset.ComputeFingerprint when unset, and active assets
// are also put in the integration's sparse active partition (GSI1). Every
// asset is validated before anything is written.
func (s *Store) PutAssets(ctx context.Context, assets []citadel.Asset) error {
	items := make([]any, 0, len(assets))
	for _, a := range assets {
		it, err := prepareAsset(a)
		if err != nil {
			return err
		}
		items = append(items, it)
	}
	for start := 0; start < len(items); start += 500 {
		end := min(start+500, len(items))
		if err := s.batchPut(ctx, items[start:end]); err != nil {
			return fmt.Errorf("put assets: %w", err)
		}
	}
	return nil
}

// GetAsset reads an asset of an integration by ARN.
func (s *Store) GetAsset(ctx context.Context, integrationID, arn string) (citadel.Asset, error) {
	var it assetItem
	err := s.get(ctx, assetKey(integrationID, arn), &it, "asset "+arn)
	return it.Asset, err
}

// ListAssets lists every asset of an integration (active or not), by ARN.
func (s *Store) ListAssets(ctx context.Context, integrationID string, limit int, cursor string) (citadel.Page[citadel.Asset], error) {
	var items []assetItem
	q := s.byPK(integrationKey(integrationID).PK).Range(AttrSK, dynamo.BeginsWith, assetSKPrefix())
	next, err := s.queryPage(ctx, q, limit, cursor, &items, "assets of integration "+integrationID)
	page := citadel.Page[citadel.Asset]{Next: next}
	for _, it := range items {
		page.Items = append(page.Items, it.Asset)
	}
	return page, err
}

// ListActiveAssets lists the active assets of an integration, by ARN, from
// the sparse GSI1 partition.
func (s *Store) ListActiveAssets(ctx context.Context, integrationID string, limit int, cursor string) (citadel.Page[citadel.Asset], error) {
	var items []assetItem
	next, err := s.queryPage(ctx, s.byGSI1(activeAssetsPK(integrationID)), limit, cursor, &items, "active assets of integration "+integrationID)
	page := citadel.Page[citadel.Asset]{Next: next}
	for _, it := range items {
		page.Items = append(page.Items, it.Asset)
	}
	return page, err
}

// AssetState is the part of a stored asset a sync compares against: enough
// to decide create, update, unchanged or deactivate without reading the
// assets' full descriptions.
type AssetState struct {
	ARN         string    `dynamo:"SourceID"`
	ServiceType string    `dynamo:"ServiceType"`
	Region      string    `dynamo:"Region"`
	IsActive    bool      `dynamo:"IsActive"`
	Fingerprint string    `dynamo:"Fingerprint"`
	FirstSeen   time.Time `dynamo:"FirstSeen"`
	LastSeen    time.Time `dynamo:"LastSeen"`
	ItemBytes   int       `dynamo:"ItemBytes"`
}

// AssetStates reads the comparison state of every asset of an integration
// (one projected query, paged to its end).
func (s *Store) AssetStates(ctx context.Context, integrationID string) ([]AssetState, error) {
	var out []AssetState
	q := s.byPK(integrationKey(integrationID).PK).Range(AttrSK, dynamo.BeginsWith, assetSKPrefix()).
		Project("SourceID", "ServiceType", "Region", "IsActive", "Fingerprint", "FirstSeen", "LastSeen", "ItemBytes")
	if err := s.queryAll(ctx, q, &out, "asset states of integration "+integrationID); err != nil {
		return nil, err
	}
	return out, nil
}

// Deactivation names an asset to mark inactive and when it was last seen.
type Deactivation struct {
	ARN       string
	LastSeen  time.Time
	ItemBytes int
}

// DeactivateAssets marks assets inactive and takes them out of the active
// partition, one conditional update each (only drift pays: a sync
// deactivates what vanished). A missing asset is skipped, not an error. It
// returns how many were deactivated.
func (s *Store) DeactivateAssets(ctx context.Context, integrationID string, gone []Deactivation) (int, error) {
	n := 0
	for _, d := range gone {
		k := assetKey(integrationID, d.ARN)
		var cc dynamo.ConsumedCapacity
		u := s.table.Update(AttrPK, k.PK).Range(AttrSK, k.SK).
			Set("IsActive", false).
			Remove(AttrGSI1PK, AttrGSI1SK).
			If("attribute_exists(PK)").
			ConsumedCapacity(&cc)
		if !d.LastSeen.IsZero() {
			u = u.Set("LastSeen", d.LastSeen)
		}
		err := u.Run(ctx)
		units := float64(max(1, (d.ItemBytes+1023)/1024))
		s.record(&cc, 2*units) // the table and the GSI1 entry it leaves
		if dynamo.IsCondCheckFailed(err) {
			continue
		}
		if err := wrapAWS(err, "deactivate asset "+d.ARN); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// EffectiveLastSeen is when an asset was last seen: for an active asset, the
// latest successful sync of its scope if that is later than its item's own
// LastSeen (see the note at the top of this file).
func EffectiveLastSeen(a citadel.Asset, scope Coverage) time.Time {
	if a.IsActive && scope.SyncedAt.After(a.LastSeen) {
		return scope.SyncedAt
	}
	return a.LastSeen
}

// --- relationships -----------------------------------------------------------

type relationshipItem struct {
	item
	citadel.AssetRelationship
}

func newRelationshipItem(r citadel.AssetRelationship) relationshipItem {
	k := relationshipKey(r.IntegrationID, r.FromARN, string(r.Kind), r.ToARN)
	g := relationshipToGSI(r.IntegrationID, r.ToARN, string(r.Kind), r.FromARN)
	return relationshipItem{newItem(TypeRelationship, k).withGSI1(g), r}
}

// PutRelationships stores edges (idempotent: an edge is keyed by its ends
// and kind). Every edge is validated before anything is written.
func (s *Store) PutRelationships(ctx context.Context, rels []citadel.AssetRelationship) error {
	items := make([]any, 0, len(rels))
	for _, r := range rels {
		if err := r.Validate(); err != nil {
			return err
		}
		items = append(items, newRelationshipItem(r))
	}
	if err := s.batchPut(ctx, items); err != nil {
		return fmt.Errorf("put relationships: %w", err)
	}
	return nil
}

// DeleteRelationships deletes edges; missing edges are not an error.
func (s *Store) DeleteRelationships(ctx context.Context, rels []citadel.AssetRelationship) error {
	keys := make([]Key, len(rels))
	for i, r := range rels {
		keys[i] = relationshipKey(r.IntegrationID, r.FromARN, string(r.Kind), r.ToARN)
	}
	if err := s.batchDelete(ctx, keys); err != nil {
		return fmt.Errorf("delete relationships: %w", err)
	}
	return nil
}

func relationshipsOf(items []relationshipItem) []citadel.AssetRelationship {
	out := make([]citadel.AssetRelationship, len(items))
	for i, it := range items {
		out[i] = it.AssetRelationship
	}
	return out
}

// RelationshipsFrom lists the outgoing edges of an asset, by kind then target.
func (s *Store) RelationshipsFrom(ctx context.Context, integrationID, arn string) ([]citadel.AssetRelationship, error) {
	var items []relationshipItem
	q := s.byPK(integrationKey(integrationID).PK).Range(AttrSK, dynamo.BeginsWith, relationshipsFromPrefix(arn))
	if err := s.queryAll(ctx, q, &items, "relationships from "+arn); err != nil {
		return nil, err
	}
	// The prefix REL#<arn># also matches ARNs that extend arn with '#...';
	// keep exact matches only.
	var out []citadel.AssetRelationship
	for _, it := range items {
		if it.FromARN == arn {
			out = append(out, it.AssetRelationship)
		}
	}
	return out, nil
}

// RelationshipsTo lists the incoming edges of an asset (GSI1), by kind then source.
func (s *Store) RelationshipsTo(ctx context.Context, integrationID, arn string) ([]citadel.AssetRelationship, error) {
	var items []relationshipItem
	if err := s.queryAll(ctx, s.byGSI1(relationshipsToPK(integrationID, arn)), &items, "relationships to "+arn); err != nil {
		return nil, err
	}
	return relationshipsOf(items), nil
}

// ListRelationships lists every edge of an integration (a sync diffs against it).
func (s *Store) ListRelationships(ctx context.Context, integrationID string) ([]citadel.AssetRelationship, error) {
	var items []relationshipItem
	q := s.byPK(integrationKey(integrationID).PK).Range(AttrSK, dynamo.BeginsWith, relationshipsSKPrefix())
	if err := s.queryAll(ctx, q, &items, "relationships of integration "+integrationID); err != nil {
		return nil, err
	}
	return relationshipsOf(items), nil
}

// --- coverage -----------------------------------------------------------------

// Coverage records the sync of one (service, region) scope of an integration
// ("global" for global services): when it last succeeded, by which scan, and
// how each resource type of the scope fared.
type Coverage struct {
	IntegrationID string                       `json:"integration_id"`
	Service       string                       `json:"service"`
	Region        string                       `json:"region"`
	SyncedAt      time.Time                    `json:"synced_at"` // the latest sync in which every type of the scope succeeded
	ScanID        string                       `json:"scan_id,omitempty"`
	Types         map[string]ScopeTypeCoverage `json:"types"`
}

// ScopeTypeCoverage is one resource type's last sync in a scope.
type ScopeTypeCoverage struct {
	SyncedAt time.Time `json:"synced_at,omitempty"` // last success
	Assets   int       `json:"assets"`              // active assets seen at the last success
	Error    string    `json:"error,omitempty"`     // the last failure, cleared by a success
	FailedAt time.Time `json:"failed_at,omitempty"`
}

type coverageItem struct {
	item
	Coverage
}

// PutCoverage stores coverage records, in batches.
func (s *Store) PutCoverage(ctx context.Context, cov []Coverage) error {
	items := make([]any, 0, len(cov))
	for _, c := range cov {
		if c.IntegrationID == "" || c.Service == "" || c.Region == "" {
			return citadel.Invalid("coverage needs an integration, a service and a region (got %q, %q, %q)", c.IntegrationID, c.Service, c.Region)
		}
		items = append(items, coverageItem{newItem(TypeCoverage, coverageKey(c.IntegrationID, c.Service, c.Region)), c})
	}
	if err := s.batchPut(ctx, items); err != nil {
		return fmt.Errorf("put coverage: %w", err)
	}
	return nil
}

// ListCoverage lists the sync coverage of an integration by service then region.
func (s *Store) ListCoverage(ctx context.Context, integrationID string) ([]Coverage, error) {
	var items []coverageItem
	q := s.byPK(integrationKey(integrationID).PK).Range(AttrSK, dynamo.BeginsWith, coverageSKPrefix())
	if err := s.queryAll(ctx, q, &items, "coverage of integration "+integrationID); err != nil {
		return nil, err
	}
	out := make([]Coverage, len(items))
	for i, it := range items {
		out[i] = it.Coverage
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return out[i].Region < out[j].Region
	})
	return out, nil
}
