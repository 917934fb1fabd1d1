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
