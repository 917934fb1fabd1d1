package ddb_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func scfControl(folder, scf string) citadel.AppliedControl {
	return citadel.AppliedControl{
		ID: citadel.AppliedControlIDForSCF(folder, scf), FolderID: folder, RefID: "SCF-" + scf, Name: "SCF-" + scf + ": title",
		Category: citadel.CategoryTechnical, Origin: citadel.OriginScan, Status: citadel.ControlActive, IsAutomated: true,
		SCFControlID: scf, Posture: citadel.PosturePassing, PassCount: 2,
		Integrations: map[string]citadel.IntegrationPosture{"int-1": {Passed: 2, LinksDigest: "d1"}},
		CreatedAt:    t0, UpdatedAt: t0,
	}
}

func TestControlPutIsConditional(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	c := scfControl("f1", "IAC-01")
	stored, err := s.PutControl(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Version != 1 {
		t.Errorf("version after create = %d, want 1", stored.Version)
	}
	// The very same create again is a retried request; another one is a conflict.
	if _, err := s.PutControl(ctx, c); err != nil {
		t.Errorf("identical second create (a retry): %v", err)
	}
	other := c
	other.Name = "another writer's control"
	if _, err := s.PutControl(ctx, other); !citadel.IsConflict(err) {
		t.Errorf("second create: got %v, want conflict", err)
	}
	got, err := s.GetControl(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(stored, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	upd := got
	upd.FailCount, upd.Posture = 1, citadel.PosturePartial
	upd, err = s.PutControl(ctx, upd)
	if err != nil || upd.Version != 2 {
		t.Fatalf("update: version %d, %v", upd.Version, err)
	}
	if _, err := s.PutControl(ctx, got); !citadel.IsConflict(err) {
		t.Errorf("update from a stale version: got %v, want conflict", err)
	}
	bad := scfControl("f1", "IAC-02")
	bad.RefID = ""
	if _, err := s.PutControl(ctx, bad); !citadel.IsInvalid(err) {
		t.Errorf("no ref_id: got %v, want invalid", err)
	}
	pol := scfControl("f1", "IAC-03")
	pol.Category = citadel.CategoryPolicy
	if _, err := s.PutControl(ctx, pol); !citadel.IsInvalid(err) {
		t.Errorf("scan policy without template: got %v, want invalid", err)
	}
	if _, err := s.GetControl(ctx, "ctl-nope"); !citadel.IsNotFound(err) {
		t.Errorf("missing: got %v, want not found", err)
	}
	many, err := s.GetControls(ctx, []string{c.ID, "ctl-nope", c.ID})
	if err != nil || len(many) != 1 || many[c.ID].Version != 2 {
		t.Errorf("GetControls = %v, %v; want the one stored control at version 2", many, err)
	}
}

func TestListControlsPaginatesByRefID(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	var cs []citadel.AppliedControl
	for _, id := range []string{"TDA-02", "IAC-01", "NET-04", "CRY-05", "END-04"} {
		cs = append(cs, scfControl("f1", id))
	}
	cs = append(cs, scfControl("f2", "AAA-01"))
	if _, err := s.PutControls(ctx, cs); err != nil {
		t.Fatal(err)
	}
	var refs []string
	cursor := ""
	for {
		p, err := s.ListControls(ctx, "f1", 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range p.Items {
			refs = append(refs, c.RefID)
		}
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	want := []string{"SCF-CRY-05", "SCF-END-04", "SCF-IAC-01", "SCF-NET-04", "SCF-TDA-02"}
	if d := cmp.Diff(want, refs); d != "" {
		t.Errorf("refs (-want +got):\n%s", d)
	}
	all, err := s.AllControls(ctx, "f2")
	if err != nil || len(all) != 1 {
		t.Errorf("AllControls(f2) = %d controls, %v; want 1", len(all), err)
	}
}

func TestControlRequirementMappingsBothWays(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	a, b := citadel.AppliedControlIDForSCF("f1", "IAC-01"), citadel.AppliedControlIDForSCF("f1", "LOG-01")
	ms := []citadel.ControlRequirementMapping{
		{ControlID: a, RequirementID: "cis_3.0_aws:1.1", FrameworkID: "cis_3.0_aws", Source: citadel.MappingProwler},
		{ControlID: a, RequirementID: "cis_3.0_aws:1.10", FrameworkID: "cis_3.0_aws", Source: citadel.MappingProwler},
		{ControlID: b, RequirementID: "cis_3.0_aws:1.1", FrameworkID: "cis_3.0_aws", Source: citadel.MappingSCF},
		{ControlID: b, RequirementID: "soc2_aws:cc_6_1", FrameworkID: "soc2_aws", Source: citadel.MappingSCF},
	}
	if err := s.PutControlMappings(ctx, "f1", ms); err != nil {
		t.Fatal(err)
	}
	// Another folder's mapping of the same requirement stays out.
	if err := s.PutControlMappings(ctx, "f2", []citadel.ControlRequirementMapping{{ControlID: "ctl-x", RequirementID: "cis_3.0_aws:1.1", Source: citadel.MappingManual}}); err != nil {
		t.Fatal(err)
	}
	byCtl, err := s.RequirementsOfControl(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(ms[:2], byCtl); d != "" {
		t.Errorf("requirements of control (-want +got):\n%s", d)
	}
	byReq, err := s.ControlsOfRequirement(ctx, "f1", "cis_3.0_aws", "1.1")
	if err != nil {
		t.Fatal(err)
	}
	sortMappings(byReq)
	want := []citadel.ControlRequirementMapping{ms[0], ms[2]}
	sortMappings(want)
	if d := cmp.Diff(want, byReq); d != "" {
		t.Errorf("controls of 1.1 (must not include 1.10) (-want +got):\n%s", d)
	}
	fw, err := s.FrameworkMappings(ctx, "f1", "cis_3.0_aws")
	if err != nil || len(fw) != 3 {
		t.Errorf("framework mappings = %d, %v; want 3", len(fw), err)
	}
	for _, bad := range []citadel.ControlRequirementMapping{
		{ControlID: a, RequirementID: "cis_3.0_aws:1.1", Source: "guess"},
		{ControlID: "", RequirementID: "cis_3.0_aws:1.1", Source: citadel.MappingSCF},
		{ControlID: a, RequirementID: "no-framework", Source: citadel.MappingSCF},
	} {
		if err := s.PutControlMappings(ctx, "f1", []citadel.ControlRequirementMapping{bad}); !citadel.IsInvalid(err) {
			t.Errorf("mapping %+v: got %v, want invalid", bad, err)
		}
	}
}

func sortMappings(ms []citadel.ControlRequirementMapping) {
	slices.SortFunc(ms, func(a, b citadel.ControlRequirementMapping) int {
		return cmpStr(a.ControlID+a.RequirementID, b.ControlID+b.RequirementID)
	})
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestControlLinksBothWays(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	links := []citadel.ControlLink{
		{ControlID: "ctl-a", Kind: citadel.LinkCheck, TargetID: "s3_bucket_public_access", Origin: citadel.OriginScan},
		{ControlID: "ctl-a", Kind: citadel.LinkAsset, TargetID: "asset-1", Origin: citadel.OriginScan},
		{ControlID: "ctl-a", Kind: citadel.LinkAsset, TargetID: "asset-2", Origin: citadel.OriginManual},
		{ControlID: "ctl-b", Kind: citadel.LinkAsset, TargetID: "asset-1", Origin: citadel.OriginScan},
		{ControlID: "ctl-b", Kind: citadel.LinkEvidence, TargetID: "ev-1", Origin: citadel.OriginScan},
	}
	if err := s.PutControlLinks(ctx, links); err != nil {
		t.Fatal(err)
	}
	assets, err := s.LinksOfControl(ctx, "ctl-a", citadel.LinkAsset)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(links[1:3], assets); d != "" {
		t.Errorf("asset links of ctl-a (-want +got):\n%s", d)
	}
	all, err := s.LinksOfControl(ctx, "ctl-a", "")
	if err != nil || len(all) != 3 {
		t.Errorf("all links of ctl-a = %d, %v; want 3", len(all), err)
	}
	to, err := s.ControlsLinkedTo(ctx, citadel.LinkAsset, "asset-1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]citadel.ControlLink{links[1], links[3]}, to); d != "" {
		t.Errorf("controls of asset-1 (-want +got):\n%s", d)
	}
	ev, err := s.ControlsLinkedTo(ctx, citadel.LinkEvidence, "ev-1")
	if err != nil || len(ev) != 1 || ev[0].ControlID != "ctl-b" {
		t.Errorf("controls of ev-1 = %v, %v", ev, err)
	}
	for _, bad := range []citadel.ControlLink{
		{ControlID: "ctl-a", Kind: "user", TargetID: "x", Origin: citadel.OriginScan},
		{ControlID: "ctl-a", Kind: citadel.LinkAsset, TargetID: "", Origin: citadel.OriginScan},
		{ControlID: "ctl-a", Kind: citadel.LinkAsset, TargetID: "x", Origin: "robot"},
	} {
		if err := s.PutControlLinks(ctx, []citadel.ControlLink{bad}); !citadel.IsInvalid(err) {
			t.Errorf("link %+v: got %v, want invalid", bad, err)
		}
	}
}

// TestControlLinkWhyRoundTrip: a check link keeps its why (imported with
// frameworks and score, manual with who, when and why), a put replaces the
// why in place, a delete removes the link both ways, and a why on the
// wrong link or without its fields is refused with nothing written.
func TestControlLinkWhyRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	imported := citadel.WhyOfLink(citadel.EffectiveLink{Origin: citadel.LinkImported, CheckSCFLink: citadel.CheckSCFLink{
		CheckID: "s3_public", SCFID: "IAC-01", Rank: 2, Score: 1.83, Frameworks: []string{"iso27001_2022", "soc2"}, Requirements: []string{"soc2:cc_6_1"}}})
	manual := citadel.WhyOfLink(citadel.EffectiveLink{Origin: citadel.LinkManual, CheckSCFLink: citadel.CheckSCFLink{CheckID: "s3_public", SCFID: "IAC-01", Rank: 1},
		Correction: &citadel.LinkCorrection{CheckID: "s3_public", SCFID: "IAC-01", Action: citadel.LinkAdd, Reason: "checked by hand", By: "alice", At: t0}})
	prowler := citadel.WhyOfRequirement("cis_3.0:1.14")
	links := []citadel.ControlLink{
		{ControlID: "ctl-a", Kind: citadel.LinkCheck, TargetID: "s3_public", Origin: citadel.OriginScan, Why: &imported},
		{ControlID: "ctl-a", Kind: citadel.LinkCheck, TargetID: "trail_on", Origin: citadel.OriginManual},
		{ControlID: "ctl-r", Kind: citadel.LinkCheck, TargetID: "iam_rotate", Origin: citadel.OriginScan, Why: &prowler},
	}
	if err := s.PutControlLinks(ctx, links); err != nil {
		t.Fatal(err)
	}
	read := func(control string) []citadel.ControlLink {
		t.Helper()
		got, err := s.LinksOfControl(ctx, control, citadel.LinkCheck)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if d := cmp.Diff(links[:2], read("ctl-a")); d != "" {
		t.Errorf("check links of ctl-a (-want +got):\n%s", d)
	}
	if d := cmp.Diff(links[2:], read("ctl-r")); d != "" {
		t.Errorf("check links of ctl-r (-want +got):\n%s", d)
	}

	// The correction turns the link manual: the same item, a new why.
	changed := links[0]
	changed.Why = &manual
	if err := s.PutControlLinks(ctx, []citadel.ControlLink{changed}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]citadel.ControlLink{changed, links[1]}, read("ctl-a")); d != "" {
		t.Errorf("after the correction (-want +got):\n%s", d)
	}
	if got := read("ctl-a")[0].Why.Summary; got != "manual, rank 1: by alice on 2026-11-29: checked by hand" {
		t.Errorf("manual summary = %q", got)
	}

	if err := s.DeleteControlLinks(ctx, []citadel.ControlLink{changed, {ControlID: "ctl-a", Kind: citadel.LinkCheck, TargetID: "never-linked"}}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(links[1:2], read("ctl-a")); d != "" {
		t.Errorf("after the delete (-want +got):\n%s", d)
	}
	if to, err := s.ControlsLinkedTo(ctx, citadel.LinkCheck, "s3_public"); err != nil || len(to) != 0 {
		t.Errorf("controls of s3_public after the delete = %v, %v; want none", to, err)
	}
	if err := s.DeleteControlLinks(ctx, []citadel.ControlLink{{ControlID: "ctl-a", Kind: citadel.LinkCheck}}); !citadel.IsInvalid(err) {
		t.Errorf("delete without a target: got %v, want invalid", err)
	}

	noReason := manual
	noReason.Reason = " "
	for _, tc := range []struct {
		name string
		link citadel.ControlLink
		want string
	}{
		{"why on an asset link", citadel.ControlLink{ControlID: "ctl-b", Kind: citadel.LinkAsset, TargetID: "a", Origin: citadel.OriginScan, Why: &imported}, "only for a scan's check link"},
		{"why on a manual link", citadel.ControlLink{ControlID: "ctl-b", Kind: citadel.LinkCheck, TargetID: "c", Origin: citadel.OriginManual, Why: &imported}, "only for a scan's check link"},
		{"unknown origin", citadel.ControlLink{ControlID: "ctl-b", Kind: citadel.LinkCheck, TargetID: "c", Origin: citadel.OriginScan, Why: &citadel.LinkWhy{Origin: "guess", Summary: "x"}}, `origin "guess"`},
		{"manual without a reason", citadel.ControlLink{ControlID: "ctl-b", Kind: citadel.LinkCheck, TargetID: "c", Origin: citadel.OriginScan, Why: &noReason}, "by and reason"},
		{"no summary", citadel.ControlLink{ControlID: "ctl-b", Kind: citadel.LinkCheck, TargetID: "c", Origin: citadel.OriginScan, Why: &citadel.LinkWhy{Origin: citadel.LinkImported}}, "summary is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.PutControlLinks(ctx, []citadel.ControlLink{tc.link})
			if !citadel.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want invalid naming %q", err, tc.want)
			}
		})
	}
	if got, err := s.LinksOfControl(ctx, "ctl-b", ""); err != nil || len(got) != 0 {
		t.Errorf("refused links were written: %v, %v", got, err)
	}
}

func TestAssessmentRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	ra := citadel.RequirementAssessment{
		FolderID: "f1", RequirementID: "soc2_aws:cc_6_1", AppliedControlIDs: []string{"ctl-manual"},
		Answers: map[string]string{"q1": "yes"}, Result: citadel.ResultCompliant, UpdatedAt: t0,
	}
	stored, err := s.PutAssessment(ctx, ra)
	if err != nil {
		t.Fatal(err)
	}
	if stored.ID != citadel.RequirementAssessmentID("f1", "soc2_aws:cc_6_1") || stored.FrameworkID != "soc2_aws" {
		t.Errorf("stored = %+v; want id and framework filled in", stored)
	}
	got, err := s.GetAssessment(ctx, stored.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(stored, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	for i := range 3 {
		other := ra
		other.RequirementID = fmt.Sprintf("soc2_aws:cc_7_%d", i)
		if _, err := s.PutAssessment(ctx, other); err != nil {
			t.Fatal(err)
		}
	}
	other := ra
	other.RequirementID = "iso27001_2022_aws:A.5.1"
	if _, err := s.PutAssessment(ctx, other); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListAssessments(ctx, "f1", "soc2_aws")
	if err != nil || len(list) != 4 {
		t.Errorf("soc2 assessments = %d, %v; want 4", len(list), err)
	}
	for name, bad := range map[string]citadel.RequirementAssessment{
		"no framework in requirement": {FolderID: "f1", RequirementID: "cc_6_1", Result: citadel.ResultCompliant},
		"bad result":                  {FolderID: "f1", RequirementID: "soc2_aws:cc_6_1", Result: "great"},
		"framework mismatch":          {FolderID: "f1", FrameworkID: "iso", RequirementID: "soc2_aws:cc_6_1", Result: citadel.ResultCompliant},
		"foreign id":                  {ID: "ra-x", FolderID: "f1", RequirementID: "soc2_aws:cc_6_1", Result: citadel.ResultCompliant},
	} {
		if _, err := s.PutAssessment(ctx, bad); !citadel.IsInvalid(err) {
			t.Errorf("%s: got %v, want invalid", name, err)
		}
	}
}
