// Command controls is step 4 of a scan: it sorts the integration's check
// results into applied controls (SCF hub first, requirements as fallback),
// with their requirement mappings, links and posture.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/steps/controls"
)

func main() {
	logger := awsx.SetupLogging()
	cfg, err := awsx.Load(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	store := ddb.New(cfg, os.Getenv(citadel.EnvTable))
	h := &controls.Handler{Store: store, Catalog: store, Results: store, Log: logger}
	lambda.Start(h.Handle)
}
