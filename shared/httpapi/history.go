package httpapi

import (
	"net/http"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// A result's history (issue 17): the status changes of an integration's
// check on one asset, scan after scan, as PutResults recorded them.

// resultHistory answers GET /results/history: the status changes of the
// result of check_id on asset (an asset id, citadel.AssetID) of an
// integration, oldest first; none (an empty list) when the result never
// changed or does not exist. The document validates the parameters' shape;
// an unknown integration (live or archived) is a 404.
func (s *Server) resultHistory(w http.ResponseWriter, r *http.Request) error {
	ctx, q := r.Context(), r.URL.Query()
	id, check, asset := q.Get("integration_id"), q.Get("check_id"), q.Get("asset")
	if err := s.readableIntegration(ctx, id); err != nil {
		return err
	}
	items, err := s.Assets.ResultHistory(ctx, citadel.ResultID(id, check, asset))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, citadel.Page[citadel.CheckResultHistory]{Items: nonNil(items)})
	return nil
}
