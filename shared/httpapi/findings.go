package httpapi

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/compliance"
	"github.com/citadelsecure/citadel/shared/ddb"
)

// Findings you can browse (issue 16): an integration's current results
// filtered, one asset with its results and edges, the evidence review
// queue, and the compliance view a page of requirements at a time.

// Result is a current result as the API shows it (GET /results, GET
// /assets/{id}), without its raw output and snapshot: its status is the
// effective one (citadel.CheckResult.Effective: excepted for a failing
// result an approved exception covers), what a client displays without
// knowing the rule; prowler_status is Prowler's, and exception_id names the
// exception. Status shadows the embedded result's in JSON (the shallower
// field wins), so a client decoding into Result reads the effective one.
type Result struct {
	citadel.CheckResult
	Status        citadel.CheckStatus `json:"status"`
	ProwlerStatus citadel.CheckStatus `json:"prowler_status"`
}

// ResultOf is r as the API shows it.
func ResultOf(r citadel.CheckResult) Result {
	return Result{CheckResult: r, Status: r.Effective(), ProwlerStatus: r.Status}
}

// Finding is a current result as GET /results lists it: the result as the
// API shows it, and its asset's ref (the {id} of GET /assets/{id},
// citadel.AssetRef).
type Finding struct {
	Result
	AssetRef string `json:"asset_ref"`
}

// listResults answers GET /results: an integration's current results, by
// check and asset, narrowed by check_id, service, requirement_id (the
// checks the catalog maps to it), status (the effective one: excepted, or
// fail for a failure no exception covers), severity and region. A page may
// hold fewer than limit results while next is set (ddb.ListResultsFiltered).
func (s *Server) listResults(w http.ResponseWriter, r *http.Request) error {
	ctx, q := r.Context(), r.URL.Query()
	id := q.Get("integration_id")
	if err := s.readableIntegration(ctx, id); err != nil {
		return err
	}
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	f := ddb.ResultFilter{
		CheckID: q.Get("check_id"), Service: q.Get("service"), Region: q.Get("region"),
		Status: citadel.CheckStatus(q.Get("status")), Severity: citadel.Severity(q.Get("severity")),
	}
	if f.CheckID != "" {
		known, err := s.Catalog.KnownChecks(ctx, []string{f.CheckID})
		if err != nil {
			return err
		}
		if !known[f.CheckID] {
			return citadel.Invalid("check_id %q is not a check of the catalog", f.CheckID)
		}
	}
	if req := q.Get("requirement_id"); req != "" {
		if !utf8.ValidString(req) {
			return citadel.Invalid("requirement_id is not UTF-8")
		}
		node, err := s.Catalog.GetRequirement(ctx, req)
		switch {
		case citadel.IsNotFound(err):
			return citadel.Invalid("requirement_id %q: no such requirement", req)
		case err != nil:
			return err
		case len(node.Checks) == 0: // no check is mapped to it: no result can be
			writePage(w, citadel.Page[Finding]{})
			return nil
		}
		f.CheckIDs = node.Checks
	}
	page, err := s.Assets.ListResultsFiltered(ctx, id, f, limit, cursor)
	if err != nil {
		return err
	}
	out := citadel.Page[Finding]{Next: page.Next, Items: make([]Finding, len(page.Items))}
	for i, res := range page.Items {
		out.Items[i] = Finding{Result: ResultOf(res), AssetRef: citadel.AssetRef(res.IntegrationID, res.AssetARN)}
	}
	writePage(w, out)
	return nil
}

// AssetDetail is an asset with its current results (by check, without raw
// outputs) and its edges, out of it and into it.
type AssetDetail struct {
	Ref              string                      `json:"ref"`
	Asset            citadel.Asset               `json:"asset"`
	Results          []Result                    `json:"results"`
	RelationshipsOut []citadel.AssetRelationship `json:"relationships_out"`
	RelationshipsIn  []citadel.AssetRelationship `json:"relationships_in"`
}

// getAsset answers GET /assets/{id}, {id} an asset ref
// (<integration id>~<ARN in base64url>, citadel.AssetRef).
func (s *Server) getAsset(w http.ResponseWriter, r *http.Request) error {
	ctx, ref := r.Context(), r.PathValue("id")
	integrationID, arn, err := citadel.ParseAssetRef(ref)
	if err != nil {
		return err
	}
	a, err := s.Assets.GetAsset(ctx, integrationID, arn)
	if err != nil {
		return err
	}
	d := AssetDetail{Ref: ref, Asset: a, Results: []Result{}}
	results, err := s.Assets.ResultsOfAsset(ctx, integrationID, a.ID)
	if err != nil {
		return err
	}
	for _, res := range results {
		d.Results = append(d.Results, ResultOf(res))
	}
	if d.RelationshipsOut, err = s.Assets.RelationshipsFrom(ctx, integrationID, arn); err != nil {
		return err
	}
	if d.RelationshipsIn, err = s.Assets.RelationshipsTo(ctx, integrationID, arn); err != nil {
		return err
	}
	d.RelationshipsOut, d.RelationshipsIn = nonNil(d.RelationshipsOut), nonNil(d.RelationshipsIn)
	writeJSON(w, http.StatusOK, d)
	return nil
}

// listEvidence answers GET /evidence: a folder's evidence with one status
// (the review queue: status=in_review), or every status, by status and id.
func (s *Server) listEvidence(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	folder, err := s.folder(r.Context(), q.Get("folder_id"))
	if err != nil {
		return err
	}
	status := citadel.EvidenceStatus(q.Get("status"))
	return listPage(w, r, folder, func(ctx context.Context, folder string, limit int, cursor string) (citadel.Page[citadel.Evidence], error) {
		return s.Evidence.ListEvidence(ctx, folder, status, limit, cursor)
	})
}

// CoveragePage is a page of a framework's compliance view: the
// requirements after the cursor, coverage and score of the whole framework.
type CoveragePage struct {
	compliance.View
	Next string `json:"next,omitempty"`
}

// frameworkCoverage is a folder's compliance view of a framework
// (shared/compliance), or one of its integrations' (?integration_id=), a page of requirements at a time (by id; ?limit=
// and ?cursor= as the lists take them): per requirement its controls and
// assessment (with the assessment's id), and the coverage figures and the
// answers' score of the whole framework on every page.
func (s *Server) frameworkCoverage(w http.ResponseWriter, r *http.Request) error {
	folder, err := s.folder(r.Context(), r.URL.Query().Get("folder_id"))
	if err != nil {
		return err
	}
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	integration := r.URL.Query().Get("integration_id")
	var members []string
	if integration != "" {
		in, err := s.Integrations.GetIntegration(r.Context(), integration)
		if err != nil {
			return err
		}
		if in.FolderID != folder {
			return citadel.Invalid("integration %s is in folder %s, not %s", integration, in.FolderID, folder)
		}
		if members, err = s.memberIDs(r.Context(), in); err != nil {
			return err
		}
	}
	fw := r.PathValue("id")
	var after string
	if cursor != "" {
		// The cursor is the last requirement id of the page before, which
		// is one of this framework's.
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !utf8.Valid(b) || !strings.HasPrefix(string(b), fw+":") {
			return citadel.Invalid("%s", ddb.BadCursor)
		}
		after = string(b)
	}
	v, more, err := compliance.BuildWindow(r.Context(), s.Compliance, s.Compliance, folder, fw, compliance.Window{After: after, Limit: limit, Integration: integration, Members: members})
	if err != nil {
		return err
	}
	v.Requirements = nonNil(v.Requirements)
	for i := range v.Requirements {
		v.Requirements[i].Controls = nonNil(v.Requirements[i].Controls)
	}
	p := CoveragePage{View: v}
	if more && len(v.Requirements) > 0 {
		p.Next = base64.RawURLEncoding.EncodeToString([]byte(v.Requirements[len(v.Requirements)-1].RequirementID))
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}
