// Command asset-sync is step 1 of a scan: it collects the integration's AWS
// inventory through its role and brings the stored assets and their
// relationships up to date.
package main

import (
	"os"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/assetsync"
)

func main() {
	rt := stepfn.Init()
	store := ddb.New(rt.AWS, os.Getenv(citadel.EnvTable))
	h := &assetsync.Handler{Store: store, AWS: rt.AWS, Env: rt.Env}
	stepfn.Lambda(stepfn.New(citadel.StepAssetSync, h.Handle, rt.Env, store))
}
