package export

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/compliance"
	"github.com/citadelsecure/citadel/shared/ddb"
)

// Store is what a dataset reads: the compliance view's mappings and
// controls, the scope's integrations and scans, their results (current, or
// a past scan's digest), assets, evidence with its chains, exceptions.
type Store interface {
	compliance.Store
	compliance.Catalog
	GetIntegration(ctx context.Context, id string) (citadel.Integration, error)
	ListIntegrations(ctx context.Context, folderID string, limit int, cursor string) (citadel.Page[citadel.Integration], error)
	ListMemberIntegrations(ctx context.Context, orgID string) ([]citadel.Integration, error)
	ListScans(ctx context.Context, integrationID string, limit int, cursor string) (citadel.Page[citadel.Scan], error)
	ListResults(ctx context.Context, integrationID string, limit int, cursor string) (citadel.Page[citadel.CheckResult], error)
	ResultsOfScan(ctx context.Context, scanID string, fn func(ddb.ScanResult) error) error
	ResultHistory(ctx context.Context, resultID string) ([]citadel.CheckResultHistory, error)
	ListAssets(ctx context.Context, integrationID string, limit int, cursor string) (citadel.Page[citadel.Asset], error)
	GetCheck(ctx context.Context, id string) (citadel.SecurityCheck, error)
	GetEvidenceBatch(ctx context.Context, ids []string) (map[string]citadel.Evidence, error)
	EvidenceChains(ctx context.Context, e citadel.Evidence) ([]citadel.EvidenceRevision, []citadel.EvidenceReview, error)
	GetException(ctx context.Context, id string) (citadel.Exception, error)
	ExceptionsOfCheck(ctx context.Context, integrationID, checkID string, status citadel.ExceptionStatus) ([]citadel.Exception, error)
}

// Request is what to collect: a framework, a scope and a date (zero: now).
type Request struct {
	Framework string    `json:"framework"`
	Scope     Scope     `json:"scope"`
	AsOf      time.Time `json:"as_of,omitzero"`
}

const pageSize = 1000

// Collect gathers the dataset of req at now. As of a past date, each
// integration's results are those of its latest successful scan finished
// by then (its digest; the results' history says since when), controls'
// posture and requirements' results are recounted from them, and evidence
// records keep only the revisions and reviews made by then.
func Collect(ctx context.Context, s Store, req Request, now time.Time) (Dataset, error) {
	ds := Dataset{Generated: now.UTC(), AsOf: now.UTC(), Scope: req.Scope}
	// The job's request minus its format: one set of rules, citadel's.
	if err := (citadel.ExportRequest{Framework: req.Framework, Scope: req.Scope, AsOf: req.AsOf, Format: citadel.ExportJSON}).Validate(now); err != nil {
		return ds, err
	}
	if !req.AsOf.IsZero() {
		ds.AsOf = req.AsOf.UTC()
	}
	integs, err := integrationsOf(ctx, s, req.Scope)
	if err != nil {
		return ds, err
	}
	fw, err := s.GetFramework(ctx, req.Framework)
	if err != nil {
		return ds, fmt.Errorf("export: framework %s: %w", req.Framework, err)
	}
	ds.Framework = Framework{ID: fw.ID, Name: fw.Name, Version: fw.Version}
	c := &collector{s: s, ds: &ds, asOf: ds.AsOf, past: !req.AsOf.IsZero(), checks: map[string]citadel.SecurityCheck{}}
	if err := c.views(ctx, integs); err != nil {
		return ds, err
	}
	for _, in := range integs {
		if err := c.findings(ctx, in); err != nil {
			return ds, err
		}
	}
	c.tally()
	if err := c.evidence(ctx); err != nil {
		return ds, err
	}
	if err := c.exceptions(ctx); err != nil {
		return ds, err
	}
	sortDataset(&ds)
	return ds, nil
}

// integrationsOf resolves a scope to its account integrations: the one, a
// folder's (an organization integration stands for its members), or an
// organization's own account and members.
func integrationsOf(ctx context.Context, s Store, sc Scope) ([]citadel.Integration, error) {
	switch sc.Kind {
	case ScopeIntegration:
		in, err := s.GetIntegration(ctx, sc.ID)
		if err != nil {
			return nil, fmt.Errorf("export: integration %s: %w", sc.ID, err)
		}
		if in.Kind == citadel.KindOrganization {
			return nil, citadel.Invalid("export: integration %s is an organization: export it with scope organization", sc.ID)
		}
		return []citadel.Integration{in}, nil
	case ScopeOrganization:
		org, err := s.GetIntegration(ctx, sc.ID)
		if err != nil {
			return nil, fmt.Errorf("export: organization %s: %w", sc.ID, err)
		}
		if org.Kind != citadel.KindOrganization {
			return nil, citadel.Invalid("export: integration %s is not an organization", sc.ID)
		}
		members, err := s.ListMemberIntegrations(ctx, org.ID)
		if err != nil {
			return nil, fmt.Errorf("export: members of %s: %w", org.ID, err)
		}
		return append([]citadel.Integration{org}, members...), nil
	default: // ScopeFolder
		var out []citadel.Integration
		for in, err := range citadel.Items(func(cursor string) (citadel.Page[citadel.Integration], error) {
			return s.ListIntegrations(ctx, sc.ID, pageSize, cursor)
		}) {
			if err != nil {
				return nil, fmt.Errorf("export: integrations of folder %s: %w", sc.ID, err)
			}
			out = append(out, in)
		}
		return out, nil
	}
}

// collector builds one dataset.
type collector struct {
	s    Store
	ds   *Dataset
	asOf time.Time
	past bool
	// checkControls: check id → ref ids of the controls following it, per
	// folder; controlReqs: control id → requirement ref ids.
	checkControls map[string]map[string][]string
	controls      map[string]*Control // by control id
	controlFolder map[string]string
	reqs          map[string]*Requirement // by requirement ref id
	reqControls   map[string][]string     // by requirement ref id → control ids
	checks        map[string]citadel.SecurityCheck
	// checkExceptions: integration + check → the exceptions that were ever
	// approved (as of a past date, read once per check).
	checkExceptions map[string][]citadel.Exception
}

// views reads the framework's compliance view of every folder in scope:
// its requirements, the controls mapped to them and the checks they follow.
func (c *collector) views(ctx context.Context, integs []citadel.Integration) error {
	c.checkControls = map[string]map[string][]string{}
	c.controls, c.controlFolder = map[string]*Control{}, map[string]string{}
	c.reqs, c.reqControls = map[string]*Requirement{}, map[string][]string{}
	folders := map[string]bool{}
	for _, in := range integs {
		folders[in.FolderID] = true
	}
	for _, folder := range slices.Sorted(maps.Keys(folders)) {
		v, err := compliance.Build(ctx, c.s, c.s, folder, c.ds.Framework.ID)
		if err != nil {
			return fmt.Errorf("export: compliance view of folder %s: %w", folder, err)
		}
		if c.checkControls[folder] == nil {
			c.checkControls[folder] = map[string][]string{}
		}
		var ids []string
		for _, r := range v.Requirements {
			if !r.Assessable {
				continue
			}
			key := r.RefID // one requirement, whichever folders map controls to it
			req := &Requirement{RefID: r.RefID, Name: r.Name, Result: r.Result}
			if prev, ok := c.reqs[key]; ok {
				req = prev
			}
			c.reqs[key] = req
			for _, mc := range r.Controls {
				if mc.Missing || mc.Category == citadel.CategoryPolicy {
					continue
				}
				req.Controls = appendOnce(req.Controls, mc.RefID)
				c.reqControls[key] = appendOnce(c.reqControls[key], mc.ControlID)
				ctl, ok := c.controls[mc.ControlID]
				if !ok {
					ctl = &Control{ID: mc.ControlID, RefID: mc.RefID, Name: mc.Name}
					c.controls[mc.ControlID], c.controlFolder[mc.ControlID] = ctl, folder
					ids = append(ids, mc.ControlID)
				}
				ctl.Requirements = appendOnce(ctl.Requirements, r.RefID)
				for _, lc := range mc.Checks {
					ctl.Checks = appendOnce(ctl.Checks, lc.CheckID)
					c.checkControls[folder][lc.CheckID] = appendOnce(c.checkControls[folder][lc.CheckID], mc.ControlID)
				}
			}
		}
		full, err := c.s.GetControls(ctx, ids)
		if err != nil {
			return fmt.Errorf("export: controls of folder %s: %w", folder, err)
		}
		for id, ac := range full {
			if ctl := c.controls[id]; ctl != nil {
				ctl.Description, ctl.SCFControlID = ac.Description, ac.SCFControlID
			}
		}
	}
	return nil
}

// findings reads an integration's results of the framework's checks as of
// the dataset's date.
func (c *collector) findings(ctx context.Context, in citadel.Integration) error {
	follows := c.checkControls[in.FolderID]
	scan, ok, err := c.scanOf(ctx, in)
	if err != nil || !ok {
		c.ds.Integrations = append(c.ds.Integrations, Integration{ID: in.ID, Name: in.Name, AccountID: in.AccountID, FolderID: in.FolderID})
		return err
	}
	c.ds.Integrations = append(c.ds.Integrations, Integration{ID: in.ID, Name: in.Name, AccountID: in.AccountID, FolderID: in.FolderID,
		ScanID: scan.ID, ScannedAt: scan.FinishedAt})
	assets := map[string]citadel.Asset{}
	for a, err := range citadel.Items(func(cursor string) (citadel.Page[citadel.Asset], error) {
		return c.s.ListAssets(ctx, in.ID, pageSize, cursor)
	}) {
		if err != nil {
			return fmt.Errorf("export: assets of %s: %w", in.ID, err)
		}
		assets[a.ID] = a
	}
	current := map[string]citadel.CheckResult{} // result id → result
	for r, err := range citadel.Items(func(cursor string) (citadel.Page[citadel.CheckResult], error) {
		return c.s.ListResults(ctx, in.ID, pageSize, cursor)
	}) {
		if err != nil {
			return fmt.Errorf("export: results of %s: %w", in.ID, err)
		}
		if _, ok := follows[r.CheckID]; ok {
			current[citadel.ResultID(in.ID, r.CheckID, r.AssetID)] = r
		}
	}
	add := func(r citadel.CheckResult, effective citadel.CheckStatus) error {
		chk, err := c.check(ctx, r.CheckID)
		if err != nil {
			return err
		}
		a := assets[r.AssetID]
		f := Finding{IntegrationID: in.ID, AccountID: in.AccountID, CheckID: r.CheckID, AssetID: r.AssetID, CheckTitle: chk.Title, Severity: cmp.Or(r.Severity, chk.Severity),
			AssetARN: cmp.Or(r.AssetARN, a.SourceID), AssetName: cmp.Or(a.Name, r.AssetARN), AssetType: a.ServiceType, Region: cmp.Or(r.Region, a.Region),
			Status: effective, ProwlerStatus: r.Status, Muted: r.Muted, ExceptionID: r.ExceptionID, Detail: r.StatusExtended,
			ScanID: r.ScanID, ScannedAt: r.ScannedAt.UTC()}
		for _, id := range follows[r.CheckID] {
			ctl := c.controls[id]
			f.Controls = appendOnce(f.Controls, ctl.RefID)
			for _, req := range ctl.Requirements {
				f.Requirements = appendOnce(f.Requirements, req)
			}
		}
		if effective == citadel.StatusFail {
			if f.FirstSeen, err = c.failingSince(ctx, in.ID, r); err != nil {
				return err
			}
		}
		c.ds.Findings = append(c.ds.Findings, f)
		return nil
	}
	if !c.past {
		for _, r := range current {
			if err := add(r, r.Effective()); err != nil {
				return err
			}
		}
		return nil
	}
	return c.s.ResultsOfScan(ctx, scan.ID, func(sr ddb.ScanResult) error {
		if _, ok := follows[sr.CheckID]; !ok {
			return nil
		}
		r := citadel.CheckResult{IntegrationID: in.ID, CheckID: sr.CheckID, AssetID: sr.AssetID, ScanID: scan.ID, Status: sr.Status, Muted: sr.Muted,
			ScannedAt: scan.FinishedAt}
		if cur, ok := current[sr.ResultID]; ok {
			r.AssetARN, r.Region, r.Severity = cur.AssetARN, cur.Region, cur.Severity
			if cur.Status == sr.Status {
				r.StatusExtended = cur.StatusExtended
			}
		}
		if sr.Excepted {
			id, err := c.exceptionAt(ctx, r, assets[r.AssetID].Tags, scan.FinishedAt)
			if err != nil {
				return err
			}
			r.ExceptionID = id
		}
		return add(r, sr.Effective())
	})
}

// scanOf is the scan an integration's results are taken from: its latest
// successful scan finished by the dataset's date (now: the latest).
func (c *collector) scanOf(ctx context.Context, in citadel.Integration) (citadel.Scan, bool, error) {
	for sc, err := range citadel.Items(func(cursor string) (citadel.Page[citadel.Scan], error) {
		return c.s.ListScans(ctx, in.ID, 50, cursor)
	}) {
		if err != nil {
			return sc, false, fmt.Errorf("export: scans of %s: %w", in.ID, err)
		}
		if sc.Status == citadel.ScanSucceeded && !sc.FinishedAt.After(c.asOf) {
			return sc, true, nil
		}
	}
	return citadel.Scan{}, false, nil
}

// failingSince is when a failing result last started to fail (its history's
// latest change to fail at or before the dataset's date).
func (c *collector) failingSince(ctx context.Context, integrationID string, r citadel.CheckResult) (time.Time, error) {
	hist, err := c.s.ResultHistory(ctx, citadel.ResultID(integrationID, r.CheckID, r.AssetID))
	if err != nil {
		return time.Time{}, fmt.Errorf("export: history of %s on %s: %w", r.CheckID, r.AssetID, err)
	}
	var since time.Time
	for _, h := range hist {
		if h.ChangedAt.After(c.asOf) {
			break
		}
		if h.NewStatus == citadel.StatusFail && h.PreviousStatus != citadel.StatusFail {
			since = h.ChangedAt.UTC()
		}
	}
	return since, nil
}

func (c *collector) check(ctx context.Context, id string) (citadel.SecurityCheck, error) {
	if chk, ok := c.checks[id]; ok {
		return chk, nil
	}
	chk, err := c.s.GetCheck(ctx, id)
	if citadel.IsNotFound(err) {
		chk, err = citadel.SecurityCheck{ID: id, Title: id}, nil
	}
	if err != nil {
		return chk, fmt.Errorf("export: check %s: %w", id, err)
	}
	c.checks[id] = chk
	return chk, nil
}

// tally counts the findings into their controls and requirements.
func (c *collector) tally() {
	type counts struct{ passed, failed, errored, excepted int }
	byControl := map[string]*counts{}
	folderOf := map[string]string{}
	for _, in := range c.ds.Integrations {
		folderOf[in.ID] = in.FolderID
	}
	byReq := map[string]*counts{}
	count := func(m map[string]*counts, key string, st citadel.CheckStatus) {
		n := m[key]
		if n == nil {
			n = &counts{}
			m[key] = n
		}
		switch st {
		case citadel.StatusPass:
			n.passed++
		case citadel.StatusFail:
			n.failed++
		case citadel.StatusError:
			n.errored++
		case citadel.StatusExcepted:
			n.excepted++
		}
	}
	for _, f := range c.ds.Findings {
		for _, id := range c.checkControls[folderOf[f.IntegrationID]][f.CheckID] {
			count(byControl, id, f.Status)
		}
		for _, ref := range f.Requirements { // each finding once per requirement, however many controls it reaches it by
			count(byReq, ref, f.Status)
		}
	}
	for id, ctl := range c.controls {
		if n := byControl[id]; n != nil {
			ctl.Passed, ctl.Failed, ctl.Errored, ctl.Excepted = n.passed, n.failed, n.errored, n.excepted
		}
		ctl.Posture = citadel.ComputePosture(ctl.Passed, ctl.Failed, ctl.Errored, ctl.Excepted)
		c.ds.Controls = append(c.ds.Controls, *ctl)
	}
	for key, req := range c.reqs {
		ids := c.reqControls[key]
		req.Covered, req.AllPassing = len(ids) > 0, len(ids) > 0
		var postures []citadel.Posture
		for _, id := range ids {
			postures = append(postures, c.controls[id].Posture)
			req.AllPassing = req.AllPassing && c.controls[id].Posture == citadel.PosturePassing
		}
		n := cmp.Or(byReq[req.RefID], &counts{})
		req.Passed, req.Failed, req.Excepted = n.passed, n.failed, n.excepted
		if req.Result == "" || req.Result == citadel.ResultNotAssessed {
			req.Result = DerivedResult(postures)
		}
		c.ds.Requirements = append(c.ds.Requirements, *req)
	}
}

// DerivedResult is a requirement's result when no one assessed it, from
// its controls' postures: not assessed without a control or when none was
// scanned; compliant when every scanned one passes (as the compliance
// view's "all passing"); non-compliant when every scanned one has issues;
// otherwise partially compliant.
func DerivedResult(postures []citadel.Posture) citadel.AssessmentResult {
	scanned, passing, issues := 0, 0, 0
	for _, p := range postures {
		switch p {
		case citadel.PosturePassing:
			scanned, passing = scanned+1, passing+1
		case citadel.PostureIssues:
			scanned, issues = scanned+1, issues+1
		case citadel.PosturePartial:
			scanned++
		}
	}
	switch {
	case scanned == 0:
		return citadel.ResultNotAssessed
	case passing == scanned && scanned == len(postures):
		return citadel.ResultCompliant
	case issues == scanned:
		return citadel.ResultNonCompliant
	default:
		return citadel.ResultPartiallyCompliant
	}
}

func appendOnce(s []string, v string) []string {
	if v == "" || slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}
