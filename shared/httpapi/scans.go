package httpapi

import (
	"net/http"

	"github.com/citadelsecure/citadel/shared/scanend"
)

// locks is the scan life cycle over the API's store and Step Functions.
func (s *Server) locks() *scanend.Locks {
	return &scanend.Locks{Store: s.Scans, Executions: s.Executions, StateMachineARN: s.StateMachineARN, OrgStateMachineARN: s.OrgStateMachineARN,
		Clock: s.Clock, Log: s.Log, Announce: s.Announce}
}

// cancelScan stops a scan's execution and records it cancelled by the
// caller (202); again is harmless (202, the scan as it is); a scan that
// ended otherwise is a 409 naming its status.
func (s *Server) cancelScan(w http.ResponseWriter, r *http.Request) error {
	caller, _ := Caller(r.Context())
	sc, err := s.locks().Cancel(r.Context(), r.PathValue("id"), caller)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, sc)
	return nil
}
