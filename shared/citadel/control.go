package citadel

import (
	"fmt"
	"time"
)

// Origin says who made a control, a policy or an evidence record.
type Origin string

const (
	OriginScan   Origin = "scan"
	OriginManual Origin = "manual"
)

// ControlStatus is the implementation status of an applied control.
type ControlStatus string

const (
	ControlActive     ControlStatus = "active"
	ControlToDo       ControlStatus = "to_do"
	ControlInProgress ControlStatus = "in_progress"
	ControlOnHold     ControlStatus = "on_hold"
	ControlDeprecated ControlStatus = "deprecated"
)

// Posture is the security posture of a control, from its check results.
type Posture string

const (
	PosturePassing    Posture = "passing"
	PosturePartial    Posture = "partial"
	PostureIssues     Posture = "issues"
	PostureNotScanned Posture = "not_scanned"
)

// Postures lists the postures, best first.
var Postures = []Posture{PosturePassing, PosturePartial, PostureIssues, PostureNotScanned}

// ComputePosture applies the posture rule. Its counts are results by
// effective status (CheckResult.Effective): passed, failed, errored and
// excepted (failing results an approved exception covers; they are not in
// failed); not_applicable is left out. total = passed + failed + errored +
// excepted; 0 → not_scanned; no failed and no error → passing (excepted
// failures do not make issues); no passed and no excepted → issues;
// otherwise partial. With excepted 0 this is the original rule (passing /
// partial / issues / not scanned over passed, failed, errored) exactly.
func ComputePosture(passed, failed, errored, excepted int) Posture {
	switch total := passed + failed + errored + excepted; {
	case total == 0:
		return PostureNotScanned
	case failed == 0 && errored == 0:
		return PosturePassing
	case passed == 0 && excepted == 0:
		return PostureIssues
	default:
		return PosturePartial
	}
}

// AppliedControl is a control as implemented in a folder. A Policy is an
// AppliedControl with Category policy.
//
// Dedup keys: (folder, SCF control) for SCF-based scan controls, (folder,
// source requirement) for requirement-based ones, (folder, reference control,
// SCF control) for policies.
type AppliedControl struct {
	ID                  string          `json:"id"`
	FolderID            string          `json:"folder_id"`
	RefID               string          `json:"ref_id"`
	Name                string          `json:"name"`
	Description         string          `json:"description,omitempty"`
	Category            ControlCategory `json:"category"`
	Origin              Origin          `json:"origin"`
	Status              ControlStatus   `json:"status"`
	IsAutomated         bool            `json:"is_automated"`
	SCFControlID        string          `json:"scf_control,omitempty"`
	SourceRequirementID string          `json:"source_requirement,omitempty"`
	ReferenceControlID  string          `json:"reference_control,omitempty"`
	SecurityCheckIDs    []string        `json:"security_checks,omitempty"`
	Posture             Posture         `json:"security_posture"`
	PassCount           int             `json:"pass_count"`
	FailCount           int             `json:"fail_count"`
	ErrorCount          int             `json:"error_count"`
	// ExceptedCount counts the failing results approved exceptions cover
	// (not in FailCount).
	ExceptedCount int       `json:"excepted_count"`
	LastScanID    string    `json:"last_scan_id,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	// Integrations holds what each integration's current results say about
	// the control; the counts and posture above are their sums, so a scan of
	// one integration never overwrites what another one found.
	Integrations map[string]IntegrationPosture `json:"integrations,omitempty"`
	// Version is the stored version, for optimistic concurrency: the store
	// replaces a control only when its version is still the one read.
	Version int `json:"version"`
}

// IntegrationPosture is one integration's contribution to a control: its
// result counts and a digest of the checks, assets and requirements it linked.
type IntegrationPosture struct {
	Passed        int    `json:"passed"`
	Failed        int    `json:"failed"`
	Errored       int    `json:"errored"`
	NotApplicable int    `json:"not_applicable"`
	Excepted      int    `json:"excepted"`
	LinksDigest   string `json:"links_digest"`
}

// SumIntegrations recomputes the counts and posture from Integrations.
func (c *AppliedControl) SumIntegrations() {
	c.PassCount, c.FailCount, c.ErrorCount, c.ExceptedCount = 0, 0, 0, 0
	for _, p := range c.Integrations {
		c.PassCount += p.Passed
		c.FailCount += p.Failed
		c.ErrorCount += p.Errored
		c.ExceptedCount += p.Excepted
	}
	c.Posture = ComputePosture(c.PassCount, c.FailCount, c.ErrorCount, c.ExceptedCount)
}

// IsPolicy reports whether the control is a policy.
func (c AppliedControl) IsPolicy() bool { return c.Category == CategoryPolicy }

// Validate checks an applied control.
func (c AppliedControl) Validate() error {
	var errs fieldErrors
	errs.add(c.ID == "", "id is required")
	errs.add(c.FolderID == "", "folder_id is required")
	errs.add(c.RefID == "", "ref_id is required")
	errs.add(c.Name == "", "name is required")
	errs.add(c.Origin != OriginScan && c.Origin != OriginManual, fmt.Sprintf("origin %q must be scan or manual", c.Origin))
	errs.add(c.IsPolicy() && (c.ReferenceControlID == "" || c.SCFControlID == "") && c.Origin == OriginScan,
		"a policy from a scan needs its reference_control and scf_control")
	return errs.err("applied control")
}

// AppliedControlIDForSCF, AppliedControlIDForRequirement and PolicyID give
// the deterministic id of a control for each of its dedup keys, so a re-run
// finds and conditionally creates the same control.
func AppliedControlIDForSCF(folderID, scfID string) string {
	return "ctl-" + shortHash(folderID, "scf", scfID)
}
func AppliedControlIDForRequirement(folderID, requirementID string) string {
	return "ctl-" + shortHash(folderID, "req", requirementID)
}
func PolicyID(folderID, referenceControlID, scfID string) string {
	return "pol-" + shortHash(folderID, "policy", referenceControlID, scfID)
}

// MappingSource says where a control ↔ requirement mapping came from.
type MappingSource string

const (
	MappingProwler     MappingSource = "prowler"     // SecurityCheck.mapped_requirements
	MappingSCF         MappingSource = "scf"         // SCFFrameworkMapping
	MappingRequirement MappingSource = "requirement" // the control's source requirement
	MappingManual      MappingSource = "manual"      // assigned on a RequirementAssessment
)

// ControlRequirementMapping links an applied control to a requirement.
type ControlRequirementMapping struct {
	ControlID     string        `json:"control_id"`
	RequirementID string        `json:"requirement_id"`
	FrameworkID   string        `json:"framework_id"`
	Source        MappingSource `json:"source"`
}

// LinkKind names what a control is linked to.
type LinkKind string

const (
	LinkAsset    LinkKind = "asset"
	LinkCheck    LinkKind = "check"
	LinkEvidence LinkKind = "evidence"
)

// ControlLink links an applied control to an asset, a security check or an
// evidence record. Links made by a scan are added, never dropped over a manual one.
// Why says why a scan linked a check (kind check, origin scan only): the
// controls step rewrites it when the catalog's or a user's links change.
type ControlLink struct {
	ControlID string   `json:"control_id"`
	Kind      LinkKind `json:"kind"`
	TargetID  string   `json:"target_id"`
	Origin    Origin   `json:"origin"`
	Why       *LinkWhy `json:"why,omitempty"`
}

// Validate checks a link: ids, kind, origin, and a why only on a scan's
// check link.
func (l ControlLink) Validate() error {
	var errs fieldErrors
	errs.add(l.ControlID == "" || l.TargetID == "", fmt.Sprintf("control_id and target_id are required (got %q, %q)", l.ControlID, l.TargetID))
	errs.add(l.Kind != LinkAsset && l.Kind != LinkCheck && l.Kind != LinkEvidence, fmt.Sprintf("kind %q is not asset, check or evidence", l.Kind))
	errs.add(l.Origin != OriginScan && l.Origin != OriginManual, fmt.Sprintf("origin %q is not scan or manual", l.Origin))
	if l.Why != nil {
		errs.add(l.Kind != LinkCheck || l.Origin != OriginScan, "why is only for a scan's check link")
		if err := l.Why.Validate(); err != nil {
			errs.add(true, err.Error())
		}
	}
	return errs.err("control link " + l.ControlID + " → " + string(l.Kind) + " " + l.TargetID)
}

// AssessmentResult is the outcome of a requirement assessment.
type AssessmentResult string

const (
	ResultNotAssessed        AssessmentResult = "not_assessed"
	ResultCompliant          AssessmentResult = "compliant"
	ResultPartiallyCompliant AssessmentResult = "partially_compliant"
	ResultNonCompliant       AssessmentResult = "non_compliant"
	ResultNotApplicable      AssessmentResult = "not_applicable"
)

// RequirementAssessment is a folder's assessment of one requirement: the
// controls a user assigned by hand, the answers to its questions and a result.
// The compliance score comes from these answers alone, weighted by the
// requirement's weight; controls never change it.
type RequirementAssessment struct {
	ID                string            `json:"id"`
	FolderID          string            `json:"folder_id"`
	FrameworkID       string            `json:"framework_id"`
	RequirementID     string            `json:"requirement_id"`
	AppliedControlIDs []string          `json:"applied_controls,omitempty"`
	Answers           map[string]string `json:"answers,omitempty"`
	Result            AssessmentResult  `json:"result"`
	UpdatedAt         time.Time         `json:"updated_at"`
}

// RequirementAssessmentID is the deterministic id of a folder's assessment of a requirement.
func RequirementAssessmentID(folderID, requirementID string) string {
	return "ra-" + shortHash(folderID, requirementID)
}

// Validate checks an assessment.
func (r RequirementAssessment) Validate() error {
	var errs fieldErrors
	errs.add(r.FolderID == "", "folder_id is required")
	errs.add(r.RequirementID == "", "requirement_id is required")
	errs.add(r.ID != "" && !ValidAssessmentID(r.ID), fmt.Sprintf("id %q is not an assessment id (ra-<20 hex digits>)", r.ID))
	switch r.Result {
	case ResultNotAssessed, ResultCompliant, ResultPartiallyCompliant, ResultNonCompliant, ResultNotApplicable:
	default:
		errs.add(true, fmt.Sprintf("result %q is not an assessment result", r.Result))
	}
	return errs.err("requirement assessment")
}
