// Command reconcile ends the scan of an execution that failed, timed out or
// was aborted where no Catch sees it (an EventBridge rule on the state
// machine's execution status changes invokes it).
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/steps/reconcile"
)

func main() {
	logger := awsx.SetupLogging()
	cfg, err := awsx.Load(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	h := &reconcile.Handler{
		Store:           ddb.New(cfg, os.Getenv(citadel.EnvTable)),
		StateMachineARN: os.Getenv(citadel.EnvStateMachineARN),
		Log:             logger,
	}
	lambda.Start(h.Handle)
}
