package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// ScannerSessionHours is the longest session of the scanner role: a
// Prowler run over every region takes hours.
const ScannerSessionHours = 4

// NewTargetRoleStack is the stack a target account deploys (its template,
// synthesized once more, is also the organization StackSet's: stackset.go):
// the read-only scanner role,
// named cfg.ScannerRoleName so Citadel's roles may assume it, trusting the
// Citadel account under an ExternalId. Both are parameters:
//
//	cdk deploy CitadelTargetRole --parameters TrustedAccountId=111122223333 --parameters ExternalId=...
//
// With the parameter CitadelEventBusArn set as well, the account's change
// events are forwarded to Citadel's bus for re-checks (targetforward.go).
func NewTargetRoleStack(scope constructs.Construct, id string, cfg Config) awscdk.Stack {
	return newTargetRoleStack(scope, id, cfg, &awscdk.StackProps{})
}

// newTargetRoleStack is NewTargetRoleStack with the stack's other props
// (the StackSet's copy sets its synthesizer).
func newTargetRoleStack(scope constructs.Construct, id string, cfg Config, props *awscdk.StackProps) awscdk.Stack {
	props.Description = jsii.String("Citadel scanner role: read-only access for Citadel's scans of this account")
	stack := awscdk.NewStack(scope, jsii.String(id), props)
	trusted := trustedAccountParameter(stack, cfg)
	external := externalIDParameter(stack, "The external id of this account's Citadel integration")
	role := awsiam.NewRole(stack, jsii.String("ScannerRole"), &awsiam.RoleProps{
		RoleName:           jsii.String(cfg.ScannerRoleName),
		Description:        jsii.String("Citadel scanner: read-only (SecurityAudit, ViewOnlyAccess)"),
		AssumedBy:          awsiam.NewAccountPrincipal(trusted.ValueAsString()),
		ExternalIds:        jsii.Strings(*external.ValueAsString()),
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(ScannerSessionHours)),
		ManagedPolicies: &[]awsiam.IManagedPolicy{
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("SecurityAudit")),
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("job-function/ViewOnlyAccess")),
		},
	})
	suppress(role, "AwsSolutions-IAM4", reasonReadOnlyPolicies, policySecurityAudit, policyViewOnly)
	newChangeForwarder(stack)
	awscdk.NewCfnOutput(stack, jsii.String("ScannerRoleArn"), &awscdk.CfnOutputProps{
		Value:       role.RoleArn(),
		Description: jsii.String("The role ARN to give Citadel's integration for this account"),
	})
	return stack
}

// trustedAccountParameter is the stack's TrustedAccountId parameter: the
// account Citadel runs in (default: context trustedAccount).
func trustedAccountParameter(stack awscdk.Stack, cfg Config) awscdk.CfnParameter {
	p := awscdk.NewCfnParameter(stack, jsii.String(ParamTrustedAccount), &awscdk.CfnParameterProps{
		Type:                  jsii.String("String"),
		Description:           jsii.String("The AWS account Citadel runs in"),
		AllowedPattern:        jsii.String(`^\d{12}$`),
		ConstraintDescription: jsii.String("a 12-digit AWS account id"),
	})
	if cfg.TrustedAccount != "" {
		p.SetDefault(cfg.TrustedAccount)
	}
	return p
}

// externalIDParameter is the stack's ExternalId parameter (NoEcho), in
// STS's bounds for an external id.
func externalIDParameter(stack awscdk.Stack, description string) awscdk.CfnParameter {
	return awscdk.NewCfnParameter(stack, jsii.String(ParamExternalID), &awscdk.CfnParameterProps{
		Type:           jsii.String("String"),
		Description:    jsii.String(description),
		MinLength:      jsii.Number(2),
		MaxLength:      jsii.Number(1224),
		AllowedPattern: jsii.String(`^[\w+=,.@:/-]+$`),
		NoEcho:         jsii.Bool(true),
	})
}

// The parameters of the target-role stack (and of the StackSet stack, which
// passes them on).
const (
	ParamTrustedAccount = "TrustedAccountId"
	ParamExternalID     = "ExternalId"
)

// reasonReadOnlyPolicies is why the scanners use AWS-managed policies.
const reasonReadOnlyPolicies = "Prowler needs read access to every service's configuration: SecurityAudit and " +
	"ViewOnlyAccess are the AWS-maintained read-only policies it documents, kept current by AWS as services appear."
