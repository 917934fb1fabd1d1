package main

import (
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/jobs/exceptionsweep"
	"github.com/citadelsecure/citadel/shared/jobs/exportjob"
)

// The Lambda functions, named as their folders under functions/ and bin/.
const (
	FnPlan          = citadel.StepPlan
	FnAssetSync     = citadel.StepAssetSync
	FnCheckResults  = citadel.StepCheckResults
	FnControls      = citadel.StepControls
	FnPolicies      = citadel.StepPolicies
	FnEvidence      = citadel.StepEvidence
	FnFinalize      = citadel.StepFinalize
	FnAPI           = "api"
	FnCatalogImport = citadel.StepCatalogImport
	FnReconcile     = citadel.StepReconcile
	FnExcSweep      = exceptionsweep.StepName
	FnTokenScopes   = "token-scopes"
	FnRecheck       = citadel.StepRecheck
	FnExport        = exportjob.StepName
	// The organization scan's (orgstatemachine.go).
	FnOrgPlan    = citadel.StepOrgPlan
	FnOrgSync    = citadel.StepOrgSync
	FnOrgMember  = citadel.StepOrgMember
	FnOrgSummary = citadel.StepOrgSummary
)

// FunctionSpec sizes one function. Retries is how often the state machine
// retries its state on a retryable error: check-results saves its progress
// and returns a RetryableError when its invocation runs out of time, so its
// retries are how a large scan's results finish (each resumes where the
// last stopped); finalize must land. Zero for functions outside the
// state machine.
type FunctionSpec struct {
	Name        string
	MemoryMB    int
	Timeout     time.Duration
	Retries     int
	Description string
}

// FunctionSpecs are the functions and their sizes. The steps that stream
// many items (asset sync, check results over the OCSF file, catalog import)
// get a full vCPU (1769 MB) and Lambda's longest timeout; the API answers
// within API Gateway's 30 s integration limit.
var FunctionSpecs = []FunctionSpec{
	{FnPlan, 512, 2 * time.Minute, 4, "Plans a scan: the integration, the checks file, the scan record"},
	{FnAssetSync, 1769, 15 * time.Minute, 4, "Collects the target account's resources into the inventory"},
	{FnCheckResults, 1769, 15 * time.Minute, 10, "Reads Prowler's OCSF output into check results, history and drift events"},
	{FnControls, 1024, 10 * time.Minute, 4, "Applies check results to controls and requirement mappings"},
	{FnPolicies, 512, 5 * time.Minute, 4, "Creates policies for the SCF controls from templates"},
	{FnEvidence, 1024, 10 * time.Minute, 4, "Records evidence and its revisions from the check results"},
	{FnFinalize, 256, 1 * time.Minute, 8, "Writes the scan's summary and duration, or its failure"},
	{FnAPI, 512, 29 * time.Second, 0, "Citadel's HTTP API"},
	{FnCatalogImport, 1769, 15 * time.Minute, 0, "Imports the Prowler and SCF catalogs into the table"},
	{FnReconcile, 256, 1 * time.Minute, 0, "Ends the scan of an execution that failed, timed out or was aborted"},
	{FnExcSweep, 512, 5 * time.Minute, 0, "Expires exceptions, sends their reminders and re-marks results on a decision, without a scan"},
	{FnRecheck, 512, 5 * time.Minute, 0, "Coalesces change events per integration into re-check scans (trigger change)"},
	// An export holds a framework's dataset and its file in memory.
	{FnExport, 1769, 10 * time.Minute, 4, "Writes an export: a framework's dataset for a scope and date, as CSV, JSON, HTML, OSCAL or an auditor's package"},
	// Cognito waits 5 s for a trigger; the answer is computed from the event.
	{FnTokenScopes, 128, 5 * time.Second, 0, "The console user pool's pre token generation trigger: role scopes from the user's groups"},
	// The organization scan: org-sync lists the organization and writes its
	// members (thousands of accounts), org-summary reads every member scan;
	// org-summary must land.
	{FnOrgPlan, 256, 1 * time.Minute, 4, "Records an organization scan running (a scheduled run's with the organization's lock)"},
	{FnOrgSync, 512, 5 * time.Minute, 4, "Lists an organization's accounts and brings its member integrations up to date"},
	{FnOrgMember, 256, 1 * time.Minute, 6, "Starts one member's scan of an organization scan (its record and lock), or skips it"},
	{FnOrgSummary, 512, 5 * time.Minute, 8, "Rolls an organization scan's member scans up, records its outcome, releases its lock"},
}

// Dataless are the functions that touch neither the table nor the bucket:
// the token trigger decides from its event alone, so it gets neither their
// names nor a grant.
var Dataless = []string{FnTokenScopes}

// Bucket prefixes besides citadel.ScanPrefix and ddb.BlobPrefix (the values
// the store offloads from large items; the stores of check-results and
// evidence have a blob store): the catalog sources (catalog/prowler/ from
// the Prowler task, catalog/scf/ from the user).
const CatalogRoot = "catalog/"

// EventPutters are the functions that put events on the drift bus:
// check-results its regressions, and whoever ends a scan its end (finalize;
// the reconciler; the API, which cancels scans and takes over their locks;
// org-summary the organization scan's, and a member scan it ends; org-member
// the scan whose lock it takes over; the exception sweep the exceptions'
// expiries and reminders and the regressions of its re-marks; the re-check
// the scan whose lock it takes over).
var EventPutters = []string{FnCheckResults, FnFinalize, FnReconcile, FnAPI, FnOrgMember, FnOrgSummary, FnExcSweep, FnRecheck}

// logRetention is how long the functions' and the task's logs are kept.
const logRetention = awslogs.RetentionDays_ONE_MONTH

// Functions are the Lambda functions by name.
type Functions struct {
	ByName map[string]awslambda.Function
}

// newFunctions creates every function from <cfg.CodeDir>/<name>/bootstrap
// (provided.al2023 on arm64, JSON logs into a log group of its own) and gives
// each what it needs through grants.
func newFunctions(scope constructs.Construct, cfg Config, table awsdynamodb.Table, bucket awss3.Bucket, bus awsevents.EventBus, scannerRoles []*string) *Functions {
	fs := &Functions{ByName: map[string]awslambda.Function{}}
	for _, spec := range FunctionSpecs {
		id := "Fn-" + spec.Name
		logs := awslogs.NewLogGroup(scope, jsii.String(id+"-Logs"), &awslogs.LogGroupProps{
			Retention:     logRetention,
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		})
		env := &map[string]*string{
			citadel.EnvTable:  table.TableName(),
			citadel.EnvBucket: bucket.BucketName(),
		}
		dataless := slices.Contains(Dataless, spec.Name)
		if dataless {
			env = nil
		}
		fn := awslambda.NewFunction(scope, jsii.String(id), &awslambda.FunctionProps{
			Description:           jsii.String(spec.Description),
			Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
			Architecture:          awslambda.Architecture_ARM_64(),
			Handler:               jsii.String("bootstrap"),
			Code:                  awslambda.Code_FromAsset(jsii.String(filepath.Join(cfg.CodeDir, spec.Name)), nil),
			MemorySize:            jsii.Number(float64(spec.MemoryMB)),
			Timeout:               awscdk.Duration_Seconds(jsii.Number(spec.Timeout.Seconds())),
			LoggingFormat:         awslambda.LoggingFormat_JSON,
			ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
			SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
			LogGroup:              logs,
			Environment:           env,
		})
		fs.ByName[spec.Name] = fn
		if !dataless {
			table.GrantReadWriteData(fn)
		}
		suppress(fn, "AwsSolutions-IAM4",
			"AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs.", policyLambdaBasic)
		if dataless {
			continue
		}
		suppress(fn, "AwsSolutions-IAM5",
			"Queries on the table's global secondary indexes (ddb.Schema) need the table's index ARNs, <table>/index/*.",
			findingTableIndexes)
	}

	// Objects: each step reads or writes only what it handles.
	grantObjects(bucket, fs.ByName[FnPlan], citadel.ScanPrefix, true, true)         // writes the checks file
	grantObjects(bucket, fs.ByName[FnCheckResults], citadel.ScanPrefix, true, true) // reads the OCSF file, writes the problems file
	grantObjects(bucket, fs.ByName[FnAssetSync], citadel.ScanPrefix, true, true)    // the fan-out's items write what they collect, its apply reads it
	grantObjects(bucket, fs.ByName[FnCheckResults], ddb.BlobPrefix, true, true)
	grantObjects(bucket, fs.ByName[FnEvidence], citadel.ScanPrefix, true, false)
	grantObjects(bucket, fs.ByName[FnEvidence], ddb.BlobPrefix, true, true)
	grantObjects(bucket, fs.ByName[FnCatalogImport], CatalogRoot, true, false) // Prowler's export and the SCF files
	grantObjects(bucket, fs.ByName[FnAPI], ddb.BlobPrefix, true, false)        // offloaded evidence revisions
	grantObjects(bucket, fs.ByName[FnExcSweep], ddb.BlobPrefix, true, true)    // the evidence revisions of its re-marks

	// Drift events, and the ends of scans.
	for _, name := range EventPutters {
		fs.ByName[name].AddEnvironment(jsii.String(citadel.EnvEventBus), bus.EventBusName(), nil)
		bus.GrantPutEventsTo(fs.ByName[name], nil)
	}

	// The asset collectors read a target account through its scanner role,
	// and the home account (an integration without a role) with their own,
	// read-only like the Prowler task's.
	grantAssumeScanner(fs.ByName[FnAssetSync], scannerRoles)
	grantReadOnly(fs.ByName[FnAssetSync].Role())
	// The API's POST /integrations/{id}/verify runs the same collectors
	// once, with the same credentials a scan would have.
	grantAssumeScanner(fs.ByName[FnAPI], scannerRoles)
	grantReadOnly(fs.ByName[FnAPI].Role())
	// The organization sync lists an organization through its integration's
	// role (the scanner role in its management or delegated administrator
	// account), or, for Citadel's own organization, with its own.
	grantAssumeScanner(fs.ByName[FnOrgSync], scannerRoles)
	grantOrganizationsRead(fs.ByName[FnOrgSync])
	return fs
}

// OrganizationsReadActions are what the organization sync calls
// (orgsync.Organizations).
var OrganizationsReadActions = []string{"organizations:ListRoots", "organizations:ListAccounts",
	"organizations:ListAccountsForParent", "organizations:ListChildren"}

// grantOrganizationsRead lets fn list its own account's organization.
func grantOrganizationsRead(fn awslambda.Function) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(OrganizationsReadActions...),
		Resources: jsii.Strings("*"),
	}))
	suppress(fn, "AwsSolutions-IAM5",
		"Organizations' list calls (ListRoots, ListAccounts) have no resource-level permissions, and the OUs and roots "+
			"ListChildren and ListAccountsForParent take are the organization integration's, which are data.",
		findingAnyResource)
}

// grantAssumeScanner lets grantee assume the target accounts' scanner roles.
func grantAssumeScanner(grantee interface {
	awsiam.IGrantable
	constructs.IConstruct
}, scannerRoles []*string) awsiam.Grant {
	g := awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
		Grantee:      grantee,
		Actions:      jsii.Strings("sts:AssumeRole"),
		ResourceArns: &scannerRoles,
	})
	if len(scannerRoles) != 1 || !strings.Contains(*scannerRoles[0], ":iam::*:") {
		return g
	}
	suppress(grantee, "AwsSolutions-IAM5",
		"Without a configured list of target accounts (context "+CtxTargetAccounts+"), the scanner role may be in any "+
			"account: only the role of that one name, whose trust policy also demands the integration's ExternalId.",
		`/^Resource::arn:<AWS::Partition>:iam::\*:role\/[\w+=,.@-]+$/g`)
	return g
}

// grantReadOnly gives a role of this account the scanners' read-only
// policies, for scans of the home account.
func grantReadOnly(role awsiam.IRole) {
	role.AddManagedPolicy(awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("SecurityAudit")))
	role.AddManagedPolicy(awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("job-function/ViewOnlyAccess")))
	suppress(role, "AwsSolutions-IAM4", reasonReadOnlyPolicies, policySecurityAudit, policyViewOnly)
}

// scannerRoleARNs are the roles the scanners may assume: the scanner role by
// name in each configured target account, or in any account when none is
// configured (the role's trust policy and its ExternalId still decide).
func scannerRoleARNs(stack awscdk.Stack, cfg Config) []*string {
	accounts := cfg.TargetAccounts
	if len(accounts) == 0 {
		accounts = []string{"*"}
	}
	arns := make([]*string, 0, len(accounts))
	for _, a := range accounts {
		arns = append(arns, jsii.String("arn:"+*stack.Partition()+":iam::"+a+":role/"+cfg.ScannerRoleName))
	}
	return arns
}
