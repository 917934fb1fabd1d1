package citadel

// This file is the one home of the service groups a scan's Prowler work is
// split by (ShardUnit.Group): Prowler's AWS service (a check's Service, the
// folder under prowler/providers/aws/services) → its group.

// ShardAllRegions is the region of the regional units of a scan whose
// integration names no regions: Prowler scans every enabled region, in one
// shard (its Regions and RegionsArg empty).
const ShardAllRegions = "all"

// globalServices are the Prowler AWS services whose checks run once
// whatever regions Prowler is given: their service classes make one client
// (AWSService with global_service=True, a fixed region, or no regional
// clients at all). Read from Prowler 5.x's providers/aws/services on
// 2026-12-03: cloudfront, fms, route53 and shield pass global_service=True;
// globalaccelerator pins us-west-2; account, iam, organizations and
// trustedadvisor make no regional clients.
var globalServices = map[string]bool{
	"account": true, "cloudfront": true, "fms": true, "globalaccelerator": true, "iam": true,
	"organizations": true, "route53": true, "shield": true, "trustedadvisor": true,
}

// shardGroups maps each service Prowler knows to its group. A group holds
// either global services only or regional services only (a test holds it):
// a global group is one unit of ShardGlobalRegion, a regional one a unit per
// region. A service not listed is a group of its own, named after it.
var shardGroups = map[string]string{
	// global
	"iam":               "identity",
	"account":           "organization",
	"organizations":     "organization",
	"trustedadvisor":    "organization",
	"cloudfront":        "edge",
	"fms":               "edge",
	"globalaccelerator": "edge",
	"route53":           "edge",
	"shield":            "edge",

	// regional
	"accessanalyzer":   "access",
	"cognito":          "access",
	"directoryservice": "access",
	"rolesanywhere":    "access",

	"ec2":              "compute",
	"autoscaling":      "compute",
	"lightsail":        "compute",
	"elasticbeanstalk": "compute",
	"appstream":        "compute",
	"workspaces":       "compute",
	"batch":            "compute",

	"ecs": "containers",
	"eks": "containers",
	"ecr": "containers",

	"awslambda":     "serverless",
	"apigateway":    "serverless",
	"apigatewayv2":  "serverless",
	"appsync":       "serverless",
	"stepfunctions": "serverless",
	"amplify":       "serverless",

	"vpc":             "network",
	"elb":             "network",
	"elbv2":           "network",
	"networkfirewall": "network",
	"directconnect":   "network",
	"waf":             "network",
	"wafv2":           "network",

	"s3":             "storage",
	"efs":            "storage",
	"fsx":            "storage",
	"backup":         "storage",
	"glacier":        "storage",
	"storagegateway": "storage",
	"dlm":            "storage",
	"drs":            "storage",
	"datasync":       "storage",
	"transfer":       "storage",

	"rds":         "database",
	"dynamodb":    "database",
	"redshift":    "database",
	"neptune":     "database",
	"documentdb":  "database",
	"elasticache": "database",
	"memorydb":    "database",
	"dms":         "database",

	"cloudtrail":        "logging",
	"cloudwatch":        "logging",
	"config":            "logging",
	"ssmincidents":      "logging",
	"resourceexplorer2": "logging",
	"wellarchitected":   "logging",

	"guardduty":      "security",
	"securityhub":    "security",
	"inspector2":     "security",
	"macie":          "security",
	"kms":            "security",
	"secretsmanager": "security",
	"acm":            "security",
	"acmpca":         "security",
	"ssm":            "security",

	"sagemaker": "ml",
	"bedrock":   "ml",

	"glue":         "analytics",
	"athena":       "analytics",
	"kinesis":      "analytics",
	"firehose":     "analytics",
	"kafka":        "analytics",
	"datapipeline": "analytics",
	"emr":          "analytics",
	"opensearch":   "analytics",

	"sns":         "messaging",
	"sqs":         "messaging",
	"mq":          "messaging",
	"eventbridge": "messaging",
	"ses":         "messaging",

	"codebuild":      "devtools",
	"codepipeline":   "devtools",
	"codecommit":     "devtools",
	"codeartifact":   "devtools",
	"cloudformation": "devtools",
	"servicecatalog": "devtools",
}

// ShardGroupOf returns the group of a Prowler AWS service and whether its
// checks are global (run once, in a unit of ShardGlobalRegion). A service
// the table does not know is a regional group of its own, named after it.
func ShardGroupOf(service string) (group string, global bool) {
	if g, ok := shardGroups[service]; ok {
		return g, globalServices[service]
	}
	if groupNames[service] {
		// An unknown service named like a group stays out of that group.
		return "other-" + service, false
	}
	return service, false
}

var groupNames = func() map[string]bool {
	m := map[string]bool{}
	for _, g := range shardGroups {
		m[g] = true
	}
	return m
}()

// ShardGroups returns the table (a copy): service → group.
func ShardGroups() map[string]string {
	out := make(map[string]string, len(shardGroups))
	for k, v := range shardGroups {
		out[k] = v
	}
	return out
}
