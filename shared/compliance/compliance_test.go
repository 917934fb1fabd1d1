package compliance_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/compliance"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func control(id, ref string, cat citadel.ControlCategory, posture citadel.Posture) citadel.AppliedControl {
	c := citadel.AppliedControl{ID: id, FolderID: "f1", RefID: ref, Name: ref + ": control", Category: cat, Origin: citadel.OriginScan,
		Status: citadel.ControlActive, SCFControlID: "IAC-01", ReferenceControlID: "POL.ACCESS", Posture: posture}
	return c
}

func ptr[T any](v T) *T { return &v }

var (
	importedWhy = citadel.WhyOfLink(citadel.EffectiveLink{Origin: citadel.LinkImported, CheckSCFLink: citadel.CheckSCFLink{
		CheckID: "s3_public", SCFID: "IAC-01", Rank: 1, Score: 1.83, Frameworks: []string{"iso27001_2022", "soc2"}, Requirements: []string{"iso27001_2022:A.5.15", "soc2:cc_6_1"}}})
	manualWhy = citadel.WhyOfLink(citadel.EffectiveLink{Origin: citadel.LinkManual, CheckSCFLink: citadel.CheckSCFLink{CheckID: "iam_rotate", SCFID: "IAC-02", Rank: 1},
		Correction: &citadel.LinkCorrection{CheckID: "iam_rotate", SCFID: "IAC-02", Action: citadel.LinkAdd, Reason: "rotation is access control", By: "alice", At: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}})
)

// seed stores soc2 with four requirements:
//
//	cc_6_1 (weight 2): A passing (prowler), B issues (scf); answers yes, no → 0.5
//	                   A's checks: s3_public (imported why), hand_picked (a
//	                   user's link); B's: iam_rotate (manual why)
//	cc_7_2 (weight 1): A (scf) and, assigned by hand, A, C (passing) and a
//	                   deleted control; answers yes → 1
//	cc_8_1 (weight 1): no control; answers n/a and "maybe" (unscored)
//	cc_9_9 (not assessable): the policy P
func seed(t *testing.T) *ddb.Store {
	t.Helper()
	ctx := context.Background()
	s := testenv.Store(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.PutFrameworks(ctx, []citadel.Framework{{ID: "soc2", Name: "SOC 2", Source: "prowler", RequirementCount: 4}}))
	req := func(ref string, weight int, assessable bool) citadel.RequirementNode {
		return citadel.RequirementNode{ID: "soc2:" + ref, FrameworkID: "soc2", RefID: ref, Name: "Requirement " + ref, Assessable: assessable, Weight: weight}
	}
	must(s.PutRequirements(ctx, []citadel.RequirementNode{req("cc_6_1", 2, true), req("cc_7_2", 1, true), req("cc_8_1", 1, true), req("cc_9_9", 1, false)}))
	_, err := s.PutControls(ctx, []citadel.AppliedControl{
		control("ctl-a", "SCF-IAC-01", citadel.CategoryTechnical, citadel.PosturePassing),
		control("ctl-b", "SCF-IAC-02", citadel.CategoryTechnical, citadel.PostureIssues),
		control("ctl-c", "MY-C", citadel.CategoryProcess, citadel.PosturePassing),
		control("pol-p", "POL.ACCESS-IAC-01", citadel.CategoryPolicy, citadel.PostureNotScanned),
	})
	must(err)
	must(s.PutControlMappings(ctx, "f1", []citadel.ControlRequirementMapping{
		{ControlID: "ctl-a", RequirementID: "soc2:cc_6_1", FrameworkID: "soc2", Source: citadel.MappingProwler},
		{ControlID: "ctl-b", RequirementID: "soc2:cc_6_1", FrameworkID: "soc2", Source: citadel.MappingSCF},
		{ControlID: "ctl-a", RequirementID: "soc2:cc_7_2", FrameworkID: "soc2", Source: citadel.MappingSCF},
		{ControlID: "pol-p", RequirementID: "soc2:cc_9_9", FrameworkID: "soc2", Source: citadel.MappingSCF},
		{ControlID: "ctl-b", RequirementID: "iso27001_2022:A.5.15", FrameworkID: "iso27001_2022", Source: citadel.MappingSCF},
	}))
	must(s.PutControlLinks(ctx, []citadel.ControlLink{
		{ControlID: "ctl-a", Kind: citadel.LinkCheck, TargetID: "s3_public", Origin: citadel.OriginScan, Why: ptr(importedWhy)},
		{ControlID: "ctl-a", Kind: citadel.LinkCheck, TargetID: "hand_picked", Origin: citadel.OriginManual},
		{ControlID: "ctl-a", Kind: citadel.LinkAsset, TargetID: "bucket-a", Origin: citadel.OriginScan},
		{ControlID: "ctl-b", Kind: citadel.LinkCheck, TargetID: "iam_rotate", Origin: citadel.OriginScan, Why: ptr(manualWhy)},
	}))
	for _, a := range []citadel.RequirementAssessment{
		{FolderID: "f1", RequirementID: "soc2:cc_6_1", Answers: map[string]string{"q1": "yes", "q2": "no"}, Result: citadel.ResultPartiallyCompliant},
		{FolderID: "f1", RequirementID: "soc2:cc_7_2", AppliedControlIDs: []string{"ctl-a", "ctl-c", "ctl-deleted"}, Answers: map[string]string{"q1": "Yes"}, Result: citadel.ResultCompliant},
		{FolderID: "f1", RequirementID: "soc2:cc_8_1", Answers: map[string]string{"q1": "n/a", "q2": "maybe"}, Result: citadel.ResultNotAssessed},
	} {
		_, err := s.PutAssessment(ctx, a)
		must(err)
	}
	return s
}

func TestViewMergesManualAndAutomatic(t *testing.T) {
	ctx := context.Background()
	s := seed(t)
	v, err := compliance.Build(ctx, s, s, "f1", "soc2")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	path := filepath.Join("testdata", "view.golden.json")
	if *update {
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), string(b)+"\n"); d != "" {
		t.Errorf("view (-want +got):\n%s", d)
	}
	wantCov := compliance.Coverage{Requirements: 3, WithControls: 2, AllPassing: 1, WithControlsPct: 66.7, AllPassingPct: 33.3,
		ControlsByPosture: map[citadel.Posture]int{"passing": 2, "issues": 1}, DistinctControls: 4}
	if d := cmp.Diff(wantCov, v.Coverage); d != "" {
		t.Errorf("coverage (-want +got):\n%s", d)
	}
	if d := cmp.Diff(compliance.Score{Value: 66.7, Answered: 2, Unscored: 1}, v.Score); d != "" {
		t.Errorf("score (-want +got):\n%s", d)
	}
	cc72 := v.Requirements[1]
	var got []string
	for _, c := range cc72.Controls {
		src := ""
		for _, s := range c.Sources {
			src += string(s) + " "
		}
		got = append(got, c.ControlID+": "+src)
	}
	if d := cmp.Diff([]string{"ctl-c: manual ", "ctl-a: manual scf ", "ctl-deleted: manual "}, got); d != "" {
		t.Errorf("cc_7_2 controls (-want +got):\n%s", d)
	}

	// Controls do not change the score: B passes now, coverage moves, score stays.
	b2, err := s.GetControl(ctx, "ctl-b")
	if err != nil {
		t.Fatal(err)
	}
	b2.Posture = citadel.PosturePassing
	if _, err := s.PutControl(ctx, b2); err != nil {
		t.Fatal(err)
	}
	v2, err := compliance.Build(ctx, s, s, "f1", "soc2")
	if err != nil {
		t.Fatal(err)
	}
	if v2.Coverage.AllPassing != 2 || v2.Score != v.Score {
		t.Errorf("after B passes: all passing %d (want 2), score %+v (want %+v)", v2.Coverage.AllPassing, v2.Score, v.Score)
	}
}

// checksOf renders a requirement's controls' checks: "control: check (origin): why".
func checksOf(r compliance.Requirement) []string {
	var out []string
	for _, c := range r.Controls {
		for _, ch := range c.Checks {
			why := "-"
			if ch.Why != nil {
				why = ch.Why.Summary
			}
			out = append(out, c.ControlID+": "+ch.CheckID+" ("+string(ch.Origin)+"): "+why)
		}
	}
	return out
}

// TestViewShowsWhyEachCheckLinks: per control of a requirement the view
// lists its checks (not its assets) with the why recorded on each link; a
// policy and a missing control have none; when a scan rewrites a link's why
// (a correction), the view shows the new one.
func TestViewShowsWhyEachCheckLinks(t *testing.T) {
	ctx := context.Background()
	s := seed(t)
	v, err := compliance.Build(ctx, s, s, "f1", "soc2")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]compliance.Requirement{}
	for _, r := range v.Requirements {
		byID[r.RequirementID] = r
	}
	want := []string{
		"ctl-a: hand_picked (manual): -",
		"ctl-a: s3_public (scan): imported, rank 1: frameworks iso27001_2022, soc2; requirements iso27001_2022:A.5.15, soc2:cc_6_1; score 1.83",
		"ctl-b: iam_rotate (scan): manual, rank 1: by alice on 2026-11-29: rotation is access control",
	}
	if d := cmp.Diff(want, checksOf(byID["soc2:cc_6_1"])); d != "" {
		t.Errorf("checks of cc_6_1's controls (-want +got):\n%s", d)
	}
	a := byID["soc2:cc_6_1"].Controls[0]
	if d := cmp.Diff(&importedWhy, a.Checks[1].Why); d != "" || a.Checks[1].Why.Origin != citadel.LinkImported {
		t.Errorf("s3_public's why on ctl-a (-want +got):\n%s", d)
	}
	for _, r := range []string{"soc2:cc_7_2", "soc2:cc_9_9"} {
		for _, c := range byID[r].Controls {
			if c.Checks == nil || (c.ControlID != "ctl-a" && len(c.Checks) != 0) {
				t.Errorf("%s: control %s checks %v; want [] (ctl-a's two only)", r, c.ControlID, c.Checks)
			}
		}
	}

	// A correction confirms s3_public → IAC-01: the next scan rewrites the link's why.
	confirmed := citadel.WhyOfLink(citadel.EffectiveLink{Origin: citadel.LinkManual, CheckSCFLink: citadel.CheckSCFLink{
		CheckID: "s3_public", SCFID: "IAC-01", Rank: 1, Score: 1.83, Frameworks: []string{"iso27001_2022", "soc2"}, Requirements: []string{"iso27001_2022:A.5.15", "soc2:cc_6_1"}},
		Correction: &citadel.LinkCorrection{CheckID: "s3_public", SCFID: "IAC-01", Action: citadel.LinkAdd, Reason: "reviewed", By: "bob", At: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}})
	if err := s.PutControlLinks(ctx, []citadel.ControlLink{{ControlID: "ctl-a", Kind: citadel.LinkCheck, TargetID: "s3_public", Origin: citadel.OriginScan, Why: &confirmed}}); err != nil {
		t.Fatal(err)
	}
	v, err = compliance.Build(ctx, s, s, "f1", "soc2")
	if err != nil {
		t.Fatal(err)
	}
	got := checksOf(v.Requirements[0])
	if len(got) != 3 || !strings.HasPrefix(got[1], "ctl-a: s3_public (scan): manual, rank 1: by bob on 2026-12-01: reviewed (also imported: frameworks iso27001_2022, soc2;") {
		t.Errorf("after the correction: %q", got)
	}
}

func TestViewBadInput(t *testing.T) {
	ctx := context.Background()
	s := seed(t)
	if _, err := compliance.Build(ctx, s, s, "", "soc2"); !citadel.IsInvalid(err) {
		t.Errorf("no folder: got %v, want invalid", err)
	}
	if _, err := compliance.Build(ctx, s, s, "f1", "nope"); !citadel.IsNotFound(err) {
		t.Errorf("unknown framework: got %v, want not found", err)
	}
	empty, err := compliance.Build(ctx, s, s, "f-empty", "soc2")
	if err != nil || empty.Coverage.WithControls != 0 || empty.Score.Answered != 0 || len(empty.Requirements) != 4 {
		t.Errorf("empty folder: %+v, %v", empty.Coverage, err)
	}
}

func TestAnswersScore(t *testing.T) {
	for _, tc := range []struct {
		answers  map[string]string
		score    float64
		unscored int
		ok       bool
	}{
		{map[string]string{"a": "yes", "b": "no"}, 0.5, 0, true},
		{map[string]string{"a": "partial"}, 0.5, 0, true},
		{map[string]string{"a": "n/a", "b": ""}, 0, 0, false},
		{map[string]string{"a": "perhaps", "b": "YES"}, 1, 1, true},
		{nil, 0, 0, false},
	} {
		s, u, ok := compliance.AnswersScore(tc.answers)
		if s != tc.score || u != tc.unscored || ok != tc.ok {
			t.Errorf("AnswersScore(%v) = %v, %d, %v; want %v, %d, %v", tc.answers, s, u, ok, tc.score, tc.unscored, tc.ok)
		}
	}
}

// TestOfIntegrationCountsExceptedApart: an account's view of a control
// counts its excepted failures apart from its failures, and a control whose
// only failures are excepted passes in it; the organization's (two
// integrations) adds both up.
func TestOfIntegrationCountsExceptedApart(t *testing.T) {
	c := control("ctl-a", "SCF-IAC-01", citadel.CategoryTechnical, "")
	c.Integrations = map[string]citadel.IntegrationPosture{
		"int-1": {Passed: 2, Excepted: 3},
		"int-2": {Failed: 1},
		"int-3": {Excepted: 1, NotApplicable: 4},
	}
	type counts struct {
		Posture                     citadel.Posture
		Pass, Fail, Error, Excepted int
	}
	for _, tc := range []struct {
		of   []string
		want counts
	}{
		{[]string{"int-1"}, counts{citadel.PosturePassing, 2, 0, 0, 3}},
		{[]string{"int-3"}, counts{citadel.PosturePassing, 0, 0, 0, 1}},
		{[]string{"int-2"}, counts{citadel.PostureIssues, 0, 1, 0, 0}},
		{[]string{"int-2", "int-3"}, counts{citadel.PosturePartial, 0, 1, 0, 1}},
		{[]string{"int-1", "int-2", "int-3"}, counts{citadel.PosturePartial, 2, 1, 0, 4}},
		{[]string{"int-9"}, counts{citadel.PostureNotScanned, 0, 0, 0, 0}},
	} {
		got := compliance.OfIntegration(c, tc.of...)
		if d := cmp.Diff(tc.want, counts{got.Posture, got.PassCount, got.FailCount, got.ErrorCount, got.ExceptedCount}); d != "" {
			t.Errorf("of %v (-want +got):\n%s", tc.of, d)
		}
	}
}
