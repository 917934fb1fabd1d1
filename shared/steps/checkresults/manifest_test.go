package checkresults_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ocsf"
	"github.com/citadelsecure/citadel/shared/steps/evidence"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func s3Finding(bucket int, status string) string {
	return fmt.Sprintf(`{"metadata":{"event_code":"s3_bucket_default_encryption"},"status_code":%q,"status":"New",`+
		`"resources":[{"uid":"arn:aws:s3:::bucket-%d","data":{"x":1}}]}`, status, bucket)
}

// noScanWritten fails the test when the scan left a digest or any result.
func (e *env) noScanWritten(scan string) {
	e.t.Helper()
	if _, err := e.store.GetScanDigest(context.Background(), scan); !citadel.IsNotFound(err) {
		e.t.Errorf("%s: a failed run committed its digest: %v", scan, err)
	}
	page, err := e.store.ListResults(context.Background(), integ, 100, "")
	if err != nil || len(page.Items) != 0 {
		e.t.Errorf("%s: %d results written by a failed run, %v", scan, len(page.Items), err)
	}
}

// TestUnreadableFile: a file that cannot be read at all fails the step with
// a non-retryable error that says what is wrong and where, and writes
// nothing; it never succeeds with "malformed_findings: 1".
func TestUnreadableFile(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.seed([]string{"s3_bucket_default_encryption"}, []string{"arn:aws:s3:::bucket-0", "arn:aws:s3:::bucket-1"})
	two := "[\n" + s3Finding(0, "PASS") + ",\n" + s3Finding(1, "FAIL") + "\n]\n"
	second := int64(strings.Index(two, ",\n") + 2)
	cases := []struct {
		name, doc string
		reason    string
	}{
		{"truncated inside a finding", two[:second+30],
			fmt.Sprintf("is truncated at byte %d (the file ends inside finding 1, which starts at byte %d)", second+30, second)},
		{"truncated before the closing bracket", two[:len(two)-3],
			fmt.Sprintf("is truncated at byte %d (the array of findings is never closed, after 2 elements)", len(two)-3)},
		{"not an array", `{"findings": [` + s3Finding(0, "PASS") + `]}`, "is not a JSON array of findings: it starts with { (at byte 0)"},
		{"not JSON", "<Error><Code>AccessDenied</Code></Error>", "is not a JSON array of findings: it is not JSON (at byte 0)"},
		{"empty file", "", "is empty: the file has no bytes (no JSON array, not even [])"},
		{"a byte order mark and nothing else", "\xEF\xBB\xBF\n", "is empty: the file's 4 bytes are only whitespace (no JSON array, not even [])"},
		{"an object's brace closes the array", "[" + s3Finding(0, "PASS") + "}",
			fmt.Sprintf("is not a well-formed JSON array at byte %d: expected the end of the array: invalid character '}' after array element", len(s3Finding(0, "PASS"))+1)},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			scan := fmt.Sprintf("scan-bad-%02d", i)
			e.putScan(scan, []byte(tc.doc), nil)
			_, err := e.handler().Handle(ctx, citadel.CheckResultsInput{Plan: e.plan(scan)})
			if err == nil {
				t.Fatal("the step succeeded")
			}
			if citadel.IsRetryable(err) || !citadel.IsInvalid(err) {
				t.Errorf("error %v (%T): want invalid, not retryable", err, err)
			}
			want := fmt.Sprintf("the OCSF file s3://%s/scans/%s/%s %s", e.bucket, scan, citadel.OCSFFileName, tc.reason)
			if d := cmp.Diff(want, err.Error()); d != "" {
				t.Errorf("error (-want +got):\n%s", d)
			}
			e.noScanWritten(scan)
		})
	}
}

// TestManifestMismatch: what the step reads is checked against the task's
// manifest; a mismatch fails the step (non-retryable) naming both numbers,
// and a manifest of an older task (no version, every element counted as a
// finding) still works.
func TestManifestMismatch(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	var arns []string
	for i := 0; i < 12; i++ {
		arns = append(arns, fmt.Sprintf("arn:aws:s3:::bucket-%d", i))
	}
	e.seed([]string{"s3_bucket_default_encryption"}, arns)
	var elems []string
	for i := 0; i < 10; i++ {
		elems = append(elems, s3Finding(i, "PASS"))
	}
	ten := "[" + strings.Join(elems, ",") + "]"
	withBad := "[" + strings.Join(append(elems[:9:9], `{"metadata":{"event_code":"s3_bucket_default_encryption"},"status_code":5,"resources":[{"uid":"u"}]}`), ",") + "]"
	v2 := citadel.ManifestVersion
	cases := []struct {
		name     string
		doc      string
		manifest citadel.ProwlerManifest
		mismatch string // "": the step succeeds
	}{
		{name: "counts match", doc: ten, manifest: citadel.ProwlerManifest{Version: v2, FindingCount: 10, FileSize: int64(len(ten))}},
		{name: "malformed counts match", doc: withBad, manifest: citadel.ProwlerManifest{Version: v2, FindingCount: 9, MalformedFindings: 1}},
		{name: "fewer findings than the manifest", doc: ten, manifest: citadel.ProwlerManifest{Version: v2, FindingCount: 12},
			mismatch: "read 10 findings, the manifest says 12"},
		{name: "a malformed finding the task did not count", doc: withBad, manifest: citadel.ProwlerManifest{Version: v2, FindingCount: 10},
			mismatch: "read 9 findings, the manifest says 10; found 1 malformed findings, the manifest says 0"},
		{name: "another file size", doc: ten, manifest: citadel.ProwlerManifest{Version: v2, FindingCount: 10, FileSize: 99},
			mismatch: fmt.Sprintf("the file is %d bytes, the manifest says 99", len(ten))},
		{name: "an older task's manifest", doc: withBad, manifest: citadel.ProwlerManifest{FindingCount: 10}},
		{name: "an older task's manifest that does not match", doc: withBad, manifest: citadel.ProwlerManifest{FindingCount: 12},
			mismatch: "read 10 findings (1 of them malformed), the manifest says 12"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			scan := fmt.Sprintf("scan-m-%02d", i)
			m := tc.manifest
			m.ScanID = scan
			e.putScan(scan, []byte(tc.doc), &m)
			out, err := e.handler().Handle(ctx, citadel.CheckResultsInput{Plan: e.plan(scan)})
			if tc.mismatch == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := out.ResultsCreated + out.ResultsUnchanged + out.ResultsUpdated; got != m.FindingCount-m.MalformedFindings && got != 10-out.MalformedFindings {
					t.Errorf("%d results, output %+v", got, out)
				}
				return
			}
			if err == nil {
				t.Fatalf("the step succeeded: %+v", out)
			}
			if citadel.IsRetryable(err) || !citadel.IsInvalid(err) {
				t.Errorf("error %v (%T): want invalid, not retryable", err, err)
			}
			want := fmt.Sprintf("the OCSF file s3://%[1]s/scans/%[2]s/%[3]s does not match its manifest s3://%[1]s/scans/%[2]s/%[4]s: %[5]s",
				e.bucket, scan, citadel.OCSFFileName, citadel.ManifestName, tc.mismatch)
			if d := cmp.Diff(want, err.Error()); d != "" {
				t.Errorf("error (-want +got):\n%s", d)
			}
			if _, err := e.store.GetScanDigest(ctx, scan); !citadel.IsNotFound(err) {
				t.Errorf("a failed run committed its digest: %v", err)
			}
		})
	}
}

// reformat writes an OCSF document again with other whitespace, as another
// Prowler version (or a re-serialization) would: indent "" compacts.
func reformat(t *testing.T, doc []byte, indent string) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	if indent == "" {
		err = json.Compact(&buf, doc)
	} else {
		err = json.Indent(&buf, doc, "", indent)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// resourceData lists every resource snapshot of a document, as the file has it.
func resourceData(t *testing.T, doc []byte) []string {
	t.Helper()
	rd := ocsf.NewReader(bytes.NewReader(doc))
	var out []string
	for {
		f, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range f.Resources {
			out = append(out, string(r.Data))
		}
	}
}

// TestWhitespaceOnlyRescan: the same real findings written again with other
// whitespace are an unchanged rescan: no result rewritten, no history, no
// new evidence revision.
func TestWhitespaceOnlyRescan(t *testing.T) {
	ctx := context.Background()
	raw, err := os.ReadFile(filepath.Join(testenv.SharedData(t), "prowler", "example_output_aws.ocsf.json"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	checks := []string{"accessanalyzer_enabled", "account_maintain_current_contact_details",
		"account_maintain_different_contact_details_to_security_billing_and_operations",
		"account_security_contact_information_is_registered", "account_security_questions_are_registered_in_the_aws_account"}
	root := "arn:aws:iam::" + e.account + ":root"
	analyzer := "arn:aws:accessanalyzer:us-east-1:" + e.account + ":analyzer/unknown"
	e.seed(checks, []string{root, analyzer})
	filled := []byte(strings.NewReplacer("<account_uid>", e.account, "<resource_uid>", analyzer, "<region>", "us-east-1").Replace(string(raw)))

	ev := &evidence.Handler{Store: e.store, Catalog: e.store, Results: e.store, Assets: e.store}
	first := e.plan("scan-01")
	first.FolderID = "f-ws"
	e.putScan("scan-01", filled, &citadel.ProwlerManifest{Version: citadel.ManifestVersion, ScanID: "scan-01", FindingCount: 5, FileSize: int64(len(filled))})
	out, err := e.handler().Handle(ctx, citadel.CheckResultsInput{Plan: first})
	if err != nil || out.ResultsCreated != 5 {
		t.Fatalf("first scan: %+v, %v", out, err)
	}
	if eo, err := ev.Handle(ctx, citadel.EvidenceInput{Plan: first}); err != nil || eo.EvidenceCreated != 5 {
		t.Fatalf("first evidence: %+v, %v", eo, err)
	}
	before, err := e.store.ListResults(ctx, integ, 100, "")
	if err != nil || len(before.Items) != 5 {
		t.Fatalf("results: %d, %v", len(before.Items), err)
	}

	for i, indent := range []string{"", "\t", "        "} {
		doc := reformat(t, filled, indent)
		// Guard: the snapshots' bytes really differ, so hashing them raw
		// would see a change.
		was, now := resourceData(t, filled), resourceData(t, doc)
		for k := range was {
			if was[k] == now[k] {
				t.Fatalf("reformat %q: resource %d has the same bytes; the test would prove nothing", indent, k)
			}
		}
		scan := fmt.Sprintf("scan-%02d", i+2)
		plan := e.plan(scan)
		plan.FolderID = first.FolderID
		e.putScan(scan, doc, &citadel.ProwlerManifest{Version: citadel.ManifestVersion, ScanID: scan, FindingCount: 5, FileSize: int64(len(doc))})
		out, err := e.handler().Handle(ctx, citadel.CheckResultsInput{Plan: plan})
		if err != nil {
			t.Fatal(err)
		}
		want := citadel.CheckResultsOutput{ResultsUnchanged: 5, ChecksExecuted: 5, ChecksFailed: 2, ChecksNotApplicable: 3, SnapshotsCaptured: 5}
		if d := cmp.Diff(want, out, ignoreUsage); d != "" {
			t.Errorf("reformat %q (-want +got):\n%s", indent, d)
		}
		eo, err := ev.Handle(ctx, citadel.EvidenceInput{Plan: plan})
		if err != nil {
			t.Fatal(err)
		}
		if eo.EvidenceCreated != 0 || eo.EvidenceUpdated != 0 {
			t.Errorf("reformat %q: evidence %+v, want nothing created or updated", indent, eo)
		}
	}
	after, err := e.store.ListResults(ctx, integ, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(before.Items, after.Items); d != "" {
		t.Errorf("results rewritten (-before +after):\n%s", d)
	}
	for _, r := range after.Items {
		hist, err := e.store.ResultHistory(ctx, citadel.ResultID(integ, r.CheckID, r.AssetID))
		if err != nil || len(hist) != 1 {
			t.Errorf("%s on %s: %d history entries, %v; want the first scan's only", r.CheckID, r.AssetARN, len(hist), err)
		}
		ev, err := e.store.GetEvidence(ctx, citadel.EvidenceID(integ, r.CheckID, r.AssetID))
		if err != nil || ev.RevisionCount != 1 {
			t.Errorf("evidence of %s on %s: %d revisions, %v; want 1", r.CheckID, r.AssetARN, ev.RevisionCount, err)
		}
	}
}
