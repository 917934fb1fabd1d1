package main

import (
	"regexp"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// accessLogRetentionDays is how long the scan bucket's access logs are kept.
const accessLogRetentionDays = 365

// newBucket is the scan-output bucket: the checks file, Prowler's OCSF output
// and manifest under scans/<scan id>/, the Prowler catalog under catalog/.
// Public access blocked, TLS only, S3-managed encryption, server access logs
// to a bucket of their own, and scans/ objects expiring after
// cfg.ScanRetentionDays (the findings themselves live on in the table),
// exports/ objects after citadel.ExportRetention, as their records.
// The access-log bucket is returned too: the console's bucket logs there.
func newBucket(scope constructs.Construct, cfg Config) (scans, logs awss3.Bucket) {
	logs = awss3.NewBucket(scope, jsii.String("AccessLogs"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:         jsii.String("expire-access-logs"),
			Expiration: awscdk.Duration_Days(jsii.Number(accessLogRetentionDays)),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	suppress(logs, "AwsSolutions-S1",
		"This is the access-log bucket itself: logging it into itself would loop, and a third bucket only moves the question.")

	scans = awss3.NewBucket(scope, jsii.String("Scans"), &awss3.BucketProps{
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:             jsii.Bool(true),
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		ServerAccessLogsBucket: logs,
		ServerAccessLogsPrefix: jsii.String("scans-bucket/"),
		LifecycleRules: &[]*awss3.LifecycleRule{
			{
				Id:         jsii.String("expire-old-scans"),
				Prefix:     jsii.String(citadel.ScanPrefix),
				Expiration: awscdk.Duration_Days(jsii.Number(float64(cfg.ScanRetentionDays))),
			},
			{
				Id:         jsii.String("expire-exports"),
				Prefix:     jsii.String(citadel.ExportPrefix),
				Expiration: awscdk.Duration_Days(jsii.Number(citadel.ExportRetention.Hours() / 24)),
			},
			{
				Id:                                  jsii.String("abort-incomplete-uploads"),
				AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
			},
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	return scans, logs
}

// grantObjects lets grantee read and/or put the objects under prefix, and
// nothing else in the bucket.
func grantObjects(bucket awss3.Bucket, grantee interface {
	awsiam.IGrantable
	constructs.IConstruct
}, prefix string, read, put bool) {
	pattern := jsii.String(prefix + "*")
	if read {
		bucket.GrantRead(grantee, pattern)
	}
	if put {
		bucket.GrantPut(grantee, pattern)
	}
	suppress(grantee, "AwsSolutions-IAM5",
		"Object access is limited to one prefix of the scan bucket ("+prefix+"), where keys are scan ids; the action "+
			"patterns are CDK's read and put grants (GetObject*, GetBucket*, List*, Abort* for multipart uploads).",
		`/^Action::s3:(GetObject|GetBucket|List|Abort)\*$/g`,
		`/^Resource::<Scans[0-9A-F]{8}\.Arn>\/`+regexp.QuoteMeta(prefix)+`\*$/g`)
}
