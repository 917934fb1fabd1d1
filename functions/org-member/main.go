// Command org-member starts one member's scan in an organization scan's
// Map: the scan record queued with the member's lock, the child
// execution's input returned; a member already scanning is skipped.
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
	locks := &scanend.Locks{Store: store, Executions: sfn.NewFromConfig(rt.AWS), StateMachineARN: os.Getenv(citadel.EnvStateMachineARN),
		Announce: announce, Log: rt.Env.Log}
	h := &orgscan.Starter{Store: store, Locks: locks, Env: rt.Env}
	stepfn.Lambda(stepfn.New(citadel.StepOrgMember, h.Handle, rt.Env, store))
}
