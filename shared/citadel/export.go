package citadel

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// ExportScopeKind is what an export covers.
type ExportScopeKind string

const (
	ExportScopeIntegration  ExportScopeKind = "integration"
	ExportScopeFolder       ExportScopeKind = "folder"
	ExportScopeOrganization ExportScopeKind = "organization"
)

// ExportScope names what an export covers: an integration, every
// integration of a folder, or an organization's members.
type ExportScope struct {
	Kind ExportScopeKind `json:"kind"`
	ID   string          `json:"id"`
}

// ExportFormat is what an export writes (docs/exports.md).
type ExportFormat string

const (
	ExportCSV     ExportFormat = "csv"     // a zip of the dataset's CSV tables
	ExportJSON    ExportFormat = "json"    // the dataset as one JSON document
	ExportHTML    ExportFormat = "html"    // the framework report
	ExportOSCAL   ExportFormat = "oscal"   // OSCAL assessment results
	ExportPOAM    ExportFormat = "poam"    // OSCAL plan of action and milestones
	ExportPackage ExportFormat = "package" // the auditor's package (verifiable offline)
)

// ExportFormats lists the formats.
var ExportFormats = []ExportFormat{ExportCSV, ExportJSON, ExportHTML, ExportOSCAL, ExportPOAM, ExportPackage}

// ExportStatus is where an export job is.
type ExportStatus string

const (
	ExportQueued    ExportStatus = "queued"
	ExportRunning   ExportStatus = "running"
	ExportSucceeded ExportStatus = "succeeded"
	ExportFailed    ExportStatus = "failed"
)

// ExportRetention is how long an export's record and file are kept.
const ExportRetention = 7 * 24 * time.Hour

// ExportTimeout bounds an export job (its state machine's timeout); a job
// still running past it has failed.
const ExportTimeout = 15 * time.Minute

// ExportRequest is what a caller asks for (POST /exports).
type ExportRequest struct {
	Framework string       `json:"framework"`
	Scope     ExportScope  `json:"scope"`
	AsOf      time.Time    `json:"as_of,omitzero"`
	Format    ExportFormat `json:"format"`
}

// Validate checks a request at now: a framework, a known scope kind and
// id, a known format, and no date in the future.
func (r ExportRequest) Validate(now time.Time) error {
	var errs fieldErrors
	errs.add(r.Framework == "", "framework is required")
	errs.add(r.Framework != "" && !ValidID(r.Framework), fmt.Sprintf("framework %q is not an id (%s)", r.Framework, PatternID))
	switch r.Scope.Kind {
	case ExportScopeIntegration, ExportScopeFolder, ExportScopeOrganization:
	default:
		errs.add(true, fmt.Sprintf("scope kind %q must be integration, folder or organization", r.Scope.Kind))
	}
	errs.add(r.Scope.ID == "", "scope id is required")
	errs.add(r.Scope.ID != "" && !ValidID(r.Scope.ID), fmt.Sprintf("scope id %q is not an id (%s)", r.Scope.ID, PatternID))
	errs.add(!slices.Contains(ExportFormats, r.Format), fmt.Sprintf("format %q must be one of %s", r.Format, joinFormats()))
	errs.add(r.AsOf.After(now), fmt.Sprintf("as_of %s is in the future", r.AsOf.UTC().Format(time.RFC3339)))
	return errs.err("export")
}

func joinFormats() string {
	var s []string
	for _, f := range ExportFormats {
		s = append(s, string(f))
	}
	return strings.Join(s, ", ")
}

// Export is an export job and, once it succeeded, its file in the bucket.
type Export struct {
	ID          string        `json:"id"`
	Request     ExportRequest `json:"request"`
	Status      ExportStatus  `json:"status"`
	RequestedBy string        `json:"requested_by"`
	CreatedAt   time.Time     `json:"created_at"`
	StartedAt   time.Time     `json:"started_at,omitzero"`
	FinishedAt  time.Time     `json:"finished_at,omitzero"`
	// ExecutionARN is the export state machine's execution.
	ExecutionARN string `json:"execution_arn,omitempty"`
	// The file: its key in the bucket, name, type, size and SHA-256.
	Key         string `json:"-"`
	FileName    string `json:"file_name,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
	// Counts of what the export holds.
	Findings int `json:"findings,omitempty"`
	Evidence int `json:"evidence,omitempty"`
	// FailureCause says why a failed export failed.
	FailureCause string    `json:"failure_cause,omitempty"`
	Expires      time.Time `json:"expires_at" dynamo:"Expires"`
}

// ExportInput is the export state machine's input, and its job's.
type ExportInput struct {
	ExportID string `json:"export_id"`
	// Error, on the catch path, is the job's last error (Step Functions'
	// Error and Cause): the job records the export failed with it.
	Error *StepError `json:"error,omitempty"`
}

// ExportKey is the bucket key of an export's file.
func ExportKey(id, fileName string) string { return ExportPrefix + id + "/" + fileName }

// ExportPrefix is the bucket prefix of every export's file.
const ExportPrefix = "exports/"

// Expired says whether a running or queued export has outlived its
// timeout at now (its execution was stopped or timed out unseen).
func (e Export) Expired(now time.Time) bool {
	return (e.Status == ExportQueued || e.Status == ExportRunning) && now.Sub(e.CreatedAt) > ExportTimeout+time.Minute
}
