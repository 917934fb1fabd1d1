package prowler

import (
	"bytes"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestProgress feeds real Prowler 5.40 output (a run's stdout, and stderr
// with multi-line ERROR logs and the CRITICAL lines of an unreachable
// endpoint) through the parser: checks started, finding counts, the failure
// reason, and the log records it writes (golden).
func TestProgress(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
	pr := &progress{log: log, total: 5, statuses: map[string]int{}}
	// In a fixed order (a map's would vary, and the golden records with it).
	for _, in := range []struct {
		name string
		fn   func(string)
	}{{"prowler-stdout.txt", pr.stdout}, {"prowler-stderr.txt", pr.stderr}} {
		name, fn := in.name, in.fn
		f, err := os.Open(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		eachLine(f, fn)
		f.Close()
	}
	got := struct {
		Checks    []string
		Statuses  map[string]int
		LastError string
	}{pr.executed(), pr.statuses, pr.lastError}
	want := got
	want.Checks = []string{"cloudtrail_multi_region_enabled", "ec2_ebs_volume_encryption",
		"ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22", "iam_user_mfa_enabled_console_access", "s3_bucket_default_encryption"}
	want.Statuses = map[string]int{"FAIL": 1}
	want.LastError = `EndpointConnectionError[383]: Could not connect to the endpoint URL: "http://127.0.0.1:9/"`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	golden := filepath.Join("testdata", "progress.golden.jsonl")
	if *update {
		if err := os.WriteFile(golden, logs.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantLogs, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(wantLogs), logs.String()); diff != "" {
		t.Errorf("log records (-want +got):\n%s", diff)
	}
}

// TestEachLine: a line longer than maxLine is cut, not fatal, and the lines
// after it still arrive; a last line without a newline arrives too.
func TestEachLine(t *testing.T) {
	long := strings.Repeat("x", 3*maxLine+17)
	in := "first\r\n" + long + "\n\nafter\nlast"
	var got []string
	eachLine(strings.NewReader(in), func(s string) { got = append(got, s) })
	want := []string{"first", long[:maxLine], "after", "last"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestArgs(t *testing.T) {
	tail := []string{"-M", "json-ocsf", "-o", "/w/out", "-F", "scan-1", "-z", "--only-logs", "--verbose", "--no-color", "--log-level", "WARNING"}
	base := RunInput{ChecksFile: "/w/checks.json", OutputDir: "/w/out", OutputName: "scan-1"}
	with := func(f func(*RunInput)) RunInput { in := base; f(&in); return in }
	cases := []struct {
		name string
		in   RunInput
		want []string // before tail
	}{
		{name: "role, external id and regions", in: with(func(in *RunInput) {
			in.RoleARN, in.ExternalID, in.Regions = "arn:aws:iam::111122223333:role/Scanner", "ext", []string{"us-east-1", "eu-west-1"}
		}), want: []string{"aws", "--checks-file", "/w/checks.json", "-R", "arn:aws:iam::111122223333:role/Scanner", "-I", "ext", "-f", "us-east-1", "eu-west-1"}},
		{name: "without role and regions", in: base, want: []string{"aws", "--checks-file", "/w/checks.json"}},
		{name: "a re-check: the resources after the regions", in: with(func(in *RunInput) {
			in.Regions, in.ResourceARNs = []string{"us-east-1"}, []string{"arn:aws:ec2:us-east-1:111122223333:instance/i-1", "arn:aws:s3:::logs"}
		}), want: []string{"aws", "--checks-file", "/w/checks.json", "-f", "us-east-1",
			"--resource-arn", "arn:aws:ec2:us-east-1:111122223333:instance/i-1", "arn:aws:s3:::logs"}},
		{name: "a re-check without regions", in: with(func(in *RunInput) { in.ResourceARNs = []string{"arn:aws:iam::111122223333:role/app"} }),
			want: []string{"aws", "--checks-file", "/w/checks.json", "--resource-arn", "arn:aws:iam::111122223333:role/app"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(append(tc.want, tail...), tc.in.Args("WARNING")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
