package report_test

import (
	"bytes"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/compliance"
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
