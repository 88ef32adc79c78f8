package alertmanager

import (
	"errors"
	"log/slog"
	"strings"
)

// Config is one space's Alertmanager webhook receiver.
type Config struct {
	// Token is the bearer token Alertmanager sends: in the receiver's
	// webhook_config, http_config.authorization.credentials (type Bearer,
	// the default).
	Token string `yaml:"token"`
}

// Validate reports every problem with c at once. A token is required: the
// spec has every alert source authenticated, and Alertmanager can always
// send one.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.Token == "":
		errs = append(errs, errors.New("token: required"))
	case strings.TrimSpace(c.Token) != c.Token:
		// A trailing newline from a token file would fail every delivery.
		errs = append(errs, errors.New("token: has leading or trailing white space"))
	}
	return errors.Join(errs...)
}

// String prints c with the token redacted.
func (c Config) String() string {
	return "alertmanager.Config{Token: " + redact(c.Token) + "}"
}

// GoString is String, for %#v.
func (c Config) GoString() string { return c.String() }

// LogValue keeps the token out of structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("token", redact(c.Token)))
}

func redact(s string) string {
	if s == "" {
		return `""`
	}
	return "<secret>"
}
