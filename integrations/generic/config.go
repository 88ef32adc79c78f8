package generic

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// minSecretLen keeps guessable secrets out: an HMAC is only as strong as
// its key, and the console of the AWS DevOps Agent hands out far longer ones.
const minSecretLen = 16

// Config is the generic webhook source of one space.
type Config struct {
	// Secret is the HMAC-SHA256 key that senders sign deliveries with.
	Secret string `yaml:"secret"`
}

// Validate reports every problem in c at once, naming the YAML field. It
// never repeats the secret.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.Secret == "":
		errs = append(errs, errors.New("secret: required"))
	case strings.TrimSpace(c.Secret) != c.Secret:
		// Almost always the newline at the end of a secret file, which
		// would make every signature fail in a way that is hard to see.
		errs = append(errs, errors.New("secret: has leading or trailing white space"))
	case len(c.Secret) < minSecretLen:
		errs = append(errs, fmt.Errorf("secret: shorter than %d bytes", minSecretLen))
	}
	return errors.Join(errs...)
}

// String keeps the secret out of anything that prints a Config.
func (c Config) String() string { return fmt.Sprintf("generic.Config{Secret: %s}", redact(c.Secret)) }

// GoString is String, for %#v.
func (c Config) GoString() string { return c.String() }

// LogValue keeps the secret out of structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("secret", redact(c.Secret)))
}

func redact(s string) string {
	if s == "" {
		return `""`
	}
	return "<secret>"
}
