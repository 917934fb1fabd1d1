package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// The exception sweep runs hourly (a schedule on the default bus) and on
// the API's decisions (a rule on the Citadel bus matching exactly
// citadel.ExceptionDecisionDetailTypes), both targeting its function with
// retries and a permission each; it knows the reminder lead time.
func TestExceptionSweepRules(t *testing.T) {
	s := defaultApp(t)
	sweep := s.stacks.Main.ExceptionSweep
	fn := "<" + s.logicalID(s.stacks.Main.Functions.ByName[FnExcSweep]) + ".Arn>"
	bus := "<" + s.logicalID(s.stacks.Main.EventBus) + ">"
	decisions := make([]any, len(citadel.ExceptionDecisionDetailTypes))
	for i, d := range citadel.ExceptionDecisionDetailTypes {
		decisions[i] = d
	}
	for _, tc := range []struct {
		name string
		id   string
		want map[string]any
	}{
		{"schedule", s.logicalID(sweep.Schedule), map[string]any{"ScheduleExpression": "rate(1 hour)", "EventBusName": nil, "EventPattern": nil}},
		{"decisions", s.logicalID(sweep.Decisions), map[string]any{"ScheduleExpression": nil, "EventBusName": bus,
			"EventPattern": map[string]any{"source": []any{citadel.EventSource}, "detail-type": decisions}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := s.props(t, tc.id)
			got := map[string]any{"ScheduleExpression": p["ScheduleExpression"], "EventBusName": nil, "EventPattern": p["EventPattern"]}
			if b, ok := p["EventBusName"]; ok {
				got["EventBusName"] = render(b)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("rule (-want +got):\n%s", d)
			}
			targets := p["Targets"].([]any)
			if len(targets) != 1 {
				t.Fatalf("%d targets, want 1", len(targets))
			}
			tg := targets[0].(map[string]any)
			if got := render(tg["Arn"]); got != fn {
				t.Errorf("target %s, want %s", got, fn)
			}
			wantRetry := map[string]any{"MaximumRetryAttempts": float64(ExceptionSweepRetries), "MaximumEventAgeInSeconds": float64(ExceptionSweepMaxEventAge * 3600)}
			if d := cmp.Diff(wantRetry, tg["RetryPolicy"]); d != "" {
				t.Errorf("retry policy (-want +got):\n%s", d)
			}
			if !ruleMayInvoke(s, fn, tc.id) {
				t.Error("no permission for the rule to invoke the sweep")
			}
		})
	}
	env := s.props(t, s.logicalID(s.stacks.Main.Functions.ByName[FnExcSweep]))["Environment"].(map[string]any)["Variables"].(map[string]any)
	if got := env[citadel.EnvExceptionReminderDays]; got != "14" {
		t.Errorf("%s = %v, want 14", citadel.EnvExceptionReminderDays, got)
	}
}
