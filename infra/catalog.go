package main

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// The catalog state machine's states.
const (
	StateCatalogExportChoice = "export?"          // Choice: skip_export set?
	StateCatalogExport       = "catalog-export"   // the Prowler task in catalog mode
	StateCatalogImport       = FnCatalogImport    // the catalog-import function
	StateCatalogFailed       = "catalog-failed"   // Fail: the execution fails with the state's error
	StateCatalogImported     = "catalog-imported" // Succeed
	// CatalogImportPath is where the import's output (citadel.CatalogImportOutput)
	// goes: the execution's output holds it.
	CatalogImportPath = "$.import"
)

// catalogLoadType is the CloudFormation type of the deployment's start of
// the catalog load.
const catalogLoadType = "Custom::CatalogLoad"

// Timeouts of the catalog load: the export copies files out of the image
// (a minute or two, most of it the task's start); the import is one Lambda
// run. The whole execution can never hang past CatalogExecutionTimeout.
const (
	CatalogExportTimeout    = 30 * time.Minute
	CatalogExecutionTimeout = time.Hour
)

// CatalogImportPayload is the import state's input: Prowler's export and the
// user's SCF files, both in the bucket. An empty SCF prefix imports Prowler
// alone.
func CatalogImportPayload(bucket string) citadel.CatalogImportInput {
	return citadel.CatalogImportInput{
		ProwlerSource: "s3://" + bucket + "/" + citadel.CatalogPrefix,
		SCFSource:     "s3://" + bucket + "/" + citadel.SCFPrefix,
	}
}

// Catalog is the catalog state machine and the deployment's start of it.
type Catalog struct {
	StateMachine awsstepfunctions.StateMachine
	Load         customresources.AwsCustomResource
}

// newCatalog builds the catalog state machine: the Prowler task in catalog
// mode exports the image's Prowler catalog to catalog/prowler/ (RunTask
// .sync; skipped when the input says skip_export), then the catalog-import
// function imports it with catalog/scf/. Each state retries its transient
// errors and catches the rest into a Fail state with the error and cause.
// The deployment starts it (newCatalogLoad); so does `citadel catalog
// import`, with a citadel.CatalogRunInput.
func newCatalog(scope constructs.Construct, fns *Functions, task *ProwlerTask, bucket awss3.Bucket) *Catalog {
	failed := awsstepfunctions.NewFail(scope, jsii.String(StateCatalogFailed), &awsstepfunctions.FailProps{
		StateName: jsii.String(StateCatalogFailed),
		ErrorPath: jsii.String(ErrorPath + ".Error"),
		CausePath: jsii.String(ErrorPath + ".Cause"),
	})
	catch := &awsstepfunctions.CatchProps{Errors: jsii.Strings("States.ALL"), ResultPath: jsii.String(ErrorPath)}

	env := []*awsstepfunctionstasks.TaskEnvironmentVariable{
		{Name: jsii.String(citadel.EnvTaskMode), Value: jsii.String(citadel.TaskModeCatalog)},
		{Name: jsii.String(citadel.EnvTaskCatalogKey), Value: jsii.String(citadel.CatalogPrefix)},
	}
	export := task.runState(scope, StateCatalogExport, env, CatalogExportTimeout)
	export.AddCatch(failed, catch)

	var spec FunctionSpec
	for _, s := range FunctionSpecs {
		if s.Name == FnCatalogImport {
			spec = s
		}
	}
	payload := CatalogImportPayload(*bucket.BucketName())
	importState := awsstepfunctionstasks.NewLambdaInvoke(scope, jsii.String("CatalogImportState"), &awsstepfunctionstasks.LambdaInvokeProps{
		StateName:                jsii.String(StateCatalogImport),
		LambdaFunction:           fns.ByName[FnCatalogImport],
		Payload:                  awsstepfunctions.TaskInput_FromObject(toMap(payload)),
		PayloadResponseOnly:      jsii.Bool(true),
		RetryOnServiceExceptions: jsii.Bool(false),
		ResultPath:               jsii.String(CatalogImportPath),
		TaskTimeout:              awsstepfunctions.Timeout_Duration(duration(spec.Timeout + time.Minute)),
	})
	importState.AddRetry(&awsstepfunctions.RetryProps{
		Errors:         jsii.Strings(append([]string{citadel.ErrorTypeRetryable}, LambdaServiceErrors...)...),
		Interval:       awscdk.Duration_Seconds(jsii.Number(2)),
		MaxAttempts:    jsii.Number(4),
		BackoffRate:    jsii.Number(2),
		MaxDelay:       awscdk.Duration_Seconds(jsii.Number(60)),
		JitterStrategy: awsstepfunctions.JitterType_FULL,
	})
	importState.AddCatch(failed, catch)
	importState.Next(awsstepfunctions.NewSucceed(scope, jsii.String(StateCatalogImported), &awsstepfunctions.SucceedProps{
		StateName: jsii.String(StateCatalogImported),
	}))
	export.Next(importState)

	skip := awsstepfunctions.Condition_And(
		awsstepfunctions.Condition_IsPresent(jsii.String("$.skip_export")),
		awsstepfunctions.Condition_BooleanEquals(jsii.String("$.skip_export"), jsii.Bool(true)))
	start := awsstepfunctions.NewChoice(scope, jsii.String(StateCatalogExportChoice), &awsstepfunctions.ChoiceProps{
		StateName: jsii.String(StateCatalogExportChoice),
	}).When(skip, importState, nil).Otherwise(export)

	logs := awslogs.NewLogGroup(scope, jsii.String("CatalogStateMachineLogs"), &awslogs.LogGroupProps{
		Retention:     logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	sm := awsstepfunctions.NewStateMachine(scope, jsii.String("CatalogStateMachine"), &awsstepfunctions.StateMachineProps{
		Comment:          jsii.String("Citadel's catalog: export Prowler's catalog from the image, import it with the SCF files"),
		DefinitionBody:   awsstepfunctions.DefinitionBody_FromChainable(start),
		StateMachineType: awsstepfunctions.StateMachineType_STANDARD,
		Timeout:          duration(CatalogExecutionTimeout),
		TracingEnabled:   jsii.Bool(true),
		Logs: &awsstepfunctions.LogOptions{
			Destination:          logs,
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(false), // the import's report is in the execution's output
		},
	})
	suppressStateMachineRole(sm)
	return &Catalog{StateMachine: sm, Load: newCatalogLoad(scope, sm, task)}
}

// newCatalogLoad starts the catalog state machine from the deployment: on
// the stack's creation, and on every update that changes the Prowler
// image's asset hash (it is in the call's input, so in the resource's
// properties; an update that leaves the image alone changes nothing here
// and starts nothing). The start is asynchronous: the deployment does not
// wait for the load, and a failed load fails its execution, not the stack.
func newCatalogLoad(scope constructs.Construct, sm awsstepfunctions.StateMachine, task *ProwlerTask) customresources.AwsCustomResource {
	in, _ := json.Marshal(citadel.CatalogRunInput{Image: *task.Image.AssetHash()})
	call := &customresources.AwsSdkCall{
		Service: jsii.String("SFN"),
		Action:  jsii.String("startExecution"),
		Parameters: map[string]any{
			"stateMachineArn": sm.StateMachineArn(),
			"input":           string(in),
		},
		PhysicalResourceId: customresources.PhysicalResourceId_Of(jsii.String("CatalogLoad")),
	}
	logs := awslogs.NewLogGroup(scope, jsii.String("CatalogLoadLogs"), &awslogs.LogGroupProps{
		Retention:     logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	cr := customresources.NewAwsCustomResource(scope, jsii.String("CatalogLoad"), &customresources.AwsCustomResourceProps{
		ResourceType: jsii.String(catalogLoadType),
		OnCreate:     call,
		OnUpdate:     call,
		Policy: customresources.AwsCustomResourcePolicy_FromStatements(&[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("states:StartExecution"),
				Resources: jsii.Strings(*sm.StateMachineArn()),
			}),
		}),
		InstallLatestAwsSdk: jsii.Bool(false), // the runtime's SDK: no download at deploy time
		LogGroup:            logs,
	})
	// The provider is the stack's one AwsCustomResource function, a child of
	// the stack named after its UUID.
	provider := awscdk.Stack_Of(scope).Node().TryFindChild(jsii.String(
		"AWS" + strings.ReplaceAll(*customresources.AwsCustomResource_PROVIDER_FUNCTION_UUID(), "-", "")))
	suppress(provider, "AwsSolutions-IAM4",
		"The AwsCustomResource provider function's AWSLambdaBasicExecutionRole only lets it write its own logs.", policyLambdaBasic)
	return cr
}

// toMap is v's JSON as a map, for a state's payload.
func toMap(v any) *map[string]any {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return &m
}
