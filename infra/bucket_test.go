package main

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/citadelsecure/citadel/shared/citadel"
)

func TestBucket(t *testing.T) {
	s := defaultApp(t)
	bucket := s.logicalID(s.stacks.Main.Bucket)
	blocked := map[string]any{
		"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
	}
	check(t, "four buckets: scans, their access logs, the console's files and the console's CloudFront logs", func() {
		s.main.ResourceCountIs(jsii.String("AWS::S3::Bucket"), jsii.Number(4))
	})
	check(t, "every bucket blocks public access and is encrypted", func() {
		s.main.AllResourcesProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
			"PublicAccessBlockConfiguration": blocked,
			"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{
				map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}},
			}},
		})
	})
	props := s.props(t, bucket)
	check(t, "scan bucket lifecycle and logging", func() {
		s.main.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
			"LifecycleConfiguration": map[string]any{"Rules": assertions.Match_ArrayWith(&[]any{
				map[string]any{"Id": "expire-old-scans", "Prefix": citadel.ScanPrefix, "ExpirationInDays": 90, "Status": "Enabled"},
				map[string]any{"Id": "expire-exports", "Prefix": citadel.ExportPrefix, "ExpirationInDays": 7, "Status": "Enabled"},
				map[string]any{"Id": "abort-incomplete-uploads", "AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": 7}, "Status": "Enabled"},
			})},
			"LoggingConfiguration": map[string]any{"LogFilePrefix": "scans-bucket/"},
		})
	})
	if props["LoggingConfiguration"] == nil {
		t.Error("the scan bucket has no access logging")
	}
	// TLS only: each bucket's policy denies requests without aws:SecureTransport.
	policies := s.resources("AWS::S3::BucketPolicy")
	if len(policies) != 4 {
		t.Fatalf("%d bucket policies, want 4", len(policies))
	}
	for id, p := range policies {
		found := false
		for _, st := range p["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			stm := st.(map[string]any)
			cond, _ := stm["Condition"].(map[string]any)
			if stm["Effect"] == "Deny" && cond != nil {
				if b, ok := cond["Bool"].(map[string]any); ok && b["aws:SecureTransport"] == "false" {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("bucket policy %s does not deny plain HTTP", id)
		}
	}
}

func TestBucketRetentionFromContext(t *testing.T) {
	s := customApp(t)
	check(t, "scans expire after the configured days", func() {
		s.main.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
			"LifecycleConfiguration": map[string]any{"Rules": assertions.Match_ArrayWith(&[]any{
				map[string]any{"Id": "expire-old-scans", "Prefix": citadel.ScanPrefix, "ExpirationInDays": 30, "Status": "Enabled"},
			})},
		})
	})
}
