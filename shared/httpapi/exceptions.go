package httpapi

import (
	"context"
	"fmt"
	"net/http"

	"github.com/citadelsecure/citadel/shared/busevents"
	"github.com/citadelsecure/citadel/shared/citadel"
)

// Exceptions is what the exception routes need of the store (shared/ddb).
type Exceptions interface {
	CreateException(ctx context.Context, e citadel.Exception) error
	GetException(ctx context.Context, id string) (citadel.Exception, error)
	ListExceptionsOfIntegration(ctx context.Context, integrationID string, status citadel.ExceptionStatus, limit int, cursor string) (citadel.Page[citadel.Exception], error)
	ListExceptionsOfFolder(ctx context.Context, folderID string, status citadel.ExceptionStatus, limit int, cursor string) (citadel.Page[citadel.Exception], error)
	DecideException(ctx context.Context, id string, d citadel.ExceptionDecision) (citadel.Exception, error)
	// GetResult tells whether the check has a result on an asset the
	// inventory does not hold (an exception's asset must be one or the other).
	GetResult(ctx context.Context, integrationID, checkID, assetID string) (citadel.CheckResult, error)
}

// exceptionNote is the optional body of the decision routes.
type exceptionNote struct {
	Note string `json:"note"`
}

// maxExceptionDays is the deployment's longest exception.
func (s *Server) maxExceptionDays() int {
	if s.MaxExceptionDays > 0 {
		return s.MaxExceptionDays
	}
	return citadel.DefaultMaxExceptionDays
}

// callerName is who makes the request, as the records name it:
// UnknownCaller outside API Gateway.
func callerName(r *http.Request) string {
	if by, _ := Caller(r.Context()); by != "" {
		return by
	}
	return UnknownCaller
}

// createException answers POST /exceptions: the caller's request, validated
// (citadel.RequestException), of a live integration, a check of the catalog
// and, for an asset scope, an asset of the integration or one the check has
// a result on.
func (s *Server) createException(w http.ResponseWriter, r *http.Request) error {
	var body citadel.ExceptionRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	ctx := r.Context()
	in, err := s.Integrations.GetIntegration(ctx, body.IntegrationID)
	if err != nil {
		return err
	}
	now := s.Clock().UTC()
	by := callerName(r)
	e, err := citadel.RequestException(s.NewID("exc", now), in.FolderID, body, by, now, s.maxExceptionDays())
	if err != nil {
		return err
	}
	if _, err := s.Catalog.GetCheck(ctx, e.CheckID); err != nil {
		return err
	}
	if e.Scope.Kind == citadel.ScopeAsset {
		if err := s.assetOfException(ctx, e); err != nil {
			return err
		}
	}
	if err := s.Exceptions.CreateException(ctx, e); err != nil {
		return err
	}
	s.Log.InfoContext(ctx, "exception requested", "exception_id", e.ID, "integration_id", e.IntegrationID, "check_id", e.CheckID,
		"scope", e.Scope.Kind, "expires_at", e.ExpiresAt, "caller", by)
	w.Header().Set("Location", "/exceptions/"+e.ID)
	writeJSON(w, http.StatusCreated, e)
	return nil
}

// assetOfException checks that an asset-scoped exception names an asset of
// its integration's inventory, or one its check has a result on (Prowler
// checks resources the inventory does not collect).
func (s *Server) assetOfException(ctx context.Context, e citadel.Exception) error {
	_, err := s.Assets.GetAsset(ctx, e.IntegrationID, e.Scope.AssetARN)
	if !citadel.IsNotFound(err) {
		return err
	}
	_, err = s.Exceptions.GetResult(ctx, e.IntegrationID, e.CheckID, e.Scope.AssetID)
	if citadel.IsNotFound(err) {
		return citadel.NotFound("asset %s is not an asset of integration %s, and check %s has no result on it",
			e.Scope.AssetARN, e.IntegrationID, e.CheckID)
	}
	return err
}

// listExceptions answers GET /exceptions: an integration's (archived ones
// too) or a folder's exceptions, with one status or all.
func (s *Server) listExceptions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	status := citadel.ExceptionStatus(q.Get("status"))
	if integ := q.Get("integration_id"); integ != "" {
		if q.Get("folder_id") != "" {
			return citadel.Invalid("give integration_id or folder_id, not both")
		}
		if err := s.readableIntegration(r.Context(), integ); err != nil {
			return err
		}
		return listPage(w, r, integ, func(ctx context.Context, id string, limit int, cursor string) (citadel.Page[citadel.Exception], error) {
			return s.Exceptions.ListExceptionsOfIntegration(ctx, id, status, limit, cursor)
		})
	}
	folder, err := s.folder(r.Context(), q.Get("folder_id"))
	if err != nil {
		return err
	}
	return listPage(w, r, folder, func(ctx context.Context, id string, limit int, cursor string) (citadel.Page[citadel.Exception], error) {
		return s.Exceptions.ListExceptionsOfFolder(ctx, id, status, limit, cursor)
	})
}

func (s *Server) getException(w http.ResponseWriter, r *http.Request) error {
	e, err := s.Exceptions.GetException(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

// decideException is the handler of one decision's route: it records the
// caller's decision, with the note of the optional body, at the server's
// time (the store and citadel.Exception.Decide say whether it may be made).
func (s *Server) decideException(a citadel.ExceptionAction) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error { return s.decide(w, r, a) }
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request, a citadel.ExceptionAction) error {
	var body exceptionNote
	if r.ContentLength > 0 {
		if err := decode(r, &body); err != nil {
			return err
		}
	}
	by, id := callerName(r), r.PathValue("id")
	e, err := s.Exceptions.DecideException(r.Context(), id, citadel.ExceptionDecision{Action: a, By: by, At: s.Clock().UTC(), Note: body.Note})
	if err != nil {
		return fmt.Errorf("%s exception %s: %w", a, id, err)
	}
	s.Log.InfoContext(r.Context(), "exception decided", "exception_id", e.ID, "action", a, "status", e.Status, "caller", by)
	s.announceDecision(r.Context(), e, a)
	writeJSON(w, http.StatusOK, e)
	return nil
}

// decisionEvents are the decisions that change what covers results, and
// their events: the exception sweep's rule routes them to it, which
// re-marks the check's results without a scan (shared/jobs/exceptionsweep).
var decisionEvents = map[citadel.ExceptionAction]string{
	citadel.ExceptionApprove: citadel.EventExceptionApproved,
	citadel.ExceptionRevoke:  citadel.EventExceptionRevoked,
}

// announceDecision puts the event of an approval or a revocation on the
// bus (with the Announcer's client). It is best effort: the decision is
// stored, and an event that could not be sent is logged at error level;
// the check's results then take the decision at the next scan.
func (s *Server) announceDecision(ctx context.Context, e citadel.Exception, a citadel.ExceptionAction) {
	dt, ok := decisionEvents[a]
	if !ok || s.Announce == nil {
		return
	}
	if err := s.Announce.Put(ctx, busevents.Exception(e, dt, s.Announce.Bus, e.UpdatedAt)); err != nil {
		s.Log.ErrorContext(ctx, "exception decision not announced: its results are re-marked at the next scan", "exception_id", e.ID,
			"detail_type", dt, "error", err.Error())
	}
}
