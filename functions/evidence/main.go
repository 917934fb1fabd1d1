// Command evidence is step 6 of a scan: one continuous evidence record per
// check result, with hash-chained revisions and links to its controls.
// Revisions over 64 KB are offloaded to the scan bucket; a re-check's
// resources file is read from it (scans/*).
package main

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/evidence"
)

func main() {
	rt := stepfn.Init()
	s3c := s3.NewFromConfig(rt.AWS, awsx.S3Options)
	blobs := &blobstore.S3{Client: s3c, Bucket: os.Getenv(citadel.EnvBucket)}
	store := ddb.New(rt.AWS, os.Getenv(citadel.EnvTable), ddb.WithBlobs(blobs))
	h := &evidence.Handler{Store: store, Catalog: store, Results: store, Assets: store, S3: s3c, Env: rt.Env}
	stepfn.Lambda(stepfn.New(citadel.StepEvidence, h.Handle, rt.Env, store))
}
