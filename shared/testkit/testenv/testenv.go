// Package testenv connects tests to the real local AWS server (moto) that
// the Makefile starts: it reads the endpoint from CITADEL_TEST_ENDPOINT,
// fails the test in CI when it is missing (never a silent skip), and hands
// out fresh DynamoDB tables and S3 buckets that are removed after the test.
package testenv

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/ddb"
)

// EnvEndpoint names the variable that carries the local server's URL.
const EnvEndpoint = "CITADEL_TEST_ENDPOINT"

// AccountID is the account moto pretends to be.
const AccountID = "123456789012"

// Endpoint returns the local server's URL. Without one the test is skipped,
// except in CI (CI=true), where it fails.
func Endpoint(tb testing.TB) string {
	tb.Helper()
	ep := os.Getenv(EnvEndpoint)
	if ep == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is not set: CI must run the tests against the local AWS server (make test starts it)", EnvEndpoint)
		}
		tb.Skipf("%s is not set; run the tests with `make test`, which starts the local AWS server", EnvEndpoint)
	}
	return ep
}

// Config returns an AWS config pointed at the local server with static
// test credentials, in region us-east-1.
func Config(tb testing.TB) aws.Config {
	tb.Helper()
	ep := Endpoint(tb)
	tb.Setenv("AWS_ENDPOINT_URL", ep)
	cfg, err := awsx.Load(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Region = "us-east-1"
	cfg.Credentials = credentials.NewStaticCredentialsProvider("testing", "testing", "")
	cfg.BaseEndpoint = aws.String(ep)
	return cfg
}

var seq atomic.Int64

// Name returns a name unique to this test run, for tables and buckets.
func Name(tb testing.TB, prefix string) string {
	n := strings.ToLower(fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e9, seq.Add(1)))
	return n
}

// Table creates a fresh table from ddb.Schema and deletes it after the test.
func Table(tb testing.TB, cfg aws.Config) (client *dynamodb.Client, name string) {
	tb.Helper()
	client = dynamodb.NewFromConfig(cfg)
	name = Name(tb, "citadel-test")
	ctx := context.Background()
	if err := ddb.CreateTable(ctx, client, name); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = ddb.DeleteTable(context.Background(), client, name) })
	return client, name
}

// Store returns a store on a fresh table.
func Store(tb testing.TB, opts ...ddb.Option) *ddb.Store {
	tb.Helper()
	cfg := Config(tb)
	client, name := Table(tb, cfg)
	return ddb.NewFromClient(client, name, opts...)
}

// Bucket creates a fresh S3 bucket and returns its client and name.
func Bucket(tb testing.TB, cfg aws.Config) (*s3.Client, string) {
	tb.Helper()
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	name := Name(tb, "citadel-test")
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		tb.Fatalf("create bucket %s: %v", name, err)
	}
	return client, name
}

// StoreOn returns a store on an existing table.
func StoreOn(tb testing.TB, cfg aws.Config, table string, opts ...ddb.Option) *ddb.Store {
	tb.Helper()
	return ddb.NewFromClient(dynamodb.NewFromConfig(cfg), table, opts...)
}
