// Command controls is step 4 of a scan: it sorts the integration's check
// results into applied controls (SCF hub first, requirements as fallback),
// with their requirement mappings, links and posture.
package main

import (
	"os"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/controls"
)

func main() {
	rt := stepfn.Init()
	store := ddb.New(rt.AWS, os.Getenv(citadel.EnvTable))
	h := &controls.Handler{Store: store, Catalog: store, Results: store, Env: rt.Env}
	stepfn.Lambda(stepfn.New(citadel.StepControls, h.Handle, rt.Env, store))
}
