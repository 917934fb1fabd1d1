package main

import (
	"testing"

	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

func TestScheduler(t *testing.T) {
	s := defaultApp(t)
	check(t, "one schedule group and no schedule (they follow the integrations)", func() {
		s.main.ResourceCountIs(jsii.String("AWS::Scheduler::ScheduleGroup"), jsii.Number(1))
		s.main.ResourceCountIs(jsii.String("AWS::Scheduler::Schedule"), jsii.Number(0))
	})
	roleID := s.logicalID(s.stacks.Main.Scheduler.Role)
	trust := s.props(t, roleID)["AssumeRolePolicyDocument"].(map[string]any)["Statement"].([]any)
	want := []any{map[string]any{
		"Action":    "sts:AssumeRole",
		"Effect":    "Allow",
		"Principal": map[string]any{"Service": "scheduler.amazonaws.com"},
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": map[string]any{"Ref": "AWS::AccountId"}}},
	}}
	if diff := cmp.Diff(want, trust); diff != "" {
		t.Errorf("scheduler role trust (-want +got):\n%s", diff)
	}
	sm := "<" + s.logicalID(s.stacks.Main.StateMachine) + ">"
	org := "<" + s.logicalID(s.stacks.Main.OrgStateMachine) + ">"
	sts := s.statements(roleID)
	wantSts := []statement{
		{Policy: sts[0].Policy, Actions: []string{"states:StartExecution"}, Resources: []string{sm}},
		{Policy: sts[0].Policy, Actions: []string{"states:StartExecution"}, Resources: []string{org}},
	}
	if diff := cmp.Diff(wantSts, sts); diff != "" {
		t.Errorf("scheduler role may do more than start the two scan state machines (-want +got):\n%s", diff)
	}

	env := s.props(t, s.logicalID(s.stacks.Main.Functions.ByName[FnAPI]))["Environment"].(map[string]any)["Variables"].(map[string]any)
	got := map[string]string{
		citadel.EnvStateMachineARN:    render(env[citadel.EnvStateMachineARN]),
		citadel.EnvOrgStateMachineARN: render(env[citadel.EnvOrgStateMachineARN]),
		citadel.EnvSchedulerRole:      render(env[citadel.EnvSchedulerRole]),
		citadel.EnvSchedulerGroup:     render(env[citadel.EnvSchedulerGroup]),
	}
	var groupName string
	for _, g := range s.resources("AWS::Scheduler::ScheduleGroup") {
		groupName = render(g["Properties"].(map[string]any)["Name"])
	}
	wantEnv := map[string]string{
		citadel.EnvStateMachineARN:    sm,
		citadel.EnvOrgStateMachineARN: org,
		citadel.EnvSchedulerRole:      "<" + roleID + ".Arn>",
		citadel.EnvSchedulerGroup:     groupName,
	}
	if diff := cmp.Diff(wantEnv, got); diff != "" {
		t.Errorf("api environment (-want +got):\n%s", diff)
	}
}
