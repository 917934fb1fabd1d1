// Package compliance builds the compliance view of a folder for one
// framework: per requirement, the controls mapped to it — the automatic
// ControlRequirementMappings merged with the controls a user assigned on the
// RequirementAssessment, each marked with its sources — with their posture
// (citadel.ComputePosture: failures approved exceptions cover counted apart,
// excepted, so a control whose only failures are excepted passes),
// the checks that make each control and why each check links to it (the why
// the controls step recorded on the link: the imported link's frameworks,
// requirements and score, or the user's correction), and coverage figures
// (requirements with at least one control, and with all their controls
// passing).
//
// The score is separate and never uses controls: it comes from the
// assessments' answers alone, weighted by each requirement's weight.
package compliance

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Store is what the view reads of the folder's data.
type Store interface {
	FrameworkMappings(ctx context.Context, folderID, frameworkID string) ([]citadel.ControlRequirementMapping, error)
	ListAssessments(ctx context.Context, folderID, frameworkID string) ([]citadel.RequirementAssessment, error)
	GetControls(ctx context.Context, ids []string) (map[string]citadel.AppliedControl, error)
	LinksOfControl(ctx context.Context, controlID string, kind citadel.LinkKind) ([]citadel.ControlLink, error)
}

// Catalog is what the view reads of the catalog.
type Catalog interface {
	GetFramework(ctx context.Context, id string) (citadel.Framework, error)
	ListRequirements(ctx context.Context, frameworkID string) ([]citadel.RequirementNode, error)
}

// MappedControl is a control mapped to a requirement. Sources lists how:
// prowler, scf, requirement (automatic) and/or manual (assigned on the
// assessment). Checks are the checks linked to the control, by id, each with
// why. Missing marks a manually assigned control that no longer exists.
type MappedControl struct {
	ControlID string                  `json:"control_id"`
	RefID     string                  `json:"ref_id,omitempty"`
	Name      string                  `json:"name,omitempty"`
	Category  citadel.ControlCategory `json:"category,omitempty"`
	Posture   citadel.Posture         `json:"security_posture"`
	Sources   []citadel.MappingSource `json:"sources"`
	Checks    []LinkedCheck           `json:"checks"`
	Missing   bool                    `json:"missing,omitempty"`
}

// LinkedCheck is a check linked to a control. Origin is the link's: scan
// (Why says why the check links to the control) or manual (a user linked
// it; no why).
type LinkedCheck struct {
	CheckID string           `json:"check_id"`
	Origin  citadel.Origin   `json:"origin"`
	Why     *citadel.LinkWhy `json:"why,omitempty"`
}

// Requirement is one requirement of the view.
type Requirement struct {
	RequirementID string `json:"requirement_id"`
	// AssessmentID is the folder's assessment of the requirement
	// (citadel.RequirementAssessmentID), the id PUT
	// /requirement-assessments/{id} takes, assessed or not.
	AssessmentID string                   `json:"assessment_id"`
	RefID        string                   `json:"ref_id"`
	Name         string                   `json:"name,omitempty"`
	Assessable   bool                     `json:"assessable"`
	Weight       int                      `json:"weight"`
	Controls     []MappedControl          `json:"controls"`
	AllPassing   bool                     `json:"all_passing"`
	Result       citadel.AssessmentResult `json:"result"`
	// Score is the answers' score (0..1), nil when no answer is scored.
	Score *float64 `json:"score,omitempty"`
}

// Coverage counts the assessable requirements, those with at least one
// control and those whose controls all pass.
type Coverage struct {
	Requirements      int                     `json:"requirements"`
	WithControls      int                     `json:"with_controls"`
	AllPassing        int                     `json:"all_passing"`
	WithControlsPct   float64                 `json:"with_controls_pct"`
	AllPassingPct     float64                 `json:"all_passing_pct"`
	ControlsByPosture map[citadel.Posture]int `json:"controls_by_posture"`
	DistinctControls  int                     `json:"distinct_controls"`
}

// Score is the weighted score of the answered requirements (0..100).
type Score struct {
	Value    float64 `json:"value"`
	Answered int     `json:"answered"`
	// Unscored counts answers that are neither yes/partial/no nor n/a.
	Unscored int `json:"unscored"`
}

// View is a folder's compliance view of a framework.
type View struct {
	FolderID string `json:"folder_id"`
	// IntegrationID, when set, narrows the view to one integration of the
	// folder: each control's posture is what that integration's results
	// alone say (Window.Integration).
	IntegrationID string        `json:"integration_id,omitempty"`
	FrameworkID   string        `json:"framework_id"`
	Framework     string        `json:"framework"`
	Requirements  []Requirement `json:"requirements"`
	Coverage      Coverage      `json:"coverage"`
	Score         Score         `json:"score"`
}

// Build assembles the view, every requirement listed.
func Build(ctx context.Context, store Store, cat Catalog, folderID, frameworkID string) (View, error) {
	v, _, err := BuildWindow(ctx, store, cat, folderID, frameworkID, Window{})
	return v, err
}

// Window selects the requirements a view lists, by id: those after After
// ("" from the first), at most Limit (0: all). Coverage and score always
// count the whole framework; only the listed requirements' controls have
// their checks read.
type Window struct {
	After string
	Limit int
	// Integration narrows the view to one integration of the folder: a
	// control's counts and posture are that integration's contribution
	// alone (citadel.AppliedControl.Integrations), a control it has no
	// results for is not scanned. The mappings and assessments stay the
	// folder's.
	Integration string
	// Members, with Integration an organization integration, are its
	// member integrations: the view is the organization's, its own
	// contribution (its account, when in scope) and every member's.
	Members []string
}

// BuildWindow assembles the view with the requirements of w listed; more
// says whether requirements follow the last one listed.
func BuildWindow(ctx context.Context, store Store, cat Catalog, folderID, frameworkID string, w Window) (v View, more bool, err error) {
	v = View{FolderID: folderID, FrameworkID: frameworkID, IntegrationID: w.Integration}
	if folderID == "" || frameworkID == "" {
		return v, false, citadel.Invalid("compliance view needs a folder and a framework")
	}
	v, more, err = build(ctx, store, cat, v, w)
	if err != nil {
		return v, false, fmt.Errorf("compliance view: %w", err)
	}
	return v, more, nil
}

func build(ctx context.Context, store Store, cat Catalog, v View, w Window) (View, bool, error) {
	folderID, frameworkID := v.FolderID, v.FrameworkID
	fw, err := cat.GetFramework(ctx, frameworkID)
	if err != nil {
		return v, false, err
	}
	v.Framework = fw.Name
	reqs, err := cat.ListRequirements(ctx, frameworkID)
	if err != nil {
		return v, false, err
	}
	slices.SortStableFunc(reqs, func(a, b citadel.RequirementNode) int { return strings.Compare(a.ID, b.ID) })
	lo, hi := 0, len(reqs)
	if w.After != "" {
		lo, _ = slices.BinarySearchFunc(reqs, w.After, func(r citadel.RequirementNode, id string) int { return strings.Compare(r.ID, id) })
		if lo < len(reqs) && reqs[lo].ID == w.After {
			lo++
		}
	}
	if w.Limit > 0 {
		hi = min(hi, lo+w.Limit)
	}
	mappings, err := store.FrameworkMappings(ctx, folderID, frameworkID)
	if err != nil {
		return v, false, err
	}
	assessments, err := store.ListAssessments(ctx, folderID, frameworkID)
	if err != nil {
		return v, false, err
	}
	// requirement → control → sources
	sources := map[string]map[string][]citadel.MappingSource{}
	addSource := func(req, ctl string, s citadel.MappingSource) {
		if sources[req] == nil {
			sources[req] = map[string][]citadel.MappingSource{}
		}
		if !slices.Contains(sources[req][ctl], s) {
			sources[req][ctl] = append(sources[req][ctl], s)
		}
	}
	var ids []string
	for _, m := range mappings {
		addSource(m.RequirementID, m.ControlID, m.Source)
		ids = append(ids, m.ControlID)
	}
	byReq := map[string]citadel.RequirementAssessment{}
	for _, a := range assessments {
		byReq[a.RequirementID] = a
		for _, ctl := range a.AppliedControlIDs {
			addSource(a.RequirementID, ctl, citadel.MappingManual)
			ids = append(ids, ctl)
		}
	}
	controls, err := store.GetControls(ctx, ids)
	if err != nil {
		return v, false, err
	}
	if w.Integration != "" {
		of := append([]string{w.Integration}, w.Members...)
		for id, c := range controls {
			controls[id] = OfIntegration(c, of...)
		}
	}
	listed := map[string]citadel.AppliedControl{}
	for _, r := range reqs[lo:hi] {
		for ctl := range sources[r.ID] {
			if c, ok := controls[ctl]; ok {
				listed[ctl] = c
			}
		}
	}
	checks, err := checksOf(ctx, store, listed)
	if err != nil {
		return v, false, err
	}

	v.Coverage.ControlsByPosture = map[citadel.Posture]int{}
	counted := map[string]bool{}
	var weighted, weights float64
	for i, r := range reqs {
		rv := Requirement{RequirementID: r.ID, AssessmentID: citadel.RequirementAssessmentID(folderID, r.ID), RefID: r.RefID, Name: r.Name, Assessable: r.Assessable, Weight: r.Weight, Result: citadel.ResultNotAssessed, Controls: []MappedControl{}}
		for ctl, srcs := range sources[r.ID] {
			slices.Sort(srcs)
			mc := MappedControl{ControlID: ctl, Sources: srcs, Posture: citadel.PostureNotScanned, Checks: []LinkedCheck{}}
			if c, ok := controls[ctl]; ok {
				mc.RefID, mc.Name, mc.Category, mc.Posture = c.RefID, c.Name, c.Category, c.Posture
				if cs := checks[ctl]; cs != nil {
					mc.Checks = cs
				}
				if c.IsPolicy() {
					mc.Posture = "" // a policy has no check results: it neither passes nor fails
				}
			} else {
				mc.Missing = true
			}
			rv.Controls = append(rv.Controls, mc)
			if !counted[ctl] && !mc.Missing {
				counted[ctl] = true
				if mc.Posture != "" {
					v.Coverage.ControlsByPosture[mc.Posture]++
				}
			}
		}
		slices.SortFunc(rv.Controls, func(a, b MappedControl) int { return strings.Compare(a.RefID+a.ControlID, b.RefID+b.ControlID) })
		rv.AllPassing = allPassing(rv.Controls)
		if a, ok := byReq[r.ID]; ok {
			rv.Result = a.Result
			score, unscored, ok := AnswersScore(a.Answers)
			v.Score.Unscored += unscored
			if ok {
				rv.Score = &score
				w := float64(r.Weight)
				if w <= 0 {
					w = 1
				}
				weighted += w * score
				weights += w
				v.Score.Answered++
			}
		}
		if r.Assessable {
			v.Coverage.Requirements++
			if hasControls(rv.Controls) {
				v.Coverage.WithControls++
			}
			if rv.AllPassing {
				v.Coverage.AllPassing++
			}
		}
		if i >= lo && i < hi {
			v.Requirements = append(v.Requirements, rv)
		}
	}
	v.Coverage.DistinctControls = len(counted)
	if n := v.Coverage.Requirements; n > 0 {
		v.Coverage.WithControlsPct = pct(v.Coverage.WithControls, n)
		v.Coverage.AllPassingPct = pct(v.Coverage.AllPassing, n)
	}
	if weights > 0 {
		v.Score.Value = math.Round(1000*weighted/weights) / 10
	}
	return v, hi < len(reqs), nil
}

// OfIntegration is c as the results of integrations alone make it (one
// account, or an organization and its members): its counts and posture
// from their contributions, not scanned when they made none.
func OfIntegration(c citadel.AppliedControl, integrations ...string) citadel.AppliedControl {
	own := map[string]citadel.IntegrationPosture{}
	for _, id := range integrations {
		if p, ok := c.Integrations[id]; ok {
			own[id] = p
		}
	}
	c.Integrations = own
	c.SumIntegrations()
	return c
}

// checksOf reads the check links of the controls (policies have none), a
// few controls at a time.
func checksOf(ctx context.Context, store Store, controls map[string]citadel.AppliedControl) (map[string][]LinkedCheck, error) {
	out := make(map[string][]LinkedCheck, len(controls))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for id, c := range controls {
		if c.IsPolicy() {
			continue
		}
		g.Go(func() error {
			links, err := store.LinksOfControl(gctx, id, citadel.LinkCheck)
			if err != nil {
				return fmt.Errorf("checks of control %s: %w", id, err)
			}
			cs := make([]LinkedCheck, len(links))
			for i, l := range links {
				cs[i] = LinkedCheck{CheckID: l.TargetID, Origin: l.Origin, Why: l.Why}
			}
			slices.SortFunc(cs, func(a, b LinkedCheck) int { return strings.Compare(a.CheckID, b.CheckID) })
			mu.Lock()
			out[id] = cs
			mu.Unlock()
			return nil
		})
	}
	return out, g.Wait()
}

func hasControls(cs []MappedControl) bool {
	for _, c := range cs {
		if !c.Missing {
			return true
		}
	}
	return false
}

// allPassing: at least one scanned control, and every control with a
// posture (policies have none) passing.
func allPassing(cs []MappedControl) bool {
	scanned := 0
	for _, c := range cs {
		if c.Missing || c.Posture == "" {
			continue
		}
		if c.Posture != citadel.PosturePassing {
			return false
		}
		scanned++
	}
	return scanned > 0
}

func pct(n, of int) float64 { return math.Round(1000*float64(n)/float64(of)) / 10 }

// AnswersScore scores an assessment's answers: yes 1, partial 0.5, no 0;
// n/a and empty answers do not count; any other answer is unscored. ok is
// false when no answer counts.
func AnswersScore(answers map[string]string) (score float64, unscored int, ok bool) {
	var sum float64
	n := 0
	for _, a := range answers {
		switch strings.ToLower(strings.TrimSpace(a)) {
		case "yes", "true", "compliant", "implemented":
			sum++
			n++
		case "partial", "partially", "partially_compliant":
			sum += 0.5
			n++
		case "no", "false", "non_compliant", "not_implemented":
			n++
		case "", "n/a", "na", "not_applicable":
		default:
			unscored++
		}
	}
	if n == 0 {
		return 0, unscored, false
	}
	return sum / float64(n), unscored, true
}
