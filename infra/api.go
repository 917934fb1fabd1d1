package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/httpapi"
)

// Route is one method on one path of the HTTP APIs, and the permission
// its operation needs (openapi.yaml's x-citadel-permission).
type Route struct {
	Method, Path string
	Permission   citadel.Permission
}

// Routes are the APIs' routes, every one to the api function: each
// operation of shared/httpapi's openapi.yaml, the document the handler
// serves (it refuses to start when a route and an operation differ), so
// the gateways route exactly what the handler answers. The document is the
// one home of each route's permission: the console API's route scopes and
// the per-role IAM policies are derived from it (citadel.RolesWith).
var Routes = specRoutes()

func specRoutes() []Route {
	doc, err := httpapi.LoadSpec(context.Background())
	if err != nil {
		panic(err)
	}
	perms, err := httpapi.OperationPermissions(doc)
	if err != nil {
		panic(fmt.Errorf("openapi.yaml's permissions: %w", err))
	}
	var out []Route
	for _, op := range httpapi.Operations(doc) {
		method, path, _ := strings.Cut(op, " ")
		out = append(out, Route{method, path, perms[op]})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// Roles are the roles that may use the route.
func (r Route) Roles() []citadel.Role { return citadel.RolesWith(r.Permission) }

// Throttling of the APIs' default stages.
const (
	APIThrottleRate  = 50
	APIThrottleBurst = 100
)

// accessLogFormat is one JSON object per request.
var accessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",` +
	`"caller":"$context.identity.caller","user":"$context.identity.user","requestTime":"$context.requestTime",` +
	`"routeKey":"$context.routeKey","status":"$context.status","responseLength":"$context.responseLength",` +
	`"latency":"$context.responseLatency","integrationError":"$context.integrationErrorMessage",` +
	`"authorizerError":"$context.authorizer.error"}`

// newAPI is the HTTP API for scripts and the CLI: every route to the api
// function, each behind IAM (SigV4) authorization; the per-role managed
// policies (roles.go) say who may invoke which route. Access logs go to
// CloudWatch as JSON.
func newAPI(scope constructs.Construct, fn awslambda.IFunction) awsapigatewayv2.HttpApi {
	api := awsapigatewayv2.NewHttpApi(scope, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{
		ApiName:           jsii.String("citadel"),
		Description:       jsii.String("Citadel: integrations, scans, assets, controls, evidence, frameworks"),
		DefaultAuthorizer: awsapigatewayv2authorizers.NewHttpIamAuthorizer(),
	})
	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("ApiFunction"), fn, nil)
	for _, r := range Routes {
		api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration: integration,
		})
	}
	configureStage(scope, api, "ApiAccessLogs")
	return api
}

// configureStage gives an API's default stage its JSON access logs (a log
// group of its own, logsID) and its throttling.
func configureStage(scope constructs.Construct, api awsapigatewayv2.HttpApi, logsID string) {
	logs := awslogs.NewLogGroup(scope, jsii.String(logsID), &awslogs.LogGroupProps{
		Retention:     logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	stage := api.DefaultStage().Node().DefaultChild().(awsapigatewayv2.CfnStage)
	stage.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: logs.LogGroupArn(),
		Format:         jsii.String(accessLogFormat),
	})
	stage.SetDefaultRouteSettings(&awsapigatewayv2.CfnStage_RouteSettingsProperty{
		ThrottlingRateLimit:  jsii.Number(APIThrottleRate),
		ThrottlingBurstLimit: jsii.Number(APIThrottleBurst),
	})
}

// wireAPIFunction gives the api function what it starts and schedules: the
// state machine (start, describe and stop its executions) and the schedule
// group (read, write, delete schedules that run as the scheduler role).
func wireAPIFunction(fn awslambda.Function, cfg Config, sm awsstepfunctions.StateMachine, sched *Scheduler) {
	fn.AddEnvironment(jsii.String(citadel.EnvStateMachineARN), sm.StateMachineArn(), nil)
	fn.AddEnvironment(jsii.String(citadel.EnvSchedulerRole), sched.Role.RoleArn(), nil)
	fn.AddEnvironment(jsii.String(citadel.EnvSchedulerGroup), sched.Group.ScheduleGroupName(), nil)
	fn.AddEnvironment(jsii.String(citadel.EnvMinScheduleInterval), jsii.String(cfg.MinSchedule.String()), nil)
	fn.AddEnvironment(jsii.String(citadel.EnvMaxExceptionDays), jsii.String(strconv.Itoa(cfg.MaxExceptionDays)), nil)
	if cfg.DefaultFolder != "" {
		fn.AddEnvironment(jsii.String(citadel.EnvFolderID), jsii.String(cfg.DefaultFolder), nil)
	}
	sm.GrantStartExecution(fn)
	sm.GrantExecution(fn, jsii.String("states:DescribeExecution"), jsii.String("states:StopExecution"))
	sched.Group.GrantReadSchedules(fn)
	sched.Group.GrantWriteSchedules(fn)
	sched.Group.GrantDeleteSchedules(fn)
	sched.Role.GrantPassRole(fn.GrantPrincipal())
	suppress(fn, "AwsSolutions-IAM5",
		"The API starts and inspects executions named by scan ids, and manages schedules named by integration ids: "+
			"both are data, so the grants cover this state machine's executions and this group's schedules.",
		executionsFinding,
		`/^Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule\/[\w.-]+\/\*$/g`)
}

// wireAPIOrg gives the api function the organization state machine: a
// scan of an integration of kind organization starts it (its executions
// described and stopped as the scan state machine's: the lock, a cancel),
// and an organization's schedule targets it.
func wireAPIOrg(fn awslambda.Function, sm awsstepfunctions.StateMachine) {
	fn.AddEnvironment(jsii.String(citadel.EnvOrgStateMachineARN), sm.StateMachineArn(), nil)
	sm.GrantStartExecution(fn)
	sm.GrantExecution(fn, jsii.String("states:DescribeExecution"), jsii.String("states:StopExecution"))
	suppress(fn, "AwsSolutions-IAM5",
		"The API starts, inspects and stops organization scans' executions, named by scan ids (data): the grant covers "+
			"the organization state machine's executions only.",
		orgExecutionsFinding)
}

// wireAPICatalog lets the api function read the catalog state machine's
// executions, for GET /catalog's last load.
func wireAPICatalog(fn awslambda.Function, sm awsstepfunctions.StateMachine) {
	fn.AddEnvironment(jsii.String(citadel.EnvCatalogStateMachineARN), sm.StateMachineArn(), nil)
	sm.Grant(fn, jsii.String("states:ListExecutions"))
	sm.GrantExecution(fn, jsii.String("states:DescribeExecution"))
	suppress(fn, "AwsSolutions-IAM5",
		"GET /catalog describes the catalog load's newest execution, named by the deployment: the grant covers this state machine's executions only.",
		catalogExecutionsFinding)
}

// orgExecutionsFinding is cdk-nag's finding for the organization state
// machine's executions.
const orgExecutionsFinding = `/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:\{"Fn::Select":\[6,\{"Fn::Split":\[":",\{"Ref":"OrgScanStateMachine[0-9A-F]{8}"\}\]\}\]\}:\*$/g`

// catalogExecutionsFinding is cdk-nag's finding for the catalog state
// machine's executions (as executionsFinding is the scan's).
const catalogExecutionsFinding = `/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:\{"Fn::Select":\[6,\{"Fn::Split":\[":",\{"Ref":"CatalogStateMachine[0-9A-F]{8}"\}\]\}\]\}:\*$/g`
