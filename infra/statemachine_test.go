package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/constructs-go/constructs/v10"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Placeholders for the tokens in the state machine's definition.
const (
	testPartition = "aws"
	testRegion    = "us-east-1"
	testAccount   = "123456789012"
)

// definition resolves the state machine's DefinitionString (an Fn::Join of
// text and references) into ASL JSON, with plausible ARNs for the references.
func (s *synthesized) definition(t *testing.T) []byte {
	t.Helper()
	return s.definitionOf(t, s.stacks.Main.StateMachine)
}

// definitionOf is a state machine's definition, resolved as definition does.
func (s *synthesized) definitionOf(t *testing.T, sm constructs.IConstruct) []byte {
	t.Helper()
	return s.definitionOfID(t, s.logicalID(sm))
}

// definitionOfID is the definition of the state machine with this logical id.
func (s *synthesized) definitionOfID(t *testing.T, id string) []byte {
	t.Helper()
	def := s.props(t, id)["DefinitionString"]
	types := map[string]string{}
	for id, r := range s.json["Resources"].(map[string]any) {
		types[id] = r.(map[string]any)["Type"].(string)
	}
	var resolve func(v any) string
	resolve = func(v any) string {
		switch v := v.(type) {
		case string:
			return v
		case map[string]any:
			if j, ok := v["Fn::Join"]; ok {
				args := j.([]any)
				var parts []string
				for _, p := range args[1].([]any) {
					parts = append(parts, resolve(p))
				}
				return strings.Join(parts, args[0].(string))
			}
			if ref, ok := v["Ref"].(string); ok {
				switch ref {
				case "AWS::Partition":
					return testPartition
				case "AWS::Region":
					return testRegion
				case "AWS::AccountId":
					return testAccount
				}
				if types[ref] == "AWS::EC2::Subnet" {
					return "subnet-0123456789abcdef0"
				}
				return ref
			}
			if ga, ok := v["Fn::GetAtt"].([]any); ok {
				id, attr := ga[0].(string), ga[1].(string)
				switch {
				case types[id] == "AWS::Lambda::Function" && attr == "Arn":
					return "arn:aws:lambda:" + testRegion + ":" + testAccount + ":function:" + id
				case types[id] == "AWS::ECS::Cluster" && attr == "Arn":
					return "arn:aws:ecs:" + testRegion + ":" + testAccount + ":cluster/" + id
				case types[id] == "AWS::EC2::SecurityGroup" && attr == "GroupId":
					return "sg-0123456789abcdef0"
				}
				t.Fatalf("unexpected reference %s.%s in the definition", id, attr)
			}
		}
		t.Fatalf("unexpected value %v in the definition", v)
		return ""
	}
	return []byte(resolve(def))
}

// asl is the part of the Amazon States Language the tests read.
type asl struct {
	StartAt string
	States  map[string]aslState
}

type aslState struct {
	Type           string
	Next           string
	End            bool
	Resource       string
	ResultPath     *string
	TimeoutSeconds float64
	Retry          []aslRetry
	Catch          []aslCatch
	Parameters     map[string]any
	Choices        []map[string]any
	Default        string
	ErrorPath      string
	CausePath      string
	ItemsPath      string
	ItemSelector   map[string]any
	MaxConcurrency float64
	ItemProcessor  *aslProcessor
}

type aslProcessor struct {
	ProcessorConfig map[string]any
	StartAt         string
	States          map[string]aslState
}

type aslRetry struct {
	ErrorEquals     []string
	IntervalSeconds float64
	MaxAttempts     float64
	BackoffRate     float64
	MaxDelaySeconds float64
	JitterStrategy  string
}

type aslCatch struct {
	ErrorEquals []string
	ResultPath  string
	Next        string
}

func parseASL(t *testing.T, def []byte) asl {
	t.Helper()
	var m asl
	if err := json.Unmarshal(def, &m); err != nil {
		t.Fatalf("definition is not JSON: %v\n%s", err, def)
	}
	return m
}

func TestStateMachineOrder(t *testing.T) {
	s := defaultApp(t)
	m := parseASL(t, s.definition(t))
	var order []string
	for name := m.StartAt; name != ""; name = m.States[name].Next {
		order = append(order, name)
		if len(order) > len(m.States) {
			t.Fatalf("the states loop: %v", order)
		}
		if name == StateAssetSyncFansOut { // the way without a fan-out (assetsyncmap_test.go)
			order = append(order, m.States[name].Default)
			name = m.States[name].Default
		}
	}
	// After asset-sync, the choice of its fan-out (and, off this way, its
	// Map and its apply: three more states).
	want := append([]string{citadel.StepPlan, citadel.StepAssetSync, StateAssetSyncFansOut}, citadel.StepOrder[2:]...)
	want = append(want, StateOutcome)
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("states in order (-want +got):\n%s", diff)
	}
	outcome := m.States[StateOutcome]
	wantChoice := []map[string]any{{"Variable": ErrorPath, "IsPresent": true, "Next": StateFailed}}
	if diff := cmp.Diff(wantChoice, outcome.Choices); diff != "" || outcome.Default != StateSucceeded {
		t.Errorf("outcome choice (-want +got):\n%s default %q", diff, outcome.Default)
	}
	if f := m.States[StateFailed]; f.Type != "Fail" || f.ErrorPath != "$.error.Error" || f.CausePath != "$.error.Cause" {
		t.Errorf("fail state = %+v", f)
	}
	if st := m.States[StateSucceeded]; st.Type != "Succeed" {
		t.Errorf("succeed state = %+v", st)
	}
	if len(m.States) != len(want)+4 {
		t.Errorf("%d states, want %d", len(m.States), len(want)+4)
	}
}

func TestStateMachineRetriesAndCatches(t *testing.T) {
	s := defaultApp(t)
	m := parseASL(t, s.definition(t))
	specs := map[string]FunctionSpec{}
	for _, sp := range FunctionSpecs {
		specs[sp.Name] = sp
	}
	for _, step := range citadel.StepOrder {
		st, ok := m.States[step]
		if !ok {
			t.Errorf("no state %s", step)
			continue
		}
		t.Run(step, func(t *testing.T) {
			// Where the output goes.
			var rp any
			if st.ResultPath != nil {
				rp = *st.ResultPath
			}
			wantRP := any(ResultPaths[step])
			if ResultPaths[step] == "DISCARD" {
				wantRP = nil
			}
			if rp != wantRP {
				t.Errorf("ResultPath = %v, want %v", rp, wantRP)
			}
			// The catch: every state but finalize sends any error to finalize.
			wantCatch := []aslCatch{{ErrorEquals: []string{"States.ALL"}, ResultPath: ErrorPath, Next: citadel.StepFinalize}}
			if step == citadel.StepFinalize {
				wantCatch = nil
			}
			if diff := cmp.Diff(wantCatch, st.Catch); diff != "" {
				t.Errorf("Catch (-want +got):\n%s", diff)
			}
			if step == citadel.StepProwler {
				// The Map retries nothing itself: each item's task does.
				if st.Type != "Map" || len(st.Retry) != 0 || st.ItemProcessor == nil {
					t.Fatalf("prowler is a %s with %d retriers, want a Map of the task", st.Type, len(st.Retry))
				}
				st = st.ItemProcessor.States[StateProwlerTask]
				if len(st.Retry) != 1 {
					t.Fatalf("the task has %d retriers, want 1", len(st.Retry))
				}
				if diff := cmp.Diff(ECSRetryableErrors, st.Retry[0].ErrorEquals); diff != "" {
					t.Errorf("retried errors (-want +got):\n%s", diff)
				}
				if st.TimeoutSeconds != ProwlerStateTimeout.Seconds() {
					t.Errorf("timeout %vs, want %v", st.TimeoutSeconds, ProwlerStateTimeout)
				}
				if st.Resource != "arn:aws:states:::ecs:runTask.sync" {
					t.Errorf("resource %s, want RunTask .sync", st.Resource)
				}
				return
			}
			if len(st.Retry) != 1 {
				t.Fatalf("%d retriers, want 1", len(st.Retry))
			}
			r := st.Retry[0]
			want := append([]string{citadel.ErrorTypeRetryable}, LambdaServiceErrors...)
			if diff := cmp.Diff(want, r.ErrorEquals); diff != "" {
				t.Errorf("retried errors (-want +got):\n%s", diff)
			}
			if r.MaxAttempts != float64(specs[step].Retries) || r.MaxAttempts < 3 || r.BackoffRate != 2 || r.JitterStrategy != "FULL" || r.MaxDelaySeconds != 60 {
				t.Errorf("retry = %+v", r)
			}
			wantTimeout := (specs[step].Timeout + time.Minute).Seconds()
			if st.TimeoutSeconds != wantTimeout {
				t.Errorf("timeout %vs, want %vs (the function's timeout and a minute)", st.TimeoutSeconds, wantTimeout)
			}
			if step == citadel.StepPlan {
				// plan gets the execution input and the execution's ARN.
				if diff := cmp.Diff(PlanPayload, st.Parameters); !strings.HasPrefix(st.Resource, "arn:aws:lambda:") || diff != "" {
					t.Errorf("resource %s, parameters (-want +got):\n%s", st.Resource, diff)
				}
				return
			}
			if !strings.HasPrefix(st.Resource, "arn:aws:lambda:") || st.Parameters != nil {
				t.Errorf("resource %s with parameters %v: want the function itself, given the whole state", st.Resource, st.Parameters)
			}
		})
	}
}

// TestStateMachineProwlerMap: the prowler state maps the plan's shards, at
// most prowlerShardConcurrency at once (inline), each item the shard's task
// input only, its task ending as its outcome (succeeded or caught), the
// outcomes at $.prowler.
func TestStateMachineProwlerMap(t *testing.T) {
	for name, tc := range map[string]struct {
		s           *synthesized
		concurrency float64
	}{"default": {defaultApp(t), DefaultProwlerConcurrency}, "custom": {customApp(t), 30}} {
		t.Run(name, func(t *testing.T) {
			m := parseASL(t, tc.s.definition(t)).States[citadel.StepProwler]
			if m.Type != "Map" || m.ItemsPath != "$.plan.shards" || m.MaxConcurrency != tc.concurrency || m.ResultPath == nil || *m.ResultPath != "$.prowler" {
				t.Fatalf("map = type %s items %s concurrency %v result %v", m.Type, m.ItemsPath, m.MaxConcurrency, m.ResultPath)
			}
			wantSelector := map[string]any{"shard.$": "$$.Map.Item.Value", "plan": map[string]any{
				"scan_id.$": "$.plan.scan_id", "bucket.$": "$.plan.bucket", "role_arn.$": "$.plan.role_arn", "external_id.$": "$.plan.external_id"}}
			if d := cmp.Diff(wantSelector, m.ItemSelector); d != "" {
				t.Errorf("item selector (-want +got):\n%s", d)
			}
			p := m.ItemProcessor
			if p.ProcessorConfig["Mode"] != "INLINE" || p.StartAt != StateProwlerTask || len(p.States) != 7 {
				t.Fatalf("item processor = %+v", p)
			}
			task := p.States[StateProwlerTask]
			wantCatch := []aslCatch{{ErrorEquals: []string{"States.ALL"}, ResultPath: ErrorPath, Next: StateShardFailedHow}}
			if d := cmp.Diff(wantCatch, task.Catch); d != "" || task.Next != StateShardSucceeded {
				t.Errorf("task next %s, catch (-want +got):\n%s", task.Next, d)
			}
			ok, failed := p.States[StateShardSucceeded], p.States[StateShardFailed]
			if d := cmp.Diff(map[string]any{"shard_id.$": "$.shard.id"}, ok.Parameters); d != "" || ok.Type != "Pass" || !ok.End {
				t.Errorf("%s %s end %v (-want +got):\n%s", StateShardSucceeded, ok.Type, ok.End, d)
			}
			wantFailed := map[string]any{"shard_id.$": "$.shard.id", "error.$": "$.error.Error", "cause.$": "$.error.Cause"}
			if d := cmp.Diff(wantFailed, failed.Parameters); d != "" || failed.Type != "Pass" || !failed.End {
				t.Errorf("%s %s end %v (-want +got):\n%s", StateShardFailed, failed.Type, failed.End, d)
			}
			// A task that stopped badly: its cause, the task description,
			// is parsed and selected down to the stop reason and exit codes.
			how, read, stopped, stop := p.States[StateShardFailedHow], p.States[StateShardTaskRead], p.States[StateShardStopped], p.States[StateShardTaskStop]
			wantHow := []map[string]any{{"And": []any{
				map[string]any{"Variable": "$.error.Error", "StringEquals": "States.TaskFailed"},
				map[string]any{"Variable": "$.error.Cause", "StringMatches": "{*}"}}, "Next": StateShardTaskRead}}
			if d := cmp.Diff(wantHow, how.Choices); d != "" || how.Type != "Choice" || how.Default != StateShardFailed {
				t.Errorf("%s %s default %s (-want +got):\n%s", StateShardFailedHow, how.Type, how.Default, d)
			}
			wantRead := map[string]any{"shard.$": "$.shard", "error.$": "$.error", "task.$": "States.StringToJson($.error.Cause)"}
			if d := cmp.Diff(wantRead, read.Parameters); d != "" || read.Type != "Pass" || read.Next != StateShardStopped {
				t.Errorf("%s %s next %s (-want +got):\n%s", StateShardTaskRead, read.Type, read.Next, d)
			}
			wantStopped := []map[string]any{{"Variable": "$.task.StoppedReason", "IsPresent": true, "Next": StateShardTaskStop}}
			if d := cmp.Diff(wantStopped, stopped.Choices); d != "" || stopped.Type != "Choice" || stopped.Default != StateShardFailed {
				t.Errorf("%s %s default %s (-want +got):\n%s", StateShardStopped, stopped.Type, stopped.Default, d)
			}
			wantStop := map[string]any{"shard_id.$": "$.shard.id", "error.$": "$.error.Error", "task": map[string]any{
				"stopped_reason.$": "$.task.StoppedReason", "exit_codes.$": "$.task.Containers[*].ExitCode"}}
			if d := cmp.Diff(wantStop, stop.Parameters); d != "" || stop.Type != "Pass" || !stop.End {
				t.Errorf("%s %s end %v (-want +got):\n%s", StateShardTaskStop, stop.Type, stop.End, d)
			}
		})
	}
}

func TestStateMachineProwlerTask(t *testing.T) {
	s := defaultApp(t)
	st := parseASL(t, s.definition(t)).States[citadel.StepProwler].ItemProcessor.States[StateProwlerTask]
	params, _ := json.Marshal(st.Parameters)
	var p struct {
		LaunchType           string
		TaskDefinition       string
		NetworkConfiguration struct {
			AwsvpcConfiguration struct {
				AssignPublicIp string
				Subnets        []string
				SecurityGroups []string
			}
		}
		Overrides struct {
			ContainerOverrides []struct {
				Name        string
				Environment []map[string]string
			}
		}
	}
	if err := json.Unmarshal(params, &p); err != nil {
		t.Fatal(err)
	}
	net := p.NetworkConfiguration.AwsvpcConfiguration
	if p.LaunchType != "FARGATE" || net.AssignPublicIp != "ENABLED" || len(net.Subnets) != 2 || len(net.SecurityGroups) != 1 {
		t.Errorf("run task parameters = %+v", p)
	}
	if len(p.Overrides.ContainerOverrides) != 1 || p.Overrides.ContainerOverrides[0].Name != ProwlerContainerName {
		t.Fatalf("container overrides = %+v", p.Overrides)
	}
	want := []map[string]string{
		{"Name": citadel.EnvTaskScanID, "Value.$": "$.plan.scan_id"},
		{"Name": citadel.EnvBucket, "Value.$": "$.plan.bucket"},
		{"Name": citadel.EnvTaskRoleARN, "Value.$": "$.plan.role_arn"},
		{"Name": citadel.EnvTaskExternalID, "Value.$": "$.plan.external_id"},
		{"Name": citadel.EnvTaskShardID, "Value.$": "$.shard.id"},
		{"Name": citadel.EnvTaskChecksKey, "Value.$": "$.shard.checks_key"},
		{"Name": citadel.EnvTaskOCSFKey, "Value.$": "$.shard.ocsf_key"},
		{"Name": citadel.EnvTaskManifestKey, "Value.$": "$.shard.manifest_key"},
		{"Name": citadel.EnvTaskRegions, "Value.$": "$.shard.regions_arg"},
		{"Name": citadel.EnvTaskMode, "Value": "scan"},
	}
	if diff := cmp.Diff(want, p.Overrides.ContainerOverrides[0].Environment); diff != "" {
		t.Errorf("container environment (-want +got):\n%s", diff)
	}
}

// TestStateMachinePayloadContract: the paths the definition reads exist in
// the plan step's JSON even when empty (a missing path is an uncatchable
// States.Runtime error), and the ResultPaths and the catch's error path are
// the fields finalize reads.
func TestStateMachinePayloadContract(t *testing.T) {
	planJSON, err := json.Marshal(citadel.PlanOutput{})
	if err != nil {
		t.Fatal(err)
	}
	var plan map[string]any
	if err := json.Unmarshal(planJSON, &plan); err != nil {
		t.Fatal(err)
	}
	// The Map's items are the plan's shards; each item's task reads a
	// ShardTask, built by the item selector from the plan and the shard.
	if key := strings.TrimPrefix(ShardsPath, ResultPaths[citadel.StepPlan]+"."); key != "shards" {
		t.Errorf("the Map reads %s", ShardsPath)
	} else if f, ok := reflect.TypeOf(citadel.PlanOutput{}).FieldByName("Shards"); !ok || !strings.HasPrefix(f.Tag.Get("json"), key+",") {
		t.Errorf("citadel.PlanOutput has no %q", key)
	}
	for name, path := range ShardItemSelector["plan"].(map[string]any) {
		key := strings.TrimPrefix(path.(string), "$.plan.")
		if _, ok := plan[key]; !ok || name != key+".$" {
			t.Errorf("the item selector passes %s from %s, which an empty citadel.PlanOutput leaves out", name, path)
		}
	}
	taskJSON, _ := json.Marshal(citadel.ShardTask{})
	var item map[string]any
	if err := json.Unmarshal(taskJSON, &item); err != nil {
		t.Fatal(err)
	}
	for _, e := range citadel.ProwlerTaskEnvironment {
		parts := strings.Split(strings.TrimPrefix(e.Path, "$."), ".")
		v, ok := any(item), len(parts) == 2
		for _, p := range parts {
			if m, isMap := v.(map[string]any); isMap {
				v, ok = m[p]
			} else {
				ok = false
			}
		}
		if _, isString := v.(string); !ok || !isString {
			t.Errorf("%s reads %s, which an empty citadel.ShardTask leaves out", e.Name, e.Path)
		}
		if strings.HasPrefix(e.Path, "$.plan.") && ShardItemSelector["plan"].(map[string]any)[parts[1]+".$"] == nil {
			t.Errorf("%s reads %s, which the item selector does not pass", e.Name, e.Path)
		}
	}

	fields := map[string]bool{}
	ft := reflect.TypeOf(citadel.FinalizeInput{})
	for i := 0; i < ft.NumField(); i++ {
		name, _, _ := strings.Cut(ft.Field(i).Tag.Get("json"), ",")
		fields[name] = true
	}
	inputs := map[string]reflect.Type{
		citadel.StepAssetSync: reflect.TypeOf(citadel.AssetSyncInput{}), citadel.StepCheckResults: reflect.TypeOf(citadel.CheckResultsInput{}),
		citadel.StepControls: reflect.TypeOf(citadel.ControlsInput{}), citadel.StepPolicies: reflect.TypeOf(citadel.PoliciesInput{}),
		citadel.StepEvidence: reflect.TypeOf(citadel.EvidenceInput{}),
	}
	for _, step := range citadel.StepOrder {
		rp := ResultPaths[step]
		if step == citadel.StepFinalize {
			continue
		}
		key := strings.TrimPrefix(rp, "$.")
		if !fields[key] {
			t.Errorf("%s's output goes to %s, which citadel.FinalizeInput does not read", step, rp)
		}
		// Each later step reads the plan from the whole state.
		if in, ok := inputs[step]; ok {
			f, ok := in.FieldByName("Plan")
			if !ok || f.Tag.Get("json") != strings.TrimPrefix(ResultPaths[citadel.StepPlan], "$.") {
				t.Errorf("%s's input does not read the plan at %s", step, ResultPaths[citadel.StepPlan])
			}
		}
	}
	// check-results reads the Map's outcomes where the Map puts them.
	if f, ok := reflect.TypeOf(citadel.CheckResultsInput{}).FieldByName("Prowler"); !ok ||
		!strings.HasPrefix(f.Tag.Get("json"), strings.TrimPrefix(ResultPaths[citadel.StepProwler], "$.")+",") {
		t.Errorf("citadel.CheckResultsInput does not read the shards' outcomes at %s", ResultPaths[citadel.StepProwler])
	}
	if !fields["scan"] || !fields[strings.TrimPrefix(ErrorPath, "$.")] {
		t.Errorf("citadel.FinalizeInput reads neither the execution input \"scan\" nor the error at %s", ErrorPath)
	}
	if f, _ := reflect.TypeOf(citadel.PlanInput{}).FieldByName("Scan"); f.Tag.Get("json") != "scan" {
		t.Errorf("the plan step does not read the execution input at $.scan")
	}
	// The plan state's payload fields are citadel.PlanInput's.
	planIn := map[string]bool{}
	pt := reflect.TypeOf(citadel.PlanInput{})
	for i := 0; i < pt.NumField(); i++ {
		name, _, _ := strings.Cut(pt.Field(i).Tag.Get("json"), ",")
		planIn[name+".$"] = true
	}
	for k := range PlanPayload {
		if !planIn[k] {
			t.Errorf("the plan state passes %s, which citadel.PlanInput does not read", k)
		}
	}
	if len(PlanPayload) != len(planIn) {
		t.Errorf("the plan state passes %d fields, citadel.PlanInput reads %d", len(PlanPayload), len(planIn))
	}
}

func TestStateMachineResource(t *testing.T) {
	s := defaultApp(t)
	for _, sm := range s.resources("AWS::StepFunctions::StateMachine") {
		p := sm["Properties"].(map[string]any)
		if p["StateMachineType"] != "STANDARD" {
			t.Errorf("type %v, want STANDARD (RunTask .sync and executions named by scan id)", p["StateMachineType"])
		}
		if p["TracingConfiguration"].(map[string]any)["Enabled"] != true {
			t.Error("tracing off")
		}
		if lc := p["LoggingConfiguration"].(map[string]any); lc["Level"] != "ALL" || lc["IncludeExecutionData"] != false {
			t.Errorf("logging = %v", lc)
		}
	}
	def := parseASLRaw(t, s.definition(t))
	if def["TimeoutSeconds"] != ExecutionTimeout.Seconds() {
		t.Errorf("execution timeout %v, want %v", def["TimeoutSeconds"], ExecutionTimeout.Seconds())
	}
}

func parseASLRaw(t *testing.T, def []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(def, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// aslValidator finds asl-validator: ASL_VALIDATOR, .tools/ (make tools), or PATH.
func aslValidator(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ASL_VALIDATOR"); p != "" {
		return p
	}
	if p, err := filepath.Abs("../.tools/node_modules/.bin/asl-validator"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("asl-validator"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("asl-validator not found: run make tools")
	}
	t.Skip("asl-validator not found: run make tools")
	return ""
}

func TestStateMachineASLValid(t *testing.T) {
	bin := aslValidator(t)
	s := defaultApp(t)
	path := filepath.Join(t.TempDir(), "scan.asl.json")
	if err := os.WriteFile(path, s.definition(t), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--json-path", path).CombinedOutput()
	if err != nil {
		t.Fatalf("asl-validator: %v\n%s", err, out)
	}
	t.Logf("asl-validator: %s", strings.TrimSpace(string(out)))

	// And it fails on a broken definition, so the check above means something.
	broken := strings.Replace(string(s.definition(t)), `"Next":"asset-sync"`, `"Next":"nowhere"`, 1)
	if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "--json-path", path).CombinedOutput(); err == nil {
		t.Errorf("asl-validator accepted a definition with a dangling Next:\n%s", out)
	}
}

// TestProwlerDeadlineBeforeStateTimeout: the task stops itself (and writes
// its manifest) before Step Functions would give up on the state.
func TestProwlerDeadlineBeforeStateTimeout(t *testing.T) {
	d, err := time.ParseDuration(ProwlerTaskDeadline)
	if err != nil {
		t.Fatal(err)
	}
	if d <= 0 || d+15*time.Minute > ProwlerStateTimeout {
		t.Errorf("task deadline %v leaves less than 15 minutes before the state's timeout %v", d, ProwlerStateTimeout)
	}
	if ProwlerStateTimeout >= ExecutionTimeout {
		t.Errorf("the Prowler state's timeout %v is not within the execution's %v", ProwlerStateTimeout, ExecutionTimeout)
	}
}
