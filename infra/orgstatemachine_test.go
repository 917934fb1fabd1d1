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

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// orgASL is the part of the organization definition the tests read: the
// top-level states, and the Map's.
type orgASL struct {
	StartAt        string
	TimeoutSeconds float64
	States         map[string]orgState
}

type orgState struct {
	aslState
	ItemsPath      string
	ItemSelector   map[string]any
	MaxConcurrency float64
	ItemProcessor  *struct {
		ProcessorConfig struct{ Mode string }
		StartAt         string
		States          map[string]orgState
	}
}

func (s *synthesized) orgDefinition(t *testing.T) (orgASL, []byte) {
	t.Helper()
	def := s.definitionOf(t, s.stacks.Main.OrgStateMachine)
	var m orgASL
	if err := json.Unmarshal(def, &m); err != nil {
		t.Fatalf("definition is not JSON: %v\n%s", err, def)
	}
	return m, def
}

// chainOf follows Next from start; it stops at a state without one.
func chainOf(t *testing.T, states map[string]orgState, start string) []string {
	t.Helper()
	var order []string
	for name := start; name != ""; name = states[name].Next {
		order = append(order, name)
		if len(order) > len(states) {
			t.Fatalf("the states loop: %v", order)
		}
	}
	return order
}

// The organization scan: org-plan → org-sync → members (the Map) →
// org-summary → org-outcome; org-plan, org-sync and the Map catch any
// error into org-summary; every Lambda state retries as the scan's do.
func TestOrgStateMachineStates(t *testing.T) {
	s := defaultApp(t)
	m, _ := s.orgDefinition(t)
	want := []string{citadel.StepOrgPlan, citadel.StepOrgSync, StateOrgMembers, citadel.StepOrgSummary, StateOrgOutcome}
	if d := cmp.Diff(want, chainOf(t, m.States, m.StartAt)); d != "" {
		t.Errorf("states in order (-want +got):\n%s", d)
	}
	if len(m.States) != len(want)+2 {
		t.Errorf("%d states, want %d", len(m.States), len(want)+2)
	}
	outcome := m.States[StateOrgOutcome]
	wantChoice := []map[string]any{{"Variable": ErrorPath, "IsPresent": true, "Next": StateOrgFailed}}
	if d := cmp.Diff(wantChoice, outcome.Choices); d != "" || outcome.Default != StateOrgSucceeded {
		t.Errorf("outcome (-want +got):\n%s default %q", d, outcome.Default)
	}
	if f := m.States[StateOrgFailed]; f.Type != "Fail" || f.ErrorPath != "$.error.Error" || f.CausePath != "$.error.Cause" {
		t.Errorf("fail state = %+v", f)
	}
	if m.TimeoutSeconds != OrgExecutionTimeout.Seconds() {
		t.Errorf("execution timeout %vs, want %v", m.TimeoutSeconds, OrgExecutionTimeout)
	}

	wantParams := map[string]map[string]any{
		citadel.StepOrgPlan: PlanPayload, citadel.StepOrgSync: OrgSyncPayload, citadel.StepOrgSummary: nil,
	}
	for _, step := range []string{citadel.StepOrgPlan, citadel.StepOrgSync, StateOrgMembers, citadel.StepOrgSummary} {
		t.Run(step, func(t *testing.T) {
			st := m.States[step]
			var wantCatch []aslCatch
			if step != citadel.StepOrgSummary {
				wantCatch = []aslCatch{{ErrorEquals: []string{"States.ALL"}, ResultPath: ErrorPath, Next: citadel.StepOrgSummary}}
			}
			if d := cmp.Diff(wantCatch, st.Catch); d != "" {
				t.Errorf("Catch (-want +got):\n%s", d)
			}
			if st.ResultPath == nil || *st.ResultPath != OrgResultPaths[step] && step != StateOrgMembers {
				t.Errorf("ResultPath %v, want %s", st.ResultPath, OrgResultPaths[step])
			}
			if step == StateOrgMembers {
				return
			}
			checkLambdaState(t, st.aslState, step, wantParams[step])
		})
	}
}

// checkLambdaState: the function's state, its payload (nil: the whole
// state), the retries and timeout of its FunctionSpec.
func checkLambdaState(t *testing.T, st aslState, step string, params map[string]any) {
	t.Helper()
	spec := specOf(step)
	if !strings.HasPrefix(st.Resource, "arn:aws:lambda:") || !strings.Contains(st.Resource, "Fn"+strings.ReplaceAll(step, "-", "")) {
		t.Errorf("resource %s, want the %s function", st.Resource, step)
	}
	if d := cmp.Diff(params, st.Parameters); d != "" {
		t.Errorf("parameters (-want +got):\n%s", d)
	}
	if len(st.Retry) != 1 {
		t.Fatalf("%d retriers, want 1", len(st.Retry))
	}
	r := st.Retry[0]
	if d := cmp.Diff(append([]string{citadel.ErrorTypeRetryable}, LambdaServiceErrors...), r.ErrorEquals); d != "" {
		t.Errorf("retried errors (-want +got):\n%s", d)
	}
	if r.MaxAttempts != float64(spec.Retries) || r.MaxAttempts < 3 || r.BackoffRate != 2 || r.JitterStrategy != "FULL" || r.MaxDelaySeconds != 60 {
		t.Errorf("retry = %+v", r)
	}
	if want := (spec.Timeout + time.Minute).Seconds(); st.TimeoutSeconds != want {
		t.Errorf("timeout %vs, want %vs", st.TimeoutSeconds, want)
	}
}

// The Map: over org-sync's ids, so many at once (the context's, or 10),
// each item the member and the organization scan; each item runs
// org-member, then the scan state machine as a child execution
// (startExecution.sync:2, named by the member scan's id, associated with
// the parent), and ends as a small result; any error of an item is caught
// into its result, never the Map's.
func TestOrgStateMachineMap(t *testing.T) {
	for name, tc := range map[string]struct {
		s           *synthesized
		concurrency float64
	}{"default": {defaultApp(t), DefaultOrgConcurrency}, "custom": {customApp(t), 25}} {
		t.Run(name, func(t *testing.T) {
			m, _ := tc.s.orgDefinition(t)
			mp := m.States[StateOrgMembers]
			if mp.Type != "Map" || mp.ItemsPath != "$.sync.scan" || mp.MaxConcurrency != tc.concurrency || *mp.ResultPath != "$.members" {
				t.Errorf("map = type %s items %s concurrency %v result %v", mp.Type, mp.ItemsPath, mp.MaxConcurrency, *mp.ResultPath)
			}
			if d := cmp.Diff(MemberItemSelector, mp.ItemSelector); d != "" {
				t.Errorf("item selector (-want +got):\n%s", d)
			}
			p := mp.ItemProcessor
			if p == nil || p.ProcessorConfig.Mode != "INLINE" || p.StartAt != citadel.StepOrgMember {
				t.Fatalf("item processor = %+v", p)
			}
			items := p.States
			if d := cmp.Diff([]string{citadel.StepOrgMember, StateMemberStarted}, chainOf(t, items, p.StartAt)); d != "" {
				t.Errorf("item states (-want +got):\n%s", d)
			}
			checkLambdaState(t, items[citadel.StepOrgMember].aslState, citadel.StepOrgMember, nil)
			if rp := items[citadel.StepOrgMember].ResultPath; rp != nil {
				t.Errorf("org-member's ResultPath %s, want its result as the item's state", *rp)
			}
			caught := []aslCatch{{ErrorEquals: []string{"States.ALL"}, ResultPath: ErrorPath, Next: StateMemberFailed}}
			for _, st := range []string{citadel.StepOrgMember, StateMemberScan} {
				if d := cmp.Diff(caught, items[st].Catch); d != "" {
					t.Errorf("%s's Catch (-want +got):\n%s", st, d)
				}
			}
			choice := items[StateMemberStarted]
			wantChoice := []map[string]any{{"Variable": "$.status", "StringEquals": string(citadel.MemberStarted), "Next": StateMemberScan}}
			if d := cmp.Diff(wantChoice, choice.Choices); d != "" || choice.Default != StateMemberNotStarted {
				t.Errorf("member-started (-want +got):\n%s default %q", d, choice.Default)
			}

			scan := items[StateMemberScan]
			accountSM := tc.s.logicalID(tc.s.stacks.Main.StateMachine)
			wantScan := map[string]any{
				"StateMachineArn": accountSM, "Name.$": "$.scan_id",
				"Input": map[string]any{"scan.$": "$.scan", "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"},
			}
			if scan.Resource != "arn:aws:states:::states:startExecution.sync:2" || scan.Next != StateMemberScanned || scan.ResultPath != nil {
				t.Errorf("member-scan: resource %s next %s result path %v", scan.Resource, scan.Next, scan.ResultPath)
			}
			if d := cmp.Diff(wantScan, scan.Parameters); d != "" {
				t.Errorf("member-scan parameters (-want +got):\n%s", d)
			}
			if scan.TimeoutSeconds != MemberScanTimeout.Seconds() || MemberScanTimeout <= ExecutionTimeout {
				t.Errorf("member-scan timeout %vs, want %v (past the child's own)", scan.TimeoutSeconds, MemberScanTimeout)
			}
			if len(scan.Retry) != 1 || cmp.Diff(MemberStartErrors, scan.Retry[0].ErrorEquals) != "" {
				t.Errorf("member-scan retries %+v, want only %v (a child that ran is not run again)", scan.Retry, MemberStartErrors)
			}
			for st, want := range map[string]map[string]any{StateMemberScanned: MemberScannedResult, StateMemberFailed: MemberFailedResult} {
				if got := items[st]; got.Type != "Pass" || !got.End || cmp.Diff(want, got.Parameters) != "" {
					t.Errorf("%s = %+v, want a Pass ending the item with %v", st, got, want)
				}
			}
			if got := items[StateMemberNotStarted]; got.Type != "Succeed" {
				t.Errorf("%s = %+v, want Succeed", StateMemberNotStarted, got)
			}
			if len(items) != 6 {
				t.Errorf("%d item states, want 6", len(items))
			}
		})
	}
}

// jsonFields are a type's JSON field names.
func jsonFields(v any) map[string]bool {
	out := map[string]bool{}
	t := reflect.TypeOf(v)
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out[name] = true
	}
	return out
}

// TestOrgStateMachinePayloadContract: every field the definition passes is
// one the handler reads, every path it reads is one the previous state
// writes (a missing path is an uncatchable States.Runtime error).
func TestOrgStateMachinePayloadContract(t *testing.T) {
	keys := func(m map[string]any) []string {
		var out []string
		for k := range m {
			out = append(out, strings.TrimSuffix(k, ".$"))
		}
		return out
	}
	for _, c := range []struct {
		what   string
		passed []string
		reads  any
	}{
		{"org-sync's payload", keys(OrgSyncPayload), citadel.OrgSyncInput{}},
		{"the Map's items", keys(MemberItemSelector), citadel.OrgMemberInput{}},
		{"an item's result", append(keys(MemberScannedResult), keys(MemberFailedResult)...), citadel.OrgMemberResult{}},
		{"the state at org-summary", append([]string{"scan", citadel.StateErrorKey},
			strings.TrimPrefix(OrgResultPaths[citadel.StepOrgPlan], "$."), strings.TrimPrefix(OrgResultPaths[citadel.StepOrgSync], "$."),
			strings.TrimPrefix(OrgResultPaths[citadel.StepOrgMember], "$.")), citadel.OrgSummaryInput{}},
		{"the child's input", keys(MemberScanInput), citadel.PlanInput{}},
	} {
		fields := jsonFields(c.reads)
		for _, k := range c.passed {
			if !fields[k] {
				t.Errorf("%s passes %s, which %T does not read", c.what, k, c.reads)
			}
		}
	}
	// What the item's states read of org-member's result, and the Map of org-sync's.
	result := jsonFields(citadel.OrgMemberResult{})
	for _, k := range []string{"scan_id", "scan", "status", "integration_id"} {
		if !result[k] {
			t.Errorf("the item reads $.%s, which citadel.OrgMemberResult does not write", k)
		}
	}
	if !jsonFields(citadel.OrgSyncOutput{})["scan"] {
		t.Error("the Map reads $.sync.scan, which citadel.OrgSyncOutput does not write")
	}
	if !jsonFields(citadel.PlanInput{})["scan"] {
		t.Error("the execution input's scan is not citadel.PlanInput's")
	}
}

// The organization state machine's role: its own functions, the scan
// state machine started (.sync: its executions described and stopped, the
// managed rule Step Functions waits on), nothing else; the API and the
// scheduler may start it.
func TestOrgStateMachineGrants(t *testing.T) {
	s := defaultApp(t)
	main := s.stacks.Main
	role := roleOf(s.props(t, s.logicalID(main.OrgStateMachine)), "RoleArn")
	sts := s.statements(role)
	account := s.logicalID(main.StateMachine)
	executions := `^arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:\{"Fn::Select":\[6,\{"Fn::Split":\[":",\{"Ref":"` + account + `"\}\]\}\]\}\*$`
	rule := `^arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule$`
	for _, g := range []struct{ action, resource string }{
		{"states:StartExecution", "^<" + account + ">$"},
		{"states:DescribeExecution", executions}, {"states:StopExecution", executions},
		{"events:PutTargets", rule}, {"events:PutRule", rule}, {"events:DescribeRule", rule},
	} {
		if !grants(sts, g.action, g.resource) {
			t.Errorf("no %s on %s (actions: %v)", g.action, g.resource, actions(sts))
		}
	}
	var invoked []string
	for _, st := range sts {
		for _, a := range st.Actions {
			if a != "lambda:InvokeFunction" {
				continue
			}
			for _, r := range st.Resources {
				if !strings.HasSuffix(r, ":*") {
					invoked = append(invoked, r)
				}
			}
		}
	}
	var want []string
	for _, fn := range citadel.OrgStepOrder {
		want = append(want, "<"+s.logicalID(main.Functions.ByName[fn])+".Arn>")
	}
	if d := cmp.Diff(want, invoked, sortStrings); d != "" {
		t.Errorf("functions invoked (-want +got):\n%s", d)
	}
	for _, a := range actions(sts) {
		switch {
		case strings.HasPrefix(a, "lambda:"), strings.HasPrefix(a, "states:"), strings.HasPrefix(a, "events:"),
			strings.HasPrefix(a, "xray:"), strings.HasPrefix(a, "logs:"):
		default:
			t.Errorf("the organization state machine may %s", a)
		}
	}

	org := "^<" + s.logicalID(main.OrgStateMachine) + ">$"
	api := s.statements(roleOf(s.props(t, s.logicalID(main.Functions.ByName[FnAPI])), "Role"))
	scheduler := s.statements(s.logicalID(main.Scheduler.Role))
	if !grants(api, "states:StartExecution", org) || !grants(scheduler, "states:StartExecution", org) {
		t.Error("the API or the scheduler's role may not start the organization state machine")
	}
	orgExecutions := `:execution:\{"Fn::Select":\[6,\{"Fn::Split":\[":",\{"Ref":"` + s.logicalID(main.OrgStateMachine) + `"\}\]\}\]\}:\*$`
	if !grants(api, "states:StopExecution", orgExecutions) || !grants(api, "states:DescribeExecution", orgExecutions) {
		t.Error("the API may not stop or describe organization executions (cancel, the lock)")
	}
}

var sortStrings = cmpopts.SortSlices(func(a, b string) bool { return a < b })

// TestEveryStateMachineASLValid: asl-validator accepts the definition of
// every state machine of the template (the scan's, the organization's, the
// catalog's, and any added later), in both configurations.
func TestEveryStateMachineASLValid(t *testing.T) {
	bin := aslValidator(t)
	for name, s := range map[string]*synthesized{"default": defaultApp(t), "custom": customApp(t)} {
		ids := s.resources("AWS::StepFunctions::StateMachine")
		if len(ids) < 3 {
			t.Errorf("%s: %d state machines, want the scan's, the organization's and the catalog's", name, len(ids))
		}
		for id := range ids {
			t.Run(name+"/"+id, func(t *testing.T) {
				def := s.definitionOfID(t, id)
				path := filepath.Join(t.TempDir(), "sm.asl.json")
				if err := os.WriteFile(path, def, 0o644); err != nil {
					t.Fatal(err)
				}
				if out, err := exec.Command(bin, "--json-path", path).CombinedOutput(); err != nil {
					t.Fatalf("asl-validator: %v\n%s\n%s", err, out, def)
				}
			})
		}
	}
}

// TestOrgStateMachineRunsOnMoto runs the synthesized definition on moto's
// Step Functions engine (testdata/engine/org_probe.py, with moto_engine.py's
// stand-ins; its Lambda states stood in by Pass states): each member's scan
// is a child execution of the scan state machine named by its scan id, with
// the execution input and the parent's id; the failed child fails its item
// alone, caught into its result, and the Map goes on.
func TestOrgStateMachineRunsOnMoto(t *testing.T) {
	python, err := filepath.Abs("../.venv/bin/python")
	if err == nil {
		_, err = os.Stat(python)
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the project's .venv is missing: run make venv")
		}
		t.Skip("the project's .venv is missing: run make venv")
	}
	s := defaultApp(t)
	_, def := s.orgDefinition(t)
	path := filepath.Join(t.TempDir(), "org.asl.json")
	if err := os.WriteFile(path, def, 0o644); err != nil {
		t.Fatal(err)
	}
	members := []string{"int-a", "int-bad", "int-org"}
	cmd := exec.Command(python, append([]string{"testdata/engine/org_probe.py", path}, members...)...)
	cmd.Env = append(probeEnviron(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1")
	cmd.Stderr = &strings.Builder{}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("org_probe.py: %v\n%s", err, cmd.Stderr)
	}
	var got struct {
		Status string
		Output struct {
			Members []citadel.OrgMemberResult `json:"members"`
		}
		Children []struct {
			Name, Status string
			Input        map[string]any
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	wantMembers := []citadel.OrgMemberResult{
		{IntegrationID: "int-a", Status: citadel.MemberScanned},
		{IntegrationID: "int-bad", Status: citadel.MemberFailed, Reason: "States.TaskFailed"},
		{IntegrationID: "int-org", Status: citadel.MemberScanned},
	}
	if got.Status != "SUCCEEDED" {
		t.Errorf("execution %s, want SUCCEEDED", got.Status)
	}
	if d := cmp.Diff(wantMembers, got.Output.Members); d != "" {
		t.Errorf("the Map's results (-want +got):\n%s", d)
	}
	if len(got.Children) != len(members) {
		t.Fatalf("%d child executions, want %d", len(got.Children), len(members))
	}
	parent := "arn:aws:states:us-east-1:123456789012:execution:OrgScanStateMachine:org-1"
	for _, c := range got.Children {
		id := strings.TrimPrefix(c.Name, "org-1-")
		want := map[string]any{"scan": map[string]any{"scan_id": c.Name, "integration_id": id, "trigger": "organization"},
			"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": parent}
		if d := cmp.Diff(want, c.Input); d != "" {
			t.Errorf("child %s's input (-want +got):\n%s", c.Name, d)
		}
		if wantStatus := map[bool]string{true: "FAILED", false: "SUCCEEDED"}[id == "int-bad"]; c.Status != wantStatus {
			t.Errorf("child %s %s, want %s", c.Name, c.Status, wantStatus)
		}
	}
}

// probeEnviron is the environment of an in-process moto probe: this
// process's without the AWS_ENDPOINT_URL* of a moto server (make test runs
// under one), which would send the probe's boto3 calls past its mock to that
// server, where nothing runs the execution.
func probeEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_ENDPOINT_URL") {
			env = append(env, kv)
		}
	}
	return env
}
