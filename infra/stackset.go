package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// StackSetStackName is the optional stack (context orgStackSet=true) that
// an organization's management account, or its CloudFormation delegated
// administrator, deploys: the scanner role in every member account of the
// target OUs, now and as accounts join, through a service-managed StackSet.
const StackSetStackName = citadel.OrgStackSetStackName

// ScannerStackSetName is the StackSet's name (unique in its account and
// region).
const ScannerStackSetName = "CitadelScannerRole"

// Who the StackSet stack acts as (the StackSet's CallAs): the management
// account itself, or a member registered as the StackSets delegated
// administrator.
const (
	CallAsSelf           = "SELF"
	CallAsDelegatedAdmin = "DELEGATED_ADMIN"
)

// MaxTemplateBody is CloudFormation's limit on a StackSet's TemplateBody, in
// bytes: the synthesized target-role template must fit in it.
const MaxTemplateBody = 51200

// The StackSet's operation preferences (docs/infra.md): a quarter of the
// accounts at once, so a rollout is about four waves whatever the
// organization's size; more than a tenth of the accounts failing stops it
// (a systemic error: a bad template, a name clash everywhere) before it
// reaches the rest, while an odd account's failure (a role of that name made
// by hand) does not. Soft failure tolerance keeps the waves at a quarter
// (strict tolerance would cap them at the tolerated failures plus one: one
// account at a time below ten accounts).
const (
	StackSetMaxConcurrentPercentage    = 25
	StackSetFailureTolerancePercentage = 10
	stackSetConcurrencyMode            = "SOFT_FAILURE_TOLERANCE"
)

// readStackSet reads the StackSet stack's context keys: orgStackSet, and
// only with it its targets (required) and whom it acts as.
func readStackSet(cfg *Config, get func(string) string) error {
	if v := get(CtxOrgStackSet); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("context %s: %q must be true or false", CtxOrgStackSet, v)
		}
		cfg.OrgStackSet = b
	}
	targets, callAs := get(CtxOrgStackSetTargets), get(CtxOrgStackSetCallAs)
	if !cfg.OrgStackSet {
		for key, v := range map[string]string{CtxOrgStackSetTargets: targets, CtxOrgStackSetCallAs: callAs} {
			if v != "" {
				return fmt.Errorf("context %s: only with %s=true (the organization's StackSet stack)", key, CtxOrgStackSet)
			}
		}
		return nil
	}
	if targets == "" {
		return fmt.Errorf("context %s: required with %s=true: the OU ids (ou-...) or the organization's root id (r-...) the StackSet deploys the scanner role to, comma-separated",
			CtxOrgStackSetTargets, CtxOrgStackSet)
	}
	for _, ou := range strings.Split(targets, ",") {
		ou = strings.TrimSpace(ou)
		switch {
		case !citadel.ValidOUID(ou):
			return fmt.Errorf("context %s: %q is not an OU id (ou-xxxx-xxxxxxxx) or a root id (r-xxxx)", CtxOrgStackSetTargets, ou)
		case slices.Contains(cfg.OrgStackSetTargets, ou):
			return fmt.Errorf("context %s: %q is named twice", CtxOrgStackSetTargets, ou)
		}
		cfg.OrgStackSetTargets = append(cfg.OrgStackSetTargets, ou)
	}
	for _, ou := range cfg.OrgStackSetTargets {
		if citadel.IsRootID(ou) && len(cfg.OrgStackSetTargets) > 1 {
			return fmt.Errorf("context %s: the root %s holds every OU: name it alone, or only OUs", CtxOrgStackSetTargets, ou)
		}
	}
	switch callAs {
	case "":
	case CallAsSelf, CallAsDelegatedAdmin:
		cfg.OrgStackSetCallAs = callAs
	default:
		return fmt.Errorf("context %s: %q must be %s (the management account) or %s (a delegated administrator of StackSets)",
			CtxOrgStackSetCallAs, callAs, CallAsSelf, CallAsDelegatedAdmin)
	}
	return nil
}

// NewStackSetStack is the organization's StackSet stack: a service-managed
// StackSet whose template is the target-role stack's (TargetRoleTemplate),
// deployed to every account of cfg.OrgStackSetTargets in this stack's
// region, and automatically to each account that joins them (and removed
// from one that leaves). Its parameters, TrustedAccountId and ExternalId,
// are passed to every stack instance: every member's role trusts Citadel's
// account under the organization integration's ExternalId, which its
// member integrations share (citadel.Integration.Inherit); and
// CitadelEventBusArn, where every member forwards its change events (empty:
// none does).
//
//	cdk deploy CitadelOrgStackSet -c orgStackSet=true -c orgStackSetTargets=r-ab12 \
//	  --parameters TrustedAccountId=111122223333 --parameters ExternalId=<the organization integration's>
func NewStackSetStack(scope constructs.Construct, id string, cfg Config) (awscdk.Stack, error) {
	body, err := TargetRoleTemplate(cfg)
	if err != nil {
		return nil, err
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Description: jsii.String("Citadel scanner role in every account of the organization's target OUs (a service-managed StackSet)"),
		// Deployed with the CLI's credentials, no bootstrap roles: the
		// template has no asset, and the management account needs nothing
		// of CDK's.
		Synthesizer: awscdk.NewCliCredentialsStackSynthesizer(nil),
	})
	trusted := trustedAccountParameter(stack, cfg)
	external := externalIDParameter(stack, "The external id of the organization's Citadel integration (its member integrations share it)")
	bus := eventBusARNParameter(stack)
	callAs := cfg.OrgStackSetCallAs
	if callAs == "" {
		callAs = CallAsSelf
	}
	set := awscloudformation.NewCfnStackSet(stack, jsii.String("ScannerStackSet"), &awscloudformation.CfnStackSetProps{
		StackSetName:    jsii.String(ScannerStackSetName),
		Description:     jsii.String("Citadel scanner role (" + cfg.ScannerRoleName + "), read-only, in every account of the target OUs"),
		PermissionModel: jsii.String("SERVICE_MANAGED"),
		CallAs:          jsii.String(callAs),
		AutoDeployment: &awscloudformation.CfnStackSet_AutoDeploymentProperty{
			Enabled:                      jsii.Bool(true),
			RetainStacksOnAccountRemoval: jsii.Bool(false),
		},
		// The role has a name: CloudFormation wants it acknowledged.
		Capabilities: jsii.Strings("CAPABILITY_NAMED_IAM"),
		// Conflicting operations queued, not refused (an auto-deployment
		// during an update). A plain object: the property is JSON in the
		// resource's schema, and jsii would send the struct's fields in
		// camel case.
		ManagedExecution: map[string]any{"Active": true},
		OperationPreferences: &awscloudformation.CfnStackSet_OperationPreferencesProperty{
			MaxConcurrentPercentage:    jsii.Number(StackSetMaxConcurrentPercentage),
			FailureTolerancePercentage: jsii.Number(StackSetFailureTolerancePercentage),
			ConcurrencyMode:            jsii.String(stackSetConcurrencyMode),
		},
		Parameters: &[]any{
			&awscloudformation.CfnStackSet_ParameterProperty{ParameterKey: jsii.String(ParamTrustedAccount), ParameterValue: trusted.ValueAsString()},
			&awscloudformation.CfnStackSet_ParameterProperty{ParameterKey: jsii.String(ParamExternalID), ParameterValue: external.ValueAsString()},
			&awscloudformation.CfnStackSet_ParameterProperty{ParameterKey: jsii.String(ParamEventBusARN), ParameterValue: bus.ValueAsString()},
		},
		// One region, this stack's: IAM is global, so the role made there is
		// the account's everywhere, and a second region's instance would
		// make the same named role again and fail.
		StackInstancesGroup: &[]any{&awscloudformation.CfnStackSet_StackInstancesProperty{
			DeploymentTargets: &awscloudformation.CfnStackSet_DeploymentTargetsProperty{
				OrganizationalUnitIds: jsii.Strings(cfg.OrgStackSetTargets...),
			},
			Regions: &[]*string{awscdk.Aws_REGION()},
		}},
		TemplateBody: jsii.String(body),
	})
	awscdk.NewCfnOutput(stack, jsii.String("ScannerStackSetId"), &awscdk.CfnOutputProps{
		Value:       set.AttrStackSetId(),
		Description: jsii.String("The StackSet that deploys Citadel's scanner role to the organization's accounts"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("ScannerRoleName"), &awscdk.CfnOutputProps{
		Value:       jsii.String(cfg.ScannerRoleName),
		Description: jsii.String("The scanner role's name in every member account (the organization integration's member_role_name)"),
	})
	return stack, nil
}

// TargetRoleTemplate is the target-role stack's template as the StackSet's
// TemplateBody: NewTargetRoleStack synthesized in an app of its own, without
// CDK's bootstrap-version rule (member accounts are not bootstrapped), its
// analytics resource or path metadata. Compact JSON, at most
// MaxTemplateBody bytes. A body rather than an asset's TemplateURL: the
// template is a few KB with no asset of its own, so the StackSet needs no
// bucket its accounts can read, and a change to the role is a change to this
// stack's template, shown by cdk diff.
func TargetRoleTemplate(cfg Config) (string, error) {
	dir, err := os.MkdirTemp("", "citadel-stackset-")
	if err != nil {
		return "", fmt.Errorf("the StackSet's template: %w", err)
	}
	defer os.RemoveAll(dir)
	// PostCliContext: the CLI's context (CDK_CONTEXT_JSON) turns path
	// metadata on; after it, this turns it off again.
	app := awscdk.NewApp(&awscdk.AppProps{
		Outdir:             jsii.String(dir),
		AnalyticsReporting: jsii.Bool(false),
		PostCliContext:     &map[string]any{"aws:cdk:enable-path-metadata": false, "aws:cdk:version-reporting": false},
	})
	newTargetRoleStack(app, TargetStackName, cfg, &awscdk.StackProps{
		Synthesizer:        awscdk.NewBootstraplessSynthesizer(nil),
		AnalyticsReporting: jsii.Bool(false),
	})
	tmpl := app.Synth(nil).GetStackByName(jsii.String(TargetStackName)).Template()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // <AWS::Partition> in cdk-nag's metadata, as written
	if err := enc.Encode(tmpl); err != nil {
		return "", fmt.Errorf("the StackSet's template: %w", err)
	}
	body := bytes.TrimSpace(buf.Bytes())
	if len(body) > MaxTemplateBody {
		return "", fmt.Errorf("the StackSet's template is %d bytes, past CloudFormation's %d for a TemplateBody", len(body), MaxTemplateBody)
	}
	return string(body), nil
}
