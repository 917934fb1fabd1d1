package citadel

import (
	"slices"
	"strings"
)

// regionPartitions are the AWS region names an integration may scan, by
// partition: commercial (aws), China (aws-cn) and GovCloud (aws-us-gov).
// Source: the "regions" of those partitions in aws-sdk-go-v2 v1.48.0,
// internal/endpoints/awsrulesfn/partitions.json (the SDK's partition
// metadata), read on 2026-12-02. The isolated partitions (aws-iso*,
// aws-eusc) are not scanned. When AWS opens a region, add it here (and
// nowhere else): until then an integration naming it is refused.
var regionPartitions = map[string][]string{
	"aws": {
		"af-south-1",
		"ap-east-1", "ap-east-2",
		"ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
		"ap-south-1", "ap-south-2",
		"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
		"ca-central-1", "ca-west-1",
		"eu-central-1", "eu-central-2",
		"eu-north-1",
		"eu-south-1", "eu-south-2",
		"eu-west-1", "eu-west-2", "eu-west-3",
		"il-central-1",
		"me-central-1", "me-south-1", "me-west-1",
		"mx-central-1",
		"sa-east-1", "sa-west-1",
		"us-east-1", "us-east-2",
		"us-west-1", "us-west-2",
	},
	"aws-cn":     {"cn-north-1", "cn-northwest-1"},
	"aws-us-gov": {"us-gov-east-1", "us-gov-west-1"},
}

// RegionPartition returns the partition of a known AWS region name (aws,
// aws-cn, aws-us-gov); ok is false for any other string.
func RegionPartition(region string) (partition string, ok bool) {
	for p, regions := range regionPartitions {
		if slices.Contains(regions, region) {
			return p, true
		}
	}
	return "", false
}

// KnownRegion reports whether region is a real AWS region name of the
// partitions Citadel scans (ValidRegion only checks the shape).
func KnownRegion(region string) bool {
	_, ok := RegionPartition(region)
	return ok
}

// ARNPartition returns the partition of an ARN (arn:<partition>:...), "" when
// s is not an ARN.
func ARNPartition(s string) string {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) < 3 || parts[0] != "arn" {
		return ""
	}
	return parts[1]
}
