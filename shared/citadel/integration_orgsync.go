package citadel

// StepOrgSync names the organization sync (shared/steps/orgsync): the state
// before an organization's scan maps over its members. It is not a state of
// an account's scan (StepOrder).
const StepOrgSync = "org-sync"

// OrgSyncInput is the organization sync's input: the organization
// integration whose members it brings up to date.
type OrgSyncInput struct {
	IntegrationID string `json:"integration_id"`
	// ScanID is the organization scan the sync runs for (its progress is
	// recorded there); empty outside a scan.
	ScanID string `json:"scan_id,omitempty"`
}

// OrgSyncOutput is what the organization sync found and changed: counts,
// the refusals in words, and the ids of the integrations to scan. Only ids
// travel (a Step Functions Map over Scan): about 40 bytes an account, so the
// state stays under its 256 KB cap up to a few thousand accounts.
type OrgSyncOutput struct {
	IntegrationID string `json:"integration_id"`
	FolderID      string `json:"folder_id"`
	// Listed is how many accounts Organizations listed in the scope (the
	// organization, or its OUs and every OU below them).
	Listed int `json:"listed"`
	// SkippedSuspended are listed accounts that are not active (suspended,
	// pending closure, closed, not activated yet): never members.
	SkippedSuspended int `json:"skipped_suspended"`
	// Excluded are active accounts the options leave out (not included,
	// or excluded).
	Excluded int `json:"excluded"`
	// Added are new members; Restored members archived earlier whose
	// account is in scope again; Updated members rewritten with what they
	// inherit (the organization's regions, frameworks, role ...); Kept
	// members already as they should be.
	Added    int `json:"added"`
	Restored int `json:"restored"`
	Updated  int `json:"updated"`
	Kept     int `json:"kept"`
	// Archived are members whose account is no longer in scope (closed,
	// suspended, moved out of the OUs, excluded, gone).
	Archived int `json:"archived"`
	// Refused counts what the sync could not do and left as it was: an
	// account another integration of the folder already has, a member a
	// running scan holds (not archived). Problems says each, in words (the
	// first MaxOrgSyncProblems).
	Refused  int              `json:"refused"`
	Problems []OrgSyncProblem `json:"problems,omitempty"`
	// Scan is the integrations to scan, sorted: every member in scope, and
	// the organization integration itself when its own account is in scope
	// (it holds that account in the folder, and its role is there).
	Scan  []string `json:"scan"`
	Usage Usage    `json:"usage"`
}

// MaxOrgSyncProblems bounds OrgSyncOutput.Problems (Refused counts them all).
const MaxOrgSyncProblems = 50

// OrgSyncProblem is one account the sync left as it was, and why.
type OrgSyncProblem struct {
	AccountID     string `json:"account_id"`
	IntegrationID string `json:"integration_id,omitempty"`
	Reason        string `json:"reason"`
}
