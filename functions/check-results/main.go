// Command check-results is step 3 of a scan: it streams Prowler's OCSF
// output from S3 into check results, their history and the scan's digest,
// and sends an EventBridge event for every regression.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/steps/checkresults"
)

func main() {
	logger := awsx.SetupLogging()
	cfg, err := awsx.Load(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	s3c := s3.NewFromConfig(cfg, awsx.S3Options)
	store := ddb.New(cfg, os.Getenv(citadel.EnvTable), ddb.WithBlobs(&blobstore.S3{Client: s3c, Bucket: os.Getenv(citadel.EnvBucket)}))
	h := &checkresults.Handler{Store: store, S3: s3c, Events: eventbridge.NewFromConfig(cfg),
		EventBus: os.Getenv(citadel.EnvEventBus), Log: logger}
	lambda.Start(h.Handle)
}
