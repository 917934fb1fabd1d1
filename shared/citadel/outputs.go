package citadel

import "strings"

// The main stack's CloudFormation outputs that clients read (the CLI finds
// a deployment by them: `citadel --stack Citadel ...`). The CDK app names
// its outputs with these, so the two never disagree.
const (
	OutputAPIURL              = "ApiUrl"                 // the HTTP API's endpoint
	OutputBucketName          = "BucketName"             // the scan-output bucket (catalog/scf/ takes the user's SCF files)
	OutputStateMachineARN     = "StateMachineArn"        // the scan state machine
	OutputOrgStateMachineARN  = "OrgStateMachineArn"     // the organization scan state machine
	OutputCatalogStateMachine = "CatalogStateMachineArn" // the catalog export and import
	OutputExportStateMachine  = "ExportStateMachineArn"  // the export jobs
	OutputTableName           = "TableName"              // the DynamoDB table
	OutputEventBusName        = "EventBusName"           // the drift-event bus
	OutputConsoleURL          = "ConsoleUrl"             // the web console: https://<distribution>/console/
	OutputConsoleAPIURL       = "ConsoleApiUrl"          // the console's HTTP API (JWT: the user pool's access tokens)
	OutputUserPoolID          = "UserPoolId"             // the console's user pool (the stack's, or the one brought)
	OutputUserPoolClientID    = "UserPoolClientId"       // the console's app client in it
	// DefaultStackName is the main stack's name when a deployer keeps it.
	DefaultStackName = "Citadel"
	// TargetStackName is the stack a target account deploys for the
	// scanner role; OrgStackSetStackName the optional stack whose StackSet
	// deploys it to an organization's accounts.
	TargetStackName      = "CitadelTargetRole"
	OrgStackSetStackName = "CitadelOrgStackSet"
	// SCFPrefix is where the catalog import reads the user's SCF files
	// (scf-<version>.yaml and mapping-*.yaml) in the bucket.
	SCFPrefix = "catalog/scf/"
)

// OutputRolePolicy names the output holding the ARN of role r's IAM managed
// policy, which lets an IAM principal invoke the IAM API's routes of r
// ("AdminPolicyArn").
func OutputRolePolicy(r Role) string {
	s := string(r)
	if s == "" {
		return "PolicyArn"
	}
	return strings.ToUpper(s[:1]) + s[1:] + "PolicyArn"
}
