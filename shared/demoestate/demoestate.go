// Package demoestate seeds the demo's AWS estate into an account on the local
// AWS server (moto): two regions and a realistic mix of resources, some with
// deliberate misconfigurations, and says what Prowler must report on them.
// `make demo` and the end-to-end test of cmd/citadel use it.
//
// Seeding is sequential and its requests are always the same, so after
// moto's random generator is seeded (POST /moto-api/seed) the resource ids —
// VPCs, instances, volumes, KMS keys — are the same on every run: a rescan of
// a fresh server finds the same assets.
package demoestate

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/inventory"
)

// The demo's target account, reached through its scanner role.
const (
	AccountID  = "111122223333"
	RoleName   = "CitadelScanner"
	ExternalID = "citadel-demo"
	East       = "us-east-1"
	West       = "eu-west-1"
)

// Regions are the estate's regions, in the integration's order.
var Regions = []string{East, West}

// RoleARN is the scanner role the integration assumes.
func RoleARN(account string) string { return fmt.Sprintf("arn:aws:iam::%s:role/%s", account, RoleName) }

// Expect is what Prowler must report: a check's status on a resource (the
// ARN asset sync stores).
type Expect struct {
	Check    string
	Resource string
	Status   string // PASS or FAIL
}

// Estate is what Seed created.
type Estate struct {
	AccountID string
	// Resources names every created resource by a short name ("vpc-east",
	// "bucket-public" ...): its ARN.
	Resources map[string]string
	// Expect lists the findings Prowler must report on the estate for
	// Checks.
	Expect []Expect
	// Requests is the number of API calls the seeding made.
	Requests int
}

// Checks are the checks whose outcome on the estate is known (Expect): the
// end-to-end test's check set, 20 checks over 10 services.
var Checks = []string{
	"cloudwatch_log_group_retention_policy_specific_days_enabled",
	"dynamodb_tables_kms_cmk_encryption_enabled",
	"dynamodb_tables_pitr_enabled",
	"ec2_ebs_volume_encryption",
	"ec2_instance_profile_attached",
	"ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22",
	"ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_3389",
	"iam_customer_attached_policy_no_administrative_privileges",
	"iam_user_mfa_enabled_console_access",
	"kms_cmk_rotation_enabled",
	"rds_instance_storage_encrypted",
	"s3_bucket_kms_encryption",
	"s3_bucket_level_public_access_block",
	"s3_bucket_object_versioning",
	"s3_bucket_secure_transport_policy",
	"secretsmanager_automatic_rotation_enabled",
	"sns_topics_kms_encryption_at_rest_enabled",
	"sqs_queues_server_side_encryption_enabled",
	"vpc_flow_logs_enabled",
	"awslambda_function_not_publicly_accessible",
}

// DemoChecks are the demo's check set: Checks and more over the same
// services (public access, backups, key rotation, detective services), 48
// checks, every one mapped to SOC 2, ISO 27001:2022 or CIS Controls 8.1.
// The demo's integration pins them (Integration.Checks): all the mapped
// checks of the three frameworks (511) take Prowler many minutes against
// the local server, most of it on services it does not emulate.
var DemoChecks = append(append([]string{}, Checks...),
	// No asset to hold these findings (the regional "no trail" finding
	// and the account's password policy): their results are skipped.
	"cloudtrail_multi_region_enabled",
	"iam_password_policy_minimum_length_14",
	"cloudtrail_kms_encryption_enabled",
	"cloudtrail_log_file_validation_enabled",
	"cloudwatch_log_group_kms_encryption_enabled",
	"config_recorder_all_regions_enabled",
	"ec2_ebs_default_encryption",
	"ec2_instance_imdsv2_enabled",
	"ec2_instance_public_ip",
	"ec2_securitygroup_allow_ingress_from_internet_to_all_ports",
	"ec2_securitygroup_default_restrict_traffic",
	"guardduty_is_enabled",
	"iam_aws_attached_policy_no_administrative_privileges",
	"iam_inline_policy_no_administrative_privileges",
	"iam_no_root_access_key",
	"iam_password_policy_reuse_24",
	"iam_rotate_access_key_90_days",
	"iam_user_accesskey_unused",
	"kms_key_not_publicly_accessible",
	"rds_instance_backup_enabled",
	"rds_instance_deletion_protection",
	"rds_instance_multi_az",
	"rds_instance_no_public_access",
	"s3_bucket_server_access_logging_enabled",
	"securityhub_enabled",
	"secretsmanager_not_publicly_accessible",
	"sns_topics_not_publicly_accessible",
	"sqs_queues_not_publicly_accessible",
)

// seeder runs the calls in order and keeps the first error.
type seeder struct {
	ctx     context.Context
	account string
	err     error
	calls   int
	e       *Estate
}

func (s *seeder) ok(what string, err error) bool {
	s.calls++
	if err != nil && s.err == nil {
		s.err = fmt.Errorf("seed %s: %w", what, err)
	}
	return s.err == nil
}

func (s *seeder) add(check, name, status string) {
	s.e.Expect = append(s.e.Expect, Expect{Check: check, Resource: s.e.Resources[name], Status: status})
}

func (s *seeder) res(name, arn string) string {
	s.e.Resources[name] = arn
	return arn
}

// Target returns the configuration of the demo account: the scanner role
// assumed from cfg (moto keeps accounts apart and hands out credentials for
// the role's account).
func Target(cfg aws.Config, account string) aws.Config {
	return awsx.AssumeRole(cfg, RoleARN(account), ExternalID, "citadel-demo-seed")
}

// Seed creates the estate in the account behind cfg (see Target), one call
// after the other. It stops at the first failure.
func Seed(ctx context.Context, cfg aws.Config, account string) (Estate, error) {
	e := Estate{AccountID: account, Resources: map[string]string{}}
	s := &seeder{ctx: ctx, account: account, e: &e}
	east, west := inRegion(cfg, East), inRegion(cfg, West)
	steps := []func(aws.Config, aws.Config){s.kms, s.iam, s.network, s.storage, s.compute, s.data, s.messaging, s.logging}
	for _, step := range steps {
		step(east, west)
		if s.err != nil {
			break
		}
	}
	e.Requests = s.calls
	return e, s.err
}

func inRegion(cfg aws.Config, region string) aws.Config {
	c := cfg.Copy()
	c.Region = region
	return c
}

// kms: a key with rotation (it encrypts the fixed resources) and one
// without, in each region.
func (s *seeder) kms(east, west aws.Config) {
	for _, r := range []struct {
		cfg    aws.Config
		name   string
		rotate bool
	}{{east, "key-east", true}, {east, "key-east-stale", false}, {west, "key-west", true}} {
		c := kms.NewFromConfig(r.cfg)
		out, err := c.CreateKey(s.ctx, &kms.CreateKeyInput{Description: aws.String("citadel demo " + r.name),
			Tags: []kmstypes.Tag{{TagKey: aws.String("Name"), TagValue: aws.String(r.name)}}})
		if !s.ok("kms key "+r.name, err) {
			return
		}
		s.res(r.name, aws.ToString(out.KeyMetadata.Arn))
		if r.rotate {
			_, err = c.EnableKeyRotation(s.ctx, &kms.EnableKeyRotationInput{KeyId: out.KeyMetadata.KeyId})
			if !s.ok("key rotation "+r.name, err) {
				return
			}
			s.add("kms_cmk_rotation_enabled", r.name, "PASS")
		} else {
			s.add("kms_cmk_rotation_enabled", r.name, "FAIL")
		}
	}
}

const trustEC2Lambda = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","lambda.amazonaws.com"]},"Action":"sts:AssumeRole"}]}`

// iam: a console user without MFA and with access keys, an API-only user,
// a group with an administrator policy, roles for EC2 and Lambda, a
// read-only customer policy; no password policy.
func (s *seeder) iam(east, _ aws.Config) {
	c := iam.NewFromConfig(east)
	user := func(name string, console bool) {
		out, err := c.CreateUser(s.ctx, &iam.CreateUserInput{UserName: aws.String(name)})
		if !s.ok("user "+name, err) {
			return
		}
		s.res("user-"+name, aws.ToString(out.User.Arn))
		if console {
			_, err = c.CreateLoginProfile(s.ctx, &iam.CreateLoginProfileInput{UserName: aws.String(name), Password: aws.String("Correct-Horse-9")})
			s.ok("login profile "+name, err)
		}
		_, err = c.CreateAccessKey(s.ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
		s.ok("access key "+name, err)
	}
	user("alice", true)
	user("bob", false)
	if s.err != nil {
		return
	}
	s.add("iam_user_mfa_enabled_console_access", "user-alice", "FAIL")
	s.add("iam_user_mfa_enabled_console_access", "user-bob", "PASS")

	policy := func(name, doc string) string {
		out, err := c.CreatePolicy(s.ctx, &iam.CreatePolicyInput{PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})
		if !s.ok("policy "+name, err) {
			return ""
		}
		return s.res("policy-"+name, aws.ToString(out.Policy.Arn))
	}
	admin := policy("ops-admin", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	read := policy("app-read", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","dynamodb:GetItem"],"Resource":"*"}]}`)
	g, err := c.CreateGroup(s.ctx, &iam.CreateGroupInput{GroupName: aws.String("ops")})
	if !s.ok("group ops", err) {
		return
	}
	s.res("group-ops", aws.ToString(g.Group.Arn))
	_, err = c.AddUserToGroup(s.ctx, &iam.AddUserToGroupInput{GroupName: aws.String("ops"), UserName: aws.String("alice")})
	s.ok("add alice to ops", err)
	_, err = c.AttachGroupPolicy(s.ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("ops"), PolicyArn: aws.String(admin)})
	s.ok("attach ops-admin", err)
	s.add("iam_customer_attached_policy_no_administrative_privileges", "policy-ops-admin", "FAIL")

	for _, role := range []string{"app-role", "lambda-role"} {
		r, err := c.CreateRole(s.ctx, &iam.CreateRoleInput{RoleName: aws.String(role), AssumeRolePolicyDocument: aws.String(trustEC2Lambda)})
		if !s.ok("role "+role, err) {
			return
		}
		s.res(role, aws.ToString(r.Role.Arn))
	}
	_, err = c.AttachRolePolicy(s.ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("app-role"), PolicyArn: aws.String(read)})
	s.ok("attach app-read", err)
	s.add("iam_customer_attached_policy_no_administrative_privileges", "policy-app-read", "PASS")
	ip, err := c.CreateInstanceProfile(s.ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("app-profile")})
	if !s.ok("instance profile", err) {
		return
	}
	s.res("instance-profile", aws.ToString(ip.InstanceProfile.Arn))
	_, err = c.AddRoleToInstanceProfile(s.ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("app-profile"), RoleName: aws.String("app-role")})
	s.ok("add role to profile", err)
}

func tags(rt ec2types.ResourceType, name string) []ec2types.TagSpecification {
	return []ec2types.TagSpecification{{ResourceType: rt, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}}}}
}

// network: a VPC per region with two subnets; in us-east-1 a security
// group open to the world on 22, one open on 443 and an internal one; no
// flow logs anywhere.
func (s *seeder) network(east, west aws.Config) {
	for _, r := range []struct {
		cfg    aws.Config
		suffix string
		cidr   string
	}{{east, "east", "10.10"}, {west, "west", "10.20"}} {
		c := ec2.NewFromConfig(r.cfg)
		v, err := c.CreateVpc(s.ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(r.cidr + ".0.0/16"), TagSpecifications: tags(ec2types.ResourceTypeVpc, "app-"+r.suffix)})
		if !s.ok("vpc "+r.suffix, err) {
			return
		}
		vpcID := aws.ToString(v.Vpc.VpcId)
		s.res("vpc-"+r.suffix, inventory.EC2ARN(r.cfg.Region, s.account, "vpc", vpcID))
		s.add("vpc_flow_logs_enabled", "vpc-"+r.suffix, "FAIL")
		for i, az := range []string{"a", "b"} {
			sn, err := c.CreateSubnet(s.ctx, &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("%s.%d.0/24", r.cidr, i+1)),
				AvailabilityZone: aws.String(r.cfg.Region + az), TagSpecifications: tags(ec2types.ResourceTypeSubnet, "app-"+r.suffix+"-"+az)})
			if !s.ok("subnet", err) {
				return
			}
			s.res("subnet-"+r.suffix+"-"+az, inventory.EC2ARN(r.cfg.Region, s.account, "subnet", aws.ToString(sn.Subnet.SubnetId)))
		}
		sgs := []struct {
			name, cidr string
			port       int32
		}{{"web", "0.0.0.0/0", 443}, {"internal", "10.0.0.0/8", 22}}
		if r.suffix == "east" {
			sgs = append(sgs, struct {
				name, cidr string
				port       int32
			}{"ssh-open", "0.0.0.0/0", 22})
		}
		for _, g := range sgs {
			out, err := c.CreateSecurityGroup(s.ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(g.name), Description: aws.String("citadel demo " + g.name), VpcId: v.Vpc.VpcId})
			if !s.ok("security group "+g.name, err) {
				return
			}
			_, err = c.AuthorizeSecurityGroupIngress(s.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: out.GroupId,
				IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(g.port), ToPort: aws.Int32(g.port),
					IpRanges: []ec2types.IpRange{{CidrIp: aws.String(g.cidr)}}}}})
			if !s.ok("ingress "+g.name, err) {
				return
			}
			s.res("sg-"+g.name+"-"+r.suffix, inventory.EC2ARN(r.cfg.Region, s.account, "security-group", aws.ToString(out.GroupId)))
		}
	}
}

// compute: two web instances with the instance profile in us-east-1 (one
// behind the open SSH group), a worker without a profile in eu-west-1, an
// unencrypted and an encrypted volume, a Lambda function.
func (s *seeder) compute(east, west aws.Config) {
	amis := map[string]*string{}
	ami := func(c *ec2.Client, region string) *string {
		if id, ok := amis[region]; ok {
			return id
		}
		// One small image by name: listing every public image is slow.
		imgs, err := c.DescribeImages(s.ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"},
			Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{baseImage}}}})
		if err == nil && len(imgs.Images) == 0 {
			imgs, err = c.DescribeImages(s.ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
		}
		if !s.ok("describe images", err) {
			return nil
		}
		if len(imgs.Images) == 0 {
			s.ok("describe images", errors.New("no AMI to launch"))
			return nil
		}
		amis[region] = imgs.Images[0].ImageId
		return amis[region]
	}
	run := func(cfg aws.Config, name, subnet string, sgs []string, profile string) {
		c := ec2.NewFromConfig(cfg)
		image := ami(c, cfg.Region)
		if image == nil {
			return
		}
		var ids []string
		for _, g := range sgs {
			ids = append(ids, lastID(s.e.Resources[g]))
		}
		in := &ec2.RunInstancesInput{ImageId: image, InstanceType: ec2types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			SubnetId: aws.String(lastID(s.e.Resources[subnet])), SecurityGroupIds: ids, TagSpecifications: tags(ec2types.ResourceTypeInstance, name),
			// A fixed idempotency token (the SDK draws a random one): a re-seeded estate describes the same.
			ClientToken: aws.String("citadel-demo-instance-" + name)}
		if profile != "" {
			in.IamInstanceProfile = &ec2types.IamInstanceProfileSpecification{Arn: aws.String(s.e.Resources[profile])}
		}
		out, err := c.RunInstances(s.ctx, in)
		if !s.ok("instance "+name, err) {
			return
		}
		s.res("instance-"+name, inventory.EC2ARN(cfg.Region, s.account, "instance", aws.ToString(out.Instances[0].InstanceId)))
		if profile != "" {
			s.add("ec2_instance_profile_attached", "instance-"+name, "PASS")
		} else {
			s.add("ec2_instance_profile_attached", "instance-"+name, "FAIL")
		}
	}
	run(east, "web-1", "subnet-east-a", []string{"sg-web-east", "sg-ssh-open-east"}, "instance-profile")
	run(east, "web-2", "subnet-east-b", []string{"sg-web-east", "sg-internal-east"}, "instance-profile")
	run(west, "worker-eu", "subnet-west-a", []string{"sg-internal-west"}, "")
	if s.err != nil {
		return
	}
	s.add("ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22", "sg-ssh-open-east", "FAIL")
	s.add("ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22", "sg-web-east", "PASS")
	s.add("ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22", "sg-internal-east", "PASS")
	s.add("ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_3389", "sg-ssh-open-east", "PASS")

	c := ec2.NewFromConfig(east)
	for _, v := range []struct {
		name      string
		encrypted bool
	}{{"scratch", false}, {"data", true}} {
		in := &ec2.CreateVolumeInput{AvailabilityZone: aws.String(East + "a"), Size: aws.Int32(20), Encrypted: aws.Bool(v.encrypted),
			TagSpecifications: tags(ec2types.ResourceTypeVolume, v.name), ClientToken: aws.String("citadel-demo-volume-" + v.name)}
		if v.encrypted {
			in.KmsKeyId = aws.String(s.e.Resources["key-east"])
		}
		out, err := c.CreateVolume(s.ctx, in)
		if !s.ok("volume "+v.name, err) {
			return
		}
		s.res("volume-"+v.name, inventory.EC2ARN(East, s.account, "volume", aws.ToString(out.VolumeId)))
		s.add("ec2_ebs_volume_encryption", "volume-"+v.name, map[bool]string{true: "PASS", false: "FAIL"}[v.encrypted])
	}
	_, err := c.AttachVolume(s.ctx, &ec2.AttachVolumeInput{VolumeId: aws.String(lastID(s.e.Resources["volume-data"])),
		InstanceId: aws.String(lastID(s.e.Resources["instance-web-1"])), Device: aws.String("/dev/sdf")})
	if !s.ok("attach volume", err) {
		return
	}

	fn, err := lambda.NewFromConfig(east).CreateFunction(s.ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("orders-api"), Role: aws.String(s.e.Resources["lambda-role"]), Runtime: lambdatypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: lambdaZip()},
		VpcConfig: &lambdatypes.VpcConfig{SubnetIds: []string{lastID(s.e.Resources["subnet-east-a"])}, SecurityGroupIds: []string{lastID(s.e.Resources["sg-internal-east"])}},
		Tags:      map[string]string{"team": "orders"},
	})
	if !s.ok("lambda function", err) {
		return
	}
	s.res("function-orders-api", aws.ToString(fn.FunctionArn))
	s.add("awslambda_function_not_publicly_accessible", "function-orders-api", "PASS")
}

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

// data: DynamoDB tables — one plain, one with PITR and a customer key in
// us-east-1, a plain one in eu-west-1 — and a secret without rotation.
func (s *seeder) data(east, west aws.Config) {
	for _, t := range []struct {
		cfg   aws.Config
		name  string
		fixed bool
	}{{east, "orders", true}, {east, "sessions", false}, {west, "events-eu", false}} {
		c := dynamodb.NewFromConfig(t.cfg)
		in := &dynamodb.CreateTableInput{TableName: aws.String(t.name), BillingMode: ddbtypes.BillingModePayPerRequest,
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}}}
		if t.fixed {
			in.SSESpecification = &ddbtypes.SSESpecification{Enabled: aws.Bool(true), SSEType: ddbtypes.SSETypeKms, KMSMasterKeyId: aws.String(s.e.Resources["key-east"])}
		}
		if _, err := c.CreateTable(s.ctx, in); !s.ok("table "+t.name, err) {
			return
		}
		if t.fixed {
			_, err := c.UpdateContinuousBackups(s.ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String(t.name),
				PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}})
			if !s.ok("pitr "+t.name, err) {
				return
			}
		}
		name := "table-" + t.name
		s.res(name, inventory.DynamoDBTableARN(t.cfg.Region, s.account, t.name))
		status := map[bool]string{true: "PASS", false: "FAIL"}[t.fixed]
		s.add("dynamodb_tables_pitr_enabled", name, status)
		s.add("dynamodb_tables_kms_cmk_encryption_enabled", name, status)
	}
	sec, err := secretsmanager.NewFromConfig(east).CreateSecret(s.ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("orders-db-password"), SecretString: aws.String("correct-horse-battery"), KmsKeyId: aws.String(s.e.Resources["key-east"]),
		// A fixed version id (the SDK draws a random one): a re-seeded estate describes the same.
		ClientRequestToken: aws.String("c17ade10-0000-4000-8000-000000000001")})
	if !s.ok("secret", err) {
		return
	}
	s.res("secret-orders-db", aws.ToString(sec.ARN))
	s.add("secretsmanager_automatic_rotation_enabled", "secret-orders-db", "FAIL")
}

// messaging: SNS topics and SQS queues, plain and encrypted with the
// customer key.
func (s *seeder) messaging(east, west aws.Config) {
	n := sns.NewFromConfig(east)
	for _, t := range []struct {
		name string
		key  bool
	}{{"alerts", true}, {"notifications", false}} {
		attrs := map[string]string{}
		if t.key {
			attrs["KmsMasterKeyId"] = s.e.Resources["key-east"]
		}
		out, err := n.CreateTopic(s.ctx, &sns.CreateTopicInput{Name: aws.String(t.name), Attributes: attrs})
		if !s.ok("topic "+t.name, err) {
			return
		}
		s.res("topic-"+t.name, aws.ToString(out.TopicArn))
		s.add("sns_topics_kms_encryption_at_rest_enabled", "topic-"+t.name, map[bool]string{true: "PASS", false: "FAIL"}[t.key])
	}
	for _, q := range []struct {
		cfg  aws.Config
		name string
		key  string
	}{{east, "jobs", "key-east"}, {east, "jobs-dlq", ""}, {west, "jobs-eu", "key-west"}} {
		attrs := map[string]string{string(sqstypes.QueueAttributeNameSqsManagedSseEnabled): "false"}
		if q.key != "" {
			attrs = map[string]string{string(sqstypes.QueueAttributeNameKmsMasterKeyId): s.e.Resources[q.key]}
		}
		out, err := sqs.NewFromConfig(q.cfg).CreateQueue(s.ctx, &sqs.CreateQueueInput{QueueName: aws.String(q.name), Attributes: attrs})
		if !s.ok("queue "+q.name, err) {
			return
		}
		s.res("queue-"+q.name, inventory.SQSQueueARN(q.cfg.Region, s.account, aws.ToString(out.QueueUrl)))
		s.add("sqs_queues_server_side_encryption_enabled", "queue-"+q.name, map[bool]string{true: "PASS", false: "FAIL"}[q.key != ""])
	}
}

// logging: log groups (a week of retention, two years, none), and a
// logging single-region CloudTrail trail in us-east-1 only: eu-west-1 has
// none.
func (s *seeder) logging(east, west aws.Config) {
	for _, g := range []struct {
		cfg  aws.Config
		name string
		days int32
	}{{east, "/orders/api", 7}, {east, "/audit/trail", 731}, {west, "/events/worker", 0}} {
		c := cloudwatchlogs.NewFromConfig(g.cfg)
		if _, err := c.CreateLogGroup(s.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g.name)}); !s.ok("log group "+g.name, err) {
			return
		}
		if g.days > 0 {
			_, err := c.PutRetentionPolicy(s.ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(g.name), RetentionInDays: aws.Int32(g.days)})
			if !s.ok("retention "+g.name, err) {
				return
			}
		}
		name := "log-group-" + g.name
		s.res(name, inventory.LogGroupARN(g.cfg.Region, s.account, g.name))
		// Prowler's rule: at least 365 days, or never expire.
		s.add("cloudwatch_log_group_retention_policy_specific_days_enabled", name, map[bool]string{true: "FAIL", false: "PASS"}[g.days > 0 && g.days < 365])
	}
	ct := cloudtrail.NewFromConfig(east)
	tr, err := ct.CreateTrail(s.ctx, &cloudtrail.CreateTrailInput{Name: aws.String("audit"), S3BucketName: aws.String(lastID(s.e.Resources["bucket-logs"])),
		IsMultiRegionTrail: aws.Bool(false)})
	if !s.ok("trail", err) {
		return
	}
	s.res("trail-audit", aws.ToString(tr.TrailARN))
	_, err = ct.StartLogging(s.ctx, &cloudtrail.StartLoggingInput{Name: aws.String("audit")})
	if !s.ok("start logging", err) {
		return
	}
}

// baseImage is the name of one of the local server's stock images.
const baseImage = "ubuntu/images/hvm-ssd/ubuntu-trusty-14.04-amd64-server-20170727"

func lastID(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == '/' || arn[i] == ':' {
			return arn[i+1:]
		}
	}
	return arn
}

func lambdaZip() []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, _ := w.Create("bootstrap")
	_, _ = f.Write([]byte("#!/bin/sh\necho ok\n"))
	_ = w.Close()
	return buf.Bytes()
}
