package export_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/export"
	"github.com/citadelsecure/citadel/shared/testkit/golden"
)

// sample is a small dataset with every table filled, a detail that a
// spreadsheet would take for a formula, and a comma and a quote to escape.
func sample() export.Dataset {
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	rev1 := citadel.NewRevision("ev-1", 1, "s1", []byte(`{"status":"FAIL"}`), nil, at)
	x := &citadel.RevisionException{ID: "exc-1", Applies: true, Status: citadel.ExceptionApproved, DecidedBy: "approver", DecidedAt: at,
		ExpiresAt: at.Add(30 * 24 * time.Hour), Scope: citadel.ExceptionScope{Kind: citadel.ScopeAsset}, Justification: "public site", Owner: "web", RequestedBy: "dev"}
	rev2 := citadel.NewExceptionRevision("ev-1", 2, "s2", []byte(`{"status":"FAIL"}`), x, &rev1, at.Add(time.Hour))
	return export.Dataset{
		Generated: at, AsOf: at, Framework: export.Framework{ID: "soc2", Name: "SOC 2"}, Scope: export.Scope{Kind: export.ScopeIntegration, ID: "int-1"},
		Integrations: []export.Integration{{ID: "int-1", Name: "prod", AccountID: "111122223333", FolderID: "f1", ScanID: "s2", ScannedAt: at}},
		Findings: []export.Finding{
			{IntegrationID: "int-1", AccountID: "111122223333", CheckID: "s3_bucket_public_access", CheckTitle: `Bucket "public", readable`, Severity: citadel.SeverityHigh,
				AssetID: "a1", AssetARN: "arn:aws:s3:::site", AssetName: "site", AssetType: "AWS::S3::Bucket", Region: "us-east-1",
				Status: citadel.StatusExcepted, ProwlerStatus: citadel.StatusFail, ExceptionID: "exc-1", Detail: "=HYPERLINK(\"http://x\")", ScanID: "s2",
				ScannedAt: at, Controls: []string{"DCH-01", "NET-04"}, Requirements: []string{"cc_6_1"}},
			{IntegrationID: "int-1", AccountID: "111122223333", CheckID: "iam_root_mfa_enabled", CheckTitle: "Root MFA", Severity: citadel.SeverityCritical,
				AssetID: "a2", AssetARN: "arn:aws:iam::111122223333:root", AssetName: "root", Status: citadel.StatusFail, ProwlerStatus: citadel.StatusFail,
				Muted: true, Detail: "-no MFA", ScanID: "s2", ScannedAt: at, FirstSeen: at.Add(-48 * time.Hour), Controls: []string{"IAC-10"}, Requirements: []string{"cc_6_1"}},
		},
		Controls: []export.Control{{ID: "ctl-1", RefID: "IAC-10", Name: "MFA", SCFControlID: "IAC-10", Posture: citadel.PostureIssues, Failed: 1,
			Checks: []string{"iam_root_mfa_enabled"}, Requirements: []string{"cc_6_1"}}},
		Requirements: []export.Requirement{{RefID: "cc_6_1", Name: "Logical access", Result: citadel.ResultPartiallyCompliant, Covered: true,
			Controls: []string{"DCH-01", "IAC-10", "NET-04"}, Failed: 1, Excepted: 1}},
		Evidence: []export.EvidenceRecord{{Evidence: citadel.Evidence{ID: "ev-1", Name: "site: public", SourceIntegration: "int-1", CheckID: "s3_bucket_public_access",
			AssetID: "a1", AssetName: "site", Status: citadel.EvidenceApproved, ResultStatus: citadel.StatusExcepted, ExceptionID: "exc-1", RevisionCount: 2,
			LatestHash: rev2.Hash, ReviewCount: 1, LatestReviewHash: "rh", ReviewedBy: "auditor", ReviewedAt: at.Add(2 * time.Hour), CreatedAt: at, UpdatedAt: at},
			Revisions: []citadel.EvidenceRevision{rev1, rev2},
			Reviews: []citadel.EvidenceReview{{EvidenceID: "ev-1", Number: 1, By: "auditor", Decision: citadel.ReviewApprove, Comment: "ok, accepted",
				At: at.Add(2 * time.Hour), Revision: 2, RevisionHash: rev2.Hash, Hash: "rh"}}}},
	}
}

func TestTables(t *testing.T) {
	ds := sample()
	for _, tab := range export.Tables {
		t.Run(tab.Name, func(t *testing.T) {
			var c, j bytes.Buffer
			if err := tab.WriteCSV(&c, ds); err != nil {
				t.Fatal(err)
			}
			if err := tab.WriteJSON(&j, ds); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, tab.Name+".golden.csv", c.Bytes())
			golden.Check(t, tab.Name+".golden.json", j.Bytes())
			recs, err := csv.NewReader(bytes.NewReader(c.Bytes())).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tab.Columns, recs[0]); d != "" {
				t.Errorf("header (-want +got):\n%s", d)
			}
			var objs []map[string]string
			if err := json.Unmarshal(j.Bytes(), &objs); err != nil {
				t.Fatal(err)
			}
			if len(objs) != len(recs)-1 {
				t.Errorf("%d JSON records, %d CSV rows", len(objs), len(recs)-1)
			}
		})
	}
}

// TestCSVDefusesFormulas: no cell starts with what a spreadsheet runs.
func TestCSVDefusesFormulas(t *testing.T) {
	var buf bytes.Buffer
	tab, err := export.TableNamed("findings")
	if err != nil {
		t.Fatal(err)
	}
	if err := tab.WriteCSV(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	detail := map[string]string{}
	for _, r := range recs[1:] {
		detail[r[2]] = r[14]
		for _, cell := range r {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("cell %q starts a formula", cell)
			}
		}
	}
	if d := cmp.Diff(map[string]string{"s3_bucket_public_access": `'=HYPERLINK("http://x")`, "iam_root_mfa_enabled": "'-no MFA"}, detail); d != "" {
		t.Errorf("details (-want +got):\n%s", d)
	}
}

func TestTableNamed(t *testing.T) {
	if _, err := export.TableNamed("secrets"); !citadel.IsInvalid(err) || !strings.Contains(err.Error(), "findings, controls") {
		t.Errorf("TableNamed(secrets) = %v", err)
	}
}

// TestColumnsDocumented: docs/exports.md lists every table's columns as
// the code writes them, in order.
func TestColumnsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/exports.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, tab := range export.Tables {
		re := regexp.MustCompile("(?m)^\\| `" + tab.Name + ".csv` \\| (.*) \\|$")
		m := re.FindSubmatch(doc)
		if m == nil {
			t.Errorf("docs/exports.md has no row for %s.csv", tab.Name)
			continue
		}
		var got []string
		for _, c := range strings.Split(string(m[1]), ", ") {
			got = append(got, strings.Trim(c, "`"))
		}
		if d := cmp.Diff(tab.Columns, got); d != "" {
			t.Errorf("%s.csv columns in docs/exports.md (-code +doc):\n%s", tab.Name, d)
		}
	}
}
