package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/httpapi"
	"github.com/citadelsecure/citadel/shared/mutelist"
	"github.com/citadelsecure/citadel/shared/testkit/golden"
)

var excT0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

const (
	excIntegration = "int-acme"
	excLogs        = "arn:aws:s3:::acme-logs"
	excArchive     = "arn:aws:s3:::acme-archive"
	excBob         = "arn:aws:iam::123456789012:user/bob"
)

// excEnv is newOrgCLIEnv's deployment on a pinned clock (the API's and the
// CLI's) with ids exc-0001, exc-0002 ...; integration int-acme of account
// 111122223333 with two buckets; and bob, a second caller at bobAPI, to
// decide what alice (the stack's caller) requests.
type excEnv struct {
	*cliEnv
	bobAPI string
}

func newExcEnv(t *testing.T) excEnv {
	t.Helper()
	var n atomic.Int64
	e := newOrgCLIEnv(t, func(s *httpapi.Server) {
		s.Clock = func() time.Time { return excT0 }
		s.NewID = func(prefix string, _ time.Time) string { return fmt.Sprintf("%s-%04d", prefix, n.Add(1)) }
	})
	clock := cliClock
	cliClock = func() time.Time { return excT0 }
	t.Cleanup(func() { cliClock = clock })
	in := citadel.Integration{ID: excIntegration, FolderID: "fld-org", Name: "Acme", AccountID: "111122223333",
		RoleARN: "arn:aws:iam::111122223333:role/" + DefaultScannerRole, ExternalID: "citadel-00112233445566778899aabbccddeeff",
		Regions: []string{"us-east-1"}, Frameworks: []string{"soc2"}, CreatedAt: excT0, UpdatedAt: excT0}
	if err := e.store.CreateIntegration(e.ctx, in); err != nil {
		t.Fatal(err)
	}
	var assets []citadel.Asset
	for _, arn := range []string{excLogs, excArchive} {
		assets = append(assets, citadel.Asset{IntegrationID: in.ID, Source: citadel.SourceAWS, SourceID: arn, ServiceType: "AWS::S3::Bucket",
			Name: strings.TrimPrefix(arn, "arn:aws:s3:::"), Region: "us-east-1", AccountID: in.AccountID, IsActive: true, FirstSeen: excT0, LastSeen: excT0})
	}
	if err := e.store.PutAssets(e.ctx, assets); err != nil {
		t.Fatal(err)
	}
	bob := &gateway{t: t, creds: e.gw.creds, region: e.gw.region, caller: excBob, adapter: e.gw.adapter}
	return excEnv{cliEnv: e, bobAPI: serveGateway(t, bob)}
}

// asBob runs a command as bob.
func (e excEnv) asBob(args ...string) []string { return append(args, "--api", e.bobAPI) }

// TestExceptionsCommands: an exception of each scope requested, listed
// and shown; approved, rejected and revoked by another caller with notes,
// as the history shows; every refusal with its exit code: bad flags before
// any request, the API's words after.
func TestExceptionsCommands(t *testing.T) {
	e := newExcEnv(t)
	req := []string{"exceptions", "request", "--integration", excIntegration, "--check", s3Check,
		"--justification", "encrypted by the log pipeline", "--owner", "platform team"}
	with := func(extra ...string) []string { return append(append([]string{}, req...), extra...) }

	golden.Check(t, "exc_request.txt", []byte(e.must(t, with("--asset", excLogs, "--expires", "30d")...)))
	e.must(t, with("--all-assets", "--expires", "2027-03-01")...)
	out := e.must(t, with("--tag", "env=dev", "--expires", "2027-01-15T12:00:00Z", "-o", "json")...)
	var tagged citadel.Exception
	if err := json.Unmarshal([]byte(out), &tagged); err != nil || tagged.ID != "exc-0003" || tagged.Scope.TagKey != "env" ||
		!tagged.ExpiresAt.Equal(time.Date(2027, 1, 15, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("request -o json: %+v (%v)", tagged, err)
	}

	// The requester may not decide; bob may.
	e.exits(t, ExitNotAllowed, "its requester may not approve it", "exceptions", "approve", "exc-0001")
	contains(t, "approve", e.must(t, e.asBob("exceptions", "approve", "exc-0001", "--note", "the pipeline's key policy checked")...),
		"exception exc-0001 approved by "+excBob)
	contains(t, "reject", e.must(t, e.asBob("exceptions", "reject", "exc-0002")...), "exception exc-0002 rejected by "+excBob)
	e.exits(t, ExitConflict, "an exception requested cannot revoke", "exceptions", "revoke", "exc-0003")
	contains(t, "revoke", e.must(t, "exceptions", "revoke", "exc-0001", "--note", "the pipeline moved"),
		"exception exc-0001 revoked by arn:aws:iam::123456789012:user/alice")
	e.exits(t, ExitConflict, "revoked is final", "exceptions", "approve", "exc-0001", "--api", e.bobAPI)

	golden.Check(t, "exc_show.txt", []byte(e.must(t, "exceptions", "show", "exc-0001")))
	golden.Check(t, "exc_list.txt", []byte(e.must(t, "exceptions", "list", "--integration", excIntegration)))
	queue := e.must(t, "exceptions", "list", "--folder", "fld-org", "--status", "requested", "-o", "json")
	var p citadel.Page[citadel.Exception]
	if err := json.Unmarshal([]byte(queue), &p); err != nil || len(p.Items) != 1 || p.Items[0].ID != "exc-0003" {
		t.Errorf("the review queue: %s (%v)", queue, err)
	}

	// Bad flags are refused before any request.
	before := e.gw.verified.Load()
	for name, tc := range map[string]struct {
		want string
		args []string
	}{
		"no scope":           {"give one scope", with("--expires", "30d")},
		"two scopes":         {"give one scope", with("--all-assets", "--asset", excLogs, "--expires", "30d")},
		"a tag without =":    {`--tag "env" must be KEY=VALUE`, with("--tag", "env", "--expires", "30d")},
		"no owner":           {"--owner is required", with("--owner", " ", "--all-assets", "--expires", "30d")},
		"no expiry":          {"--expires is required", with("--all-assets")},
		"a past date":        {"--expires 2026-11-30 is not in the future", with("--all-assets", "--expires", "2026-11-30")},
		"zero days":          {"from 1 to 3650", with("--all-assets", "--expires", "0d")},
		"not a date":         {"must be a date (YYYY-MM-DD)", with("--all-assets", "--expires", "soon")},
		"a bad integration":  {`--integration "a/b" must match`, with("--integration", "a/b", "--all-assets", "--expires", "30d")},
		"a long owner":       {"owner is over 256 characters", with("--owner", strings.Repeat("o", 257), "--all-assets", "--expires", "30d")},
		"a control char":     {"scope.asset_arn must be at most", with("--asset", "arn:aws:s3:::a\x01", "--expires", "30d")},
		"list both":          {"--integration or --folder, not both", []string{"exceptions", "list", "--integration", "a", "--folder", "b"}},
		"list a bad status":  {`--status "open" must be one of`, []string{"exceptions", "list", "--status", "open"}},
		"a long note":        {"--note is 1001 characters, over 1000", []string{"exceptions", "approve", "exc-0003", "--note", strings.Repeat("n", 1001)}},
		"show no id":         {"needs ID", []string{"exceptions", "show"}},
		"an unknown command": {`unknown command "grant"`, []string{"exceptions", "grant"}},
	} {
		t.Run(name, func(t *testing.T) { e.exits(t, ExitUsage, tc.want, tc.args...) })
	}
	if n := e.gw.verified.Load() - before; n != 0 {
		t.Errorf("%d requests made by refused command lines", n)
	}
	// The API's refusals, in its words.
	e.exits(t, ExitNotFound, "exc-nope", "exceptions", "show", "exc-nope")
	e.exits(t, ExitNotFound, "check nope_check", "exceptions", "request", "--integration", excIntegration, "--check", "nope_check",
		"--all-assets", "--justification", "j", "--owner", "o", "--expires", "30d")
	e.exits(t, ExitNotFound, "is not an asset of integration int-acme", with("--asset", "arn:aws:s3:::acme-gone", "--expires", "30d")...)
	e.exits(t, ExitUsage, "more than 365 days ahead", with("--all-assets", "--expires", "400d")...)
}

// TestExceptionsImportMutelist: a Prowler mutelist imported into an
// integration: a dry run requests nothing; the import requests what it
// expresses exactly, skips the exception requested by hand before, reports
// the rest with its reasons and exits 7; a second run requests nothing
// again; the exceptions are then listed.
func TestExceptionsImportMutelist(t *testing.T) {
	e := newExcEnv(t)
	e.must(t, "exceptions", "request", "--integration", excIntegration, "--check", s3Check, "--asset", excArchive,
		"--justification", "archive: the pipeline's key", "--owner", "platform team", "--expires", "60d")
	file := filepath.Join("testdata", "mutelist_import.yaml")
	imp := []string{"exceptions", "import-mutelist", file, "--integration", excIntegration, "--owner", "platform team",
		"--expires", "90d", "--justification-prefix", "RISK-7:"}
	run := func(extra ...string) string {
		t.Helper()
		out, err := e.cli(t, append(append([]string{}, imp...), extra...)...)
		if code := exitCode(err); code != ExitIncomplete || !strings.Contains(err.Error(), "were not imported") {
			t.Errorf("import %v: exit %d (%v), want %d", extra, code, err, ExitIncomplete)
		}
		return out
	}
	count := func() int {
		p, err := e.store.ListExceptionsOfIntegration(e.ctx, excIntegration, "", 100, "")
		if err != nil {
			t.Fatal(err)
		}
		return len(p.Items)
	}

	golden.Check(t, "exc_import_dry.txt", []byte(run("--dry-run")))
	if n := count(); n != 1 {
		t.Errorf("a dry run made exceptions: %d", n)
	}
	golden.Check(t, "exc_import.txt", []byte(run()))
	if n := count(); n != 5 {
		t.Errorf("after the import: %d exceptions, want 5 (one by hand, four imported)", n)
	}
	got, err := e.store.GetException(e.ctx, "exc-0002")
	want := "RISK-7: Log buckets are encrypted by the log pipeline (muted in Prowler mutelist mutelist_import.yaml line 7: account 111122223333, check s3_bucket_default_encryption)"
	if err != nil || got.Justification != want || got.Owner != "platform team" || !got.ExpiresAt.Equal(excT0.Add(90*24*time.Hour)) ||
		got.RequestedBy != e.gw.caller || got.Scope != (citadel.ExceptionScope{Kind: citadel.ScopeAsset, AssetARN: excLogs,
		AssetID: citadel.AssetID(excIntegration, citadel.SourceAWS, excLogs)}) {
		t.Errorf("an imported exception: %+v (%v)", got, err)
	}
	out := run("-o", "json")
	var rep importReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("-o json: %v\n%s", err, out)
	}
	s := rep.Summary
	if s[mutelist.ActionPresent] != 5 || s[mutelist.ActionRequested] != 0 || s[mutelist.ActionFailed] != 1 || s[mutelist.ActionRefused] != 3 ||
		s[mutelist.ActionOtherAccount] != 1 || rep.AccountID != "111122223333" || count() != 5 {
		t.Errorf("a second import: %v, %d exceptions", s, count())
	}
	golden.Check(t, "exc_import_list.txt", []byte(e.must(t, "exceptions", "list", "--integration", excIntegration)))

	// What is refused before any request: a missing flag, no file, a file
	// that is not a mutelist; an unknown integration is the API's 404.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("Mutelist:\n  Accounts:\n    \"*\":\n      Checks:\n        c: {Resources: [\"*\"]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := e.gw.verified.Load()
	e.exits(t, ExitUsage, "--owner is required", "exceptions", "import-mutelist", file, "--integration", excIntegration, "--expires", "30d")
	e.exits(t, ExitUsage, "no-such.yaml", "exceptions", "import-mutelist", "no-such.yaml", "--integration", excIntegration, "--owner", "o", "--expires", "30d")
	e.exits(t, ExitUsage, "mutelist line 5: account \"*\" check \"c\" has no Regions", "exceptions", "import-mutelist", bad,
		"--integration", excIntegration, "--owner", "o", "--expires", "30d")
	e.exits(t, ExitUsage, "needs FILE", "exceptions", "import-mutelist", "--integration", excIntegration, "--owner", "o", "--expires", "30d")
	if n := e.gw.verified.Load() - before; n != 0 {
		t.Errorf("%d requests made by refused command lines", n)
	}
	e.exits(t, ExitNotFound, "int-nope", "exceptions", "import-mutelist", file, "--integration", "int-nope", "--owner", "o", "--expires", "30d")
}
