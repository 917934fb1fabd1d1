package catalog

import (
	"bytes"
	"math"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// EvalKinds are the kinds of check an evaluation set labels: what a check is
// about, so a set can show it covers each of them.
var EvalKinds = []string{"encryption", "logging", "identity", "network", "backup", "monitoring", "configuration"}

// EvalLabel is one hand-labelled check: the SCF controls whose statement is
// what the check verifies (Controls, the most precise first) and close
// alternates a reviewer would also accept (Acceptable).
type EvalLabel struct {
	Check      string   `yaml:"check" json:"check"`
	Kind       string   `yaml:"kind" json:"kind"`
	Controls   []string `yaml:"controls" json:"controls"`
	Acceptable []string `yaml:"acceptable,omitempty" json:"acceptable,omitempty"`
	Reason     string   `yaml:"reason" json:"reason"`
}

// right reports whether a link to scf is labelled right for l: precise
// (one of Controls) or at least acceptable.
func (l EvalLabel) right(scf string) (right, precise bool) {
	for _, c := range l.Controls {
		if c == scf {
			return true, true
		}
	}
	for _, c := range l.Acceptable {
		if c == scf {
			return true, false
		}
	}
	return false, false
}

// ParseEvalSet reads an evaluation set (shared/catalog/testdata/link-eval.yaml
// is the project's): `checks:` a list of EvalLabel. Every entry needs a check,
// a known kind, at least one control and a reason; a check appears once and
// a control is never both precise and acceptable. name is used in errors.
func ParseEvalSet(name string, b []byte) ([]EvalLabel, error) {
	var f struct {
		Checks []EvalLabel `yaml:"checks"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, citadel.Invalid("evaluation set %s: invalid YAML: %v", name, err)
	}
	if len(f.Checks) == 0 {
		return nil, citadel.Invalid("evaluation set %s: no checks", name)
	}
	kinds := map[string]bool{}
	for _, k := range EvalKinds {
		kinds[k] = true
	}
	seen := map[string]bool{}
	for i, l := range f.Checks {
		where := func(format string, args ...any) error {
			return citadel.Invalid("evaluation set %s: entry %d (%q): "+format, append([]any{name, i + 1, l.Check}, args...)...)
		}
		switch {
		case l.Check == "":
			return nil, where("no check id")
		case seen[l.Check]:
			return nil, where("check labelled twice")
		case !kinds[l.Kind]:
			return nil, where("kind %q is not one of %s", l.Kind, strings.Join(EvalKinds, ", "))
		case len(l.Controls) == 0:
			return nil, where("no controls")
		case strings.TrimSpace(l.Reason) == "":
			return nil, where("no reason")
		}
		seen[l.Check] = true
		precise := map[string]bool{}
		for _, c := range l.Controls {
			precise[c] = true
		}
		for _, c := range l.Acceptable {
			if precise[c] {
				return nil, where("%s is both a control and acceptable", c)
			}
		}
	}
	return f.Checks, nil
}

// CheckEvalSet verifies an evaluation set against a catalog: every check is
// a current (not deprecated) check and every control an SCF control.
func CheckEvalSet(labels []EvalLabel, checks []citadel.SecurityCheck, scf *SCF) error {
	byID := make(map[string]citadel.SecurityCheck, len(checks))
	for _, c := range checks {
		byID[c.ID] = c
	}
	for _, l := range labels {
		c, ok := byID[l.Check]
		if !ok {
			return citadel.Invalid("evaluation set: unknown check %s", l.Check)
		}
		if c.Deprecated {
			return citadel.Invalid("evaluation set: check %s is deprecated", l.Check)
		}
		for _, id := range append(append([]string(nil), l.Controls...), l.Acceptable...) {
			if !scf.HasControl(id) {
				return citadel.Invalid("evaluation set: check %s: unknown SCF control %s (not in %s)", l.Check, id, scf.File)
			}
		}
	}
	return nil
}

// EvalFigures measure links against an evaluation set. Shares are in 0..1,
// rounded to four places.
type EvalFigures struct {
	Labelled int `json:"labelled"` // checks in the set
	Linked   int `json:"linked"`   // of them, checks with at least one link
	// Top1 is the share of linked checks whose first link is labelled
	// (precise or acceptable); Top1Precise counts precise ones only.
	Top1        float64 `json:"top1"`
	Top1Precise float64 `json:"top1_precise"`
	// Recall is the share of labelled checks with some labelled link
	// (checks without links count as misses).
	Recall float64 `json:"recall"`
	// LinkPrecision is the share of all links of the set's checks that are
	// labelled.
	LinkPrecision float64 `json:"link_precision"`
	LinksMean     float64 `json:"links_mean"`   // links per linked check
	LinksMedian   float64 `json:"links_median"` // links per linked check
	SCFReached    int     `json:"scf_reached"`  // distinct SCF controls the set's checks link to
	// Misses are the checks whose first link is not labelled, or that have
	// no link, with what they link to (best first).
	Misses []EvalMiss `json:"misses,omitempty"`
}

// EvalMiss is a check of the set whose first link is wrong or missing.
type EvalMiss struct {
	Check string   `json:"check"`
	Got   []string `json:"got"` // empty: no link
	Want  []string `json:"want"`
}

// Evaluate measures links (as Links returns them, any order; ranked by
// Rank) against labels. Links of checks the set does not label are ignored.
func Evaluate(links []citadel.CheckSCFLink, labels []EvalLabel) EvalFigures {
	byCheck := map[string][]citadel.CheckSCFLink{}
	for _, l := range links {
		byCheck[l.CheckID] = append(byCheck[l.CheckID], l)
	}
	f := EvalFigures{Labelled: len(labels)}
	var top1, top1Precise, anyRight, nLinks, linksRight int
	var counts []int
	reached := map[string]bool{}
	for _, lab := range labels {
		ls := byCheck[lab.Check]
		sort.SliceStable(ls, func(i, j int) bool { return ls[i].Rank < ls[j].Rank })
		got := make([]string, len(ls))
		hit := false
		for i, l := range ls {
			got[i] = l.SCFID
			reached[l.SCFID] = true
			if ok, _ := lab.right(l.SCFID); ok {
				hit = true
				linksRight++
			}
		}
		if hit {
			anyRight++
		}
		if len(ls) == 0 {
			f.Misses = append(f.Misses, EvalMiss{Check: lab.Check, Got: []string{}, Want: lab.Controls})
			continue
		}
		f.Linked++
		nLinks += len(ls)
		counts = append(counts, len(ls))
		ok, precise := lab.right(ls[0].SCFID)
		if ok {
			top1++
		} else {
			f.Misses = append(f.Misses, EvalMiss{Check: lab.Check, Got: got, Want: lab.Controls})
		}
		if precise {
			top1Precise++
		}
	}
	f.Top1 = share(top1, f.Linked)
	f.Top1Precise = share(top1Precise, f.Linked)
	f.Recall = share(anyRight, f.Labelled)
	f.LinkPrecision = share(linksRight, nLinks)
	f.LinksMean = share(nLinks, f.Linked)
	f.LinksMedian = median(counts)
	f.SCFReached = len(reached)
	return f
}

func share(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return math.Round(float64(n)/float64(of)*1e4) / 1e4
}
