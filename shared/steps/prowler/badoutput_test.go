package prowler_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/steps/prowler"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// standIn is a stand-in for the Prowler executable that writes the OCSF
// file named by $CITADEL_TEST_OCSF (or none when it is unset) where -o and
// -F say (its arguments, one a line, to $CITADEL_TEST_ARGS when set), and
// exits 0. The gap it fills: the real Prowler cannot be made to
// write a malformed file, and what the task does with one is the point.
// Everything else (the S3 upload, the manifest) is real, on moto.
func standIn(t *testing.T, checks ...string) *prowler.Prowler {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "prowler")
	script := `#!/bin/sh
[ -n "$CITADEL_TEST_ARGS" ] && printf '%s\n' "$@" > "$CITADEL_TEST_ARGS"
while [ $# -gt 0 ]; do
  case "$1" in -o) out="$2"; shift ;; -F) name="$2"; shift ;; esac
  shift
done
mkdir -p "$out"
[ -n "$CITADEL_TEST_OCSF" ] && cp "$CITADEL_TEST_OCSF" "$out/$name.ocsf.json"
exit 0
`
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(dir, "pkg")
	for _, c := range checks {
		d := filepath.Join(pkg, "providers", "aws", "services", strings.Split(c, "_")[0], c)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, c+".metadata.json"), []byte(`{}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &prowler.Prowler{Bin: bin, PackageDir: pkg, Version: "5.40.0"}
}

func ocsfFinding(check, status string) string {
	return fmt.Sprintf(`{"metadata":{"event_code":%q},"status_code":%q,"status":"New","resources":[{"uid":"arn:aws:s3:::b","data":{"x":1}}]}`, check, status)
}

// TestScanToleratesBadFindings: the task counts bad findings (wrong type,
// NaN, nesting deeper than JSON decoders allow) in the manifest, uploads
// the file as it is and succeeds; a leading byte order mark is skipped; a
// file that cannot be read at all (truncated, not an array, no bytes)
// fails the task with a one-line reason and uploads nothing.
func TestScanToleratesBadFindings(t *testing.T) {
	cfg := testenv.Config(t)
	client, bucket := testenv.Bucket(t, cfg)
	example, err := os.ReadFile(filepath.Join(testenv.SharedData(t), "prowler", "example_output_aws.ocsf.json"))
	if err != nil {
		t.Fatal(err)
	}
	exampleChecks := []string{"accessanalyzer_enabled", "account_maintain_current_contact_details",
		"account_maintain_different_contact_details_to_security_billing_and_operations",
		"account_security_contact_information_is_registered", "account_security_questions_are_registered_in_the_aws_account"}
	p := standIn(t, append([]string{"s3_bucket_default_encryption"}, exampleChecks...)...)

	good := ocsfFinding("s3_bucket_default_encryption", "PASS")
	wrongType := `{"metadata":{"event_code":"s3_bucket_default_encryption"},"status_code":["FAIL"],"resources":[{"uid":"arn:aws:s3:::b"}]}`
	nan := `{"metadata":{"event_code":"s3_bucket_default_encryption"},"status_code":"FAIL","risk_score":NaN,"resources":[{"uid":"arn:aws:s3:::b"}]}`
	deep := `{"metadata":{"event_code":"s3_bucket_default_encryption"},"status_code":"FAIL","resources":[{"uid":"arn:aws:s3:::b","data":` +
		strings.Repeat("[", 12000) + strings.Repeat("]", 12000) + `}]}`
	bad := "[\n" + good + ",\n" + wrongType + ",\n" + nan + ",\n" + deep + ",\n" + ocsfFinding("s3_bucket_default_encryption", "FAIL") + "\n]\n"
	at := func(s string) int64 { return int64(strings.Index(bad, s)) }
	truncated := "[\n" + good + ",\n" + good[:40]

	cases := []struct {
		name   string
		file   *string // nil: Prowler writes none
		checks []string
		want   citadel.ProwlerManifest // without the fields every case shares
		reason string                  // a failure
	}{
		{name: "bad findings among good ones", file: &bad, checks: []string{"s3_bucket_default_encryption"},
			want: citadel.ProwlerManifest{FileSize: int64(len(bad)), FindingCount: 2, MalformedFindings: 3,
				ChecksExecuted: []string{"s3_bucket_default_encryption"}, Problems: []citadel.FindingProblem{
					{Index: 1, Offset: at(wrongType), Kind: "wrong_type"}, {Index: 2, Offset: at(nan), Kind: "syntax"}, {Index: 3, Offset: at(deep), Kind: "syntax"}}}},
		{name: "a leading byte order mark", file: ptr("\xEF\xBB\xBF" + string(example)), checks: exampleChecks,
			want: citadel.ProwlerManifest{FileSize: int64(len(example) + 3), FindingCount: 5, ChecksExecuted: exampleChecks}},
		{name: "an empty array", file: ptr("[]\n"), checks: exampleChecks[:1],
			want: citadel.ProwlerManifest{FileSize: 3, Empty: true, ChecksExecuted: []string{}}},
		{name: "no file", checks: exampleChecks[:1],
			want: citadel.ProwlerManifest{FileSize: 2, Empty: true, ChecksExecuted: []string{}}},
		{name: "truncated", file: &truncated, checks: []string{"s3_bucket_default_encryption"},
			reason: fmt.Sprintf("prowler task failed (invalid): prowler output %%s is truncated at byte %d (the file ends inside finding 1, which starts at byte %d)",
				len(truncated), len(good)+4)},
		{name: "not an array", file: ptr(`{"findings": [` + good + `]}`), checks: []string{"s3_bucket_default_encryption"},
			reason: "prowler task failed (invalid): prowler output %s is not a JSON array of findings: it starts with { (at byte 0)"},
		{name: "no bytes", file: ptr(""), checks: []string{"s3_bucket_default_encryption"},
			reason: "prowler task failed (invalid): prowler output %s is empty: the file has no bytes (no JSON array, not even [])"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			scanID := citadel.NewID("scan", time.Now())
			b, _ := json.Marshal(citadel.ChecksFile{AWS: tc.checks})
			putChecks(t, client, bucket, scanID, b)
			var env []string
			if tc.file != nil {
				path := filepath.Join(t.TempDir(), "out.json")
				if err := os.WriteFile(path, []byte(*tc.file), 0o644); err != nil {
					t.Fatal(err)
				}
				env = append(env, "CITADEL_TEST_OCSF="+path)
			}
			params, err := prowler.ScanParamsFromEnv(func(k string) string {
				return map[string]string{citadel.EnvTaskScanID: scanID, citadel.EnvBucket: bucket}[k]
			})
			if err != nil {
				t.Fatal(err)
			}
			s := &prowler.Scanner{S3: client, Prowler: p.WithEnv(env...), Log: testLogger(t)}
			res, err := s.Scan(context.Background(), params)
			if tc.reason != "" {
				if err == nil {
					t.Fatal("scan succeeded")
				}
				if d := cmp.Diff(fmt.Sprintf(tc.reason, scanID+prowler.OCSFSuffix), prowler.Reason(err)); d != "" {
					t.Errorf("reason (-want +got):\n%s", d)
				}
				for _, name := range []string{citadel.OCSFFileName, citadel.ManifestName} {
					_, err := getObject(t, client, bucket, citadel.ScanObjectKey(scanID, name))
					var ae smithy.APIError
					if !errors.As(err, &ae) || ae.ErrorCode() != "NoSuchKey" {
						t.Errorf("%s after a failed scan: %v, want NoSuchKey", name, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("scan: %v", err)
			}
			want := tc.want
			want.Version, want.ScanID, want.ProwlerVersion, want.ChecksRequested = citadel.ManifestVersion, scanID, "5.40.0", len(tc.checks)
			want.OCSFKey = citadel.ScanObjectKey(scanID, citadel.OCSFFileName)
			mb, err := getObject(t, client, bucket, citadel.ScanObjectKey(scanID, citadel.ManifestName))
			if err != nil {
				t.Fatalf("manifest: %v", err)
			}
			var m citadel.ProwlerManifest
			if err := json.Unmarshal(mb, &m); err != nil {
				t.Fatal(err)
			}
			opts := cmp.Options{cmpopts.IgnoreFields(citadel.ProwlerManifest{}, "DurationSeconds"), cmpopts.IgnoreFields(citadel.FindingProblem{}, "Message")}
			if d := cmp.Diff(want, m, opts); d != "" {
				t.Errorf("manifest (-want +got):\n%s", d)
			}
			for _, pr := range m.Problems {
				if pr.Message == "" {
					t.Errorf("problem %+v has no reason", pr)
				}
			}
			if d := cmp.Diff(res.Manifest, m); d != "" {
				t.Errorf("returned manifest differs from the stored one:\n%s", d)
			}
			uploaded, err := getObject(t, client, bucket, want.OCSFKey)
			if err != nil {
				t.Fatal(err)
			}
			if wantFile := "[]"; tc.file != nil && string(uploaded) != *tc.file || tc.file == nil && string(uploaded) != wantFile {
				t.Errorf("uploaded %d bytes, not the file as Prowler wrote it", len(uploaded))
			}
		})
	}
}

func ptr(s string) *string { return &s }
