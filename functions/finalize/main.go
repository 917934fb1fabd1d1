// Command finalize is the scan state machine's last state: it records the
// scan's summary and status (succeeded, or failed with its cause).
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/steps/finalize"
)

func main() {
	logger := awsx.SetupLogging()
	cfg, err := awsx.Load(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	store := ddb.New(cfg, os.Getenv(citadel.EnvTable))
	h := &finalize.Handler{Store: store, Log: logger}
	lambda.Start(h.Handle)
}
