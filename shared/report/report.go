// Package report builds Citadel's scan report: coverage per framework,
// failing controls with their failing assets, the policies still to write
// and the evidence awaiting review, for one integration's scan. Collect
// reads it from the store; HTML renders it as one self-contained page (no
// scripts, fonts or images from elsewhere); CoverageTable renders the
// coverage for a terminal.
package report

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/compliance"
)

// DefaultFrameworks are the frameworks the report covers: SOC 2, ISO/IEC
// 27001:2022 and CIS Controls 8.1 (framework ids of docs/catalog.md).
var DefaultFrameworks = []string{"soc2", "iso27001_2022", "cis_controls_8.1"}

// Store is what the report reads.
type Store interface {
	compliance.Store
	compliance.Catalog
	GetScanOf(ctx context.Context, integrationID, scanID string) (citadel.Scan, error)
	AllControls(ctx context.Context, folderID string) ([]citadel.AppliedControl, error)
	LinksOfControl(ctx context.Context, controlID string, kind citadel.LinkKind) ([]citadel.ControlLink, error)
	ListResults(ctx context.Context, integrationID string, limit int, cursor string) (citadel.Page[citadel.CheckResult], error)
	ListAssets(ctx context.Context, integrationID string, limit int, cursor string) (citadel.Page[citadel.Asset], error)
	ListEvidence(ctx context.Context, folderID string, status citadel.EvidenceStatus, limit int, cursor string) (citadel.Page[citadel.Evidence], error)
}

// Framework is one framework's coverage.
type Framework struct {
	ID       string              `json:"id"`
	Name     string              `json:"name"`
	Coverage compliance.Coverage `json:"coverage"`
}

// FailingAsset is an asset a control's check fails on.
type FailingAsset struct {
	ARN      string `json:"arn"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	Region   string `json:"region"`
	Check    string `json:"check"`
	Detail   string `json:"detail"`
	Severity string `json:"severity"`
	// Why says why the control follows this check (the scan's link why).
	Why string `json:"why,omitempty"`
}

// FailingControl is a control with failing results of this integration.
type FailingControl struct {
	ID      string          `json:"id"`
	RefID   string          `json:"ref_id"`
	Name    string          `json:"name"`
	Posture citadel.Posture `json:"posture"`
	Passed  int             `json:"passed"`
	Failed  int             `json:"failed"`
	Assets  []FailingAsset  `json:"assets"`
}

// Policy is a policy still to write.
type Policy struct {
	ID     string                `json:"id"`
	RefID  string                `json:"ref_id"`
	Name   string                `json:"name"`
	SCF    string                `json:"scf_control"`
	Status citadel.ControlStatus `json:"status"`
}

// Evidence is an evidence record awaiting review.
type Evidence struct {
	ID     string              `json:"id"`
	Name   string              `json:"name"`
	Asset  string              `json:"asset"`
	Check  string              `json:"check"`
	Result citadel.CheckStatus `json:"result"`
}

// Data is the whole report.
type Data struct {
	Generated       time.Time           `json:"generated"`
	Integration     citadel.Integration `json:"integration"`
	Scan            citadel.Scan        `json:"scan"`
	Frameworks      []Framework         `json:"frameworks"`
	FailingControls []FailingControl    `json:"failing_controls"`
	Policies        []Policy            `json:"policies"`
	Evidence        []Evidence          `json:"evidence"`
	// EvidenceTotal counts the evidence awaiting review; Evidence lists at
	// most MaxEvidence of them.
	EvidenceTotal int `json:"evidence_total"`
}

// MaxEvidence bounds the evidence rows in the page.
const MaxEvidence = 200

// Collect reads the report of scan scanID of integ. Frameworks missing from
// the catalog are left out.
func Collect(ctx context.Context, s Store, integ citadel.Integration, scanID string, frameworks []string, now time.Time) (Data, error) {
	d := Data{Generated: now, Integration: integ}
	sc, err := s.GetScanOf(ctx, integ.ID, scanID)
	if err != nil {
		return d, fmt.Errorf("report: scan %s: %w", scanID, err)
	}
	d.Scan = sc
	for _, fw := range frameworks {
		v, err := compliance.Build(ctx, s, s, integ.FolderID, fw)
		if citadel.IsNotFound(err) {
			continue
		}
		if err != nil {
			return d, fmt.Errorf("report: coverage of %s: %w", fw, err)
		}
		d.Frameworks = append(d.Frameworks, Framework{ID: fw, Name: v.Framework, Coverage: v.Coverage})
	}

	assets := map[string]citadel.Asset{}
	for a, err := range citadel.Items(func(cursor string) (citadel.Page[citadel.Asset], error) {
		return s.ListAssets(ctx, integ.ID, 1000, cursor)
	}) {
		if err != nil {
			return d, fmt.Errorf("report: assets: %w", err)
		}
		assets[a.ID] = a
	}
	failing := map[string][]FailingAsset{} // check id -> failing assets
	for r, err := range citadel.Items(func(cursor string) (citadel.Page[citadel.CheckResult], error) {
		return s.ListResults(ctx, integ.ID, 1000, cursor)
	}) {
		if err != nil {
			return d, fmt.Errorf("report: results: %w", err)
		}
		if r.Effective() != citadel.StatusFail { // an excepted failure is no failing asset, as controls count it
			continue
		}
		a := assets[r.AssetID]
		name := a.Name
		if name == "" {
			name = r.AssetARN
		}
		failing[r.CheckID] = append(failing[r.CheckID], FailingAsset{ARN: r.AssetARN, Name: name, Type: a.ServiceType,
			Region: r.Region, Check: r.CheckID, Detail: r.StatusExtended, Severity: string(r.Severity)})
	}

	controls, err := s.AllControls(ctx, integ.FolderID)
	if err != nil {
		return d, fmt.Errorf("report: controls: %w", err)
	}
	for _, c := range controls {
		if c.IsPolicy() {
			if c.Status != citadel.ControlActive && c.Status != citadel.ControlDeprecated {
				d.Policies = append(d.Policies, Policy{ID: c.ID, RefID: c.RefID, Name: c.Name, SCF: c.SCFControlID, Status: c.Status})
			}
			continue
		}
		ip, ok := c.Integrations[integ.ID]
		if !ok || ip.Failed == 0 {
			continue
		}
		fc := FailingControl{ID: c.ID, RefID: c.RefID, Name: c.Name, Posture: c.Posture, Passed: ip.Passed, Failed: ip.Failed}
		links, err := s.LinksOfControl(ctx, c.ID, citadel.LinkCheck)
		if err != nil {
			return d, fmt.Errorf("report: check links of control %s: %w", c.ID, err)
		}
		why := map[string]string{}
		for _, l := range links {
			if l.Why != nil {
				why[l.TargetID] = l.Why.Summary
			}
		}
		for _, check := range c.SecurityCheckIDs {
			for _, a := range failing[check] {
				a.Why = why[check]
				fc.Assets = append(fc.Assets, a)
			}
		}
		slices.SortFunc(fc.Assets, func(a, b FailingAsset) int {
			return strings.Compare(a.Check+" "+a.ARN, b.Check+" "+b.ARN)
		})
		d.FailingControls = append(d.FailingControls, fc)
	}
	slices.SortFunc(d.FailingControls, func(a, b FailingControl) int {
		if a.Failed != b.Failed {
			return b.Failed - a.Failed
		}
		return strings.Compare(a.RefID, b.RefID)
	})
	slices.SortFunc(d.Policies, func(a, b Policy) int { return strings.Compare(a.RefID, b.RefID) })

	for e, err := range citadel.Items(func(cursor string) (citadel.Page[citadel.Evidence], error) {
		return s.ListEvidence(ctx, integ.FolderID, citadel.EvidenceInReview, 1000, cursor)
	}) {
		if err != nil {
			return d, fmt.Errorf("report: evidence: %w", err)
		}
		if e.SourceIntegration != integ.ID {
			continue
		}
		d.EvidenceTotal++
		if len(d.Evidence) < MaxEvidence {
			d.Evidence = append(d.Evidence, Evidence{ID: e.ID, Name: e.Name, Asset: e.AssetName, Check: e.CheckID, Result: e.ResultStatus})
		}
	}
	slices.SortFunc(d.Evidence, func(a, b Evidence) int {
		if a.Result != b.Result {
			return strings.Compare(string(b.Result), string(a.Result)) // fail before pass
		}
		return strings.Compare(a.Check+a.Asset, b.Check+b.Asset)
	})
	return d, nil
}
