package ddb

import (
	"context"

	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// The catalog: security checks, frameworks and their requirements, SCF
// controls, the SCF ↔ requirement mappings, the check → SCF links and the
// policy templates (reference controls). The importer (shared/steps/
// catalogimport) compares what is stored with what it parsed and writes only
// the difference through these methods.

type checkItem struct {
	item
	citadel.SecurityCheck
}

func newCheckItem(c citadel.SecurityCheck) checkItem {
	it := newItem(TypeCheck, checkKey(c.ID)).withGSI1(checksGSI(c.ID))
	if len(c.MappedRequirements) > 0 && !c.Deprecated {
		it = it.withGSI2(mappedChecksGSI(c.ID))
	}
	return checkItem{it, c}
}

// PutChecks writes security checks (replacing stored ones with the same id).
// A check is in the mapped-checks index while it has mapped requirements and
// is not deprecated.
func (s *Store) PutChecks(ctx context.Context, checks []citadel.SecurityCheck) error {
	items := make([]any, 0, len(checks))
	for _, c := range checks {
		if err := c.Validate(); err != nil {
			return err
		}
		items = append(items, newCheckItem(c))
	}
	return s.batchPut(ctx, items)
}

// GetCheck reads a security check by id.
func (s *Store) GetCheck(ctx context.Context, id string) (citadel.SecurityCheck, error) {
	var it checkItem
	err := s.get(ctx, checkKey(id), &it, "security check "+id)
	return it.SecurityCheck, err
}

// KnownChecks says which of ids are checks of the catalog: one projected
// BatchGetItem a hundred ids, not a read of the whole catalog.
func (s *Store) KnownChecks(ctx context.Context, ids []string) (map[string]bool, error) {
	keys := make([]Key, len(ids))
	for i, id := range ids {
		keys[i] = checkKey(id)
	}
	var items []struct{ ID string }
	if err := s.batchGet(ctx, keys, &items, "checks", "ID"); err != nil {
		return nil, err
	}
	known := make(map[string]bool, len(items))
	for _, it := range items {
		known[it.ID] = true
	}
	return known, nil
}

// ListChecks lists every check, deprecated ones included, by id.
func (s *Store) ListChecks(ctx context.Context) ([]citadel.SecurityCheck, error) {
	var items []checkItem
	if err := s.queryAll(ctx, s.byGSI1(checksGSI("").PK), &items, "checks"); err != nil {
		return nil, err
	}
	return unwrap(items, func(it checkItem) citadel.SecurityCheck { return it.SecurityCheck }), nil
}

// ListMappedChecks lists the checks that map to at least one requirement and
// are not deprecated (a sparse index), by id.
func (s *Store) ListMappedChecks(ctx context.Context) ([]citadel.SecurityCheck, error) {
	var items []checkItem
	if err := s.queryAll(ctx, s.byGSI2(mappedChecksGSI("").PK), &items, "mapped checks"); err != nil {
		return nil, err
	}
	return unwrap(items, func(it checkItem) citadel.SecurityCheck { return it.SecurityCheck }), nil
}

type frameworkItem struct {
	item
	citadel.Framework
}

// PutFrameworks writes frameworks.
func (s *Store) PutFrameworks(ctx context.Context, fws []citadel.Framework) error {
	items := make([]any, 0, len(fws))
	for _, f := range fws {
		if f.ID == "" {
			return citadel.Invalid("framework: id is required")
		}
		items = append(items, frameworkItem{newItem(TypeFramework, frameworkKey(f.ID)).withGSI1(frameworksGSI(f.ID)), f})
	}
	return s.batchPut(ctx, items)
}

// ListFrameworks lists every framework, by id.
func (s *Store) ListFrameworks(ctx context.Context) ([]citadel.Framework, error) {
	var items []frameworkItem
	if err := s.queryAll(ctx, s.byGSI1(frameworksGSI("").PK), &items, "frameworks"); err != nil {
		return nil, err
	}
	return unwrap(items, func(it frameworkItem) citadel.Framework { return it.Framework }), nil
}

// GetFramework reads a framework by id.
func (s *Store) GetFramework(ctx context.Context, id string) (citadel.Framework, error) {
	var it frameworkItem
	err := s.get(ctx, frameworkKey(id), &it, "framework "+id)
	return it.Framework, err
}

type requirementItem struct {
	item
	citadel.RequirementNode
}

// PutRequirements writes requirement nodes; each one's ID must be
// citadel.RequirementID(FrameworkID, RefID).
func (s *Store) PutRequirements(ctx context.Context, reqs []citadel.RequirementNode) error {
	items := make([]any, 0, len(reqs))
	for _, r := range reqs {
		if r.FrameworkID == "" || r.RefID == "" || r.ID != citadel.RequirementID(r.FrameworkID, r.RefID) {
			return citadel.Invalid("requirement %q: id must be <framework>:<ref id> (framework %q, ref %q)", r.ID, r.FrameworkID, r.RefID)
		}
		items = append(items, requirementItem{newItem(TypeRequirement, requirementKey(r.FrameworkID, r.RefID)), r})
	}
	return s.batchPut(ctx, items)
}

// ListRequirements lists a framework's requirements, by ref id.
func (s *Store) ListRequirements(ctx context.Context, frameworkID string) ([]citadel.RequirementNode, error) {
	var items []requirementItem
	q := s.byPK(frameworkKey(frameworkID).PK).Range(AttrSK, dynamo.BeginsWith, requirementSKPrefix())
	if err := s.queryAll(ctx, q, &items, "requirements of "+frameworkID); err != nil {
		return nil, err
	}
	return unwrap(items, func(it requirementItem) citadel.RequirementNode { return it.RequirementNode }), nil
}

// GetRequirement reads a requirement by its id ("<framework>:<ref id>").
func (s *Store) GetRequirement(ctx context.Context, requirementID string) (citadel.RequirementNode, error) {
	fw, ref, ok := citadel.SplitRequirementID(requirementID)
	if !ok {
		return citadel.RequirementNode{}, citadel.Invalid("requirement id %q is not <framework>:<ref id>", requirementID)
	}
	var it requirementItem
	err := s.get(ctx, requirementKey(fw, ref), &it, "requirement "+requirementID)
	return it.RequirementNode, err
}

type scfControlItem struct {
	item
	citadel.SCFControl
}

// PutSCFControls writes SCF controls.
func (s *Store) PutSCFControls(ctx context.Context, controls []citadel.SCFControl) error {
	items := make([]any, 0, len(controls))
	for _, c := range controls {
		if c.ID == "" {
			return citadel.Invalid("SCF control: id is required")
		}
		items = append(items, scfControlItem{newItem(TypeSCFControl, scfControlKey(c.ID)).withGSI1(scfControlsGSI(c.ID)), c})
	}
	return s.batchPut(ctx, items)
}

// GetSCFControl reads an SCF control by id (IAC-06).
func (s *Store) GetSCFControl(ctx context.Context, id string) (citadel.SCFControl, error) {
	var it scfControlItem
	err := s.get(ctx, scfControlKey(id), &it, "SCF control "+id)
	return it.SCFControl, err
}

// ListSCFControls lists every SCF control, by id.
func (s *Store) ListSCFControls(ctx context.Context) ([]citadel.SCFControl, error) {
	var items []scfControlItem
	if err := s.queryAll(ctx, s.byGSI1(scfControlsGSI("").PK), &items, "SCF controls"); err != nil {
		return nil, err
	}
	return unwrap(items, func(it scfControlItem) citadel.SCFControl { return it.SCFControl }), nil
}

type checkSCFLinkItem struct {
	item
	citadel.CheckSCFLink
}

func checkSCFLinkItemKey(l citadel.CheckSCFLink) Key {
	return checkSCFLinkKey(l.CheckID, l.Rank, l.SCFID)
}

// PutCheckSCFLinks writes check → SCF links. A link's key holds its rank, so
// a link whose rank changed is a new item: the caller deletes the old one
// (DeleteCheckSCFLinks).
func (s *Store) PutCheckSCFLinks(ctx context.Context, links []citadel.CheckSCFLink) error {
	items := make([]any, 0, len(links))
	for _, l := range links {
		if l.CheckID == "" || l.SCFID == "" || l.Rank < 1 || l.Rank > 999 {
			return citadel.Invalid("check SCF link %s → %s: check, SCF id and a rank 1..999 are required", l.CheckID, l.SCFID)
		}
		it := newItem(TypeCheckSCFLink, checkSCFLinkItemKey(l)).
			withGSI1(checksOfSCFGSI(l.SCFID, l.CheckID)).
			withGSI2(allSCFLinksGSI(l.CheckID, l.Rank, l.SCFID))
		items = append(items, checkSCFLinkItem{it, l})
	}
	return s.batchPut(ctx, items)
}

// DeleteCheckSCFLinks deletes links (by check, rank and SCF id).
func (s *Store) DeleteCheckSCFLinks(ctx context.Context, links []citadel.CheckSCFLink) error {
	keys := make([]Key, len(links))
	for i, l := range links {
		keys[i] = checkSCFLinkItemKey(l)
	}
	return s.batchDelete(ctx, keys)
}

// SCFLinksOfCheck lists a check's SCF links, best first.
func (s *Store) SCFLinksOfCheck(ctx context.Context, checkID string) ([]citadel.CheckSCFLink, error) {
	var items []checkSCFLinkItem
	q := s.byPK(checkKey(checkID).PK).Range(AttrSK, dynamo.BeginsWith, checkSCFLinkSKPrefix())
	if err := s.queryAll(ctx, q, &items, "SCF links of check "+checkID); err != nil {
		return nil, err
	}
	return unwrap(items, func(it checkSCFLinkItem) citadel.CheckSCFLink { return it.CheckSCFLink }), nil
}

// ChecksOfSCF lists the ids of the checks linked to an SCF control, by id.
func (s *Store) ChecksOfSCF(ctx context.Context, scfID string) ([]string, error) {
	var items []checkSCFLinkItem
	if err := s.queryAll(ctx, s.byGSI1(checksOfSCFGSI(scfID, "").PK), &items, "checks of SCF control "+scfID); err != nil {
		return nil, err
	}
	return unwrap(items, func(it checkSCFLinkItem) string { return it.CheckID }), nil
}

// ListCheckSCFLinks lists every check → SCF link, by check then rank.
func (s *Store) ListCheckSCFLinks(ctx context.Context) ([]citadel.CheckSCFLink, error) {
	var items []checkSCFLinkItem
	if err := s.queryAll(ctx, s.byGSI2(allSCFLinksPK()), &items, "all check SCF links"); err != nil {
		return nil, err
	}
	return unwrap(items, func(it checkSCFLinkItem) citadel.CheckSCFLink { return it.CheckSCFLink }), nil
}

type scfMappingItem struct {
	item
	citadel.SCFFrameworkMapping
}

func scfMappingItemKey(m citadel.SCFFrameworkMapping) Key {
	return scfMappingKey(m.SCFID, m.RequirementID)
}

// PutSCFMappings writes SCF ↔ requirement mappings (one per SCF control and
// requirement).
func (s *Store) PutSCFMappings(ctx context.Context, maps []citadel.SCFFrameworkMapping) error {
	items := make([]any, 0, len(maps))
	for _, m := range maps {
		if m.SCFID == "" || m.RequirementID == "" || !m.Relationship.Valid() {
			return citadel.Invalid("SCF mapping %s ↔ %s: SCF id, requirement id and an STRM relationship are required (got %q)", m.SCFID, m.RequirementID, m.Relationship)
		}
		it := newItem(TypeSCFMapping, scfMappingItemKey(m)).
			withGSI1(scfOfRequirementGSI(m.RequirementID, m.SCFID)).
			withGSI2(allSCFMappingsGSI(m.SCFID, m.RequirementID))
		items = append(items, scfMappingItem{it, m})
	}
	return s.batchPut(ctx, items)
}

// DeleteSCFMappings deletes mappings (by SCF id and requirement id).
func (s *Store) DeleteSCFMappings(ctx context.Context, maps []citadel.SCFFrameworkMapping) error {
	keys := make([]Key, len(maps))
	for i, m := range maps {
		keys[i] = scfMappingItemKey(m)
	}
	return s.batchDelete(ctx, keys)
}

// SCFMappings lists the framework requirements an SCF control maps to.
func (s *Store) SCFMappings(ctx context.Context, scfID string) ([]citadel.SCFFrameworkMapping, error) {
	var items []scfMappingItem
	q := s.byPK(scfControlKey(scfID).PK).Range(AttrSK, dynamo.BeginsWith, scfMappingSKPrefix())
	if err := s.queryAll(ctx, q, &items, "mappings of SCF control "+scfID); err != nil {
		return nil, err
	}
	return unwrap(items, func(it scfMappingItem) citadel.SCFFrameworkMapping { return it.SCFFrameworkMapping }), nil
}

// SCFOfRequirement lists the SCF controls a requirement maps to, by SCF id.
func (s *Store) SCFOfRequirement(ctx context.Context, requirementID string) ([]citadel.SCFFrameworkMapping, error) {
	var items []scfMappingItem
	if err := s.queryAll(ctx, s.byGSI1(scfOfRequirementGSI(requirementID, "").PK), &items, "SCF controls of requirement "+requirementID); err != nil {
		return nil, err
	}
	return unwrap(items, func(it scfMappingItem) citadel.SCFFrameworkMapping { return it.SCFFrameworkMapping }), nil
}

// ListSCFMappings lists every SCF mapping, by SCF id then requirement.
func (s *Store) ListSCFMappings(ctx context.Context) ([]citadel.SCFFrameworkMapping, error) {
	var items []scfMappingItem
	if err := s.queryAll(ctx, s.byGSI2(allSCFMappingsPK()), &items, "all SCF mappings"); err != nil {
		return nil, err
	}
	return unwrap(items, func(it scfMappingItem) citadel.SCFFrameworkMapping { return it.SCFFrameworkMapping }), nil
}

type referenceControlItem struct {
	item
	citadel.ReferenceControl
}

// refControlSCFItem is a ReferenceControlSCFMapping; it carries the whole
// template so TemplatesOfSCF is one query.
type refControlSCFItem struct {
	item
	MappedSCFID string
	citadel.ReferenceControl
}

// PutReferenceControls writes reference controls (policy templates) and one
// ReferenceControlSCFMapping item per SCF control each governs; mapping items
// of SCF ids a template no longer lists are deleted.
func (s *Store) PutReferenceControls(ctx context.Context, rcs []citadel.ReferenceControl) error {
	var items []any
	var stale []Key
	for _, rc := range rcs {
		if rc.ID == "" || rc.Name == "" {
			return citadel.Invalid("reference control %q: id and name are required", rc.ID)
		}
		items = append(items, referenceControlItem{newItem(TypeReferenceControl, referenceControlKey(rc.ID)).withGSI1(referenceControlsGSI(rc.ID)), rc})
		want := map[string]bool{}
		for _, scf := range rc.SCFIDs {
			want[scf] = true
			it := newItem(TypeRefControlSCF, refControlSCFKey(rc.ID, scf)).withGSI1(templatesOfSCFGSI(scf, rc.ID))
			items = append(items, refControlSCFItem{it, scf, rc})
		}
		old, err := s.refControlSCFItems(ctx, rc.ID)
		if err != nil {
			return err
		}
		for _, o := range old {
			if !want[o.MappedSCFID] {
				stale = append(stale, o.key())
			}
		}
	}
	if err := s.batchPut(ctx, items); err != nil {
		return err
	}
	return s.batchDelete(ctx, stale)
}

func (s *Store) refControlSCFItems(ctx context.Context, refID string) ([]refControlSCFItem, error) {
	var items []refControlSCFItem
	q := s.byPK(referenceControlKey(refID).PK).Range(AttrSK, dynamo.BeginsWith, refControlSCFSKPrefix())
	err := s.queryAll(ctx, q, &items, "SCF mappings of reference control "+refID)
	return items, err
}

// GetReferenceControl reads a reference control by id (POL.ACCESS).
func (s *Store) GetReferenceControl(ctx context.Context, id string) (citadel.ReferenceControl, error) {
	var it referenceControlItem
	err := s.get(ctx, referenceControlKey(id), &it, "reference control "+id)
	return it.ReferenceControl, err
}

// ListReferenceControls lists every reference control, by id.
func (s *Store) ListReferenceControls(ctx context.Context) ([]citadel.ReferenceControl, error) {
	var items []referenceControlItem
	if err := s.queryAll(ctx, s.byGSI1(referenceControlsGSI("").PK), &items, "reference controls"); err != nil {
		return nil, err
	}
	return unwrap(items, func(it referenceControlItem) citadel.ReferenceControl { return it.ReferenceControl }), nil
}

// TemplatesOfSCF lists the reference controls (policy templates) that govern
// an SCF control, by id.
func (s *Store) TemplatesOfSCF(ctx context.Context, scfID string) ([]citadel.ReferenceControl, error) {
	var items []refControlSCFItem
	if err := s.queryAll(ctx, s.byGSI1(templatesOfSCFGSI(scfID, "").PK), &items, "templates of SCF control "+scfID); err != nil {
		return nil, err
	}
	return unwrap(items, func(it refControlSCFItem) citadel.ReferenceControl { return it.ReferenceControl }), nil
}

type catalogVersionItem struct {
	item
	citadel.CatalogVersion
}

// GetCatalogVersion reads the versions of the stored catalog; before the
// first import it is a not-found error.
func (s *Store) GetCatalogVersion(ctx context.Context) (citadel.CatalogVersion, error) {
	var it catalogVersionItem
	err := s.get(ctx, catalogVersionKey(), &it, "catalog version")
	return it.CatalogVersion, err
}

// PutCatalogVersion records the versions of the stored catalog.
func (s *Store) PutCatalogVersion(ctx context.Context, v citadel.CatalogVersion) error {
	return s.put(ctx, catalogVersionItem{newItem(TypeCatalogVersion, catalogVersionKey()), v}, "")
}

func unwrap[I, T any](items []I, f func(I) T) []T {
	out := make([]T, 0, len(items))
	for _, it := range items {
		out = append(out, f(it))
	}
	return out
}
