// Command catalog-import imports Citadel's catalog in AWS: Prowler's check
// metadata and compliance files from the S3 prefix the Prowler task exports
// (catalog/prowler/), and the user's SCF files from another prefix, into the
// table; only what changed is written.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/jobs/catalogimport"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

func main() {
	rt := stepfn.Init()
	store := ddb.New(rt.AWS, os.Getenv(citadel.EnvTable))
	exported := "s3://" + os.Getenv(citadel.EnvBucket) + "/" + citadel.CatalogPrefix
	h := &catalogimport.Handler{
		Store: store,
		S3:    s3.NewFromConfig(rt.AWS, awsx.S3Options),
		// Without a source, import what the Prowler task exported.
		FindProwler: func(context.Context) (string, error) { return exported, nil },
		Env:         rt.Env,
	}
	stepfn.Lambda(stepfn.New(citadel.StepCatalogImport, h.Handle, rt.Env, store))
}
