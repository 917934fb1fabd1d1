// Package scheduler keeps one EventBridge Scheduler schedule per integration:
// created, changed and deleted with the integration, each starting the scan
// state machine (an organization's: the organization state machine) with
// trigger "schedule". The scan id of a scheduled run is
// "sched-" followed by Scheduler's execution id, so a retried delivery of
// the same run reuses its id.
package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// ScanIDPrefix starts the scan id of every scheduled run.
const ScanIDPrefix = "sched-"

// ExecutionIDAttribute is Scheduler's context attribute for the id of one
// run of a schedule; Scheduler replaces it in the target's input.
const ExecutionIDAttribute = "<aws.scheduler.execution-id>"

// API is the part of the EventBridge Scheduler client this package uses.
type API interface {
	CreateSchedule(ctx context.Context, in *scheduler.CreateScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.CreateScheduleOutput, error)
	UpdateSchedule(ctx context.Context, in *scheduler.UpdateScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error)
	DeleteSchedule(ctx context.Context, in *scheduler.DeleteScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.DeleteScheduleOutput, error)
	GetSchedule(ctx context.Context, in *scheduler.GetScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error)
}

// Schedules manages the integrations' schedules in one schedule group.
type Schedules struct {
	API             API
	Group           string // citadel.EnvSchedulerGroup
	RoleARN         string // citadel.EnvSchedulerRole: the role Scheduler assumes to start executions
	StateMachineARN string // citadel.EnvStateMachineARN
	// OrgStateMachineARN is what an organization's schedule starts
	// (citadel.EnvOrgStateMachineARN).
	OrgStateMachineARN string
}

// Target is the state machine an integration's schedule starts: the
// organization state machine for an organization, the scan state machine
// for any other.
func (s *Schedules) Target(in citadel.Integration) (string, error) {
	if !in.IsOrganization() {
		return s.StateMachineARN, nil
	}
	if s.OrgStateMachineARN == "" {
		return "", citadel.Conflict("integration %s is an organization, and no organization state machine (%s) is configured for its schedule",
			in.ID, citadel.EnvOrgStateMachineARN)
	}
	return s.OrgStateMachineARN, nil
}

// Name is the schedule name of an integration: its id (ids are at most 64
// characters of [0-9A-Za-z._-], which Scheduler accepts).
func Name(integrationID string) string { return integrationID }

// Input is the execution input a schedule sends: citadel.PlanInput with the
// scan id left for Scheduler to fill in.
func Input(integrationID string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // Scheduler looks for the literal <aws.scheduler.execution-id>
	_ = enc.Encode(citadel.PlanInput{Scan: citadel.StartScan{
		ScanID:        ScanIDPrefix + ExecutionIDAttribute,
		IntegrationID: integrationID,
		Trigger:       citadel.TriggerSchedule,
	}})
	return strings.TrimSpace(b.String())
}

// Sync makes the integration's schedule match it: created or updated when
// it has a schedule expression, deleted (if present) when it has none.
func (s *Schedules) Sync(ctx context.Context, in citadel.Integration) error {
	if in.ScheduleExpression == "" {
		return s.Delete(ctx, in.ID)
	}
	if !citadel.ValidScheduleExpression(in.ScheduleExpression) {
		return citadel.Invalid("schedule_expression %q must be rate(N unit) or cron(6 fields)", in.ScheduleExpression)
	}
	sm, err := s.Target(in)
	if err != nil {
		return err
	}
	name := Name(in.ID)
	target := &types.Target{
		Arn:     aws.String(sm),
		RoleArn: aws.String(s.RoleARN),
		Input:   aws.String(Input(in.ID)),
	}
	desc := aws.String(fmt.Sprintf("Citadel scan of %s (%s)", in.Name, in.AccountID))
	window := &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff}
	_, err = s.API.CreateSchedule(ctx, &scheduler.CreateScheduleInput{
		Name: aws.String(name), GroupName: s.group(), ScheduleExpression: aws.String(in.ScheduleExpression),
		Target: target, FlexibleTimeWindow: window, Description: desc, State: types.ScheduleStateEnabled,
	})
	var conflict *types.ConflictException
	if errors.As(err, &conflict) {
		_, err = s.API.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{
			Name: aws.String(name), GroupName: s.group(), ScheduleExpression: aws.String(in.ScheduleExpression),
			Target: target, FlexibleTimeWindow: window, Description: desc, State: types.ScheduleStateEnabled,
		})
	}
	return wrap(err, "put schedule "+name)
}

// Delete removes an integration's schedule; a missing schedule is not an error.
func (s *Schedules) Delete(ctx context.Context, integrationID string) error {
	_, err := s.API.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String(Name(integrationID)), GroupName: s.group()})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil
	}
	return wrap(err, "delete schedule "+Name(integrationID))
}

// Get reads an integration's schedule.
func (s *Schedules) Get(ctx context.Context, integrationID string) (*scheduler.GetScheduleOutput, error) {
	out, err := s.API.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(Name(integrationID)), GroupName: s.group()})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil, citadel.NotFound("schedule of integration %s not found", integrationID)
	}
	return out, wrap(err, "get schedule "+Name(integrationID))
}

func (s *Schedules) group() *string {
	if s.Group == "" {
		return nil // the default group
	}
	return aws.String(s.Group)
}

// wrap adds context, turns Scheduler's validation errors into invalid
// errors (the caller's expression was refused) and marks throttling and
// internal errors retryable.
func wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	var (
		validation *types.ValidationException
		throttle   *types.ThrottlingException
		internal   *types.InternalServerException
	)
	switch {
	case errors.As(err, &validation):
		return citadel.Invalid("scheduler refused %s: %s", what, aws.ToString(validation.Message))
	case errors.As(err, &throttle), errors.As(err, &internal):
		return citadel.Retryable(fmt.Errorf("scheduler %s: %w", what, err))
	}
	return fmt.Errorf("scheduler %s: %w", what, err)
}
