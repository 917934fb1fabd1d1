// Command org-summary is the organization state machine's last state: it
// rolls the members' scans up onto the organization scan, records it
// succeeded or failed, releases its lock and puts its end on the drift bus.
package main

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/scanend"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/orgscan"
)

func main() {
	rt := stepfn.Init()
	store := ddb.New(rt.AWS, os.Getenv(citadel.EnvTable))
	announce := &scanend.Announcer{Events: eventbridge.NewFromConfig(rt.AWS), Bus: os.Getenv(citadel.EnvEventBus), Log: rt.Env.Log}
	h := &orgscan.Summarizer{Store: store, Executions: sfn.NewFromConfig(rt.AWS), StateMachineARN: os.Getenv(citadel.EnvStateMachineARN),
		Announce: announce, Env: rt.Env}
	stepfn.Lambda(stepfn.New(citadel.StepOrgSummary, h.Handle, rt.Env, store))
}
