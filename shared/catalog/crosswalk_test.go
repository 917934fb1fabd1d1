package catalog

import (
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// The embedded crosswalk: CSF 1.1 subcategory ids (no leading zero) to CSF
// 2.0 ones (two digits), for Prowler's nist_csf_2.0 framework, with its
// source named.
func TestCrosswalkFile(t *testing.T) {
	cw := crosswalks["nist_csf_2.0"]
	if cw == nil {
		t.Fatal("no crosswalk for nist_csf_2.0")
	}
	if cw.Source == "" || cw.Published != "2024-06-29" {
		t.Errorf("source %q published %q", cw.Source, cw.Published)
	}
	old, nu := regexp.MustCompile(`^(ID|PR|DE|RS|RC)\.[A-Z]{2}-[1-9][0-9]?$`), regexp.MustCompile(`^(GV|ID|PR|DE|RS|RC)\.[A-Z]{2}-[0-9]{2}$`)
	for from, tos := range cw.Map {
		if !old.MatchString(from) {
			t.Errorf("key %q is not a CSF 1.1 subcategory id", from)
		}
		for _, to := range tos {
			if !nu.MatchString(to) {
				t.Errorf("%s → %q is not a CSF 2.0 subcategory id", from, to)
			}
		}
	}
	if len(cw.Map) != 106 {
		t.Errorf("%d CSF 1.1 subcategories, want 106", len(cw.Map))
	}
	// Two rows checked by hand against the source.
	for from, want := range map[string][]string{"PR.AC-1": {"PR.AA-01", "PR.AA-05"}, "PR.IP-4": {"PR.DS-11"}} {
		if d := cmp.Diff(want, cw.Map[from]); d != "" {
			t.Errorf("%s (-want +got):\n%s", from, d)
		}
	}
}

func TestParseCrosswalkRefusesBadFiles(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"broken YAML", "map: [", "crosswalk: invalid YAML: yaml: line 1: did not find expected node content"},
		{"no source", "framework: f\nmap: {PR.AC-1: [PR.AA-01]}\n", "crosswalk: framework, source and map are required"},
		{"no framework", "source: s\nmap: {PR.AC-1: [PR.AA-01]}\n", "crosswalk: framework, source and map are required"},
		{"empty map", "source: s\nframework: f\nmap: {}\n", "crosswalk: framework, source and map are required"},
		{"key not an id", "source: s\nframework: f\nmap: {access control: [PR.AA-01]}\n", `crosswalk f: "access control": want a requirement id with at least one target`},
		{"no targets", "source: s\nframework: f\nmap: {PR.AC-1: []}\n", `crosswalk f: "PR.AC-1": want a requirement id with at least one target`},
		{"target not an id", "source: s\nframework: f\nmap: {PR.AC-1: [identity management]}\n", `crosswalk f: PR.AC-1: target "identity management" is not a requirement id`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseCrosswalk([]byte(tc.yaml))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("error (-want +got):\n%s", d)
			}
		})
	}
}

// Join follows the crosswalk only for requirements that match nothing
// directly, joins every CSF 2.0 id a 1.1 id moved to, records them as
// intersect (an old id only overlaps its new ones) and reports them; ids
// the crosswalk does not know stay unmatched.
func TestJoinThroughTheCrosswalk(t *testing.T) {
	req := func(id, name string) citadel.RequirementNode {
		return citadel.RequirementNode{ID: citadel.RequirementID("nist_csf_2.0", id), FrameworkID: "nist_csf_2.0", RefID: id, Name: name}
	}
	reqs := []citadel.RequirementNode{
		req("ac_1", "PR.AC-1"), // 1.1: moved to PR.AA-01 and PR.AA-05
		req("ip_4", "PR.IP-4"), // 1.1: moved to PR.DS-11
		req("ds_1", "PR.DS-1"), // in both versions: joins directly
		req("po_3", "GV.PO-3"), // neither 1.1 nor 2.0
		req("ds_7", "PR.DS-7"), // 1.1: moved to PR.IR-01, which this mapping lacks
	}
	p := &Prowler{Requirements: reqs, joinKeys: map[string][]string{}}
	for _, r := range reqs {
		p.joinKeys[r.ID] = joinCandidates(r.RefID, r.Name, nil)
	}
	scf := &SCF{Mappings: []MappingFile{{File: "mapping-nist-csf-2.0-and-scf-x.yaml", Framework: "nist-csf-2.0", Entries: []MappingEntry{
		{Ref: "pr.aa-01", SCFID: "IAC-01", Relationship: citadel.RelEqual},
		{Ref: "pr.aa-05", SCFID: "IAC-08", Relationship: citadel.RelSubset},
		{Ref: "pr.ds-11", SCFID: "BCD-11", Relationship: citadel.RelEqual},
		{Ref: "pr.ds-01", SCFID: "CRY-05", Relationship: citadel.RelEqual},
		// PR.DS-01 is also where PR.DS-5 and PR.DS-6 moved; a direct match keeps its relationship.
	}}}}
	maps, reps := Join(p, scf)
	want := []citadel.SCFFrameworkMapping{
		{SCFID: "BCD-11", RequirementID: "nist_csf_2.0:ip_4", FrameworkID: "nist_csf_2.0", Relationship: citadel.RelIntersect},
		{SCFID: "CRY-05", RequirementID: "nist_csf_2.0:ds_1", FrameworkID: "nist_csf_2.0", Relationship: citadel.RelEqual},
		{SCFID: "IAC-01", RequirementID: "nist_csf_2.0:ac_1", FrameworkID: "nist_csf_2.0", Relationship: citadel.RelIntersect},
		{SCFID: "IAC-08", RequirementID: "nist_csf_2.0:ac_1", FrameworkID: "nist_csf_2.0", Relationship: citadel.RelIntersect},
	}
	if d := cmp.Diff(want, maps); d != "" {
		t.Errorf("mappings (-want +got):\n%s", d)
	}
	if len(reps) != 1 {
		t.Fatalf("%d reports", len(reps))
	}
	r := reps[0]
	if d := cmp.Diff([]string{"po_3", "ds_7"}, r.ProwlerUnmatched); d != "" {
		t.Errorf("unmatched (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"ac_1", "ip_4"}, r.ProwlerCrosswalked); d != "" {
		t.Errorf("crosswalked (-want +got):\n%s", d)
	}
	if r.ProwlerMatched != 3 || r.MappingMatched != 4 {
		t.Errorf("matched %d Prowler requirements, %d mapping refs; want 3, 4", r.ProwlerMatched, r.MappingMatched)
	}
}
