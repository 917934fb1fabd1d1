package inventory

import (
	"fmt"
	"strings"
)

// Where an API returns no ARN, these build the one Prowler reports for the
// resource (prowler/providers/aws/services/<service>/<service>_service.py,
// Prowler 5.x): a finding's resources[].uid must equal the asset's source_id.

// Partition is the ARN partition of a region.
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	}
	return "aws"
}

// EC2ARN is arn:<partition>:ec2:<region>:<account>:<kind>/<id>, Prowler's
// form for instances, volumes, security groups, VPCs, subnets and internet
// gateways.
func EC2ARN(region, account, kind, id string) string {
	return fmt.Sprintf("arn:%s:ec2:%s:%s:%s/%s", Partition(region), region, account, kind, id)
}

// S3BucketARN is arn:<partition>:s3:::<bucket>.
func S3BucketARN(partition, bucket string) string {
	return fmt.Sprintf("arn:%s:s3:::%s", partition, bucket)
}

// DynamoDBTableARN is arn:<partition>:dynamodb:<region>:<account>:table/<name>.
func DynamoDBTableARN(region, account, table string) string {
	return fmt.Sprintf("arn:%s:dynamodb:%s:%s:table/%s", Partition(region), region, account, table)
}

// RDSInstanceARN is arn:<partition>:rds:<region>:<account>:db:<identifier>.
func RDSInstanceARN(region, account, id string) string {
	return fmt.Sprintf("arn:%s:rds:%s:%s:db:%s", Partition(region), region, account, id)
}

// SQSQueueARN is arn:<partition>:sqs:<region>:<account>:<queue name>, the
// name being the last part of the queue URL.
func SQSQueueARN(region, account, queueURL string) string {
	name := queueURL[strings.LastIndex(queueURL, "/")+1:]
	return fmt.Sprintf("arn:%s:sqs:%s:%s:%s", Partition(region), region, account, name)
}

// KMSKeyARN turns a key reference into a key ARN: an ARN stays as it is, a
// bare key id becomes arn:<partition>:kms:<region>:<account>:key/<id>, and an
// alias (which names no key without a lookup) gives "".
func KMSKeyARN(region, account, ref string) string {
	switch {
	case ref == "":
		return ""
	case strings.HasPrefix(ref, "arn:"):
		if strings.Contains(ref, ":alias/") {
			return ""
		}
		return ref
	case strings.HasPrefix(ref, "alias/"):
		return ""
	}
	return fmt.Sprintf("arn:%s:kms:%s:%s:key/%s", Partition(region), region, account, ref)
}

// LogGroupARN is the ARN DescribeLogGroups returns in its arn field, which
// Prowler uses as is: arn:<partition>:logs:<region>:<account>:log-group:<name>:*.
func LogGroupARN(region, account, name string) string {
	return fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s:*", Partition(region), region, account, name)
}

// ResourceTypeOfARN is the resource type (a collector's ResourceType) of
// the asset whose source id is arn, in the forms above; ok is false for a
// resource no collector inventories (an S3 object, a DynamoDB stream, an
// SNS subscription ...). A re-check collects only these types.
func ResourceTypeOfARN(arn string) (string, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[5] == "" {
		return "", false
	}
	res := parts[5]
	kind, rest, slash := strings.Cut(res, "/")
	name, _, colon := strings.Cut(res, ":")
	switch parts[2] {
	case "s3":
		return TypeS3Bucket, !slash && !colon
	case "iam":
		t, ok := map[string]string{"user": TypeIAMUser, "role": TypeIAMRole, "group": TypeIAMGroup, "policy": TypeIAMPolicy}[kind]
		return t, ok && slash && rest != ""
	case "ec2":
		t, ok := map[string]string{"instance": TypeEC2Instance, "volume": TypeEBSVolume, "vpc": TypeVPC, "subnet": TypeSubnet,
			"security-group": TypeSecurityGroup, "internet-gateway": TypeInternetGateway}[kind]
		return t, ok && slash && rest != "" && !strings.Contains(rest, "/")
	case "dynamodb":
		return TypeDynamoDBTable, kind == "table" && rest != "" && !strings.Contains(rest, "/")
	case "kms":
		return TypeKMSKey, kind == "key" && rest != ""
	case "cloudtrail":
		return TypeCloudTrail, kind == "trail" && rest != ""
	case "ecs":
		return TypeECSCluster, kind == "cluster" && rest != ""
	case "elasticloadbalancing":
		return TypeLoadBalancer, kind == "loadbalancer" && rest != ""
	case "lambda":
		return TypeLambdaFunction, colon && name == "function"
	case "rds":
		return TypeRDSInstance, colon && name == "db"
	case "secretsmanager":
		return TypeSecret, colon && name == "secret"
	case "logs":
		return TypeLogGroup, colon && name == "log-group"
	case "sns":
		return TypeSNSTopic, !slash && !colon
	case "sqs":
		return TypeSQSQueue, !slash && !colon
	}
	return "", false
}
