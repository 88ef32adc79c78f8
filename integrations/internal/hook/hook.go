// Package hook holds the small pure helpers that every webhook parser in
// integrations/<system> shares: constant-time credential checks, HMAC, and
// JSON decoding whose errors name the offending field. It does no I/O and
// knows no sender.
package hook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/nightshift-ops/nightshift/engine"
)

// CheckBearer verifies "Authorization: Bearer <want>" in constant time.
// An empty want means the source is configured without a token: nothing to check.
func CheckBearer(h http.Header, want string) error {
	if want == "" {
		return nil
	}
	got := h.Get("Authorization")
	if got == "" {
		return engine.Unauthorized("missing Authorization header")
	}
	scheme, tok, ok := strings.Cut(got, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return engine.Unauthorized("Authorization header is not a Bearer token")
	}
	if !EqualString(strings.TrimSpace(tok), want) {
		return engine.Unauthorized("bad bearer token")
	}
	return nil
}

// CheckHeaderToken verifies a shared secret carried in a named header (for
// senders that cannot set Authorization), in constant time.
func CheckHeaderToken(h http.Header, name, want string) error {
	if want == "" {
		return nil
	}
	got := h.Get(name)
	if got == "" {
		return engine.Unauthorized("missing " + name + " header")
	}
	if !EqualString(got, want) {
		return engine.Unauthorized("bad " + name + " header")
	}
	return nil
}

// EqualString compares two secrets in constant time.
func EqualString(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// HMACSHA256 returns HMAC-SHA256(key, msg).
func HMACSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// DecodeJSON decodes body into v. Errors are *engine.Error with CodeInvalid
// naming the field that did not fit ("alerts.startsAt") or the byte offset of
// a syntax error; an empty body is "body: empty".
func DecodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return engine.Invalid("body", "empty")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return JSONError(err)
	}
	return nil
}

// JSONError turns an encoding/json error into an *engine.Error naming the field.
func JSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "body"
		}
		return &engine.Error{Code: engine.CodeInvalid, Field: field,
			Message: fmt.Sprintf("expected %s, got JSON %s", te.Type, te.Value), Err: err}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &engine.Error{Code: engine.CodeInvalid, Field: "body",
			Message: fmt.Sprintf("invalid JSON at byte %d", se.Offset), Err: err}
	}
	return &engine.Error{Code: engine.CodeInvalid, Field: "body", Message: "invalid JSON", Err: err}
}
