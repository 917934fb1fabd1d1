package main

import (
	"os"
	"strings"
	"testing"
)

// TestProwlerLogCountsErrorsInOneLine: Prowler's log lines go to the file,
// its errors (those of loggers derived with attributes too) are counted,
// and the step's line says how many and where, once per run.
func TestProwlerLogCountsErrorsInOneLine(t *testing.T) {
	dir := t.TempDir()
	l, err := openProwlerLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := l.summary(); got != "" {
		t.Errorf("no errors yet: %q", got)
	}
	log := l.logger()
	log.Info("prowler check", "check", "s3_bucket_object_versioning")
	log.Error("prowler log", "message", "ec2 -- ResponseParserError")
	log.With("scan_id", "scan-1").Error("prowler log", "message", "rds -- InvalidInputException")
	log.Warn("prowler log", "message", "slow")
	want := "; 2 errors in Prowler's log (mostly services the local AWS server does not model): " + l.path
	if got := l.summary(); got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if got := l.summary(); got != "" {
		t.Errorf("a second summary counts again: %q", got)
	}
	b, err := os.ReadFile(l.path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n != 4 || !strings.Contains(string(b), `"scan_id":"scan-1"`) {
		t.Errorf("the file holds %d lines, want all 4:\n%s", n, b)
	}
	var none *prowlerLog
	if none.summary() != "" || none.Close() != nil {
		t.Error("no log: no summary, nothing to close")
	}
}
