package prowler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/citadelsecure/citadel/shared/inventory"
)

const region = "us-east-1"

// expect is one finding the scan must report: a check's status on a resource.
type expect struct {
	Check    string
	Resource string // resources[].uid: the ARN asset sync stores
	Status   string // PASS or FAIL
}

// estateChecks are the checks the test runs: 22 checks over 9 services.
var estateChecks = []string{
	"s3_bucket_default_encryption",
	"s3_bucket_level_public_access_block",
	"s3_bucket_object_versioning",
	"s3_bucket_secure_transport_policy",
	"s3_bucket_server_access_logging_enabled",
	"ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22",
	"ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_3389",
	"ec2_securitygroup_allow_ingress_from_internet_to_all_ports",
	"ec2_ebs_volume_encryption",
	"ec2_ebs_default_encryption",
	"iam_user_mfa_enabled_console_access",
	"iam_password_policy_minimum_length_14",
	"iam_customer_attached_policy_no_administrative_privileges",
	"cloudtrail_multi_region_enabled",
	"dynamodb_tables_pitr_enabled",
	"dynamodb_tables_kms_cmk_encryption_enabled",
	"sqs_queues_server_side_encryption_enabled",
	"sns_topics_kms_encryption_at_rest_enabled",
	"kms_cmk_rotation_enabled",
	"cloudwatch_log_group_retention_policy_specific_days_enabled",
	"vpc_flow_logs_enabled",
	"iam_user_no_setup_initial_access_key",
}

// seedEstate creates, in a fresh account, pairs of resources: one with a
// known misconfiguration and one fixed, and returns what Prowler must say
// about each.
func seedEstate(t testing.TB, cfg aws.Config, account string) []expect {
	t.Helper()
	ctx := context.Background()
	cfg = cfg.Copy()
	cfg.Region = region
	var want []expect
	add := func(check, resource, status string) { want = append(want, expect{check, resource, status}) }
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("seed %s: %v", what, err)
		}
	}
	suffix := strings.ToLower(account[len(account)-6:])

	// S3: a bare bucket, and one encrypted with KMS, versioned, behind a
	// public access block and a TLS-only policy.
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bad, good := "estate-bad-"+suffix, "estate-good-"+suffix
	for _, b := range []string{bad, good} {
		_, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
		must("bucket "+b, err)
	}
	_, err := s3c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(good),
		ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms},
		}}}})
	must("bucket encryption", err)
	_, err = s3c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(good),
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true),
		}})
	must("public access block", err)
	_, err = s3c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(good),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
	must("versioning", err)
	_, err = s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(good), Policy: aws.String(fmt.Sprintf(`{
	  "Version": "2012-10-17",
	  "Statement": [{"Sid": "TLSOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
	    "Resource": ["arn:aws:s3:::%[1]s", "arn:aws:s3:::%[1]s/*"],
	    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}`, good))})
	must("bucket policy", err)
	badARN, goodARN := inventory.S3BucketARN("aws", bad), inventory.S3BucketARN("aws", good)
	add("s3_bucket_level_public_access_block", badARN, "FAIL")
	add("s3_bucket_level_public_access_block", goodARN, "PASS")
	add("s3_bucket_object_versioning", badARN, "FAIL")
	add("s3_bucket_object_versioning", goodARN, "PASS")
	add("s3_bucket_secure_transport_policy", badARN, "FAIL")
	add("s3_bucket_secure_transport_policy", goodARN, "PASS")
	add("s3_bucket_server_access_logging_enabled", badARN, "FAIL")
	add("s3_bucket_default_encryption", badARN, "FAIL") // moto sets no default encryption
	add("s3_bucket_default_encryption", goodARN, "PASS")

	// EC2: a VPC in use (Prowler skips unused security groups), one group
	// open to the world on 22 and one open to 10/8 only, both on an ENI; an
	// unencrypted and an encrypted volume.
	ec := ec2.NewFromConfig(cfg)
	vpc, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.20.0.0/16")})
	must("vpc", err)
	vpcID := aws.ToString(vpc.Vpc.VpcId)
	subnet, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpcID), CidrBlock: aws.String("10.20.1.0/24"), AvailabilityZone: aws.String(region + "a")})
	must("subnet", err)
	sg := func(name, cidr string) string {
		out, err := ec.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name), VpcId: aws.String(vpcID)})
		must("security group "+name, err)
		_, err = ec.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: out.GroupId,
			IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
				IpRanges: []ec2types.IpRange{{CidrIp: aws.String(cidr)}}}}})
		must("ingress "+name, err)
		return aws.ToString(out.GroupId)
	}
	openSG, closedSG := sg("ssh-open", "0.0.0.0/0"), sg("ssh-internal", "10.0.0.0/8")
	_, err = ec.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: subnet.Subnet.SubnetId, Groups: []string{openSG, closedSG}})
	must("network interface", err)
	openARN := inventory.EC2ARN(region, account, "security-group", openSG)
	closedARN := inventory.EC2ARN(region, account, "security-group", closedSG)
	add("ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22", openARN, "FAIL")
	add("ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22", closedARN, "PASS")
	add("ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_3389", openARN, "PASS")
	add("ec2_securitygroup_allow_ingress_from_internet_to_all_ports", openARN, "PASS")
	vol := func(encrypted bool) string {
		out, err := ec.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String(region + "a"), Size: aws.Int32(8), Encrypted: aws.Bool(encrypted)})
		must("volume", err)
		return inventory.EC2ARN(region, account, "volume", aws.ToString(out.VolumeId))
	}
	add("ec2_ebs_volume_encryption", vol(false), "FAIL")
	add("ec2_ebs_volume_encryption", vol(true), "PASS")
	add("vpc_flow_logs_enabled", inventory.EC2ARN(region, account, "vpc", vpcID), "FAIL")

	// IAM: a console user without MFA, a user without console access; an
	// administrator policy attached and a read-only one attached.
	ic := iam.NewFromConfig(cfg)
	user := func(name string, console bool) string {
		out, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})
		must("user "+name, err)
		if console {
			_, err = ic.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String(name), Password: aws.String("Correct-Horse-9")})
			must("login profile", err)
		}
		return aws.ToString(out.User.Arn)
	}
	consoleUser, apiUser := user("alice-console", true), user("bob-api", false)
	add("iam_user_mfa_enabled_console_access", consoleUser, "FAIL")
	add("iam_user_mfa_enabled_console_access", apiUser, "PASS")
	policy := func(name, action string) string {
		out, err := ic.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(name), PolicyDocument: aws.String(fmt.Sprintf(
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"%s","Resource":"*"}]}`, action))})
		must("policy "+name, err)
		_, err = ic.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("bob-api"), PolicyArn: out.Policy.Arn})
		must("attach "+name, err)
		return aws.ToString(out.Policy.Arn)
	}
	add("iam_customer_attached_policy_no_administrative_privileges", policy("everything", "*"), "FAIL")
	add("iam_customer_attached_policy_no_administrative_privileges", policy("read-buckets", "s3:GetObject"), "PASS")

	// No CloudTrail at all.
	add("cloudtrail_multi_region_enabled", fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail", region, account), "FAIL")

	// KMS: a key without rotation and one with; the second encrypts the
	// fixed table, queue and topic below.
	kc := kms.NewFromConfig(cfg)
	key := func(rotate bool) (id, arn string) {
		out, err := kc.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("estate")})
		must("kms key", err)
		if rotate {
			_, err = kc.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: out.KeyMetadata.KeyId})
			must("key rotation", err)
		}
		return aws.ToString(out.KeyMetadata.KeyId), aws.ToString(out.KeyMetadata.Arn)
	}
	_, staleKey := key(false)
	goodKeyID, goodKey := key(true)
	add("kms_cmk_rotation_enabled", staleKey, "FAIL")
	add("kms_cmk_rotation_enabled", goodKey, "PASS")
	if inventory.KMSKeyARN(region, account, goodKeyID) != goodKey {
		t.Fatalf("KMS key ARN %s, inventory builds %s", goodKey, inventory.KMSKeyARN(region, account, goodKeyID))
	}

	// DynamoDB: a table with defaults, one with PITR and a customer key.
	dc := dynamodb.NewFromConfig(cfg)
	table := func(name string, fixed bool) string {
		in := &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: ddbtypes.BillingModePayPerRequest,
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}}}
		if fixed {
			in.SSESpecification = &ddbtypes.SSESpecification{Enabled: aws.Bool(true), SSEType: ddbtypes.SSETypeKms, KMSMasterKeyId: aws.String(goodKey)}
		}
		_, err := dc.CreateTable(ctx, in)
		must("table "+name, err)
		if fixed {
			_, err = dc.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String(name),
				PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}})
			must("pitr "+name, err)
		}
		return inventory.DynamoDBTableARN(region, account, name)
	}
	badTable, goodTable := table("orders-plain", false), table("orders-fixed", true)
	add("dynamodb_tables_pitr_enabled", badTable, "FAIL")
	add("dynamodb_tables_pitr_enabled", goodTable, "PASS")
	add("dynamodb_tables_kms_cmk_encryption_enabled", badTable, "FAIL")
	add("dynamodb_tables_kms_cmk_encryption_enabled", goodTable, "PASS")

	// SQS and SNS: plain, and encrypted with the customer key.
	qc := sqs.NewFromConfig(cfg)
	queue := func(name string, attrs map[string]string) string {
		out, err := qc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		must("queue "+name, err)
		return inventory.SQSQueueARN(region, account, aws.ToString(out.QueueUrl))
	}
	add("sqs_queues_server_side_encryption_enabled", queue("jobs-plain", map[string]string{string(sqstypes.QueueAttributeNameSqsManagedSseEnabled): "false"}), "FAIL")
	add("sqs_queues_server_side_encryption_enabled", queue("jobs-kms", map[string]string{string(sqstypes.QueueAttributeNameKmsMasterKeyId): goodKey}), "PASS")
	nc := sns.NewFromConfig(cfg)
	topic := func(name string, attrs map[string]string) string {
		out, err := nc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name), Attributes: attrs})
		must("topic "+name, err)
		return aws.ToString(out.TopicArn)
	}
	add("sns_topics_kms_encryption_at_rest_enabled", topic("alerts-plain", nil), "FAIL")
	add("sns_topics_kms_encryption_at_rest_enabled", topic("alerts-kms", map[string]string{"KmsMasterKeyId": goodKey}), "PASS")

	// CloudWatch Logs: a week of retention, and two years.
	lc := cloudwatchlogs.NewFromConfig(cfg)
	group := func(name string, days int32) string {
		_, err := lc.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name)})
		must("log group "+name, err)
		_, err = lc.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(name), RetentionInDays: aws.Int32(days)})
		must("retention "+name, err)
		return inventory.LogGroupARN(region, account, name)
	}
	add("cloudwatch_log_group_retention_policy_specific_days_enabled", group("/app/short", 7), "FAIL")
	add("cloudwatch_log_group_retention_policy_specific_days_enabled", group("/app/long", 731), "PASS")
	return want
}
