// Command reconcile ends the scan of an execution that failed, timed out or
// was aborted where no Catch sees it (an EventBridge rule on the state
// machine's execution status changes invokes it).
package main

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/jobs/reconcile"
	"github.com/citadelsecure/citadel/shared/scanend"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

func main() {
	rt := stepfn.Init()
	store := ddb.New(rt.AWS, os.Getenv(citadel.EnvTable))
	sm, orgSM := os.Getenv(citadel.EnvStateMachineARN), os.Getenv(citadel.EnvOrgStateMachineARN)
	announce := &scanend.Announcer{Events: eventbridge.NewFromConfig(rt.AWS), Bus: os.Getenv(citadel.EnvEventBus), Log: rt.Env.Log}
	h := &reconcile.Handler{
		Store:              store,
		StateMachineARN:    sm,
		OrgStateMachineARN: orgSM,
		Locks: &scanend.Locks{Store: store, Executions: sfn.NewFromConfig(rt.AWS), StateMachineARN: sm, OrgStateMachineARN: orgSM,
			Announce: announce, Log: rt.Env.Log},
		Announce: announce,
		Env:      rt.Env,
	}
	stepfn.Lambda(stepfn.New(citadel.StepReconcile, h.Handle, rt.Env, store))
}
