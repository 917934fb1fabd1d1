package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/report"
)

// ReportFile is the report's name in the output folder.
const ReportFile = "report.html"

// finish prints the scan's summary JSON and coverage table and writes the
// HTML report.
func (r *runner) finish(ctx context.Context, w io.Writer, res scanResult, outDir string) error {
	fmt.Fprintln(w, "\nscan summary:")
	if err := writeJSON(w, res.Report); err != nil {
		return err
	}
	path, _, err := writeReport(ctx, r.cfg, r.table, w, res.Integration, res.Report.ScanID, outDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nreport: %s\n", path)
	if res.Report.Status != citadel.ScanSucceeded {
		return fmt.Errorf("scan %s %s: %s", res.Report.ScanID, res.Report.Status, res.Report.FailureCause)
	}
	return nil
}

// writeReport collects the report of a scan, prints its coverage table on
// w and writes report.html into outDir.
func writeReport(ctx context.Context, cfg aws.Config, table string, w io.Writer, integ citadel.Integration, scanID, outDir string) (string, report.Data, error) {
	store := ddb.New(cfg, table)
	d, err := report.Collect(ctx, store, integ, scanID, report.DefaultFrameworks, citadel.SystemClock())
	if err != nil {
		return "", d, err
	}
	fmt.Fprintln(w, "\ncoverage per framework:")
	if err := report.CoverageTable(w, d.Frameworks); err != nil {
		return "", d, err
	}
	var buf bytes.Buffer
	if err := report.HTML(&buf, d); err != nil {
		return "", d, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", d, fmt.Errorf("report: %w", err)
	}
	path := filepath.Join(outDir, ReportFile)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return "", d, fmt.Errorf("report: %w", err)
	}
	return path, d, nil
}

// cmdReport writes the report of an earlier scan: --scan, or the
// integration's latest.
func cmdReport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	integration := fs.String("integration", "", "the integration (default: the scan's, or the only one of the demo)")
	scanID := fs.String("scan", "", "the scan (default: the integration's latest)")
	outDir := fs.String("out", "out", "folder for report.html")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("report: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := awsx.Load(ctx)
	if err != nil {
		return err
	}
	path, err := reportOf(ctx, cfg, tableName(), os.Stdout, *integration, *scanID, *outDir)
	if err != nil {
		return err
	}
	fmt.Printf("\nreport: %s\n", path)
	return nil
}

// reportOf resolves the scan (and its integration) and writes its report.
func reportOf(ctx context.Context, cfg aws.Config, table string, w io.Writer, integrationID, scanID, outDir string) (string, error) {
	store := ddb.New(cfg, table)
	if integrationID == "" && scanID == "" {
		integrationID = demoIntegrationID
	}
	if integrationID == "" {
		sc, err := store.GetScan(ctx, scanID)
		if err != nil {
			return "", fmt.Errorf("report: %w", err)
		}
		integrationID = sc.IntegrationID
	}
	integ, err := store.GetIntegration(ctx, integrationID)
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	if scanID == "" {
		page, err := store.ListScans(ctx, integ.ID, 1, "")
		if err != nil {
			return "", fmt.Errorf("report: scans of %s: %w", integ.ID, err)
		}
		if len(page.Items) == 0 {
			return "", citadel.NotFound("report: integration %s has no scan yet (citadel scan --integration %s)", integ.ID, integ.ID)
		}
		scanID = page.Items[0].ID
	}
	fmt.Fprintf(w, "scan %s of integration %s\n", scanID, integ.ID)
	path, _, err := writeReport(ctx, cfg, table, w, integ, scanID, outDir)
	return path, err
}
