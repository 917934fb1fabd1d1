// Command export runs the export state machine's job
// (shared/jobs/exportjob): a framework's dataset for a scope and date,
// rendered to the bucket under exports/<id>/, the export recorded
// succeeded with its file, or failed with the reason. Evidence revisions
// offloaded to the bucket's blobs are read from there. Packages are signed
// with the stack's KMS key when it has one (CITADEL_EXPORT_SIGNING_KEY).
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/auditpkg"
	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/jobs/exportjob"
	"github.com/citadelsecure/citadel/shared/oscal"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

func main() {
	rt := stepfn.Init()
	s3c := s3.NewFromConfig(rt.AWS, awsx.S3Options)
	bucket := os.Getenv(citadel.EnvBucket)
	store := ddb.New(rt.AWS, os.Getenv(citadel.EnvTable), ddb.WithBlobs(&blobstore.S3{Client: s3c, Bucket: bucket}))
	opts := exportjob.RenderOptions{POAM: oscal.POAMOptionsFromEnv(os.Getenv)}
	// The auditor's packages are signed when the stack has a signing key.
	if key := os.Getenv(citadel.EnvExportSigningKey); key != "" {
		signer, err := auditpkg.NewKMSSigner(context.Background(), kms.NewFromConfig(rt.AWS), key)
		if err != nil {
			log.Fatalf("%s: %v", citadel.EnvExportSigningKey, err)
		}
		opts.Signer = signer
	}
	h := &exportjob.Handler{Store: store, S3: s3c, Bucket: bucket, Options: opts, Env: rt.Env}
	stepfn.Lambda(stepfn.New(exportjob.StepName, h.Handle, rt.Env, store))
}
