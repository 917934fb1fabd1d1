package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/httpapi"
)

const scansUsage = `usage:
  citadel scan start INTEGRATION [--wait] [--interval 5s] [--timeout 0]
      start a scan on the deployed API; with --wait, print each step as it
      runs and the summary, and exit 0 only when the scan succeeded (5 when it
      failed, timed out or was cancelled)
  citadel scans list INTEGRATION [--limit N]   the integration's scans, newest first
  citadel scans show SCAN                       a scan with its steps and summary (an organization's:
                                                its members' outcomes; a member's: its parent scan)
  citadel scans cancel SCAN                     stop a running scan

every command takes -o json, --stack NAME (default Citadel) and --api URL
`

// scanEndedError is a waited-for scan that did not succeed.
type scanEndedError struct{ sc citadel.Scan }

func (e *scanEndedError) Error() string {
	msg := fmt.Sprintf("scan %s %s", e.sc.ID, e.sc.Status)
	if e.sc.FailureCause != "" {
		msg += ": " + e.sc.FailureCause
	}
	return msg
}

func scanStart(ctx context.Context, args []string, out io.Writer) error {
	var t target
	fs := newFlags("scan start", "scan start INTEGRATION [--wait] [--interval 5s] [--timeout 0]", &t)
	wait := fs.Bool("wait", false, "watch the scan until it ends")
	interval := fs.Duration("interval", 5*time.Second, "how often --wait asks for the scan's progress")
	timeout := fs.Duration("timeout", 0, "stop waiting after this long (0: until the scan ends; the scan goes on)")
	pos, err := parseArgs(fs, args, "INTEGRATION")
	if err != nil {
		return err
	}
	if *interval < 100*time.Millisecond {
		return usagef("scan start: --interval %s is under 100ms", *interval)
	}
	if *timeout < 0 {
		return usagef("scan start: --timeout %s is negative", *timeout)
	}
	r, err := t.connect(ctx, out)
	if err != nil {
		return err
	}
	var sc citadel.Scan
	raw, err := r.api.Do(ctx, http.MethodPost, "/integrations/"+url.PathEscape(pos[0])+"/scans", nil, nil, &sc)
	if err != nil {
		return err
	}
	if !*wait {
		if r.json {
			_, err = out.Write(raw)
			return err
		}
		fmt.Fprintf(out, "scan %s of integration %s %s\nwatch it: citadel scans show %s\n", sc.ID, sc.IntegrationID, sc.Status, sc.ID)
		return nil
	}
	if !r.json {
		fmt.Fprintf(out, "scan %s of integration %s %s\n", sc.ID, sc.IntegrationID, sc.Status)
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	v, err := watchScan(ctx, r, sc.ID, *interval)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("scan %s still %s after --timeout %s (it goes on: citadel scans show %s)", sc.ID, v.Status, *timeout, sc.ID)
		}
		return err
	}
	if r.json {
		if err := writeJSON(out, v); err != nil {
			return err
		}
	} else if err := printScan(out, v); err != nil {
		return err
	}
	if v.Status != citadel.ScanSucceeded {
		return &scanEndedError{sc: v.Scan}
	}
	return nil
}

// watchScan polls a scan until it ends, printing each step's changes
// (unless -o json), and returns the ended scan.
func watchScan(ctx context.Context, r *remote, scanID string, every time.Duration) (httpapi.ScanView, error) {
	seen := map[string]citadel.StepProgress{}
	var last httpapi.ScanView
	for {
		var v httpapi.ScanView // fresh each time: an answer omits what no longer applies (current_step)
		if _, err := r.api.Do(ctx, http.MethodGet, "/scans/"+url.PathEscape(scanID), nil, nil, &v); err != nil {
			return last, err
		}
		last = v
		if !r.json {
			for _, st := range stepsInOrder(v.Steps) {
				if prev, ok := seen[st.Step]; !ok || prev.Status != st.Status || prev.Attempts != st.Attempts {
					fmt.Fprintln(r.out, stepLine(st))
				}
				seen[st.Step] = st
			}
		}
		if v.Status.Ended() {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-time.After(every):
		}
	}
}

// stepsInOrder sorts steps in the pipeline's order (citadel.StepOrder, an
// organization scan's citadel.OrgStepOrder).
func stepsInOrder(steps []citadel.StepProgress) []citadel.StepProgress {
	out := slices.Clone(steps)
	order := slices.Concat(citadel.StepOrder, citadel.OrgStepOrder)
	sort.SliceStable(out, func(i, j int) bool {
		return slices.Index(order, out[i].Step) < slices.Index(order, out[j].Step)
	})
	return out
}

// stepLine is one step as a line: its mark, name, time and counts.
func stepLine(st citadel.StepProgress) string {
	took := ""
	if !st.FinishedAt.IsZero() {
		took = st.FinishedAt.Sub(st.StartedAt).Round(10 * time.Millisecond).String()
	}
	var counts []string
	for k, n := range st.Counts {
		counts = append(counts, fmt.Sprintf("%s %d", strings.ReplaceAll(k, "_", " "), n))
	}
	sort.Strings(counts)
	attempt := ""
	if st.Attempts > 1 {
		attempt = fmt.Sprintf(" (attempt %d)", st.Attempts)
	}
	switch st.Status {
	case citadel.StepRunning:
		return fmt.Sprintf("▶ %-13s running%s", st.Step, attempt)
	case citadel.StepRetrying:
		return fmt.Sprintf("↻ %-13s retrying after %s%s", st.Step, orDash(st.Error), attempt)
	case citadel.StepFailed:
		return fmt.Sprintf("✗ %-13s failed after %s: %s%s", st.Step, took, orDash(st.Error), attempt)
	}
	return fmt.Sprintf("✓ %-13s %8s  %s%s", st.Step, took, strings.Join(counts, ", "), attempt)
}

func printScan(w io.Writer, v httpapi.ScanView) error {
	if err := fields(w, "scan", v.ID, "integration", v.IntegrationID, "kind", string(v.Kind), "status", string(v.Status),
		"trigger", string(v.Trigger), "parent scan", v.ParentScanID, "cause", v.FailureCause, "cancelled by", v.CancelledBy,
		"created", when(v.CreatedAt), "started", when(v.StartedAt), "finished", when(v.FinishedAt),
		"now in", v.CurrentStep); err != nil {
		return err
	}
	if len(v.Steps) > 0 {
		fmt.Fprintln(w, "\nsteps:")
		for _, st := range stepsInOrder(v.Steps) {
			fmt.Fprintln(w, "  "+stepLine(st))
		}
	}
	if s := v.Summary; s != nil {
		fmt.Fprintf(w, "\nsummary: %s\n", s.Message)
		if err := fields(w,
			"  assets", fmt.Sprintf("%d (%d created, %d updated, %d deactivated)", s.TotalAssets, s.AssetsCreated, s.AssetsUpdated, s.AssetsDeactivated),
			"  checks", fmt.Sprintf("%d executed: %d pass, %d fail, %d error, %d n/a", s.ChecksExecuted, s.ChecksPassed, s.ChecksFailed, s.ChecksError, s.ChecksNotApplicable),
			"  controls", fmt.Sprintf("%d created, %d updated", s.ControlsCreated, s.ControlsUpdated),
			"  evidence", fmt.Sprintf("%d created, %d updated", s.EvidenceCreated, s.EvidenceUpdated),
			"  duration", fmt.Sprintf("%.1fs", s.DurationSeconds),
			"  shards", shardsFailed(*s)); err != nil {
			return err
		}
	}
	return printOrgScan(w, v)
}

// shardsFailed says which Prowler shards of a scan failed, so which checks
// in which regions were not scanned (their results kept); "" when none.
func shardsFailed(s citadel.ScanSummary) string {
	if s.ShardsFailedCount == 0 && len(s.ShardsFailed) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d failed, not scanned (%d results kept as they were)", max(s.ShardsFailedCount, len(s.ShardsFailed)), s.ResultsCarried)
	for _, f := range s.ShardsFailed {
		units := make([]string, len(f.Units))
		for i, u := range f.Units {
			units[i] = u.Key()
		}
		fmt.Fprintf(&b, "\n    %s: %d checks in %s (%s): %s", f.ShardID, f.Checks, strings.Join(f.Regions, " "), strings.Join(units, " "), f.Reason)
	}
	if n := s.ShardsFailedCount - len(s.ShardsFailed); n > 0 {
		fmt.Fprintf(&b, "\n    and %d more", n)
	}
	return b.String()
}

func cmdScans(ctx context.Context, args []string, out io.Writer) error {
	if done, err := commandGroup("scans", args, scansUsage, out); done {
		return err
	}
	var t target
	switch args[0] {
	case "list":
		fs := newFlags("scans list", "scans list INTEGRATION [--limit N]", &t)
		limit := fs.Int("limit", 20, "how many, newest first (1-1000)")
		pos, err := parseArgs(fs, args[1:], "INTEGRATION")
		if err != nil {
			return err
		}
		if *limit < 1 || *limit > 1000 {
			return usagef("scans list: --limit %d must be from 1 to 1000", *limit)
		}
		r, err := t.connect(ctx, out)
		if err != nil {
			return err
		}
		var p citadel.Page[citadel.Scan]
		if err := r.call(ctx, http.MethodGet, "/integrations/"+url.PathEscape(pos[0])+"/scans", url.Values{"limit": {fmt.Sprint(*limit)}}, nil, &p); err != nil || r.json {
			return err
		}
		return scanRows(out, p.Items)
	case "show", "cancel":
		fs := newFlags("scans "+args[0], "scans "+args[0]+" SCAN", &t)
		pos, r, err := t.open(ctx, out, fs, args[1:], "SCAN")
		if err != nil {
			return err
		}
		path := "/scans/" + url.PathEscape(pos[0])
		if args[0] == "cancel" {
			var sc citadel.Scan
			if err := r.call(ctx, http.MethodPost, path+"/cancel", nil, nil, &sc); err != nil || r.json {
				return err
			}
			fmt.Fprintf(out, "scan %s %s\n", sc.ID, sc.Status)
			return nil
		}
		var v httpapi.ScanView
		if err := r.call(ctx, http.MethodGet, path, nil, nil, &v); err != nil || r.json {
			return err
		}
		return printScan(out, v)
	}
	fmt.Fprint(os.Stderr, scansUsage)
	return usagef("scans: unknown command %q", args[0])
}

// scanRows prints scans as a table.
func scanRows(w io.Writer, scans []citadel.Scan) error {
	rows := make([][]string, len(scans))
	for i, sc := range scans {
		result := orDash(sc.FailureCause)
		if s := sc.Summary; s != nil && sc.Status == citadel.ScanSucceeded {
			result = fmt.Sprintf("%d pass, %d fail, %d assets", s.ChecksPassed, s.ChecksFailed, s.TotalAssets)
		}
		if r, ok := orgScanResult(sc); ok {
			result = r
		}
		took := "-"
		if !sc.FinishedAt.IsZero() && !sc.CreatedAt.IsZero() {
			took = sc.FinishedAt.Sub(sc.CreatedAt).Round(time.Second).String()
		}
		rows[i] = []string{sc.ID, string(sc.Status), string(sc.Trigger), when(sc.CreatedAt), took, result}
	}
	return table(w, "SCAN\tSTATUS\tTRIGGER\tCREATED\tTOOK\tRESULT", rows)
}
