// Command exception-sweep makes exceptions' decisions and expiries take
// effect without a scan (shared/jobs/exceptionsweep): an hourly schedule
// sweeps the expired exceptions and sends the reminders; a rule routes the
// API's "Exception Approved" and "Exception Revoked" events to it. A
// re-marked result's evidence gains a revision: raw outputs over 64 KB are
// read from and offloaded to the bucket's blobs.
package main

import (
	"log"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/jobs/exceptionsweep"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

func main() {
	rt := stepfn.Init()
	days, err := citadel.ParseExceptionReminderDays(os.Getenv(citadel.EnvExceptionReminderDays))
	if err != nil {
		log.Fatalf("%s: %v", citadel.EnvExceptionReminderDays, err)
	}
	blobs := &blobstore.S3{Client: s3.NewFromConfig(rt.AWS, awsx.S3Options), Bucket: os.Getenv(citadel.EnvBucket)}
	store := ddb.New(rt.AWS, os.Getenv(citadel.EnvTable), ddb.WithBlobs(blobs))
	h := &exceptionsweep.Handler{Store: store, Events: eventbridge.NewFromConfig(rt.AWS), EventBus: os.Getenv(citadel.EnvEventBus),
		ReminderDays: days, Env: rt.Env}
	stepfn.Lambda(stepfn.New(exceptionsweep.StepName, h.Handle, rt.Env, store))
}
