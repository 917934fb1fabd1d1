// Command asset-sync is step 1 of a scan: it collects the integration's AWS
// inventory through its role and brings the stored assets and their
// relationships up to date; past citadel.AssetSyncFanOutRegions regions it
// plays the three parts of the per-region fan-out (its plan, an item, the
// apply), chosen by its input.
package main

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/assetsync"
)

func main() {
	rt := stepfn.Init()
	store := ddb.New(rt.AWS, os.Getenv(citadel.EnvTable))
	// The fan-out's items write what they collect under the scan's prefix
	// (the plan's bucket), and its apply reads it back.
	h := &assetsync.Handler{Store: store, AWS: rt.AWS, Env: rt.Env, FanOut: true, Objects: s3.NewFromConfig(rt.AWS, awsx.S3Options)}
	stepfn.Lambda(stepfn.New(citadel.StepAssetSync, h.Handle, rt.Env, store))
}
