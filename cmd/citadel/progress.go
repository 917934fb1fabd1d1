package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/localrun"
)

// progress prints each step's start and end and a bar while findings are
// ingested.
type progress struct {
	w     io.Writer
	mu    sync.Mutex
	usage []StepUsage
	extra map[string]func() string // more about a step's end
	bar   bool
	pass  int
	pct   int64
}

func (p *progress) event(e localrun.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar {
		fmt.Fprintln(p.w)
		p.bar = false
	}
	if !e.Done {
		fmt.Fprintf(p.w, "▶ %-13s started\n", e.Step)
		return
	}
	if e.Err != nil {
		fmt.Fprintf(p.w, "✗ %-13s failed after %s: %v\n", e.Step, e.Elapsed.Round(time.Millisecond), e.Err)
		return
	}
	if u, ok := usageOf(e.Output); ok {
		p.usage = append(p.usage, StepUsage{Step: e.Step, Usage: u})
	}
	extra := ""
	if f := p.extra[e.Step]; f != nil {
		extra = f()
	}
	fmt.Fprintf(p.w, "✓ %-13s %8s  %s%s\n", e.Step, e.Elapsed.Round(time.Millisecond), counts(e.Output), extra)
}

// bytes redraws the bar when its percentage moves: every percent on a
// terminal, every tenth elsewhere (a log file gets a few lines).
func (p *progress) bytes(pass int, read, size int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pct := int64(-1)
	if size > 0 {
		pct = 100 * min(read, size) / size
	}
	step := int64(10)
	if isTerminal(p.w) {
		step = 1
	}
	if pass == p.pass && pct/step == p.pct/step {
		return
	}
	p.pass, p.pct = pass, pct
	if isTerminal(p.w) {
		p.bar = true
		fmt.Fprintf(p.w, "\r  findings pass %d/2 %s", pass, bar(read, size, 30))
		return
	}
	fmt.Fprintf(p.w, "  findings pass %d/2 %s\n", pass, bar(read, size, 30))
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// bar draws read/size as a bar of width cells with the percentage.
func bar(read, size int64, width int) string {
	if size <= 0 {
		return fmt.Sprintf("[%s] %d B", strings.Repeat("?", width), read)
	}
	if read > size {
		read = size
	}
	full := int(int64(width) * read / size)
	return fmt.Sprintf("[%s%s] %3d%% of %s", strings.Repeat("#", full), strings.Repeat(".", width-full), 100*read/size, humanBytes(size))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// counts is a step output's counts on one line.
func counts(out any) string {
	switch o := out.(type) {
	case citadel.PlanOutput:
		return fmt.Sprintf("%d checks planned, regions %s", o.ChecksPlanned, o.RegionsArg)
	case citadel.AssetSyncOutput:
		return fmt.Sprintf("%d assets (%d created, %d updated, %d deactivated), %d relationships created, %d collector errors",
			o.TotalAssets, o.AssetsCreated, o.AssetsUpdated, o.AssetsDeactivated, o.RelationshipsCreated, len(o.Errors))
	case citadel.ProwlerManifest:
		return fmt.Sprintf("Prowler %s: %d findings, %d of %d checks executed, %s OCSF, exit %d",
			o.ProwlerVersion, o.FindingCount, len(o.ChecksExecuted), o.ChecksRequested, humanBytes(o.FileSize), o.ExitCode)
	case []citadel.ShardOutcome:
		failed := 0
		for _, s := range o {
			if s.Failed() {
				failed++
			}
		}
		return fmt.Sprintf("%d shards, %d failed", len(o), failed)
	case citadel.CheckResultsOutput:
		return fmt.Sprintf("%d created, %d updated, %d unchanged; checks %d pass / %d fail / %d error / %d n/a; %d history entries, %d ARNs skipped",
			o.ResultsCreated, o.ResultsUpdated, o.ResultsUnchanged, o.ChecksPassed, o.ChecksFailed, o.ChecksError, o.ChecksNotApplicable,
			o.HistoryEntriesCreated, o.ARNsSkipped)
	case citadel.ControlsOutput:
		return fmt.Sprintf("%d controls created, %d updated (%d SCF, %d requirement), %d mappings created",
			o.ControlsCreated, o.ControlsUpdated, o.SCFControls, o.RequirementControls, o.MappingsCreated)
	case citadel.PoliciesOutput:
		return fmt.Sprintf("%d policies created, %d skipped", o.PoliciesCreated, o.PoliciesSkipped)
	case citadel.EvidenceOutput:
		return fmt.Sprintf("%d evidence created, %d updated, %d links created", o.EvidenceCreated, o.EvidenceUpdated, o.LinksCreated)
	case citadel.FinalizeOutput:
		return fmt.Sprintf("scan %s: %s", o.Status, o.Summary.Message)
	}
	return ""
}
