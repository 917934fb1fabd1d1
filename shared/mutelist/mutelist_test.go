package mutelist

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/golden"
)

var (
	t0     = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	target = Target{IntegrationID: "int-acme", AccountID: "111122223333", Owner: "platform team",
		ExpiresAt: t0.Add(90 * 24 * time.Hour), Source: "mixed.yaml", Now: t0}
)

func parse(t *testing.T, text string) File {
	t.Helper()
	f, err := Parse(strings.NewReader(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

// TestTranslateGolden: every kind of entry of a mutelist, in the file's
// order, as pieces (testdata/*.yaml → *.json).
func TestTranslateGolden(t *testing.T) {
	for _, name := range []string{"mixed"} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			pieces := Translate(parse(t, string(raw)), target)
			Dedupe(pieces, nil, t0)
			b, err := json.MarshalIndent(pieces, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, name+".json", append(b, '\n'))
		})
	}
}

// TestTranslateRules: one entry at a time, each rule of the mapping: what
// becomes of it, the scope it asks for, or why it is refused.
func TestTranslateRules(t *testing.T) {
	entry := func(account, check, body string) string {
		return "Mutelist:\n  Accounts:\n    \"" + account + "\":\n      Checks:\n        \"" + check + "\":\n" + body
	}
	all := "          Regions: [\"*\"]\n          Resources: [\"*\"]\n"
	for name, tc := range map[string]struct {
		yaml   string
		action []Action
		scope  []citadel.ExceptionScope // of the requests, in order
		reason string                   // in the first refused piece
	}{
		"every asset": {yaml: entry("111122223333", "iam_root_mfa_enabled", all),
			action: []Action{ActionRequest}, scope: []citadel.ExceptionScope{{Kind: citadel.ScopeIntegration}}},
		"every account": {yaml: entry("*", "iam_root_mfa_enabled", all),
			action: []Action{ActionRequest}, scope: []citadel.ExceptionScope{{Kind: citadel.ScopeIntegration}}},
		"another account": {yaml: entry("999999999999", "iam_root_mfa_enabled", all),
			action: []Action{ActionOtherAccount}},
		"every check":     {yaml: entry("*", "*", all), action: []Action{ActionRefused}, reason: `check "*" mutes every check`},
		"a check pattern": {yaml: entry("*", "s3_.*", all), action: []Action{ActionRefused}, reason: `check "s3_.*" is a pattern`},
		"a dotted check":  {yaml: entry("*", "s3.bucket", all), action: []Action{ActionRefused}, reason: "is a pattern"},
		"lambda is awslambda": {yaml: entry("*", "lambda_function_url_public", all), action: []Action{ActionRequest},
			scope: []citadel.ExceptionScope{{Kind: citadel.ScopeIntegration}}},
		"an exact ARN": {yaml: entry("*", "s3_bucket_default_encryption", "          Regions: [\"*\"]\n          Resources: [\"arn:aws:s3:::b\"]\n"),
			action: []Action{ActionRequest}, scope: []citadel.ExceptionScope{{Kind: citadel.ScopeAsset, AssetARN: "arn:aws:s3:::b"}}},
		"an ARN in a listed region": {yaml: entry("*", "ec2_instance_imdsv2_enabled",
			"          Regions: [\"us-east\"]\n          Resources: [\"arn:aws:ec2:us-east-2:111122223333:instance/i-1\"]\n"),
			action: []Action{ActionRequest}, scope: []citadel.ExceptionScope{{Kind: citadel.ScopeAsset, AssetARN: "arn:aws:ec2:us-east-2:111122223333:instance/i-1"}}},
		"an ARN outside the regions": {yaml: entry("*", "ec2_instance_imdsv2_enabled",
			"          Regions: [\"eu-west-1\"]\n          Resources: [\"arn:aws:ec2:us-east-2:111122223333:instance/i-1\"]\n"),
			action: []Action{ActionRefused}, reason: "the entry never mutes it"},
		"a region pattern": {yaml: entry("*", "ec2_instance_imdsv2_enabled",
			"          Regions: [\"us-.+\"]\n          Resources: [\"arn:aws:ec2:us-east-2:111122223333:instance/i-1\"]\n"),
			action: []Action{ActionRefused}, reason: "hold a pattern"},
		"a global ARN, regions limited": {yaml: entry("*", "iam_user_mfa_enabled_console_access",
			"          Regions: [\"us-east-1\"]\n          Resources: [\"arn:aws:iam::111122223333:user/u\"]\n"),
			action: []Action{ActionRefused}, reason: "names no region"},
		"another account's ARN": {yaml: entry("*", "s3_bucket_default_encryption", "          Regions: [\"*\"]\n          Resources: [\"arn:aws:ec2:us-east-1:999999999999:volume/vol-1\"]\n"),
			action: []Action{ActionRefused}, reason: "the ARN is of account 999999999999"},
		"a name": {yaml: entry("*", "s3_bucket_default_encryption", "          Regions: [\"*\"]\n          Resources: [\"logs\"]\n"),
			action: []Action{ActionRefused}, reason: `"logs" is not an ARN`},
		"an ARN pattern": {yaml: entry("*", "s3_bucket_default_encryption", "          Regions: [\"*\"]\n          Resources: [\"arn:aws:s3:::logs-.+\"]\n"),
			action: []Action{ActionRefused}, reason: "is a pattern"},
		"every asset, regions limited": {yaml: entry("*", "s3_bucket_default_encryption", "          Regions: [\"eu-west-1\"]\n          Resources: [\"*\"]\n"),
			action: []Action{ActionRefused}, reason: "it would cover every region"},
		"a tag": {yaml: entry("*", "s3_bucket_default_encryption", all+"          Tags: [\"env=dev\"]\n"),
			action: []Action{ActionRequest}, scope: []citadel.ExceptionScope{{Kind: citadel.ScopeTag, TagKey: "env", TagValue: "dev"}}},
		"a star tag is no tag": {yaml: entry("*", "s3_bucket_default_encryption", all+"          Tags: [\"*\"]\n"),
			action: []Action{ActionRequest}, scope: []citadel.ExceptionScope{{Kind: citadel.ScopeIntegration}}},
		"tag alternatives": {yaml: entry("*", "s3_bucket_default_encryption", all+"          Tags: [\"env=dev|env=test\"]\n"),
			action: []Action{ActionRequest, ActionRequest},
			scope:  []citadel.ExceptionScope{{Kind: citadel.ScopeTag, TagKey: "env", TagValue: "dev"}, {Kind: citadel.ScopeTag, TagKey: "env", TagValue: "test"}}},
		"tags ANDed": {yaml: entry("*", "s3_bucket_default_encryption", all+"          Tags: [\"env=dev\", \"team=a\"]\n"),
			action: []Action{ActionRefused}, reason: "must all hold"},
		"a tag pattern": {yaml: entry("*", "s3_bucket_default_encryption", all+"          Tags: [\"env=dev.*\"]\n"),
			action: []Action{ActionRefused}, reason: `tag "env=dev.*" is a pattern`},
		"a tag of any value": {yaml: entry("*", "s3_bucket_default_encryption", all+"          Tags: [\"env=\"]\n"),
			action: []Action{ActionRefused}, reason: "has no value"},
		"a tag without =": {yaml: entry("*", "s3_bucket_default_encryption", all+"          Tags: [\"env\"]\n"),
			action: []Action{ActionRefused}, reason: "is not key=value"},
		"an ARN with a tag": {yaml: entry("*", "s3_bucket_default_encryption", "          Regions: [\"*\"]\n          Resources: [\"arn:aws:s3:::b\"]\n          Tags: [\"env=dev\"]\n"),
			action: []Action{ActionRefused}, reason: "Resources and Tags must both hold"},
		"a star covers the rest": {yaml: entry("*", "s3_bucket_default_encryption", "          Regions: [\"*\"]\n          Resources: [\"arn:aws:s3:::b\", \"*\"]\n"),
			action: []Action{ActionDuplicate, ActionRequest}, scope: []citadel.ExceptionScope{{Kind: citadel.ScopeIntegration}}},
		"a refused star covers nothing": {yaml: entry("*", "ec2_instance_imdsv2_enabled",
			"          Regions: [\"us-east-2\"]\n          Resources: [\"*\", \"arn:aws:ec2:us-east-2:111122223333:instance/i-1\"]\n"),
			action: []Action{ActionRefused, ActionRequest},
			scope:  []citadel.ExceptionScope{{Kind: citadel.ScopeAsset, AssetARN: "arn:aws:ec2:us-east-2:111122223333:instance/i-1"}}, reason: "every region"},
		"no regions": {yaml: entry("*", "s3_bucket_default_encryption", "          Regions: []\n          Resources: [\"*\"]\n"),
			action: []Action{ActionRefused}, reason: "Regions is empty"},
		"no resources": {yaml: entry("*", "s3_bucket_default_encryption", "          Regions: [\"*\"]\n          Resources: []\n"),
			action: []Action{ActionRefused}, reason: "Resources is empty"},
		"empty exceptions": {yaml: entry("*", "s3_bucket_default_encryption", all+"          Exceptions:\n            Regions: []\n"),
			action: []Action{ActionRequest}, scope: []citadel.ExceptionScope{{Kind: citadel.ScopeIntegration}}},
		"exceptions of other accounts": {yaml: entry("*", "s3_bucket_default_encryption", all+"          Exceptions:\n            Accounts: [\"444455556666\"]\n            Regions: [\"eu-west-1\"]\n"),
			action: []Action{ActionRequest}, scope: []citadel.ExceptionScope{{Kind: citadel.ScopeIntegration}}},
		"exceptions of this account": {yaml: entry("*", "s3_bucket_default_encryption", all+"          Exceptions:\n            Accounts: [\"111122223333\"]\n            Regions: [\"eu-west-1\"]\n"),
			action: []Action{ActionRefused}, reason: `its Exceptions carve Accounts ["111122223333"], Regions ["eu-west-1"] out`},
		"exceptions of an account pattern": {yaml: entry("*", "s3_bucket_default_encryption", all+"          Exceptions:\n            Accounts: [\"1111.*\"]\n"),
			action: []Action{ActionRefused}, reason: "carve"},
		"exceptions of resources": {yaml: entry("*", "s3_bucket_default_encryption", all+"          Exceptions:\n            Resources: [\"arn:aws:s3:::keep\"]\n"),
			action: []Action{ActionRefused}, reason: "an exception has no carve-outs"},
		"a tag key too long": {yaml: entry("*", "s3_bucket_default_encryption", all+"          Tags: [\""+strings.Repeat("k", 129)+"=v\"]\n"),
			action: []Action{ActionRefused}, reason: "scope.tag_key is over 128 characters"},
	} {
		t.Run(name, func(t *testing.T) {
			pieces := Translate(parse(t, tc.yaml), target)
			var actions []Action
			var scopes []citadel.ExceptionScope
			reason := ""
			for _, p := range pieces {
				actions = append(actions, p.Action)
				if p.Request != nil {
					scopes = append(scopes, p.Request.Scope)
				}
				if p.Action == ActionRefused && reason == "" {
					reason = p.Reason
				}
			}
			if d := cmp.Diff(tc.action, actions); d != "" {
				t.Errorf("actions (-want +got):\n%s\n%+v", d, pieces)
			}
			if d := cmp.Diff(tc.scope, scopes); d != "" {
				t.Errorf("scopes (-want +got):\n%s", d)
			}
			if !strings.Contains(reason, tc.reason) || (tc.reason == "") != (reason == "") {
				t.Errorf("reason %q, want %q", reason, tc.reason)
			}
		})
	}
}

// TestTranslateRequest: a request carries the integration, the check as
// Prowler reads it, the owner, the expiry and a justification that says
// where it comes from.
func TestTranslateRequest(t *testing.T) {
	f := parse(t, "Mutelist:\n  Accounts:\n    \"*\":\n      Checks:\n        lambda_function_url_public:\n"+
		"          Regions: [\"*\"]\n          Resources: [\"*\"]\n          Description: \"  edge functions are public by design \"\n")
	tg := target
	tg.JustificationPrefix = "RISK-12:"
	p := Translate(f, tg)
	want := &citadel.ExceptionRequest{IntegrationID: "int-acme", CheckID: "awslambda_function_url_public",
		Scope: citadel.ExceptionScope{Kind: citadel.ScopeIntegration}, Owner: "platform team", ExpiresAt: tg.ExpiresAt,
		Justification: "RISK-12: edge functions are public by design (muted in Prowler mutelist mixed.yaml line 5: account *, check lambda_function_url_public)"}
	if len(p) != 1 || p[0].Check != "lambda_function_url_public" {
		t.Fatalf("pieces: %+v", p)
	}
	if d := cmp.Diff(want, p[0].Request); d != "" {
		t.Errorf("request (-want +got):\n%s", d)
	}
	// A description too long for the bound is cut, the source kept.
	f.Entries[0].Description = strings.Repeat("x", 3000)
	r := Translate(f, tg)[0].Request
	if n := len([]rune(r.Justification)); n != citadel.MaxExceptionJustification || !strings.HasSuffix(r.Justification, "…"+
		" (muted in Prowler mutelist mixed.yaml line 5: account *, check lambda_function_url_public)") {
		t.Errorf("a long justification: %d runes, ends %q", n, r.Justification[len(r.Justification)-100:])
	}
	// An expiry the domain refuses refuses every request.
	tg.ExpiresAt = t0.Add(-time.Hour)
	if p := Translate(f, tg)[0]; p.Action != ActionRefused || !strings.Contains(p.Reason, "is not in the future") {
		t.Errorf("an expiry in the past: %+v", p)
	}
}

// TestDedupe: a live exception of the same check and scope is present; a
// final one, or one past its expiry, is not; a second piece asking for
// the same is a duplicate of the first.
func TestDedupe(t *testing.T) {
	asset := citadel.ExceptionScope{Kind: citadel.ScopeAsset, AssetARN: "arn:aws:s3:::b"}
	req := func(line int, check string, s citadel.ExceptionScope) Piece {
		return Piece{Line: line, Action: ActionRequest, Request: &citadel.ExceptionRequest{CheckID: check, Scope: s}}
	}
	pieces := []Piece{
		req(1, "c1", asset),
		req(2, "c1", citadel.ExceptionScope{Kind: citadel.ScopeIntegration}),
		req(3, "c2", asset),
		req(4, "c3", asset),
		req(5, "c1", citadel.ExceptionScope{Kind: citadel.ScopeIntegration}),
		{Line: 6, Action: ActionRefused},
	}
	later := t0.Add(time.Hour)
	withID := asset
	withID.AssetID = citadel.AssetID("int-acme", citadel.SourceAWS, asset.AssetARN)
	live := []citadel.Exception{
		{ID: "exc-1", CheckID: "c1", Scope: withID, Status: citadel.ExceptionApproved, ExpiresAt: later},
		{ID: "exc-2", CheckID: "c2", Scope: asset, Status: citadel.ExceptionRevoked, ExpiresAt: later},
		{ID: "exc-3", CheckID: "c3", Scope: asset, Status: citadel.ExceptionRequested, ExpiresAt: t0},
	}
	Dedupe(pieces, live, t0)
	got := make([]string, len(pieces))
	for i, p := range pieces {
		got[i] = string(p.Action) + " " + p.ExceptionID + " " + p.Reason
	}
	want := []string{"present exc-1 already approved as exc-1", "request  ", "request  ", "request  ",
		"duplicate  the same exception as line 2's", "refused  "}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	s := Summarize(pieces)
	if s[ActionRequest] != 3 || s.NotImported() != 1 || s[ActionPresent] != 1 {
		t.Errorf("summary %v", s)
	}
}

// TestParseRefuses: what Prowler's schema refuses is an invalid error
// naming the line.
func TestParseRefuses(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"empty":              {"", "the file is empty"},
		"not YAML":           {"Mutelist: [", "not YAML"},
		"a list":             {"- a\n", "the document must be a mapping"},
		"no Mutelist":        {"Allowlist: {}\n", "line 1: the document has no top-level Mutelist key"},
		"no Accounts":        {"Mutelist: {}\n", "Mutelist has no Accounts"},
		"an unknown key":     {"Mutelist:\n  Accounts: {}\n  Checks: {}\n", `line 3: Mutelist: unknown key "Checks"`},
		"no Checks":          {"Mutelist:\n  Accounts:\n    \"*\": {}\n", `account "*" has no Checks`},
		"no Regions":         {"Mutelist:\n  Accounts:\n    \"*\":\n      Checks:\n        c:\n          Resources: [\"*\"]\n", "has no Regions"},
		"Regions not a list": {"Mutelist:\n  Accounts:\n    \"*\":\n      Checks:\n        c:\n          Regions: \"*\"\n          Resources: [\"*\"]\n", "line 6: account \"*\" check \"c\" Regions must be a list"},
		"a null item":        {"Mutelist:\n  Accounts:\n    \"*\":\n      Checks:\n        c:\n          Regions: [~]\n          Resources: [\"*\"]\n", "every item must be a string"},
		"an unknown field":   {"Mutelist:\n  Accounts:\n    \"*\":\n      Checks:\n        c:\n          Regions: [\"*\"]\n          Resources: [\"*\"]\n          Region: []\n", `unknown key "Region"`},
		"a repeated check":   {"Mutelist:\n  Accounts:\n    \"*\":\n      Checks:\n        c: {Regions: [\"*\"], Resources: [\"*\"]}\n        c: {Regions: [\"*\"], Resources: [\"*\"]}\n", `key "c" is repeated`},
		"bad Exceptions":     {"Mutelist:\n  Accounts:\n    \"*\":\n      Checks:\n        c: {Regions: [\"*\"], Resources: [\"*\"], Exceptions: {Checks: []}}\n", `Exceptions: unknown key "Checks"`},
		"a Description list": {"Mutelist:\n  Accounts:\n    \"*\":\n      Checks:\n        c: {Regions: [\"*\"], Resources: [\"*\"], Description: [a]}\n", "Description must be a string"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) || citadel.CodeOf(err) != citadel.CodeInvalid {
				t.Errorf("Parse: %v, want an invalid error with %q", err, tc.want)
			}
		})
	}
}

// TestParse: entries in the file's order with their lines, unquoted
// account ids as written, aliases followed.
func TestParse(t *testing.T) {
	f := parse(t, `Mutelist:
  Accounts:
    111122223333:
      Checks:
        b_check:
          Regions: &all ["*"]
          Resources: ["*"]
        a_check:
          Regions: *all
          Resources: ["arn:aws:s3:::x"]
          Tags: ["k=v"]
          Exceptions: {Accounts: ["444455556666"]}
          Description: why
`)
	want := File{Entries: []Entry{
		{Line: 5, Account: "111122223333", Check: "b_check", Regions: []string{"*"}, Resources: []string{"*"}},
		{Line: 8, Account: "111122223333", Check: "a_check", Regions: []string{"*"}, Resources: []string{"arn:aws:s3:::x"},
			Tags: []string{"k=v"}, Exceptions: Carveouts{Accounts: []string{"444455556666"}}, Description: "why"},
	}}
	if d := cmp.Diff(want, f); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
