package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Citadel is the main stack and its parts.
type Citadel struct {
	Stack        awscdk.Stack
	Table        awsdynamodb.Table
	Bucket       awss3.Bucket
	AccessLogs   awss3.Bucket
	EventBus     awsevents.EventBus
	Functions    *Functions
	Prowler      *ProwlerTask
	StateMachine awsstepfunctions.StateMachine
	// OrgStateMachine scans an organization: its members' scans are child
	// executions of StateMachine (orgstatemachine.go).
	OrgStateMachine awsstepfunctions.StateMachine
	API             awsapigatewayv2.HttpApi // IAM (SigV4): scripts and the CLI
	RolePolicies    map[citadel.Role]awsiam.ManagedPolicy
	Console         *ConsoleSite
	Auth            *Auth
	ConsoleAPI      awsapigatewayv2.HttpApi // JWT: the web console
	ConsoleFiles    awss3deployment.BucketDeployment
	Scheduler       *Scheduler
	Reconcile       awsevents.Rule
	ExceptionSweep  *ExceptionSweep
	Notify          *Notifications
	Catalog         *Catalog
	Exports         awsstepfunctions.StateMachine
	// ExportSigningKey signs the auditor's packages (nil: unsigned).
	ExportSigningKey awskms.IKey
	Recheck          *Recheck
}

// NewCitadel builds the main stack: data first, then compute, then the
// state machine over the functions and the task, then the APIs and the
// scheduler that start it, and the console (its site, its sign-in, its API,
// its files). A configuration the stack cannot be built from is an error.
func NewCitadel(scope constructs.Construct, id string, cfg Config) (*Citadel, error) {
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Description: jsii.String("Citadel: continuous compliance scans of AWS accounts with Prowler"),
	})
	for flag, v := range featureFlags {
		stack.Node().SetContext(jsii.String(flag), v)
	}
	c := &Citadel{Stack: stack}
	c.Table = newTable(stack)
	c.Bucket, c.AccessLogs = newBucket(stack, cfg)
	c.EventBus = awsevents.NewEventBus(stack, jsii.String("DriftEvents"), &awsevents.EventBusProps{
		Description: jsii.String("Citadel drift events: check results that regressed, and scans that ended"),
	})
	scanners := scannerRoleARNs(stack, cfg)
	c.Functions = newFunctions(stack, cfg, c.Table, c.Bucket, c.EventBus, scanners)
	c.Prowler = newProwlerTask(stack, cfg, c.Bucket, scanners)
	c.StateMachine = newStateMachine(stack, c.Functions, c.Prowler, cfg.ProwlerConcurrency)
	c.OrgStateMachine = newOrgStateMachine(stack, c.Functions, c.StateMachine, cfg.OrgConcurrency)
	wireOrgFunctions(c.Functions, c.StateMachine)
	c.Recheck = newRecheck(stack, cfg, c.Functions.ByName[FnRecheck], c.EventBus, c.Bucket, c.StateMachine)
	c.Scheduler = newScheduler(stack, c.StateMachine, c.OrgStateMachine)
	c.API = newAPI(stack, c.Functions.ByName[FnAPI])
	c.RolePolicies = newRolePolicies(stack, c.API)
	ends := authEndpoints(stack, cfg)
	site, err := newConsoleSite(stack, cfg, c.AccessLogs, ends)
	if err != nil {
		return nil, err
	}
	c.Console = site
	c.Auth = newAuth(stack, cfg, c.Functions.ByName[FnTokenScopes], ends, site.Origin)
	c.ConsoleAPI = newConsoleAPI(stack, c.Functions.ByName[FnAPI], c.Auth, site.Origin)
	if c.ConsoleFiles, err = deployConsole(stack, cfg, site, ConsoleConfig(stack, c.ConsoleAPI, c.Auth)); err != nil {
		return nil, err
	}
	wireAPIFunction(c.Functions.ByName[FnAPI], cfg, c.StateMachine, c.Scheduler)
	wireAPIOrg(c.Functions.ByName[FnAPI], c.OrgStateMachine)
	c.Reconcile = newReconciler(stack, c.Functions.ByName[FnReconcile], c.StateMachine, c.OrgStateMachine)
	c.ExceptionSweep = newExceptionSweep(stack, cfg, c.Functions.ByName[FnExcSweep], c.EventBus)
	c.Notify = newNotifications(stack, cfg, c.EventBus)
	c.Catalog = newCatalog(stack, c.Functions, c.Prowler, c.Bucket)
	wireAPICatalog(c.Functions.ByName[FnAPI], c.Catalog.StateMachine)
	c.Exports, c.ExportSigningKey = newExports(stack, cfg, c.Functions, c.Bucket)
	wireAPIExports(c.Functions.ByName[FnAPI], c.Exports, c.Bucket)

	out := func(id string, v *string, desc string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: v, Description: jsii.String(desc)})
	}
	out(citadel.OutputAPIURL, c.API.ApiEndpoint(), "The HTTP API's endpoint (IAM: SigV4, scripts and the CLI)")
	out(citadel.OutputConsoleURL, jsii.String(*site.Origin+ConsolePath), "The web console")
	out(citadel.OutputConsoleAPIURL, c.ConsoleAPI.ApiEndpoint(), "The console's HTTP API (JWT: the user pool's access tokens)")
	out(citadel.OutputUserPoolID, c.Auth.Pool.UserPoolId(), "The console's user pool: add users to the group of their role (docs/infra.md)")
	out(citadel.OutputUserPoolClientID, c.Auth.Client.UserPoolClientId(), "The console's app client")
	for _, r := range citadel.Roles {
		out(citadel.OutputRolePolicy(r), c.RolePolicies[r].ManagedPolicyArn(),
			"The IAM policy of the "+string(r)+" role: attach it to a principal that calls the IAM API")
	}
	out(citadel.OutputStateMachineARN, c.StateMachine.StateMachineArn(), "The scan state machine ("+citadel.EnvStateMachineARN+")")
	out(citadel.OutputOrgStateMachineARN, c.OrgStateMachine.StateMachineArn(),
		"The organization scan state machine ("+citadel.EnvOrgStateMachineARN+"): its members' scans are child executions of the scan state machine")
	out(citadel.OutputTableName, c.Table.TableName(), "The DynamoDB table ("+citadel.EnvTable+")")
	out(citadel.OutputBucketName, c.Bucket.BucketName(), "The scan-output bucket ("+citadel.EnvBucket+")")
	out(citadel.OutputEventBusName, c.EventBus.EventBusName(), "The drift-event bus ("+citadel.EnvEventBus+")")
	out(OutputEventBusARN, c.EventBus.EventBusArn(), "The bus's ARN: the target stacks' "+ParamEventBusARN+" (change events for re-checks)")
	out("ClusterArn", c.Prowler.Cluster.ClusterArn(), "The ECS cluster the Prowler task runs in")
	out("TaskDefinitionArn", c.Prowler.TaskDefinition.TaskDefinitionArn(), "The Prowler task (scan and catalog modes)")
	out("TaskSecurityGroup", c.Prowler.SecurityGroup.SecurityGroupId(), "The Prowler task's security group (no inbound rules)")
	out("TaskSubnets", awscdk.Fn_Join(jsii.String(","), c.Prowler.Vpc.SelectSubnets(publicSubnets).SubnetIds), "Public subnets for a manual run-task (assign a public IP)")
	out("ScheduleGroupName", c.Scheduler.Group.ScheduleGroupName(), "The schedule group ("+citadel.EnvSchedulerGroup+")")
	out(citadel.OutputExportStateMachine, c.Exports.StateMachineArn(), "The export state machine ("+citadel.EnvExportStateMachineARN+")")
	out(citadel.OutputCatalogStateMachine, c.Catalog.StateMachine.StateMachineArn(),
		"The catalog state machine: Prowler's catalog exported from the image and imported with catalog/scf/ (docs/infra.md)")
	out(OutputNotificationTopic, c.Notify.Topic.TopicArn(), "The notifications topic: drift events and scan ends (docs/notifications.md)")
	return c, nil
}

// featureFlags are CDK feature flags the stack depends on, set on the stack
// itself so the app and the tests synthesize the same template.
var featureFlags = map[string]any{
	// Server access logs are delivered by bucket policy, not an ACL, so the
	// log bucket can enforce bucket ownership.
	"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": true,
}
