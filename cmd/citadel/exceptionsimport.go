package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/citadelsecure/citadel/shared/apiclient"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/mutelist"
)

// incompleteError is an import that left some of the mutelist out: the
// report names each piece and why (ExitIncomplete).
type incompleteError struct{ notImported, pieces int }

func (e incompleteError) Error() string {
	return fmt.Sprintf("exceptions import-mutelist: %d of the mutelist's %d pieces were not imported (their reasons are above)", e.notImported, e.pieces)
}

// importReport is what -o json prints of an import.
type importReport struct {
	File          string           `json:"file"`
	IntegrationID string           `json:"integration_id"`
	AccountID     string           `json:"account_id"`
	DryRun        bool             `json:"dry_run"`
	Items         []mutelist.Piece `json:"items"`
	Summary       mutelist.Summary `json:"summary"`
}

func exceptionsImport(ctx context.Context, args []string, out io.Writer) error {
	const cmd = "exceptions import-mutelist"
	var t target
	fs := newFlags(cmd, cmd+" FILE --integration ID --owner WHO --expires YYYY-MM-DD|Nd [--justification-prefix TEXT] [--dry-run]", &t)
	integration := fs.String("integration", "", "the integration to request the exceptions for (required)")
	owner := fs.String("owner", "", "who owns the accepted risks (required)")
	expires := fs.String("expires", "", "until when: YYYY-MM-DD, an RFC 3339 time, or Nd (days from now; required)")
	prefix := fs.String("justification-prefix", "", "text that starts every justification (a ticket, a review)")
	dryRun := fs.Bool("dry-run", false, "print what would be requested, request nothing")
	pos, err := parseArgs(fs, args, "FILE")
	if err != nil {
		return err
	}
	if err := requireFlags(cmd, "integration", *integration, "owner", *owner, "expires", *expires); err != nil {
		return err
	}
	if err := validIDs(cmd, "integration", *integration); err != nil {
		return err
	}
	now := cliClock()
	expiresAt, err := parseExpiry(cmd, *expires, now)
	if err != nil {
		return err
	}
	file, err := readMutelist(pos[0])
	if err != nil {
		return usagef("%s: %v", cmd, err)
	}
	r, err := t.connect(ctx, out)
	if err != nil {
		return err
	}
	var in citadel.Integration
	if _, err := r.api.Do(ctx, http.MethodGet, "/integrations/"+url.PathEscape(*integration), nil, nil, &in); err != nil {
		return err
	}
	pieces := mutelist.Translate(file, mutelist.Target{IntegrationID: in.ID, AccountID: in.AccountID, Owner: *owner,
		ExpiresAt: expiresAt, JustificationPrefix: *prefix, Source: filepath.Base(pos[0]), Now: now})
	live, err := liveExceptions(ctx, r, in.ID)
	if err != nil {
		return fmt.Errorf("%s: the integration's live exceptions: %w", cmd, err)
	}
	mutelist.Dedupe(pieces, live, now)
	var stopped error
	if !*dryRun {
		stopped = requestPieces(ctx, r, pieces)
	}
	rep := importReport{File: pos[0], IntegrationID: in.ID, AccountID: in.AccountID, DryRun: *dryRun,
		Items: nonNilSlice(pieces), Summary: mutelist.Summarize(pieces)}
	if err := printImport(out, r.json, rep); err != nil {
		return err
	}
	if stopped != nil {
		return fmt.Errorf("%s: stopped (what was requested before is above): %w", cmd, stopped)
	}
	if n := rep.Summary.NotImported(); n > 0 {
		return incompleteError{notImported: n, pieces: len(pieces)}
	}
	return nil
}

// readMutelist parses the mutelist file.
func readMutelist(path string) (mutelist.File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return mutelist.File{}, err
	}
	defer fh.Close()
	f, err := mutelist.Parse(fh)
	if err != nil {
		return f, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// liveExceptions are the integration's requested and approved exceptions.
func liveExceptions(ctx context.Context, r *remote, integrationID string) ([]citadel.Exception, error) {
	var live []citadel.Exception
	for _, s := range []citadel.ExceptionStatus{citadel.ExceptionRequested, citadel.ExceptionApproved} {
		es, err := readAll[citadel.Exception](ctx, r, "/exceptions", url.Values{"integration_id": {integrationID}, "status": {string(s)}})
		if err != nil {
			return nil, err
		}
		live = append(live, es...)
	}
	return live, nil
}

// requestPieces sends the requests, one at a time. The API refusing one
// (400, 404, 413: the asset is not the integration's, the check is not in
// the catalog ...) fails that piece with the API's message; anything else
// (not allowed, the API down) stops the import.
func requestPieces(ctx context.Context, r *remote, pieces []mutelist.Piece) error {
	for i := range pieces {
		p := &pieces[i]
		if p.Action != mutelist.ActionRequest {
			continue
		}
		var e citadel.Exception
		_, err := r.api.Do(ctx, http.MethodPost, "/exceptions", nil, p.Request, &e)
		var ae *apiclient.Error
		switch {
		case err == nil:
			p.Action, p.ExceptionID = mutelist.ActionRequested, e.ID
		case errors.As(err, &ae) && (ae.Status == http.StatusBadRequest || ae.Status == http.StatusNotFound || ae.Status == http.StatusRequestEntityTooLarge):
			p.Action, p.Reason = mutelist.ActionFailed, fmt.Sprintf("the API refused it (%d %s): %s", ae.Status, ae.Code, ae.Message)
		default:
			return fmt.Errorf("line %d (%s): %w", p.Line, p.Check, err)
		}
	}
	return nil
}

func printImport(w io.Writer, asJSON bool, rep importReport) error {
	if asJSON {
		return writeJSON(w, rep)
	}
	dry := ""
	if rep.DryRun {
		dry = ": a dry run, nothing is requested"
	}
	fmt.Fprintf(w, "mutelist %s for integration %s (account %s)%s\n\n", rep.File, rep.IntegrationID, rep.AccountID, dry)
	rows := make([][]string, len(rep.Items))
	for i, p := range rep.Items {
		what := p.Resource
		if p.Tag != "" {
			what += " tag " + p.Tag
		}
		rows[i] = []string{fmt.Sprint(p.Line), p.Account, p.Check, orDash(what), outcome(p)}
	}
	if err := table(w, "LINE\tACCOUNT\tCHECK\tRESOURCE\tOUTCOME", rows); err != nil {
		return err
	}
	s := rep.Summary
	requested := fmt.Sprintf("requested %d", s[mutelist.ActionRequested])
	if rep.DryRun {
		requested = fmt.Sprintf("would request %d", s[mutelist.ActionRequest])
	}
	fmt.Fprintf(w, "\n%s; skipped %d (%d already present, %d duplicates, %d of other accounts); not imported %d (%d refused, %d failed)\n",
		requested, s[mutelist.ActionPresent]+s[mutelist.ActionDuplicate]+s[mutelist.ActionOtherAccount],
		s[mutelist.ActionPresent], s[mutelist.ActionDuplicate], s[mutelist.ActionOtherAccount],
		s.NotImported(), s[mutelist.ActionRefused], s[mutelist.ActionFailed])
	return nil
}

// outcome is a piece's last column: what became of it, and why.
func outcome(p mutelist.Piece) string {
	switch p.Action {
	case mutelist.ActionRequest:
		return "would request: " + scopeText(p.Request.Scope)
	case mutelist.ActionRequested:
		return "requested " + p.ExceptionID + ": " + scopeText(p.Request.Scope)
	case mutelist.ActionPresent, mutelist.ActionDuplicate, mutelist.ActionOtherAccount:
		return "skipped: " + p.Reason
	case mutelist.ActionRefused:
		return "not importable: " + p.Reason
	}
	return string(p.Action) + ": " + p.Reason
}
