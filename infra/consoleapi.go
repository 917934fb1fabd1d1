package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/jsii-runtime-go"
)

// The console API's CORS: the headers the console sends, those it reads.
var (
	consoleAllowHeaders  = []string{"authorization", "content-type"}
	consoleExposeHeaders = []string{"location", "retry-after"}
)

// newConsoleAPI is the web console's HTTP API: the same routes to the same
// api function as the IAM API, each behind a JWT authorizer on the
// console's user pool and app client, requiring one of the scopes of the
// roles allowed its permission (RouteScopes). The browser calls it from the
// console's origin only (CORS preflight: that origin, its headers, the
// routes' methods). The function gets one invoke permission for the whole
// API, not one per route (its resource policy has a size limit, and the IAM
// API already holds a statement per route). Same access logs and
// throttling as the IAM API.
func newConsoleAPI(stack awscdk.Stack, fn awslambda.IFunction, auth *Auth, origin *string) awsapigatewayv2.HttpApi {
	authorizer := awsapigatewayv2authorizers.NewHttpUserPoolAuthorizer(jsii.String("ConsoleAuthorizer"), auth.Pool,
		&awsapigatewayv2authorizers.HttpUserPoolAuthorizerProps{
			AuthorizerName:  jsii.String("console-users"),
			UserPoolClients: &[]awscognito.IUserPoolClient{auth.Client},
			UserPoolRegion:  auth.Region,
		})
	var methods []awsapigatewayv2.CorsHttpMethod
	for _, r := range Routes {
		if m := awsapigatewayv2.CorsHttpMethod(r.Method); !slices.Contains(methods, m) {
			methods = append(methods, m)
		}
	}
	slices.Sort(methods)
	api := awsapigatewayv2.NewHttpApi(stack, jsii.String("ConsoleApi"), &awsapigatewayv2.HttpApiProps{
		ApiName:           jsii.String("citadel-console"),
		Description:       jsii.String("Citadel for the web console: the API's routes behind the console user pool's tokens"),
		DefaultAuthorizer: authorizer,
		CorsPreflight: &awsapigatewayv2.CorsPreflightOptions{
			AllowOrigins:  &[]*string{origin},
			AllowHeaders:  jsii.Strings(consoleAllowHeaders...),
			AllowMethods:  &methods,
			ExposeHeaders: jsii.Strings(consoleExposeHeaders...),
			MaxAge:        awscdk.Duration_Hours(jsii.Number(1)),
		},
	})
	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("ConsoleApiFunction"), fn,
		&awsapigatewayv2integrations.HttpLambdaIntegrationProps{ScopePermissionToRoute: jsii.Bool(false)})
	for _, r := range Routes {
		api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:                jsii.String(r.Path),
			Methods:             &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration:         integration,
			AuthorizationScopes: jsii.Strings(RouteScopes(r)...),
		})
	}
	configureStage(stack, api, "ConsoleApiAccessLogs")
	return api
}

// RouteScopes are the OAuth scopes a console token needs for r (one of
// them): those of the roles holding its permission.
func RouteScopes(r Route) []string {
	var out []string
	for _, role := range r.Roles() {
		out = append(out, role.Scope())
	}
	return out
}

// ConsoleConfig is the console's config.json (console/src/lib/config.ts):
// the console API, the account and partition for the scanner role's
// deploy command, and the sign-in (the pool as an OpenID authority, the
// app client, the hosted domain, the scopes to ask for).
func ConsoleConfig(stack awscdk.Stack, api awsapigatewayv2.HttpApi, auth *Auth) map[string]any {
	return map[string]any{
		"api_url":            jsii.String(*api.ApiEndpoint() + "/"),
		"citadel_account_id": stack.Account(),
		"partition":          stack.Partition(),
		"auth": map[string]any{
			"kind":      "cognito",
			"authority": auth.issuer(),
			"client_id": auth.Client.UserPoolClientId(),
			"domain":    auth.DomainURL,
			"scope":     ConsoleOAuthScope,
		},
	}
}

// deployConsole puts the console's build and the stack's config.json under
// console/ in the site's bucket (removing what a newer build no longer
// has) and invalidates the distribution's cache of /console/*. Every object
// is served with Cache-Control: no-cache (browsers revalidate; the
// distribution caches until the next deployment's invalidation). The
// build's own config.json (citadel serve's) is left out. Without a build
// the synthesis carries an error, which stops `cdk synth` and `cdk deploy`
// (run make console first); only config.json would be deployed.
func deployConsole(stack awscdk.Stack, cfg Config, site *ConsoleSite, config map[string]any) (awss3deployment.BucketDeployment, error) {
	var sources []awss3deployment.ISource
	if site.Built {
		sources = append(sources, awss3deployment.Source_Asset(jsii.String(cfg.ConsoleDir), &awss3assets.AssetOptions{
			Exclude: jsii.Strings("config.json"),
		}))
	} else {
		awscdk.Annotations_Of(site.Bucket).AddError(jsii.String("the console's build is missing: no " + cfg.ConsoleDir +
			"/index.html (run make console, or set context " + CtxConsoleDir + ")"))
	}
	sources = append(sources, awss3deployment.Source_JsonData(jsii.String("config.json"), config, nil))
	logs := awslogs.NewLogGroup(stack, jsii.String("ConsoleDeploymentLogs"), &awslogs.LogGroupProps{
		Retention:     logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	d := awss3deployment.NewBucketDeployment(stack, jsii.String("ConsoleDeployment"), &awss3deployment.BucketDeploymentProps{
		Sources:              &sources,
		DestinationBucket:    site.Bucket,
		DestinationKeyPrefix: jsii.String(ConsoleKeyPrefix),
		Distribution:         site.Distribution,
		DistributionPaths:    jsii.Strings(ConsolePath + "*"),
		CacheControl:         &[]awss3deployment.CacheControl{awss3deployment.CacheControl_NoCache()},
		MemoryLimit:          jsii.Number(256),
		LogGroup:             logs,
	})
	if err := suppressDeployment(stack, d, site); err != nil {
		return nil, err
	}
	return d, nil
}

// suppressDeployment narrows and explains the CDK's deployment function
// (a singleton Lambda of the CDK's, outside FunctionSpecs): its
// CloudFront grant is cut from every distribution to this one, and its
// cdk-nag findings are suppressed with their reasons.
func suppressDeployment(stack awscdk.Stack, d awss3deployment.BucketDeployment, site *ConsoleSite) error {
	role := d.HandlerRole()
	policy, ok := role.Node().TryFindChild(jsii.String("DefaultPolicy")).(awsiam.Policy)
	if !ok {
		return fmt.Errorf("the console deployment's role has no default policy to narrow")
	}
	cfn := policy.Node().DefaultChild().(awsiam.CfnPolicy)
	doc, _ := stack.Resolve(cfn.PolicyDocument()).(map[string]any)
	statements, _ := doc["Statement"].([]any)
	narrowed := false
	for i, st := range statements {
		actions := fmt.Sprint(st.(map[string]any)["Action"])
		if strings.Contains(actions, "cloudfront:CreateInvalidation") {
			cfn.AddPropertyOverride(jsii.String(fmt.Sprintf("PolicyDocument.Statement.%d.Resource", i)), site.Distribution.DistributionArn())
			narrowed = true
		}
	}
	if !narrowed {
		return fmt.Errorf("the console deployment's policy has no CloudFront invalidation grant to narrow")
	}
	suppress(role, "AwsSolutions-IAM5",
		"The CDK grants its deployment function CloudFront invalidations on every distribution; the template overrides "+
			"that statement's resource with this distribution's ARN (cdk-nag reads the construct, not the override).",
		findingAnyResource)
	suppress(role, "AwsSolutions-IAM4",
		"AWSLambdaBasicExecutionRole only lets the CDK's deployment function write its own CloudWatch logs.", policyLambdaBasic)
	suppress(role, "AwsSolutions-IAM5",
		"The CDK's deployment function copies the console's build from the CDK's asset bucket (objects named by their "+
			"content hash) into the console's bucket and prunes what the build no longer has: the action patterns are the "+
			"CDK's read and write grants, on these two buckets' objects only.",
		`/^Action::s3:(GetObject|GetBucket|List|DeleteObject|Abort)\*$/g`,
		`/^Resource::arn:<AWS::Partition>:s3:::cdk-[a-z0-9]+-assets-<AWS::AccountId>-<AWS::Region>\/\*$/g`,
		`/^Resource::<ConsoleFiles[0-9A-F]{8}\.Arn>\/\*$/g`)
	fn, ok := role.Node().Scope().(awslambda.Function)
	if !ok {
		return fmt.Errorf("the console deployment's role is not a function's")
	}
	suppress(fn, "AwsSolutions-L1",
		"This is the CDK's own deployment function (aws-s3-deployment): its Python runtime is the one the CDK version "+
			"ships and tests its handler and AWS CLI layer with, and moves with the CDK, not with this app.")
	return nil
}
