// Command finalize is the scan state machine's last state: it records the
// scan's summary and status (succeeded, or failed with its cause), and puts
// the scan's end on the drift bus.
package main

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/scanend"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/finalize"
)

func main() {
	rt := stepfn.Init()
	store := ddb.New(rt.AWS, os.Getenv(citadel.EnvTable))
	announce := &scanend.Announcer{Events: eventbridge.NewFromConfig(rt.AWS), Bus: os.Getenv(citadel.EnvEventBus), Log: rt.Env.Log}
	h := &finalize.Handler{Store: store, Announce: announce, Env: rt.Env}
	stepfn.Lambda(stepfn.New(citadel.StepFinalize, h.Handle, rt.Env, store))
}
