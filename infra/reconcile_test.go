package main

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/scanend"
)

// The rule matches exactly what scanend.EventPattern says (the reconciler's
// tests route events through that pattern on the local EventBridge), for
// the scan and organization state machines, and targets the reconcile function with retries.
func TestReconcileRule(t *testing.T) {
	s := defaultApp(t)
	var onDefault int
	for _, r := range s.resources("AWS::Events::Rule") {
		if _, ok := r["Properties"].(map[string]any)["EventBusName"]; !ok {
			onDefault++
		}
	}
	if onDefault != 2 {
		t.Fatalf("%d rules on the default bus, want 2 (the reconciler's and the exception sweep's schedule)", onDefault)
	}
	p := s.props(t, s.logicalID(s.stacks.Main.Reconcile))
	if _, ok := p["EventBusName"]; ok {
		t.Errorf("the rule is on bus %v, want the default bus (where Step Functions sends its events)", p["EventBusName"])
	}
	sm := "<" + s.logicalID(s.stacks.Main.StateMachine) + ">"
	org := "<" + s.logicalID(s.stacks.Main.OrgStateMachine) + ">"
	var want map[string]any
	b, _ := json.Marshal(scanend.EventPattern(sm, org))
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	got := p["EventPattern"].(map[string]any)
	detail := got["detail"].(map[string]any)
	arns := detail["stateMachineArn"].([]any)
	for i := range arns {
		arns[i] = render(arns[i])
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("event pattern (-want +got):\n%s", d)
	}
	targets := p["Targets"].([]any)
	if len(targets) != 1 {
		t.Fatalf("%d targets, want 1", len(targets))
	}
	tg := targets[0].(map[string]any)
	fn := "<" + s.logicalID(s.stacks.Main.Functions.ByName[FnReconcile]) + ".Arn>"
	if got := render(tg["Arn"]); got != fn {
		t.Errorf("target %s, want %s", got, fn)
	}
	wantRetry := map[string]any{"MaximumRetryAttempts": float64(ReconcileRetries), "MaximumEventAgeInSeconds": float64(ReconcileMaxEventAge * 3600)}
	if d := cmp.Diff(wantRetry, tg["RetryPolicy"]); d != "" {
		t.Errorf("retry policy (-want +got):\n%s", d)
	}
	// EventBridge may invoke the function, from this rule only.
	if !ruleMayInvoke(s, fn, s.logicalID(s.stacks.Main.Reconcile)) {
		t.Error("no permission for the rule to invoke the reconcile function")
	}
}

// ruleMayInvoke says whether a permission lets EventBridge invoke function
// fn (its rendered ARN) from rule ruleID.
func ruleMayInvoke(s *synthesized, fn, ruleID string) bool {
	for _, perm := range s.resources("AWS::Lambda::Permission") {
		pp := perm["Properties"].(map[string]any)
		if pp["Principal"] == "events.amazonaws.com" && render(pp["FunctionName"]) == fn && render(pp["SourceArn"]) == "<"+ruleID+".Arn>" {
			return true
		}
	}
	return false
}
