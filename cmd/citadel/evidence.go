package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/compliance"
	"github.com/citadelsecure/citadel/shared/httpapi"
)

const evidenceUsage = `usage:
  citadel evidence queue [--status in_review] [--folder F]   evidence awaiting review (or of another status)
  citadel evidence show ID                                    a record, its revisions, its reviews, its chain
  citadel evidence approve ID --comment TEXT                  approve it (the reviewer is you)
  citadel evidence reject ID --comment TEXT                   reject it
  citadel coverage FRAMEWORK [--folder F]                     a framework's coverage, requirement by requirement

every command takes -o json, --stack NAME (default Citadel) and --api URL
`

func cmdEvidence(ctx context.Context, args []string, out io.Writer) error {
	if done, err := commandGroup("evidence", args, evidenceUsage, out); done {
		return err
	}
	var t target
	switch sub := args[0]; sub {
	case "queue":
		fs := newFlags("evidence queue", "evidence queue [--status in_review] [--folder F]", &t)
		status := fs.String("status", string(citadel.EvidenceInReview), "the status to list")
		folder := fs.String("folder", "", "the folder (default: the deployment's)")
		if _, err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		r, err := t.connect(ctx, out)
		if err != nil {
			return err
		}
		q := folderQuery(*folder)
		q.Set("status", *status)
		all, err := listAll[citadel.Evidence](ctx, r, "/evidence", q)
		if err != nil || r.json {
			return err
		}
		rows := make([][]string, len(all))
		for i, e := range all {
			rows[i] = []string{e.ID, string(e.Status), string(e.ResultStatus), e.CheckID, orDash(e.AssetName), fmt.Sprint(e.RevisionCount), when(e.UpdatedAt)}
		}
		return table(out, "EVIDENCE\tSTATUS\tRESULT\tCHECK\tASSET\tREVISIONS\tUPDATED", rows)
	case "show":
		fs := newFlags("evidence show", "evidence show ID", &t)
		pos, r, err := t.open(ctx, out, fs, args[1:], "ID")
		if err != nil {
			return err
		}
		var d httpapi.EvidenceDetail
		if err := r.call(ctx, http.MethodGet, "/evidence/"+url.PathEscape(pos[0]), nil, nil, &d); err != nil || r.json {
			return err
		}
		return printEvidence(out, d)
	case "approve", "reject":
		fs := newFlags("evidence "+sub, "evidence "+sub+" ID --comment TEXT", &t)
		comment := fs.String("comment", "", "why (required; kept in the evidence's review history)")
		pos, err := parseArgs(fs, args[1:], "ID")
		if err != nil {
			return err
		}
		if strings.TrimSpace(*comment) == "" {
			return usagef("evidence %s: --comment is required", sub)
		}
		r, err := t.connect(ctx, out)
		if err != nil {
			return err
		}
		var e citadel.Evidence
		body := map[string]string{"decision": sub, "comment": *comment}
		if err := r.call(ctx, http.MethodPost, "/evidence/"+url.PathEscape(pos[0])+"/review", nil, body, &e); err != nil || r.json {
			return err
		}
		fmt.Fprintf(out, "evidence %s %s by %s\n", e.ID, e.Status, orDash(e.ReviewedBy))
		return nil
	}
	fmt.Fprint(os.Stderr, evidenceUsage)
	return usagef("evidence: unknown command %q", args[0])
}

func printEvidence(w io.Writer, d httpapi.EvidenceDetail) error {
	e := d.Evidence
	chain := "verified: every revision and review is chained"
	if b := d.ChainBreak; b != nil {
		chain = fmt.Sprintf("BROKEN at revision %d: %s", b.Number, b.Reason)
		if b.Review > 0 {
			chain = fmt.Sprintf("BROKEN at review %d: %s", b.Review, b.Reason)
		}
	}
	if err := fields(w, "evidence", e.ID, "name", e.Name, "status", string(e.Status), "result", string(e.ResultStatus),
		"exception", e.ExceptionID, "check", e.CheckID, "asset", e.AssetName, "integration", e.SourceIntegration, "chain", chain); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nreviews, newest first:")
	rows := make([][]string, len(d.Reviews))
	for i, rv := range d.Reviews {
		rows[i] = []string{when(rv.At), string(rv.Decision), rv.By, rv.Comment}
	}
	if err := table(w, "  AT\tDECISION\tBY\tCOMMENT", indent(rows)); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nrevisions, newest first:")
	rows = make([][]string, len(d.Revisions))
	for i, rv := range d.Revisions {
		rows[i] = []string{fmt.Sprint(rv.Number), rv.ScanID, when(rv.CreatedAt), shortHash(rv.Hash), revisionException(rv.Exception)}
	}
	return table(w, "  #\tSCAN\tAT\tHASH\tEXCEPTION", indent(rows))
}

// revisionException is the exception decision a revision records, in
// words: "exc-1 approved by bob 2026-01-02 …, until …: note" when it
// applies, "exc-1 ended: revoked by …" when it has just stopped; "-" when
// none.
func revisionException(x *citadel.RevisionException) string {
	if x == nil {
		return "-"
	}
	s := x.ID + " "
	if !x.Applies {
		s += "ended: "
	}
	if x.Status == "" { // the exception is no longer stored
		return s + "(decision unknown)"
	}
	s += fmt.Sprintf("%s by %s %s", x.Status, orDash(x.DecidedBy), when(x.DecidedAt))
	if x.Applies {
		s += ", until " + when(x.ExpiresAt)
	}
	if x.Note != "" {
		s += ": " + x.Note
	}
	return s
}

func indent(rows [][]string) [][]string {
	for _, r := range rows {
		if len(r) > 0 {
			r[0] = "  " + r[0]
		}
	}
	return rows
}

func shortHash(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

// coveragePage is one page of GET /frameworks/{id}/coverage.
type coveragePage struct {
	compliance.View
	Next string `json:"next,omitempty"`
}

func cmdCoverage(ctx context.Context, args []string, out io.Writer) error {
	var t target
	fs := newFlags("coverage", "coverage FRAMEWORK [--folder F]", &t)
	folder := fs.String("folder", "", "the folder (default: the deployment's)")
	pos, r, err := t.open(ctx, out, fs, args, "FRAMEWORK")
	if err != nil {
		return err
	}
	var view compliance.View
	cursor := ""
	for {
		q := url.Values{"limit": {"500"}}
		if *folder != "" {
			q.Set("folder_id", *folder)
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var p coveragePage
		if _, err := r.api.Do(ctx, http.MethodGet, "/frameworks/"+url.PathEscape(pos[0])+"/coverage", q, nil, &p); err != nil {
			return err
		}
		reqs := append(view.Requirements, p.Requirements...)
		view, view.Requirements = p.View, reqs
		if p.Next == "" || p.Next == cursor {
			break
		}
		cursor = p.Next
	}
	if r.json {
		return writeJSON(out, view)
	}
	c := view.Coverage
	fmt.Fprintf(out, "%s in folder %s: %d assessable requirements, %d with controls (%.1f%%), %d all passing (%.1f%%)\n\n",
		orDash(view.Framework), view.FolderID, c.Requirements, c.WithControls, c.WithControlsPct, c.AllPassing, c.AllPassingPct)
	rows := make([][]string, 0, len(view.Requirements))
	for _, req := range view.Requirements {
		postures := map[citadel.Posture]int{}
		for _, ctl := range req.Controls {
			postures[ctl.Posture]++
		}
		var parts []string
		for _, p := range citadel.Postures {
			if n := postures[p]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, p))
			}
		}
		rows = append(rows, []string{req.RefID, string(req.Result), orDash(strings.Join(parts, ", ")), cut(req.Name, 60)})
	}
	return table(out, "REQUIREMENT\tRESULT\tCONTROLS\tNAME", rows)
}

// cut shortens s to n runes for a table.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
