package main_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/steps/prowler"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// TestEntrypoint builds the task's binary and runs it as ECS would: the
// environment carries the mode and parameters; a failure is exit status 1
// with a one-line reason as the last line of stderr.
func TestEntrypoint(t *testing.T) {
	cfg := testenv.Config(t)
	bin := filepath.Join(testenv.RepoRoot(), ".venv", "bin", "prowler")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("prowler is not installed at %s", bin)
		}
		t.Skipf("prowler is not installed at %s (make venv)", bin)
	}
	client, bucket := testenv.Bucket(t, cfg)
	exe := filepath.Join(t.TempDir(), "entrypoint")
	build := exec.Command("go", "build", "-o", exe, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	cases := []struct {
		name   string
		env    map[string]string
		exit   int
		reason string // the last stderr line starts with it
	}{
		{name: "unknown mode", env: map[string]string{citadel.EnvTaskMode: "audit"}, exit: 1,
			reason: `prowler task failed (invalid): CITADEL_TASK_MODE="audit": the mode is scan or catalog`},
		{name: "scan without parameters", env: map[string]string{citadel.EnvTaskMode: "scan"}, exit: 1,
			reason: `prowler task failed (invalid): scan parameters: CITADEL_SCAN_ID "" is not a scan id; CITADEL_BUCKET is required`},
		{name: "scan with no checks file", env: map[string]string{citadel.EnvTaskScanID: "scan-none", citadel.EnvBucket: bucket}, exit: 1,
			reason: "prowler task failed (not_found): checks file s3://" + bucket + "/scans/scan-none/checks.json not found (NoSuchKey)"},
		{name: "prowler missing", env: map[string]string{citadel.EnvTaskScanID: "scan-x", citadel.EnvBucket: bucket, prowler.EnvProwlerBin: "/nonexistent/prowler"}, exit: 1,
			reason: `prowler task failed (invalid): prowler executable "/nonexistent/prowler" not found`},
		{name: "catalog", env: map[string]string{citadel.EnvTaskMode: "catalog", citadel.EnvBucket: bucket, citadel.EnvTaskCatalogKey: "catalog/test/"}, exit: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(exe)
			cmd.Env = append(os.Environ(), prowler.EnvProwlerBin+"="+bin)
			for k, v := range tc.env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != tc.exit {
				t.Fatalf("exit %d (%v), want %d; stderr:\n%s", code, err, tc.exit, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			last := lines[len(lines)-1]
			if tc.reason != "" && !strings.HasPrefix(last, tc.reason) {
				t.Errorf("last stderr line %q, want it to start with %q", last, tc.reason)
			}
		})
	}
	// The catalog run wrote its version file last.
	out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("catalog/test/" + prowler.CatalogVersionFile)})
	if err != nil {
		t.Fatalf("catalog version file: %v", err)
	}
	out.Body.Close()
}
