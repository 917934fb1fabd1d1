package catalog

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func link(check, scf string, rank int) citadel.CheckSCFLink {
	return citadel.CheckSCFLink{CheckID: check, SCFID: scf, Rank: rank}
}

func TestEvaluate(t *testing.T) {
	labels := []EvalLabel{
		{Check: "a", Kind: "encryption", Controls: []string{"CRY-05"}, Acceptable: []string{"CRY-05.1"}, Reason: "r"},
		{Check: "b", Kind: "identity", Controls: []string{"IAC-06", "IAC-06.1"}, Reason: "r"},
		{Check: "c", Kind: "logging", Controls: []string{"MON-03"}, Reason: "r"},
	}
	for _, tc := range []struct {
		name  string
		links []citadel.CheckSCFLink
		want  EvalFigures
	}{
		{
			name:  "no links at all",
			links: nil,
			want: EvalFigures{Labelled: 3, Misses: []EvalMiss{
				{Check: "a", Got: []string{}, Want: []string{"CRY-05"}},
				{Check: "b", Got: []string{}, Want: []string{"IAC-06", "IAC-06.1"}},
				{Check: "c", Got: []string{}, Want: []string{"MON-03"}},
			}},
		},
		{
			name: "all precise first, by rank not by order",
			links: []citadel.CheckSCFLink{
				link("a", "CRY-01", 2), link("a", "CRY-05", 1),
				link("b", "IAC-06.1", 1),
				link("c", "MON-03", 1), link("c", "MON-02", 2), link("c", "MON-01", 3),
			},
			want: EvalFigures{Labelled: 3, Linked: 3, Top1: 1, Top1Precise: 1, Recall: 1, LinkPrecision: 0.5,
				LinksMean: 2, LinksMedian: 2, SCFReached: 6},
		},
		{
			name: "acceptable first, a wrong first, an unlinked check; other checks ignored",
			links: []citadel.CheckSCFLink{
				link("a", "CRY-05.1", 1),
				link("b", "PES-02", 1), link("b", "IAC-06", 2),
				link("z", "CRY-05", 1),
			},
			want: EvalFigures{Labelled: 3, Linked: 2, Top1: 0.5, Top1Precise: 0, Recall: 0.6667, LinkPrecision: 0.6667,
				LinksMean: 1.5, LinksMedian: 1.5, SCFReached: 3, Misses: []EvalMiss{
					{Check: "b", Got: []string{"PES-02", "IAC-06"}, Want: []string{"IAC-06", "IAC-06.1"}},
					{Check: "c", Got: []string{}, Want: []string{"MON-03"}},
				}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, Evaluate(tc.links, labels)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestParseEvalSetRejectsBadInput(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"broken YAML", "checks: [", "x.yaml: invalid YAML"},
		{"unknown field", "checks:\n- {check: a, kind: logging, controls: [MON-03], reason: r, score: 1}", "field score not found"},
		{"empty", "checks: []", "x.yaml: no checks"},
		{"no check id", "checks:\n- {kind: logging, controls: [MON-03], reason: r}", `entry 1 (""): no check id`},
		{"twice", "checks:\n- {check: a, kind: logging, controls: [MON-03], reason: r}\n- {check: a, kind: logging, controls: [MON-03], reason: r}", `entry 2 ("a"): check labelled twice`},
		{"unknown kind", "checks:\n- {check: a, kind: misc, controls: [MON-03], reason: r}", `kind "misc" is not one of encryption, logging`},
		{"no controls", "checks:\n- {check: a, kind: logging, acceptable: [MON-03], reason: r}", "no controls"},
		{"no reason", "checks:\n- {check: a, kind: logging, controls: [MON-03], reason: ' '}", "no reason"},
		{"both lists", "checks:\n- {check: a, kind: logging, controls: [MON-03], acceptable: [MON-03], reason: r}", "MON-03 is both a control and acceptable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseEvalSet("x.yaml", []byte(tc.yaml))
			if !citadel.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an invalid error containing %q", err, tc.want)
			}
		})
	}
	checks := []citadel.SecurityCheck{{ID: "a"}, {ID: "old", Deprecated: true}}
	scf := &SCF{File: "scf-x.yaml", ids: map[string]bool{"MON-03": true}}
	for _, tc := range []struct {
		name  string
		label EvalLabel
		want  string
	}{
		{"unknown check", EvalLabel{Check: "nope", Controls: []string{"MON-03"}}, "unknown check nope"},
		{"deprecated check", EvalLabel{Check: "old", Controls: []string{"MON-03"}}, "check old is deprecated"},
		{"unknown control", EvalLabel{Check: "a", Controls: []string{"MON-03"}, Acceptable: []string{"XYZ-01"}}, "unknown SCF control XYZ-01 (not in scf-x.yaml)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckEvalSet([]EvalLabel{tc.label}, checks, scf)
			if !citadel.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an invalid error containing %q", err, tc.want)
			}
		})
	}
}

// evalSets are the labelled sets TestLinkEvaluation measures the links on,
// each with the floor the ranking reaches today (docs/catalog.md,
// "Evaluation sets"): a ranking change may not do worse on any of them;
// raise a floor when the ranking improves.
//
//   - link-eval.yaml: the development set, labelled before the ranker and
//     used to build it (its vocabulary and weights).
//   - link-holdout.yaml: labelled blind by another engineer, after which
//     the vocabulary was widened over all checks' titles (so it is
//     development data now).
//   - link-holdout-2.yaml: labelled blind and never used to tune: the
//     figure that says how the ranking does on checks it has not seen.
var evalSets = []struct {
	file     string
	minSize  int
	services int
	floor    EvalFigures
}{
	{"link-eval.yaml", 120, 25, EvalFigures{Top1: 0.9217, Top1Precise: 0.8387, Recall: 0.9862, LinkPrecision: 0.7047}},
	{"link-holdout.yaml", 80, 25, EvalFigures{Top1: 0.6154, Top1Precise: 0.5256, Recall: 0.6875, LinkPrecision: 0.5}},
	{"link-holdout-2.yaml", 80, 25, EvalFigures{Top1: 0.6076, Top1Precise: 0.4684, Recall: 0.725, LinkPrecision: 0.5115}},
}

// labellerFloor is the ranking's top-1 by the second labeller's labels
// (TestLabellerAgreement) today.
const labellerFloor = 0.876

// evalCeiling bounds how many links a check of a set may keep on average.
const evalCeiling = DefaultMaxLinks

// TestLinkEvaluation builds the links from the reference data as the import
// does and measures them against each hand-labelled set.
func TestLinkEvaluation(t *testing.T) {
	c := sharedCatalog(t)
	svc := map[string]string{}
	for _, ch := range c.Prowler.Checks {
		svc[ch.ID] = ch.Service
	}
	// Reasons are our own words: no run of six words of any SCF control's text.
	shingles := map[string]string{}
	for _, sc := range c.SCF.Controls {
		w := strings.Fields(strings.ToLower(sc.Description + " " + sc.Title))
		for i := 0; i+6 <= len(w); i++ {
			shingles[strings.Join(w[i:i+6], " ")] = sc.ID
		}
	}
	labelledIn := map[string]string{} // check → the set that labels it
	for _, set := range evalSets {
		t.Run(set.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", set.file))
			if err != nil {
				t.Fatal(err)
			}
			labels, err := ParseEvalSet(set.file, b)
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckEvalSet(labels, c.Prowler.Checks, c.SCF); err != nil {
				t.Fatal(err)
			}
			// The spread the issue asks for, and sets that do not overlap.
			services, kinds := map[string]bool{}, map[string]int{}
			for _, l := range labels {
				services[svc[l.Check]] = true
				kinds[l.Kind]++
				if other, ok := labelledIn[l.Check]; ok {
					t.Errorf("%s is labelled in %s too: the sets must be disjoint", l.Check, other)
				}
				labelledIn[l.Check] = set.file
			}
			if len(labels) < set.minSize || len(services) < set.services {
				t.Errorf("%d checks across %d services, want at least %d across %d", len(labels), len(services), set.minSize, set.services)
			}
			for _, k := range EvalKinds {
				if kinds[k] < 5 {
					t.Errorf("kind %s: %d checks, want at least 5", k, kinds[k])
				}
			}
			for _, l := range labels {
				w := strings.Fields(strings.ToLower(l.Reason))
				for i := 0; i+6 <= len(w); i++ {
					if id, ok := shingles[strings.Join(w[i:i+6], " ")]; ok {
						t.Errorf("%s: reason shares %q with SCF %s", l.Check, strings.Join(w[i:i+6], " "), id)
					}
				}
			}
			reportEval(t, c, labels, len(services), kinds, set.floor)
		})
	}
}

// reportEval logs a set's figures (overall, per kind, against the join
// alone) and fails when they fall under the floor.
func reportEval(t *testing.T, c *Catalog, labels []EvalLabel, services int, kinds map[string]int, floor EvalFigures) {
	t.Helper()
	f := Evaluate(c.Links, labels)
	t.Logf("%d checks, %d services, kinds %v", len(labels), services, kinds)
	t.Logf("top-1 %.1f%% (precise %.1f%%) of %d linked; any-link recall %.1f%% of %d; link precision %.1f%%; links per linked check mean %.2f median %.1f; SCF controls reached %d",
		100*f.Top1, 100*f.Top1Precise, f.Linked, 100*f.Recall, f.Labelled, 100*f.LinkPrecision, f.LinksMean, f.LinksMedian, f.SCFReached)
	for _, m := range f.Misses {
		t.Logf("miss %s: got %v, want %v", m.Check, m.Got, m.Want)
	}
	for _, k := range EvalKinds {
		var sub []EvalLabel
		for _, l := range labels {
			if l.Kind == k {
				sub = append(sub, l)
			}
		}
		kf := Evaluate(c.Links, sub)
		t.Logf("kind %-13s %3d checks: top-1 %5.1f%% (precise %5.1f%%), recall %5.1f%%, links mean %.2f", k, kf.Labelled, 100*kf.Top1, 100*kf.Top1Precise, 100*kf.Recall, kf.LinksMean)
	}
	// For comparison: the same links when each control's domain umbrella
	// (CRY-01 for CRY-05, MON-01 for MON-03 ...) also counted as acceptable.
	u := Evaluate(c.Links, withUmbrellas(labels))
	t.Logf("umbrellas acceptable: top-1 %.1f%%, recall %.1f%%, link precision %.1f%%", 100*u.Top1, 100*u.Recall, 100*u.LinkPrecision)
	// The framework join alone, as links were before the ranking, and the
	// ceiling of re-ranking its candidates (every candidate kept).
	j := Evaluate(Candidates(c.Prowler.Checks, c.Prowler.Requirements, c.Mappings, JoinOptions{}), labels)
	t.Logf("framework join alone: top-1 %.1f%% (precise %.1f%%) of %d linked; recall %.1f%%; link precision %.1f%%; links mean %.2f; SCF reached %d",
		100*j.Top1, 100*j.Top1Precise, j.Linked, 100*j.Recall, 100*j.LinkPrecision, j.LinksMean, j.SCFReached)
	all := Evaluate(Candidates(c.Prowler.Checks, c.Prowler.Requirements, c.Mappings, JoinOptions{MaxPerCheck: math.MaxInt, MinShare: -1}), labels)
	t.Logf("all join candidates: %d checks with a candidate, a labelled control among them for %.1f%%, candidates per check mean %.1f median %.0f",
		all.Linked, 100*all.Recall, all.LinksMean, all.LinksMedian)
	t.Logf("figures %+v", EvalFigures{Labelled: f.Labelled, Linked: f.Linked, Top1: f.Top1, Top1Precise: f.Top1Precise, Recall: f.Recall,
		LinkPrecision: f.LinkPrecision, LinksMean: f.LinksMean, LinksMedian: f.LinksMedian, SCFReached: f.SCFReached})
	if f.Top1 < floor.Top1 || f.Top1Precise < floor.Top1Precise || f.Recall < floor.Recall || f.LinkPrecision < floor.LinkPrecision {
		t.Errorf("figures fell under the floor:\n got %+v\nfloor %+v", f, floor)
	}
	if f.LinksMean > evalCeiling {
		t.Errorf("links per check %.2f, want at most %d", f.LinksMean, evalCeiling)
	}
}

// withUmbrellas adds each labelled control's domain umbrella (DOM-01) to the
// acceptable controls, for the comparison figure of TestLinkEvaluation.
func withUmbrellas(labels []EvalLabel) []EvalLabel {
	out := make([]EvalLabel, len(labels))
	for i, l := range labels {
		has := map[string]bool{}
		for _, c := range append(append([]string(nil), l.Controls...), l.Acceptable...) {
			has[c] = true
		}
		l.Acceptable = append([]string(nil), l.Acceptable...)
		for _, c := range l.Controls {
			if dom, _, ok := strings.Cut(c, "-"); ok && !has[dom+"-01"] {
				has[dom+"-01"] = true
				l.Acceptable = append(l.Acceptable, dom+"-01")
			}
		}
		out[i] = l
	}
	return out
}

var shared struct {
	once sync.Once
	c    *Catalog
	err  error
}

// sharedCatalog is the catalog built from the reference data, as the import
// builds it, once per test binary (a build takes seconds).
func sharedCatalog(t *testing.T) *Catalog {
	t.Helper()
	dir := testenv.SharedData(t)
	shared.once.Do(func() {
		shared.c, shared.err = Build(os.DirFS(filepath.Join(dir, "prowler")), os.DirFS(filepath.Join(dir, "scf")), Options{ProwlerVersion: "5.40.0"})
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.c
}

// labelsAsLinks turns a labeller's labels into ranked links (the precise
// controls in order), to score one labeller against another.
func labelsAsLinks(labels []EvalLabel) []citadel.CheckSCFLink {
	var out []citadel.CheckSCFLink
	for _, l := range labels {
		for i, c := range l.Controls {
			out = append(out, citadel.CheckSCFLink{CheckID: l.Check, SCFID: c, Rank: i + 1})
		}
	}
	return out
}

// TestLabellerAgreement measures how often two labellers agree on the
// checks both labelled (link-second-labeller.yaml: a second labeller, blind
// to the first, on every third check of link-eval.yaml): the ceiling a
// ranker can be held to, and the ranking scored by the second labeller.
func TestLabellerAgreement(t *testing.T) {
	read := func(file string) []EvalLabel {
		b, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		labels, err := ParseEvalSet(file, b)
		if err != nil {
			t.Fatal(err)
		}
		return labels
	}
	first, second := read("link-eval.yaml"), read("link-second-labeller.yaml")
	both := map[string]bool{}
	for _, l := range second {
		both[l.Check] = true
	}
	var firstBoth []EvalLabel
	for _, l := range first {
		if both[l.Check] {
			firstBoth = append(firstBoth, l)
		}
	}
	if len(firstBoth) != len(second) || len(second) < 60 {
		t.Fatalf("%d checks labelled twice, of %d in the second set; want the second set to be a part of the first, at least 60", len(firstBoth), len(second))
	}
	a := Evaluate(labelsAsLinks(second), firstBoth)
	b := Evaluate(labelsAsLinks(firstBoth), second)
	t.Logf("%d checks: the second labeller's first control is right by the first labeller's labels for %.1f%% (precise %.1f%%); the first's by the second's for %.1f%% (precise %.1f%%)",
		len(second), 100*a.Top1, 100*a.Top1Precise, 100*b.Top1, 100*b.Top1Precise)
	c := sharedCatalog(t)
	r1, r2 := Evaluate(c.Links, firstBoth), Evaluate(c.Links, second)
	t.Logf("the ranking on these checks: top-1 %.1f%% by the first labeller (precise %.1f%%), %.1f%% by the second (precise %.1f%%); recall %.1f%% / %.1f%%",
		100*r1.Top1, 100*r1.Top1Precise, 100*r2.Top1, 100*r2.Top1Precise, 100*r1.Recall, 100*r2.Recall)
	for _, m := range r2.Misses {
		t.Logf("second labeller: miss %s: got %v, want %v", m.Check, m.Got, m.Want)
	}
	// Floors: today's figures; the ranking may not fall under them.
	if a.Top1 < 0.5 || r2.Top1 < labellerFloor {
		t.Errorf("agreement %.3f, ranking by the second labeller %.3f: under the floors 0.5 and %.3f", a.Top1, r2.Top1, labellerFloor)
	}
}
