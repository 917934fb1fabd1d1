package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
)

// The target account's side of re-checks: its change events, forwarded to
// Citadel's bus.
const (
	// ParamEventBusARN is the target stacks' parameter naming Citadel's bus
	// (the main stack's output OutputEventBusARN); empty, nothing is
	// forwarded and the stack is the scanner role alone.
	ParamEventBusARN = "CitadelEventBusArn"
	// OutputEventBusARN is the main stack's output of its bus's ARN.
	OutputEventBusARN = "EventBusArn"
	// condForward is the condition of the forwarding resources.
	condForward = "ForwardChangeEvents"
)

// eventBusARNPattern admits an empty value or an EventBridge bus's ARN.
const eventBusARNPattern = `^$|^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/[A-Za-z0-9._/-]+$`

// eventBusARNParameter is a stack's CitadelEventBusArn parameter.
func eventBusARNParameter(stack awscdk.Stack) awscdk.CfnParameter {
	return awscdk.NewCfnParameter(stack, jsii.String(ParamEventBusARN), &awscdk.CfnParameterProps{
		Type:                  jsii.String("String"),
		Default:               jsii.String(""),
		Description:           jsii.String("Citadel's event bus (the Citadel stack's output " + OutputEventBusARN + "): this account's change events are forwarded there for re-checks; empty: none are"),
		AllowedPattern:        jsii.String(eventBusARNPattern),
		ConstraintDescription: jsii.String("empty, or the ARN of an EventBridge event bus"),
	})
}

// newChangeForwarder adds to a target stack, on the condition that
// CitadelEventBusArn is set, a rule on the account's default bus that
// forwards CloudTrail's management write events of the sources Citadel
// re-checks (changeEventPattern) to Citadel's bus, with a role that may put
// events on that bus alone.
func newChangeForwarder(stack awscdk.Stack) {
	bus := eventBusARNParameter(stack)
	cond := awscdk.NewCfnCondition(stack, jsii.String(condForward), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionNot(awscdk.Fn_ConditionEquals(bus.ValueAsString(), jsii.String(""))),
	})
	role := awsiam.NewRole(stack, jsii.String("ChangeForwarderRole"), &awsiam.RoleProps{
		Description: jsii.String("EventBridge: forward this account's change events to Citadel's bus"),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil),
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			"PutOnCitadelBus": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Actions:   jsii.Strings("events:PutEvents"),
					Resources: jsii.Strings(*bus.ValueAsString()),
				}),
			}}),
		},
	})
	role.Node().DefaultChild().(awscdk.CfnResource).CfnOptions().SetCondition(cond)
	rule := awsevents.NewCfnRule(stack, jsii.String("ChangeEventsForwarder"), &awsevents.CfnRuleProps{
		Description:  jsii.String("CloudTrail management writes of the services Citadel re-checks, forwarded to Citadel's bus"),
		EventPattern: changeEventPatternJSON(),
		State:        jsii.String("ENABLED"),
		Targets: &[]any{&awsevents.CfnRule_TargetProperty{
			Id: jsii.String("CitadelBus"), Arn: bus.ValueAsString(), RoleArn: role.RoleArn(),
		}},
	})
	rule.CfnOptions().SetCondition(cond)
}
