// Command plan is the scan state machine's first state: it writes the scan's
// checks file to S3 and marks the scan running.
package main

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/plan"
)

func main() {
	rt := stepfn.Init()
	store := ddb.New(rt.AWS, os.Getenv(citadel.EnvTable))
	h := &plan.Handler{Store: store, S3: s3.NewFromConfig(rt.AWS, awsx.S3Options), Bucket: os.Getenv(citadel.EnvBucket), Env: rt.Env}
	stepfn.Lambda(stepfn.New(citadel.StepPlan, h.Handle, rt.Env, store))
}
