package citadel_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

func TestLinkWhy(t *testing.T) {
	at := time.Date(2026, 11, 29, 23, 30, 0, 0, time.FixedZone("UTC+2", 2*3600))
	link := citadel.CheckSCFLink{CheckID: "s3_public", SCFID: "IAC-01", Rank: 2, Score: 1.8349,
		Frameworks: []string{"iso27001_2022", "soc2"}, Requirements: []string{"soc2:cc_6_1"}}
	corr := &citadel.LinkCorrection{CheckID: "s3_public", SCFID: "IAC-01", Action: citadel.LinkAdd, Reason: "checked", By: "alice", At: at}
	many := make([]string, 7)
	for i := range many {
		many[i] = "soc2:cc_" + string(rune('1'+i))
	}
	for _, tc := range []struct {
		name string
		got  citadel.LinkWhy
		want citadel.LinkWhy
	}{
		{"imported", citadel.WhyOfLink(citadel.EffectiveLink{CheckSCFLink: link, Origin: citadel.LinkImported}),
			citadel.LinkWhy{Origin: citadel.LinkImported, Rank: 2, Score: 1.8349, Frameworks: link.Frameworks, Requirements: link.Requirements,
				Summary: "imported, rank 2: frameworks iso27001_2022, soc2; requirements soc2:cc_6_1; score 1.83"}},
		{"no origin reads as imported, no framework as no path", citadel.WhyOfLink(citadel.EffectiveLink{CheckSCFLink: citadel.CheckSCFLink{Rank: 1, Score: 0.4, Requirements: []string{}}}),
			citadel.LinkWhy{Origin: citadel.LinkImported, Rank: 1, Score: 0.4, Summary: "imported, rank 1: no framework path; score 0.40"}},
		{"relevance", citadel.WhyOfLink(citadel.EffectiveLink{CheckSCFLink: citadel.CheckSCFLink{Rank: 3, Score: 0.31, Relevance: 0.4}, Origin: citadel.LinkImported}),
			citadel.LinkWhy{Origin: citadel.LinkImported, Rank: 3, Score: 0.31, Relevance: 0.4, Summary: "imported, rank 3: no framework path; relevance 0.40; score 0.31"}},
		{"relevance and frameworks", citadel.WhyOfLink(citadel.EffectiveLink{CheckSCFLink: citadel.CheckSCFLink{Rank: 1, Score: 1.5, Relevance: 0.917, Frameworks: []string{"soc2"}, Requirements: []string{"soc2:cc_6_1"}}}),
			citadel.LinkWhy{Origin: citadel.LinkImported, Rank: 1, Score: 1.5, Relevance: 0.917, Frameworks: []string{"soc2"}, Requirements: []string{"soc2:cc_6_1"},
				Summary: "imported, rank 1: frameworks soc2; requirements soc2:cc_6_1; relevance 0.92; score 1.50"}},
		{"requirements without frameworks", citadel.WhyOfLink(citadel.EffectiveLink{CheckSCFLink: citadel.CheckSCFLink{Rank: 1, Requirements: []string{"soc2:cc_6_1"}}}),
			citadel.LinkWhy{Origin: citadel.LinkImported, Rank: 1, Requirements: []string{"soc2:cc_6_1"}, Summary: "imported, rank 1: frameworks none; requirements soc2:cc_6_1; score 0.00"}},
		{"manual only", citadel.WhyOfLink(citadel.EffectiveLink{CheckSCFLink: citadel.CheckSCFLink{Rank: 1}, Origin: citadel.LinkManual, Correction: corr}),
			citadel.LinkWhy{Origin: citadel.LinkManual, Rank: 1, By: "alice", Reason: "checked", At: at.UTC(),
				Summary: "manual, rank 1: by alice on 2026-11-29: checked"}},
		{"manual and imported", citadel.WhyOfLink(citadel.EffectiveLink{CheckSCFLink: link, Origin: citadel.LinkManual, Correction: corr}),
			citadel.LinkWhy{Origin: citadel.LinkManual, Rank: 2, Score: 1.8349, Frameworks: link.Frameworks, Requirements: link.Requirements, By: "alice", Reason: "checked", At: at.UTC(),
				Summary: "manual, rank 2: by alice on 2026-11-29: checked (also imported: frameworks iso27001_2022, soc2; requirements soc2:cc_6_1; score 1.83)"}},
		{"many requirements are cut short", citadel.WhyOfLink(citadel.EffectiveLink{CheckSCFLink: citadel.CheckSCFLink{Rank: 1, Score: 1, Frameworks: []string{"soc2"}, Requirements: many}}),
			citadel.LinkWhy{Origin: citadel.LinkImported, Rank: 1, Score: 1, Frameworks: []string{"soc2"}, Requirements: many,
				Summary: "imported, rank 1: frameworks soc2; requirements soc2:cc_1, soc2:cc_2, soc2:cc_3, soc2:cc_4, soc2:cc_5 and 2 more; score 1.00"}},
		{"prowler", citadel.WhyOfRequirement("cis_3.0:1.14"),
			citadel.LinkWhy{Origin: citadel.LinkProwler, Requirements: []string{"cis_3.0:1.14"}, Summary: "prowler: the check maps to requirement cis_3.0:1.14"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Compared field by field (cmp would use LinkWhy.Equal).
			type plain citadel.LinkWhy
			if d := cmp.Diff(plain(tc.want), plain(tc.got)); d != "" {
				t.Errorf("why (-want +got):\n%s", d)
			}
			if !tc.got.Equal(tc.want) {
				t.Errorf("Equal says %+v and %+v differ", tc.got, tc.want)
			}
			if err := tc.got.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}

	base := citadel.WhyOfLink(citadel.EffectiveLink{CheckSCFLink: link, Origin: citadel.LinkManual, Correction: corr})
	for name, change := range map[string]func(*citadel.LinkWhy){
		"rank":         func(w *citadel.LinkWhy) { w.Rank++ },
		"score":        func(w *citadel.LinkWhy) { w.Score += 0.01 },
		"relevance":    func(w *citadel.LinkWhy) { w.Relevance = 0.5 },
		"frameworks":   func(w *citadel.LinkWhy) { w.Frameworks = w.Frameworks[:1] },
		"requirements": func(w *citadel.LinkWhy) { w.Requirements = nil },
		"by":           func(w *citadel.LinkWhy) { w.By = "bob" },
		"reason":       func(w *citadel.LinkWhy) { w.Reason = "other" },
		"at":           func(w *citadel.LinkWhy) { w.At = w.At.Add(time.Second) },
		"origin":       func(w *citadel.LinkWhy) { w.Origin = citadel.LinkImported },
	} {
		w := base
		w.Frameworks, w.Requirements = append([]string(nil), base.Frameworks...), append([]string(nil), base.Requirements...)
		change(&w)
		if w.Equal(base) {
			t.Errorf("a changed %s is Equal", name)
		}
	}
	if same := base; !same.Equal(base) {
		t.Error("a copy is not Equal")
	}

	for _, tc := range []struct {
		why  citadel.LinkWhy
		want string
	}{
		{citadel.LinkWhy{Origin: "guess", Summary: "x"}, `origin "guess"`},
		{citadel.LinkWhy{Origin: citadel.LinkManual, By: "alice", Summary: "x"}, "by and reason"},
		{citadel.LinkWhy{Origin: citadel.LinkProwler, Summary: "x"}, "its requirement"},
		{citadel.LinkWhy{Origin: citadel.LinkImported}, "summary is required"},
	} {
		if err := tc.why.Validate(); !citadel.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v; want invalid naming %q", tc.why, err, tc.want)
		}
	}
}

func TestControlLinkValidate(t *testing.T) {
	why := citadel.WhyOfRequirement("cis_3.0:1.14")
	for _, tc := range []struct {
		link citadel.ControlLink
		want string // "" valid
	}{
		{citadel.ControlLink{ControlID: "ctl-a", Kind: citadel.LinkCheck, TargetID: "c", Origin: citadel.OriginScan, Why: &why}, ""},
		{citadel.ControlLink{ControlID: "ctl-a", Kind: citadel.LinkAsset, TargetID: "a", Origin: citadel.OriginManual}, ""},
		{citadel.ControlLink{ControlID: "ctl-a", Kind: citadel.LinkAsset, TargetID: "a", Origin: citadel.OriginScan, Why: &why}, "only for a scan's check link"},
		{citadel.ControlLink{ControlID: "ctl-a", Kind: citadel.LinkCheck, TargetID: "c", Origin: citadel.OriginManual, Why: &why}, "only for a scan's check link"},
		{citadel.ControlLink{ControlID: "ctl-a", Kind: citadel.LinkCheck, TargetID: "c", Origin: citadel.OriginScan, Why: &citadel.LinkWhy{Origin: citadel.LinkProwler}}, "why: "},
		{citadel.ControlLink{Kind: citadel.LinkCheck, TargetID: "c", Origin: citadel.OriginScan}, "control_id and target_id"},
		{citadel.ControlLink{ControlID: "ctl-a", Kind: "user", TargetID: "c", Origin: citadel.OriginScan}, `kind "user"`},
		{citadel.ControlLink{ControlID: "ctl-a", Kind: citadel.LinkCheck, TargetID: "c", Origin: "robot"}, `origin "robot"`},
	} {
		err := tc.link.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v; want valid", tc.link, err)
		case tc.want != "" && (!citadel.IsInvalid(err) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: %v; want invalid naming %q", tc.link, err, tc.want)
		}
	}
}
