package scheduler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	sched "github.com/citadelsecure/citadel/shared/scheduler"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func newSchedules(t *testing.T) *sched.Schedules {
	t.Helper()
	acct, accountID, _ := testenv.Account(t, testenv.Config(t))
	client := scheduler.NewFromConfig(acct)
	group := testenv.Name(t, "citadel")
	if _, err := client.CreateScheduleGroup(context.Background(), &scheduler.CreateScheduleGroupInput{Name: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	return &sched.Schedules{API: client, Group: group,
		RoleARN:         fmt.Sprintf("arn:aws:iam::%s:role/citadel-scheduler", accountID),
		StateMachineARN: fmt.Sprintf("arn:aws:states:us-east-1:%s:stateMachine:citadel-scan", accountID)}
}

func TestSyncCreatesUpdatesAndDeletes(t *testing.T) {
	ctx := context.Background()
	s := newSchedules(t)
	in := citadel.Integration{ID: "int-1", FolderID: "f1", Name: "prod", AccountID: "123456789012", ScheduleExpression: "rate(1 day)"}

	if err := s.Sync(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "int-1")
	if err != nil {
		t.Fatal(err)
	}
	var input citadel.PlanInput
	if err := json.Unmarshal([]byte(aws.ToString(got.Target.Input)), &input); err != nil {
		t.Fatal(err)
	}
	want := citadel.PlanInput{Scan: citadel.StartScan{ScanID: "sched-<aws.scheduler.execution-id>", IntegrationID: "int-1", Trigger: citadel.TriggerSchedule}}
	if d := cmp.Diff(want, input); d != "" {
		t.Errorf("input (-want +got):\n%s", d)
	}
	if aws.ToString(got.Name) != "int-1" || aws.ToString(got.GroupName) != s.Group || aws.ToString(got.ScheduleExpression) != "rate(1 day)" ||
		aws.ToString(got.Target.Arn) != s.StateMachineARN || aws.ToString(got.Target.RoleArn) != s.RoleARN ||
		got.State != types.ScheduleStateEnabled || got.FlexibleTimeWindow == nil || got.FlexibleTimeWindow.Mode != types.FlexibleTimeWindowModeOff {
		t.Errorf("schedule: name %s group %s expr %s target %s role %s state %s",
			aws.ToString(got.Name), aws.ToString(got.GroupName), aws.ToString(got.ScheduleExpression),
			aws.ToString(got.Target.Arn), aws.ToString(got.Target.RoleArn), got.State)
	}

	// Syncing again with another expression updates the same schedule.
	in.ScheduleExpression = "cron(30 2 * * ? *)"
	if err := s.Sync(ctx, in); err != nil {
		t.Fatal(err)
	}
	if got, err = s.Get(ctx, "int-1"); err != nil || aws.ToString(got.ScheduleExpression) != "cron(30 2 * * ? *)" {
		t.Fatalf("after update: %v %v", aws.ToString(got.ScheduleExpression), err)
	}

	// No expression: the schedule goes; twice is fine.
	in.ScheduleExpression = ""
	for range 2 {
		if err := s.Sync(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Get(ctx, "int-1"); !citadel.IsNotFound(err) {
		t.Errorf("after removal: %v, want not found", err)
	}
	if err := s.Delete(ctx, "int-never"); err != nil {
		t.Errorf("deleting a missing schedule: %v", err)
	}
}

func TestSyncRefusesBadExpressionsAndReportsFailures(t *testing.T) {
	ctx := context.Background()
	s := newSchedules(t)
	err := s.Sync(ctx, citadel.Integration{ID: "int-1", ScheduleExpression: "every day"})
	if !citadel.IsInvalid(err) || !strings.Contains(err.Error(), "schedule_expression") {
		t.Errorf("bad expression: %v, want invalid", err)
	}
	if _, gerr := s.Get(ctx, "int-1"); !citadel.IsNotFound(gerr) {
		t.Errorf("a refused expression made a schedule: %v", gerr)
	}
	// In a group that does not exist there is no schedule to delete.
	s.Group = "no-such-group"
	if err := s.Delete(ctx, "int-1"); err != nil {
		t.Errorf("delete in a missing group: %v", err)
	}
	if _, err := s.Get(ctx, "int-1"); !citadel.IsNotFound(err) {
		t.Errorf("get in a missing group: %v, want not found", err)
	}
}

// An organization's schedule starts the organization state machine, with
// the same input (org-plan records the scheduled run); without that state
// machine configured the schedule is refused, and nothing is created.
func TestSyncOrganizationTargetsTheOrgStateMachine(t *testing.T) {
	ctx := context.Background()
	s := newSchedules(t)
	org := citadel.Integration{ID: "int-org", FolderID: "f1", Name: "acme", AccountID: "123456789012", Kind: citadel.KindOrganization,
		ScheduleExpression: "rate(1 day)"}
	acct := citadel.Integration{ID: "int-acct", FolderID: "f1", Name: "one", AccountID: "123456789013", ScheduleExpression: "rate(1 day)"}
	orgSM := strings.Replace(s.StateMachineARN, "citadel-scan", "citadel-org-scan", 1)

	unset := *s
	if err := unset.Sync(ctx, org); !citadel.IsConflict(err) {
		t.Fatalf("sync without an organization state machine: %v, want a conflict", err)
	}
	if _, err := s.Get(ctx, org.ID); !citadel.IsNotFound(err) {
		t.Errorf("a refused schedule exists: %v", err)
	}

	s.OrgStateMachineARN = orgSM
	tests := []struct {
		name string
		in   citadel.Integration
		want string
	}{
		{"organization", org, orgSM},
		{"account", acct, s.StateMachineARN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Sync(ctx, tt.in); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, tt.in.ID)
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(got.Target.Arn) != tt.want || aws.ToString(got.Target.Input) != sched.Input(tt.in.ID) {
				t.Errorf("target %s input %s, want %s %s", aws.ToString(got.Target.Arn), aws.ToString(got.Target.Input), tt.want, sched.Input(tt.in.ID))
			}
		})
	}
}
