package assetsync_test

import (
	"archive/zip"
	"bytes"
	"context"

	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/citadelsecure/citadel/shared/inventory"
)

const (
	east = "us-east-1"
	west = "eu-west-1"
)

// estate is the fixture's resources, by the ARNs the sync must store.
type estate struct {
	account string
	// us-east-1
	key, vpc, subnetA, subnetB, sg, igw         string
	web1, web2, dataVolume                      string
	appRole, lambdaRole, alice, devs, appPolicy string
	logsBucket, dataBucket                      string
	function, db, table, trail, lb, cluster     string
	topic, queue, secret, logGroup              string
	// eu-west-1
	keyEU, vpcEU, subnetEU, sgEU, instanceEU, queueEU, tableEU string
}

func must[T any](tb testing.TB, what string) func(T, error) T {
	return func(v T, err error) T {
		tb.Helper()
		if err != nil {
			tb.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func inRegion(cfg aws.Config, region string) aws.Config {
	c := cfg.Copy()
	c.Region = region
	return c
}

func tagSpec(rt ec2types.ResourceType, name string) []ec2types.TagSpecification {
	return []ec2types.TagSpecification{{ResourceType: rt, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}}}}
}

// network builds a VPC with two subnets, a security group and an internet gateway.
func network(tb testing.TB, ctx context.Context, c *ec2.Client, region, account, cidr string) (vpc, subnetA, subnetB, sg, igw string) {
	v := must[*ec2.CreateVpcOutput](tb, "create vpc")(c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(cidr + ".0.0/16"), TagSpecifications: tagSpec(ec2types.ResourceTypeVpc, "app-"+region)}))
	vpcID := aws.ToString(v.Vpc.VpcId)
	sa := must[*ec2.CreateSubnetOutput](tb, "create subnet")(c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String(cidr + ".1.0/24"), AvailabilityZone: aws.String(region + "a")}))
	sb := must[*ec2.CreateSubnetOutput](tb, "create subnet")(c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String(cidr + ".2.0/24"), AvailabilityZone: aws.String(region + "b")}))
	g := must[*ec2.CreateSecurityGroupOutput](tb, "create sg")(c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("web"), VpcId: v.Vpc.VpcId}))
	ig := must[*ec2.CreateInternetGatewayOutput](tb, "create igw")(c.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{}))
	must[*ec2.AttachInternetGatewayOutput](tb, "attach igw")(c.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: ig.InternetGateway.InternetGatewayId, VpcId: v.Vpc.VpcId}))
	return inventory.EC2ARN(region, account, "vpc", vpcID),
		subnetARN(region, account, sa.Subnet), subnetARN(region, account, sb.Subnet),
		inventory.EC2ARN(region, account, "security-group", aws.ToString(g.GroupId)),
		inventory.EC2ARN(region, account, "internet-gateway", aws.ToString(ig.InternetGateway.InternetGatewayId))
}

func subnetARN(region, account string, s *ec2types.Subnet) string {
	if a := aws.ToString(s.SubnetArn); a != "" {
		return a
	}
	return inventory.EC2ARN(region, account, "subnet", aws.ToString(s.SubnetId))
}

func lastID(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == '/' {
			return arn[i+1:]
		}
	}
	return arn
}

func runInstance(tb testing.TB, ctx context.Context, c *ec2.Client, region, account, subnet, sg, profile, name string) string {
	imgs := must[*ec2.DescribeImagesOutput](tb, "describe images")(c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}}))
	if len(imgs.Images) == 0 {
		tb.Fatal("no AMI to launch")
	}
	in := &ec2.RunInstancesInput{
		ImageId: imgs.Images[0].ImageId, InstanceType: ec2types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId: aws.String(lastID(subnet)), SecurityGroupIds: []string{lastID(sg)},
		TagSpecifications: tagSpec(ec2types.ResourceTypeInstance, name),
	}
	if profile != "" {
		in.IamInstanceProfile = &ec2types.IamInstanceProfileSpecification{Arn: aws.String(profile)}
	}
	out := must[*ec2.RunInstancesOutput](tb, "run instance")(c.RunInstances(ctx, in))
	return inventory.EC2ARN(region, account, "instance", aws.ToString(out.Instances[0].InstanceId))
}

func lambdaZip(tb testing.TB) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, _ := w.Create("bootstrap")
	_, _ = f.Write([]byte("#!/bin/sh\necho ok\n"))
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

const trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","lambda.amazonaws.com"]},"Action":"sts:AssumeRole"}]}`

// buildEstate seeds the fixture estate in the account behind cfg.
func buildEstate(tb testing.TB, cfg aws.Config, account string) estate {
	tb.Helper()
	ctx := context.Background()
	e := estate{account: account}
	ecfg, wcfg := inRegion(cfg, east), inRegion(cfg, west)

	// KMS keys
	k := must[*kms.CreateKeyOutput](tb, "create key")(kms.NewFromConfig(ecfg).CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("app")}))
	e.key = aws.ToString(k.KeyMetadata.Arn)
	k = must[*kms.CreateKeyOutput](tb, "create key")(kms.NewFromConfig(wcfg).CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("eu")}))
	e.keyEU = aws.ToString(k.KeyMetadata.Arn)

	// IAM
	ic := iam.NewFromConfig(ecfg)
	r := must[*iam.CreateRoleOutput](tb, "create role")(ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("app-role"), AssumeRolePolicyDocument: aws.String(trust)}))
	e.appRole = aws.ToString(r.Role.Arn)
	r = must[*iam.CreateRoleOutput](tb, "create role")(ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("lambda-role"), AssumeRolePolicyDocument: aws.String(trust)}))
	e.lambdaRole = aws.ToString(r.Role.Arn)
	ip := must[*iam.CreateInstanceProfileOutput](tb, "create instance profile")(ic.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("app-profile")}))
	must[*iam.AddRoleToInstanceProfileOutput](tb, "add role to profile")(ic.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("app-profile"), RoleName: aws.String("app-role")}))
	u := must[*iam.CreateUserOutput](tb, "create user")(ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}))
	e.alice = aws.ToString(u.User.Arn)
	g := must[*iam.CreateGroupOutput](tb, "create group")(ic.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("devs")}))
	e.devs = aws.ToString(g.Group.Arn)
	must[*iam.AddUserToGroupOutput](tb, "add user to group")(ic.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("devs"), UserName: aws.String("alice")}))
	pol := must[*iam.CreatePolicyOutput](tb, "create policy")(ic.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("app-policy"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`),
		Tags:           []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("platform")}}}))
	e.appPolicy = aws.ToString(pol.Policy.Arn)
	must[*iam.AttachRolePolicyOutput](tb, "attach role policy")(ic.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("app-role"), PolicyArn: pol.Policy.Arn}))
	must[*iam.AttachGroupPolicyOutput](tb, "attach group policy")(ic.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("devs"), PolicyArn: pol.Policy.Arn}))

	// Networks and instances
	ec := ec2.NewFromConfig(ecfg)
	e.vpc, e.subnetA, e.subnetB, e.sg, e.igw = network(tb, ctx, ec, east, account, "10.1")
	e.web1 = runInstance(tb, ctx, ec, east, account, e.subnetA, e.sg, aws.ToString(ip.InstanceProfile.Arn), "web-1")
	e.web2 = runInstance(tb, ctx, ec, east, account, e.subnetB, e.sg, aws.ToString(ip.InstanceProfile.Arn), "web-2")
	vol := must[*ec2.CreateVolumeOutput](tb, "create volume")(ec.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String(east + "a"), Size: aws.Int32(10),
		Encrypted: aws.Bool(true), KmsKeyId: aws.String(e.key), TagSpecifications: tagSpec(ec2types.ResourceTypeVolume, "data")}))
	e.dataVolume = inventory.EC2ARN(east, account, "volume", aws.ToString(vol.VolumeId))
	must[*ec2.AttachVolumeOutput](tb, "attach volume")(ec.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: vol.VolumeId, InstanceId: aws.String(lastID(e.web1)), Device: aws.String("/dev/sdf")}))
	wc := ec2.NewFromConfig(wcfg)
	var subnetEUb, igwEU string
	e.vpcEU, e.subnetEU, subnetEUb, e.sgEU, igwEU = network(tb, ctx, wc, west, account, "10.2")
	_, _ = subnetEUb, igwEU
	e.instanceEU = runInstance(tb, ctx, wc, west, account, e.subnetEU, e.sgEU, "", "worker-eu")

	// S3
	sc := s3.NewFromConfig(ecfg, func(o *s3.Options) { o.UsePathStyle = true })
	logs := "logs-" + account
	must[*s3.CreateBucketOutput](tb, "create bucket")(sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(logs)}))
	must[*s3.PutBucketEncryptionOutput](tb, "bucket encryption")(sc.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(logs),
		ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(e.key)}}}}}))
	must[*s3.PutBucketTaggingOutput](tb, "bucket tags")(sc.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(logs),
		Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("Name"), Value: aws.String("audit logs")}}}}))
	e.logsBucket = inventory.S3BucketARN("aws", logs)
	data := "data-" + account
	wsc := s3.NewFromConfig(wcfg, func(o *s3.Options) { o.UsePathStyle = true })
	must[*s3.CreateBucketOutput](tb, "create bucket")(wsc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(data),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuWest1}}))
	must[*s3.PutBucketEncryptionOutput](tb, "bucket encryption")(wsc.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(data),
		ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(e.keyEU)}}}}}))
	e.dataBucket = inventory.S3BucketARN("aws", data)

	// Lambda
	fn := must[*lambda.CreateFunctionOutput](tb, "create function")(lambda.NewFromConfig(ecfg).CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("api"), Role: aws.String(e.lambdaRole), Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Code:      &lambdatypes.FunctionCode{ZipFile: lambdaZip(tb)},
		VpcConfig: &lambdatypes.VpcConfig{SubnetIds: []string{lastID(e.subnetA)}, SecurityGroupIds: []string{lastID(e.sg)}},
		KMSKeyArn: aws.String(e.key), Tags: map[string]string{"team": "api"},
	}))
	e.function = aws.ToString(fn.FunctionArn)

	// RDS
	rc := rds.NewFromConfig(ecfg)
	must[*rds.CreateDBSubnetGroupOutput](tb, "create db subnet group")(rc.CreateDBSubnetGroup(ctx, &rds.CreateDBSubnetGroupInput{DBSubnetGroupName: aws.String("app"),
		DBSubnetGroupDescription: aws.String("app"), SubnetIds: []string{lastID(e.subnetA), lastID(e.subnetB)}}))
	must[*rds.CreateDBInstanceOutput](tb, "create db instance")(rc.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String("orders-db"),
		DBInstanceClass: aws.String("db.t3.micro"), Engine: aws.String("postgres"), AllocatedStorage: aws.Int32(20), MasterUsername: aws.String("admin"),
		MasterUserPassword: aws.String("correct-horse-battery"), DBSubnetGroupName: aws.String("app"), VpcSecurityGroupIds: []string{lastID(e.sg)},
		StorageEncrypted: aws.Bool(true), KmsKeyId: aws.String(e.key)}))
	e.db = inventory.RDSInstanceARN(east, account, "orders-db")

	// DynamoDB
	table := func(c aws.Config, name, key string) string {
		must[*dynamodb.CreateTableOutput](tb, "create table")(dynamodb.NewFromConfig(c).CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName: aws.String(name), BillingMode: ddbtypes.BillingModePayPerRequest,
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
			SSESpecification:     &ddbtypes.SSESpecification{Enabled: aws.Bool(true), SSEType: ddbtypes.SSETypeKms, KMSMasterKeyId: aws.String(key)},
		}))
		return inventory.DynamoDBTableARN(c.Region, account, name)
	}
	e.table = table(ecfg, "orders", e.key)
	e.tableEU = table(wcfg, "events", e.keyEU)

	// CloudTrail
	tr := must[*cloudtrail.CreateTrailOutput](tb, "create trail")(cloudtrail.NewFromConfig(ecfg).CreateTrail(ctx, &cloudtrail.CreateTrailInput{
		Name: aws.String("main"), S3BucketName: aws.String(logs), KmsKeyId: aws.String(e.key), IsMultiRegionTrail: aws.Bool(true),
		TagsList: []cttypes.Tag{{Key: aws.String("team"), Value: aws.String("security")}}}))
	e.trail = aws.ToString(tr.TrailARN)

	// ELBv2
	lb := must[*elb.CreateLoadBalancerOutput](tb, "create load balancer")(elb.NewFromConfig(ecfg).CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
		Name: aws.String("web-lb"), Subnets: []string{lastID(e.subnetA), lastID(e.subnetB)}, SecurityGroups: []string{lastID(e.sg)}}))
	e.lb = aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)

	// ECS
	cl := must[*ecs.CreateClusterOutput](tb, "create cluster")(ecs.NewFromConfig(ecfg).CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("apps")}))
	e.cluster = aws.ToString(cl.Cluster.ClusterArn)

	// SNS, SQS
	tp := must[*sns.CreateTopicOutput](tb, "create topic")(sns.NewFromConfig(ecfg).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("alerts"),
		Attributes: map[string]string{"KmsMasterKeyId": e.key}}))
	e.topic = aws.ToString(tp.TopicArn)
	queue := func(c aws.Config, name, key string) string {
		q := must[*sqs.CreateQueueOutput](tb, "create queue")(sqs.NewFromConfig(c).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name),
			Attributes: map[string]string{string(sqstypes.QueueAttributeNameKmsMasterKeyId): key}}))
		return inventory.SQSQueueARN(c.Region, account, aws.ToString(q.QueueUrl))
	}
	e.queue = queue(ecfg, "jobs", e.key)
	e.queueEU = queue(wcfg, "jobs-eu", e.keyEU)

	// Secrets Manager, CloudWatch Logs
	sec := must[*secretsmanager.CreateSecretOutput](tb, "create secret")(secretsmanager.NewFromConfig(ecfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("db-password"), SecretString: aws.String("s3cret"), KmsKeyId: aws.String(e.key)}))
	e.secret = aws.ToString(sec.ARN)
	must[*cloudwatchlogs.CreateLogGroupOutput](tb, "create log group")(cloudwatchlogs.NewFromConfig(ecfg).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{
		LogGroupName: aws.String("/app/web"), KmsKeyId: aws.String(e.key), Tags: map[string]string{"team": "web"}}))
	e.logGroup = inventory.LogGroupARN(east, account, "/app/web")
	return e
}
