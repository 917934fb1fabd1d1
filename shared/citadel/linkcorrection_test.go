package citadel_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

func TestEffectiveLinks(t *testing.T) {
	imp := func(check, scf string, rank int) citadel.CheckSCFLink {
		return citadel.CheckSCFLink{CheckID: check, SCFID: scf, Rank: rank, Score: 0.5, Relevance: 0.75, Frameworks: []string{"cis"}, Requirements: []string{"cis:1.1"}}
	}
	corr := func(check, scf string, a citadel.LinkAction, at time.Time) citadel.LinkCorrection {
		return citadel.LinkCorrection{CheckID: check, SCFID: scf, Action: a, Reason: "why " + scf, By: "alice", At: at}
	}
	ranked := func(l citadel.CheckSCFLink, rank int) citadel.CheckSCFLink { l.Rank = rank; return l }
	importedExpl := "imported: frameworks cis; requirements cis:1.1; text relevance 0.75; score 0.50"
	t1 := t0.Add(time.Hour)
	tests := []struct {
		name        string
		imported    []citadel.CheckSCFLink
		corrections []citadel.LinkCorrection
		want        []citadel.EffectiveLink
	}{
		{name: "nothing", want: nil},
		{
			name:     "a link no framework supports is explained by the text match",
			imported: []citadel.CheckSCFLink{{CheckID: "a", SCFID: "IAC-20", Rank: 1, Score: 1, Relevance: 1}},
			want: []citadel.EffectiveLink{{CheckSCFLink: citadel.CheckSCFLink{CheckID: "a", SCFID: "IAC-20", Rank: 1, Score: 1, Relevance: 1},
				Origin: citadel.LinkImported, Explanation: "imported: no framework path; the check's text matches the control's statement (relevance 1.00); score 1.00"}},
		},
		{
			name:     "imported only, by check then rank",
			imported: []citadel.CheckSCFLink{imp("b", "CRY-05", 2), imp("b", "CRY-01", 1), imp("a", "IAC-01", 1)},
			want: []citadel.EffectiveLink{
				{CheckSCFLink: imp("a", "IAC-01", 1), Origin: citadel.LinkImported, Explanation: importedExpl},
				{CheckSCFLink: imp("b", "CRY-01", 1), Origin: citadel.LinkImported, Explanation: importedExpl},
				{CheckSCFLink: imp("b", "CRY-05", 2), Origin: citadel.LinkImported, Explanation: importedExpl},
			},
		},
		{
			name:        "remove one, the rest renumbered",
			imported:    []citadel.CheckSCFLink{imp("a", "CRY-01", 1), imp("a", "CRY-05", 2), imp("a", "END-01", 3)},
			corrections: []citadel.LinkCorrection{corr("a", "CRY-01", citadel.LinkRemove, t0)},
			want: []citadel.EffectiveLink{
				{CheckSCFLink: ranked(imp("a", "CRY-05", 2), 1), Origin: citadel.LinkImported, Explanation: importedExpl},
				{CheckSCFLink: ranked(imp("a", "END-01", 3), 2), Origin: citadel.LinkImported, Explanation: importedExpl},
			},
		},
		{
			name:        "add comes first; a check with no imported links gets one",
			imported:    []citadel.CheckSCFLink{imp("a", "CRY-01", 1)},
			corrections: []citadel.LinkCorrection{corr("a", "CRY-05", citadel.LinkAdd, t0), corr("z", "MON-01", citadel.LinkAdd, t0)},
			want: []citadel.EffectiveLink{
				{CheckSCFLink: citadel.CheckSCFLink{CheckID: "a", SCFID: "CRY-05", Rank: 1}, Origin: citadel.LinkManual,
					Explanation: "manual: added by alice on 2026-11-29: why CRY-05", Correction: ptr(corr("a", "CRY-05", citadel.LinkAdd, t0))},
				{CheckSCFLink: ranked(imp("a", "CRY-01", 1), 2), Origin: citadel.LinkImported, Explanation: importedExpl},
				{CheckSCFLink: citadel.CheckSCFLink{CheckID: "z", SCFID: "MON-01", Rank: 1}, Origin: citadel.LinkManual,
					Explanation: "manual: added by alice on 2026-11-29: why MON-01", Correction: ptr(corr("z", "MON-01", citadel.LinkAdd, t0))},
			},
		},
		{
			name:        "adding an imported link makes it manual and keeps its explanation fields",
			imported:    []citadel.CheckSCFLink{imp("a", "CRY-01", 1), imp("a", "CRY-05", 2)},
			corrections: []citadel.LinkCorrection{corr("a", "CRY-05", citadel.LinkAdd, t0)},
			want: []citadel.EffectiveLink{
				{CheckSCFLink: ranked(imp("a", "CRY-05", 2), 1), Origin: citadel.LinkManual,
					Explanation: "manual: added by alice on 2026-11-29: why CRY-05", Correction: ptr(corr("a", "CRY-05", citadel.LinkAdd, t0))},
				{CheckSCFLink: ranked(imp("a", "CRY-01", 1), 2), Origin: citadel.LinkImported, Explanation: importedExpl},
			},
		},
		{
			name:     "the latest correction wins, whatever the order given",
			imported: []citadel.CheckSCFLink{imp("a", "CRY-01", 1)},
			corrections: []citadel.LinkCorrection{corr("a", "CRY-01", citadel.LinkRemove, t1), corr("a", "CRY-01", citadel.LinkAdd, t0),
				corr("a", "MON-01", citadel.LinkAdd, t0), corr("a", "MON-01", citadel.LinkRemove, t0.Add(-time.Hour))},
			want: []citadel.EffectiveLink{
				{CheckSCFLink: citadel.CheckSCFLink{CheckID: "a", SCFID: "MON-01", Rank: 1}, Origin: citadel.LinkManual,
					Explanation: "manual: added by alice on 2026-11-29: why MON-01", Correction: ptr(corr("a", "MON-01", citadel.LinkAdd, t0))},
			},
		},
		{
			name:        "removing a link that is not imported changes nothing now",
			imported:    []citadel.CheckSCFLink{imp("a", "CRY-01", 1)},
			corrections: []citadel.LinkCorrection{corr("a", "END-01", citadel.LinkRemove, t0)},
			want:        []citadel.EffectiveLink{{CheckSCFLink: imp("a", "CRY-01", 1), Origin: citadel.LinkImported, Explanation: importedExpl}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := citadel.EffectiveLinks(tt.imported, tt.corrections)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("EffectiveLinks (-want +got):\n%s", d)
			}
			if d := cmp.Diff(len(got), len(citadel.Links(got))); d != "" {
				t.Errorf("Links length: %s", d)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestLinkCorrectionValidate(t *testing.T) {
	ok := citadel.LinkCorrection{CheckID: "c", SCFID: "CRY-05", Action: citadel.LinkAdd, Reason: "r", By: "u", At: t0}
	tests := []struct {
		name   string
		mutate func(*citadel.LinkCorrection)
		want   string // substring of the error, "" for valid
	}{
		{"valid", func(*citadel.LinkCorrection) {}, ""},
		{"no check", func(c *citadel.LinkCorrection) { c.CheckID = "" }, "check_id is required"},
		{"no scf", func(c *citadel.LinkCorrection) { c.SCFID = "" }, "scf_id is required"},
		{"not an SCF id", func(c *citadel.LinkCorrection) { c.SCFID = "cry-05" }, `scf_id "cry-05" is not an SCF control id`},
		{"SCF id with a part", func(c *citadel.LinkCorrection) { c.SCFID = "IAC-06.1" }, ""},
		{"bad action", func(c *citadel.LinkCorrection) { c.Action = "drop" }, `action "drop" must be add or remove`},
		{"blank reason", func(c *citadel.LinkCorrection) { c.Reason = "  " }, "reason is required"},
		{"long reason", func(c *citadel.LinkCorrection) { c.Reason = strings.Repeat("é", citadel.MaxCorrectionReason+1) }, "reason is over 1000 characters"},
		{"no by", func(c *citadel.LinkCorrection) { c.By = "" }, "by is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mutate(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate = %v, want it to mention %q", err, tt.want)
			case tt.want != "" && citadel.CodeOf(err) != citadel.CodeInvalid:
				t.Fatalf("Validate code = %s, want invalid", citadel.CodeOf(err))
			}
		})
	}
}
