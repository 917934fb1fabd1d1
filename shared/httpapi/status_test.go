package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
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

// A request its caller abandoned is no server fault: 499, and no error in
// the log, while a cancellation the caller did not cause stays a 500.
func TestStatusOfAbandonedRequest(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{Deps: Deps{Log: slog.New(slog.NewJSONHandler(&logs, nil))}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := fmt.Errorf("dynamodb query: %w", context.Canceled)
	rec := httptest.NewRecorder()
	s.writeError(rec, httptest.NewRequest("GET", "/x", nil).WithContext(ctx), err)
	if rec.Code != StatusClientClosed || logs.Len() != 0 {
		t.Errorf("abandoned: %d, log %q; want %d and no log", rec.Code, logs.String(), StatusClientClosed)
	}
	rec = httptest.NewRecorder()
	s.writeError(rec, httptest.NewRequest("GET", "/x", nil), err)
	if rec.Code != http.StatusInternalServerError || !strings.Contains(logs.String(), "request failed") {
		t.Errorf("canceled inside a live request: %d, log %q; want 500 and the cause logged", rec.Code, logs.String())
	}
}
