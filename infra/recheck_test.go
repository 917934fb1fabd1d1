package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// The target stack forwards change events only when CitadelEventBusArn is
// set: its rule and role are conditional, the rule's one target the bus,
// the role's one permission events:PutEvents on it.
func TestChangeForwarder(t *testing.T) {
	tmpl := defaultApp(t).tjson
	p := tmpl["Parameters"].(map[string]any)[ParamEventBusARN].(map[string]any)
	if p["Default"] != "" || p["AllowedPattern"] != eventBusARNPattern {
		t.Errorf("%s parameter %v", ParamEventBusARN, p)
	}
	cond := render(tmpl["Conditions"].(map[string]any)[condForward])
	if !strings.Contains(cond, ParamEventBusARN) {
		t.Errorf("condition %s = %s, want it on %s", condForward, cond, ParamEventBusARN)
	}
	rules := resourcesOf(tmpl, "AWS::Events::Rule")
	if len(rules) != 1 {
		t.Fatalf("%d rules, want 1", len(rules))
	}
	for _, r := range rules {
		if r["Condition"] != condForward {
			t.Errorf("the rule's condition %v, want %s", r["Condition"], condForward)
		}
		props := r["Properties"].(map[string]any)
		sources := []any{}
		for _, s := range citadel.ChangeEventSources() {
			sources = append(sources, s)
		}
		want := map[string]any{"source": sources, "detail-type": []any{citadel.CloudTrailDetailType},
			"detail": map[string]any{"readOnly": []any{false}, "eventCategory": []any{"Management"}}}
		if d := cmp.Diff(want, props["EventPattern"]); d != "" {
			t.Errorf("pattern (-want +got):\n%s", d)
		}
		targets := props["Targets"].([]any)
		if len(targets) != 1 || render(targets[0].(map[string]any)["Arn"]) != "<"+ParamEventBusARN+">" {
			t.Errorf("targets %v, want Citadel's bus alone", targets)
		}
	}
	var forwarder map[string]any
	for _, r := range resourcesOf(tmpl, "AWS::IAM::Role") {
		if r["Condition"] == condForward {
			forwarder = r["Properties"].(map[string]any)
		}
	}
	if forwarder == nil {
		t.Fatal("no conditional forwarder role")
	}
	pol := render(forwarder["Policies"])
	if !strings.Contains(pol, "events:PutEvents") || !strings.Contains(pol, "Ref:"+ParamEventBusARN) || strings.Contains(pol, "*") {
		t.Errorf("forwarder policy %s, want events:PutEvents on the bus alone", pol)
	}
	// The StackSet passes the parameter to every member.
	if ss := customApp(t).stacks.StackSet; ss == nil {
		t.Error("no StackSet stack in the custom app")
	}
}

// The buffer: a rule on the bus into an encrypted queue with a dead-letter
// queue, read by the recheck function in batches over the window, with
// partial batch responses and at most two invocations at once; a message
// can wait past the longest scan before it is dead-lettered.
func TestRecheckBuffer(t *testing.T) {
	for name, tc := range map[string]struct {
		s      *synthesized
		window int
	}{"default": {defaultApp(t), DefaultRecheckWindowSeconds}, "custom": {customApp(t), 120}} {
		t.Run(name, func(t *testing.T) {
			rc := tc.s.stacks.Main.Recheck
			q := tc.s.props(t, tc.s.logicalID(rc.Queue))
			vis := RecheckVisibilityTimeout(tc.window)
			if q["VisibilityTimeout"] != vis.Seconds() || q["SqsManagedSseEnabled"] != true {
				t.Errorf("queue %v", q)
			}
			receives := q["RedrivePolicy"].(map[string]any)["maxReceiveCount"].(float64)
			if wait := time.Duration(receives) * vis; wait < ExecutionTimeout || wait < 6*time.Hour {
				t.Errorf("a message waits %s at most before the dead-letter queue, less than a scan's %s", wait, ExecutionTimeout)
			}
			maps := tc.s.resources("AWS::Lambda::EventSourceMapping")
			if len(maps) != 1 {
				t.Fatalf("%d event source mappings, want 1", len(maps))
			}
			for _, m := range maps {
				p := m["Properties"].(map[string]any)
				got := map[string]any{"BatchSize": p["BatchSize"], "Window": p["MaximumBatchingWindowInSeconds"],
					"Responses": p["FunctionResponseTypes"], "Scaling": p["ScalingConfig"], "Function": render(p["FunctionName"])}
				want := map[string]any{"BatchSize": float64(RecheckBatchSize), "Window": float64(tc.window),
					"Responses": []any{"ReportBatchItemFailures"}, "Scaling": map[string]any{"MaximumConcurrency": float64(RecheckConcurrency)},
					"Function": "<" + tc.s.logicalID(tc.s.stacks.Main.Functions.ByName[FnRecheck]) + ">"}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("event source (-want +got):\n%s", d)
				}
			}
			rule := tc.s.props(t, tc.s.logicalID(rc.Rule))
			if render(rule["EventBusName"]) != "<"+tc.s.logicalID(tc.s.stacks.Main.EventBus)+">" {
				t.Errorf("rule on %v, want Citadel's bus", rule["EventBusName"])
			}
		})
	}
}

// Citadel's bus admits change events from the configured accounts and
// organization alone, of the expected sources and detail-type; with
// neither configured, no other account may put events on it.
func TestChangeEventsBusPolicy(t *testing.T) {
	policies := func(s *synthesized) string {
		var out []string
		for _, r := range s.resources("AWS::Events::EventBusPolicy") {
			out = append(out, render(r["Properties"]))
		}
		return strings.Join(out, "\n")
	}
	if got := policies(defaultApp(t)); strings.Contains(got, sidChangeEventsAccounts) || strings.Contains(got, sidChangeEventsOrganization) {
		t.Errorf("default bus policy admits change events:\n%s", got)
	}
	got := policies(customApp(t))
	for _, want := range []string{sidChangeEventsAccounts, sidChangeEventsOrganization, "111122223333", "444455556666", "o-abcdefghij",
		"events:PutEvents", citadel.CloudTrailDetailType, "aws.s3", "aws:PrincipalOrgID"} {
		if !strings.Contains(got, want) {
			t.Errorf("custom bus policy lacks %q:\n%s", want, got)
		}
	}
}

func TestRecheckContext(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  map[string]string
		want string // "" valid
	}{
		{"none", nil, ""},
		{"accounts", map[string]string{CtxChangeEventAccounts: "111122223333, 444455556666"}, ""},
		{"a bad account", map[string]string{CtxChangeEventAccounts: "111122223333,12"}, `"12" is not a 12-digit account id`},
		{"an account twice", map[string]string{CtxChangeEventAccounts: "111122223333,111122223333"}, "named twice"},
		{"a bad organization", map[string]string{CtxChangeEventOrganization: "org-1"}, "not an organization id"},
		{"a window too long", map[string]string{CtxRecheckWindow: "301"}, "from 0 to 300"},
		{"a window not a number", map[string]string{CtxRecheckWindow: "1m"}, "from 0 to 300"},
		{"no window", map[string]string{CtxRecheckWindow: "0"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			err := readRecheck(&cfg, func(k string) string { return tc.ctx[k] })
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("readRecheck: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("readRecheck = %v, want an error naming %q", err, tc.want)
			}
		})
	}
}
