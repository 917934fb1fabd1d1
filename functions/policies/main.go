// Command policies is step 5 of a scan: it creates the missing policies of
// the scan's SCF controls from the policy templates.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/steps/policies"
)

func main() {
	logger := awsx.SetupLogging()
	cfg, err := awsx.Load(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	store := ddb.New(cfg, os.Getenv(citadel.EnvTable))
	h := &policies.Handler{Store: store, Catalog: store, Log: logger}
	lambda.Start(h.Handle)
}
