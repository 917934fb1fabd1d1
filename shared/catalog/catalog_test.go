package catalog

import (
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if d := cmp.Diff(strings.TrimSpace(string(want)), strings.TrimSpace(string(b))); d != "" {
		t.Errorf("%s (-want +got):\n%s", name, d)
	}
}

func fixture(t *testing.T) *Catalog {
	t.Helper()
	c, err := Build(os.DirFS("testdata/prowler"), os.DirFS("testdata/scf"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBuildFixture(t *testing.T) {
	c := fixture(t)
	p := c.Prowler
	if p.Version != "9.9.9" || p.Layout != LayoutInstalled {
		t.Errorf("version %q layout %q, want 9.9.9 installed", p.Version, p.Layout)
	}
	var fws []string
	for _, f := range p.Frameworks {
		fws = append(fws, f.ID+"/"+f.Provider)
	}
	if d := cmp.Diff([]string{"cis_controls_8.1/multi", "pci_4.0/AWS", "soc2/AWS"}, fws); d != "" {
		t.Errorf("frameworks (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"compliance/gcp_only_1.0.json"}, p.SkippedFiles); d != "" {
		t.Errorf("skipped files (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string][]string{"check_that_was_removed": {"soc2:cc_6_1"}}, p.UnknownChecks); d != "" {
		t.Errorf("unknown checks (-want +got):\n%s", d)
	}
	golden(t, "fixture_checks.golden.json", p.Checks)
	golden(t, "fixture_requirements.golden.json", p.Requirements)
	golden(t, "fixture_join.golden.json", map[string]any{"mappings": c.Mappings, "reports": c.JoinReports})
	golden(t, "fixture_links.golden.json", c.Links)
}

func TestBuildWithoutSCF(t *testing.T) {
	for name, scfFS := range map[string]fs.FS{"nil": nil, "empty folder": fstest.MapFS{"README": {Data: []byte("x")}}} {
		c, err := Build(os.DirFS("testdata/prowler"), scfFS, Options{ProwlerVersion: "1.2.3"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.SCF != nil || len(c.Links) != 0 || len(c.Mappings) != 0 {
			t.Errorf("%s: got SCF data without SCF files", name)
		}
		if len(c.Templates) < 20 || c.Prowler.Version != "1.2.3" || c.Prowler.Checks[0].ProwlerVersion != "1.2.3" {
			t.Errorf("%s: templates %d, version %q", name, len(c.Templates), c.Prowler.Version)
		}
	}
}

func TestNormalizeRef(t *testing.T) {
	for in, want := range map[string]string{
		"cc_6_1": "cc.6.1", "CC6.1": "cc.6.1", "A.5.15": "a.5.15", "a.5.15": "a.5.15",
		"GV.OC-1": "gv.oc.1", "gv.oc-01": "gv.oc.1", "A1.2": "a.1.2", "cc_a_1_2": "cc.a.1.2",
		"10.2.1.7": "10.2.1.7", "PR.DS-01": "pr.ds.1", "ir-4-1": "ir.4.1", "0": "0", "": "",
	} {
		if got := NormalizeRef(in); got != want {
			t.Errorf("NormalizeRef(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJoinCandidates(t *testing.T) {
	for _, tc := range []struct {
		id, name string
		attrs    map[string]any
		want     []string
	}{
		{"cc_a_1_1", "A1.2 The entity authorizes", map[string]any{"ItemId": "cc_a_1_1"}, []string{"cc.a.1.1", "a.1.2"}},
		{"oc_1", "GV.OC-1", nil, []string{"oc.1", "gv.oc.1"}},
		{"1.2.5.3", "cloudfront", map[string]any{"Section": "1.2.5: Network security controls"}, []string{"1.2.5", "1.2.5.3"}},
		{"A.5.1", "Policies for information security", map[string]any{"Objetive_ID": "A.5.1"}, []string{"a.5.1"}},
		{"Create Cost Anomaly Detection monitors", "x", nil, nil},
	} {
		if d := cmp.Diff(tc.want, joinCandidates(tc.id, tc.name, tc.attrs)); d != "" {
			t.Errorf("joinCandidates(%q) (-want +got):\n%s", tc.id, d)
		}
	}
}

func TestLinksRule(t *testing.T) {
	reqs := []citadel.RequirementNode{
		{ID: "a:precise", FrameworkID: "a", Checks: []string{"c"}},
		{ID: "b:broad", FrameworkID: "b", Checks: []string{"c", "x1", "x2", "x3", "x4", "x5", "x6", "x7"}},
		{ID: "c:broad", FrameworkID: "c", Checks: []string{"c", "x1", "x2", "x3", "x4", "x5", "x6", "x7"}},
	}
	maps := []citadel.SCFFrameworkMapping{{SCFID: "EQL-01", RequirementID: "a:precise", FrameworkID: "a", Relationship: citadel.RelEqual}}
	for _, s := range []string{"BRD-01", "BRD-02", "BRD-03", "BRD-04", "BRD-05", "BRD-06"} {
		maps = append(maps,
			citadel.SCFFrameworkMapping{SCFID: s, RequirementID: "b:broad", FrameworkID: "b", Relationship: citadel.RelIntersect},
			citadel.SCFFrameworkMapping{SCFID: s, RequirementID: "c:broad", FrameworkID: "c", Relationship: citadel.RelIntersect})
	}
	// BRD-01 is also reached by the precise requirement, as a subset: three frameworks.
	maps = append(maps, citadel.SCFFrameworkMapping{SCFID: "BRD-01", RequirementID: "a:precise", FrameworkID: "a", Relationship: citadel.RelSubset})
	checks := []citadel.SecurityCheck{{ID: "c", MappedRequirements: []string{"a:precise", "b:broad", "c:broad"}}}

	rank := func(links []citadel.CheckSCFLink) []string {
		var out []string
		for _, l := range links {
			out = append(out, l.SCFID)
		}
		return out
	}
	got := Candidates(checks, reqs, maps, JoinOptions{})
	// BRD-01: three frameworks; EQL-01: one precise equal path beats two
	// broad intersecting frameworks; then the first broad control by id.
	if d := cmp.Diff([]string{"BRD-01", "EQL-01", "BRD-02"}, rank(got)); d != "" {
		t.Errorf("default links (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"a", "b", "c"}, got[0].Frameworks); d != "" {
		t.Errorf("why BRD-01 (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"a:precise", "b:broad", "c:broad"}, got[0].Requirements); d != "" {
		t.Errorf("requirements of BRD-01 (-want +got):\n%s", d)
	}
	if n := len(Candidates(checks, reqs, maps, JoinOptions{MaxPerCheck: 5, MinShare: -1})); n != 5 {
		t.Errorf("MaxPerCheck 5: %d links", n)
	}
	if n := len(Candidates(checks, reqs, maps, JoinOptions{MaxPerCheck: 1})); n != 1 {
		t.Errorf("MaxPerCheck 1: %d links", n)
	}
	// A MinShare of 0.9 keeps only what scores near the best.
	if d := cmp.Diff([]string{"BRD-01"}, rank(Candidates(checks, reqs, maps, JoinOptions{MinShare: 0.9}))); d != "" {
		t.Errorf("MinShare 0.9 (-want +got):\n%s", d)
	}
}

// The reference data: exact counts as read from the files.
func TestSharedData(t *testing.T) {
	dir := testenv.SharedData(t)
	c := sharedCatalog(t)
	p := c.Prowler
	awsFiles, _ := filepath.Glob(filepath.Join(dir, "prowler/compliance/aws/*.json"))
	multiFiles, _ := filepath.Glob(filepath.Join(dir, "prowler/compliance/multi/*.json"))
	metas, _ := filepath.Glob(filepath.Join(dir, "prowler/checks/*.metadata.json"))
	if len(metas) != 645 || len(awsFiles) != 45 || len(multiFiles) != 4 {
		t.Fatalf("reference data changed: %d checks, %d AWS and %d multi frameworks", len(metas), len(awsFiles), len(multiFiles))
	}
	if len(p.Checks) != 645 || len(p.Frameworks) != 49 || p.Layout != LayoutFlat {
		t.Errorf("%d checks, %d frameworks, layout %s; want 645, 49, flat", len(p.Checks), len(p.Frameworks), p.Layout)
	}
	// Requirements: every requirement of every file, duplicates merged.
	total := 0
	for _, f := range append(awsFiles, multiFiles...) {
		var raw map[string]json.RawMessage
		b, _ := os.ReadFile(f)
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
		var reqs []json.RawMessage
		key := "Requirements"
		if _, ok := raw[key]; !ok {
			key = "requirements"
		}
		_ = json.Unmarshal(raw[key], &reqs)
		total += len(reqs)
	}
	if got := len(p.Requirements) + len(p.DuplicateRequirements); got != total {
		t.Errorf("requirements %d + %d duplicates = %d, want %d as in the files", len(p.Requirements), len(p.DuplicateRequirements), got, total)
	}
	if len(p.DuplicateRequirements) != 7 {
		t.Errorf("duplicate requirement ids: %v", p.DuplicateRequirements)
	}
	if len(p.UnknownChecks) != 39 || p.UnknownChecks["eks_endpoints_not_publicly_accessible"] == nil {
		t.Errorf("unknown checks: %d %v", len(p.UnknownChecks), p.UnknownCheckIDs())
	}
	deprecated := 0
	for _, ch := range p.Checks {
		if ch.Deprecated {
			deprecated++
		}
	}
	if deprecated != 4 {
		t.Errorf("deprecated checks: %d, want 4", deprecated)
	}
	if c.SCF.Version != "2025.2.2" || len(c.SCF.Controls) != 1341 || len(c.SCF.Mappings) != 5 {
		t.Errorf("SCF %s: %d controls, %d mapping files", c.SCF.Version, len(c.SCF.Controls), len(c.SCF.Mappings))
	}
	rates := map[string]string{}
	for _, r := range c.JoinReports {
		rates[r.FrameworkID] = strings.Join([]string{itoa(r.ProwlerMatched), itoa(r.ProwlerRequirements)}, "/")
	}
	if d := cmp.Diff(map[string]string{
		"cis_controls_8.1": "153/153", "iso27001_2022": "92/92", "nist_csf_2.0": "74/78", "pci_4.0": "1677/1679", "soc2": "27/27",
	}, rates); d != "" {
		t.Errorf("join rates (-want +got):\n%s", d)
	}
	st := c.LinkStats
	// The ranking links every check the join does (549) and more: the check's
	// own text offers candidates where no framework lists it.
	if st.ChecksLinked < st.NaiveChecksLinked || st.NaiveChecksLinked != 549 || st.LinksMax != DefaultMaxLinks || st.NaiveMedian < 10 || st.LinksMedian > 3 {
		t.Errorf("link stats %+v", st)
	}
	golden(t, "shared_join_reports.golden.json", c.JoinReports)
	golden(t, "shared_link_stats.golden.json", st)
	sample := map[string][]string{}
	all := LinksJSON(c.Links)
	for _, id := range SampleChecks {
		sample[id] = all[id]
	}
	golden(t, "shared_sample_links.golden.json", sample)
	if !contains(all["s3_bucket_default_encryption"], "CRY-05") {
		t.Errorf("bucket default encryption links %v, want CRY-05 among them", all["s3_bucket_default_encryption"])
	}
	if !contains(all["iam_user_mfa_enabled_console_access"], "IAC-06") {
		t.Errorf("console MFA links %v, want IAC-06 among them", all["iam_user_mfa_enabled_console_access"])
	}
}

// SampleChecks are the well-known checks docs/catalog.md hand-checks.
var SampleChecks = []string{
	"s3_bucket_default_encryption", "iam_root_mfa_enabled", "iam_root_hardware_mfa_enabled",
	"iam_user_mfa_enabled_console_access", "iam_no_root_access_key", "iam_user_accesskey_unused",
	"iam_password_policy_minimum_length_14", "cloudtrail_multi_region_enabled",
	"cloudtrail_log_file_validation_enabled", "rds_instance_storage_encrypted", "ec2_ebs_volume_encryption",
	"ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22", "s3_bucket_public_access",
	"s3_bucket_secure_transport_policy", "vpc_flow_logs_enabled", "kms_cmk_rotation_enabled",
	"guardduty_is_enabled", "securityhub_enabled", "config_recorder_all_regions_enabled", "rds_instance_backup_enabled",
}

func TestTemplatesAreOwnWordsAndMapToRealSCF(t *testing.T) {
	tpls, hash, err := Templates()
	if err != nil {
		t.Fatal(err)
	}
	if len(tpls) < 20 || hash == "" {
		t.Fatalf("%d templates, hash %q", len(tpls), hash)
	}
	dir := testenv.SharedData(t)
	scf, _, err := LoadSCF(os.DirFS(filepath.Join(dir, "scf")))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckTemplates(tpls, scf); err != nil {
		t.Error(err)
	}
	// No run of six words from any SCF control's text appears in a template.
	shingles := map[string]string{}
	for _, c := range scf.Controls {
		w := strings.Fields(strings.ToLower(c.Description + " " + c.Title))
		for i := 0; i+6 <= len(w); i++ {
			shingles[strings.Join(w[i:i+6], " ")] = c.ID
		}
	}
	for _, tpl := range tpls {
		if tpl.Category != citadel.CategoryPolicy {
			t.Errorf("%s: category %s", tpl.ID, tpl.Category)
		}
		w := strings.Fields(strings.ToLower(tpl.Name + " " + tpl.Description))
		for i := 0; i+6 <= len(w); i++ {
			if id, ok := shingles[strings.Join(w[i:i+6], " ")]; ok {
				t.Errorf("%s shares %q with SCF %s", tpl.ID, strings.Join(w[i:i+6], " "), id)
			}
		}
	}
	if _, _, err := parseTemplates([]byte("templates:\n  - ref: POL.X\n    name: x\n")); !citadel.IsInvalid(err) {
		t.Errorf("incomplete template: %v", err)
	}
	fake := &SCF{File: "scf-x.yaml", ids: map[string]bool{"IAC-01": true}}
	if err := CheckTemplates(tpls, fake); err == nil || !strings.Contains(err.Error(), "unknown SCF control") {
		t.Errorf("unknown SCF id: %v", err)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
