package ddb_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func catalogCheck(id string, reqs ...string) citadel.SecurityCheck {
	return citadel.SecurityCheck{
		ID: id, Title: "title of " + id, Service: "s3", ResourceType: "AwsS3Bucket",
		Severity: citadel.SeverityHigh, Categories: []string{"encryption"},
		Description: "d", Risk: "r", Remediation: citadel.Remediation{Text: "fix it", URL: "https://example.com"},
		MappedRequirements: reqs, ProwlerVersion: "5.40.0",
	}
}

func TestChecksRoundTripAndMappedIndex(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	deprecated := catalogCheck("c_deprecated", "soc2:cc_6_1")
	deprecated.Deprecated = true
	checks := []citadel.SecurityCheck{catalogCheck("c_mapped", "soc2:cc_6_1", "iso27001_2022:A.8.24"), catalogCheck("c_unmapped"), deprecated}
	if err := s.PutChecks(ctx, checks); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCheck(ctx, "c_mapped")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(checks[0], got); d != "" {
		t.Errorf("GetCheck (-want +got):\n%s", d)
	}
	if _, err := s.GetCheck(ctx, "nope"); !citadel.IsNotFound(err) {
		t.Errorf("missing check: got %v, want not found", err)
	}
	known, err := s.KnownChecks(ctx, []string{"c_mapped", "nope", "c_deprecated", "c_mapped"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]bool{"c_mapped": true, "c_deprecated": true}, known); d != "" {
		t.Errorf("KnownChecks (-want +got):\n%s", d)
	}
	all, err := s.ListChecks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"c_deprecated", "c_mapped", "c_unmapped"}, catalogIDs(all, func(c citadel.SecurityCheck) string { return c.ID })); d != "" {
		t.Errorf("ListChecks (-want +got):\n%s", d)
	}
	mapped, err := s.ListMappedChecks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"c_mapped"}, catalogIDs(mapped, func(c citadel.SecurityCheck) string { return c.ID })); d != "" {
		t.Errorf("ListMappedChecks (-want +got):\n%s", d)
	}
	// Deprecating a mapped check takes it out of the sparse index.
	c := checks[0]
	c.Deprecated = true
	if err := s.PutChecks(ctx, []citadel.SecurityCheck{c}); err != nil {
		t.Fatal(err)
	}
	if mapped, _ = s.ListMappedChecks(ctx); len(mapped) != 0 {
		t.Errorf("after deprecation ListMappedChecks = %v, want none", mapped)
	}
	bad := catalogCheck("c_bad")
	bad.Severity = "urgent"
	if err := s.PutChecks(ctx, []citadel.SecurityCheck{bad}); !citadel.IsInvalid(err) {
		t.Errorf("bad severity: got %v, want invalid", err)
	}
}

func TestFrameworksAndRequirements(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	fws := []citadel.Framework{
		{ID: "soc2", Name: "SOC 2", Provider: "AWS", Source: "prowler", RequirementCount: 2},
		{ID: "iso27001_2022", Name: "ISO 27001", Version: "2022", Source: "prowler", RequirementCount: 1},
	}
	if err := s.PutFrameworks(ctx, fws); err != nil {
		t.Fatal(err)
	}
	reqs := []citadel.RequirementNode{
		{ID: "soc2:cc_6_1", FrameworkID: "soc2", RefID: "cc_6_1", Name: "CC6.1", Assessable: true, Weight: 1, Checks: []string{"a", "b"}},
		{ID: "soc2:cc_1_3", FrameworkID: "soc2", RefID: "cc_1_3", Name: "CC1.3", Assessable: true, Weight: 1},
		{ID: "iso27001_2022:A.5.15", FrameworkID: "iso27001_2022", RefID: "A.5.15", Name: "Access control", Assessable: true, Weight: 1, Checks: []string{"a"}},
	}
	if err := s.PutRequirements(ctx, reqs); err != nil {
		t.Fatal(err)
	}
	gotFws, err := s.ListFrameworks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]citadel.Framework{fws[1], fws[0]}, gotFws); d != "" {
		t.Errorf("ListFrameworks (-want +got):\n%s", d)
	}
	if f, err := s.GetFramework(ctx, "soc2"); err != nil || f.Name != "SOC 2" {
		t.Errorf("GetFramework = %v, %v", f, err)
	}
	if _, err := s.GetFramework(ctx, "nope"); !citadel.IsNotFound(err) {
		t.Errorf("missing framework: got %v, want not found", err)
	}
	got, err := s.ListRequirements(ctx, "soc2")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]citadel.RequirementNode{reqs[1], reqs[0]}, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("ListRequirements (-want +got):\n%s", d)
	}
	r, err := s.GetRequirement(ctx, citadel.RequirementID("iso27001_2022", "A.5.15"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(reqs[2], r); d != "" {
		t.Errorf("GetRequirement (-want +got):\n%s", d)
	}
	if _, err := s.GetRequirement(ctx, "soc2:cc_9_9"); !citadel.IsNotFound(err) {
		t.Errorf("missing requirement: got %v, want not found", err)
	}
	if _, err := s.GetRequirement(ctx, "no-colon"); !citadel.IsInvalid(err) {
		t.Errorf("malformed requirement id: got %v, want invalid", err)
	}
	if err := s.PutRequirements(ctx, []citadel.RequirementNode{{ID: "x", FrameworkID: "soc2", RefID: "y"}}); !citadel.IsInvalid(err) {
		t.Errorf("inconsistent requirement id: got %v, want invalid", err)
	}
}

func TestSCFControlsLinksAndMappings(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	ctls := []citadel.SCFControl{
		{ID: "CRY-05", Domain: "CRY", Title: "Encrypting Data At Rest", Version: "2025.2.2"},
		{ID: "IAC-06", Domain: "IAC", Title: "Multi-Factor Authentication (MFA)", Version: "2025.2.2"},
	}
	if err := s.PutSCFControls(ctx, ctls); err != nil {
		t.Fatal(err)
	}
	if c, err := s.GetSCFControl(ctx, "IAC-06"); err != nil || c != ctls[1] {
		t.Errorf("GetSCFControl = %+v, %v", c, err)
	}
	if _, err := s.GetSCFControl(ctx, "XYZ-01"); !citadel.IsNotFound(err) {
		t.Errorf("missing SCF control: got %v, want not found", err)
	}
	all, err := s.ListSCFControls(ctx)
	if err != nil || len(all) != 2 {
		t.Errorf("ListSCFControls = %v, %v", all, err)
	}

	links := []citadel.CheckSCFLink{
		{CheckID: "s3_enc", SCFID: "DCH-01", Rank: 2, Score: 1.5, Frameworks: []string{"soc2"}, Requirements: []string{"soc2:cc_6_1"}},
		{CheckID: "s3_enc", SCFID: "CRY-05", Rank: 1, Score: 2.5, Frameworks: []string{"iso27001_2022", "pci_4.0"}, Requirements: []string{"iso27001_2022:A.8.24", "pci_4.0:3.5.1.1"}},
		{CheckID: "rds_enc", SCFID: "CRY-05", Rank: 1, Score: 2, Frameworks: []string{"pci_4.0"}, Requirements: []string{"pci_4.0:3.5.1.2"}},
	}
	if err := s.PutCheckSCFLinks(ctx, links); err != nil {
		t.Fatal(err)
	}
	got, err := s.SCFLinksOfCheck(ctx, "s3_enc")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]citadel.CheckSCFLink{links[1], links[0]}, got); d != "" {
		t.Errorf("SCFLinksOfCheck best first (-want +got):\n%s", d)
	}
	checks, err := s.ChecksOfSCF(ctx, "CRY-05")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"rds_enc", "s3_enc"}, checks); d != "" {
		t.Errorf("ChecksOfSCF (-want +got):\n%s", d)
	}
	everything, err := s.ListCheckSCFLinks(ctx)
	if err != nil || len(everything) != 3 {
		t.Errorf("ListCheckSCFLinks = %d links, %v; want 3", len(everything), err)
	}
	if err := s.DeleteCheckSCFLinks(ctx, links[:1]); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.SCFLinksOfCheck(ctx, "s3_enc"); len(got) != 1 || got[0].SCFID != "CRY-05" {
		t.Errorf("after delete: %v", got)
	}
	if err := s.PutCheckSCFLinks(ctx, []citadel.CheckSCFLink{{CheckID: "x", SCFID: "Y", Rank: 0}}); !citadel.IsInvalid(err) {
		t.Errorf("rank 0: got %v, want invalid", err)
	}

	maps := []citadel.SCFFrameworkMapping{
		{SCFID: "CRY-05", RequirementID: "iso27001_2022:A.8.24", FrameworkID: "iso27001_2022", Relationship: citadel.RelIntersect},
		{SCFID: "CRY-05", RequirementID: "pci_4.0:3.5.1", FrameworkID: "pci_4.0", Relationship: citadel.RelEqual},
		{SCFID: "CRY-01", RequirementID: "iso27001_2022:A.8.24", FrameworkID: "iso27001_2022", Relationship: citadel.RelSubset},
	}
	if err := s.PutSCFMappings(ctx, maps); err != nil {
		t.Fatal(err)
	}
	gotMaps, err := s.SCFMappings(ctx, "CRY-05")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(maps[:2], gotMaps); d != "" {
		t.Errorf("SCFMappings (-want +got):\n%s", d)
	}
	ofReq, err := s.SCFOfRequirement(ctx, "iso27001_2022:A.8.24")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]citadel.SCFFrameworkMapping{maps[2], maps[0]}, ofReq); d != "" {
		t.Errorf("SCFOfRequirement (-want +got):\n%s", d)
	}
	if everyMap, err := s.ListSCFMappings(ctx); err != nil || len(everyMap) != 3 {
		t.Errorf("ListSCFMappings = %d, %v; want 3", len(everyMap), err)
	}
	if err := s.DeleteSCFMappings(ctx, maps[2:]); err != nil {
		t.Fatal(err)
	}
	if ofReq, _ = s.SCFOfRequirement(ctx, "iso27001_2022:A.8.24"); len(ofReq) != 1 {
		t.Errorf("after delete SCFOfRequirement = %v", ofReq)
	}
	if err := s.PutSCFMappings(ctx, []citadel.SCFFrameworkMapping{{SCFID: "A", RequirementID: "b:c", Relationship: "similar"}}); !citadel.IsInvalid(err) {
		t.Errorf("bad relationship: got %v, want invalid", err)
	}
}

func TestReferenceControlsAndTemplatesOfSCF(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	access := citadel.ReferenceControl{ID: "POL.ACCESS", Name: "Access policy", Description: "who gets in", Category: citadel.CategoryPolicy, SCFIDs: []string{"IAC-01", "IAC-06"}}
	crypto := citadel.ReferenceControl{ID: "POL.CRYPTO", Name: "Crypto policy", Description: "keys", Category: citadel.CategoryPolicy, SCFIDs: []string{"CRY-01"}}
	if err := s.PutReferenceControls(ctx, []citadel.ReferenceControl{access, crypto}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetReferenceControl(ctx, "POL.ACCESS")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(access, got); d != "" {
		t.Errorf("GetReferenceControl (-want +got):\n%s", d)
	}
	if _, err := s.GetReferenceControl(ctx, "POL.NOPE"); !citadel.IsNotFound(err) {
		t.Errorf("missing template: got %v, want not found", err)
	}
	tpl, err := s.TemplatesOfSCF(ctx, "IAC-06")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]citadel.ReferenceControl{access}, tpl); d != "" {
		t.Errorf("TemplatesOfSCF (-want +got):\n%s", d)
	}
	// Dropping an SCF id from a template removes its mapping item.
	access.SCFIDs = []string{"IAC-01"}
	if err := s.PutReferenceControls(ctx, []citadel.ReferenceControl{access}); err != nil {
		t.Fatal(err)
	}
	if tpl, _ = s.TemplatesOfSCF(ctx, "IAC-06"); len(tpl) != 0 {
		t.Errorf("after dropping IAC-06: TemplatesOfSCF = %v", tpl)
	}
	if tpl, _ = s.TemplatesOfSCF(ctx, "IAC-01"); len(tpl) != 1 || len(tpl[0].SCFIDs) != 1 {
		t.Errorf("TemplatesOfSCF(IAC-01) = %v", tpl)
	}
	list, err := s.ListReferenceControls(ctx)
	if err != nil || len(list) != 2 {
		t.Errorf("ListReferenceControls = %v, %v", list, err)
	}
}

func TestCatalogVersion(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	if _, err := s.GetCatalogVersion(ctx); !citadel.IsNotFound(err) {
		t.Errorf("before import: got %v, want not found", err)
	}
	v := citadel.CatalogVersion{ProwlerVersion: "5.40.0", SCFVersion: "2025.2.2", TemplatesHash: "abc", ImportedAt: t0}
	if err := s.PutCatalogVersion(ctx, v); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCatalogVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(v, got); d != "" {
		t.Errorf("catalog version (-want +got):\n%s", d)
	}
}

func catalogIDs[T any](xs []T, f func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
