// Command org-plan is the organization state machine's first state: it
// records the organization scan running with its execution's ARN (a
// scheduled run's record made here, with the organization's lock).
package main

import (
	"os"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/orgscan"
)

func main() {
	rt := stepfn.Init()
	store := ddb.New(rt.AWS, os.Getenv(citadel.EnvTable))
	h := &orgscan.Planner{Store: store, Env: rt.Env}
	stepfn.Lambda(stepfn.New(citadel.StepOrgPlan, h.Handle, rt.Env, store))
}
