package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// TestExportStateMachine: export (the job, retried on RetryableError and
// Lambda's service errors) → export-finished; any other failure is caught
// into export-record (the job again, with the export id and the error)
// then export-failed; the execution times out at citadel.ExportTimeout.
func TestExportStateMachine(t *testing.T) {
	s := defaultApp(t)
	m := parseASL(t, s.definitionOf(t, s.stacks.Main.Exports))
	if m.StartAt != StateExport {
		t.Errorf("starts at %s", m.StartAt)
	}
	job, record, failed := m.States[StateExport], m.States[StateExportRecord], m.States[StateExportFailed]
	retry := func(st aslState) {
		t.Helper()
		want := append([]string{citadel.ErrorTypeRetryable}, LambdaServiceErrors...)
		if len(st.Retry) != 1 || !cmp.Equal(st.Retry[0].ErrorEquals, want) || st.Retry[0].MaxAttempts != float64(specOf(FnExport).Retries) {
			t.Errorf("retries = %+v", st.Retry)
		}
	}
	retry(job)
	retry(record)
	if d := cmp.Diff([]aslCatch{{ErrorEquals: []string{"States.ALL"}, ResultPath: ErrorPath, Next: StateExportRecord}}, job.Catch); d != "" {
		t.Errorf("job catch (-want +got):\n%s", d)
	}
	if job.Next != StateExportFinished || m.States[StateExportFinished].Type != "Succeed" || record.Next != StateExportFailed || len(record.Catch) != 0 {
		t.Errorf("job → %s, record → %s (catch %v)", job.Next, record.Next, record.Catch)
	}
	if failed.Type != "Fail" || failed.ErrorPath != ErrorPath+".Error" || failed.CausePath != ErrorPath+".Cause" {
		t.Errorf("fail state %+v", failed)
	}
	payload := func(st aslState) map[string]any { return st.Parameters } // PayloadResponseOnly: the parameters are the payload
	if d := cmp.Diff(map[string]any{"export_id.$": "$.export_id"}, payload(job)); d != "" {
		t.Errorf("job payload (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]any{"export_id.$": "$.export_id", citadel.StateErrorKey + ".$": ErrorPath}, payload(record)); d != "" {
		t.Errorf("record payload (-want +got):\n%s", d)
	}
	raw := parseASLRaw(t, s.definitionOf(t, s.stacks.Main.Exports))
	if raw["TimeoutSeconds"] != citadel.ExportTimeout.Seconds() {
		t.Errorf("execution timeout %v s, want %v", raw["TimeoutSeconds"], citadel.ExportTimeout.Seconds())
	}
}

func TestExportStateMachineASLValid(t *testing.T) {
	bin := aslValidator(t)
	s := defaultApp(t)
	path := filepath.Join(t.TempDir(), "export.asl.json")
	if err := os.WriteFile(path, s.definitionOf(t, s.stacks.Main.Exports), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "--json-path", path).CombinedOutput(); err != nil {
		t.Fatalf("asl-validator: %v\n%s", err, out)
	}
}

// TestExportGrants: the job puts exports/ and reads the blobs, nothing
// else of the bucket; the API starts the export state machine, knows its
// ARN and reads exports/ (its presigned URLs are signed with its role).
func TestExportGrants(t *testing.T) {
	s := defaultApp(t)
	bucket := "<" + s.logicalID(s.stacks.Main.Bucket) + ".Arn>"
	objects := func(fn string) map[string][]string {
		out := map[string][]string{}
		for _, st := range s.statements(roleOf(s.props(t, s.logicalID(s.stacks.Main.Functions.ByName[fn])), "Role")) {
			for _, r := range st.Resources {
				if prefix, ok := strings.CutPrefix(r, bucket+"/"); ok {
					for _, a := range st.Actions {
						if a == "s3:PutObject" || a == "s3:GetObject*" { // what reads and writes objects (CDK adds tagging, retention...)
							out[prefix] = append(out[prefix], a)
						}
					}
				}
			}
		}
		for k := range out {
			slices.Sort(out[k])
			out[k] = slices.Compact(out[k])
		}
		return out
	}
	if d := cmp.Diff(map[string][]string{citadel.ExportPrefix + "*": {"s3:PutObject"}, "blobs/*": {"s3:GetObject*"}}, objects(FnExport)); d != "" {
		t.Errorf("the export job's objects (-want +got):\n%s", d)
	}
	if got := objects(FnAPI)[citadel.ExportPrefix+"*"]; !slices.Contains(got, "s3:GetObject*") || slices.Contains(got, "s3:PutObject") {
		t.Errorf("the API's exports/ grant: %v", got)
	}
	sm := "<" + s.logicalID(s.stacks.Main.Exports) + ">"
	started := false
	for _, st := range s.statements(roleOf(s.props(t, s.logicalID(s.stacks.Main.Functions.ByName[FnAPI])), "Role")) {
		if slices.Contains(st.Actions, "states:StartExecution") && slices.Contains(st.Resources, sm) {
			started = true
		}
	}
	if !started {
		t.Error("the API may not start the export state machine")
	}
	env := s.props(t, s.logicalID(s.stacks.Main.Functions.ByName[FnAPI]))["Environment"].(map[string]any)["Variables"].(map[string]any)
	if render(env[citadel.EnvExportStateMachineARN]) != sm {
		t.Errorf("%s = %v", citadel.EnvExportStateMachineARN, env[citadel.EnvExportStateMachineARN])
	}
}

// TestExportSigningKey: with exportSigningKey=create the stack has an
// ECC_NIST_P256 signing key, retained, whose ARN the export job knows and
// which it may sign with and read the public key of; with poamOwner the
// job names the owner. The default app has neither.
func TestExportSigningKey(t *testing.T) {
	s := customApp(t)
	keys := s.resources("AWS::KMS::Key")
	var keyID string
	for id, k := range keys {
		p := k["Properties"].(map[string]any)
		if p["KeySpec"] == "ECC_NIST_P256" && p["KeyUsage"] == "SIGN_VERIFY" && k["DeletionPolicy"] == "Retain" {
			keyID = id
		}
	}
	if keyID == "" {
		t.Fatalf("no retained ECC_NIST_P256 signing key in %v", keys)
	}
	fn := s.props(t, s.logicalID(s.stacks.Main.Functions.ByName[FnExport]))
	env := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
	if render(env[citadel.EnvExportSigningKey]) != "<"+keyID+".Arn>" || env[citadel.EnvPOAMOwner] != "GRC team" {
		t.Errorf("the export job's environment: %v", env)
	}
	var actions []string
	for _, st := range s.statements(roleOf(fn, "Role")) {
		if slices.Contains(st.Resources, "<"+keyID+".Arn>") {
			actions = append(actions, st.Actions...)
		}
	}
	slices.Sort(actions)
	if d := cmp.Diff([]string{"kms:GetPublicKey", "kms:Sign"}, actions); d != "" {
		t.Errorf("the job's grant on the key (-want +got):\n%s", d)
	}
	d := defaultApp(t)
	denv := d.props(t, d.logicalID(d.stacks.Main.Functions.ByName[FnExport]))["Environment"].(map[string]any)["Variables"].(map[string]any)
	signing := 0
	for _, k := range d.resources("AWS::KMS::Key") {
		if k["Properties"].(map[string]any)["KeyUsage"] == "SIGN_VERIFY" {
			signing++
		}
	}
	if _, ok := denv[citadel.EnvExportSigningKey]; ok || signing != 0 {
		t.Errorf("the default app signs: %v", denv)
	}
}
