package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/localrun"
	"github.com/citadelsecure/citadel/shared/steps/prowler"
)

func TestParseScanFlags(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want scanOptions
		err  string
	}{
		{name: "an integration", args: []string{"--integration", "int-demo"}, want: scanOptions{integration: "int-demo", outDir: "out"}},
		{name: "every flag", args: []string{"-integration=int-1", "-out", "/tmp/r", "-quiet"}, want: scanOptions{integration: "int-1", outDir: "/tmp/r", quiet: true}},
		{name: "no integration", args: nil, err: "--integration <id> is required"},
		{name: "an argument", args: []string{"--integration", "int-1", "extra"}, err: `unexpected argument "extra"`},
		{name: "an unknown flag", args: []string{"--frameworks", "soc2"}, err: "flag provided but not defined"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseScanFlags(tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(scanOptions{})); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// TestTaskEnv: the environment the runner builds from a plan's shard is
// what the task's own parser reads back into the shard's scan parameters.
func TestTaskEnv(t *testing.T) {
	p := citadel.PlanOutput{ScanID: "scan-1", Bucket: "citadel-scans", ChecksKey: "scans/scan-1/checks.json",
		RoleARN: "arn:aws:iam::111122223333:role/CitadelScanner", ExternalID: "citadel-demo",
		Regions: []string{"us-east-1", "eu-west-1"}, RegionsArg: "us-east-1 eu-west-1"}
	s := citadel.Shard{ID: "s02", Regions: []string{"eu-west-1"}, RegionsArg: "eu-west-1",
		ChecksKey: "scans/scan-1/shards/s02/checks.json", OCSFKey: "scans/scan-1/shards/s02/prowler.ocsf.json",
		ManifestKey: "scans/scan-1/shards/s02/manifest.json"}
	env := citadel.ProwlerTaskEnv(citadel.NewShardTask(p, s))
	if env[citadel.EnvTaskMode] != citadel.TaskModeScan {
		t.Errorf("mode %q", env[citadel.EnvTaskMode])
	}
	got, err := prowler.ScanParamsFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := prowler.ScanParams{ScanID: p.ScanID, ShardID: "s02", Bucket: p.Bucket, ChecksKey: s.ChecksKey, OCSFKey: s.OCSFKey,
		ManifestKey: s.ManifestKey, RoleARN: p.RoleARN, ExternalID: p.ExternalID, Regions: s.Regions, Deadline: prowler.DefaultDeadline}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("scan parameters (-want +got):\n%s", d)
	}
}

func TestBar(t *testing.T) {
	cases := []struct {
		read, size int64
		want       string
	}{
		{0, 2 << 20, "[..........]   0% of 2.0 MB"},
		{1 << 20, 2 << 20, "[#####.....]  50% of 2.0 MB"},
		{3 << 20, 2 << 20, "[##########] 100% of 2.0 MB"},
		{512, 0, "[??????????] 512 B"},
	}
	for _, tc := range cases {
		if got := bar(tc.read, tc.size, 10); got != tc.want {
			t.Errorf("bar(%d, %d) = %q, want %q", tc.read, tc.size, got, tc.want)
		}
	}
}

// TestProgress: each step's start and end with its counts, the usage of
// the steps that report one, and a bar line per tenth off a terminal.
func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf}
	p.event(localrun.Event{Step: citadel.StepPlan})
	p.event(localrun.Event{Step: citadel.StepPlan, Done: true, Elapsed: 1500 * time.Millisecond,
		Output: citadel.PlanOutput{ChecksPlanned: 48, RegionsArg: "us-east-1 eu-west-1", Usage: citadel.Usage{Requests: 7, WriteUnits: 2}}})
	for _, n := range []int64{0, 10, 50, 100} {
		p.bytes(1, n, 100)
	}
	p.event(localrun.Event{Step: citadel.StepProwler, Done: true, Elapsed: time.Second, Err: citadel.Invalid("no checks")})
	want := `▶ plan          started
✓ plan              1.5s  48 checks planned, regions us-east-1 eu-west-1
  findings pass 1/2 [..............................]   0% of 100 B
  findings pass 1/2 [###...........................]  10% of 100 B
  findings pass 1/2 [###############...............]  50% of 100 B
  findings pass 1/2 [##############################] 100% of 100 B
✗ prowler       failed after 1s: no checks
`
	if d := cmp.Diff(want, buf.String()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if d := cmp.Diff([]StepUsage{{Step: citadel.StepPlan, Usage: citadel.Usage{Requests: 7, WriteUnits: 2}}}, p.usage); d != "" {
		t.Errorf("usage (-want +got):\n%s", d)
	}
}

// TestDemoRefusesARealAccount: without a local endpoint the demo stops
// before any call; a stray argument is refused too.
func TestDemoRefusesARealAccount(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "")
	err := cmdDemo(t.Context(), nil)
	if !citadel.IsInvalid(err) || !strings.Contains(err.Error(), "only runs against the local AWS server") {
		t.Errorf("demo without a local endpoint: %v", err)
	}
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	if err := cmdDemo(t.Context(), []string{"now"}); err == nil || !strings.Contains(err.Error(), `unexpected argument "now"`) {
		t.Errorf("demo with an argument: %v", err)
	}
	if err := cmdReport(t.Context(), []string{"--scan", "s", "extra"}); err == nil || !strings.Contains(err.Error(), `unexpected argument "extra"`) {
		t.Errorf("report with an argument: %v", err)
	}
}
