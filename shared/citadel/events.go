package citadel

// Citadel's own EventBridge events, put on the drift bus (EnvEventBus):
// their source and detail types. The emitters (check-results, and
// scanend's Announcer wherever a scan ends), the CDK app's notification
// rule and docs/notifications.md read these names.
const (
	EventSource = "citadel"
	// EventCheckRegressed: a check's result on an asset got worse
	// (checkresults.RegressionDetail).
	EventCheckRegressed = "Check Regressed"
	// EventScanSucceeded: a scan ended succeeded (scanend.ScanEndedDetail).
	EventScanSucceeded = "Scan Succeeded"
	// EventScanFailed: a scan ended failed, timed out or cancelled; the
	// detail's status says which (scanend.ScanEndedDetail).
	EventScanFailed = "Scan Failed"
	// EventExceptionApproved, EventExceptionRevoked: a reviewer approved or
	// revoked an exception (the API); the rule of the exception sweep
	// routes them to it, which re-marks the check's results without a scan.
	EventExceptionApproved = "Exception Approved"
	EventExceptionRevoked  = "Exception Revoked"
	// EventExceptionExpired: the sweep expired an exception and re-marked
	// its results; EventExceptionExpiring: an approved exception expires
	// within the reminder lead time (sent once). Details: busevents.ExceptionDetail.
	EventExceptionExpired  = "Exception Expired"
	EventExceptionExpiring = "Exception Expiring"
)

// NotifiedDetailTypes are the detail types the stack's notification rule
// routes to its SNS topic: every event Citadel puts on the bus.
var NotifiedDetailTypes = []string{EventCheckRegressed, EventScanSucceeded, EventScanFailed,
	EventExceptionApproved, EventExceptionRevoked, EventExceptionExpired, EventExceptionExpiring}

// ExceptionDecisionDetailTypes are the events the exception sweep's rule
// routes to it: a decision that changes what covers the check's results.
var ExceptionDecisionDetailTypes = []string{EventExceptionApproved, EventExceptionRevoked}
