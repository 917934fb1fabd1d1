// Command reconcile ends the scan of an execution that failed, timed out or
// was aborted where no Catch sees it (an EventBridge rule on the state
// machine's execution status changes invokes it).
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/scanend"
	"github.com/citadelsecure/citadel/shared/steps/reconcile"
)

func main() {
	logger := awsx.SetupLogging()
	cfg, err := awsx.Load(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	store := ddb.New(cfg, os.Getenv(citadel.EnvTable))
	sm := os.Getenv(citadel.EnvStateMachineARN)
	h := &reconcile.Handler{
		Store:           store,
		StateMachineARN: sm,
		Locks:           &scanend.Locks{Store: store, Executions: sfn.NewFromConfig(cfg), StateMachineARN: sm, Log: logger},
		Log:             logger,
	}
	lambda.Start(h.Handle)
}
