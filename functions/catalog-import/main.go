// Command catalog-import imports Citadel's catalog in AWS: Prowler's check
// metadata and compliance files from the S3 prefix the Prowler task exports
// (catalog/prowler/), and the user's SCF files from another prefix, into the
// table; only what changed is written.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/steps/catalogimport"
)

func main() {
	logger := awsx.SetupLogging()
	cfg, err := awsx.Load(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	exported := "s3://" + os.Getenv(citadel.EnvBucket) + "/" + citadel.CatalogPrefix
	h := &catalogimport.Handler{
		Store: ddb.New(cfg, os.Getenv(citadel.EnvTable)),
		S3:    s3.NewFromConfig(cfg, awsx.S3Options),
		// Without a source, import what the Prowler task exported.
		FindProwler: func(context.Context) (string, error) { return exported, nil },
		Log:         logger,
	}
	lambda.Start(h.Handle)
}
