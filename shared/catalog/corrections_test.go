package catalog_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/catalog"
	"github.com/citadelsecure/citadel/shared/citadel"
)

var importTime = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func TestParseCorrections(t *testing.T) {
	b, err := os.ReadFile("testdata/corrections.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := catalog.ParseCorrections("corrections.yaml", b, importTime)
	if err != nil {
		t.Fatal(err)
	}
	want := []citadel.LinkCorrection{
		{CheckID: "s3_bucket_default_encryption", SCFID: "NET-04", Action: citadel.LinkAdd,
			Reason: "Default encryption is part of our network data-protection baseline", By: "alice@example.com", At: importTime},
		{CheckID: "iam_root_mfa_enabled", SCFID: "IAC-06", Action: citadel.LinkRemove,
			Reason: "Root MFA is IAC-06.1, not the general MFA control", By: "bob", At: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{CheckID: "ec2_old_check", SCFID: "CRY-01", Action: citadel.LinkRemove,
			Reason: "The old EC2 check says nothing about cryptographic controls.\n", By: "carol", At: time.Date(2026, 3, 2, 7, 30, 0, 0, time.UTC)},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("corrections (-want +got):\n%s", d)
	}
	for _, c := range got {
		if c.At.Location() != time.UTC {
			t.Errorf("%s → %s: at %v is not in UTC", c.CheckID, c.SCFID, c.At)
		}
	}

	// Checked against the fixture catalog, the same file passes unchanged.
	checked, err := catalog.CheckCorrections("corrections.yaml", b, importTime, fixtureCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, checked); d != "" {
		t.Errorf("checked corrections (-want +got):\n%s", d)
	}
}

func TestParseCorrectionsEmptyLists(t *testing.T) {
	for name, src := range map[string]string{
		"empty list": "corrections: []\n",
		"no value":   "corrections:\n",
	} {
		t.Run(name, func(t *testing.T) {
			got, err := catalog.ParseCorrections("c.yaml", []byte(src), importTime)
			if err != nil || len(got) != 0 {
				t.Errorf("ParseCorrections(%q) = %v, %v; want none, no error", src, got, err)
			}
		})
	}
}

// entry is a valid correction with one field replaced (or dropped, when
// value is "-").
func entry(field, value string) string {
	fields := [][2]string{{"check", "s3_bucket_default_encryption"}, {"scf", "NET-04"}, {"action", "add"}, {"reason", `"a reason"`}, {"by", "alice"}}
	var b strings.Builder
	for _, f := range fields {
		if f[0] == field {
			f[1] = value
		}
		if f[1] == "-" {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("- ")
		} else {
			b.WriteString("  ")
		}
		b.WriteString(f[0] + ": " + f[1] + "\n")
	}
	if field != "" && !strings.Contains(b.String(), field+":") && value != "-" {
		b.WriteString("  " + field + ": " + value + "\n")
	}
	return b.String()
}

func TestParseCorrectionsErrors(t *testing.T) {
	const head = "corrections:\n" // entries start at line 2
	for _, tc := range []struct {
		name string
		src  string
		want []string // in the error, in this order
	}{
		{"empty file", "", []string{"c.yaml: empty file"}},
		{"only a comment", "# nothing\n", []string{"c.yaml: empty file"}},
		{"a list at the top", "- check: a\n", []string{"c.yaml:1: not a corrections file"}},
		{"no corrections key", "links: []\n", []string{"c.yaml:1:", `unknown top-level field "links"`}},
		{"corrections not a list", "corrections: all\n", []string{"c.yaml:1:", "into a list of corrections"}},
		// Syntax errors carry the YAML parser's own "line N" (of the
		// construct it could not finish, at times the line before).
		{"broken YAML", head + "- {check: a, scf: NET-04\n", []string{"c.yaml: invalid YAML: line 1: did not find expected ',' or '}'"}},
		{"tab indentation", head + "- check: a\n\tscf: b\n", []string{"c.yaml: invalid YAML: line 2: found a tab character"}},
		{"two documents", head + "---\ncorrections: []\n", []string{"c.yaml:2: more than one YAML document"}},
		{"a field twice", head + entry("", "") + "  check: iam_root_mfa_enabled\n", []string{"c.yaml:7:", `mapping key "check" already defined at line 2`}},
		{"unknown field", head + entry("sfc", "NET-04"), []string{"c.yaml:7:", `unknown field "sfc"`, "check, scf, action, reason, by, at"}},
		{"field of the wrong type", head + entry("check", "[a, b]"), []string{"c.yaml:2:", "cannot unmarshal !!seq into string"}},
		{"bad action", head + entry("action", "delete"), []string{"c.yaml:2:", `action "delete" must be add or remove`}},
		{"missing reason", head + entry("reason", "-"), []string{"c.yaml:2:", "reason is required"}},
		{"blank reason", head + entry("reason", `"  "`), []string{"c.yaml:2:", "reason is required"}},
		{"reason too long", head + entry("reason", strings.Repeat("x", citadel.MaxCorrectionReason+1)), []string{"c.yaml:2:", "reason is over 1000 characters"}},
		{"missing by", head + entry("by", "-"), []string{"c.yaml:2:", "by is required"}},
		{"missing check", head + entry("check", "-"), []string{"c.yaml:2:", "check is required"}},
		{"missing scf", head + entry("scf", "-"), []string{"c.yaml:2:", "scf is required"}},
		{"unknown field on its own line", head + entry("scf", "-") + "  extra: 1\n", []string{"c.yaml:6:", `unknown field "extra"`}},
		{"not an SCF id", head + entry("scf", "net-04"), []string{"c.yaml:2:", `scf "net-04" is not an SCF control id`}},
		{"bad at", head + entry("at", "yesterday"), []string{"c.yaml:7:", `at "yesterday" is neither an RFC 3339 time`}},
		{"at in the future", head + entry("at", "2027-01-01"), []string{"c.yaml:7:", "at 2027-01-01T00:00:00Z is after the import's time 2026-11-29T12:00:00Z"}},
		{"duplicate pair", head + entry("", "") + entry("action", "remove"), []string{"c.yaml:7:", "check s3_bucket_default_encryption and SCF control NET-04 are corrected twice, at lines 2 and 7"}},
		{"every problem named", head + entry("action", "drop") + entry("by", "-") + "- {check: a, scf: CRY-05, action: add, reason: r, by: x, at: soon}\n",
			[]string{"c.yaml:2:", `action "drop"`, "c.yaml:7:", "by is required", "c.yaml:11:", `at "soon"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := catalog.ParseCorrections("c.yaml", []byte(tc.src), importTime)
			if !citadel.IsInvalid(err) {
				t.Fatalf("ParseCorrections = %v, %v; want an invalid-input error\n%s", got, err, tc.src)
			}
			wantInOrder(t, err.Error(), tc.want)
			if got != nil {
				t.Errorf("corrections returned with an error: %v", got)
			}
		})
	}
}

func TestParseCorrectionsCapsItsErrors(t *testing.T) {
	src := "corrections:\n"
	for i := range 25 {
		src += strings.Replace(entry("action", "drop"), "NET-04", fmt.Sprintf("NET-%02d", 10+i), 1)
	}
	_, err := catalog.ParseCorrections("c.yaml", []byte(src), importTime)
	if !citadel.IsInvalid(err) || strings.Count(err.Error(), `action "drop"`) != 20 || !strings.HasSuffix(err.Error(), "; and 5 more") {
		t.Errorf("25 bad entries: %v", err)
	}
}

func fixtureCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Build(os.DirFS("testdata/prowler"), os.DirFS("testdata/scf"), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheckCorrections(t *testing.T) {
	cat := fixtureCatalog(t)
	for _, tc := range []struct {
		name string
		src  string
		want []string
	}{
		{"unknown check", "corrections:\n" + entry("check", "s3_bucket_public_access"),
			[]string{"c.yaml:2:", `unknown check "s3_bucket_public_access" (not a check of Prowler 9.9.9)`}},
		{"unknown check on its own line", "corrections:\n- scf: NET-04\n  check: s3_bucket_public_access\n  action: add\n  reason: r\n  by: b\n",
			[]string{"c.yaml:3:", "unknown check"}},
		{"unknown SCF control", "corrections:\n" + entry("scf", "XYZ-99"),
			[]string{"c.yaml:3:", "unknown SCF control XYZ-99 (not in scf-2025.2.2.yaml)"}},
		{"a subcontrol the library lacks", "corrections:\n" + entry("scf", "NET-04.1"),
			[]string{"c.yaml:3:", "unknown SCF control NET-04.1"}},
		{"both unknown", "corrections:\n" + entry("check", "nope") + entry("scf", "XYZ-99"),
			[]string{"c.yaml:2:", `unknown check "nope"`, "c.yaml:8:", "unknown SCF control XYZ-99"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := catalog.CheckCorrections("c.yaml", []byte(tc.src), importTime, cat)
			if !citadel.IsInvalid(err) {
				t.Fatalf("CheckCorrections = %v, %v; want an invalid-input error", got, err)
			}
			wantInOrder(t, err.Error(), tc.want)
		})
	}
	// The same entries parse: only the catalog refuses them.
	if _, err := catalog.ParseCorrections("c.yaml", []byte("corrections:\n"+entry("scf", "XYZ-99")), importTime); err != nil {
		t.Errorf("ParseCorrections of a well-formed file: %v", err)
	}
	// Without an SCF library there is nothing to check SCF ids against.
	noSCF, err := catalog.Build(os.DirFS("testdata/prowler"), nil, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := catalog.CheckCorrections("c.yaml", []byte("corrections: []\n"), importTime, noSCF); !citadel.IsInvalid(err) || !strings.Contains(err.Error(), "need the SCF library") {
		t.Errorf("corrections without SCF: %v", err)
	}
}

// wantInOrder fails unless msg says every one of want, in that order.
func wantInOrder(t *testing.T, msg string, want []string) {
	t.Helper()
	for _, w := range want {
		i := strings.Index(msg, w)
		if i < 0 {
			t.Errorf("error %q does not say %q", msg, w)
			continue
		}
		msg = msg[i+len(w):]
	}
}
