// Package controls is the scan's controls step. It sorts the integration's
// current check results into applied controls: by SCF control through the
// catalog's check→SCF links (stage A, preferred), and for checks with no SCF
// link by the requirements they map to (stage B). Each control gets its
// requirement mappings (with their source), links to its assets and checks
// (manual links stay; each scan check link carries why the check links to
// the control, rewritten when that changes, see why.go) and a posture
// computed by citadel.ComputePosture over the results of every integration
// of the folder, by effective status: a failing result the check-results
// step marked with an approved exception counts excepted, not failed.
//
// Writes grow with drift: each control keeps, per integration, the counts
// and a digest of what that integration linked; a rescan that finds the same
// writes nothing and counts nothing as updated.
package controls

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// Store is what the step reads and writes of the table.
type Store interface {
	AllControls(ctx context.Context, folderID string) ([]citadel.AppliedControl, error)
	GetControl(ctx context.Context, id string) (citadel.AppliedControl, error)
	PutControl(ctx context.Context, c citadel.AppliedControl) (citadel.AppliedControl, error)
	PutControlMappings(ctx context.Context, folderID string, ms []citadel.ControlRequirementMapping) error
	RequirementsOfControl(ctx context.Context, controlID string) ([]citadel.ControlRequirementMapping, error)
	PutControlLinks(ctx context.Context, links []citadel.ControlLink) error
	DeleteControlLinks(ctx context.Context, links []citadel.ControlLink) error
	LinksOfControl(ctx context.Context, controlID string, kind citadel.LinkKind) ([]citadel.ControlLink, error)
	Usage() citadel.Usage
}

// Results lists an integration's current check results, a page at a time.
type Results interface {
	ListResultHeads(ctx context.Context, integrationID string, limit int, cursor string) (citadel.Page[citadel.CheckResult], error)
}

// Handler is the controls step.
type Handler struct {
	// Env is the clock and logger, defaulted once by the step contract.
	stepfn.Env
	Store   Store
	Catalog Catalog
	Results Results
	// Workers bounds the controls written at once (default 8).
	Workers int
}

// maxAttempts bounds the re-reads after a concurrent change of a control.
const maxAttempts = 5

// Handle builds and updates the folder's controls from the integration's results.
func (h *Handler) Handle(ctx context.Context, in citadel.ControlsInput) (citadel.ControlsOutput, error) {
	var out citadel.ControlsOutput
	p := in.Plan
	if p.FolderID == "" || p.IntegrationID == "" || p.ScanID == "" {
		return out, citadel.Invalid("controls: the plan needs folder_id, integration_id and scan_id (got %q, %q, %q)", p.FolderID, p.IntegrationID, p.ScanID)
	}
	start := h.Store.Usage()
	checks, err := h.Catalog.ListChecks(ctx)
	if err != nil {
		return out, fmt.Errorf("controls: list checks: %w", err)
	}
	links, err := h.Catalog.ListEffectiveSCFLinks(ctx)
	if err != nil {
		return out, fmt.Errorf("controls: list check→SCF links: %w", err)
	}
	gr := newGrouping(p.FolderID, checks, links)
	if err := eachResult(ctx, h.Results, p.IntegrationID, func(r citadel.CheckResult) error { gr.add(r); return nil }); err != nil {
		return out, fmt.Errorf("controls: %w", err)
	}
	out.ResultsUnknownChecks = gr.unknownChecks
	out.SCFControls, out.RequirementControls = len(gr.scf), len(gr.req)

	existing, err := h.Store.AllControls(ctx, p.FolderID)
	if err != nil {
		return out, fmt.Errorf("controls: %w", err)
	}
	byID := make(map[string]citadel.AppliedControl, len(existing))
	for _, c := range existing {
		byID[c.ID] = c
	}
	desired, err := h.resolve(ctx, gr, byID)
	if err != nil {
		return out, fmt.Errorf("controls: %w", err)
	}
	// Controls this integration contributed to before but no longer does.
	var gone []string
	for _, c := range existing {
		if _, was := c.Integrations[p.IntegrationID]; was {
			if _, still := desired[c.ID]; !still {
				gone = append(gone, c.ID)
			}
		}
	}
	slices.Sort(gone)

	var mu sync.Mutex
	tally := func(o outcome) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case o.created:
			out.ControlsCreated++
		case o.updated:
			out.ControlsUpdated++
		}
		out.MappingsCreated += o.mappings
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(h.workers())
	for _, id := range slices.Sorted(maps.Keys(desired)) {
		d := desired[id]
		prev, found := byID[id]
		g.Go(func() error {
			o, err := h.apply(gctx, p, gr, d, prev, found)
			tally(o)
			return err
		})
	}
	for _, id := range gone {
		prev := byID[id]
		g.Go(func() error {
			o, err := h.apply(gctx, p, gr, nil, prev, true)
			tally(o)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return out, fmt.Errorf("controls: %w", err)
	}
	out.Usage = h.Store.Usage().Sub(start)
	h.Logger().InfoContext(ctx, "controls step done", "scan_id", p.ScanID, "integration_id", p.IntegrationID,
		"controls_created", out.ControlsCreated, "controls_updated", out.ControlsUpdated, "scf_controls", out.SCFControls,
		"requirement_controls", out.RequirementControls, "mappings_created", out.MappingsCreated,
		"results_unknown_checks", out.ResultsUnknownChecks, "unmapped_results", gr.unmapped)
	return out, nil
}

// desiredControl is a control as this integration's results describe it.
type desiredControl struct {
	group   *group
	control citadel.AppliedControl // the fields a new control gets
}

// resolve completes the groups with their requirements and, for controls
// that do not exist yet, the catalog fields they are created with (an
// existing control keeps its name and description, which a user may edit).
func (h *Handler) resolve(ctx context.Context, gr *grouping, existing map[string]citadel.AppliedControl) (map[string]*desiredControl, error) {
	out := make(map[string]*desiredControl, len(gr.scf)+len(gr.req))
	for _, scfID := range slices.Sorted(maps.Keys(gr.scf)) {
		g := gr.scf[scfID]
		if err := gr.scfRequirements(ctx, h.Catalog, g); err != nil {
			return nil, err
		}
		scf := citadel.SCFControl{ID: scfID}
		if _, ok := existing[g.controlID]; !ok {
			got, err := h.Catalog.GetSCFControl(ctx, scfID)
			switch {
			case err == nil:
				scf = got
			case !citadel.IsNotFound(err):
				return nil, fmt.Errorf("SCF control %s: %w", scfID, err)
			}
		}
		out[g.controlID] = &desiredControl{group: g, control: citadel.AppliedControl{
			ID: g.controlID, FolderID: gr.folderID, RefID: SCFRefID(scfID), Name: SCFName(scf), Description: scf.Description,
			Category: citadel.CategoryTechnical, SCFControlID: scfID,
		}}
	}
	for _, reqID := range slices.Sorted(maps.Keys(gr.req)) {
		g := gr.req[reqID]
		fw, _, _ := citadel.SplitRequirementID(reqID)
		g.mappings = []citadel.ControlRequirementMapping{{ControlID: g.controlID, RequirementID: reqID, FrameworkID: fw, Source: citadel.MappingRequirement}}
		var req citadel.RequirementNode
		if _, ok := existing[g.controlID]; !ok {
			got, err := h.Catalog.GetRequirement(ctx, reqID)
			switch {
			case err == nil:
				req = got
			case !citadel.IsNotFound(err) && !citadel.IsInvalid(err):
				return nil, fmt.Errorf("requirement %s: %w", reqID, err)
			}
		}
		out[g.controlID] = &desiredControl{group: g, control: citadel.AppliedControl{
			ID: g.controlID, FolderID: gr.folderID, RefID: RequirementRefID(reqID), Name: RequirementName(reqID, req),
			Description: req.Description, Category: citadel.CategoryTechnical, SourceRequirementID: reqID,
		}}
	}
	return out, nil
}

type outcome struct {
	created, updated bool
	mappings         int
}

// apply brings one control in line with this integration's results (d nil:
// the integration no longer has results for it), re-reading and retrying
// when another writer changed it first.
func (h *Handler) apply(ctx context.Context, p citadel.PlanOutput, gr *grouping, d *desiredControl, prev citadel.AppliedControl, found bool) (outcome, error) {
	var o outcome
	entry := citadel.IntegrationPosture{}
	if d != nil {
		entry = d.group.counts
		entry.LinksDigest = d.group.digest()
	}
	linked := false
	for attempt := 1; ; attempt++ {
		var next citadel.AppliedControl
		switch {
		case !found && d == nil:
			return o, nil
		case !found:
			if !linked {
				n, err := h.addLinks(ctx, p, gr, d.control, d, nil, nil)
				if err != nil {
					return o, err
				}
				o.mappings, linked = o.mappings+n, true
			}
			next = d.control
			next.Origin, next.Status, next.IsAutomated = citadel.OriginScan, citadel.ControlActive, true
			next.CreatedAt = h.Now()
			next.Integrations = map[string]citadel.IntegrationPosture{}
		default:
			old, had := prev.Integrations[p.IntegrationID]
			if (d == nil && !had) || (d != nil && had && old == entry) {
				return o, nil // nothing changed
			}
			if !linked && (d == nil || !had || old.LinksDigest != entry.LinksDigest) {
				n, err := h.syncLinks(ctx, p, gr, prev, d)
				if err != nil {
					return o, err
				}
				o.mappings, linked = o.mappings+n, true
			}
			next = prev
			next.Integrations = maps.Clone(prev.Integrations)
			if next.Integrations == nil {
				next.Integrations = map[string]citadel.IntegrationPosture{}
			}
		}
		next.SecurityCheckIDs = gr.stillLinkedChecks(next, next.SecurityCheckIDs)
		if d == nil {
			delete(next.Integrations, p.IntegrationID)
		} else {
			next.Integrations[p.IntegrationID] = entry
			next.SecurityCheckIDs = union(next.SecurityCheckIDs, sortedKeys(d.group.checks))
		}
		if len(next.SecurityCheckIDs) == 0 {
			next.SecurityCheckIDs = nil
		}
		next.SumIntegrations()
		next.UpdatedAt, next.LastScanID = h.Now(), p.ScanID
		_, err := h.Store.PutControl(ctx, next)
		if err == nil {
			o.created, o.updated = !found, found
			return o, nil
		}
		if !citadel.IsConflict(err) || attempt == maxAttempts {
			return o, fmt.Errorf("write control %s: %w", next.ID, err)
		}
		// Another writer (or a lagging index) got there first: re-read.
		fresh, gerr := h.Store.GetControl(ctx, next.ID)
		switch {
		case citadel.IsNotFound(gerr):
			found = false
		case gerr != nil:
			return o, gerr
		default:
			prev, found = fresh, true
		}
	}
}

// syncLinks reads an existing control's mappings and asset and check links
// and brings them in line with the group (d nil: only the check links the
// catalog no longer makes go).
func (h *Handler) syncLinks(ctx context.Context, p citadel.PlanOutput, gr *grouping, c citadel.AppliedControl, d *desiredControl) (int, error) {
	var mappings []citadel.ControlRequirementMapping
	if d != nil {
		var err error
		if mappings, err = h.Store.RequirementsOfControl(ctx, c.ID); err != nil {
			return 0, err
		}
	}
	have := map[string]citadel.ControlLink{}
	for _, kind := range []citadel.LinkKind{citadel.LinkAsset, citadel.LinkCheck} {
		if d == nil && kind == citadel.LinkAsset {
			continue
		}
		links, err := h.Store.LinksOfControl(ctx, c.ID, kind)
		if err != nil {
			return 0, err
		}
		for _, l := range links {
			have[linkKey(l.Kind, l.TargetID)] = l
		}
	}
	return h.addLinks(ctx, p, gr, c, d, mappings, have)
}

// addLinks writes the group's requirement mappings and asset links that the
// control c does not have yet (whatever their origin), its check links that
// are missing or whose why changed (a scan's only), and deletes the scan's
// check links the catalog no longer makes. It returns how many mappings it
// added.
func (h *Handler) addLinks(ctx context.Context, p citadel.PlanOutput, gr *grouping, c citadel.AppliedControl, d *desiredControl, mappings []citadel.ControlRequirementMapping, have map[string]citadel.ControlLink) (int, error) {
	var g *group
	if d != nil {
		g = d.group
	}
	links, gone := gr.checkLinkChanges(c, g, have)
	var newMappings []citadel.ControlRequirementMapping
	if g != nil {
		mapped := map[string]bool{}
		for _, m := range mappings {
			mapped[m.RequirementID] = true
		}
		for _, m := range g.mappings {
			if !mapped[m.RequirementID] {
				newMappings = append(newMappings, m)
			}
		}
		for _, a := range sortedKeys(g.assets) {
			if _, ok := have[linkKey(citadel.LinkAsset, a)]; !ok {
				links = append(links, citadel.ControlLink{ControlID: c.ID, Kind: citadel.LinkAsset, TargetID: a, Origin: citadel.OriginScan})
			}
		}
	}
	if err := h.Store.PutControlMappings(ctx, p.FolderID, newMappings); err != nil {
		return 0, fmt.Errorf("mappings of control %s: %w", c.ID, err)
	}
	if err := h.Store.PutControlLinks(ctx, links); err != nil {
		return 0, fmt.Errorf("links of control %s: %w", c.ID, err)
	}
	if err := h.Store.DeleteControlLinks(ctx, gone); err != nil {
		return 0, fmt.Errorf("links of control %s the catalog no longer makes: %w", c.ID, err)
	}
	return len(newMappings), nil
}

func union(a, b []string) []string {
	set := map[string]bool{}
	for _, s := range a {
		set[s] = true
	}
	for _, s := range b {
		set[s] = true
	}
	return sortedKeys(set)
}

// eachResult calls fn for every current result of the integration, a page at a time.
func eachResult(ctx context.Context, rs Results, integrationID string, fn func(citadel.CheckResult) error) error {
	for r, err := range citadel.Items(func(cursor string) (citadel.Page[citadel.CheckResult], error) {
		return rs.ListResultHeads(ctx, integrationID, 1000, cursor)
	}) {
		if err != nil {
			return fmt.Errorf("results of integration %s: %w", integrationID, err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (h *Handler) workers() int {
	if h.Workers > 0 {
		return h.Workers
	}
	return 8
}
