// Command plan is the scan state machine's first state: it writes the scan's
// checks file to S3 and marks the scan running.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/steps/plan"
)

func main() {
	logger := awsx.SetupLogging()
	cfg, err := awsx.Load(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	h := &plan.Handler{
		Store:  ddb.New(cfg, os.Getenv(citadel.EnvTable)),
		S3:     s3.NewFromConfig(cfg, awsx.S3Options),
		Bucket: os.Getenv(citadel.EnvBucket),
		Log:    logger,
	}
	lambda.Start(h.Handle)
}
