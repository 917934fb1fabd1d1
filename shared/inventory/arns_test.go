package inventory_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/citadelsecure/citadel/shared/inventory"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// Each builder against the ARN Prowler reports, and the line of Prowler's
// service code that builds it (so a Prowler upgrade that changes a format
// fails here, not in production matching).
var arnCases = []struct {
	name, got, want string
	prowlerFile     string // under prowler/providers/aws/services/
	prowlerBuilds   string // the f-string in that file
}{
	{"ec2 instance", inventory.EC2ARN("us-east-1", "123456789012", "instance", "i-0abc"),
		"arn:aws:ec2:us-east-1:123456789012:instance/i-0abc",
		"ec2/ec2_service.py", `:instance/{instance['InstanceId']}"`},
	{"ebs volume", inventory.EC2ARN("eu-west-1", "123456789012", "volume", "vol-1"),
		"arn:aws:ec2:eu-west-1:123456789012:volume/vol-1",
		"ec2/ec2_service.py", `:volume/{volume['VolumeId']}"`},
	{"security group", inventory.EC2ARN("us-east-1", "123456789012", "security-group", "sg-1"),
		"arn:aws:ec2:us-east-1:123456789012:security-group/sg-1",
		"ec2/ec2_service.py", `:security-group/{sg['GroupId']}"`},
	{"vpc", inventory.EC2ARN("us-east-1", "123456789012", "vpc", "vpc-1"),
		"arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1",
		"vpc/vpc_service.py", `:vpc/{vpc['VpcId']}"`},
	{"subnet (SubnetArn, same form)", inventory.EC2ARN("us-east-1", "123456789012", "subnet", "subnet-1"),
		"arn:aws:ec2:us-east-1:123456789012:subnet/subnet-1",
		"vpc/vpc_service.py", `arn=subnet["SubnetArn"]`},
	{"s3 bucket", inventory.S3BucketARN("aws", "my-bucket"),
		"arn:aws:s3:::my-bucket",
		"s3/s3_service.py", `arn = f"arn:{self.audited_partition}:s3:::{bucket['Name']}"`},
	{"dynamodb table", inventory.DynamoDBTableARN("us-east-1", "123456789012", "orders"),
		"arn:aws:dynamodb:us-east-1:123456789012:table/orders",
		"dynamodb/dynamodb_service.py", `:table/{table}"`},
	{"rds instance", inventory.RDSInstanceARN("us-east-1", "123456789012", "orders-db"),
		"arn:aws:rds:us-east-1:123456789012:db:orders-db",
		"rds/rds_service.py", `:db:{instance['DBInstanceIdentifier']}"`},
	{"sqs queue", inventory.SQSQueueARN("us-east-1", "123456789012", "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"),
		"arn:aws:sqs:us-east-1:123456789012:jobs",
		"sqs/sqs_service.py", `:sqs:{regional_client.region}:{self.audited_account}:{queue_name}"`},
	{"log group (DescribeLogGroups arn, ':*' kept)", inventory.LogGroupARN("us-east-1", "123456789012", "/app/web"),
		"arn:aws:logs:us-east-1:123456789012:log-group:/app/web:*",
		"cloudwatch/cloudwatch_service.py", `arn=log_group["arn"]`},
	{"kms key from a key id", inventory.KMSKeyARN("us-east-1", "123456789012", "1234abcd-12ab"),
		"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab",
		"kms/kms_service.py", `arn=key["KeyArn"]`},
	{"kms key ARN stays", inventory.KMSKeyARN("us-east-1", "123456789012", "arn:aws:kms:eu-west-1:123456789012:key/k"),
		"arn:aws:kms:eu-west-1:123456789012:key/k", "", ""},
	{"kms alias names no key", inventory.KMSKeyARN("us-east-1", "123456789012", "alias/aws/s3"), "", "", ""},
	{"kms alias ARN names no key", inventory.KMSKeyARN("us-east-1", "123456789012", "arn:aws:kms:us-east-1:123456789012:alias/app"), "", "", ""},
	{"china partition", inventory.EC2ARN("cn-north-1", "123456789012", "instance", "i-1"),
		"arn:aws-cn:ec2:cn-north-1:123456789012:instance/i-1", "", ""},
	{"govcloud partition", inventory.S3BucketARN(inventory.Partition("us-gov-west-1"), "b"),
		"arn:aws-us-gov:s3:::b", "", ""},
}

func prowlerServices(t *testing.T) string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(testenv.RepoRoot(), ".venv", "lib", "python3*", "site-packages", "prowler", "providers", "aws", "services"))
	if len(matches) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("Prowler is not installed in .venv (make venv)")
		}
		t.Skip("Prowler is not installed in .venv (make venv)")
	}
	return matches[0]
}

func TestARNBuildersMatchProwler(t *testing.T) {
	for _, c := range arnCases {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %q, want %q", c.got, c.want)
			}
		})
	}
}

func TestProwlerStillBuildsTheseARNs(t *testing.T) {
	dir := prowlerServices(t)
	for _, c := range arnCases {
		if c.prowlerFile == "" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(dir, c.prowlerFile))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(src), c.prowlerBuilds) {
				t.Errorf("%s no longer contains %s: check the ARN Prowler reports", c.prowlerFile, c.prowlerBuilds)
			}
		})
	}
}

// TestResourceTypeOfARN: every builder's ARN maps to its collector's type
// (and every type to a collector of the default registry); resources no
// collector lists map to none.
func TestResourceTypeOfARN(t *testing.T) {
	cases := []struct {
		arn, want string
	}{
		{inventory.EC2ARN("us-east-1", "123456789012", "instance", "i-0abc"), inventory.TypeEC2Instance},
		{inventory.EC2ARN("us-east-1", "123456789012", "volume", "vol-1"), inventory.TypeEBSVolume},
		{inventory.EC2ARN("us-east-1", "123456789012", "security-group", "sg-1"), inventory.TypeSecurityGroup},
		{inventory.EC2ARN("us-east-1", "123456789012", "vpc", "vpc-1"), inventory.TypeVPC},
		{inventory.EC2ARN("us-east-1", "123456789012", "subnet", "subnet-1"), inventory.TypeSubnet},
		{inventory.EC2ARN("us-east-1", "123456789012", "internet-gateway", "igw-1"), inventory.TypeInternetGateway},
		{inventory.S3BucketARN("aws", "logs"), inventory.TypeS3Bucket},
		{inventory.DynamoDBTableARN("us-east-1", "123456789012", "orders"), inventory.TypeDynamoDBTable},
		{inventory.RDSInstanceARN("us-east-1", "123456789012", "db1"), inventory.TypeRDSInstance},
		{inventory.SQSQueueARN("us-east-1", "123456789012", "https://sqs/123456789012/jobs"), inventory.TypeSQSQueue},
		{inventory.LogGroupARN("us-east-1", "123456789012", "/app"), inventory.TypeLogGroup},
		{"arn:aws:iam::123456789012:role/app", inventory.TypeIAMRole},
		{"arn:aws:iam::123456789012:user/path/alice", inventory.TypeIAMUser},
		{"arn:aws:iam::123456789012:group/ops", inventory.TypeIAMGroup},
		{"arn:aws:iam::123456789012:policy/p", inventory.TypeIAMPolicy},
		{"arn:aws:kms:us-east-1:123456789012:key/1234", inventory.TypeKMSKey},
		{"arn:aws:cloudtrail:us-east-1:123456789012:trail/main", inventory.TypeCloudTrail},
		{"arn:aws:ecs:us-east-1:123456789012:cluster/c", inventory.TypeECSCluster},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/1", inventory.TypeLoadBalancer},
		{"arn:aws:lambda:us-east-1:123456789012:function:f", inventory.TypeLambdaFunction},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbC", inventory.TypeSecret},
		{"arn:aws:sns:us-east-1:123456789012:alerts", inventory.TypeSNSTopic},
		{"arn:aws:s3:::logs/key.txt", ""},
		{"arn:aws:sns:us-east-1:123456789012:alerts:5f1c", ""},
		{"arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026", ""},
		{"arn:aws:iam::123456789012:root", ""},
		{"arn:aws:ec2:us-east-1:123456789012:image/ami-1", ""},
		{"not an arn", ""},
	}
	reg := inventory.Default()
	for _, tc := range cases {
		got, ok := inventory.ResourceTypeOfARN(tc.arn)
		if !ok {
			got = ""
		}
		if got != tc.want {
			t.Errorf("ResourceTypeOfARN(%q) = %q, want %q", tc.arn, got, tc.want)
		}
		if _, found := reg.Lookup(got); ok && !found {
			t.Errorf("%q: type %s has no collector", tc.arn, got)
		}
	}
}
