// Command finalize is the scan state machine's last state: it records the
// scan's summary and status (succeeded, or failed with its cause).
package main

import (
	"os"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/finalize"
)

func main() {
	rt := stepfn.Init()
	store := ddb.New(rt.AWS, os.Getenv(citadel.EnvTable))
	h := &finalize.Handler{Store: store, Env: rt.Env}
	stepfn.Lambda(stepfn.New(citadel.StepFinalize, h.Handle, rt.Env, store))
}
