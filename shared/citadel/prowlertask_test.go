package citadel_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Each variable's Path, read from a Map iteration's input (the ShardTask
// the ItemSelector builds), is its Value: the deployed task and the local
// runner get the same environment. An empty plan and shard still have every
// path (a missing one is an uncatchable States.Runtime error).
func TestProwlerTaskEnvironmentPathsAreTheirValues(t *testing.T) {
	plan := citadel.PlanOutput{ScanID: "scan-1", IntegrationID: "int-1", Bucket: "citadel-scans",
		ChecksKey: "scans/scan-1/checks.json", RoleARN: "arn:aws:iam::111122223333:role/CitadelScanner",
		ExternalID: "ext-1", Regions: []string{"us-east-1", "eu-west-1"}, RegionsArg: "us-east-1 eu-west-1", OCSFKey: "k"}
	shard := citadel.Shard{ID: "s02", Regions: []string{"eu-west-1"}, RegionsArg: "eu-west-1",
		ChecksKey: "scans/scan-1/shards/s02/checks.json", OCSFKey: "scans/scan-1/shards/s02/prowler.ocsf.json",
		ManifestKey: "scans/scan-1/shards/s02/manifest.json", Checks: 3}
	full := citadel.NewShardTask(plan, shard)
	for name, p := range map[string]citadel.ShardTask{"full task": full, "empty task": {}} {
		t.Run(name, func(t *testing.T) {
			raw, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			var state map[string]any
			if err := json.Unmarshal(raw, &state); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{citadel.EnvTaskMode: citadel.TaskModeScan}
			names := map[string]bool{}
			for _, v := range citadel.ProwlerTaskEnvironment {
				if names[v.Name] {
					t.Errorf("%s is listed twice", v.Name)
				}
				names[v.Name] = true
				got, ok := lookPath(state, v.Path)
				if !ok {
					t.Errorf("%s reads %s, which the state lacks", v.Name, v.Path)
					continue
				}
				want[v.Name] = got
			}
			if d := cmp.Diff(want, citadel.ProwlerTaskEnv(p)); d != "" {
				t.Errorf("ProwlerTaskEnv (-by path +by value):\n%s", d)
			}
		})
	}
	if env := citadel.ProwlerTaskEnv(full); env[citadel.EnvTaskScanID] != "scan-1" || env[citadel.EnvTaskRegions] != "eu-west-1" ||
		env[citadel.EnvTaskChecksKey] != shard.ChecksKey || env[citadel.EnvTaskManifestKey] != shard.ManifestKey || env[citadel.EnvTaskShardID] != "s02" {
		t.Errorf("ProwlerTaskEnv(full) = %v", env)
	}
}

// lookPath reads a string at a simple JSON path ($.a.b) of v.
func lookPath(v any, path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "$.")
	if !ok {
		return "", false
	}
	for _, part := range strings.Split(rest, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		if v, ok = m[part]; !ok {
			return "", false
		}
	}
	s, ok := v.(string)
	return s, ok
}

// TestShardTaskPlanIsThePlans: every $.plan.<name> the task reads is a field
// of PlanOutput of the same name, which the state machine's ItemSelector
// copies from the execution's state.
func TestShardTaskPlanIsThePlans(t *testing.T) {
	raw, _ := json.Marshal(map[string]any{"plan": citadel.PlanOutput{}})
	var state map[string]any
	if err := json.Unmarshal(raw, &state); err != nil {
		t.Fatal(err)
	}
	for _, v := range citadel.ProwlerTaskEnvironment {
		if !strings.HasPrefix(v.Path, "$.plan.") {
			continue
		}
		if _, ok := lookPath(state, v.Path); !ok {
			t.Errorf("%s reads %s, which PlanOutput lacks", v.Name, v.Path)
		}
	}
}
