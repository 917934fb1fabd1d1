// Command recheck is the re-check buffer (shared/jobs/recheck): the SQS
// queue of forwarded change events hands it a batch per window; it starts
// one re-check (or full scan) per integration and returns the events that
// must wait for a running scan to the queue (batch item failures).
package main

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/jobs/recheck"
	"github.com/citadelsecure/citadel/shared/scanend"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

func main() {
	rt := stepfn.Init()
	store := ddb.New(rt.AWS, os.Getenv(citadel.EnvTable))
	states := sfn.NewFromConfig(rt.AWS)
	sm := os.Getenv(citadel.EnvStateMachineARN)
	announce := &scanend.Announcer{Events: eventbridge.NewFromConfig(rt.AWS), Bus: os.Getenv(citadel.EnvEventBus), Log: rt.Env.Log}
	locks := &scanend.Locks{Store: store, Executions: states, StateMachineARN: sm, Announce: announce, Log: rt.Env.Log}
	h := &recheck.Handler{Env: rt.Env, Store: store, Locks: locks, S3: s3.NewFromConfig(rt.AWS), Bucket: os.Getenv(citadel.EnvBucket),
		Executions: states, StateMachineARN: sm}
	stepfn.Lambda(stepfn.New(citadel.StepRecheck, h.Handle, rt.Env, store))
}
