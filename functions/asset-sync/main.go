// Command asset-sync is step 1 of a scan: it collects the integration's AWS
// inventory through its role and brings the stored assets and their
// relationships up to date.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/steps/assetsync"
)

func main() {
	logger := awsx.SetupLogging()
	cfg, err := awsx.Load(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	store := ddb.New(cfg, os.Getenv(citadel.EnvTable))
	h := &assetsync.Handler{Store: store, AWS: cfg, Log: logger}
	lambda.Start(h.Handle)
}
