package citadel

// The main stack's CloudFormation outputs that clients read (the CLI finds
// a deployment by them: `citadel --stack Citadel ...`). The CDK app names
// its outputs with these, so the two never disagree.
const (
	OutputAPIURL              = "ApiUrl"                 // the HTTP API's endpoint
	OutputBucketName          = "BucketName"             // the scan-output bucket (catalog/scf/ takes the user's SCF files)
	OutputStateMachineARN     = "StateMachineArn"        // the scan state machine
	OutputCatalogStateMachine = "CatalogStateMachineArn" // the catalog export and import
	OutputTableName           = "TableName"              // the DynamoDB table
	OutputEventBusName        = "EventBusName"           // the drift-event bus
	// DefaultStackName is the main stack's name when a deployer keeps it.
	DefaultStackName = "Citadel"
	// SCFPrefix is where the catalog import reads the user's SCF files
	// (scf-<version>.yaml and mapping-*.yaml) in the bucket.
	SCFPrefix = "catalog/scf/"
)
