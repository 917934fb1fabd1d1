package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/httpapi"
	"github.com/citadelsecure/citadel/shared/testkit/golden"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// linksTable is a fresh table holding the fixture catalog (CITADEL_TABLE
// names it), and the store on it.
func linksTable(t *testing.T) (context.Context, *ddb.Store) {
	t.Helper()
	ctx := context.Background()
	cfg := testenv.Config(t)
	db, table := testenv.Table(t, cfg)
	t.Setenv("CITADEL_TABLE", table)
	if err := catalogImport(ctx, []string{"-prowler", fixtureProwler, "-scf", fixtureSCF}, io.Discard); err != nil {
		t.Fatal(err)
	}
	return ctx, ddb.NewFromClient(db, table)
}

// testLinksCmd prints into out, on a clock that starts at start and moves
// an hour a call, made by user when --by is not given.
func testLinksCmd(out io.Writer, start time.Time, user string) *linksCmd {
	next := start
	return &linksCmd{out: out,
		now:  func() time.Time { t := next; next = next.Add(time.Hour); return t },
		user: func() (string, error) { return user, nil }}
}

const s3Check = "s3_bucket_default_encryption"

// pinImported replaces the check's imported links with known ones, so the
// golden files do not follow the link ranking.
func pinImported(t *testing.T, ctx context.Context, store *ddb.Store, check string, links []citadel.CheckSCFLink) {
	t.Helper()
	old, err := store.SCFLinksOfCheck(ctx, check)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteCheckSCFLinks(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := store.PutCheckSCFLinks(ctx, links); err != nil {
		t.Fatal(err)
	}
}

func TestLinksCommands(t *testing.T) {
	ctx, store := linksTable(t)
	pinImported(t, ctx, store, s3Check, []citadel.CheckSCFLink{
		{CheckID: s3Check, SCFID: "CRY-05", Rank: 1, Score: 0.9, Frameworks: []string{"cis_controls_8.1", "soc2"}, Requirements: []string{"3.11", "cc6.1"}},
		{CheckID: s3Check, SCFID: "CRY-03", Rank: 2, Score: 0.45, Frameworks: []string{"soc2"}, Requirements: []string{"cc6.7"}},
	})
	t0 := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	cmd := testLinksCmd(&out, t0, "bob")

	for _, step := range []struct {
		args   []string
		golden string
	}{
		{[]string{"add", s3Check, "CRY-01", "--reason", "the bucket policy\tdenies unencrypted puts", "--by", "alice"}, "links_add.txt"},
		{[]string{"remove", "--reason", "transmission, not storage", s3Check, "CRY-03"}, "links_remove.txt"},
		{[]string{"list", s3Check}, "links_list.txt"},
		{[]string{"list", "-o", "json", s3Check}, "links_list.json"},
	} {
		out.Reset()
		if err := cmd.run(ctx, step.args); err != nil {
			t.Fatalf("links %q: %v", step.args, err)
		}
		golden.Check(t, step.golden, out.Bytes())
	}

	wantCorrections := []citadel.LinkCorrection{
		{CheckID: s3Check, SCFID: "CRY-01", Action: citadel.LinkAdd, Reason: "the bucket policy\tdenies unencrypted puts", By: "alice", At: t0},
		{CheckID: s3Check, SCFID: "CRY-03", Action: citadel.LinkRemove, Reason: "transmission, not storage", By: "bob", At: t0.Add(time.Hour)},
	}
	got, err := store.LinkCorrectionsOfCheck(ctx, s3Check)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantCorrections, got); d != "" {
		t.Errorf("stored corrections (-want +got):\n%s", d)
	}
	// -o json is the API's CheckLinks, as the store has it.
	var cl httpapi.CheckLinks
	if err := json.Unmarshal(out.Bytes(), &cl); err != nil {
		t.Fatal(err)
	}
	effective, err := store.EffectiveLinksOfCheck(ctx, s3Check)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(httpapi.CheckLinks{CheckID: s3Check, Links: effective, Corrections: wantCorrections}, cl); d != "" {
		t.Errorf("-o json (-want +got):\n%s", d)
	}
	if got := []string{effective[0].SCFID, string(effective[0].Origin), effective[1].SCFID, string(effective[1].Origin)}; len(effective) != 2 ||
		!cmp.Equal(got, []string{"CRY-01", "manual", "CRY-05", "imported"}) {
		t.Errorf("effective links: %+v", effective)
	}
}

// The imported links as the import made them, checked loosely: the link
// ranking is not this command's business.
func TestLinksOverImportedLinks(t *testing.T) {
	ctx, _ := linksTable(t)
	const check = "iam_root_mfa_enabled"
	var out bytes.Buffer
	cmd := testLinksCmd(&out, time.Date(2025, 5, 6, 7, 0, 0, 0, time.UTC), "carol")
	list := func(args ...string) httpapi.CheckLinks {
		t.Helper()
		out.Reset()
		if err := cmd.run(ctx, append(args, "-o", "json")); err != nil {
			t.Fatalf("links %q: %v", args, err)
		}
		var cl httpapi.CheckLinks
		if err := json.Unmarshal(out.Bytes(), &cl); err != nil {
			t.Fatalf("%v in %s", err, out.String())
		}
		return cl
	}
	before := list("list", check)
	if len(before.Links) == 0 || len(before.Corrections) != 0 {
		t.Fatalf("before any correction: %+v", before)
	}
	for i, l := range before.Links {
		if l.Origin != citadel.LinkImported || l.Rank != i+1 || !strings.HasPrefix(l.Explanation, "imported: frameworks ") || l.Correction != nil {
			t.Errorf("imported link %d: %+v", i, l)
		}
	}

	after := list("add", check, "IAC-10", "--reason", "root's access keys too")
	wantManual := citadel.EffectiveLink{
		CheckSCFLink: citadel.CheckSCFLink{CheckID: check, SCFID: "IAC-10", Rank: 1},
		Origin:       citadel.LinkManual,
		Explanation:  "manual: added by carol on 2025-05-06: root's access keys too",
		Correction: &citadel.LinkCorrection{CheckID: check, SCFID: "IAC-10", Action: citadel.LinkAdd,
			Reason: "root's access keys too", By: "carol", At: time.Date(2025, 5, 6, 7, 0, 0, 0, time.UTC)},
	}
	if len(after.Links) != len(before.Links)+1 {
		t.Fatalf("after add: %d links, want %d", len(after.Links), len(before.Links)+1)
	}
	if d := cmp.Diff(wantManual, after.Links[0]); d != "" {
		t.Errorf("manual link (-want +got):\n%s", d)
	}
	for i, l := range after.Links[1:] {
		want := before.Links[i]
		want.Rank = i + 2
		if d := cmp.Diff(want, l); d != "" {
			t.Errorf("imported link %d after the add (-want +got):\n%s", i, d)
		}
	}

	dropped := before.Links[0].SCFID
	after = list("remove", check, dropped, "--reason", "not this one")
	if len(after.Links) != len(before.Links) || len(after.Corrections) != 2 {
		t.Fatalf("after remove: %+v", after)
	}
	for _, l := range after.Links {
		if l.SCFID == dropped {
			t.Errorf("removed link %s is still there: %+v", dropped, l)
		}
	}
	if got := list("list", check); !cmp.Equal(got, after) {
		t.Errorf("list after remove differs from remove's answer:\n%s", cmp.Diff(after, got))
	}
}

func TestLinksBadInput(t *testing.T) {
	ctx, store := linksTable(t)
	// One correction already there: a bad command must leave it alone.
	seed := citadel.LinkCorrection{CheckID: s3Check, SCFID: "CRY-01", Action: citadel.LinkAdd, Reason: "seed", By: "seed",
		At: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := store.PutLinkCorrection(ctx, seed); err != nil {
		t.Fatal(err)
	}
	want := []citadel.LinkCorrection{seed}

	for _, tc := range []struct {
		name string
		args []string
		user string // "" for no default user
		code citadel.ErrorCode
		msg  string
	}{
		{"no subcommand", nil, "u", citadel.CodeInvalid, "links: missing subcommand"},
		{"unknown subcommand", []string{"show", s3Check}, "u", citadel.CodeInvalid, `unknown subcommand "show"`},
		{"list without a check", []string{"list"}, "u", citadel.CodeInvalid, "links list: missing CHECK_ID"},
		{"list with an extra argument", []string{"list", s3Check, "CRY-05"}, "u", citadel.CodeInvalid, `links list: unexpected argument "CRY-05" after CHECK_ID`},
		{"list an unknown check", []string{"list", "nope"}, "u", citadel.CodeNotFound, `links list: CHECK_ID "nope" is not a check`},
		{"list with a bad output", []string{"list", s3Check, "-o", "yaml"}, "u", citadel.CodeInvalid, `links list: -o "yaml": want table or json`},
		{"list with -o and no value", []string{"list", s3Check, "-o"}, "u", citadel.CodeInvalid, "links list: flag needs an argument: -o"},
		{"list with --reason", []string{"list", s3Check, "--reason", "r"}, "u", citadel.CodeInvalid, "links list: flag provided but not defined: -reason"},
		{"add without ids", []string{"add", "--reason", "r"}, "u", citadel.CodeInvalid, "links add: missing CHECK_ID"},
		{"add without an SCF id", []string{"add", s3Check, "--reason", "r"}, "u", citadel.CodeInvalid, "links add: missing SCF_ID"},
		{"add with an extra argument", []string{"add", s3Check, "CRY-05", "CRY-03", "--reason", "r"}, "u", citadel.CodeInvalid, `links add: unexpected argument "CRY-03" after CHECK_ID SCF_ID`},
		{"add with an empty check id", []string{"add", "", "CRY-05", "--reason", "r"}, "u", citadel.CodeInvalid, "links add: CHECK_ID is empty"},
		{"add without --reason", []string{"add", s3Check, "CRY-05"}, "u", citadel.CodeInvalid, "links add: --reason is required"},
		{"add with a blank reason", []string{"add", s3Check, "CRY-05", "--reason", " \t"}, "u", citadel.CodeInvalid, "links add: --reason is required"},
		{"add with --reason last", []string{"add", s3Check, "CRY-05", "--reason"}, "u", citadel.CodeInvalid, "links add: flag needs an argument: -reason"},
		{"add with a long reason", []string{"add", s3Check, "CRY-05", "--reason", strings.Repeat("é", citadel.MaxCorrectionReason+1)}, "u", citadel.CodeInvalid, "links add: --reason is 1001 characters, over 1000"},
		{"add with an unknown flag", []string{"add", s3Check, "CRY-05", "--reason", "r", "--force"}, "u", citadel.CodeInvalid, "links add: flag provided but not defined: -force"},
		{"add with an empty --by", []string{"add", s3Check, "CRY-05", "--reason", "r", "--by", ""}, "u", citadel.CodeInvalid, "links add: --by is empty"},
		{"add with no user to default to", []string{"add", s3Check, "CRY-05", "--reason", "r"}, "", citadel.CodeInvalid, "links add: --by is required"},
		{"add a malformed SCF id", []string{"add", s3Check, "cry-05", "--reason", "r"}, "u", citadel.CodeInvalid, `links add: SCF_ID "cry-05" is not an SCF control id`},
		{"add an unknown SCF control", []string{"add", s3Check, "ZZZ-01", "--reason", "r"}, "u", citadel.CodeNotFound, `links add: SCF_ID "ZZZ-01" is not a control`},
		{"add to an unknown check", []string{"add", "nope", "CRY-05", "--reason", "r"}, "u", citadel.CodeNotFound, `links add: CHECK_ID "nope" is not a check`},
		{"remove without --reason", []string{"remove", s3Check, "CRY-01", "--by", "x"}, "u", citadel.CodeInvalid, "links remove: --reason is required: say why the link is removed"},
		{"remove from an unknown check", []string{"remove", "nope", "CRY-01", "--reason", "r"}, "u", citadel.CodeNotFound, `links remove: CHECK_ID "nope" is not a check`},
		{"remove an unknown SCF control", []string{"remove", s3Check, "ZZZ-01", "--reason", "r"}, "u", citadel.CodeNotFound, `links remove: SCF_ID "ZZZ-01" is not a control`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			cmd := testLinksCmd(&out, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), tc.user)
			if tc.user == "" {
				cmd.user = func() (string, error) { return "", errors.New("no user") }
			}
			err := cmd.run(ctx, tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.msg) || citadel.CodeOf(err) != tc.code {
				t.Errorf("links %q: error %v (%s), want %s containing %q", tc.args, err, citadel.CodeOf(err), tc.code, tc.msg)
			}
			if out.Len() != 0 {
				t.Errorf("printed on error: %s", out.String())
			}
			got, err := store.ListLinkCorrections(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("corrections written (-want +got):\n%s", d)
			}
		})
	}
}

// parseLinksArgs takes the flags before, between or after the ids.
func TestParseLinksArgs(t *testing.T) {
	want := linksArgs{sub: "add", checkID: "c", scfID: "CRY-05", output: "json", reason: "why", by: "ann", bySet: true}
	for _, args := range [][]string{
		{"c", "CRY-05", "--reason", "why", "--by", "ann", "-o", "json"},
		{"--reason", "why", "--by=ann", "-o=json", "c", "CRY-05"},
		{"c", "-reason", "why", "CRY-05", "-by", "ann", "-o", "json"},
		{"-o", "json", "--reason", "why", "-by", "ann", "--", "c", "CRY-05"},
	} {
		got, err := parseLinksArgs("add", args)
		if err != nil {
			t.Errorf("%q: %v", args, err)
			continue
		}
		if d := cmp.Diff(want, got, cmp.AllowUnexported(linksArgs{})); d != "" {
			t.Errorf("%q (-want +got):\n%s", args, d)
		}
	}
	// After "--" all is ids: "-o" is the SCF_ID, and a malformed one.
	if _, err := parseLinksArgs("add", []string{"--reason", "r", "--", "c", "-o"}); err == nil || !strings.Contains(err.Error(), `SCF_ID "-o" is not an SCF control id`) {
		t.Errorf(`"-o" after "--": %v`, err)
	}
	got, err := parseLinksArgs("list", []string{"c"})
	if d := cmp.Diff(linksArgs{sub: "list", checkID: "c", output: "table"}, got, cmp.AllowUnexported(linksArgs{})); err != nil || d != "" {
		t.Errorf("list defaults: %v (-want +got):\n%s", err, d)
	}
}

// captureStdout runs f with os.Stdout going to a pipe and returns what it
// printed.
func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	orig := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); done <- b }()
	defer func() { os.Stdout = orig }()
	f()
	w.Close()
	return string(<-done)
}

// Help never needs the table: usage on stdout, no error (exit 0).
func TestLinksHelp(t *testing.T) {
	t.Setenv("CITADEL_TABLE", "no-such-table")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // nothing listens: a store call would fail
	for _, args := range [][]string{
		{"links", "-h"},
		{"links", "--help"},
		{"links", "help"},
		{"links", "list", "-h"},
		{"links", "list", s3Check, "--help"},
		{"links", "add", "--help"},
		{"links", "add", s3Check, "CRY-05", "--reason", "r", "-h"},
		{"links", "remove", "-h"},
		{"links", "remove", s3Check, "--help", "CRY-05"},
	} {
		var err error
		got := captureStdout(t, func() { err = run(context.Background(), args, os.Stdout) })
		if err != nil || got != linksUsage {
			t.Errorf("%q: error %v, printed %q", args, err, got)
		}
	}
	usage := captureStdout(t, func() { _ = run(context.Background(), []string{"help"}, os.Stdout) })
	if !strings.Contains(usage, "\n  links ") {
		t.Errorf("citadel's usage does not list links:\n%s", usage)
	}
	if err := run(context.Background(), []string{"links"}, os.Stdout); err == nil {
		t.Error("links without a subcommand: no error")
	}
}
