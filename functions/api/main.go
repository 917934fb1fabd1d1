// Command api is Citadel's HTTP API behind API Gateway (HTTP API, payload
// format 2.0): the shared/httpapi handlers through aws-lambda-go-api-proxy.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/httpapi"
	"github.com/citadelsecure/citadel/shared/scanend"
	sched "github.com/citadelsecure/citadel/shared/scheduler"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/verify"
)

func main() {
	ctx := context.Background()
	rt := stepfn.Init()
	cfg, logger := rt.AWS, rt.Env.Log
	// Evidence revisions and results may have offloaded their bulk to the bucket.
	s3c := s3.NewFromConfig(cfg, awsx.S3Options)
	blobs := &blobstore.S3{Client: s3c, Bucket: os.Getenv(citadel.EnvBucket)}
	store := ddb.New(cfg, os.Getenv(citadel.EnvTable), ddb.WithBlobs(blobs))
	sm, orgSM := os.Getenv(citadel.EnvStateMachineARN), os.Getenv(citadel.EnvOrgStateMachineARN)
	states := sfn.NewFromConfig(cfg)
	minSchedule, err := citadel.ParseMinScheduleInterval(os.Getenv(citadel.EnvMinScheduleInterval))
	if err != nil {
		log.Fatalf("%s: %v", citadel.EnvMinScheduleInterval, err)
	}
	maxExceptionDays, err := citadel.ParseMaxExceptionDays(os.Getenv(citadel.EnvMaxExceptionDays))
	if err != nil {
		log.Fatalf("%s: %v", citadel.EnvMaxExceptionDays, err)
	}
	api, err := httpapi.New(ctx, httpapi.Deps{
		Folders: store, Integrations: store, Scans: store, Assets: store, Catalog: store, Controls: store, Evidence: store, Assessments: store, Compliance: store,
		Exceptions: store, MaxExceptionDays: maxExceptionDays,
		Schedules: &sched.Schedules{API: scheduler.NewFromConfig(cfg), Group: os.Getenv(citadel.EnvSchedulerGroup),
			RoleARN: os.Getenv(citadel.EnvSchedulerRole), StateMachineARN: sm, OrgStateMachineARN: orgSM},
		Executions: states, StateMachineARN: sm, OrgStateMachineARN: orgSM,
		CatalogRuns: states, CatalogStateMachineARN: os.Getenv(citadel.EnvCatalogStateMachineARN),
		Announce:      &scanend.Announcer{Events: eventbridge.NewFromConfig(cfg), Bus: os.Getenv(citadel.EnvEventBus), Log: logger},
		Verify:        &verify.Verifier{Config: cfg}, // assumes the integrations' scanner roles with the function's credentials
		DefaultFolder: os.Getenv(citadel.EnvFolderID), MinScheduleInterval: minSchedule, Log: logger,
		// Exports: the state machine, and the files' presigned GETs (signed with the function's role).
		Exports: store, ExportStateMachineARN: os.Getenv(citadel.EnvExportStateMachineARN), Presign: s3.NewPresignClient(s3c),
		Bucket: os.Getenv(citadel.EnvBucket),
	})
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(httpadapter.NewV2(api).ProxyWithContext)
}
