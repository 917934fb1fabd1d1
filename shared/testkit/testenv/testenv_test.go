package testenv_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func TestAccountsAreIsolated(t *testing.T) {
	cfg := testenv.Config(t)
	a, idA, _ := testenv.Account(t, cfg)
	b, idB, _ := testenv.Account(t, cfg)
	if idA == idB {
		t.Fatalf("two accounts share id %s", idA)
	}
	_, bucket := testenv.Bucket(t, a)
	out, err := s3.NewFromConfig(b, func(o *s3.Options) { o.UsePathStyle = true }).ListBuckets(context.Background(), &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, bk := range out.Buckets {
		if *bk.Name == bucket {
			t.Errorf("account %s sees bucket %s of account %s", idB, bucket, idA)
		}
	}
}
