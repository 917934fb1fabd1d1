// Package export gathers what an auditor takes away for one framework and
// one scope (an integration, a folder or an organization), as of now or as
// of a past date, into a Dataset, and writes it as CSV and JSON with stable
// column sets (docs/exports.md). The OSCAL documents (shared/oscal), the
// HTML report (shared/report) and the auditor's package (shared/auditpkg)
// are all built from the same Dataset, so every export of a scope and date
// says the same thing.
package export

import (
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// ScopeKind and Scope are citadel's (an export job's request names them).
type (
	ScopeKind = citadel.ExportScopeKind
	Scope     = citadel.ExportScope
)

const (
	ScopeIntegration  = citadel.ExportScopeIntegration
	ScopeFolder       = citadel.ExportScopeFolder
	ScopeOrganization = citadel.ExportScopeOrganization
)

// Framework is the framework a dataset is about.
type Framework struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// Integration is one integration a dataset covers, and the scan its
// results are of (the latest complete one at or before the dataset's date).
type Integration struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	AccountID string    `json:"account_id"`
	FolderID  string    `json:"folder_id"`
	ScanID    string    `json:"scan_id,omitempty"`
	ScannedAt time.Time `json:"scanned_at,omitzero"`
}

// Finding is one check result of the framework's checks on one asset, as
// of the dataset's date. Status is the effective status (an approved
// exception's failures are excepted); ProwlerStatus is what Prowler said.
type Finding struct {
	IntegrationID string              `json:"integration_id"`
	AccountID     string              `json:"account_id"`
	CheckID       string              `json:"check_id"`
	CheckTitle    string              `json:"check_title"`
	Severity      citadel.Severity    `json:"severity"`
	AssetID       string              `json:"asset_id"`
	AssetARN      string              `json:"asset_arn"`
	AssetName     string              `json:"asset_name"`
	AssetType     string              `json:"asset_type"`
	Region        string              `json:"region"`
	Status        citadel.CheckStatus `json:"status"`
	ProwlerStatus citadel.CheckStatus `json:"prowler_status"`
	Muted         bool                `json:"muted"`
	ExceptionID   string              `json:"exception_id,omitempty"`
	Detail        string              `json:"detail,omitempty"`
	ScanID        string              `json:"scan_id"`
	ScannedAt     time.Time           `json:"scanned_at"`
	// FirstSeen is when the result first had its current status (from its
	// history), zero when unknown.
	FirstSeen time.Time `json:"first_seen,omitzero"`
	// Controls are the ref ids of the applied controls that follow the
	// check; Requirements the framework requirements they map to.
	Controls     []string `json:"controls,omitempty"`
	Requirements []string `json:"requirements,omitempty"`
}

// Control is one applied control of the framework with its posture over the
// dataset's findings.
type Control struct {
	ID           string          `json:"id"`
	RefID        string          `json:"ref_id"`
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	SCFControlID string          `json:"scf_control,omitempty"`
	Posture      citadel.Posture `json:"posture"`
	Passed       int             `json:"passed"`
	Failed       int             `json:"failed"`
	Excepted     int             `json:"excepted"`
	Errored      int             `json:"errored"`
	Checks       []string        `json:"checks,omitempty"`
	Requirements []string        `json:"requirements,omitempty"`
}

// Requirement is one assessable requirement of the framework and what its
// controls say of it.
type Requirement struct {
	RefID       string                   `json:"ref_id"`
	Name        string                   `json:"name,omitempty"`
	Description string                   `json:"description,omitempty"`
	Result      citadel.AssessmentResult `json:"result"`
	// Covered: at least one control maps to it; AllPassing: every one of
	// them passes.
	Covered    bool     `json:"covered"`
	AllPassing bool     `json:"all_passing"`
	Controls   []string `json:"controls,omitempty"`
	Passed     int      `json:"passed"`
	Failed     int      `json:"failed"`
	Excepted   int      `json:"excepted"`
}

// EvidenceRecord is one evidence record with its whole revision chain and
// review history (oldest first), which citadel.VerifyChain and
// citadel.VerifyReviews check.
type EvidenceRecord struct {
	Evidence  citadel.Evidence           `json:"evidence"`
	Revisions []citadel.EvidenceRevision `json:"revisions"`
	Reviews   []citadel.EvidenceReview   `json:"reviews"`
}

// Dataset is everything exported for one framework, scope and date.
type Dataset struct {
	Generated time.Time `json:"generated"`
	// AsOf is the date the dataset stands at (Generated when "now").
	AsOf         time.Time           `json:"as_of"`
	Framework    Framework           `json:"framework"`
	Scope        Scope               `json:"scope"`
	Integrations []Integration       `json:"integrations"`
	Findings     []Finding           `json:"findings"`
	Controls     []Control           `json:"controls"`
	Requirements []Requirement       `json:"requirements"`
	Evidence     []EvidenceRecord    `json:"evidence"`
	Exceptions   []citadel.Exception `json:"exceptions"`
}
