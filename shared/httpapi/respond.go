package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
)

// This file is how a handler answers: an error's status and JSON body,
// a JSON value, and how a request's JSON body is read.

// Status is the HTTP status of an error's citadel code (forbidden: a 403,
// like a role without the permission); an item too large to store is a 413.
func Status(err error) int {
	if errors.Is(err, ddb.ErrItemTooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	switch citadel.CodeOf(err) {
	case citadel.CodeInvalid:
		return http.StatusBadRequest
	case citadel.CodeNotFound:
		return http.StatusNotFound
	case citadel.CodeConflict:
		return http.StatusConflict
	case citadel.CodeForbidden:
		return http.StatusForbidden
	}
	if citadel.IsRetryable(err) {
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// StatusClientClosed is the status logged for a request its caller
// abandoned (a page that navigated on): nobody reads the answer and it is
// no fault of the server's (nginx's 499).
const StatusClientClosed = 499

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		writeJSONError(w, StatusClientClosed, "client_closed", "the request was abandoned by its caller")
		return
	}
	status := Status(err)
	code, msg := string(citadel.CodeOf(err)), err.Error()
	switch status {
	case http.StatusRequestEntityTooLarge:
		code, msg = "too_large", "the record to store is over DynamoDB's 400 KB item limit; send fewer or shorter values"
		var big *ddb.ItemTooLargeError
		if errors.As(err, &big) {
			msg = fmt.Sprintf("the record to store would be %d bytes, over DynamoDB's %d-byte item limit; send fewer or shorter values", big.Size, ddb.MaxItemSize)
		}
	case http.StatusServiceUnavailable:
		code, msg = "unavailable", "the service is busy; retry shortly"
		w.Header().Set("Retry-After", "1")
	case http.StatusInternalServerError:
		// The cause goes to the log, not to the caller.
		_, requestID := Caller(r.Context())
		s.Log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "request_id", requestID, "error", err.Error())
		code, msg = string(citadel.CodeInternal), "internal error"
		if requestID != "" {
			msg += " (request " + requestID + ")"
		}
	}
	var de *citadel.Error
	if errors.As(err, &de) && status < 500 {
		msg = de.Error()
	}
	writeJSONError(w, status, code, msg)
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, ErrorBody{Error: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(ErrorBody{Error: string(citadel.CodeInternal), Message: "response could not be encoded"})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// decode reads a validated JSON body into v, refusing unknown fields (the
// document refuses them too; this keeps the two in step).
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return citadel.Invalid("request body: %s", err.Error())
	}
	if dec.More() {
		return citadel.Invalid("request body: more than one JSON value")
	}
	return nil
}
