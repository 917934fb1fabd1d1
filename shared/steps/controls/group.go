package controls

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Catalog is what the step reads of the catalog. The checks, links and
// framework mappings are read whole (a few pages each) rather than per check
// or per SCF control: a handful of requests instead of hundreds. The links
// are the effective ones: the imported links as users corrected them.
type Catalog interface {
	ListChecks(ctx context.Context) ([]citadel.SecurityCheck, error)
	ListEffectiveSCFLinks(ctx context.Context) ([]citadel.EffectiveLink, error)
	ListSCFMappings(ctx context.Context) ([]citadel.SCFFrameworkMapping, error)
	GetSCFControl(ctx context.Context, id string) (citadel.SCFControl, error)
	GetRequirement(ctx context.Context, requirementID string) (citadel.RequirementNode, error)
}

// group is what one integration's results say about one control: stage A
// groups by SCF control, stage B by source requirement.
type group struct {
	controlID string
	scfID     string // stage A
	reqID     string // stage B
	checks    map[string]bool
	whys      map[string]citadel.LinkWhy // by check: why it links to the control
	assets    map[string]bool
	counts    citadel.IntegrationPosture
	mappings  []citadel.ControlRequirementMapping // set by resolve
}

func newGroup(id string) *group {
	return &group{controlID: id, checks: map[string]bool{}, whys: map[string]citadel.LinkWhy{}, assets: map[string]bool{}}
}

func (g *group) add(r citadel.CheckResult) {
	g.checks[r.CheckID] = true
	g.assets[r.AssetID] = true
	switch r.Effective() { // a failure an approved exception covers counts apart
	case citadel.StatusPass:
		g.counts.Passed++
	case citadel.StatusFail:
		g.counts.Failed++
	case citadel.StatusExcepted:
		g.counts.Excepted++
	case citadel.StatusError:
		g.counts.Errored++
	default:
		g.counts.NotApplicable++
	}
}

// grouping is the result of sorting an integration's results into groups.
type grouping struct {
	folderID      string
	scf           map[string]*group // by SCF id
	req           map[string]*group // by requirement id
	unknownChecks int               // results whose check is not in the catalog
	unmapped      int               // results of checks with no SCF link and no requirement
	checks        map[string]citadel.SecurityCheck
	links         map[string][]citadel.EffectiveLink       // by check, best first
	scfMappings   map[string][]citadel.SCFFrameworkMapping // by SCF control, read when first needed
}

func newGrouping(folderID string, checks []citadel.SecurityCheck, links []citadel.EffectiveLink) *grouping {
	g := &grouping{folderID: folderID, scf: map[string]*group{}, req: map[string]*group{},
		checks: make(map[string]citadel.SecurityCheck, len(checks)), links: map[string][]citadel.EffectiveLink{}}
	for _, c := range checks {
		g.checks[c.ID] = c
	}
	for _, l := range links {
		g.links[l.CheckID] = append(g.links[l.CheckID], l)
	}
	for _, ls := range g.links {
		slices.SortFunc(ls, func(a, b citadel.EffectiveLink) int { return a.Rank - b.Rank })
	}
	return g
}

// add sorts one result: by each SCF control its check links to (stage A),
// else by each requirement its check maps to (stage B).
func (gr *grouping) add(r citadel.CheckResult) {
	check, ok := gr.checks[r.CheckID]
	if !ok {
		gr.unknownChecks++
		return
	}
	if links := gr.links[r.CheckID]; len(links) > 0 {
		for _, l := range links {
			g := gr.scf[l.SCFID]
			if g == nil {
				g = newGroup(citadel.AppliedControlIDForSCF(gr.folderID, l.SCFID))
				g.scfID = l.SCFID
				gr.scf[l.SCFID] = g
			}
			if _, ok := g.whys[r.CheckID]; !ok {
				g.whys[r.CheckID] = citadel.WhyOfLink(l)
			}
			g.add(r)
		}
		return
	}
	if len(check.MappedRequirements) == 0 {
		gr.unmapped++
		return
	}
	for _, req := range check.MappedRequirements {
		g := gr.req[req]
		if g == nil {
			g = newGroup(citadel.AppliedControlIDForRequirement(gr.folderID, req))
			g.reqID = req
			gr.req[req] = g
		}
		if _, ok := g.whys[r.CheckID]; !ok {
			g.whys[r.CheckID] = citadel.WhyOfRequirement(req)
		}
		g.add(r)
	}
}

// scfRequirements are the requirements of a stage A group: the union of its
// checks' mapped requirements (Prowler's own, primary) or, when that is
// empty, the SCF control's framework mappings (fallback).
func (gr *grouping) scfRequirements(ctx context.Context, cat Catalog, g *group) error {
	seen := map[string]bool{}
	for c := range g.checks {
		for _, req := range gr.checks[c].MappedRequirements {
			if !seen[req] {
				seen[req] = true
				fw, _, _ := citadel.SplitRequirementID(req)
				g.mappings = append(g.mappings, citadel.ControlRequirementMapping{ControlID: g.controlID, RequirementID: req, FrameworkID: fw, Source: citadel.MappingProwler})
			}
		}
	}
	if len(g.mappings) == 0 {
		if gr.scfMappings == nil {
			all, err := cat.ListSCFMappings(ctx)
			if err != nil {
				return fmt.Errorf("SCF framework mappings: %w", err)
			}
			gr.scfMappings = map[string][]citadel.SCFFrameworkMapping{}
			for _, m := range all {
				gr.scfMappings[m.SCFID] = append(gr.scfMappings[m.SCFID], m)
			}
		}
		for _, m := range gr.scfMappings[g.scfID] {
			if !seen[m.RequirementID] {
				seen[m.RequirementID] = true
				g.mappings = append(g.mappings, citadel.ControlRequirementMapping{ControlID: g.controlID, RequirementID: m.RequirementID, FrameworkID: m.FrameworkID, Source: citadel.MappingSCF})
			}
		}
	}
	sortMappings(g.mappings)
	return nil
}

func sortMappings(ms []citadel.ControlRequirementMapping) {
	slices.SortFunc(ms, func(a, b citadel.ControlRequirementMapping) int {
		return strings.Compare(a.RequirementID, b.RequirementID)
	})
}

// digest identifies a group's links (with the why of each check) and
// mappings: an unchanged digest means nothing to add or rewrite, so a steady
// rescan reads no links.
func (g *group) digest() string {
	h := sha256.New()
	for _, c := range sortedKeys(g.checks) {
		why, _ := json.Marshal(g.whys[c]) // a struct of strings, numbers and a time: never fails
		fmt.Fprintf(h, "c\x00%s\x00%s\n", c, why)
	}
	for _, a := range sortedKeys(g.assets) {
		fmt.Fprintf(h, "a\x00%s\n", a)
	}
	for _, m := range g.mappings {
		fmt.Fprintf(h, "m\x00%s\x00%s\n", m.RequirementID, m.Source)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// SCFRefID and SCFName name a stage A control: "SCF-IAC-01", "SCF-IAC-01: <title>".
func SCFRefID(scfID string) string { return "SCF-" + scfID }
func SCFName(scf citadel.SCFControl) string {
	if scf.Title == "" {
		return SCFRefID(scf.ID)
	}
	return SCFRefID(scf.ID) + ": " + scf.Title
}

// RequirementRefID names a stage B control after its source requirement:
// "REQ-<FRAMEWORK>-<ref>", e.g. REQ-CIS_3.0-1.14. Framework ids never contain
// '-', so the ref id is unique per requirement and stable across scans.
func RequirementRefID(requirementID string) string {
	fw, ref, ok := citadel.SplitRequirementID(requirementID)
	if !ok {
		return "REQ-" + requirementID
	}
	return "REQ-" + strings.ToUpper(fw) + "-" + ref
}

// RequirementName is "<ref id>: <requirement name>", falling back to its
// description's first line, then to the ref id alone.
func RequirementName(requirementID string, req citadel.RequirementNode) string {
	title := strings.TrimSpace(req.Name)
	if title == "" {
		title, _, _ = strings.Cut(strings.TrimSpace(req.Description), "\n")
	}
	if r := []rune(title); len(r) > 160 {
		title = strings.TrimSpace(string(r[:157])) + "..."
	}
	if title == "" {
		return RequirementRefID(requirementID)
	}
	return RequirementRefID(requirementID) + ": " + title
}
