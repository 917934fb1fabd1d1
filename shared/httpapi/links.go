package httpapi

import (
	"context"
	"fmt"
	"net/http"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Links is what the check-link routes read and write of the catalog (part
// of Catalog): a check's effective SCF links and its users' corrections.
type Links interface {
	GetCheck(ctx context.Context, id string) (citadel.SecurityCheck, error)
	EffectiveLinksOfCheck(ctx context.Context, checkID string) ([]citadel.EffectiveLink, error)
	LinkCorrectionsOfCheck(ctx context.Context, checkID string) ([]citadel.LinkCorrection, error)
	// PutLinkCorrection answers a not-found error for an unknown check or
	// SCF control.
	PutLinkCorrection(ctx context.Context, c citadel.LinkCorrection) error
}

// UnknownCaller is the `by` of a correction made outside API Gateway (no
// authorizer to name the caller).
const UnknownCaller = "unknown"

// CheckLinks is the answer of the check-link routes.
type CheckLinks struct {
	CheckID     string                   `json:"check_id"`
	Links       []citadel.EffectiveLink  `json:"links"`
	Corrections []citadel.LinkCorrection `json:"corrections"`
}

// linkReason is the body of PUT and DELETE /checks/{id}/links/{scf_id}.
type linkReason struct {
	Reason string `json:"reason"`
}

func (s *Server) getCheckLinks(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.Catalog.GetCheck(r.Context(), id); err != nil {
		return err
	}
	return s.writeCheckLinks(w, r, id)
}

func (s *Server) addCheckLink(w http.ResponseWriter, r *http.Request) error {
	return s.correctLink(w, r, citadel.LinkAdd)
}

func (s *Server) removeCheckLink(w http.ResponseWriter, r *http.Request) error {
	return s.correctLink(w, r, citadel.LinkRemove)
}

// correctLink records the caller's correction of one link and answers the
// check's links as they now are.
func (s *Server) correctLink(w http.ResponseWriter, r *http.Request, action citadel.LinkAction) error {
	var body linkReason
	if err := decode(r, &body); err != nil {
		return err
	}
	by, _ := Caller(r.Context())
	if by == "" {
		by = UnknownCaller
	}
	c := citadel.LinkCorrection{CheckID: r.PathValue("id"), SCFID: r.PathValue("scf_id"), Action: action,
		Reason: body.Reason, By: by, At: s.Clock().UTC()}
	if err := s.Catalog.PutLinkCorrection(r.Context(), c); err != nil {
		return err
	}
	s.Log.InfoContext(r.Context(), "check link corrected", "check_id", c.CheckID, "scf_id", c.SCFID, "action", c.Action, "caller", by)
	return s.writeCheckLinks(w, r, c.CheckID)
}

func (s *Server) writeCheckLinks(w http.ResponseWriter, r *http.Request, checkID string) error {
	links, err := s.Catalog.EffectiveLinksOfCheck(r.Context(), checkID)
	if err != nil {
		return fmt.Errorf("links of check %s: %w", checkID, err)
	}
	corrections, err := s.Catalog.LinkCorrectionsOfCheck(r.Context(), checkID)
	if err != nil {
		return fmt.Errorf("corrections of check %s: %w", checkID, err)
	}
	writeJSON(w, http.StatusOK, CheckLinks{CheckID: checkID, Links: nonNil(links), Corrections: nonNil(corrections)})
	return nil
}
