package catalog

import (
	"math"
	"sort"
	"strings"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// FrameworkBase is what each supporting framework adds to a link's score
// before the quality of its best path.
const FrameworkBase = 0.4

// DefaultMaxLinks is how many SCF controls a check keeps by default.
const DefaultMaxLinks = 3

// JoinOptions tune Candidates.
type JoinOptions struct {
	// MaxPerCheck keeps at most this many links per check (default 3).
	MaxPerCheck int
	// MinShare drops links scoring below this share of the check's best link
	// (default 0.5; negative keeps every link up to MaxPerCheck).
	MinShare float64
}

func (o JoinOptions) withDefaults() JoinOptions {
	if o.MaxPerCheck <= 0 {
		o.MaxPerCheck = DefaultMaxLinks
	}
	if o.MinShare == 0 {
		o.MinShare = 0.5
	}
	return o
}

// RelationshipWeight is how much an STRM relationship says that the
// requirement and the SCF control are about the same thing.
func RelationshipWeight(r citadel.Relationship) float64 {
	switch r {
	case citadel.RelEqual:
		return 1
	case citadel.RelSubset, citadel.RelSuperset:
		return 0.6
	case citadel.RelIntersect:
		return 0.3
	}
	return 0
}

// Precision is how specific a requirement is: 1 for a requirement that maps
// to one SCF control and lists one check, falling with the logarithm of
// both, so a broad criterion (SOC 2 CC7.2: dozens of SCF controls and
// checks) counts far less than a control-level requirement.
func Precision(scfControls, checks int) float64 {
	if scfControls < 1 {
		scfControls = 1
	}
	if checks < 1 {
		checks = 1
	}
	return 1 / ((1 + math.Log(float64(scfControls))) * (1 + 0.5*math.Log(float64(checks))))
}

// Candidates are the SCF controls the framework join offers each check: the
// paths check → requirement (compliance files) → SCF control (mapping
// files), scored. Rank orders them with what the check is about; the import
// stores Rank's links.
//
// A path's quality is RelationshipWeight × Precision of its requirement
// (0..1). A framework supports a (check, SCF control) pair with its best
// path and adds FrameworkBase plus that path's quality to the pair's score:
// independent frameworks that agree add up, and strength and precision
// decide between pairs with the same support (and let one precise, equal
// path beat two broad, intersecting ones). Each check keeps its best
// MaxPerCheck links that score at least MinShare of its best one; ties break
// on more frameworks, then the SCF id. Each link names the frameworks and
// the requirements of its paths.
func Candidates(checks []citadel.SecurityCheck, reqs []citadel.RequirementNode, maps []citadel.SCFFrameworkMapping, opt JoinOptions) []citadel.CheckSCFLink {
	opt = opt.withDefaults()
	scfOfReq := map[string][]citadel.SCFFrameworkMapping{}
	for _, m := range maps {
		scfOfReq[m.RequirementID] = append(scfOfReq[m.RequirementID], m)
	}
	// Requirements of one framework with the very same SCF mappings are one
	// group: Prowler splits some requirements into an item per check (PCI
	// 1.2.5 → 1.2.5.1, 1.2.5.2 ...), and a requirement's breadth is the
	// checks of its whole group.
	groupChecks := map[string]map[string]bool{}
	groupOf := map[string]string{}
	for _, r := range reqs {
		ms := scfOfReq[r.ID]
		if len(ms) == 0 {
			continue
		}
		sig := make([]string, len(ms))
		for i, m := range ms {
			sig[i] = m.SCFID + "/" + string(m.Relationship)
		}
		sort.Strings(sig)
		g := r.FrameworkID + "|" + strings.Join(sig, ",")
		groupOf[r.ID] = g
		if groupChecks[g] == nil {
			groupChecks[g] = map[string]bool{}
		}
		for _, c := range r.Checks {
			groupChecks[g][c] = true
		}
	}
	nChecks := map[string]int{}
	for id, g := range groupOf {
		nChecks[id] = len(groupChecks[g])
	}
	var out []citadel.CheckSCFLink
	for _, c := range checks {
		type support struct {
			best map[string]float64 // framework → best path quality
			reqs map[string]bool
		}
		cand := map[string]*support{}
		for _, reqID := range c.MappedRequirements {
			ms := scfOfReq[reqID]
			prec := Precision(len(ms), nChecks[reqID])
			for _, m := range ms {
				s := cand[m.SCFID]
				if s == nil {
					s = &support{best: map[string]float64{}, reqs: map[string]bool{}}
					cand[m.SCFID] = s
				}
				q := RelationshipWeight(m.Relationship) * prec
				if q > s.best[m.FrameworkID] {
					s.best[m.FrameworkID] = q
				}
				s.reqs[reqID] = true
			}
		}
		links := make([]citadel.CheckSCFLink, 0, len(cand))
		for scf, s := range cand {
			l := citadel.CheckSCFLink{CheckID: c.ID, SCFID: scf}
			for fw, q := range s.best {
				l.Score += FrameworkBase + q
				l.Frameworks = append(l.Frameworks, fw)
			}
			l.Score = math.Round(l.Score*1e4) / 1e4
			sort.Strings(l.Frameworks)
			l.Requirements = sortedKeys(s.reqs)
			links = append(links, l)
		}
		sort.Slice(links, func(i, j int) bool {
			a, b := links[i], links[j]
			if a.Score != b.Score {
				return a.Score > b.Score
			}
			if len(a.Frameworks) != len(b.Frameworks) {
				return len(a.Frameworks) > len(b.Frameworks)
			}
			return a.SCFID < b.SCFID
		})
		for i, l := range links {
			if i >= opt.MaxPerCheck || (opt.MinShare > 0 && l.Score < opt.MinShare*links[0].Score) {
				break
			}
			l.Rank = i + 1
			out = append(out, l)
		}
	}
	return out
}

// LinkStats summarises a set of links.
type LinkStats struct {
	Checks            int     `json:"checks"`              // checks considered
	ChecksLinked      int     `json:"checks_linked"`       // checks with at least one SCF control
	LinksMedian       float64 `json:"links_median"`        // links per linked check
	LinksMax          int     `json:"links_max"`           // most links of one check
	SCFReached        int     `json:"scf_reached"`         // distinct SCF controls linked
	Links             int     `json:"links"`               // all links
	NaiveMedian       float64 `json:"naive_median"`        // SCF controls per linked check in the naive union
	NaiveSCFReached   int     `json:"naive_scf_reached"`   // SCF controls the naive union reaches
	NaiveChecksLinked int     `json:"naive_checks_linked"` // checks the naive union links
}

// Stats measures links (and, for comparison, the naive union they came
// from: every SCF control on any path).
func Stats(checks []citadel.SecurityCheck, maps []citadel.SCFFrameworkMapping, links []citadel.CheckSCFLink) LinkStats {
	st := LinkStats{Checks: len(checks), Links: len(links)}
	per := map[string]int{}
	scfs := map[string]bool{}
	for _, l := range links {
		per[l.CheckID]++
		scfs[l.SCFID] = true
	}
	st.ChecksLinked, st.SCFReached = len(per), len(scfs)
	counts := make([]int, 0, len(per))
	for _, n := range per {
		counts = append(counts, n)
		if n > st.LinksMax {
			st.LinksMax = n
		}
	}
	st.LinksMedian = median(counts)

	scfOfReq := map[string][]string{}
	for _, m := range maps {
		scfOfReq[m.RequirementID] = append(scfOfReq[m.RequirementID], m.SCFID)
	}
	naive := map[string]bool{}
	var naiveCounts []int
	for _, c := range checks {
		set := map[string]bool{}
		for _, r := range c.MappedRequirements {
			for _, s := range scfOfReq[r] {
				set[s] = true
				naive[s] = true
			}
		}
		if len(set) > 0 {
			naiveCounts = append(naiveCounts, len(set))
		}
	}
	st.NaiveMedian, st.NaiveSCFReached, st.NaiveChecksLinked = median(naiveCounts), len(naive), len(naiveCounts)
	return st
}

func median(xs []int) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]int(nil), xs...)
	sort.Ints(s)
	n := len(s)
	if n%2 == 1 {
		return float64(s[n/2])
	}
	return float64(s[n/2-1]+s[n/2]) / 2
}
