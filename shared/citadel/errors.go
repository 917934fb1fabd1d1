package citadel

import (
	"errors"
	"fmt"
	"strings"
)

// ErrorCode classifies an error for callers: the API maps it to an HTTP status,
// the state machine decides from it whether to retry.
type ErrorCode string

// The error codes shared by every layer.
const (
	CodeInvalid  ErrorCode = "invalid"
	CodeNotFound ErrorCode = "not_found"
	CodeConflict ErrorCode = "conflict"
	// CodeForbidden: the caller's role allows the operation, but not on
	// this item (an exception's requester approving it).
	CodeForbidden ErrorCode = "forbidden"
	CodeInternal  ErrorCode = "internal"
)

// Error is a domain error: a code, the operation that failed, a message meant
// for the caller and the underlying cause, if any.
type Error struct {
	Code ErrorCode
	Op   string
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	msg := e.Msg
	if e.Op != "" {
		msg = e.Op + ": " + msg
	}
	if e.Err != nil {
		cause := e.Err.Error()
		switch {
		case msg == "":
			return cause
		case strings.Contains(msg, cause):
			return msg // Errorf's %w already put the cause in the message
		}
		return msg + ": " + cause
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds a domain error with a formatted message. A %w verb wraps its
// argument as the cause.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Msg: err.Error(), Err: errors.Unwrap(err)}
}

// Invalid, NotFound, Conflict and Forbidden are shorthands for Errorf with their code.
func Invalid(format string, args ...any) *Error   { return Errorf(CodeInvalid, format, args...) }
func NotFound(format string, args ...any) *Error  { return Errorf(CodeNotFound, format, args...) }
func Conflict(format string, args ...any) *Error  { return Errorf(CodeConflict, format, args...) }
func Forbidden(format string, args ...any) *Error { return Errorf(CodeForbidden, format, args...) }

// CodeOf returns the code of the first domain error in err's chain, CodeInternal
// for any other non-nil error and "" for nil.
func CodeOf(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// IsNotFound, IsConflict, IsInvalid and IsForbidden report the code of err.
func IsNotFound(err error) bool  { return CodeOf(err) == CodeNotFound }
func IsConflict(err error) bool  { return CodeOf(err) == CodeConflict }
func IsInvalid(err error) bool   { return CodeOf(err) == CodeInvalid }
func IsForbidden(err error) bool { return CodeOf(err) == CodeForbidden }

// RetryableError marks a failure that is worth retrying as it is: throttling,
// a timeout, a transient service error. The state machine retries errors of
// this type by name (aws-lambda-go reports a returned error's Go type name), so
// a step returns it unwrapped at its boundary.
type RetryableError struct {
	Err error
}

func (e *RetryableError) Error() string { return "retryable: " + e.Err.Error() }
func (e *RetryableError) Unwrap() error { return e.Err }

// Retryable wraps err as a RetryableError; nil stays nil.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return &RetryableError{Err: err}
}

// IsRetryable reports whether err's chain holds a RetryableError.
func IsRetryable(err error) bool {
	var r *RetryableError
	return errors.As(err, &r)
}

// ErrorTypeRetryable is the error name the state machine's Retry blocks match.
const ErrorTypeRetryable = "RetryableError"
