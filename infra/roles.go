package main

import (
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// pathParam is a path template's parameter ({id}).
var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// title is a role's name capitalized ("Admin").
func title(r citadel.Role) string { return strings.ToUpper(string(r[:1])) + string(r[1:]) }

// RouteResource is the route's part of its execute-api ARN on the default
// stage, each path parameter a wildcard: "GET/integrations/*/scans".
func RouteResource(r Route) string {
	return r.Method + pathParam.ReplaceAllString(r.Path, "*")
}

// newRolePolicies are the roles for IAM callers: a managed policy per role
// (named by CloudFormation from the stack's name and CitadelAdmin, ...),
// allowing execute-api:Invoke on exactly the IAM API's routes whose
// permission the role holds. Attach one to a user, group or role that
// scripts or runs the CLI.
func newRolePolicies(scope constructs.Construct, api awsapigatewayv2.HttpApi) map[citadel.Role]awsiam.ManagedPolicy {
	out := map[citadel.Role]awsiam.ManagedPolicy{}
	for _, role := range citadel.Roles {
		var arns []*string
		for _, r := range Routes {
			if slices.Contains(r.Roles(), role) {
				arns = append(arns, api.ArnForExecuteApi(jsii.String(r.Method), jsii.String(RouteResource(r)[len(r.Method):]), jsii.String("$default")))
			}
		}
		p := awsiam.NewManagedPolicy(scope, jsii.String("Citadel"+title(role)), &awsiam.ManagedPolicyProps{
			Description: jsii.String("Citadel's " + string(role) + " role on the IAM API (" + permissionsText(role) + "): invoke its routes"),
			Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("Invoke" + title(role) + "Routes"),
				Actions:   jsii.Strings("execute-api:Invoke"),
				Resources: &arns,
			})},
		})
		suppress(p, "AwsSolutions-IAM5",
			"Each resource is one route of the IAM API on its default stage; the wildcards stand for the route's path "+
				"parameters (ids: data), never for a method or a path segment.",
			`/^Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<Api[0-9A-F]{8}>\/\$default\/(GET|POST|PUT|PATCH|DELETE)\/[\w\/*-]+$/g`)
		out[role] = p
	}
	return out
}
