package citadel

import (
	"encoding/json"
	"fmt"
	"time"
)

// CheckStatus is the outcome of one check on one asset.
type CheckStatus string

const (
	StatusPass          CheckStatus = "pass"
	StatusFail          CheckStatus = "fail"
	StatusError         CheckStatus = "error"
	StatusNotApplicable CheckStatus = "not_applicable"
	// StatusExcepted is no status Prowler gives and is never stored as a
	// result's Status: it is a failing result that an approved exception
	// covers, as shown and counted (EffectiveStatus).
	StatusExcepted CheckStatus = "excepted"
)

// EffectiveStatus is how a result of Prowler's status reads: a failing
// result that an exception covers (excepted) is excepted, anything else is
// its status. A passing, erroring or not-applicable result is never
// excepted, and a muted one is only when an exception covers it: Prowler's
// mute alone does not except. This is the one home of the rule.
func EffectiveStatus(status CheckStatus, excepted bool) CheckStatus {
	if status == StatusFail && excepted {
		return StatusExcepted
	}
	return status
}

// StatusFromProwler maps Prowler's status_code: PASS → pass, FAIL → fail,
// MANUAL → not_applicable, anything else → error.
func StatusFromProwler(code string) CheckStatus {
	switch code {
	case "PASS":
		return StatusPass
	case "FAIL":
		return StatusFail
	case "MANUAL":
		return StatusNotApplicable
	default:
		return StatusError
	}
}

// CheckResult is the result of a security check on an asset of an
// integration, as of a scan.
type CheckResult struct {
	IntegrationID    string          `json:"integration_id"`
	CheckID          string          `json:"security_check"`
	AssetID          string          `json:"asset"`
	AssetARN         string          `json:"asset_arn"`
	ScanID           string          `json:"scan_id"`
	Status           CheckStatus     `json:"status"`
	Muted            bool            `json:"muted"`
	StatusExtended   string          `json:"status_extended,omitempty"`
	Severity         Severity        `json:"severity,omitempty"`
	Region           string          `json:"region,omitempty"`
	RawOutput        json.RawMessage `json:"raw_output,omitempty"`
	ResourceSnapshot json.RawMessage `json:"resource_snapshot,omitempty"`
	// ContentHash identifies the result's content (status, detail, raw
	// output, snapshot): a rescan rewrites the result only when it changes.
	ContentHash string    `json:"content_hash,omitempty"`
	ScannedAt   time.Time `json:"scanned_at"`
	// FirstScanID is the scan in which the current content first appeared.
	FirstScanID string `json:"first_scan_id,omitempty"`
	// ExceptionID is the approved exception that covered the failing
	// result when it was last marked (the check-results step, at scan
	// time; shared/exceptions): Status stays Prowler's, Effective reads
	// excepted. Empty when none applies.
	ExceptionID string `json:"exception_id,omitempty"`
}

// Effective is the result's status as shown and counted: excepted for a
// failing result with an applying exception, else Status.
func (r CheckResult) Effective() CheckStatus { return EffectiveStatus(r.Status, r.ExceptionID != "") }

// ResultID is the deterministic id of the result of a check on an asset.
func ResultID(integrationID, checkID, assetID string) string {
	return shortHash(integrationID, checkID, assetID)
}

// Validate checks a result.
func (r CheckResult) Validate() error {
	var errs fieldErrors
	errs.add(r.IntegrationID == "", "integration_id is required")
	errs.add(r.CheckID == "", "security_check is required")
	errs.add(r.AssetID == "", "asset is required")
	errs.add(r.ScanID == "", "scan_id is required")
	switch r.Status {
	case StatusPass, StatusFail, StatusError, StatusNotApplicable:
	default:
		errs.add(true, fmt.Sprintf("status %q is not a check status", r.Status))
	}
	errs.add(r.ExceptionID != "" && r.Status != StatusFail, fmt.Sprintf("exception_id is only for a failing result, not a %s one", r.Status))
	errs.add(r.ExceptionID != "" && !ValidID(r.ExceptionID), fmt.Sprintf("exception_id %q must match %s", r.ExceptionID, PatternID))
	return errs.err("check result")
}

// CheckResultHistory records a change of a result's effective status
// (CheckResult.Effective) between scans: an exception starting or ending
// to cover a failing result is a change, fail → excepted and back. A
// first-ever result records PreviousStatus "" (no earlier result). A change
// no scan made (an exception approved, revoked or expired: the exception
// sweep re-marks the results) names that exception in ExceptionID; its
// ScanID is then the scan whose finding the result still is.
type CheckResultHistory struct {
	IntegrationID  string      `json:"integration_id"`
	CheckID        string      `json:"security_check"`
	AssetID        string      `json:"asset"`
	ScanID         string      `json:"scan_id"`
	PreviousStatus CheckStatus `json:"previous_status"`
	NewStatus      CheckStatus `json:"new_status"`
	ChangedAt      time.Time   `json:"changed_at"`
	ExceptionID    string      `json:"exception_id,omitempty"`
}

// IsRegression reports whether the change is a pass → fail, a new fail, or
// a failure no exception covers any more (excepted → fail); fail →
// excepted is not one.
func (h CheckResultHistory) IsRegression() bool {
	return h.NewStatus == StatusFail && h.PreviousStatus != StatusFail
}
