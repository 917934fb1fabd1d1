package catalog

import (
	"sort"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// JoinReport says, per mapping file, how well its requirement ids joined
// Prowler's requirements (see citadel.CatalogJoinReport).
type JoinReport = citadel.CatalogJoinReport

// relRank orders relationships from strongest to weakest.
func relRank(r citadel.Relationship) int {
	switch r {
	case citadel.RelEqual:
		return 3
	case citadel.RelSubset, citadel.RelSuperset:
		return 2
	case citadel.RelIntersect:
		return 1
	}
	return 0
}

// Join maps every SCF mapping entry to the Prowler requirements it names,
// through NormalizeRef and the requirement's join candidates (see
// joinCandidates). One SCFFrameworkMapping per (SCF control, requirement);
// when several entries give the same pair the strongest relationship wins.
func Join(p *Prowler, scf *SCF) ([]citadel.SCFFrameworkMapping, []JoinReport) {
	byFw := map[string][]citadel.RequirementNode{}
	for _, r := range p.Requirements {
		byFw[r.FrameworkID] = append(byFw[r.FrameworkID], r)
	}
	type pair struct{ scf, req string }
	best := map[pair]citadel.SCFFrameworkMapping{}
	var reports []JoinReport
	for _, mf := range scf.Mappings {
		rep := JoinReport{File: mappingName(mf.File), Framework: mf.Framework}
		refs := map[string]bool{}
		for _, e := range mf.Entries {
			refs[e.Ref] = true
		}
		rep.MappingRefs = len(refs)
		fwID, known := ProwlerFrameworkOf[mf.Framework]
		reqs := byFw[fwID]
		switch {
		case !known:
			rep.Skipped = "no Prowler framework is known for " + mf.Framework
		case len(reqs) == 0:
			rep.Skipped = "Prowler has no framework " + fwID
		}
		if rep.Skipped != "" {
			rep.MappingUnmatched = sortedKeys(refs)
			reports = append(reports, rep)
			continue
		}
		rep.FrameworkID = fwID
		// The mapping side's normalised refs, then each Prowler requirement's
		// first candidate that the file knows.
		normRefs := map[string][]string{}
		for ref := range refs {
			n := NormalizeRef(ref)
			normRefs[n] = append(normRefs[n], ref)
		}
		reqsOfRef := map[string][]string{} // file ref → Prowler requirement ids
		matchedReq := map[string]bool{}
		crossed := map[pair]bool{} // (file ref, requirement) joined through the crosswalk
		for _, r := range reqs {
			for _, cand := range p.joinKeys[r.ID] {
				if fileRefs, ok := normRefs[cand]; ok {
					for _, fr := range fileRefs {
						reqsOfRef[fr] = append(reqsOfRef[fr], r.ID)
					}
					matchedReq[r.ID] = true
					break
				}
			}
			if !matchedReq[r.ID] && crosswalkJoin(crosswalks[fwID], p.joinKeys[r.ID], normRefs, func(fr string) {
				reqsOfRef[fr] = append(reqsOfRef[fr], r.ID)
				crossed[pair{fr, r.ID}] = true
			}) {
				matchedReq[r.ID] = true
				rep.ProwlerCrosswalked = append(rep.ProwlerCrosswalked, r.RefID)
			}
		}
		for _, e := range mf.Entries {
			for _, reqID := range reqsOfRef[e.Ref] {
				rel := e.Relationship
				if crossed[pair{e.Ref, reqID}] {
					// Old id ∩ new id, new id ~ SCF control: at best they intersect.
					rel = citadel.RelIntersect
				}
				k := pair{e.SCFID, reqID}
				if cur, ok := best[k]; ok && relRank(cur.Relationship) >= relRank(rel) {
					continue
				}
				best[k] = citadel.SCFFrameworkMapping{SCFID: e.SCFID, RequirementID: reqID, FrameworkID: fwID, Relationship: rel}
			}
		}
		rep.ProwlerRequirements = len(reqs)
		rep.ProwlerMatched = len(matchedReq)
		if len(reqs) > 0 {
			rep.JoinRate = float64(len(matchedReq)) / float64(len(reqs))
		}
		for _, r := range reqs {
			if !matchedReq[r.ID] {
				rep.ProwlerUnmatched = append(rep.ProwlerUnmatched, r.RefID)
			}
		}
		for ref := range refs {
			if len(reqsOfRef[ref]) > 0 {
				rep.MappingMatched++
			} else {
				rep.MappingUnmatched = append(rep.MappingUnmatched, ref)
			}
		}
		sort.Strings(rep.MappingUnmatched)
		reports = append(reports, rep)
	}
	out := make([]citadel.SCFFrameworkMapping, 0, len(best))
	for _, m := range best {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].SCFID != out[j].SCFID {
			return out[i].SCFID < out[j].SCFID
		}
		return out[i].RequirementID < out[j].RequirementID
	})
	count := map[string]int{}
	for _, m := range out {
		count[m.FrameworkID]++
	}
	for i := range reports {
		if reports[i].FrameworkID != "" {
			reports[i].Mappings = count[reports[i].FrameworkID]
		}
	}
	return out, reports
}

// crosswalkJoin joins a requirement that matched nothing directly through
// the framework's crosswalk: the first join key the crosswalk knows gives
// the newer ids, and each one the mapping file knows is joined (on). It
// reports whether any joined.
func crosswalkJoin(cw *Crosswalk, keys []string, normRefs map[string][]string, on func(fileRef string)) bool {
	if cw == nil {
		return false
	}
	for _, k := range keys {
		tos, ok := cw.norm[k]
		if !ok {
			continue
		}
		joined := false
		for _, to := range tos {
			for _, fr := range normRefs[to] {
				on(fr)
				joined = true
			}
		}
		return joined
	}
	return false
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
