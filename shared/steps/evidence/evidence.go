// Package evidence is the scan's evidence step: one continuous Evidence
// record per check result (integration, check, asset), named
// "{asset_name}: {check_title}", awaiting an auditor's review. The asset's
// name, type and ARN are copied onto the record so it survives the asset.
//
// Each record has a chain of revisions (SHA-256 of the content and of the
// previous revision): one when it is created and one whenever its result's
// content or exception mark changes (shared/evidencechain: the rule the
// exception sweep applies too), the revision recording the decision of the
// exception that applies or has just stopped applying; a new revision puts
// an approved or rejected record back in review. Record and revision are written together in one transaction.
// On a re-check (the plan's Recheck) only the results of the re-checked
// resources are considered: every other record is left as it is.
// Records are linked to the folder's controls that share their check,
// queryable both ways (ControlLink items of kind evidence).
package evidence

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/evidencechain"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// Store is what the step reads and writes of the table.
type Store interface {
	AllControls(ctx context.Context, folderID string) ([]citadel.AppliedControl, error)
	GetEvidenceBatch(ctx context.Context, ids []string) (map[string]citadel.Evidence, error)
	GetEvidence(ctx context.Context, id string) (citadel.Evidence, error)
	GetException(ctx context.Context, id string) (citadel.Exception, error)
	WriteEvidence(ctx context.Context, ws []ddb.EvidenceWrite) ([]string, error)
	PutControlLinks(ctx context.Context, links []citadel.ControlLink) error
	DeleteControlLinks(ctx context.Context, links []citadel.ControlLink) error
	Usage() citadel.Usage
}

// Catalog gives the checks' titles.
type Catalog interface {
	ListChecks(ctx context.Context) ([]citadel.SecurityCheck, error)
}

// Results lists an integration's current check results without their bulk,
// a page at a time, and reads one whole (raw output included) when its
// evidence needs a new revision: reads of raw outputs grow with drift.
type Results interface {
	ListResultHeads(ctx context.Context, integrationID string, limit int, cursor string) (citadel.Page[citadel.CheckResult], error)
	GetResult(ctx context.Context, integrationID, checkID, assetID string) (citadel.CheckResult, error)
}

// Assets lists an integration's assets, a page at a time.
type Assets interface {
	ListAssets(ctx context.Context, integrationID string, limit int, cursor string) (citadel.Page[citadel.Asset], error)
}

// Handler is the evidence step.
type Handler struct {
	// Env is the clock and logger, defaulted once by the step contract.
	stepfn.Env
	Store   Store
	Catalog Catalog
	Results Results
	Assets  Assets
	// S3 reads a re-check's resources file (blobstore.ReadRecheckFile)
	// from the plan's bucket; only a re-check needs it.
	S3 blobstore.ObjectGetter
	// PageSize is how many results are read, compared and written at a
	// time (default 1000).
	PageSize int
}

const maxAttempts = 5

// run is the state of one invocation.
type run struct {
	h        *Handler
	plan     citadel.PlanOutput
	now      time.Time
	controls map[string][]string // check id → control ids
	titles   map[string]string   // check id → title
	assets   map[string]citadel.Asset
	out      citadel.EvidenceOutput
	pending  []change
	dec      *evidencechain.Decisions
	// recheck, on a re-check, is its resources: only their results count.
	recheck *citadel.RecheckFile
}

// change is one record to write, with the result it comes from (to redo it
// after a conflict).
type change struct {
	result citadel.CheckResult
	write  ddb.EvidenceWrite
	links  []citadel.ControlLink
	// unlinks are the record's links to controls that no longer follow
	// its check (a link correction or a re-import moved the check).
	unlinks []citadel.ControlLink
}

// Handle creates and updates the evidence of the integration's results.
func (h *Handler) Handle(ctx context.Context, in citadel.EvidenceInput) (citadel.EvidenceOutput, error) {
	p := in.Plan
	if p.FolderID == "" || p.IntegrationID == "" || p.ScanID == "" {
		return citadel.EvidenceOutput{}, citadel.Invalid("evidence: the plan needs folder_id, integration_id and scan_id (got %q, %q, %q)", p.FolderID, p.IntegrationID, p.ScanID)
	}
	start := h.Store.Usage()
	r := &run{h: h, plan: p, now: h.Now(), controls: map[string][]string{}, titles: map[string]string{}}
	r.dec = evidencechain.NewDecisions(h.Store, r.now)
	if p.Recheck != nil {
		if h.S3 == nil {
			return r.out, citadel.Invalid("evidence: a re-check (scan %s) needs the S3 client to read its resources", p.ScanID)
		}
		f, err := blobstore.ReadRecheckFile(ctx, h.S3, p.Bucket, p.Recheck)
		if err != nil {
			return r.out, fmt.Errorf("evidence: %w", err)
		}
		r.recheck = &f
	}
	if err := r.load(ctx); err != nil {
		return r.out, fmt.Errorf("evidence: %w", err)
	}
	for items, err := range citadel.Pages(func(cursor string) (citadel.Page[citadel.CheckResult], error) {
		return h.Results.ListResultHeads(ctx, p.IntegrationID, h.pageSize(), cursor)
	}) {
		if err != nil {
			return r.out, fmt.Errorf("evidence: results of integration %s: %w", p.IntegrationID, err)
		}
		if err := r.page(ctx, items); err != nil {
			return r.out, fmt.Errorf("evidence: %w", err)
		}
	}
	r.out.Usage = h.Store.Usage().Sub(start)
	h.Logger().InfoContext(ctx, "evidence step done", "scan_id", p.ScanID, "integration_id", p.IntegrationID,
		"evidence_created", r.out.EvidenceCreated, "evidence_updated", r.out.EvidenceUpdated,
		"links_created", r.out.LinksCreated, "results_unknown_checks", r.out.ResultsUnknownChecks)
	return r.out, nil
}

func (r *run) load(ctx context.Context) error {
	checks, err := r.h.Catalog.ListChecks(ctx)
	if err != nil {
		return fmt.Errorf("list checks: %w", err)
	}
	for _, c := range checks {
		r.titles[c.ID] = c.Title
		if r.titles[c.ID] == "" {
			r.titles[c.ID] = c.ID
		}
	}
	ctls, err := r.h.Store.AllControls(ctx, r.plan.FolderID)
	if err != nil {
		return err
	}
	for _, c := range ctls {
		for _, check := range c.SecurityCheckIDs {
			r.controls[check] = append(r.controls[check], c.ID)
		}
	}
	for _, ids := range r.controls {
		slices.Sort(ids)
	}
	return nil
}

// loadAssets reads the integration's assets, once, when a first new record needs them.
func (r *run) loadAssets(ctx context.Context) error {
	if r.assets != nil {
		return nil
	}
	r.assets = map[string]citadel.Asset{}
	for a, err := range citadel.Items(func(cursor string) (citadel.Page[citadel.Asset], error) {
		return r.h.Assets.ListAssets(ctx, r.plan.IntegrationID, 1000, cursor)
	}) {
		if err != nil {
			return fmt.Errorf("assets of integration %s: %w", r.plan.IntegrationID, err)
		}
		id := a.ID
		if id == "" {
			id = citadel.AssetID(a.IntegrationID, a.Source, a.SourceID)
		}
		r.assets[id] = a
	}
	return nil
}

// whole reads a listed result with its raw output and snapshot.
func (r *run) whole(ctx context.Context, res citadel.CheckResult) (citadel.CheckResult, error) {
	full, err := r.h.Results.GetResult(ctx, res.IntegrationID, res.CheckID, res.AssetID)
	if err != nil {
		return res, fmt.Errorf("result of %s on %s: %w", res.CheckID, res.AssetARN, err)
	}
	return full, nil
}

// page brings the records of one page of results up to date: one
// consistent batch read of their records, then the writes.
func (r *run) page(ctx context.Context, results []citadel.CheckResult) error {
	var known []citadel.CheckResult
	ids := make([]string, 0, len(results))
	for _, res := range results {
		if r.recheck != nil && !r.recheck.Covers(res.AssetARN) {
			continue
		}
		if _, ok := r.titles[res.CheckID]; !ok {
			r.out.ResultsUnknownChecks++
			continue
		}
		known = append(known, res)
		ids = append(ids, citadel.EvidenceID(r.plan.IntegrationID, res.CheckID, res.AssetID))
	}
	existing, err := r.h.Store.GetEvidenceBatch(ctx, ids)
	if err != nil {
		return err
	}
	for i, res := range known {
		var prev *citadel.Evidence
		if e, ok := existing[ids[i]]; ok {
			prev = &e
		}
		c, ok, err := r.plan1(ctx, res, prev)
		if err != nil {
			return err
		}
		if ok {
			r.pending = append(r.pending, c)
		}
	}
	return r.flush(ctx)
}

// plan1 works out what one result changes of its record (prev nil: none
// yet); ok is false when nothing changes.
func (r *run) plan1(ctx context.Context, res citadel.CheckResult, prev *citadel.Evidence) (change, bool, error) {
	id := citadel.EvidenceID(r.plan.IntegrationID, res.CheckID, res.AssetID)
	if res.ContentHash == "" && res.RawOutput == nil {
		full, err := r.whole(ctx, res)
		if err != nil {
			return change{}, false, err
		}
		res = full
	}
	hash := evidencechain.ResultHash(res)
	want := r.controls[res.CheckID]
	c := change{result: res}
	var e citadel.Evidence
	if prev == nil {
		if err := r.loadAssets(ctx); err != nil {
			return c, false, err
		}
		a, ok := r.assets[res.AssetID]
		if !ok { // the asset is gone already: keep what the result says
			a = citadel.Asset{Name: nameFromARN(res.AssetARN), SourceID: res.AssetARN}
		}
		if a.Name == "" {
			a.Name = nameFromARN(a.SourceID)
		}
		e = citadel.Evidence{
			ID: id, FolderID: r.plan.FolderID, SourceIntegration: r.plan.IntegrationID, CheckID: res.CheckID, AssetID: res.AssetID,
			Name: citadel.EvidenceName(a.Name, r.titles[res.CheckID]), Origin: citadel.OriginScan, Status: citadel.EvidenceInReview,
			IsContinuous: true, AssetName: a.Name, AssetType: a.ServiceType, AssetSourceID: a.SourceID, CreatedAt: r.now,
		}
		c.write.Create = true
	} else {
		e = *prev
		c.write.PrevRevisionCount, c.write.PrevStatus = prev.RevisionCount, prev.Status
	}
	changed := evidencechain.Needed(prev, res, hash)
	var newControls, goneControls []string
	for _, ctl := range want {
		if !slices.Contains(e.ControlIDs, ctl) {
			newControls = append(newControls, ctl)
		}
	}
	// Only the scan links evidence to controls, so a control that no longer
	// lists the check is one the record no longer supports.
	for _, ctl := range e.ControlIDs {
		if !slices.Contains(want, ctl) {
			goneControls = append(goneControls, ctl)
		}
	}
	if !changed && len(newControls) == 0 && len(goneControls) == 0 {
		return c, false, nil
	}
	if changed {
		if res.RawOutput == nil {
			full, err := r.whole(ctx, res)
			if err != nil {
				return c, false, err
			}
			res.RawOutput = full.RawOutput
		}
		x, err := r.dec.For(ctx, prev, res)
		if err != nil {
			return c, false, err
		}
		var rev citadel.EvidenceRevision
		e, rev = evidencechain.Revise(e, res, hash, x, r.plan.ScanID, r.now)
		c.write.Revision = &rev
	}
	if len(newControls) > 0 || len(goneControls) > 0 {
		e.ControlIDs = slices.Clone(want)
		for _, ctl := range newControls {
			c.links = append(c.links, citadel.ControlLink{ControlID: ctl, Kind: citadel.LinkEvidence, TargetID: id, Origin: citadel.OriginScan})
		}
		for _, ctl := range goneControls {
			c.unlinks = append(c.unlinks, citadel.ControlLink{ControlID: ctl, Kind: citadel.LinkEvidence, TargetID: id, Origin: citadel.OriginScan})
		}
	}
	e.UpdatedAt = r.now
	c.write.Evidence = e
	return c, true, nil
}

// flush writes the pending records: links first (adding a link twice is
// harmless), then records and revisions; conflicting records are re-read
// and redone.
func (r *run) flush(ctx context.Context) error {
	todo := r.pending
	r.pending = nil
	for attempt := 1; len(todo) > 0; attempt++ {
		var links, unlinks []citadel.ControlLink
		writes := make([]ddb.EvidenceWrite, len(todo))
		byID := make(map[string]change, len(todo))
		for i, c := range todo {
			links = append(links, c.links...)
			unlinks = append(unlinks, c.unlinks...)
			writes[i] = c.write
			byID[c.write.Evidence.ID] = c
		}
		if err := r.h.Store.PutControlLinks(ctx, links); err != nil {
			return fmt.Errorf("links to evidence: %w", err)
		}
		if len(unlinks) > 0 {
			if err := r.h.Store.DeleteControlLinks(ctx, unlinks); err != nil {
				return fmt.Errorf("links to evidence that no longer follow their check: %w", err)
			}
		}
		conflicts, err := r.h.Store.WriteEvidence(ctx, writes)
		if err != nil {
			return err
		}
		failed := map[string]bool{}
		for _, id := range conflicts {
			failed[id] = true
		}
		for _, c := range todo {
			if failed[c.write.Evidence.ID] {
				continue
			}
			switch {
			case c.write.Create:
				r.out.EvidenceCreated++
			case c.write.Revision != nil:
				r.out.EvidenceUpdated++
			}
			r.out.LinksCreated += len(c.links)
		}
		if len(conflicts) > 0 && attempt == maxAttempts {
			return citadel.Conflict("evidence %s keeps changing concurrently", strings.Join(conflicts, ", "))
		}
		todo = nil
		for _, id := range conflicts {
			fresh, err := r.h.Store.GetEvidence(ctx, id)
			var prev *citadel.Evidence
			switch {
			case citadel.IsNotFound(err):
			case err != nil:
				return err
			default:
				prev = &fresh
			}
			c, ok, err := r.plan1(ctx, byID[id].result, prev)
			if err != nil {
				return err
			}
			if ok {
				todo = append(todo, c)
			}
		}
	}
	return nil
}

// nameFromARN is the resource part of an ARN: the text after its last '/'
// or, failing that, its last ':'.
func nameFromARN(arn string) string {
	if i := strings.LastIndexAny(arn, "/:"); i >= 0 && i < len(arn)-1 {
		return arn[i+1:]
	}
	if arn == "" {
		return "unknown asset"
	}
	return arn
}

func (h *Handler) pageSize() int {
	if h.PageSize > 0 {
		return h.PageSize
	}
	return 1000
}
