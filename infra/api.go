package main

import (
	"context"
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"sort"
	"strings"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/httpapi"
)

// Route is one method on one path of the HTTP API.
type Route struct{ Method, Path string }

// Routes are the API's routes, every one to the api function: each
// operation of shared/httpapi's openapi.yaml, the document the handler
// serves (it refuses to start when a route and an operation differ), so
// the gateway routes exactly what the handler answers.
var Routes = specRoutes()

func specRoutes() []Route {
	doc, err := httpapi.LoadSpec(context.Background())
	if err != nil {
		panic(err)
	}
	var out []Route
	for _, op := range httpapi.Operations(doc) {
		method, path, _ := strings.Cut(op, " ")
		out = append(out, Route{method, path})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// Throttling of the API's default stage.
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

// newAPI is the HTTP API: every route to the api function, each behind an
// authorizer: IAM (SigV4) by default, or a JWT authorizer on the configured
// Cognito user pool and app client. Access logs go to CloudWatch as JSON.
func newAPI(scope constructs.Construct, cfg Config, fn awslambda.IFunction) awsapigatewayv2.HttpApi {
	var auth awsapigatewayv2.IHttpRouteAuthorizer = awsapigatewayv2authorizers.NewHttpIamAuthorizer()
	if cfg.UserPoolID != "" {
		pool := awscognito.UserPool_FromUserPoolId(scope, jsii.String("UserPool"), jsii.String(cfg.UserPoolID))
		client := awscognito.UserPoolClient_FromUserPoolClientId(scope, jsii.String("UserPoolClient"), jsii.String(cfg.UserPoolClientID))
		auth = awsapigatewayv2authorizers.NewHttpUserPoolAuthorizer(jsii.String("UserPoolAuthorizer"), pool, &awsapigatewayv2authorizers.HttpUserPoolAuthorizerProps{
			UserPoolClients: &[]awscognito.IUserPoolClient{client},
		})
	}
	api := awsapigatewayv2.NewHttpApi(scope, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{
		ApiName:           jsii.String("citadel"),
		Description:       jsii.String("Citadel: integrations, scans, assets, controls, evidence, frameworks"),
		DefaultAuthorizer: auth,
	})
	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("ApiFunction"), fn, nil)
	for _, r := range Routes {
		api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration: integration,
		})
	}

	logs := awslogs.NewLogGroup(scope, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
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
	return api
}

// wireAPIFunction gives the api function what it starts and schedules: the
// state machine (start, describe and stop its executions) and the schedule
// group (read, write, delete schedules that run as the scheduler role).
func wireAPIFunction(fn awslambda.Function, cfg Config, sm awsstepfunctions.StateMachine, sched *Scheduler) {
	fn.AddEnvironment(jsii.String(citadel.EnvStateMachineARN), sm.StateMachineArn(), nil)
	fn.AddEnvironment(jsii.String(citadel.EnvSchedulerRole), sched.Role.RoleArn(), nil)
	fn.AddEnvironment(jsii.String(citadel.EnvSchedulerGroup), sched.Group.ScheduleGroupName(), nil)
	fn.AddEnvironment(jsii.String(citadel.EnvMinScheduleInterval), jsii.String(cfg.MinSchedule.String()), nil)
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

// catalogExecutionsFinding is cdk-nag's finding for the catalog state
// machine's executions (as executionsFinding is the scan's).
const catalogExecutionsFinding = `/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:\{"Fn::Select":\[6,\{"Fn::Split":\[":",\{"Ref":"CatalogStateMachine[0-9A-F]{8}"\}\]\}\]\}:\*$/g`
