package engine

import (
	"context"
	"errors"
	"fmt"
)

// Code classifies an Error so that adapters can pick a status code or a chat
// sentence without parsing messages.
type Code string

// Error codes.
const (
	CodeInvalid      Code = "invalid"      // malformed input; HTTP 400
	CodeUnauthorized Code = "unauthorized" // missing, bad or stale credentials; HTTP 401
	CodeForbidden    Code = "forbidden"    // authenticated but not allowed; HTTP 403
	CodeNotFound     Code = "not_found"    // unknown space, source or object; HTTP 404
	CodeConflict     Code = "conflict"     // lost a race; retry; HTTP 409
	CodeTooLarge     Code = "too_large"    // body over the limit; HTTP 413
	CodeUnavailable  Code = "unavailable"  // a dependency (the store) is down; HTTP 503
)

// Error is an error with a code and a message that is safe to show to the
// sender of a request or to a chat user. Details that must not leave the
// process (secrets, internal addresses) belong in Err, which only the log sees.
type Error struct {
	Code    Code
	Message string // safe, human sentence fragment: "bad signature"
	Field   string // for CodeInvalid: the JSON path of the offending field, if any
	Err     error  // underlying cause, for logs
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = fmt.Sprintf("%s: %s", e.Field, msg)
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", msg, e.Err)
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Public returns the part of the error that may be shown to the sender.
func (e *Error) Public() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Errorf builds an *Error with a formatted safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports a malformed field. field is a JSON path such as
// "event.data.id" or "alerts[2].labels".
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Unauthorized reports a failed authentication with a reason that is safe to
// return to the sender ("missing signature", "stale timestamp").
func Unauthorized(reason string) *Error {
	return &Error{Code: CodeUnauthorized, Message: reason}
}

// Unavailable wraps a dependency failure (the store is down).
func Unavailable(what string, err error) *Error {
	return &Error{Code: CodeUnavailable, Message: what + " unavailable", Err: err}
}

// ErrorCode returns the Code of the first *Error in err's chain, or "" when
// there is none (an unexpected internal error).
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// SafeError is the part of err that may be shown in chat or a report: the
// public message of an *Error, or a generic sentence for anything else (a
// raw provider error can carry account ids, role ARNs and addresses; those
// belong in the log).
func SafeError(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Public()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return "failed (details in the server log)"
}
