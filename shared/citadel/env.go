package citadel

// Environment variables shared by the functions, the Prowler task and the
// CDK app that sets them. One list, so the three never disagree.
const (
	EnvTable           = "CITADEL_TABLE"             // the DynamoDB table
	EnvBucket          = "CITADEL_BUCKET"            // the scan-output bucket
	EnvEventBus        = "CITADEL_EVENT_BUS"         // the EventBridge bus for drift events
	EnvStateMachineARN = "CITADEL_STATE_MACHINE_ARN" // the scan state machine (API, scheduler)
	// EnvOrgStateMachineARN: the organization scan's state machine (the API
	// starts it for an integration of kind organization).
	EnvOrgStateMachineARN = "CITADEL_ORG_STATE_MACHINE_ARN"
	// EnvCatalogStateMachineARN: the catalog load's state machine (the API's GET /catalog).
	EnvCatalogStateMachineARN = "CITADEL_CATALOG_STATE_MACHINE_ARN"
	// EnvExportStateMachineARN: the export state machine (the API's POST /exports).
	EnvExportStateMachineARN = "CITADEL_EXPORT_STATE_MACHINE_ARN"
	// EnvExportSigningKey: the KMS key (ARN) that signs the auditor's
	// packages (the export job); unset, packages are unsigned.
	EnvExportSigningKey = "CITADEL_EXPORT_SIGNING_KEY"
	// EnvPOAMOwner: who owns the POA&M's open items (the export job).
	EnvPOAMOwner      = "CITADEL_POAM_OWNER"
	EnvSchedulerRole  = "CITADEL_SCHEDULER_ROLE_ARN"
	EnvSchedulerGroup = "CITADEL_SCHEDULE_GROUP"
	EnvFolderID       = "CITADEL_DEFAULT_FOLDER"
	// EnvMinScheduleInterval: the shortest time between two scheduled scans
	// of an integration (a Go duration; ParseMinScheduleInterval).
	EnvMinScheduleInterval = "CITADEL_MIN_SCHEDULE_INTERVAL"
	// EnvMaxExceptionDays: how far ahead an exception may expire at most,
	// in days (ParseMaxExceptionDays; DefaultMaxExceptionDays when unset).
	EnvMaxExceptionDays = "CITADEL_MAX_EXCEPTION_DAYS"
	// EnvExceptionReminderDays: how long before an approved exception
	// expires the sweep sends its one reminder, in days
	// (ParseExceptionReminderDays; DefaultExceptionReminderDays when unset).
	EnvExceptionReminderDays = "CITADEL_EXCEPTION_REMINDER_DAYS"

	// The Prowler task's parameters, set by the state machine's container overrides.
	EnvTaskMode      = "CITADEL_TASK_MODE" // scan | catalog
	EnvTaskScanID    = "CITADEL_SCAN_ID"
	EnvTaskChecksKey = "CITADEL_CHECKS_KEY"
	// EnvTaskShardID, EnvTaskOCSFKey, EnvTaskManifestKey: the task's shard
	// (citadel.Shard) and where it writes its OCSF file and manifest.
	EnvTaskShardID     = "CITADEL_SHARD_ID"
	EnvTaskOCSFKey     = "CITADEL_OCSF_KEY"
	EnvTaskManifestKey = "CITADEL_MANIFEST_KEY"
	EnvTaskRoleARN     = "CITADEL_ROLE_ARN"
	EnvTaskExternalID  = "CITADEL_EXTERNAL_ID"
	EnvTaskRegions     = "CITADEL_REGIONS"  // space-separated
	EnvTaskDeadline    = "CITADEL_DEADLINE" // Go duration, e.g. 3h
	EnvTaskCatalogKey  = "CITADEL_CATALOG_PREFIX"
)

// S3 layout of a scan's objects.
const (
	ScanPrefix      = "scans/"
	ChecksFileName  = "checks.json"
	OCSFFileName    = "prowler.ocsf.json"
	ManifestName    = "manifest.json"
	CatalogPrefix   = "catalog/prowler/"
	DefaultTableEnv = "citadel"
)

// ScanObjectKey is the S3 key of a scan's object: scans/<scan id>/<name>.
func ScanObjectKey(scanID, name string) string { return ScanPrefix + scanID + "/" + name }
