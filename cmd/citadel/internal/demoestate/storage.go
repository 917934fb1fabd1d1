package demoestate

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/citadelsecure/citadel/shared/inventory"
)

// storage: a public-facing bucket without a public access block, default
// encryption, versioning or a TLS policy; a logs bucket with all of them
// (KMS); an RDS instance without storage encryption.
func (s *seeder) storage(east, _ aws.Config) {
	c := s3.NewFromConfig(east, func(o *s3.Options) { o.UsePathStyle = true })
	public, logs := "citadel-demo-public-"+s.account, "citadel-demo-logs-"+s.account
	for _, b := range []string{public, logs} {
		_, err := c.CreateBucket(s.ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
		if !s.ok("bucket "+b, err) {
			return
		}
	}
	s.res("bucket-public", inventory.S3BucketARN("aws", public))
	s.res("bucket-logs", inventory.S3BucketARN("aws", logs))
	_, err := c.PutBucketEncryption(s.ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(logs),
		ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms,
				KMSMasterKeyID: aws.String(s.e.Resources["key-east"])}}}}})
	s.ok("bucket encryption", err)
	_, err = c.PutPublicAccessBlock(s.ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(logs),
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}})
	s.ok("public access block", err)
	_, err = c.PutBucketVersioning(s.ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(logs),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
	s.ok("versioning", err)
	_, err = c.PutBucketPolicy(s.ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(logs), Policy: aws.String(fmt.Sprintf(`{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "TLSOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
     "Resource": ["arn:aws:s3:::%[1]s", "arn:aws:s3:::%[1]s/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    {"Sid": "CloudTrail", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
     "Resource": "arn:aws:s3:::%[1]s/AWSLogs/%[2]s/*"}]}`, logs, s.account))})
	if !s.ok("bucket policy", err) {
		return
	}
	for _, x := range []struct{ check, bad, good string }{
		{"s3_bucket_level_public_access_block", "FAIL", "PASS"},
		{"s3_bucket_object_versioning", "FAIL", "PASS"},
		{"s3_bucket_secure_transport_policy", "FAIL", "PASS"},
		{"s3_bucket_kms_encryption", "FAIL", "PASS"},
	} {
		s.add(x.check, "bucket-public", x.bad)
		s.add(x.check, "bucket-logs", x.good)
	}

	r := rds.NewFromConfig(east)
	_, err = r.CreateDBSubnetGroup(s.ctx, &rds.CreateDBSubnetGroupInput{DBSubnetGroupName: aws.String("app"), DBSubnetGroupDescription: aws.String("app"),
		SubnetIds: []string{lastID(s.e.Resources["subnet-east-a"]), lastID(s.e.Resources["subnet-east-b"])}})
	if !s.ok("db subnet group", err) {
		return
	}
	_, err = r.CreateDBInstance(s.ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String("orders-db"), DBInstanceClass: aws.String("db.t3.micro"),
		Engine: aws.String("postgres"), AllocatedStorage: aws.Int32(20), MasterUsername: aws.String("orders"), MasterUserPassword: aws.String("correct-horse-battery"),
		DBSubnetGroupName: aws.String("app"), VpcSecurityGroupIds: []string{lastID(s.e.Resources["sg-internal-east"])}, StorageEncrypted: aws.Bool(false)})
	if !s.ok("db instance", err) {
		return
	}
	s.res("db-orders", inventory.RDSInstanceARN(East, s.account, "orders-db"))
	s.add("rds_instance_storage_encrypted", "db-orders", "FAIL")
}
