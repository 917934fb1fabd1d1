package report

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/citadelsecure/citadel/shared/citadel"
)

//go:embed report.html.tmpl framework.html.tmpl
var files embed.FS

var page = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"pct":     func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"width":   func(f float64) string { return fmt.Sprintf("%.1f%%", f) },
	"short":   shortTime,
	"posture": func(v any) string { return strings.ReplaceAll(fmt.Sprint(v), "_", " ") },
	"pctOf": func(n, of int) string {
		if of == 0 {
			return "0.0"
		}
		return fmt.Sprintf("%.1f", 100*float64(n)/float64(of))
	},
	"date": func(t interface{ Format(string) string }) string { return t.Format("2006-01-02") },
}).ParseFS(files, "report.html.tmpl", "framework.html.tmpl"))

func shortTime(t interface{ Format(string) string }) string {
	return t.Format("2006-01-02 15:04:05 UTC")
}

// HTML writes the report as one self-contained HTML page.
func HTML(w io.Writer, d Data) error {
	if err := page.Execute(w, d); err != nil {
		return fmt.Errorf("report: render: %w", err)
	}
	return nil
}

// CoverageTable writes the frameworks' coverage as an aligned text table.
func CoverageTable(w io.Writer, fws []Framework) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "framework\trequirements\twith controls\tall passing\tcontrols: passing/partial/issues/not scanned\tpolicies")
	for _, f := range fws {
		c := f.Coverage
		by := c.ControlsByPosture
		scanned := by[citadel.PosturePassing] + by[citadel.PosturePartial] + by[citadel.PostureIssues] + by[citadel.PostureNotScanned]
		fmt.Fprintf(tw, "%s\t%d\t%d (%.1f%%)\t%d (%.1f%%)\t%d/%d/%d/%d\t%d\n", f.ID, c.Requirements,
			c.WithControls, c.WithControlsPct, c.AllPassing, c.AllPassingPct,
			by[citadel.PosturePassing], by[citadel.PosturePartial], by[citadel.PostureIssues], by[citadel.PostureNotScanned],
			c.DistinctControls-scanned) // a policy has no posture
	}
	return tw.Flush()
}
