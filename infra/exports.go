package main

import (
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
)

// The export state machine's states.
const (
	StateExport         = FnExport          // the export job
	StateExportRecord   = "export-record"   // the job again, recording the failure of the first
	StateExportFailed   = "export-failed"   // Fail: the execution fails with the job's error
	StateExportFinished = "export-finished" // Succeed
	// ExportJobPath is where the job's answer lands in the state.
	ExportJobPath = "$.job"
)

// newExports builds the export state machine (its input a
// citadel.ExportInput): the export job, retried on its retryable errors;
// when it fails for good, the job once more with the error (the export is
// recorded failed with it), then a Fail state. The execution's timeout is
// citadel.ExportTimeout; an export still running past it reads as failed
// (citadel.Export.Expired). The job reads the table, the scans' blobs
// (evidence revisions offloaded there) and writes exports/.
func newExports(scope constructs.Construct, cfg Config, fns *Functions, bucket awss3.Bucket) (awsstepfunctions.StateMachine, awskms.IKey) {
	fn := fns.ByName[FnExport]
	key := exportSigningKey(scope, cfg)
	if key != nil {
		fn.AddEnvironment(jsii.String(citadel.EnvExportSigningKey), key.KeyArn(), nil)
		key.Grant(fn, jsii.String("kms:Sign"), jsii.String("kms:GetPublicKey"))
	}
	if cfg.POAMOwner != "" {
		fn.AddEnvironment(jsii.String(citadel.EnvPOAMOwner), jsii.String(cfg.POAMOwner), nil)
	}
	grantObjects(bucket, fn, citadel.ExportPrefix, false, true)
	grantObjects(bucket, fn, ddb.BlobPrefix, true, false)
	spec := specOf(FnExport)
	invoke := func(id, name string, payload awsstepfunctions.TaskInput, resultPath string) awsstepfunctionstasks.LambdaInvoke {
		t := awsstepfunctionstasks.NewLambdaInvoke(scope, jsii.String(id), &awsstepfunctionstasks.LambdaInvokeProps{
			StateName:                jsii.String(name),
			LambdaFunction:           fn,
			Payload:                  payload,
			PayloadResponseOnly:      jsii.Bool(true),
			RetryOnServiceExceptions: jsii.Bool(false),
			ResultPath:               jsii.String(resultPath),
			TaskTimeout:              awsstepfunctions.Timeout_Duration(duration(spec.Timeout + time.Minute)),
		})
		t.AddRetry(&awsstepfunctions.RetryProps{
			Errors:         jsii.Strings(append([]string{citadel.ErrorTypeRetryable}, LambdaServiceErrors...)...),
			Interval:       awscdk.Duration_Seconds(jsii.Number(2)),
			MaxAttempts:    jsii.Number(float64(spec.Retries)),
			BackoffRate:    jsii.Number(2),
			MaxDelay:       awscdk.Duration_Seconds(jsii.Number(30)),
			JitterStrategy: awsstepfunctions.JitterType_FULL,
		})
		return t
	}
	failed := awsstepfunctions.NewFail(scope, jsii.String("ExportFailed"), &awsstepfunctions.FailProps{
		StateName: jsii.String(StateExportFailed),
		ErrorPath: jsii.String(ErrorPath + ".Error"),
		CausePath: jsii.String(ErrorPath + ".Cause"),
	})
	record := invoke("ExportRecordState", StateExportRecord, awsstepfunctions.TaskInput_FromObject(&map[string]any{
		"export_id":           awsstepfunctions.JsonPath_StringAt(jsii.String("$.export_id")),
		citadel.StateErrorKey: awsstepfunctions.JsonPath_ObjectAt(jsii.String(ErrorPath)),
	}), "$.record")
	record.Next(failed)
	job := invoke("ExportState", StateExport, awsstepfunctions.TaskInput_FromObject(&map[string]any{
		"export_id": awsstepfunctions.JsonPath_StringAt(jsii.String("$.export_id")),
	}), ExportJobPath)
	job.AddCatch(record, &awsstepfunctions.CatchProps{Errors: jsii.Strings("States.ALL"), ResultPath: jsii.String(ErrorPath)})
	job.Next(awsstepfunctions.NewSucceed(scope, jsii.String("ExportFinished"), &awsstepfunctions.SucceedProps{StateName: jsii.String(StateExportFinished)}))

	logs := awslogs.NewLogGroup(scope, jsii.String("ExportStateMachineLogs"), &awslogs.LogGroupProps{
		Retention:     logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	sm := awsstepfunctions.NewStateMachine(scope, jsii.String("ExportStateMachine"), &awsstepfunctions.StateMachineProps{
		Comment:          jsii.String("Citadel's exports: a framework's dataset for a scope and date, rendered to the bucket (exports/)"),
		DefinitionBody:   awsstepfunctions.DefinitionBody_FromChainable(job),
		StateMachineType: awsstepfunctions.StateMachineType_STANDARD,
		Timeout:          duration(citadel.ExportTimeout),
		TracingEnabled:   jsii.Bool(true),
		Logs: &awsstepfunctions.LogOptions{
			Destination:          logs,
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(false), // the request and the file are on the export's record
		},
	})
	suppressStateMachineRole(sm)
	return sm, key
}

// exportSigningKey is the key that signs the auditor's packages: a KMS key
// of the stack (ECC_NIST_P256, SIGN_VERIFY, retained when the stack goes:
// packages signed with it must stay verifiable against its public key), an
// existing key by ARN, or none.
func exportSigningKey(scope constructs.Construct, cfg Config) awskms.IKey {
	switch cfg.ExportSigningKey {
	case "":
		return nil
	case SigningKeyCreate:
		return awskms.NewKey(scope, jsii.String("ExportSigningKey"), &awskms.KeyProps{
			Description:   jsii.String("Citadel: signs the auditor's packages (manifest.sig); its public key verifies them offline"),
			KeySpec:       awskms.KeySpec_ECC_NIST_P256,
			KeyUsage:      awskms.KeyUsage_SIGN_VERIFY,
			RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		})
	default:
		return awskms.Key_FromKeyArn(scope, jsii.String("ExportSigningKey"), jsii.String(cfg.ExportSigningKey))
	}
}

// wireAPIExports lets the api function start the export state machine
// (POST /exports) and presign GETs of the exports' files (GET
// /exports/{id}: the URL is signed with the function's own credentials, so
// it needs the read).
func wireAPIExports(fn awslambda.Function, sm awsstepfunctions.StateMachine, bucket awss3.Bucket) {
	fn.AddEnvironment(jsii.String(citadel.EnvExportStateMachineARN), sm.StateMachineArn(), nil)
	sm.GrantStartExecution(fn)
	grantObjects(bucket, fn, citadel.ExportPrefix, true, false)
}
