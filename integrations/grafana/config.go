package grafana

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// DefaultSignatureHeader is where Grafana puts the HMAC signature when the
// contact point's hmacConfig names no header.
const DefaultSignatureHeader = "X-Grafana-Alerting-Signature"

// DefaultMaxSkew is how far a signed timestamp may be from the delivery's
// arrival when Config.MaxSkew is not set.
const DefaultMaxSkew = 5 * time.Minute

// Config is one space's Grafana webhook contact point. Set Token, Secret or
// both; each one set is then required of every delivery.
type Config struct {
	// Token is the contact point's "Authorization Header - Credentials"
	// (scheme Bearer, Grafana's default).
	Token string `yaml:"token"`

	// Secret is the contact point's HMAC Signature secret (hmacConfig.secret,
	// Grafana 12 and later).
	Secret string `yaml:"secret"`

	// SignatureHeader is hmacConfig.header; empty means
	// X-Grafana-Alerting-Signature.
	SignatureHeader string `yaml:"signature_header"`

	// TimestampHeader is hmacConfig.timestampHeader. Grafana has no default
	// for it: when it is empty Grafana signs the body alone and a captured
	// delivery can be replayed. When it is set, Grafana signs
	// "<unix seconds>:<body>" and deliveries must carry a recent timestamp.
	TimestampHeader string `yaml:"timestamp_header"`

	// MaxSkew bounds the age of a signed timestamp (either way, for clock
	// skew); zero means DefaultMaxSkew.
	MaxSkew time.Duration `yaml:"max_skew"`
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Token == "" && c.Secret == "" {
		errs = append(errs, errors.New("token, secret: at least one is required"))
	}
	if c.Token != "" && strings.TrimSpace(c.Token) != c.Token {
		errs = append(errs, errors.New("token: has leading or trailing white space"))
	}
	if c.Secret != "" && strings.TrimSpace(c.Secret) != c.Secret {
		errs = append(errs, errors.New("secret: has leading or trailing white space"))
	}
	for _, h := range []struct{ field, name string }{
		{"signature_header", c.SignatureHeader},
		{"timestamp_header", c.TimestampHeader},
	} {
		if h.name == "" {
			continue
		}
		if c.Secret == "" {
			errs = append(errs, fmt.Errorf("%s: set without secret", h.field))
		}
		if !validHeaderName(h.name) {
			errs = append(errs, fmt.Errorf("%s: %q is not a valid header name", h.field, h.name))
		}
	}
	if c.MaxSkew < 0 {
		errs = append(errs, errors.New("max_skew: must not be negative"))
	}
	if c.MaxSkew != 0 && c.TimestampHeader == "" {
		errs = append(errs, errors.New("max_skew: set without timestamp_header"))
	}
	return errors.Join(errs...)
}

// validHeaderName reports whether s is an HTTP field name (RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}

// String prints c with the token and secret redacted.
func (c Config) String() string {
	return fmt.Sprintf("grafana.Config{Token: %s, Secret: %s, SignatureHeader: %q, TimestampHeader: %q, MaxSkew: %v}",
		redact(c.Token), redact(c.Secret), c.SignatureHeader, c.TimestampHeader, c.MaxSkew)
}

// GoString is String, for %#v.
func (c Config) GoString() string { return c.String() }

// LogValue keeps the token and secret out of structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("token", redact(c.Token)),
		slog.String("secret", redact(c.Secret)),
		slog.String("signature_header", c.SignatureHeader),
		slog.String("timestamp_header", c.TimestampHeader),
		slog.Duration("max_skew", c.MaxSkew),
	)
}

func redact(s string) string {
	if s == "" {
		return `""`
	}
	return "<secret>"
}
