// Package policies is the scan's policies step. For the SCF controls behind
// the folder's SCF-based controls that this integration's results touch, it
// finds the policy templates (reference controls of category policy) that
// govern them and creates one Policy per template and SCF control — an
// AppliedControl with category policy, status to_do, origin scan — with
// requirement mappings through the SCF control's framework mappings. A
// policy that already exists is left alone and counted as skipped, unless
// this scan created it (an earlier, throttled attempt of the step): that one
// counts as created, so a retried step reports what an unfaulted one does.
// Requirement-based controls (no SCF control) get no policies.
package policies

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// Store is what the step reads and writes of the table.
type Store interface {
	AllControls(ctx context.Context, folderID string) ([]citadel.AppliedControl, error)
	PutControl(ctx context.Context, c citadel.AppliedControl) (citadel.AppliedControl, error)
	PutControlMappings(ctx context.Context, folderID string, ms []citadel.ControlRequirementMapping) error
	Usage() citadel.Usage
}

// Catalog is what the step reads of the catalog: the templates (each with
// the SCF controls it governs) and the SCF framework mappings, each read
// whole in a few requests rather than once per SCF control.
type Catalog interface {
	ListReferenceControls(ctx context.Context) ([]citadel.ReferenceControl, error)
	ListSCFMappings(ctx context.Context) ([]citadel.SCFFrameworkMapping, error)
}

// Handler is the policies step.
type Handler struct {
	// Env is the clock and logger, defaulted once by the step contract.
	stepfn.Env
	Store   Store
	Catalog Catalog
}

// PolicyRefID and PolicyName name a policy after its template and SCF
// control: POL.ACCESS-IAC-01 and "POL.ACCESS [IAC-01]".
func PolicyRefID(templateID, scfID string) string { return templateID + "-" + scfID }
func PolicyName(templateID, scfID string) string  { return templateID + " [" + scfID + "]" }

// Handle creates the missing policies of the scan's SCF controls.
func (h *Handler) Handle(ctx context.Context, in citadel.PoliciesInput) (citadel.PoliciesOutput, error) {
	var out citadel.PoliciesOutput
	p := in.Plan
	if p.FolderID == "" || p.IntegrationID == "" || p.ScanID == "" {
		return out, citadel.Invalid("policies: the plan needs folder_id, integration_id and scan_id (got %q, %q, %q)", p.FolderID, p.IntegrationID, p.ScanID)
	}
	start := h.Store.Usage()
	all, err := h.Store.AllControls(ctx, p.FolderID)
	if err != nil {
		return out, fmt.Errorf("policies: %w", err)
	}
	exists := map[string]bool{}
	// Policies an earlier attempt of this scan created (throttled after its
	// writes, retried by the state machine): counted as created again, so
	// a retried step reports what an unfaulted one does.
	ours := map[string]bool{}
	scfSet := map[string]bool{}
	for _, c := range all {
		exists[c.ID] = true
		ours[c.ID] = c.IsPolicy() && c.Origin == citadel.OriginScan && c.LastScanID == p.ScanID
		if _, touched := c.Integrations[p.IntegrationID]; touched && !c.IsPolicy() && c.SCFControlID != "" && c.Origin == citadel.OriginScan {
			scfSet[c.SCFControlID] = true
		}
	}
	scfIDs := make([]string, 0, len(scfSet))
	for id := range scfSet {
		scfIDs = append(scfIDs, id)
	}
	slices.Sort(scfIDs)
	if len(scfIDs) == 0 {
		out.Usage = h.Store.Usage().Sub(start)
		return out, nil
	}
	refs, err := h.Catalog.ListReferenceControls(ctx)
	if err != nil {
		return out, fmt.Errorf("policies: policy templates: %w", err)
	}
	templates := map[string][]citadel.ReferenceControl{} // policy templates by SCF control, by id
	for _, t := range refs {
		if t.Category != citadel.CategoryPolicy {
			continue
		}
		for _, scf := range t.SCFIDs {
			templates[scf] = append(templates[scf], t)
		}
	}
	var mappings map[string][]citadel.SCFFrameworkMapping
	for _, scfID := range scfIDs {
		ts := templates[scfID]
		slices.SortFunc(ts, func(a, b citadel.ReferenceControl) int { return strings.Compare(a.ID, b.ID) })
		for _, t := range ts {
			id := citadel.PolicyID(p.FolderID, t.ID, scfID)
			if exists[id] {
				if ours[id] {
					out.PoliciesCreated++
				} else {
					out.PoliciesSkipped++
				}
				continue
			}
			if mappings == nil {
				all, err := h.Catalog.ListSCFMappings(ctx)
				if err != nil {
					return out, fmt.Errorf("policies: SCF framework mappings: %w", err)
				}
				mappings = map[string][]citadel.SCFFrameworkMapping{}
				for _, m := range all {
					mappings[m.SCFID] = append(mappings[m.SCFID], m)
				}
			}
			created, err := h.create(ctx, p, t, scfID, id, mappings[scfID])
			if err != nil {
				return out, fmt.Errorf("policies: %w", err)
			}
			if created {
				out.PoliciesCreated++
			} else {
				out.PoliciesSkipped++
			}
			exists[id] = true
		}
	}
	out.Usage = h.Store.Usage().Sub(start)
	h.Logger().InfoContext(ctx, "policies step done", "scan_id", p.ScanID, "integration_id", p.IntegrationID,
		"scf_controls", len(scfIDs), "policies_created", out.PoliciesCreated, "policies_skipped", out.PoliciesSkipped)
	return out, nil
}

// create writes the policy's requirement mappings, then the policy itself
// (conditionally: one created meanwhile by another scan counts as skipped).
func (h *Handler) create(ctx context.Context, p citadel.PlanOutput, t citadel.ReferenceControl, scfID, id string, sms []citadel.SCFFrameworkMapping) (bool, error) {
	ms := make([]citadel.ControlRequirementMapping, 0, len(sms))
	for _, m := range sms {
		ms = append(ms, citadel.ControlRequirementMapping{ControlID: id, RequirementID: m.RequirementID, FrameworkID: m.FrameworkID, Source: citadel.MappingSCF})
	}
	if err := h.Store.PutControlMappings(ctx, p.FolderID, ms); err != nil {
		return false, fmt.Errorf("mappings of policy %s: %w", id, err)
	}
	now := h.Now()
	pol := citadel.AppliedControl{
		ID: id, FolderID: p.FolderID, RefID: PolicyRefID(t.ID, scfID), Name: PolicyName(t.ID, scfID), Description: t.Description,
		Category: citadel.CategoryPolicy, Origin: citadel.OriginScan, Status: citadel.ControlToDo,
		SCFControlID: scfID, ReferenceControlID: t.ID, Posture: citadel.PostureNotScanned,
		LastScanID: p.ScanID, CreatedAt: now, UpdatedAt: now,
	}
	_, err := h.Store.PutControl(ctx, pol)
	if citadel.IsConflict(err) {
		return false, nil
	}
	return err == nil, err
}
