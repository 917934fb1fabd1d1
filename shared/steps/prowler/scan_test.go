package prowler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/steps/prowler"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// installed returns the Prowler of the repository's virtualenv (make venv).
func installed(t testing.TB) *prowler.Prowler {
	t.Helper()
	bin := filepath.Join(testenv.RepoRoot(), ".venv", "bin", "prowler")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("prowler is not installed at %s: %v", bin, err)
		}
		t.Skipf("prowler is not installed at %s (make venv)", bin)
	}
	p, err := prowler.Locate(context.Background(), bin)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func putChecks(t testing.TB, client *s3.Client, bucket, scanID string, body []byte) {
	t.Helper()
	_, err := client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(citadel.ScanObjectKey(scanID, citadel.ChecksFileName)), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
}

func getObject(t testing.TB, client *s3.Client, bucket, key string) ([]byte, error) {
	t.Helper()
	out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// env is a task environment as the state machine sets it.
func env(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

type finding struct {
	Metadata struct {
		EventCode string `json:"event_code"`
	} `json:"metadata"`
	StatusCode string `json:"status_code"`
	Cloud      struct {
		Account struct {
			UID string `json:"uid"`
		} `json:"account"`
	} `json:"cloud"`
	Resources []struct {
		UID string `json:"uid"`
	} `json:"resources"`
}

// TestScanEstate runs the task's scan mode with the real Prowler against a
// seeded account on moto, through the integration's role and external id.
func TestScanEstate(t *testing.T) {
	p := installed(t)
	cfg := testenv.Config(t)
	acct, accountID, roleARN := testenv.Account(t, cfg)
	want := seedEstate(t, acct, accountID)
	client, bucket := testenv.Bucket(t, cfg)
	scanID := citadel.NewID("scan", time.Now())
	b, _ := json.Marshal(citadel.ChecksFile{AWS: estateChecks})
	putChecks(t, client, bucket, scanID, b)

	params, err := prowler.ScanParamsFromEnv(env(map[string]string{
		citadel.EnvTaskScanID: scanID, citadel.EnvBucket: bucket,
		citadel.EnvTaskRoleARN: roleARN, citadel.EnvTaskExternalID: "citadel-test",
		citadel.EnvTaskRegions: region, citadel.EnvTaskDeadline: "15m",
	}))
	if err != nil {
		t.Fatal(err)
	}
	s := &prowler.Scanner{S3: client, Prowler: p, Log: testLogger(t)}
	res, err := s.Scan(context.Background(), params)
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	t.Logf("prowler: %s wall, %s user, %s system, %d MB peak RSS; entrypoint overhead %s",
		res.Run.Duration.Round(time.Millisecond), res.Run.UserCPU, res.Run.SystemCPU, res.Run.MaxRSSBytes>>20, res.Overhead.Round(time.Millisecond))

	m := checkScan(t, client, bucket, scanID, accountID, want, res.Run.Duration)
	if diff := cmp.Diff(res.Manifest, m); diff != "" {
		t.Errorf("returned manifest differs from the stored one:\n%s", diff)
	}
}

// checkScan asserts what a scan of the seeded estate left in the bucket: the
// OCSF file with every expected status on its resource in accountID, and the
// manifest (Prowler ran no longer than ran); it returns the manifest.
func checkScan(t *testing.T, client *s3.Client, bucket, scanID, accountID string, want []expect, ran time.Duration) citadel.ProwlerManifest {
	t.Helper()
	ocsf, err := getObject(t, client, bucket, citadel.ScanObjectKey(scanID, citadel.OCSFFileName))
	if err != nil {
		t.Fatalf("OCSF file: %v", err)
	}
	var findings []finding
	if err := json.Unmarshal(ocsf, &findings); err != nil {
		t.Fatalf("OCSF file: %v", err)
	}
	got := map[expect]bool{}
	for _, f := range findings {
		if f.Cloud.Account.UID != accountID {
			t.Errorf("finding %s in account %s, want %s", f.Metadata.EventCode, f.Cloud.Account.UID, accountID)
		}
		for _, r := range f.Resources {
			got[expect{f.Metadata.EventCode, r.UID, f.StatusCode}] = true
		}
	}
	for _, w := range want {
		if !got[w] {
			var saw []string
			for g := range got {
				if g.Check == w.Check {
					saw = append(saw, g.Status+" "+g.Resource)
				}
			}
			slices.Sort(saw)
			t.Errorf("no %s of %s on %s; the check reported:\n  %s", w.Status, w.Check, w.Resource, strings.Join(saw, "\n  "))
		}
	}

	mb, err := getObject(t, client, bucket, citadel.ScanObjectKey(scanID, citadel.ManifestName))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	var m citadel.ProwlerManifest
	if err := json.Unmarshal(mb, &m); err != nil {
		t.Fatal(err)
	}
	executed := slices.Clone(estateChecks)
	slices.Sort(executed)
	wantM := citadel.ProwlerManifest{
		Version: citadel.ManifestVersion, ScanID: scanID, ProwlerVersion: "5.40.0", ExitCode: 0,
		FileSize: int64(len(ocsf)), FindingCount: len(findings),
		ChecksRequested: len(estateChecks), ChecksExecuted: executed,
		OCSFKey: citadel.ScanObjectKey(scanID, citadel.OCSFFileName),
	}
	if diff := cmp.Diff(wantM, m, cmpopts.IgnoreFields(citadel.ProwlerManifest{}, "DurationSeconds")); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}
	if m.DurationSeconds <= 0 || m.DurationSeconds > ran.Seconds()+1 {
		t.Errorf("manifest duration %.1fs, Prowler ran %s", m.DurationSeconds, ran)
	}
	return m
}

// TestScanFailures: each bad input fails with a clear reason and leaves no
// OCSF file or manifest behind.
func TestScanFailures(t *testing.T) {
	p := installed(t)
	cfg := testenv.Config(t)
	client, bucket := testenv.Bucket(t, cfg)
	closed := closedPort(t)
	ok, _ := json.Marshal(citadel.ChecksFile{AWS: []string{"s3_bucket_default_encryption", "iam_password_policy_minimum_length_14"}})

	cases := []struct {
		name     string
		checks   []byte // nil: no checks file
		env      []string
		deadline string
		code     citadel.ErrorCode
		reason   string
	}{
		{name: "missing checks file", code: citadel.CodeNotFound, reason: "checks file s3://" + bucket + "/scans/"},
		{name: "unknown check id", checks: []byte(`{"aws": ["s3_bucket_default_encryption", "s3_bucket_made_up", "ec2_nothing"]}`),
			code: citadel.CodeInvalid, reason: "names 2 check(s) that Prowler 5.40.0 does not have: ec2_nothing, s3_bucket_made_up"},
		{name: "malformed checks file", checks: []byte(`["s3_bucket_default_encryption"]`), code: citadel.CodeInvalid, reason: `checks file is not {"aws": [...]}`},
		{name: "empty checks file", checks: []byte(`{"aws": []}`), code: citadel.CodeInvalid, reason: "checks file lists no AWS checks"},
		{name: "unreachable endpoint", checks: ok, env: []string{"AWS_ENDPOINT_URL=http://" + closed},
			code: citadel.CodeInternal, reason: "prowler exited with code 1: EndpointConnectionError"},
		{name: "killed by the deadline", checks: ok, deadline: "4s", code: citadel.CodeInternal, reason: "prowler killed by the deadline of 4s after"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			scanID := citadel.NewID("scan", time.Now())
			if tc.checks != nil {
				putChecks(t, client, bucket, scanID, tc.checks)
			}
			vars := map[string]string{citadel.EnvTaskScanID: scanID, citadel.EnvBucket: bucket, citadel.EnvTaskRegions: region, citadel.EnvTaskDeadline: tc.deadline}
			params, err := prowler.ScanParamsFromEnv(env(vars))
			if err != nil {
				t.Fatal(err)
			}
			s := &prowler.Scanner{S3: client, Prowler: p.WithEnv(tc.env...), Log: testLogger(t)}
			start := time.Now()
			_, err = s.Scan(context.Background(), params)
			if err == nil {
				t.Fatal("scan succeeded")
			}
			reason := prowler.Reason(err)
			t.Logf("after %s: %s", time.Since(start).Round(time.Millisecond), reason)
			if got := citadel.CodeOf(err); got != tc.code {
				t.Errorf("code %s, want %s", got, tc.code)
			}
			if !strings.Contains(reason, tc.reason) || strings.Contains(reason, "\n") {
				t.Errorf("reason %q, want one line with %q", reason, tc.reason)
			}
			if left := processesMentioning(t, scanID); len(left) > 0 {
				t.Errorf("processes left running after the scan: %v", left)
			}
			for _, name := range []string{citadel.OCSFFileName, citadel.ManifestName} {
				_, err := getObject(t, client, bucket, citadel.ScanObjectKey(scanID, name))
				var ae smithy.APIError
				if !errors.As(err, &ae) || ae.ErrorCode() != "NoSuchKey" {
					t.Errorf("%s after a failed scan: %v, want NoSuchKey", name, err)
				}
			}
		})
	}
}

// processesMentioning lists the pids whose command line contains s.
func processesMentioning(t testing.TB, s string) []string {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var pids []string
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err == nil && bytes.Contains(b, []byte(s)) {
			pids = append(pids, filepath.Base(filepath.Dir(f)))
		}
	}
	return pids
}

// closedPort is a loopback address nothing listens on.
func closedPort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestScanParamsFromEnv(t *testing.T) {
	cases := []struct {
		name string
		vars map[string]string
		want prowler.ScanParams
		err  string
	}{
		{name: "defaults", vars: map[string]string{citadel.EnvTaskScanID: "scan-1", citadel.EnvBucket: "b"},
			want: prowler.ScanParams{ScanID: "scan-1", Bucket: "b", ChecksKey: "scans/scan-1/checks.json", OCSFKey: "scans/scan-1/prowler.ocsf.json",
				ManifestKey: "scans/scan-1/manifest.json", Deadline: prowler.DefaultDeadline}},
		{name: "a shard's defaults", vars: map[string]string{citadel.EnvTaskScanID: "scan-1", citadel.EnvBucket: "b", citadel.EnvTaskShardID: "s02"},
			want: prowler.ScanParams{ScanID: "scan-1", ShardID: "s02", Bucket: "b", ChecksKey: "scans/scan-1/shards/s02/checks.json",
				OCSFKey: "scans/scan-1/shards/s02/prowler.ocsf.json", ManifestKey: "scans/scan-1/shards/s02/manifest.json", Deadline: prowler.DefaultDeadline}},
		{name: "everything", vars: map[string]string{citadel.EnvTaskScanID: "scan-1", citadel.EnvBucket: "b", citadel.EnvTaskShardID: "s03",
			citadel.EnvTaskChecksKey: "scans/scan-1/c.json", citadel.EnvTaskOCSFKey: "scans/scan-1/o.json", citadel.EnvTaskManifestKey: "scans/scan-1/m.json",
			citadel.EnvTaskRoleARN: "arn:aws:iam::111122223333:role/Scanner", citadel.EnvTaskExternalID: "ext-1",
			citadel.EnvTaskRegions: " us-east-1  eu-west-1 ", citadel.EnvTaskDeadline: "90m"},
			want: prowler.ScanParams{ScanID: "scan-1", ShardID: "s03", Bucket: "b", ChecksKey: "scans/scan-1/c.json", OCSFKey: "scans/scan-1/o.json",
				ManifestKey: "scans/scan-1/m.json", RoleARN: "arn:aws:iam::111122223333:role/Scanner",
				ExternalID: "ext-1", Regions: []string{"us-east-1", "eu-west-1"}, Deadline: 90 * time.Minute}},
		{name: "a key outside the scan", vars: map[string]string{citadel.EnvTaskScanID: "scan-1", citadel.EnvBucket: "b", citadel.EnvTaskManifestKey: "scans/scan-2/m.json"},
			err: `CITADEL_MANIFEST_KEY "scans/scan-2/m.json" is not under the scan's prefix scans/scan-1/`},
		{name: "a bad shard id", vars: map[string]string{citadel.EnvTaskScanID: "scan-1", citadel.EnvBucket: "b", citadel.EnvTaskShardID: "../s1"},
			err: `CITADEL_SHARD_ID "../s1" is not a shard id`},
		{name: "no scan id", vars: map[string]string{citadel.EnvBucket: "b"}, err: `CITADEL_SCAN_ID "" is not a scan id`},
		{name: "no bucket", vars: map[string]string{citadel.EnvTaskScanID: "s"}, err: "CITADEL_BUCKET is required"},
		{name: "bad deadline", vars: map[string]string{citadel.EnvTaskScanID: "s", citadel.EnvBucket: "b", citadel.EnvTaskDeadline: "soon"}, err: "is not a positive Go duration"},
		{name: "bad region", vars: map[string]string{citadel.EnvTaskScanID: "s", citadel.EnvBucket: "b", citadel.EnvTaskRegions: "us-east-1 mars-1"}, err: `region "mars-1"`},
		{name: "external id without role", vars: map[string]string{citadel.EnvTaskScanID: "s", citadel.EnvBucket: "b", citadel.EnvTaskExternalID: "x"}, err: "CITADEL_EXTERNAL_ID needs CITADEL_ROLE_ARN"},
		{name: "bad role", vars: map[string]string{citadel.EnvTaskScanID: "s", citadel.EnvBucket: "b", citadel.EnvTaskRoleARN: "role/x"}, err: "role"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := prowler.ScanParamsFromEnv(env(tc.vars))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !citadel.IsInvalid(err) {
					t.Fatalf("error %v, want invalid with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
