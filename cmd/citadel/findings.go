package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/citadelsecure/citadel/shared/httpapi"
)

const findingsUsage = `usage:
  citadel findings --integration ID [--status fail] [--severity high] [--service s3] [--region R]
                   [--check CHECK] [--requirement FRAMEWORK:REF] [--limit N]
      an integration's current check results, filtered (--limit: at most N, default all)
  citadel findings asset REF
      one asset (REF is a finding's asset ref) with its results and relationships
`

func cmdFindings(ctx context.Context, args []string, out io.Writer) error {
	if len(args) > 0 && args[0] == "asset" {
		return findingsAsset(ctx, args[1:], out)
	}
	var t target
	fs := newFlags("findings", "findings --integration ID [filters]", &t)
	fs.Usage = func() { fmt.Fprint(fs.Output(), findingsUsage+"\nflags:\n"); fs.PrintDefaults() }
	integration := fs.String("integration", "", "the integration (required)")
	filters := map[string]*string{}
	for flagName, param := range map[string]string{"status": "status", "severity": "severity", "service": "service",
		"region": "region", "check": "check_id", "requirement": "requirement_id"} {
		filters[param] = fs.String(flagName, "", "only results with this "+flagName)
	}
	limit := fs.Int("limit", 0, "at most this many results (0: all)")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	if *integration == "" {
		return usagef("findings: --integration is required")
	}
	if *limit < 0 {
		return usagef("findings: --limit %d is negative", *limit)
	}
	r, err := t.connect(ctx, out)
	if err != nil {
		return err
	}
	q := url.Values{"integration_id": {*integration}}
	for param, v := range filters {
		if *v != "" {
			q.Set(param, *v)
		}
	}
	json := r.json
	r.json = false // listAll prints the whole list once, after the limit
	all, err := listAll[httpapi.Finding](ctx, r, "/results", q)
	r.json = json
	if err != nil {
		return err
	}
	if *limit > 0 && len(all) > *limit {
		all = all[:*limit]
	}
	if r.json {
		return writeJSON(out, map[string]any{"items": nonNilSlice(all)})
	}
	rows := make([][]string, len(all))
	for i, f := range all {
		rows[i] = []string{string(f.Status), orDash(string(f.Severity)), f.CheckID, orDash(f.Region), f.AssetARN, f.AssetRef}
	}
	if err := table(out, "STATUS\tSEVERITY\tCHECK\tREGION\tRESOURCE\tASSET REF", rows); err != nil {
		return err
	}
	fmt.Fprintf(out, "%d findings\n", len(all))
	return nil
}

func findingsAsset(ctx context.Context, args []string, out io.Writer) error {
	var t target
	fs := newFlags("findings asset", "findings asset REF", &t)
	pos, r, err := t.open(ctx, out, fs, args, "REF")
	if err != nil {
		return err
	}
	var d httpapi.AssetDetail
	if err := r.call(ctx, http.MethodGet, "/assets/"+url.PathEscape(pos[0]), nil, nil, &d); err != nil || r.json {
		return err
	}
	a := d.Asset
	if err := fields(out, "asset", a.SourceID, "type", a.ServiceType, "region", a.Region, "name", a.Name,
		"active", fmt.Sprint(a.IsActive), "last seen", when(a.LastSeen)); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nresults:")
	rows := make([][]string, len(d.Results))
	for i, res := range d.Results {
		rows[i] = []string{string(res.Status), orDash(string(res.Severity)), res.CheckID, cut(res.StatusExtended, 80)}
	}
	if err := table(out, "  STATUS\tSEVERITY\tCHECK\tDETAIL", indent(rows)); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nrelationships:")
	rows = nil
	for _, rel := range d.RelationshipsOut {
		rows = append(rows, []string{"→", string(rel.Kind), rel.ToARN})
	}
	for _, rel := range d.RelationshipsIn {
		rows = append(rows, []string{"←", string(rel.Kind), rel.FromARN})
	}
	return table(out, "  \tKIND\tASSET", indent(rows))
}
