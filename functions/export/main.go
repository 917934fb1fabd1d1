// Command export runs the export state machine's job
// (shared/jobs/exportjob): a framework's dataset for a scope and date,
// rendered to the bucket under exports/<id>/, the export recorded
// succeeded with its file, or failed with the reason. Evidence revisions
// offloaded to the bucket's blobs are read from there.
package main

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/jobs/exportjob"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

func main() {
	rt := stepfn.Init()
	s3c := s3.NewFromConfig(rt.AWS, awsx.S3Options)
	bucket := os.Getenv(citadel.EnvBucket)
	store := ddb.New(rt.AWS, os.Getenv(citadel.EnvTable), ddb.WithBlobs(&blobstore.S3{Client: s3c, Bucket: bucket}))
	h := &exportjob.Handler{Store: store, S3: s3c, Bucket: bucket, Env: rt.Env}
	stepfn.Lambda(stepfn.New(exportjob.StepName, h.Handle, rt.Env, store))
}
