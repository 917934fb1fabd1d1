package controls

import (
	"maps"
	"slices"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Why each check links to a control. A scan's check link carries the why of
// the effective check → SCF link it followed (citadel.WhyOfLink) or of
// Prowler's requirement mapping (citadel.WhyOfRequirement). The group's
// digest covers the whys, so a correction or a re-import that changes one
// makes the next scan read the control's links and rewrite exactly the
// links whose why changed; a link the catalog no longer makes (a removing
// correction, a re-import without it) is deleted, with its check dropped
// from the control's security checks. Links a user made are never touched.

// stillLinked reports whether the catalog, as corrected, still links check
// to the scan control c: an SCF control through an effective link of the
// check, a requirement's control through Prowler's mapping of a check
// without SCF links. A check gone from the catalog, and a control of
// neither kind, are left as they are (true).
func (gr *grouping) stillLinked(c citadel.AppliedControl, check string) bool {
	chk, known := gr.checks[check]
	if !known {
		return true
	}
	links := gr.links[check]
	switch {
	case c.SCFControlID != "" && !c.IsPolicy():
		return slices.ContainsFunc(links, func(l citadel.EffectiveLink) bool { return l.SCFID == c.SCFControlID })
	case c.SourceRequirementID != "":
		return len(links) == 0 && slices.Contains(chk.MappedRequirements, c.SourceRequirementID)
	}
	return true
}

// stillLinkedChecks keeps the checks the catalog still links to c.
func (gr *grouping) stillLinkedChecks(c citadel.AppliedControl, checks []string) []string {
	return slices.DeleteFunc(slices.Clone(checks), func(check string) bool { return !gr.stillLinked(c, check) })
}

// checkLinkChanges compares a control's stored links (by linkKey) with the
// group's checks (g nil: the integration has no results for the control any
// more): the check links to put (missing, or a scan's link whose why
// changed) and the scan's check links the catalog no longer makes.
func (gr *grouping) checkLinkChanges(c citadel.AppliedControl, g *group, have map[string]citadel.ControlLink) (put, gone []citadel.ControlLink) {
	if g != nil {
		for _, check := range sortedKeys(g.checks) {
			why := g.whys[check]
			want := citadel.ControlLink{ControlID: c.ID, Kind: citadel.LinkCheck, TargetID: check, Origin: citadel.OriginScan, Why: &why}
			old, ok := have[linkKey(citadel.LinkCheck, check)]
			switch {
			case !ok:
				put = append(put, want)
			case old.Origin == citadel.OriginScan && (old.Why == nil || !old.Why.Equal(why)):
				put = append(put, want)
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(have)) {
		l := have[k]
		if l.Kind != citadel.LinkCheck || l.Origin != citadel.OriginScan || (g != nil && g.checks[l.TargetID]) {
			continue
		}
		if !gr.stillLinked(c, l.TargetID) {
			gone = append(gone, l)
		}
	}
	return put, gone
}

func linkKey(kind citadel.LinkKind, target string) string { return string(kind) + "\x00" + target }
