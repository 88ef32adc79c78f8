package pagerduty

import (
	"errors"
	"log/slog"
	"strings"
)

// Config is one space's PagerDuty V3 webhook subscription.
type Config struct {
	// Secret is the signing secret PagerDuty returned when the webhook
	// subscription was created. Deliveries must carry a matching
	// X-PagerDuty-Signature.
	Secret string `yaml:"secret"`
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.Secret == "":
		errs = append(errs, errors.New("secret: required"))
	case strings.TrimSpace(c.Secret) != c.Secret:
		// Almost always a trailing newline from a secret file or an env var;
		// every signature would then fail with nothing to show why.
		errs = append(errs, errors.New("secret: has leading or trailing white space"))
	}
	return errors.Join(errs...)
}

// String prints c with the secret redacted, so that a config dumped into a
// log or an error says whether a secret is set but never what it is.
func (c Config) String() string {
	return "pagerduty.Config{Secret: " + redact(c.Secret) + "}"
}

// GoString is String, for %#v.
func (c Config) GoString() string { return c.String() }

// LogValue keeps the secret out of structured logs (slog's JSON handler
// would otherwise print every field).
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("secret", redact(c.Secret)))
}

func redact(s string) string {
	if s == "" {
		return `""`
	}
	return "<secret>"
}
