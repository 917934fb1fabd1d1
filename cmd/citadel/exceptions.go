package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/citadelsecure/citadel/shared/citadel"
)

const exceptionsUsage = `usage: citadel exceptions <command> [flags]   (the deployed API: --stack or --api)

An exception (a risk acceptance) accepts a check's failing results on some assets of one
integration, for a reason, until a date: requested by one person, approved or rejected by
another (an auditor or an admin), revocable, expired by time.

commands:
  request --integration ID --check CHECK (--asset ARN | --all-assets | --tag KEY=VALUE)
          --justification TEXT --owner WHO --expires YYYY-MM-DD|Nd
        request an exception (you are its requester)
  list [--integration ID | --folder F] [--status S]
        an integration's exceptions, or a folder's (default: the deployment's);
        --status requested is the review queue
  show ID                     an exception with its decision and its history
  approve ID [--note TEXT]    approve a requested exception (never your own)
  reject ID [--note TEXT]     reject a requested exception (never your own)
  revoke ID [--note TEXT]     revoke an approved exception
  import-mutelist FILE --integration ID --owner WHO --expires YYYY-MM-DD|Nd
          [--justification-prefix TEXT] [--dry-run]
        request an exception for each piece of a Prowler AWS mutelist that one expresses
        exactly; the rest is reported with its reasons, and the exit code is then 7
        (docs/cli.md: what imports, what does not)

--expires: a date (the exception ends as that day begins, UTC), an RFC 3339 time, or Nd
(N days from now); at most the deployment's maximum ahead (365 days unless it sets another).
every command takes -o json, --stack NAME (default Citadel) and --api URL
`

// cliClock is the CLI's clock (--expires Nd counts from it; tests pin it).
var cliClock = time.Now

func cmdExceptions(ctx context.Context, args []string, out io.Writer) error {
	if done, err := commandGroup("exceptions", args, exceptionsUsage, out); done {
		return err
	}
	switch sub := args[0]; sub {
	case "request":
		return exceptionsRequest(ctx, args[1:], out)
	case "list":
		return exceptionsList(ctx, args[1:], out)
	case "show":
		return exceptionsShow(ctx, args[1:], out)
	case "approve", "reject", "revoke":
		return exceptionsDecide(ctx, citadel.ExceptionAction(sub), args[1:], out)
	case "import-mutelist":
		return exceptionsImport(ctx, args[1:], out)
	}
	fmt.Fprint(os.Stderr, exceptionsUsage)
	return usagef("exceptions: unknown command %q", args[0])
}

// requestFlags are the flags of exceptions request.
type requestFlags struct {
	integration, check, asset, tag, justification, owner, expires string
	allAssets                                                     bool
}

func (f *requestFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.integration, "integration", "", "the integration (required)")
	fs.StringVar(&f.check, "check", "", "the check whose failing results are accepted (required)")
	fs.StringVar(&f.asset, "asset", "", "scope: one asset, by its ARN as its results name it")
	fs.BoolVar(&f.allAssets, "all-assets", false, "scope: every asset of the integration")
	fs.StringVar(&f.tag, "tag", "", "scope: the assets whose tag KEY has exactly VALUE (KEY=VALUE)")
	fs.StringVar(&f.justification, "justification", "", "why the risk is accepted (required)")
	fs.StringVar(&f.owner, "owner", "", "who owns the accepted risk (required)")
	fs.StringVar(&f.expires, "expires", "", "until when: YYYY-MM-DD, an RFC 3339 time, or Nd (days from now; required)")
}

// request is the flags as a request, checked as the API will (but for
// the deployment's maximum expiry, which the API knows): a usage error
// naming the flag otherwise.
func (f requestFlags) request(now time.Time) (citadel.ExceptionRequest, error) {
	const cmd = "exceptions request"
	if err := requireFlags(cmd, "integration", f.integration, "check", f.check, "justification", f.justification,
		"owner", f.owner, "expires", f.expires); err != nil {
		return citadel.ExceptionRequest{}, err
	}
	if err := validIDs(cmd, "integration", f.integration, "check", f.check); err != nil {
		return citadel.ExceptionRequest{}, err
	}
	r := citadel.ExceptionRequest{IntegrationID: f.integration, CheckID: f.check, Justification: f.justification, Owner: f.owner}
	n := 0
	for _, set := range []bool{f.asset != "", f.allAssets, f.tag != ""} {
		if set {
			n++
		}
	}
	switch {
	case n != 1:
		return r, usagef("%s: give one scope: --asset ARN, --all-assets or --tag KEY=VALUE", cmd)
	case f.asset != "":
		r.Scope = citadel.ExceptionScope{Kind: citadel.ScopeAsset, AssetARN: f.asset}
	case f.allAssets:
		r.Scope = citadel.ExceptionScope{Kind: citadel.ScopeIntegration}
	default:
		k, v, ok := strings.Cut(f.tag, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return r, usagef("%s: --tag %q must be KEY=VALUE", cmd, f.tag)
		}
		r.Scope = citadel.ExceptionScope{Kind: citadel.ScopeTag, TagKey: k, TagValue: v}
	}
	var err error
	if r.ExpiresAt, err = parseExpiry(cmd, f.expires, now); err != nil {
		return r, err
	}
	if _, err := citadel.RequestException("exc-cli", "fld-cli", r, "cli", now, citadel.MaxExceptionDaysLimit); err != nil {
		return r, usagef("%s: %v", cmd, err)
	}
	return r, nil
}

// requireFlags names the first flag of the name, value pairs left blank.
func requireFlags(cmd string, kv ...string) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if strings.TrimSpace(kv[i+1]) == "" {
			return usagef("%s: --%s is required", cmd, kv[i])
		}
	}
	return nil
}

// validIDs names the first flag of the name, value pairs that is not an id.
func validIDs(cmd string, kv ...string) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if !citadel.ValidID(kv[i+1]) {
			return usagef("%s: --%s %q must match %s", cmd, kv[i], kv[i+1], citadel.PatternID)
		}
	}
	return nil
}

// parseExpiry reads --expires: Nd (N whole days from now), a date (its
// start, UTC) or an RFC 3339 time, in the future.
func parseExpiry(cmd, s string, now time.Time) (time.Time, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 1 || days > citadel.MaxExceptionDaysLimit {
			return time.Time{}, usagef("%s: --expires %q: the days must be a whole number from 1 to %d", cmd, s, citadel.MaxExceptionDaysLimit)
		}
		return now.UTC().Add(time.Duration(days) * 24 * time.Hour).Truncate(time.Second), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		if t, err = time.Parse(time.RFC3339, s); err != nil {
			return time.Time{}, usagef("%s: --expires %q must be a date (YYYY-MM-DD), an RFC 3339 time or Nd (N days from now)", cmd, s)
		}
	}
	if !t.After(now) {
		return time.Time{}, usagef("%s: --expires %s is not in the future", cmd, s)
	}
	return t.UTC(), nil
}

func exceptionsRequest(ctx context.Context, args []string, out io.Writer) error {
	var t target
	var f requestFlags
	fs := newFlags("exceptions request", "exceptions request --integration ID --check CHECK (--asset ARN | --all-assets | --tag KEY=VALUE) "+
		"--justification TEXT --owner WHO --expires YYYY-MM-DD|Nd", &t)
	f.register(fs)
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	req, err := f.request(cliClock())
	if err != nil {
		return err
	}
	r, err := t.connect(ctx, out)
	if err != nil {
		return err
	}
	var e citadel.Exception
	if err := r.call(ctx, http.MethodPost, "/exceptions", nil, req, &e); err != nil || r.json {
		return err
	}
	fmt.Fprintf(out, "exception %s requested; another auditor or admin decides it:\n  citadel exceptions approve %s\n", e.ID, e.ID)
	return printException(out, e)
}

func exceptionsList(ctx context.Context, args []string, out io.Writer) error {
	var t target
	fs := newFlags("exceptions list", "exceptions list [--integration ID | --folder F] [--status S]", &t)
	integration := fs.String("integration", "", "one integration's exceptions (not with --folder)")
	folder := fs.String("folder", "", "a folder's exceptions (default: the deployment's)")
	status := fs.String("status", "", "only this status: requested (the review queue), approved, rejected, expired, revoked")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	if *integration != "" && *folder != "" {
		return usagef("exceptions list: give --integration or --folder, not both")
	}
	if *status != "" && !citadel.ExceptionStatus(*status).Valid() {
		return usagef("exceptions list: --status %q must be one of %v", *status, citadel.ExceptionStatuses)
	}
	r, err := t.connect(ctx, out)
	if err != nil {
		return err
	}
	q := folderQuery(*folder)
	for k, v := range map[string]string{"integration_id": *integration, "status": *status} {
		if v != "" {
			q.Set(k, v)
		}
	}
	all, err := listAll[citadel.Exception](ctx, r, "/exceptions", q)
	if err != nil || r.json {
		return err
	}
	rows := make([][]string, len(all))
	for i, e := range all {
		rows[i] = []string{e.ID, string(e.Status), e.IntegrationID, e.CheckID, scopeText(e.Scope), cut(e.Owner, 30), when(e.ExpiresAt), e.RequestedBy}
	}
	if err := table(out, "ID\tSTATUS\tINTEGRATION\tCHECK\tSCOPE\tOWNER\tEXPIRES\tREQUESTED BY", rows); err != nil {
		return err
	}
	fmt.Fprintf(out, "%d exceptions\n", len(all))
	return nil
}

func exceptionsShow(ctx context.Context, args []string, out io.Writer) error {
	e, r, err := getByID[citadel.Exception](ctx, args, out, "exceptions show", "/exceptions/")
	if err != nil || r.json {
		return err
	}
	if err := printException(out, e); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nhistory, oldest first:")
	rows := make([][]string, len(e.History))
	for i, h := range e.History {
		rows[i] = []string{when(h.At), orDash(string(h.From)), string(h.To), h.By, orDash(h.Note)}
	}
	return table(out, "  AT\tFROM\tTO\tBY\tNOTE", indent(rows))
}

func exceptionsDecide(ctx context.Context, a citadel.ExceptionAction, args []string, out io.Writer) error {
	var t target
	cmd := "exceptions " + string(a)
	fs := newFlags(cmd, cmd+" ID [--note TEXT]", &t)
	note := fs.String("note", "", "why (optional; kept in the exception's history)")
	pos, err := parseArgs(fs, args, "ID")
	if err != nil {
		return err
	}
	if n := utf8.RuneCountInString(*note); n > citadel.MaxExceptionNote {
		return usagef("%s: --note is %d characters, over %d", cmd, n, citadel.MaxExceptionNote)
	}
	r, err := t.connect(ctx, out)
	if err != nil {
		return err
	}
	var body any
	if *note != "" {
		body = map[string]string{"note": *note}
	}
	var e citadel.Exception
	if err := r.call(ctx, http.MethodPost, "/exceptions/"+url.PathEscape(pos[0])+"/"+string(a), nil, body, &e); err != nil || r.json {
		return err
	}
	by := ""
	if n := len(e.History); n > 0 {
		by = e.History[n-1].By
	}
	fmt.Fprintf(out, "exception %s %s by %s\n", e.ID, e.Status, orDash(by))
	return nil
}

func printException(w io.Writer, e citadel.Exception) error {
	decided := ""
	if e.DecidedBy != "" {
		decided = e.DecidedBy + " at " + when(e.DecidedAt)
	}
	return fields(w, "  id", e.ID, "  status", string(e.Status), "  integration", e.IntegrationID, "  folder", e.FolderID,
		"  check", e.CheckID, "  scope", scopeText(e.Scope), "  asset id", e.Scope.AssetID, "  owner", e.Owner,
		"  justification", e.Justification, "  requested", e.RequestedBy+" at "+when(e.RequestedAt),
		"  expires", when(e.ExpiresAt), "  decided", decided, "  decision note", e.DecisionNote)
}

// scopeText is a scope in a few words.
func scopeText(s citadel.ExceptionScope) string {
	switch s.Kind {
	case citadel.ScopeAsset:
		return "asset " + s.AssetARN
	case citadel.ScopeTag:
		return "tag " + s.TagKey + "=" + s.TagValue
	case citadel.ScopeIntegration:
		return "every asset"
	}
	return string(s.Kind)
}
