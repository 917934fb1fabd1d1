package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Scheduler is where the integrations' schedules live. The API creates,
// changes and deletes one schedule per integration in Group (named by the
// integration), each starting the state machine (an organization's, the
// organization state machine) as Role with the input
// {"scan": {..., "trigger": "schedule"}}. The stack creates no schedule
// itself: they follow the integrations, which are data.
type Scheduler struct {
	Group awsscheduler.ScheduleGroup
	Role  awsiam.Role
}

// newScheduler creates the schedule group and the role its schedules run
// as: EventBridge Scheduler, from this account only, may start the scan
// state machine (an account's schedule) and the organization state machine
// (an organization's), and nothing else.
func newScheduler(scope constructs.Construct, sm, org awsstepfunctions.StateMachine) *Scheduler {
	s := &Scheduler{}
	s.Group = awsscheduler.NewScheduleGroup(scope, jsii.String("Schedules"), &awsscheduler.ScheduleGroupProps{
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	s.Role = awsiam.NewRole(scope, jsii.String("SchedulerRole"), &awsiam.RoleProps{
		Description: jsii.String("EventBridge Scheduler: starts Citadel scans on the integrations' schedules"),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]interface{}{
				"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Stack_Of(scope).Account()},
			},
		}),
	})
	sm.GrantStartExecution(s.Role)
	org.GrantStartExecution(s.Role)
	return s
}
