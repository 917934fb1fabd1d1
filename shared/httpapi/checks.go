package httpapi

import (
	"net/http"
	"slices"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// CheckDetail (GET /checks/{id}) is a check of the catalog as the import
// stored it (title, service, severity, description, risk, remediation,
// related URLs, mapped requirements) and the frameworks of its mapped
// requirements, sorted: both come with the check's one item (access
// pattern 12), so the answer costs one GetItem.
type CheckDetail struct {
	citadel.SecurityCheck
	Frameworks []string `json:"frameworks"`
}

func (s *Server) getCheck(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Catalog.GetCheck(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, CheckDetail{SecurityCheck: c, Frameworks: checkFrameworks(c)})
	return nil
}

// checkFrameworks are the distinct frameworks of a check's mapped
// requirements ("<framework>:<ref id>"), sorted.
func checkFrameworks(c citadel.SecurityCheck) []string {
	out := []string{}
	for _, req := range c.MappedRequirements {
		if fw, _, ok := citadel.SplitRequirementID(req); ok && fw != "" {
			out = append(out, fw)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
