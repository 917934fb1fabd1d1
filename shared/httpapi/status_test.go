package httpapi

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/citadelsecure/citadel/shared/citadel"
)

func TestStatusOfErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   string
		msg    string
	}{
		{"invalid", citadel.Invalid("limit %d too big", 5000), 400, "invalid", "limit 5000 too big"},
		{"wrapped not found", fmt.Errorf("compliance view: %w", citadel.NotFound("framework x not found")), 404, "not_found", "framework x not found"},
		{"conflict", citadel.Conflict("integration i already has scan s running"), 409, "conflict", "integration i already has scan s running"},
		{"throttled", citadel.Retryable(errors.New("ProvisionedThroughputExceededException")), 503, "unavailable", "the service is busy; retry shortly"},
		{"anything else", errors.New("dynamodb: connection reset to 10.0.0.1"), 500, "internal", "internal error"},
		{"internal code", &citadel.Error{Code: citadel.CodeInternal, Msg: "secret detail"}, 500, "internal", "internal error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Status(tc.err); got != tc.status {
				t.Errorf("Status = %d, want %d", got, tc.status)
			}
			s := &Server{Deps: Deps{Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}}
			rec := httptest.NewRecorder()
			s.writeError(rec, httptest.NewRequest("GET", "/x", nil), tc.err)
			e := decodeBody[ErrorBody](t, rec)
			if rec.Code != tc.status || e.Error != tc.code || e.Message != tc.msg {
				t.Errorf("response %d %+v, want %d %s %q", rec.Code, e, tc.status, tc.code, tc.msg)
			}
			if tc.status == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		})
	}
}
