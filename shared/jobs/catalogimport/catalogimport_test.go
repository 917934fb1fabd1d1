package catalogimport_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/catalog"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/jobs/catalogimport"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

const (
	fixtureProwler = "../../catalog/testdata/prowler"
	fixtureSCF     = "../../catalog/testdata/scf"
)

func handler(s *ddb.Store) *catalogimport.Handler {
	return &catalogimport.Handler{Store: s, Env: stepfn.Env{Clock: func() time.Time { return t0 }}}
}

// copyDir copies a fixture folder so a test can change it.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestImportFixtureThenUpgrade(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	h := handler(s)
	out, err := h.Handle(ctx, citadel.CatalogImportInput{ProwlerSource: fixtureProwler, SCFSource: fixtureSCF})
	if err != nil {
		t.Fatal(err)
	}
	tpls, _, _ := catalog.Templates()
	want := citadel.CatalogWrites{Checks: 3, Frameworks: 3, Requirements: 6, SCFControls: out.SCFControls, SCFMappings: 10, Links: 3, Templates: len(tpls), Version: 1}
	if d := cmp.Diff(want, out.Writes); d != "" {
		t.Errorf("first import writes (-want +got):\n%s", d)
	}
	if out.ProwlerVersion != "9.9.9" || !out.SCFImported || out.SCFVersion != "2025.2.2" || out.DeprecatedChecks != 1 {
		t.Errorf("output %+v", out)
	}
	if d := cmp.Diff(map[string][]string{"check_that_was_removed": {"soc2:cc_6_1"}}, out.UnknownChecks); d != "" {
		t.Errorf("unknown checks (-want +got):\n%s", d)
	}
	var soc2 citadel.CatalogJoinReport
	for _, r := range out.JoinReports {
		if r.FrameworkID == "soc2" {
			soc2 = r
		}
	}
	if soc2.ProwlerMatched != 1 || !cmp.Equal(soc2.ProwlerUnmatched, []string{"cc_1_3"}) || !cmp.Equal(soc2.MappingUnmatched, []string{"cc9.9"}) {
		t.Errorf("soc2 join report %+v", soc2)
	}
	links, err := s.SCFLinksOfCheck(ctx, "s3_bucket_default_encryption")
	// The fixture's SCF texts are placeholders, so the three frameworks that
	// agree on CRY-05 decide its rank.
	if err != nil || len(links) == 0 || links[0].SCFID != "CRY-05" || links[0].Rank != 1 || len(links[0].Frameworks) != 3 {
		t.Errorf("links of s3_bucket_default_encryption: %+v, %v", links, err)
	}
	if ids, _ := s.ChecksOfSCF(ctx, "IAC-06.1"); !cmp.Equal(ids, []string{"iam_root_mfa_enabled"}) {
		t.Errorf("ChecksOfSCF(IAC-06.1) = %v", ids)
	}
	if tpl, _ := s.TemplatesOfSCF(ctx, "CRY-05"); len(tpl) != 1 || tpl[0].ID != "POL.CRYPTO" {
		t.Errorf("TemplatesOfSCF(CRY-05) = %v", tpl)
	}

	// The same versions again: nothing written.
	before := s.Usage()
	again, err := h.Handle(ctx, citadel.CatalogImportInput{ProwlerSource: fixtureProwler, SCFSource: fixtureSCF})
	if err != nil {
		t.Fatal(err)
	}
	if again.Writes.Total() != 0 || s.Usage().WriteUnits != before.WriteUnits || !strings.Contains(again.Message, "nothing written") {
		t.Errorf("second import wrote %+v (%v units): %s", again.Writes, s.Usage().WriteUnits-before.WriteUnits, again.Message)
	}

	// A newer Prowler: one check changed, one removed.
	dir := upgradedFixture(t)
	up, err := h.Handle(ctx, citadel.CatalogImportInput{ProwlerSource: dir, SCFSource: fixtureSCF})
	if err != nil {
		t.Fatal(err)
	}
	if up.Writes.Checks != 1 || up.Writes.ChecksDeprecated != 1 || up.Writes.Version != 1 || up.ProwlerVersion != "10.0.0" {
		t.Errorf("upgrade writes %+v version %s", up.Writes, up.ProwlerVersion)
	}
	removed, err := s.GetCheck(ctx, "iam_root_mfa_enabled")
	if err != nil || !removed.Deprecated || removed.ProwlerVersion != "9.9.9" {
		t.Errorf("removed check: %+v, %v; want kept, deprecated, from 9.9.9", removed, err)
	}
	changed, _ := s.GetCheck(ctx, "s3_bucket_default_encryption")
	if changed.Severity != citadel.SeverityHigh || changed.ProwlerVersion != "10.0.0" {
		t.Errorf("changed check: severity %s version %s", changed.Severity, changed.ProwlerVersion)
	}
	mapped, _ := s.ListMappedChecks(ctx)
	if len(mapped) != 1 || mapped[0].ID != "s3_bucket_default_encryption" {
		t.Errorf("mapped checks after upgrade: %v", mapped)
	}
	v, err := s.GetCatalogVersion(ctx)
	if err != nil || v.ProwlerVersion != "10.0.0" || v.SCFVersion != "2025.2.2" || v.TemplatesHash == "" || !v.ImportedAt.Equal(t0) {
		t.Errorf("catalog version %+v, %v", v, err)
	}
	if l, _ := s.SCFLinksOfCheck(ctx, "iam_root_mfa_enabled"); len(l) != 0 {
		t.Errorf("links of a removed check remain: %v", l)
	}
}

func TestImportWithoutSCF(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	out, err := handler(s).Handle(ctx, citadel.CatalogImportInput{ProwlerSource: fixtureProwler})
	if err != nil {
		t.Fatal(err)
	}
	if out.SCFImported || out.Writes.SCFControls != 0 || out.Writes.Links != 0 || !strings.Contains(out.Message, "no SCF library") {
		t.Errorf("output %+v", out)
	}
	if ctls, _ := s.ListSCFControls(ctx); len(ctls) != 0 {
		t.Errorf("SCF controls stored without SCF files: %d", len(ctls))
	}
	if c, err := s.GetCheck(ctx, "iam_root_mfa_enabled"); err != nil || c.Severity != citadel.SeverityCritical {
		t.Errorf("check: %+v, %v", c, err)
	}
	if v, _ := s.GetCatalogVersion(ctx); v.ProwlerVersion != "9.9.9" || v.SCFVersion != "" {
		t.Errorf("version %+v", v)
	}
}

func TestBadInputLeavesCatalogAsItWas(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	h := handler(s)
	if _, err := h.Handle(ctx, citadel.CatalogImportInput{ProwlerSource: fixtureProwler, SCFSource: fixtureSCF}); err != nil {
		t.Fatal(err)
	}
	truncated := copyDir(t, fixtureProwler)
	soc2 := filepath.Join(truncated, "compliance/aws/soc2_aws.json")
	b, _ := os.ReadFile(soc2)
	if err := os.WriteFile(soc2, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	notLibrary := copyDir(t, fixtureSCF)
	if err := os.WriteFile(filepath.Join(notLibrary, "scf-2025.2.2.yaml"), []byte("urn: urn:intuitem:risk:library:iso27001-2022\nobjects:\n  framework: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unknownSCF := copyDir(t, fixtureSCF)
	mf := filepath.Join(unknownSCF, "mapping-pcidss-4_0-and-scf-2025.2.2.yaml")
	b, _ = os.ReadFile(mf)
	if err := os.WriteFile(mf, []byte(strings.Replace(string(b), "scf-2025.2.2:iac-06.1", "scf-2025.2.2:xyz-99", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	brokenYAML := copyDir(t, fixtureSCF)
	if err := os.WriteFile(filepath.Join(brokenYAML, "mapping-cis-controls-v8-and-scf-2025.2.2.yaml"), []byte("objects:\n  requirement_mapping_sets: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badRel := copyDir(t, fixtureSCF)
	mf = filepath.Join(badRel, "mapping-soc2-2017-rev-2022-and-scf-2025.2.2.yaml")
	b, _ = os.ReadFile(mf)
	if err := os.WriteFile(mf, []byte(strings.Replace(string(b), "relationship: equal", "relationship: similar", 1)), 0o644); err != nil {
		t.Fatal(err)
	}

	// Corrections files: one good entry (lines 2-6) and a change to it.
	corrections := func(name, find, replace string) string {
		return writeFile(t, name+".yaml", strings.Replace(goodCorrection, find, replace, 1))
	}
	corrBroken := corrections("broken", "- check:", "- {check:")
	corrField := corrections("field", "  by:", "  sfc: NET-04\n  by:")
	corrCheck := corrections("check", "s3_bucket_default_encryption", "s3_bucket_public_access")
	corrSCF := corrections("scf", "NET-04", "XYZ-99")
	corrAction := corrections("action", "action: add", "action: delete")
	corrReason := corrections("reason", "  reason: \"not linked by the import\"\n", "")
	corrDup := writeFile(t, "dup.yaml", goodCorrection+strings.TrimPrefix(goodCorrection, "corrections:\n"))
	corrOK := corrections("ok", "", "")

	// The flat layout (the reference data's) carries no version file.
	flat := t.TempDir()
	for src, dst := range map[string]string{
		"providers/aws/services/s3/s3_bucket_default_encryption/s3_bucket_default_encryption.metadata.json": "checks/s3_bucket_default_encryption.metadata.json",
		"compliance/aws/soc2_aws.json":     "compliance/aws/soc2_aws.json",
		"compliance/cis_controls_8.1.json": "compliance/multi/cis_controls_8.1.json",
	} {
		b, err := os.ReadFile(filepath.Join(fixtureProwler, src))
		if err != nil {
			t.Fatal(err)
		}
		_ = os.MkdirAll(filepath.Dir(filepath.Join(flat, dst)), 0o755)
		if err := os.WriteFile(filepath.Join(flat, dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		name string
		in   citadel.CatalogImportInput
		want []string // in the error message
	}{
		{"missing Prowler dir", citadel.CatalogImportInput{ProwlerSource: "/nonexistent/prowler"}, []string{"/nonexistent/prowler", "no such directory"}},
		{"missing SCF dir", citadel.CatalogImportInput{ProwlerSource: fixtureProwler, SCFSource: "/nonexistent/scf"}, []string{"/nonexistent/scf", "no such directory"}},
		{"not a Prowler folder", citadel.CatalogImportInput{ProwlerSource: fixtureSCF}, []string{"not a Prowler folder"}},
		{"truncated JSON", citadel.CatalogImportInput{ProwlerSource: truncated, SCFSource: fixtureSCF}, []string{"compliance/aws/soc2_aws.json:", "unexpected end of JSON input"}},
		{"YAML that is not an SCF library", citadel.CatalogImportInput{ProwlerSource: fixtureProwler, SCFSource: notLibrary}, []string{"scf-2025.2.2.yaml", "not an SCF library"}},
		{"mapping to an unknown SCF id", citadel.CatalogImportInput{ProwlerSource: fixtureProwler, SCFSource: unknownSCF}, []string{"mapping-pcidss-4_0-and-scf-2025.2.2.yaml:17:", "unknown SCF control XYZ-99"}},
		{"broken YAML", citadel.CatalogImportInput{ProwlerSource: fixtureProwler, SCFSource: brokenYAML}, []string{"mapping-cis-controls-v8-and-scf-2025.2.2.yaml", "line"}},
		{"flat layout without a version", citadel.CatalogImportInput{ProwlerSource: flat}, []string{"Prowler version unknown"}},
		{"unknown relationship", citadel.CatalogImportInput{ProwlerSource: fixtureProwler, SCFSource: badRel}, []string{"mapping-soc2-2017-rev-2022-and-scf-2025.2.2.yaml:", `relationship "similar"`}},
		{"corrections: broken YAML", withCorrections(corrBroken), []string{"broken.yaml: invalid YAML: line"}},
		{"corrections: unknown field", withCorrections(corrField), []string{"field.yaml:6:", `unknown field "sfc"`}},
		{"corrections: unknown check", withCorrections(corrCheck), []string{"check.yaml:2:", `unknown check "s3_bucket_public_access"`}},
		{"corrections: unknown SCF id", withCorrections(corrSCF), []string{"scf.yaml:3:", "unknown SCF control XYZ-99"}},
		{"corrections: bad action", withCorrections(corrAction), []string{"action.yaml:2:", `action "delete" must be add or remove`}},
		{"corrections: missing reason", withCorrections(corrReason), []string{"reason.yaml:2:", "reason is required"}},
		{"corrections: duplicate pair", withCorrections(corrDup), []string{"dup.yaml:7:", "corrected twice, at lines 2 and 7"}},
		{"corrections: missing file", withCorrections("/nonexistent/corrections.yaml"), []string{"/nonexistent/corrections.yaml: no such file"}},
		{"corrections: a directory", withCorrections(t.TempDir()), []string{"a directory, not a file"}},
		{"corrections without SCF", citadel.CatalogImportInput{ProwlerSource: fixtureProwler, CorrectionsSource: corrOK}, []string{"ok.yaml", "need the SCF library"}},
		{"corrections from S3 without a client", withCorrections("s3://bucket/catalog/corrections.yaml"), []string{"no S3 client"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.Usage()
			_, err := h.Handle(ctx, tc.in)
			if !citadel.IsInvalid(err) {
				t.Fatalf("got %v, want an invalid-input error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if after := s.Usage(); after.WriteUnits != before.WriteUnits || after.Requests != before.Requests {
				t.Errorf("bad input touched the store: %d requests, %v write units", after.Requests-before.Requests, after.WriteUnits-before.WriteUnits)
			}
		})
	}
	if c, err := s.GetCheck(ctx, "iam_root_mfa_enabled"); err != nil || c.Deprecated {
		t.Errorf("stored catalog changed: %+v, %v", c, err)
	}
	// The same flat folder with its version given imports (flat layout).
	out, err := handler(testenv.Store(t)).Handle(ctx, citadel.CatalogImportInput{ProwlerSource: flat, ProwlerVersion: "9.9.9"})
	if err != nil || out.ProwlerLayout != "flat" || out.Checks != 1 || out.Frameworks != 2 {
		t.Errorf("flat layout: %+v, %v", out, err)
	}
}

// goodCorrection is a corrections file the fixture catalog accepts.
const goodCorrection = `corrections:
- check: s3_bucket_default_encryption
  scf: NET-04
  action: add
  reason: "not linked by the import"
  by: alice@example.com
`

// withCorrections is the fixture import with a corrections file.
func withCorrections(source string) citadel.CatalogImportInput {
	return citadel.CatalogImportInput{ProwlerSource: fixtureProwler, SCFSource: fixtureSCF, CorrectionsSource: source}
}

// writeFile writes a file in a fresh temporary folder and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func upload(t *testing.T, client *s3.Client, bucket, prefix, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + filepath.ToSlash(rel)), Body: f})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestImportFromS3(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	acct, _, _ := testenv.Account(t, cfg)
	client, bucket := testenv.Bucket(t, acct)
	// Laid out as the Prowler task exports it: the package's files and, last,
	// version.json (no config/config.py).
	exported := copyDir(t, fixtureProwler)
	if err := os.Remove(filepath.Join(exported, "config/config.py")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(exported, "version.json"), []byte(`{"prowler_version":"9.9.9","files":5}`), 0o644); err != nil {
		t.Fatal(err)
	}
	upload(t, client, bucket, citadel.CatalogPrefix, exported)
	upload(t, client, bucket, "catalog/scf/", fixtureSCF)

	s := testenv.Store(t)
	h := handler(s)
	h.S3 = client
	out, err := h.Handle(ctx, citadel.CatalogImportInput{
		ProwlerSource: "s3://" + bucket + "/" + citadel.CatalogPrefix, SCFSource: "s3://" + bucket + "/catalog/scf",
	})
	if err != nil {
		t.Fatal(err)
	}
	local, err := handler(testenv.Store(t)).Handle(ctx, citadel.CatalogImportInput{ProwlerSource: fixtureProwler, SCFSource: fixtureSCF})
	if err != nil {
		t.Fatal(err)
	}
	out.Usage, local.Usage = citadel.Usage{}, citadel.Usage{}
	if d := cmp.Diff(local, out); d != "" {
		t.Errorf("S3 import differs from the local one (-local +s3):\n%s", d)
	}
	if out.ProwlerLayout != string(catalog.LayoutInstalled) {
		t.Errorf("layout %s", out.ProwlerLayout)
	}
	_, err = h.Handle(ctx, citadel.CatalogImportInput{ProwlerSource: "s3://" + bucket + "/nothing/here/"})
	if !citadel.IsInvalid(err) || !strings.Contains(err.Error(), "no catalog files") {
		t.Errorf("empty prefix: %v", err)
	}
}

// The catalog state machine always names the SCF prefix; before the user
// adds SCF files it is empty, and the import is Prowler's alone, as without
// an SCF source.
func TestImportFromS3WithAnEmptySCFPrefix(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	acct, _, _ := testenv.Account(t, cfg)
	client, bucket := testenv.Bucket(t, acct)
	upload(t, client, bucket, citadel.CatalogPrefix, fixtureProwler)
	h := handler(testenv.Store(t))
	h.S3 = client
	out, err := h.Handle(ctx, citadel.CatalogImportInput{
		ProwlerSource: "s3://" + bucket + "/" + citadel.CatalogPrefix, SCFSource: "s3://" + bucket + "/" + citadel.SCFPrefix,
	})
	if err != nil {
		t.Fatal(err)
	}
	alone, err := handler(testenv.Store(t)).Handle(ctx, citadel.CatalogImportInput{ProwlerSource: fixtureProwler})
	if err != nil {
		t.Fatal(err)
	}
	out.Usage, alone.Usage = citadel.Usage{}, citadel.Usage{}
	if d := cmp.Diff(alone, out); d != "" {
		t.Errorf("import with an empty SCF prefix differs from Prowler alone (-alone +s3):\n%s", d)
	}
	if out.SCFImported || out.Checks == 0 || !strings.Contains(out.Message, "Prowler") {
		t.Errorf("outcome = %+v", out)
	}
}

func TestImportSharedDataTwice(t *testing.T) {
	ctx := context.Background()
	dir := testenv.SharedData(t)
	s := testenv.Store(t)
	h := handler(s)
	in := citadel.CatalogImportInput{ProwlerSource: filepath.Join(dir, "prowler"), ProwlerVersion: "5.40.0", SCFSource: filepath.Join(dir, "scf")}
	out, cat, err := h.Run(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if out.Checks != 645 || out.Frameworks != 49 || out.SCFControls != 1341 || out.Writes.Checks != 645 || out.Writes.Links != len(cat.Links) {
		t.Errorf("output %+v", out)
	}
	mapped, err := s.ListMappedChecks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, c := range cat.Prowler.Checks {
		if len(c.MappedRequirements) > 0 && !c.Deprecated {
			want++
		}
	}
	if len(mapped) != want {
		t.Errorf("ListMappedChecks: %d, want %d", len(mapped), want)
	}
	reqs, _ := s.ListRequirements(ctx, "pci_4.0")
	if len(reqs) != 1679 {
		t.Errorf("pci_4.0 requirements: %d, want 1679", len(reqs))
	}
	m, err := s.SCFOfRequirement(ctx, citadel.RequirementID("iso27001_2022", "A.8.24"))
	if err != nil || len(m) == 0 {
		t.Errorf("SCFOfRequirement(iso27001_2022:A.8.24) = %v, %v", m, err)
	}
	again, err := h.Handle(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if again.Writes.Total() != 0 || again.Usage.WriteUnits != 0 {
		t.Errorf("second import of the same versions wrote %+v (%v units)", again.Writes, again.Usage.WriteUnits)
	}
}

func TestFindInstalledProwler(t *testing.T) {
	t.Chdir(testenv.RepoRoot())
	dir, err := catalogimport.FindInstalledProwler(context.Background())
	if err != nil {
		t.Skipf("no installed Prowler: %v", err)
	}
	c, err := catalog.Build(os.DirFS(dir), nil, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Prowler.Layout != catalog.LayoutInstalled || c.Prowler.Version == "" || len(c.Prowler.Checks) != 645 {
		t.Errorf("installed Prowler at %s: layout %s, version %q, %d checks", dir, c.Prowler.Layout, c.Prowler.Version, len(c.Prowler.Checks))
	}
}

// upgradedFixture is the fixture as a newer Prowler (10.0.0) ships it: the
// iam checks removed and s3_bucket_default_encryption's severity changed.
func upgradedFixture(t *testing.T) string {
	t.Helper()
	dir := copyDir(t, fixtureProwler)
	if err := os.WriteFile(filepath.Join(dir, "config/config.py"), []byte(`prowler_version = "10.0.0"`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "providers/aws/services/iam")); err != nil {
		t.Fatal(err)
	}
	meta := filepath.Join(dir, "providers/aws/services/s3/s3_bucket_default_encryption/s3_bucket_default_encryption.metadata.json")
	b, _ := os.ReadFile(meta)
	if err := os.WriteFile(meta, []byte(strings.Replace(string(b), `"medium"`, `"high"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
