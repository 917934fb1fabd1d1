package report_test

import (
	"bytes"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/compliance"
	"github.com/citadelsecure/citadel/shared/export"
	"github.com/citadelsecure/citadel/shared/report"
	"github.com/citadelsecure/citadel/shared/testkit/golden"
)

var when = time.Date(2026, 11, 29, 15, 0, 0, 0, time.UTC)

// sample is a small report with every section filled, and a name that
// needs escaping.
func sample() report.Data {
	return report.Data{
		Generated:   when,
		Integration: citadel.Integration{ID: "int-demo", Name: "Demo <estate>", AccountID: "111122223333", Regions: []string{"us-east-1", "eu-west-1"}},
		Scan: citadel.Scan{ID: "scan-1", Status: citadel.ScanSucceeded, FinishedAt: when.Add(-time.Minute), Summary: &citadel.ScanSummary{
			Success: true, Message: "Scan complete: 2 issues found", TotalAssets: 61, ChecksExecuted: 22, ChecksPassed: 30, ChecksFailed: 2,
			ControlsCreated: 12, EvidenceCreated: 32, HistoryEntriesCreated: 32, DurationSeconds: 95.4}},
		Frameworks: []report.Framework{
			{ID: "soc2", Name: "SOC 2", Coverage: compliance.Coverage{Requirements: 27, WithControls: 9, AllPassing: 4, WithControlsPct: 33.3, AllPassingPct: 14.8,
				DistinctControls: 12, ControlsByPosture: map[citadel.Posture]int{citadel.PosturePassing: 5, citadel.PostureIssues: 7}}},
			{ID: "iso27001_2022", Name: "ISO/IEC 27001:2022", Coverage: compliance.Coverage{Requirements: 93, WithControls: 0, ControlsByPosture: map[citadel.Posture]int{}}},
		},
		FailingControls: []report.FailingControl{{ID: "ctl-1", RefID: "NET-04", Name: "Data Flow Enforcement", Posture: citadel.PostureIssues, Passed: 2, Failed: 1,
			Assets: []report.FailingAsset{{ARN: "arn:aws:ec2:us-east-1:111122223333:security-group/sg-1", Name: "ssh-open", Type: "ec2:security-group",
				Region: "us-east-1", Check: "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22", Detail: "Security group ssh-open has SSH open to 0.0.0.0/0", Severity: "high",
				Why: "imported, rank 2: frameworks iso27001_2022, pci_4.0, soc2; requirements pci_4.0:1.3.1; relevance 0.85; score 2.31"}}}},
		Policies:      []report.Policy{{ID: "pol-1", RefID: "POL.NET-NET-04", Name: "POL.NET [NET-04]", SCF: "NET-04", Status: citadel.ControlToDo}},
		Evidence:      []report.Evidence{{ID: "ev-1", Name: "SSH from the internet: ssh-open", Asset: "ssh-open", Check: "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22", Result: citadel.StatusFail}},
		EvidenceTotal: 1,
	}
}

func TestHTML(t *testing.T) {
	var buf bytes.Buffer
	if err := report.HTML(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "report.golden.html", buf.Bytes())
	// Self-contained: nothing is loaded from elsewhere.
	if m := regexp.MustCompile(`(?i)(src=|href=|url\(|@import|<script)`).Find(buf.Bytes()); m != nil {
		t.Errorf("the page loads something: %s", m)
	}
	if bytes.Contains(buf.Bytes(), []byte("Demo <estate>")) {
		t.Error("the integration's name is not escaped")
	}
}

func TestHTMLEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := report.HTML(&buf, report.Data{Generated: when, Scan: citadel.Scan{ID: "scan-2", Status: citadel.ScanFailed, FailureCause: "prowler task failed"}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"No control fails.", "No policy to write", "No evidence awaits review.", "The scan failed: prowler task failed", "None of the report"} {
		if !bytes.Contains(buf.Bytes(), []byte(want)) {
			t.Errorf("the empty report lacks %q", want)
		}
	}
}

func TestCoverageTable(t *testing.T) {
	var buf bytes.Buffer
	if err := report.CoverageTable(&buf, sample().Frameworks); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "coverage.golden.txt", buf.Bytes())
}

// BenchmarkHTML renders a report of 200 failing controls with 5 assets each
// and 200 evidence rows.
func BenchmarkHTML(b *testing.B) {
	d := sample()
	fc := d.FailingControls[0]
	d.FailingControls = nil
	for i := range 200 {
		c := fc
		c.RefID = fmt.Sprintf("CTL-%03d", i)
		c.Assets = nil
		for range 5 {
			c.Assets = append(c.Assets, fc.Assets[0])
		}
		d.FailingControls = append(d.FailingControls, c)
	}
	for range 199 {
		d.Evidence = append(d.Evidence, d.Evidence[0])
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := report.HTML(&buf, d); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/page")
}

// frameworkSample is a dataset with a failing control, an accepted risk,
// an integration never scanned and a name that needs escaping.
func frameworkSample() export.Dataset {
	return export.Dataset{Generated: when, AsOf: when.Add(-24 * time.Hour), Framework: export.Framework{ID: "soc2", Name: "SOC 2"},
		Scope: export.Scope{Kind: export.ScopeFolder, ID: "f1"},
		Integrations: []export.Integration{{ID: "int-1", Name: "prod <main>", AccountID: "111122223333", ScanID: "s1", ScannedAt: when.Add(-25 * time.Hour)},
			{ID: "int-2", Name: "staging", AccountID: "444455556666"}},
		Findings: []export.Finding{
			{IntegrationID: "int-1", AccountID: "111122223333", CheckID: "s3_bucket_public_access", AssetName: "site", AssetARN: "arn:aws:s3:::site",
				Status: citadel.StatusExcepted, ProwlerStatus: citadel.StatusFail, ExceptionID: "exc-1", Controls: []string{"DCH-01"}},
			{IntegrationID: "int-1", AccountID: "111122223333", CheckID: "iam_root_mfa_enabled", AssetName: "root", AssetARN: "arn:aws:iam::111122223333:root",
				Severity: citadel.SeverityCritical, Status: citadel.StatusFail, ProwlerStatus: citadel.StatusFail, Muted: true, Detail: "Root has no MFA",
				FirstSeen: when.Add(-72 * time.Hour), Controls: []string{"IAC-10"}},
			{IntegrationID: "int-1", CheckID: "iam_root_mfa_enabled", AssetName: "other", Status: citadel.StatusPass, Controls: []string{"IAC-10"}},
		},
		Controls: []export.Control{{RefID: "DCH-01", Name: "Data protection", Posture: citadel.PosturePassing, Excepted: 1},
			{RefID: "IAC-10", Name: "MFA", Posture: citadel.PosturePartial, Passed: 1, Failed: 1}},
		Requirements: []export.Requirement{{RefID: "cc_6_1", Name: "Logical access", Result: citadel.ResultPartiallyCompliant, Covered: true,
			Controls: []string{"DCH-01", "IAC-10"}, Passed: 1, Failed: 1, Excepted: 1}, {RefID: "cc_1_3", Name: "Board", Result: citadel.ResultNotAssessed}},
		Evidence: []export.EvidenceRecord{{Evidence: citadel.Evidence{ID: "ev-1", Name: "root: MFA", CheckID: "iam_root_mfa_enabled", Status: citadel.EvidenceInReview,
			ResultStatus: citadel.StatusFail}, Revisions: make([]citadel.EvidenceRevision, 2)}},
		Exceptions: []citadel.Exception{{ID: "exc-1", Justification: "a public website", Owner: "web team", DecidedBy: "ciso", ExpiresAt: when.Add(30 * 24 * time.Hour)}},
	}
}

func TestFrameworkHTML(t *testing.T) {
	var buf bytes.Buffer
	if err := report.FrameworkHTML(&buf, frameworkSample()); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "framework.golden.html", buf.Bytes())
	if m := regexp.MustCompile(`(?i)(src=|href=|url\(|@import|<script)`).Find(buf.Bytes()); m != nil {
		t.Errorf("the page loads something: %s", m)
	}
	for _, want := range []string{"prod &lt;main&gt;", "no successful scan by then", "a public website", "web team", "2026-12-29", "muted in Prowler", "2026-11-26"} {
		if !bytes.Contains(buf.Bytes(), []byte(want)) {
			t.Errorf("the page lacks %q", want)
		}
	}
	p := report.NewFrameworkPage(frameworkSample())
	if d := cmp.Diff([]int{1, 1, 1, 2, 1, 0}, []int{p.Passed, p.Failed, p.Excepted, p.Assessable, p.Covered, p.AllPassing}); d != "" {
		t.Errorf("counts (-want +got):\n%s", d)
	}
	if len(p.FailingControls) != 1 || p.FailingControls[0].RefID != "IAC-10" || len(p.FailingControls[0].Findings) != 1 {
		t.Errorf("failing controls: %+v", p.FailingControls)
	}
}

func TestFrameworkHTMLEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := report.FrameworkHTML(&buf, export.Dataset{Generated: when, AsOf: when, Framework: export.Framework{ID: "soc2", Name: "SOC 2"}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"The scope has no integration.", "No control fails.", "No failure is excepted.", "no assessable requirement"} {
		if !bytes.Contains(buf.Bytes(), []byte(want)) {
			t.Errorf("the empty page lacks %q", want)
		}
	}
}
