// Command org-sync is the organization sync, the state before an
// organization's scan maps over its members: it lists the organization's
// accounts through the organization integration's role and brings its
// member integrations up to date.
package main

import (
	"os"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/orgsync"
)

func main() {
	rt := stepfn.Init()
	store := ddb.New(rt.AWS, os.Getenv(citadel.EnvTable))
	h := &orgsync.Handler{Store: store, AWS: rt.AWS, Env: rt.Env}
	stepfn.Lambda(stepfn.New(citadel.StepOrgSync, h.Handle, rt.Env, store))
}
