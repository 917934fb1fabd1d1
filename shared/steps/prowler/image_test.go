package prowler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// TestImage runs the Prowler task's built image (make image) as the Fargate
// task runs it, its environment set as the state machine sets it, against a
// seeded account on moto: the same findings and manifest as TestScanEstate's
// in-process run, as the image's own user; and a failure ends the container
// with status 1 and a one-line reason.
func TestImage(t *testing.T) {
	engine, image := testenv.ProwlerImage(t)
	cfg := testenv.Config(t)
	acct, accountID, roleARN := testenv.Account(t, cfg)
	want := seedEstate(t, acct, accountID)
	client, bucket := testenv.Bucket(t, cfg)

	run := func(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int, took time.Duration) {
		t.Helper()
		cli := []string{"run", "--rm", "--network", "host"}
		env[citadel.EnvBucket] = bucket
		env["AWS_ENDPOINT_URL"] = testenv.Endpoint(t)
		env["AWS_REGION"] = region
		env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = "testing", "testing"
		for k, v := range env {
			cli = append(cli, "-e", k+"="+v)
		}
		cli = append(append(cli, args...), image)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		cmd := engine.Command(ctx, cli...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		start := time.Now()
		err := cmd.Run()
		if cmd.ProcessState == nil {
			t.Fatalf("%s %s: %v", engine.Bin, strings.Join(cli, " "), err)
		}
		return out.String(), errb.String(), cmd.ProcessState.ExitCode(), time.Since(start)
	}

	t.Run("scan", func(t *testing.T) {
		scanID := citadel.NewID("scan", time.Now())
		b, _ := json.Marshal(citadel.ChecksFile{AWS: estateChecks})
		putChecks(t, client, bucket, scanID, b)
		_, stderr, code, took := run(t, map[string]string{
			citadel.EnvTaskMode: citadel.TaskModeScan, citadel.EnvTaskScanID: scanID,
			citadel.EnvTaskRoleARN: roleARN, citadel.EnvTaskExternalID: "citadel-test",
			citadel.EnvTaskRegions: region, citadel.EnvTaskDeadline: "15m",
		})
		if code != 0 {
			t.Fatalf("the task exited %d; stderr:\n%s", code, tail(stderr, 40))
		}
		t.Logf("container ran %s", took.Round(time.Millisecond))
		checkScan(t, client, bucket, scanID, accountID, want, took)
	})

	t.Run("missing checks file", func(t *testing.T) {
		_, stderr, code, _ := run(t, map[string]string{citadel.EnvTaskScanID: "scan-none"})
		want := "prowler task failed (not_found): checks file s3://" + bucket + "/scans/scan-none/checks.json not found (NoSuchKey)"
		if code != 1 {
			t.Fatalf("exit %d, want 1; stderr:\n%s", code, tail(stderr, 20))
		}
		if last := lastLine(stderr); !strings.HasPrefix(last, want) {
			t.Errorf("last stderr line %q, want it to start with %q", last, want)
		}
	})

	t.Run("runs as the image's user", func(t *testing.T) {
		stdout, stderr, code, _ := run(t, map[string]string{}, "--entrypoint", "id")
		if code != 0 {
			t.Fatalf("id exited %d: %s", code, stderr)
		}
		if got := strings.TrimSpace(stdout); !strings.HasPrefix(got, "uid=10001(prowler)") {
			t.Errorf("the container runs as %q, want uid=10001(prowler)", got)
		}
	})
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
