package citadel_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func validIntegration() citadel.Integration {
	return citadel.Integration{ID: "int-1", FolderID: "f1", AccountID: "123456789012",
		RoleARN: "arn:aws:iam::123456789012:role/CitadelScanner", ExternalID: "ext-1234",
		Regions: []string{"us-east-1"}, ScheduleExpression: "cron(0 3 * * ? *)"}
}

func TestIntegrationValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*citadel.Integration)
		want   string // substring of the error, "" for valid
	}{
		{"valid", func(*citadel.Integration) {}, ""},
		{"no role is fine", func(i *citadel.Integration) { i.RoleARN, i.ExternalID = "", "" }, ""},
		{"rate schedule", func(i *citadel.Integration) { i.ScheduleExpression = "rate(12 hours)" }, ""},
		{"missing account", func(i *citadel.Integration) { i.AccountID = "" }, "account_id"},
		{"short account", func(i *citadel.Integration) { i.AccountID = "1234" }, "12 digits"},
		{"malformed role", func(i *citadel.Integration) { i.RoleARN = "arn:aws:iam::123:user/x" }, "not an IAM role ARN"},
		{"role in another account", func(i *citadel.Integration) { i.RoleARN = "arn:aws:iam::999999999999:role/x" }, "not in the integration's account"},
		{"bad region", func(i *citadel.Integration) { i.Regions = []string{"mars-1"} }, "region \"mars-1\""},
		{"repeated region", func(i *citadel.Integration) { i.Regions = []string{"us-east-1", "us-east-1"} }, "must not repeat"},
		{"region of the right shape that AWS lacks", func(i *citadel.Integration) { i.Regions = []string{"us-east-1", "us-east-9"} }, `region "us-east-9" is not an AWS region name`},
		{"isolated partition", func(i *citadel.Integration) { i.Regions = []string{"us-iso-east-1"} }, `region "us-iso-east-1"`},
		{"China with a China role", func(i *citadel.Integration) {
			i.Regions, i.RoleARN = []string{"cn-north-1", "cn-northwest-1"}, "arn:aws-cn:iam::123456789012:role/CitadelScanner"
		}, ""},
		{"GovCloud with a GovCloud role", func(i *citadel.Integration) {
			i.Regions, i.RoleARN = []string{"us-gov-west-1"}, "arn:aws-us-gov:iam::123456789012:role/CitadelScanner"
		}, ""},
		{"China region, commercial role", func(i *citadel.Integration) { i.Regions = []string{"cn-north-1"} },
			"role_arn is in partition aws, but region cn-north-1 is in partition aws-cn"},
		{"commercial region, China role", func(i *citadel.Integration) { i.RoleARN = "arn:aws-cn:iam::123456789012:role/x" },
			"role_arn is in partition aws-cn, but region us-east-1 is in partition aws"},
		{"regions of two partitions", func(i *citadel.Integration) { i.Regions, i.RoleARN = []string{"us-east-1", "us-gov-east-1"}, "" },
			"regions us-east-1 (aws) and us-gov-east-1 (aws-us-gov) are in different partitions"},
		{"bad schedule", func(i *citadel.Integration) { i.ScheduleExpression = "every day" }, "schedule_expression"},
		{"bad framework", func(i *citadel.Integration) { i.Frameworks = []string{"SOC 2!"} }, "framework"},
		{"bad external id", func(i *citadel.Integration) { i.ExternalID = "x" }, "external_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validIntegration()
			tt.mutate(&in)
			err := in.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !citadel.IsInvalid(err) {
				t.Fatalf("got %v, want an invalid error containing %q", err, tt.want)
			}
		})
	}
}

func TestIntegrationCheckFrameworks(t *testing.T) {
	known := []string{"soc2", "pci_4.0", "iso27001_2022", "cis_2.0"}
	tests := []struct {
		name       string
		frameworks []string
		known      []string
		want       string // the whole error, "" for valid
	}{
		{"none asked, catalog empty", nil, nil, ""},
		{"none asked", nil, known, ""},
		{"all known", []string{"soc2", "pci_4.0"}, known, ""},
		{"catalog not loaded", []string{"soc2"}, nil,
			"integration: frameworks soc2 cannot be checked: the catalog is not loaded yet (import it with `citadel catalog import`, then retry)"},
		{"the suffixed spelling", []string{"soc2", "pci_4.0_aws"}, known,
			"integration: unknown framework ids pci_4.0_aws (not in the imported catalog); valid framework ids: cis_2.0, iso27001_2022, pci_4.0, soc2"},
		{"several unknown, named once each", []string{"soc_2", "soc2", "hipaa", "soc_2"}, known,
			"integration: unknown framework ids soc_2, hipaa (not in the imported catalog); valid framework ids: cis_2.0, iso27001_2022, pci_4.0, soc2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validIntegration()
			in.Frameworks = tt.frameworks
			err := in.CheckFrameworks(tt.known)
			got := ""
			if err != nil {
				got = err.Error()
				if !citadel.IsInvalid(err) {
					t.Errorf("error %v is not invalid", err)
				}
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("error (-want +got):\n%s", d)
			}
		})
	}
}

func TestComputePosture(t *testing.T) {
	tests := []struct {
		passed, failed, errored, excepted int
		want                              citadel.Posture
	}{
		{10, 0, 0, 0, citadel.PosturePassing},
		{0, 10, 0, 0, citadel.PostureIssues},
		{5, 5, 0, 0, citadel.PosturePartial},
		{0, 0, 0, 0, citadel.PostureNotScanned},
		{0, 0, 3, 0, citadel.PostureIssues},
		{4, 0, 1, 0, citadel.PosturePartial},
		{0, 2, 2, 0, citadel.PostureIssues},
		// A control whose only failures are excepted is not issues.
		{0, 0, 0, 3, citadel.PosturePassing},
		{4, 0, 0, 3, citadel.PosturePassing},
		{0, 2, 0, 3, citadel.PosturePartial},
		{0, 0, 1, 3, citadel.PosturePartial},
		{4, 2, 0, 3, citadel.PosturePartial},
	}
	for _, tt := range tests {
		if got := citadel.ComputePosture(tt.passed, tt.failed, tt.errored, tt.excepted); got != tt.want {
			t.Errorf("ComputePosture(%d,%d,%d,%d) = %s, want %s", tt.passed, tt.failed, tt.errored, tt.excepted, got, tt.want)
		}
	}
}

// originalPosture is the posture rule as it was before exceptions,
// written out again on its own: total = passed + failed + error; 0 → not
// scanned; no failed and no error → passing; no passed → issues; else
// partial.
func originalPosture(passed, failed, errored int) citadel.Posture {
	switch {
	case passed+failed+errored == 0:
		return citadel.PostureNotScanned
	case failed == 0 && errored == 0:
		return citadel.PosturePassing
	case passed == 0:
		return citadel.PostureIssues
	}
	return citadel.PosturePartial
}

// TestPostureWithoutExceptionsIsTheOriginalRule: where no exception
// applies (excepted 0) the extended rule is the original one, for every
// small count; and excepting failures never makes a posture worse.
func TestPostureWithoutExceptionsIsTheOriginalRule(t *testing.T) {
	rank := map[citadel.Posture]int{citadel.PosturePassing: 0, citadel.PosturePartial: 1, citadel.PostureIssues: 2}
	for p := range 5 {
		for f := range 5 {
			for e := range 5 {
				if got, want := citadel.ComputePosture(p, f, e, 0), originalPosture(p, f, e); got != want {
					t.Errorf("ComputePosture(%d,%d,%d,0) = %s, the original rule %s", p, f, e, got, want)
				}
				for x := 1; x <= f; x++ { // x of the f failures excepted
					before, after := citadel.ComputePosture(p, f, e, 0), citadel.ComputePosture(p, f-x, e, x)
					if rank[after] > rank[before] {
						t.Errorf("excepting %d of (%d,%d,%d): %s → %s, worse", x, p, f, e, before, after)
					}
				}
			}
		}
	}
}

func TestEffectiveStatus(t *testing.T) {
	for _, tt := range []struct {
		status   citadel.CheckStatus
		muted    bool
		excepted string
		want     citadel.CheckStatus
	}{
		{citadel.StatusFail, false, "", citadel.StatusFail},
		{citadel.StatusFail, false, "exc-1", citadel.StatusExcepted},
		{citadel.StatusFail, true, "", citadel.StatusFail}, // Prowler's mute alone does not except
		{citadel.StatusFail, true, "exc-1", citadel.StatusExcepted},
		{citadel.StatusPass, false, "exc-1", citadel.StatusPass},
		{citadel.StatusError, false, "exc-1", citadel.StatusError},
		{citadel.StatusNotApplicable, false, "exc-1", citadel.StatusNotApplicable},
	} {
		r := citadel.CheckResult{Status: tt.status, Muted: tt.muted, ExceptionID: tt.excepted}
		if got := r.Effective(); got != tt.want {
			t.Errorf("%s muted %v exception %q: effective %s, want %s", tt.status, tt.muted, tt.excepted, got, tt.want)
		}
	}
	ok := citadel.CheckResult{IntegrationID: "int-1", CheckID: "c", AssetID: "a", ScanID: "scn-1", Status: citadel.StatusFail, ExceptionID: "exc-1"}
	if err := ok.Validate(); err != nil {
		t.Errorf("a failing result with an exception: %v", err)
	}
	for _, bad := range []citadel.CheckResult{
		func() citadel.CheckResult { r := ok; r.Status = citadel.StatusPass; return r }(),
		func() citadel.CheckResult { r := ok; r.Status = citadel.StatusExcepted; return r }(),
		func() citadel.CheckResult { r := ok; r.ExceptionID = "not an id"; return r }(),
	} {
		if err := bad.Validate(); !citadel.IsInvalid(err) {
			t.Errorf("%+v: %v, want invalid", bad, err)
		}
	}
	hist := []struct {
		prev, next citadel.CheckStatus
		regresses  bool
	}{
		{citadel.StatusFail, citadel.StatusExcepted, false},
		{citadel.StatusExcepted, citadel.StatusFail, true},
		{citadel.StatusExcepted, citadel.StatusPass, false},
		{"", citadel.StatusExcepted, false},
		{"", citadel.StatusFail, true},
		{citadel.StatusPass, citadel.StatusFail, true},
	}
	for _, h := range hist {
		if got := (citadel.CheckResultHistory{PreviousStatus: h.prev, NewStatus: h.next}).IsRegression(); got != h.regresses {
			t.Errorf("%q → %s: regression %v, want %v", h.prev, h.next, got, h.regresses)
		}
	}
}

func TestStatusFromProwler(t *testing.T) {
	want := map[string]citadel.CheckStatus{"PASS": citadel.StatusPass, "FAIL": citadel.StatusFail,
		"MANUAL": citadel.StatusNotApplicable, "": citadel.StatusError, "WEIRD": citadel.StatusError}
	for in, w := range want {
		if got := citadel.StatusFromProwler(in); got != w {
			t.Errorf("StatusFromProwler(%q) = %s, want %s", in, got, w)
		}
	}
}

func TestEvidenceChain(t *testing.T) {
	var revs []citadel.EvidenceRevision
	var prev *citadel.EvidenceRevision
	for i, body := range []string{`{"v":1}`, `{"v":2}`, `{"v":3}`} {
		r := citadel.NewRevision("ev-1", i+1, fmt.Sprintf("scn-%d", i), []byte(body), prev, t0)
		revs = append(revs, r)
		prev = &revs[len(revs)-1]
	}
	if b := citadel.VerifyChain(revs); b != nil {
		t.Fatalf("intact chain reported broken: %+v", b)
	}
	tests := []struct {
		name   string
		tamper func([]citadel.EvidenceRevision)
		want   citadel.ChainBreak
	}{
		{"edited content", func(r []citadel.EvidenceRevision) { r[1].RawOutput = []byte(`{"v":20}`) }, citadel.ChainBreak{Number: 2, Reason: "content does not match its content hash"}},
		{"re-hashed content", func(r []citadel.EvidenceRevision) {
			r[1].RawOutput = []byte(`{"v":20}`)
			r[1].ContentHash = citadel.ContentSHA256(r[1].RawOutput)
		}, citadel.ChainBreak{Number: 2, Reason: "hash does not match previous hash and content"}},
		{"re-linked revision", func(r []citadel.EvidenceRevision) {
			r[1].RawOutput = []byte(`{"v":20}`)
			r[1].ContentHash = citadel.ContentSHA256(r[1].RawOutput)
			r[1].Hash = citadel.ChainHash(r[1].PrevHash, r[1].ContentHash)
		}, citadel.ChainBreak{Number: 3, Reason: "previous hash does not match the previous revision"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := slices.Clone(revs)
			tt.tamper(c)
			got := citadel.VerifyChain(c)
			if got == nil {
				t.Fatal("tampering not detected")
			}
			if d := cmp.Diff(tt.want, *got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	if b := citadel.VerifyChain(revs[1:]); b == nil || b.Number != 2 {
		t.Errorf("a missing first revision: %+v", b)
	}
}

func TestIDs(t *testing.T) {
	a := citadel.NewID("scn", t0)
	b := citadel.NewID("scn", t0.Add(time.Millisecond))
	if !(a < b) || !strings.HasPrefix(a, "scn-") || !citadel.ValidID(a) {
		t.Errorf("ids %q, %q: want time-ordered, prefixed and valid", a, b)
	}
	if citadel.NewID("scn", t0) == a {
		t.Error("two ids in the same millisecond collide")
	}
	if citadel.AssetID("i", "aws", "arn:x") != citadel.AssetID("i", "aws", "arn:x") || citadel.AssetID("i", "aws", "arn:x") == citadel.AssetID("j", "aws", "arn:x") {
		t.Error("asset ids must be deterministic and scoped to the integration")
	}
	if citadel.AppliedControlIDForSCF("f", "IAC-06") == citadel.AppliedControlIDForRequirement("f", "IAC-06") {
		t.Error("SCF and requirement controls must not share ids")
	}
	for _, bad := range []string{"", "a#b", "a b", strings.Repeat("x", 200)} {
		if citadel.ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

func TestErrors(t *testing.T) {
	base := errors.New("boom")
	err := fmt.Errorf("step: %w", citadel.Errorf(citadel.CodeConflict, "scan %s running: %w", "s1", base))
	if !citadel.IsConflict(err) || !errors.Is(err, base) {
		t.Errorf("code or cause lost: %v", err)
	}
	// The cause is said once, whether %w or Op and Err carry it.
	if got := err.Error(); got != "step: scan s1 running: boom" {
		t.Errorf("message %q", got)
	}
	if got := (&citadel.Error{Code: citadel.CodeInvalid, Op: "import", Msg: "bad file", Err: base}).Error(); got != "import: bad file: boom" {
		t.Errorf("message %q", got)
	}
	if citadel.CodeOf(base) != citadel.CodeInternal || citadel.CodeOf(nil) != "" {
		t.Error("CodeOf of plain errors")
	}
	r := citadel.Retryable(base)
	if !citadel.IsRetryable(fmt.Errorf("x: %w", r)) || citadel.Retryable(nil) != nil {
		t.Error("retryable wrapping")
	}
	if got := reflect.TypeOf(r).Elem().Name(); got != citadel.ErrorTypeRetryable {
		t.Errorf("type name %q is what Step Functions matches; want %q", got, citadel.ErrorTypeRetryable)
	}
}

// The summary's JSON has exactly the fields the scan API returns.
func TestSummaryFields(t *testing.T) {
	b, _ := json.Marshal(citadel.ScanSummary{})
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	want := []string{"arns_skipped", "assets_created", "assets_deactivated", "assets_updated", "checks_error", "checks_excepted",
		"checks_executed", "checks_failed", "checks_not_applicable", "checks_passed", "controls_created",
		"controls_updated", "duration_seconds", "evidence_created", "evidence_updated", "history_entries_created",
		"message", "policies_created", "policies_skipped", "relationships_created", "results_created",
		"snapshots_captured", "snapshots_failed", "success", "total_assets"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("summary fields (-want +got):\n%s", d)
	}
}

func TestAssetFingerprintIgnoresTimes(t *testing.T) {
	a := citadel.Asset{IntegrationID: "i", Source: "aws", SourceID: "arn:aws:s3:::b", ServiceType: "s3_bucket", Name: "b",
		Tags: map[string]string{"env": "prod", "team": "x"}, FirstSeen: t0, LastSeen: t0}
	b := a
	b.LastSeen, b.IsActive = t0.Add(time.Hour), true
	b.Tags = map[string]string{"team": "x", "env": "prod"}
	if a.ComputeFingerprint() != b.ComputeFingerprint() {
		t.Error("fingerprint changed with times or map order")
	}
	b.Tags["env"] = "dev"
	if a.ComputeFingerprint() == b.ComputeFingerprint() {
		t.Error("fingerprint missed a tag change")
	}
	if err := a.Validate(); err != nil {
		t.Errorf("valid asset: %v", err)
	}
	a.SourceID = "bucket-name"
	if err := a.Validate(); !citadel.IsInvalid(err) {
		t.Errorf("non-ARN source id: %v", err)
	}
}
