package httpapi

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
)

func (s *Server) listAssets(w http.ResponseWriter, r *http.Request) error {
	id := r.URL.Query().Get("integration_id")
	if _, err := s.Integrations.GetIntegration(r.Context(), id); err != nil {
		return err
	}
	return listPage(w, r, id, s.Assets.ListAssets)
}

func (s *Server) listControls(w http.ResponseWriter, r *http.Request) error {
	folder, err := s.folder(r.Context(), r.URL.Query().Get("folder_id"))
	if err != nil {
		return err
	}
	return listPage(w, r, folder, s.Controls.ListControls)
}

// ControlDetail is a control with its posture (on the control), the
// requirements it maps to and what it is linked to; a scan's check link
// says why the check links to the control (citadel.LinkWhy).
type ControlDetail struct {
	Control  citadel.AppliedControl              `json:"control"`
	Mappings []citadel.ControlRequirementMapping `json:"mappings"`
	Evidence []citadel.ControlLink               `json:"evidence"`
	Checks   []citadel.ControlLink               `json:"checks"`
	Assets   []citadel.ControlLink               `json:"assets"`
}

func (s *Server) getControl(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	c, err := s.Controls.GetControl(ctx, id)
	if err != nil {
		return err
	}
	d := ControlDetail{Control: c}
	if d.Mappings, err = s.Controls.RequirementsOfControl(ctx, id); err != nil {
		return err
	}
	for kind, dst := range map[citadel.LinkKind]*[]citadel.ControlLink{
		citadel.LinkEvidence: &d.Evidence, citadel.LinkCheck: &d.Checks, citadel.LinkAsset: &d.Assets,
	} {
		if *dst, err = s.Controls.LinksOfControl(ctx, id, kind); err != nil {
			return err
		}
		*dst = nonNil(*dst)
	}
	d.Mappings = nonNil(d.Mappings)
	writeJSON(w, http.StatusOK, d)
	return nil
}

// EvidenceDetail is an evidence record with its revisions and its review
// history, newest first, and the first broken link of their hash chains
// (nil when they hold).
type EvidenceDetail struct {
	Evidence   citadel.Evidence           `json:"evidence"`
	Revisions  []citadel.EvidenceRevision `json:"revisions"`
	Reviews    []citadel.EvidenceReview   `json:"reviews"`
	ChainBreak *citadel.ChainBreak        `json:"chain_break,omitempty"`
}

func (s *Server) getEvidence(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	e, err := s.Evidence.GetEvidence(ctx, id)
	if err != nil {
		return err
	}
	d := EvidenceDetail{Evidence: e}
	if d.Revisions, err = s.Evidence.EvidenceRevisions(ctx, id); err != nil {
		return err
	}
	d.Revisions = nonNil(d.Revisions)
	if d.Reviews, err = s.Evidence.EvidenceReviews(ctx, id); err != nil {
		return err
	}
	d.Reviews = nonNil(d.Reviews)
	if d.ChainBreak, err = s.Evidence.VerifyEvidence(ctx, id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

type review struct {
	Decision string `json:"decision"` // approve | reject
	Comment  string `json:"comment"`
}

func (s *Server) reviewEvidence(w http.ResponseWriter, r *http.Request) error {
	var body review
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Decision != "approve" && body.Decision != "reject" {
		return citadel.Invalid("decision %q must be approve or reject", body.Decision)
	}
	if body.Comment == "" {
		return citadel.Invalid("comment is required")
	}
	// The reviewer is the caller; outside API Gateway there is none to name.
	by, _ := Caller(r.Context())
	if by == "" {
		by = UnknownCaller
	}
	rv := citadel.EvidenceReview{By: by, Decision: citadel.ReviewDecision(body.Decision), Comment: body.Comment, At: s.Clock().UTC()}
	e, err := s.Evidence.ReviewEvidence(r.Context(), r.PathValue("id"), rv)
	if err != nil {
		return err
	}
	s.Log.InfoContext(r.Context(), "evidence reviewed", "evidence_id", e.ID, "status", e.Status, "caller", by, "review", e.ReviewCount)
	writeJSON(w, http.StatusOK, e)
	return nil
}

func (s *Server) listFrameworks(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	fws, err := s.Catalog.ListFrameworks(r.Context())
	if err != nil {
		return err
	}
	page, err := pageOf(fws, func(f citadel.Framework) string { return f.ID }, citadel.ValidFrameworkID, limit, cursor)
	if err != nil {
		return err
	}
	writePage(w, page)
	return nil
}

// pageOf pages a short list read whole (the frameworks): sorted by key, the
// cursor is the last key returned (base64url); a cursor that is not a key
// (validKey) is one the API did not return.
func pageOf[T any](items []T, key func(T) string, validKey func(string) bool, limit int, cursor string) (citadel.Page[T], error) {
	slices.SortStableFunc(items, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	start := 0
	if cursor != "" {
		after, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !validKey(string(after)) {
			return citadel.Page[T]{}, citadel.Invalid("%s", ddb.BadCursor)
		}
		// The first item after the cursor's key (the key itself may be gone).
		start, _ = slices.BinarySearchFunc(items, string(after), func(it T, k string) int { return strings.Compare(key(it), k) })
		if start < len(items) && key(items[start]) == string(after) {
			start++
		}
	}
	end := min(start+limit, len(items))
	p := citadel.Page[T]{Items: items[start:end]}
	if end < len(items) {
		p.Next = base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
	}
	return p, nil
}

type assessmentPut struct {
	FolderID          string            `json:"folder_id"`
	RequirementID     string            `json:"requirement_id"`
	FrameworkID       string            `json:"framework_id"`
	Result            string            `json:"result"`
	Answers           map[string]string `json:"answers"`
	AppliedControlIDs []string          `json:"applied_controls"`
}

// putAssessment creates or replaces a folder's assessment of a requirement.
// The requirement must exist, and so must the controls assigned to it, in
// the same folder.
func (s *Server) putAssessment(w http.ResponseWriter, r *http.Request) error {
	var body assessmentPut
	if err := decode(r, &body); err != nil {
		return err
	}
	folder, err := s.folder(r.Context(), body.FolderID)
	if err != nil {
		return err
	}
	ctx := r.Context()
	ra := citadel.RequirementAssessment{
		ID: r.PathValue("id"), FolderID: folder, FrameworkID: body.FrameworkID, RequirementID: body.RequirementID,
		AppliedControlIDs: body.AppliedControlIDs, Answers: body.Answers, Result: citadel.AssessmentResult(body.Result),
		UpdatedAt: s.Clock(),
	}
	if err := ra.Validate(); err != nil {
		return err
	}
	if want := citadel.RequirementAssessmentID(folder, ra.RequirementID); ra.ID != want {
		return citadel.Invalid("assessment id %q does not match folder %s and requirement %s (want %s)", ra.ID, folder, ra.RequirementID, want)
	}
	if _, err := s.Catalog.GetRequirement(ctx, ra.RequirementID); err != nil {
		if citadel.IsNotFound(err) {
			return citadel.Invalid("requirement_id %q: no such requirement", ra.RequirementID)
		}
		return err
	}
	if len(ra.AppliedControlIDs) > 0 {
		found, err := s.Controls.GetControls(ctx, ra.AppliedControlIDs)
		if err != nil {
			return err
		}
		for _, id := range ra.AppliedControlIDs {
			c, ok := found[id]
			switch {
			case !ok:
				return citadel.Invalid("applied control %s not found", id)
			case c.FolderID != folder:
				return citadel.Invalid("applied control %s is in folder %s, not %s", id, c.FolderID, folder)
			}
		}
	}
	stored, err := s.Assessments.PutAssessment(ctx, ra)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stored)
	return nil
}
