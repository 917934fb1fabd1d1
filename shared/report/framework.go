package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/export"
)

// FrameworkPage is the framework report of a dataset (export.Collect): one
// framework over an integration, a folder or an organization, as of now or
// a past date. FrameworkHTML renders it.
type FrameworkPage struct {
	export.Dataset
	Passed, Failed, Excepted, Errored int
	Covered, AllPassing, Assessable   int
	ByResult                          map[citadel.AssessmentResult]int
	// FailingControls are the controls with open failures, most first,
	// each with its failing findings.
	FailingControls []PageControl
	// Accepted are the excepted findings with the exception that covers
	// each; Exceptions indexes the dataset's exceptions by id.
	Accepted   []export.Finding
	Exceptions map[string]citadel.Exception
	// EvidenceByStatus counts the evidence records; InReview lists the
	// first MaxEvidence awaiting review.
	EvidenceByStatus map[string]int
	InReview         []export.EvidenceRecord
}

// PageControl is a failing control and its failing findings.
type PageControl struct {
	export.Control
	Findings []export.Finding
}

// NewFrameworkPage builds the page of a dataset.
func NewFrameworkPage(ds export.Dataset) FrameworkPage {
	p := FrameworkPage{Dataset: ds, ByResult: map[citadel.AssessmentResult]int{}, Exceptions: map[string]citadel.Exception{},
		EvidenceByStatus: map[string]int{}}
	failing := map[string][]export.Finding{} // control ref id → failing findings
	for _, f := range ds.Findings {
		switch f.Status {
		case citadel.StatusPass:
			p.Passed++
		case citadel.StatusFail:
			p.Failed++
			for _, ref := range f.Controls {
				failing[ref] = append(failing[ref], f)
			}
		case citadel.StatusExcepted:
			p.Excepted++
			p.Accepted = append(p.Accepted, f)
		case citadel.StatusError:
			p.Errored++
		}
	}
	for _, r := range ds.Requirements {
		p.Assessable++
		p.ByResult[r.Result]++
		if r.Covered {
			p.Covered++
		}
		if r.AllPassing {
			p.AllPassing++
		}
	}
	for _, c := range ds.Controls {
		if fs := failing[c.RefID]; len(fs) > 0 {
			p.FailingControls = append(p.FailingControls, PageControl{Control: c, Findings: fs})
		}
	}
	slices.SortStableFunc(p.FailingControls, func(a, b PageControl) int {
		return cmp.Or(len(b.Findings)-len(a.Findings), strings.Compare(a.RefID, b.RefID))
	})
	for _, e := range ds.Exceptions {
		p.Exceptions[e.ID] = e
	}
	for _, rec := range ds.Evidence {
		p.EvidenceByStatus[string(rec.Evidence.Status)]++
		if rec.Evidence.Status == citadel.EvidenceInReview && len(p.InReview) < MaxEvidence {
			p.InReview = append(p.InReview, rec)
		}
	}
	return p
}

// FrameworkHTML writes the framework report of a dataset as one
// self-contained HTML page.
func FrameworkHTML(w io.Writer, ds export.Dataset) error {
	if err := page.ExecuteTemplate(w, "framework.html.tmpl", NewFrameworkPage(ds)); err != nil {
		return fmt.Errorf("report: render the %s report: %w", ds.Framework.ID, err)
	}
	return nil
}
