package compliance_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

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

// seed stores soc2 with four requirements:
//
//	cc_6_1 (weight 2): A passing (prowler), B issues (scf); answers yes, no → 0.5
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
