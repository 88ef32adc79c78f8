package datadog

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// Config is one space's Datadog webhook. Datadog does not sign webhooks;
// the webhook is set up with a custom header carrying a shared token.
type Config struct {
	// Token is the shared token the webhook's custom headers carry.
	Token string `yaml:"token"`

	// Header names the header carrying Token, raw. Empty (or
	// "Authorization") means "Authorization: Bearer <token>".
	Header string `yaml:"header"`
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.Token == "":
		errs = append(errs, errors.New("token: required"))
	case strings.TrimSpace(c.Token) != c.Token:
		// A trailing newline from a token file would fail every delivery.
		errs = append(errs, errors.New("token: has leading or trailing white space"))
	}
	if c.Header != "" && !validHeaderName(c.Header) {
		errs = append(errs, fmt.Errorf("header: %q is not a valid header name", c.Header))
	}
	return errors.Join(errs...)
}

// bearer reports whether the token travels as "Authorization: Bearer".
func (c Config) bearer() bool {
	return c.Header == "" || http.CanonicalHeaderKey(c.Header) == "Authorization"
}

// validHeaderName reports whether s is an HTTP field name (RFC 9110 token).
func validHeaderName(s string) bool {
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return s != ""
}

// String prints c with the token redacted.
func (c Config) String() string {
	return fmt.Sprintf("datadog.Config{Token: %s, Header: %q}", redact(c.Token), c.Header)
}

// GoString is String, for %#v.
func (c Config) GoString() string { return c.String() }

// LogValue keeps the token out of structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("token", redact(c.Token)), slog.String("header", c.Header))
}

func redact(s string) string {
	if s == "" {
		return `""`
	}
	return "<secret>"
}
