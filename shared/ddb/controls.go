package ddb

import (
	"context"
	"fmt"
	"strings"

	"github.com/guregu/dynamo/v2"
	"golang.org/x/sync/errgroup"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// --- applied controls ------------------------------------------------------------

type controlItem struct {
	item
	citadel.AppliedControl
}

func newControlItem(c citadel.AppliedControl) controlItem {
	return controlItem{newItem(TypeAppliedControl, controlKey(c.ID)).withGSI1(controlsOfFolderGSI(c.FolderID, c.RefID)), c}
}

// GetControl reads an applied control (or policy) by id. The id of a scan
// control derives from its dedup key: citadel.AppliedControlIDForSCF,
// AppliedControlIDForRequirement, PolicyID.
func (s *Store) GetControl(ctx context.Context, id string) (citadel.AppliedControl, error) {
	var it controlItem
	err := s.get(ctx, controlKey(id), &it, "applied control "+id)
	return it.AppliedControl, err
}

// GetControls reads many controls by id (strongly consistent, 100 per
// request); missing ids are simply absent from the map.
func (s *Store) GetControls(ctx context.Context, ids []string) (map[string]citadel.AppliedControl, error) {
	out := make(map[string]citadel.AppliedControl, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]Key, len(ids))
	for i, id := range ids {
		keys[i] = controlKey(id)
	}
	var items []controlItem
	if err := s.batchGet(ctx, keys, &items, "controls"); err != nil {
		return nil, err
	}
	for _, it := range items {
		out[it.ID] = it.AppliedControl
	}
	return out, nil
}

// PutControl writes a control with optimistic concurrency: a control with
// Version 0 is created only if its id is free, any other replaces the stored
// one only while the stored version is still c.Version. Either failure is a
// conflict. It returns the control as stored (with its new version).
func (s *Store) PutControl(ctx context.Context, c citadel.AppliedControl) (citadel.AppliedControl, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	prev := c.Version
	c.Version++
	var err error
	if prev == 0 {
		err = s.put(ctx, newControlItem(c), "attribute_not_exists(PK)")
	} else {
		err = s.put(ctx, newControlItem(c), "'Version' = ?", prev)
	}
	if err != nil {
		c.Version = prev
		if citadel.IsConflict(err) {
			return c, citadel.Conflict("applied control %s changed since version %d", c.ID, prev)
		}
	}
	return c, err
}

// PutControls runs PutControl for each control, several at a time, and
// returns them as stored. Conflicts are reported in the joined error.
func (s *Store) PutControls(ctx context.Context, cs []citadel.AppliedControl) ([]citadel.AppliedControl, error) {
	out := make([]citadel.AppliedControl, len(cs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, c := range cs {
		g.Go(func() error {
			stored, err := s.PutControl(gctx, c)
			out[i] = stored
			return err
		})
	}
	return out, g.Wait()
}

// ListControls lists a folder's controls and policies by ref_id, a page at a time.
func (s *Store) ListControls(ctx context.Context, folderID string, limit int, cursor string) (citadel.Page[citadel.AppliedControl], error) {
	var items []controlItem
	next, err := s.queryPage(ctx, s.byGSI1(controlsOfFolderGSI(folderID, "").PK), limit, cursor, &items, "controls of folder "+folderID)
	page := citadel.Page[citadel.AppliedControl]{Next: next}
	for _, it := range items {
		page.Items = append(page.Items, it.AppliedControl)
	}
	return page, err
}

// AllControls reads every control and policy of a folder (GSI1, eventually
// consistent: a writer that depends on it conditions its writes).
func (s *Store) AllControls(ctx context.Context, folderID string) ([]citadel.AppliedControl, error) {
	var items []controlItem
	if err := s.queryAll(ctx, s.byGSI1(controlsOfFolderGSI(folderID, "").PK), &items, "controls of folder "+folderID); err != nil {
		return nil, err
	}
	out := make([]citadel.AppliedControl, len(items))
	for i, it := range items {
		out[i] = it.AppliedControl
	}
	return out, nil
}

// --- control ↔ requirement ---------------------------------------------------------

type controlRequirementItem struct {
	item
	FolderID string
	citadel.ControlRequirementMapping
}

// requirementRef returns the framework and ref of a mapping's requirement.
func requirementRef(m citadel.ControlRequirementMapping) (frameworkID, refID string) {
	fw, ref, ok := citadel.SplitRequirementID(m.RequirementID)
	if !ok {
		return m.FrameworkID, m.RequirementID
	}
	if m.FrameworkID != "" {
		fw = m.FrameworkID
	}
	return fw, ref
}

func newControlRequirementItem(folderID string, m citadel.ControlRequirementMapping) controlRequirementItem {
	fw, ref := requirementRef(m)
	it := newItem(TypeControlRequirement, controlRequirementKey(m.ControlID, m.RequirementID)).
		withGSI1(requirementControlsGSI(folderID, fw, ref, m.ControlID))
	return controlRequirementItem{it, folderID, m}
}

func validMapping(m citadel.ControlRequirementMapping) error {
	switch {
	case m.ControlID == "" || m.RequirementID == "":
		return citadel.Invalid("control requirement mapping needs control_id and requirement_id (got %q, %q)", m.ControlID, m.RequirementID)
	case m.Source != citadel.MappingProwler && m.Source != citadel.MappingSCF && m.Source != citadel.MappingRequirement && m.Source != citadel.MappingManual:
		return citadel.Invalid("control requirement mapping %s → %s: source %q is not prowler, scf, requirement or manual", m.ControlID, m.RequirementID, m.Source)
	}
	if fw, _ := requirementRef(m); fw == "" {
		return citadel.Invalid("control requirement mapping %s → %s: no framework", m.ControlID, m.RequirementID)
	}
	return nil
}

// PutControlMappings writes control ↔ requirement mappings of a folder's
// controls (replacing a mapping of the same control and requirement).
func (s *Store) PutControlMappings(ctx context.Context, folderID string, ms []citadel.ControlRequirementMapping) error {
	if folderID == "" {
		return citadel.Invalid("control requirement mappings need a folder")
	}
	items := make([]any, 0, len(ms))
	for _, m := range ms {
		if err := validMapping(m); err != nil {
			return err
		}
		items = append(items, newControlRequirementItem(folderID, m))
	}
	return s.batchPut(ctx, items)
}

func mappingsOf(items []controlRequirementItem) []citadel.ControlRequirementMapping {
	out := make([]citadel.ControlRequirementMapping, len(items))
	for i, it := range items {
		out[i] = it.ControlRequirementMapping
	}
	return out
}

// RequirementsOfControl lists the requirement mappings of a control.
func (s *Store) RequirementsOfControl(ctx context.Context, controlID string) ([]citadel.ControlRequirementMapping, error) {
	var items []controlRequirementItem
	q := s.byPK(controlKey(controlID).PK).Range(AttrSK, dynamo.BeginsWith, controlRequirementSKPrefix())
	err := s.queryAll(ctx, q, &items, "requirements of control "+controlID)
	return mappingsOf(items), err
}

// ControlsOfRequirement lists the automatic mappings of a folder's controls
// to one requirement (framework and ref id).
func (s *Store) ControlsOfRequirement(ctx context.Context, folderID, frameworkID, refID string) ([]citadel.ControlRequirementMapping, error) {
	var items []controlRequirementItem
	g := requirementControlsGSI(folderID, frameworkID, refID, "")
	q := s.byGSI1(g.PK).Range(AttrGSI1SK, dynamo.BeginsWith, g.SK)
	err := s.queryAll(ctx, q, &items, "controls of requirement "+frameworkID+":"+refID)
	return mappingsOf(items), err
}

// FrameworkMappings lists every automatic mapping of a folder's controls to a
// framework's requirements, sorted by requirement.
func (s *Store) FrameworkMappings(ctx context.Context, folderID, frameworkID string) ([]citadel.ControlRequirementMapping, error) {
	var items []controlRequirementItem
	g := requirementControlsGSI(folderID, frameworkID, "", "")
	err := s.queryAll(ctx, s.byGSI1(g.PK), &items, "mappings of framework "+frameworkID)
	return mappingsOf(items), err
}

// --- control links -----------------------------------------------------------------

type controlLinkItem struct {
	item
	citadel.ControlLink
}

func controlLinkItemKey(l citadel.ControlLink) Key {
	return controlLinkKey(l.ControlID, string(l.Kind), l.TargetID)
}

// PutControlLinks writes links of controls to assets, checks or evidence,
// replacing a stored link of the same control, kind and target (so a check
// link's why is rewritten in place). A writer that must not replace a
// manual link reads LinksOfControl first.
func (s *Store) PutControlLinks(ctx context.Context, links []citadel.ControlLink) error {
	items := make([]any, 0, len(links))
	for _, l := range links {
		if err := l.Validate(); err != nil {
			return err
		}
		kind := string(l.Kind)
		it := newItem(TypeControlLink, controlLinkItemKey(l)).withGSI1(linkTargetGSI(kind, l.TargetID, l.ControlID))
		items = append(items, controlLinkItem{it, l})
	}
	return s.batchPut(ctx, items)
}

// DeleteControlLinks deletes links (by control, kind and target); a link
// that is not stored is no error.
func (s *Store) DeleteControlLinks(ctx context.Context, links []citadel.ControlLink) error {
	keys := make([]Key, 0, len(links))
	for _, l := range links {
		if l.ControlID == "" || l.Kind == "" || l.TargetID == "" {
			return citadel.Invalid("delete control link: control_id, kind and target_id are required (got %q, %q, %q)", l.ControlID, l.Kind, l.TargetID)
		}
		keys = append(keys, controlLinkItemKey(l))
	}
	return s.batchDelete(ctx, keys)
}

func linksOf(items []controlLinkItem) []citadel.ControlLink {
	out := make([]citadel.ControlLink, len(items))
	for i, it := range items {
		out[i] = it.ControlLink
	}
	return out
}

// LinksOfControl lists a control's links of one kind ("" for every kind).
func (s *Store) LinksOfControl(ctx context.Context, controlID string, kind citadel.LinkKind) ([]citadel.ControlLink, error) {
	prefix := controlLinkSKPrefix(string(kind))
	if kind == "" {
		prefix = strings.TrimSuffix(controlLinkSKPrefix(""), "#")
	}
	var items []controlLinkItem
	q := s.byPK(controlKey(controlID).PK).Range(AttrSK, dynamo.BeginsWith, prefix)
	err := s.queryAll(ctx, q, &items, fmt.Sprintf("%s links of control %s", kind, controlID))
	return linksOf(items), err
}

// ControlsLinkedTo lists the links of every control to one asset, check or
// evidence record.
func (s *Store) ControlsLinkedTo(ctx context.Context, kind citadel.LinkKind, targetID string) ([]citadel.ControlLink, error) {
	var items []controlLinkItem
	err := s.queryAll(ctx, s.byGSI1(linkTargetGSI(string(kind), targetID, "").PK), &items, fmt.Sprintf("controls linked to %s %s", kind, targetID))
	return linksOf(items), err
}
