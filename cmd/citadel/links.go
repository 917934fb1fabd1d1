package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/httpapi"
)

// `citadel links`: a check's effective SCF links (the imported ones as the
// users' corrections leave them) and the corrections themselves, read and
// written in the table (CITADEL_TABLE) like the other commands; the API's
// /checks/{id}/links routes do the same for its callers.

const linksUsage = `usage:
  citadel links list CHECK_ID [-o table|json]
      the check's effective SCF links, best first: rank, SCF id, origin
      (imported or manual) and why (the frameworks, requirements and score of
      the import's join, or who added it and why), then its corrections
  citadel links add CHECK_ID SCF_ID --reason TEXT [--by NAME] [-o table|json]
      link the check to an SCF control by hand (it then comes first)
  citadel links remove CHECK_ID SCF_ID --reason TEXT [--by NAME] [-o table|json]
      drop the check's link to an SCF control; a re-import does not bring it back

  add and remove record a correction (one per check and SCF control, the last
  wins), then print the check's links as they now are. --by defaults to
  $CITADEL_USER, else the OS user name. Flags may come before or after the ids.
  -o json prints the API's CheckLinks: {check_id, links, corrections}.
`

// errLinksHelp asks for the usage: printed to stdout, not an error.
var errLinksHelp = errors.New("help requested")

// linksCmd runs `citadel links`: where it prints, its clock, and the name a
// correction is made by when --by is not given.
type linksCmd struct {
	out  io.Writer
	now  citadel.Clock
	user func() (string, error)
}

func cmdLinks(ctx context.Context, args []string) error {
	c := &linksCmd{out: os.Stdout, now: citadel.SystemClock, user: defaultCorrectionUser}
	return c.run(ctx, args)
}

// defaultCorrectionUser is $CITADEL_USER, else the OS user's name.
func defaultCorrectionUser() (string, error) {
	if u := os.Getenv("CITADEL_USER"); u != "" {
		return u, nil
	}
	u, err := user.Current()
	if err != nil {
		return "", err
	}
	return u.Username, nil
}

func (c *linksCmd) run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, linksUsage)
		return citadel.Invalid("links: missing subcommand (list, add or remove)")
	}
	var action citadel.LinkAction
	switch args[0] {
	case "list":
	case "add":
		action = citadel.LinkAdd
	case "remove":
		action = citadel.LinkRemove
	case "help", "-h", "-help", "--help":
		fmt.Fprint(c.out, linksUsage)
		return nil
	default:
		fmt.Fprint(os.Stderr, linksUsage)
		return citadel.Invalid("links: unknown subcommand %q (list, add or remove)", args[0])
	}
	la, err := parseLinksArgs(args[0], args[1:])
	if errors.Is(err, errLinksHelp) {
		fmt.Fprint(c.out, linksUsage)
		return nil
	}
	if err != nil {
		return err
	}
	var corr citadel.LinkCorrection
	if action != "" {
		if corr, err = c.correction(la, action); err != nil {
			return err
		}
	}
	store, err := openLinksStore(ctx)
	if err != nil {
		return err
	}
	if err := checkLinkIDs(ctx, store, la); err != nil {
		return err
	}
	if action != "" {
		if err := store.PutLinkCorrection(ctx, corr); err != nil {
			return fmt.Errorf("links %s: %w", la.sub, err)
		}
	}
	cl, err := checkLinksOf(ctx, store, la.checkID)
	if err != nil {
		return err
	}
	return writeCheckLinks(c.out, la.output, cl)
}

// linksArgs are a links subcommand's arguments, checked.
type linksArgs struct {
	sub     string
	checkID string
	scfID   string // add and remove
	output  string // table or json
	reason  string
	by      string
	bySet   bool
}

// parseLinksArgs parses a subcommand's arguments: its ids and flags in any
// order (Go's flag package stops at the first non-flag, so it parses again
// after each id; after "--" all is ids). The help flags answer errLinksHelp.
func parseLinksArgs(sub string, args []string) (linksArgs, error) {
	la := linksArgs{sub: sub}
	names := []string{"CHECK_ID"}
	fs := flag.NewFlagSet("links "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; -h prints linksUsage
	fs.Usage = func() {}
	fs.StringVar(&la.output, "o", "table", "output: table or json")
	if sub != "list" {
		names = append(names, "SCF_ID")
		fs.StringVar(&la.reason, "reason", "", "why (required)")
		fs.StringVar(&la.by, "by", "", "who (default: $CITADEL_USER, else the OS user)")
	}
	var pos []string
	for rest := args; ; {
		err := fs.Parse(rest)
		if errors.Is(err, flag.ErrHelp) {
			return la, errLinksHelp
		}
		if err != nil {
			return la, citadel.Invalid("links %s: %v", sub, err)
		}
		left := fs.Args()
		if len(left) == 0 {
			break
		}
		if consumed := len(rest) - len(left); consumed > 0 && rest[consumed-1] == "--" {
			pos = append(pos, left...) // after "--", ids only
			break
		}
		pos, rest = append(pos, left[0]), left[1:]
	}
	fs.Visit(func(f *flag.Flag) { la.bySet = la.bySet || f.Name == "by" })

	if len(pos) < len(names) {
		return la, citadel.Invalid("links %s: missing %s (usage: citadel links %s %s)", sub, names[len(pos)], sub, strings.Join(names, " "))
	}
	if len(pos) > len(names) {
		return la, citadel.Invalid("links %s: unexpected argument %q after %s", sub, pos[len(names)], strings.Join(names, " "))
	}
	for i, name := range names {
		if strings.TrimSpace(pos[i]) == "" {
			return la, citadel.Invalid("links %s: %s is empty", sub, name)
		}
	}
	la.checkID = pos[0]
	if la.output != "table" && la.output != "json" {
		return la, citadel.Invalid("links %s: -o %q: want table or json", sub, la.output)
	}
	if sub == "list" {
		return la, nil
	}
	la.scfID = pos[1]
	if !citadel.ValidSCFID(la.scfID) {
		return la, citadel.Invalid("links %s: SCF_ID %q is not an SCF control id (such as CRY-05 or IAC-06.1)", sub, la.scfID)
	}
	if strings.TrimSpace(la.reason) == "" {
		return la, citadel.Invalid("links %s: --reason is required: say why the link is %s", sub, map[string]string{"add": "added", "remove": "removed"}[sub])
	}
	if n := utf8.RuneCountInString(la.reason); n > citadel.MaxCorrectionReason {
		return la, citadel.Invalid("links %s: --reason is %d characters, over %d", sub, n, citadel.MaxCorrectionReason)
	}
	if la.bySet && strings.TrimSpace(la.by) == "" {
		return la, citadel.Invalid("links %s: --by is empty", sub)
	}
	return la, nil
}

// correction is the correction an add or remove records, made now by --by
// or the default user.
func (c *linksCmd) correction(la linksArgs, action citadel.LinkAction) (citadel.LinkCorrection, error) {
	by := la.by
	if !la.bySet {
		u, err := c.user()
		if err != nil || u == "" {
			return citadel.LinkCorrection{}, citadel.Invalid("links %s: --by is required: no $CITADEL_USER and no OS user name (%v)", la.sub, err)
		}
		by = u
	}
	corr := citadel.LinkCorrection{CheckID: la.checkID, SCFID: la.scfID, Action: action,
		Reason: la.reason, By: by, At: c.now().UTC()}
	if err := corr.Validate(); err != nil {
		return corr, fmt.Errorf("links %s: %w", la.sub, err)
	}
	return corr, nil
}

// linksStore is what the links commands read and write of the table.
type linksStore interface {
	httpapi.Links
	GetSCFControl(ctx context.Context, id string) (citadel.SCFControl, error)
}

func openLinksStore(ctx context.Context) (linksStore, error) {
	cfg, err := awsx.Load(ctx)
	if err != nil {
		return nil, err
	}
	return ddb.New(cfg, tableName()), nil
}

// checkLinkIDs checks that the check (and the SCF control of an add or a
// remove) is in the catalog, naming the argument that is not.
func checkLinkIDs(ctx context.Context, store linksStore, la linksArgs) error {
	if _, err := store.GetCheck(ctx, la.checkID); citadel.IsNotFound(err) {
		return citadel.NotFound("links %s: CHECK_ID %q is not a check of the catalog (citadel catalog import)", la.sub, la.checkID)
	} else if err != nil {
		return fmt.Errorf("links %s: check %s: %w", la.sub, la.checkID, err)
	}
	if la.scfID == "" {
		return nil
	}
	if _, err := store.GetSCFControl(ctx, la.scfID); citadel.IsNotFound(err) {
		return citadel.NotFound("links %s: SCF_ID %q is not a control of the catalog's SCF library", la.sub, la.scfID)
	} else if err != nil {
		return fmt.Errorf("links %s: SCF control %s: %w", la.sub, la.scfID, err)
	}
	return nil
}

// checkLinksOf is the check's links and corrections, as the API answers them.
func checkLinksOf(ctx context.Context, store linksStore, checkID string) (httpapi.CheckLinks, error) {
	links, err := store.EffectiveLinksOfCheck(ctx, checkID)
	if err != nil {
		return httpapi.CheckLinks{}, fmt.Errorf("links of check %s: %w", checkID, err)
	}
	corrections, err := store.LinkCorrectionsOfCheck(ctx, checkID)
	if err != nil {
		return httpapi.CheckLinks{}, fmt.Errorf("corrections of check %s: %w", checkID, err)
	}
	if links == nil {
		links = []citadel.EffectiveLink{}
	}
	if corrections == nil {
		corrections = []citadel.LinkCorrection{}
	}
	return httpapi.CheckLinks{CheckID: checkID, Links: links, Corrections: corrections}, nil
}

func writeCheckLinks(w io.Writer, format string, cl httpapi.CheckLinks) error {
	if format == "json" {
		return writeJSON(w, cl)
	}
	return writeLinksTable(w, cl)
}

// writeLinksTable writes a check's links and corrections as aligned tables.
func writeLinksTable(w io.Writer, cl httpapi.CheckLinks) error {
	manual := 0
	for _, l := range cl.Links {
		if l.Origin == citadel.LinkManual {
			manual++
		}
	}
	fmt.Fprintf(w, "check %s: %s (%d manual), %s\n", cell(cl.CheckID),
		count(len(cl.Links), "link"), manual, count(len(cl.Corrections), "correction"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(cl.Links) > 0 {
		fmt.Fprintln(tw, "\nrank\tscf_id\torigin\texplanation")
		for _, l := range cl.Links {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", l.Rank, cell(l.SCFID), l.Origin, cell(l.Explanation))
		}
	}
	if len(cl.Corrections) > 0 {
		fmt.Fprintln(tw, "\ncorrection\tscf_id\tby\tat\treason")
		for _, c := range cl.Corrections {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Action, cell(c.SCFID), cell(c.By), c.At.UTC().Format(time.RFC3339), cell(c.Reason))
		}
	}
	return tw.Flush()
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// cell keeps a value on one table cell: control characters (tabs, line
// breaks) become spaces.
func cell(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
