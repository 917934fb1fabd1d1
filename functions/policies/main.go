// Command policies is step 5 of a scan: it creates the missing policies of
// the scan's SCF controls from the policy templates.
package main

import (
	"os"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/policies"
)

func main() {
	rt := stepfn.Init()
	store := ddb.New(rt.AWS, os.Getenv(citadel.EnvTable))
	h := &policies.Handler{Store: store, Catalog: store, Env: rt.Env}
	stepfn.Lambda(stepfn.New(citadel.StepPolicies, h.Handle, rt.Env, store))
}
