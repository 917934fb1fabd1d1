package citadel

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// An organization's scan is one execution of the organization state
// machine: org-plan records the organization scan (a Scan of the
// organization integration, Kind KindOrganization) running, org-sync
// brings its members up to date (OrgSyncOutput), a Map over the ids to
// scan starts each member's scan (org-member: a scan record with trigger
// organization and ParentScanID, the member's lock) and runs the account
// state machine for it as a child execution, and org-summary rolls the
// members' outcomes up onto the organization scan and releases its lock.
// One member's failure never fails the others: each item of the Map ends
// as an OrgMemberResult.

// The Lambda states of the organization scan, besides StepOrgSync.
const (
	StepOrgPlan    = "org-plan"
	StepOrgMember  = "org-member"
	StepOrgSummary = "org-summary"
)

// OrgStepOrder is the order of an organization scan's Lambda states
// (org-member runs once per member, in the Map between org-sync and
// org-summary). The step contract records their progress on the
// organization scan (org-member's on the member's).
var OrgStepOrder = []string{StepOrgPlan, StepOrgSync, StepOrgMember, StepOrgSummary}

// OrgStateKeys says under which key of the organization execution's state
// each state's output is kept (its ResultPath is "$.<key>"). With "scan"
// (the execution input) and StateErrorKey they are OrgSummaryInput's JSON
// fields.
var OrgStateKeys = map[string]string{
	StepOrgPlan:    "plan",
	StepOrgSync:    "sync",
	StepOrgMember:  "members", // the Map's results, one OrgMemberResult a member
	StepOrgSummary: "final",
}

// OrgPlanOutput is org-plan's output: the organization scan, running.
type OrgPlanOutput struct {
	ScanID        string    `json:"scan_id"`
	IntegrationID string    `json:"integration_id"`
	FolderID      string    `json:"folder_id"`
	StartedAt     time.Time `json:"started_at"`
	Usage         Usage     `json:"usage"`
}

// OrgMemberInput is one item of the organization scan's Map: a member to
// scan (an id of OrgSyncOutput.Scan), and the organization scan and
// integration it belongs to.
type OrgMemberInput struct {
	IntegrationID    string `json:"integration_id"`
	OrgScanID        string `json:"org_scan_id"`
	OrgIntegrationID string `json:"org_integration_id"`
}

// MemberStatus is what became of one member in an organization scan.
type MemberStatus string

const (
	// MemberStarted: org-member recorded the member's scan and took its
	// lock; the child execution runs it next.
	MemberStarted MemberStatus = "started"
	// MemberScanned: the child execution ended (its scan record says how).
	MemberScanned MemberStatus = "scanned"
	// MemberFailed: the member's scan could not start, or its execution
	// failed.
	MemberFailed MemberStatus = "failed"
	// MemberSkipped: not scanned, and not a failure: another scan holds
	// the member (it is scanning already), or it left the organization
	// since the sync.
	MemberSkipped MemberStatus = "skipped"
)

// OrgMemberResult is what org-member returns, and what each item of the
// Map ends as. Reason says why a member was skipped or failed (at most
// MaxMemberReason characters; for a state the Map caught, the error's
// name); ScanID and Scan (the child execution's input) are set only on
// org-member's start. An item ends as its integration id, status and
// reason alone (the scan's id derives from the ids, MemberScanID; the
// scan record says how it ended), about 70 bytes, so the Map's results
// stay far under the state's 256 KB.
type OrgMemberResult struct {
	IntegrationID string       `json:"integration_id"`
	ScanID        string       `json:"scan_id,omitempty"`
	Status        MemberStatus `json:"status"`
	Reason        string       `json:"reason,omitempty"`
	Scan          *StartScan   `json:"scan,omitempty"`
}

// MaxMemberReason bounds OrgMemberResult.Reason and OrgMemberOutcome.Reason.
const MaxMemberReason = 300

// ClipReason shortens a reason to MaxMemberReason characters.
func ClipReason(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= MaxMemberReason {
		return s
	}
	r := []rune(s)
	return string(r[:MaxMemberReason-1]) + "…"
}

// OrgSummaryInput is the organization execution's whole state at
// org-summary: the execution input, what org-plan, org-sync and the Map
// returned, and the error a Catch put under "error" when one of them
// failed.
type OrgSummaryInput struct {
	Scan    StartScan         `json:"scan"`
	Plan    OrgPlanOutput     `json:"plan"`
	Sync    OrgSyncOutput     `json:"sync"`
	Members []OrgMemberResult `json:"members"`
	Error   *StepError        `json:"error,omitempty"`
}

// OrgSummaryOutput is the organization scan as finally recorded.
type OrgSummaryOutput struct {
	ScanID       string         `json:"scan_id"`
	Status       ScanStatus     `json:"status"`
	Summary      ScanSummary    `json:"summary"`
	Organization OrgScanSummary `json:"organization"`
}

// MemberScanID is the id of the scan organization scan orgScanID starts
// for member integrationID: derived from both, so a retried org-member
// finds the scan it recorded (and the child execution, named by it, is
// started once); it begins with the organization scan's id, so a member's
// scans still sort by time.
func MemberScanID(orgScanID, integrationID string) string {
	return orgScanID + "-" + shortHash("org-scan-member", orgScanID, integrationID)[:12]
}

// OrgScanSummary is an organization scan's roll-up: how many members, how
// each ended (exact counts), the failed and skipped ones (the first
// MaxOrgScanListed of each, by account), and what the sync did. The
// organization scan's ScanSummary adds the members' summaries up.
type OrgScanSummary struct {
	// Members are the integrations the scan was to scan (OrgSyncOutput.Scan).
	Members   int `json:"members"`
	Succeeded int `json:"succeeded"`
	// Failed counts members whose scan failed, timed out or was cancelled,
	// or could not start.
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	// FailedAccounts and SkippedAccounts say which and why.
	FailedAccounts  []OrgMemberOutcome `json:"failed_accounts,omitempty" dynamo:",omitempty"`
	SkippedAccounts []OrgMemberOutcome `json:"skipped_accounts,omitempty" dynamo:",omitempty"`
	// Sync is what org-sync found and changed.
	Sync OrgSyncCounts `json:"sync"`
}

// MaxOrgScanListed bounds OrgScanSummary's lists (the counts are exact).
const MaxOrgScanListed = 100

// OrgMemberOutcome is one member that failed or was skipped.
type OrgMemberOutcome struct {
	IntegrationID string `json:"integration_id"`
	AccountID     string `json:"account_id,omitempty"`
	ScanID        string `json:"scan_id,omitempty"`
	// Status is the member scan's end state (failed, timed_out,
	// cancelled), or "skipped" when it did not run.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// OrgSyncCounts are OrgSyncOutput's counts.
type OrgSyncCounts struct {
	Listed           int `json:"listed"`
	SkippedSuspended int `json:"skipped_suspended"`
	Excluded         int `json:"excluded"`
	Added            int `json:"added"`
	Restored         int `json:"restored"`
	Updated          int `json:"updated"`
	Kept             int `json:"kept"`
	Archived         int `json:"archived"`
	Refused          int `json:"refused"`
}

// Counts are the sync's counts alone.
func (o OrgSyncOutput) Counts() OrgSyncCounts {
	return OrgSyncCounts{Listed: o.Listed, SkippedSuspended: o.SkippedSuspended, Excluded: o.Excluded, Added: o.Added,
		Restored: o.Restored, Updated: o.Updated, Kept: o.Kept, Archived: o.Archived, Refused: o.Refused}
}

// Message is the organization scan summary's one line.
func (o OrgScanSummary) Message(issues int) string {
	return fmt.Sprintf("Organization scan complete: %d accounts, %d succeeded, %d failed, %d skipped; %d issues found",
		o.Members, o.Succeeded, o.Failed, o.Skipped, issues)
}
