package citadel

import (
	"fmt"
	"strings"
	"time"
)

// Severity of a security check, as Prowler grades it.
type Severity string

const (
	SeverityCritical      Severity = "critical"
	SeverityHigh          Severity = "high"
	SeverityMedium        Severity = "medium"
	SeverityLow           Severity = "low"
	SeverityInformational Severity = "informational"
)

// Remediation is how to fix a failing check.
type Remediation struct {
	Text      string `json:"text,omitempty"`
	URL       string `json:"url,omitempty"`
	CLI       string `json:"cli,omitempty"`
	Terraform string `json:"terraform,omitempty"`
	NativeIaC string `json:"native_iac,omitempty"`
	Other     string `json:"other,omitempty"`
}

// SecurityCheck is one Prowler check. MappedRequirements holds the
// RequirementNode ids (see RequirementID) whose compliance files list it.
// RelatedURLs are the metadata's RelatedUrl (when set) and AdditionalURLs,
// in that order.
type SecurityCheck struct {
	ID                 string      `json:"id"`
	Title              string      `json:"title"`
	Service            string      `json:"service"`
	SubService         string      `json:"sub_service,omitempty"`
	ResourceType       string      `json:"resource_type"`
	Severity           Severity    `json:"severity"`
	Categories         []string    `json:"categories,omitempty"`
	Description        string      `json:"description,omitempty"`
	Risk               string      `json:"risk,omitempty"`
	Remediation        Remediation `json:"remediation"`
	RelatedURLs        []string    `json:"related_urls,omitempty" dynamo:",omitempty"`
	MappedRequirements []string    `json:"mapped_requirements,omitempty"`
	Deprecated         bool        `json:"deprecated"`
	ProwlerVersion     string      `json:"prowler_version,omitempty"`
}

// Validate checks a security check.
func (c SecurityCheck) Validate() error {
	var errs fieldErrors
	errs.add(c.ID == "", "id is required")
	errs.add(c.Service == "", "service is required")
	switch c.Severity {
	case SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInformational:
	default:
		errs.add(true, fmt.Sprintf("severity %q is not a Prowler severity", c.Severity))
	}
	return errs.err("security check " + c.ID)
}

// Framework is a compliance framework (SOC 2, ISO 27001:2022, CIS ...).
type Framework struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Version          string `json:"version,omitempty"`
	Provider         string `json:"provider,omitempty"`
	Description      string `json:"description,omitempty"`
	Source           string `json:"source"` // "prowler" today
	RequirementCount int    `json:"requirement_count"`
}

// RequirementNode is one requirement of a framework.
type RequirementNode struct {
	ID          string   `json:"id"`
	FrameworkID string   `json:"framework_id"`
	RefID       string   `json:"ref_id"`
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Assessable  bool     `json:"assessable"`
	Weight      int      `json:"weight"`
	Checks      []string `json:"checks,omitempty"`
}

// RequirementID is the id of a RequirementNode: "<framework>:<ref id>".
func RequirementID(frameworkID, refID string) string { return frameworkID + ":" + refID }

// SplitRequirementID is the inverse of RequirementID.
func SplitRequirementID(id string) (frameworkID, refID string, ok bool) {
	return strings.Cut(id, ":")
}

// SCFControl is one control of the Secure Controls Framework, the hub every
// framework maps through.
type SCFControl struct {
	ID          string `json:"id"` // IAC-06
	Domain      string `json:"domain"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Version     string `json:"version,omitempty"`
}

// CheckSCFLink says that a security check validates an SCF control, and why:
// the framework requirements and frameworks that support the link (its
// framework-join Support), how well the check's own text matches the
// control's statement (Relevance, 0..1, 1 for the check's best match), the
// Score they combine into and its rank among the check's links (1 = best).
// A link no framework supports has no frameworks and a Support of 0.
type CheckSCFLink struct {
	CheckID      string   `json:"check_id"`
	SCFID        string   `json:"scf_id"`
	Rank         int      `json:"rank"`
	Score        float64  `json:"score"`
	Support      float64  `json:"support,omitempty"`
	Relevance    float64  `json:"relevance,omitempty"`
	Frameworks   []string `json:"frameworks"`
	Requirements []string `json:"requirements"`
}

// Relationship is an STRM relationship between a framework requirement and an
// SCF control.
type Relationship string

const (
	RelEqual     Relationship = "equal"
	RelSubset    Relationship = "subset"
	RelSuperset  Relationship = "superset"
	RelIntersect Relationship = "intersect"
)

// Valid reports whether r is one of the four STRM relationships.
func (r Relationship) Valid() bool {
	switch r {
	case RelEqual, RelSubset, RelSuperset, RelIntersect:
		return true
	}
	return false
}

// SCFFrameworkMapping maps an SCF control to a framework requirement.
type SCFFrameworkMapping struct {
	SCFID         string       `json:"scf_id"`
	RequirementID string       `json:"requirement_id"`
	FrameworkID   string       `json:"framework_id"`
	Relationship  Relationship `json:"relationship"`
}

// ControlCategory is the kind of an applied or reference control.
type ControlCategory string

const (
	CategoryPolicy    ControlCategory = "policy"
	CategoryTechnical ControlCategory = "technical"
	CategoryProcess   ControlCategory = "process"
	CategoryPhysical  ControlCategory = "physical"
	CategoryProcedure ControlCategory = "procedure"
)

// ReferenceControl is a template for applied controls; the policy templates
// are ReferenceControls with category policy.
type ReferenceControl struct {
	ID          string          `json:"id"` // POL.ACCESS
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Category    ControlCategory `json:"category"`
	SCFIDs      []string        `json:"scf_ids"`
}

// ReferenceControlSCFMapping links a reference control to an SCF control it governs.
type ReferenceControlSCFMapping struct {
	ReferenceControlID string `json:"reference_control_id"`
	SCFID              string `json:"scf_id"`
}

// CatalogVersion records which sources the stored catalog came from.
type CatalogVersion struct {
	ProwlerVersion string    `json:"prowler_version"`
	SCFVersion     string    `json:"scf_version,omitempty"`
	TemplatesHash  string    `json:"templates_hash,omitempty"`
	ImportedAt     time.Time `json:"imported_at"`
	// Counts are what the import loaded; Problems what it could not use
	// (skipped files, mapping files that joined nothing, checks the
	// frameworks name that Prowler does not ship). GET /catalog shows both.
	Counts   CatalogCounts `json:"counts"`
	Problems []string      `json:"problems,omitempty" dynamo:",omitempty"`
}

// CatalogCounts counts a loaded catalog.
type CatalogCounts struct {
	Checks           int `json:"checks"`
	DeprecatedChecks int `json:"deprecated_checks"`
	Frameworks       int `json:"frameworks"`
	Requirements     int `json:"requirements"`
	SCFControls      int `json:"scf_controls"`
	SCFMappings      int `json:"scf_mappings"`
	Links            int `json:"links"`
	Templates        int `json:"templates"`
}
