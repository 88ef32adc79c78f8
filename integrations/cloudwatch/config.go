package cloudwatch

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// DefaultCertHostPattern matches the hosts SNS serves signing certificates
// and subscription confirmations from, in the commercial and China
// partitions. A message is only as trustworthy as the certificate it names,
// so the certificate must come from a host that only AWS controls.
const DefaultCertHostPattern = `^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`

// Config is the CloudWatch-through-SNS alert source of one space.
type Config struct {
	// TopicARNs are the SNS topics whose messages this space accepts. A
	// correctly signed message is not enough on its own: anyone can create a
	// topic in their own account and have SNS sign what they publish to it.
	TopicARNs []string `yaml:"topic_arns"`

	// CertHostPattern is a regular expression, anchored with ^ and $, that the
	// host (with its port, if any) of SigningCertURL and SubscribeURL must
	// match. Empty means DefaultCertHostPattern.
	CertHostPattern string `yaml:"cert_host_pattern,omitempty"`
}

// Validate reports every problem in c at once, naming the YAML field.
func (c Config) Validate() error {
	var errs []error
	if len(c.TopicARNs) == 0 {
		errs = append(errs, errors.New("topic_arns: at least one SNS topic ARN is required"))
	}
	seen := make(map[string]bool, len(c.TopicARNs))
	for i, arn := range c.TopicARNs {
		if err := checkTopicARN(arn); err != nil {
			errs = append(errs, fmt.Errorf("topic_arns[%d]: %w", i, err))
			continue
		}
		if seen[arn] {
			errs = append(errs, fmt.Errorf("topic_arns[%d]: %q is listed twice", i, arn))
		}
		seen[arn] = true
	}
	if p := c.CertHostPattern; p != "" {
		// An unanchored pattern such as `amazonaws\.com` would also match
		// amazonaws.com.attacker.example, and the attacker's certificate
		// would then vouch for the attacker's messages.
		if !strings.HasPrefix(p, "^") || !strings.HasSuffix(p, "$") {
			errs = append(errs, errors.New("cert_host_pattern: must be anchored with ^ and $"))
		}
		if _, err := regexp.Compile(p); err != nil {
			errs = append(errs, fmt.Errorf("cert_host_pattern: %w", err))
		}
	}
	return errors.Join(errs...)
}

// checkTopicARN accepts arn:<partition>:sns:<rest>. It checks no more than
// the shape: the ARN is compared verbatim with each message's TopicArn, so
// any typo shows up as "topic not allowed" on the first delivery anyway.
func checkTopicARN(arn string) error {
	if arn == "" {
		return errors.New("empty topic ARN")
	}
	if strings.TrimSpace(arn) != arn {
		return fmt.Errorf("%q has surrounding whitespace", arn)
	}
	parts := strings.SplitN(arn, ":", 4)
	if len(parts) < 4 || parts[0] != "arn" || parts[1] == "" || parts[2] != "sns" || parts[3] == "" {
		return fmt.Errorf("%q is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)", arn)
	}
	return nil
}

func (c Config) hostPattern() (*regexp.Regexp, error) {
	p := c.CertHostPattern
	if p == "" {
		p = DefaultCertHostPattern
	}
	return regexp.Compile(p)
}
