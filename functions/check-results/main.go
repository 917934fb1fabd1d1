// Command check-results is step 3 of a scan: it streams Prowler's OCSF
// output from S3 into check results, their history and the scan's digest,
// and sends an EventBridge event for every regression.
package main

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/checkresults"
)

func main() {
	rt := stepfn.Init()
	s3c := s3.NewFromConfig(rt.AWS, awsx.S3Options)
	store := ddb.New(rt.AWS, os.Getenv(citadel.EnvTable), ddb.WithBlobs(&blobstore.S3{Client: s3c, Bucket: os.Getenv(citadel.EnvBucket)}))
	h := &checkresults.Handler{Store: store, S3: s3c, Events: eventbridge.NewFromConfig(rt.AWS),
		EventBus: os.Getenv(citadel.EnvEventBus), Env: rt.Env}
	stepfn.Lambda(stepfn.New(citadel.StepCheckResults, h.Handle, rt.Env, store))
}
