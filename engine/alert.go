package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// Source names, as they appear in webhook paths (/hooks/{space}/{source}).
const (
	SourcePagerDuty    = "pagerduty"
	SourceAlertmanager = "alertmanager"
	SourceGrafana      = "grafana"
	SourceDatadog      = "datadog"
	SourceCloudWatch   = "cloudwatch"
	SourceGeneric      = "generic"
	SourceChat         = "chat" // a message in an alert channel, a mention or a slash command
)

// Severity is a normalised alert severity.
type Severity string

// Severities, most severe first.
const (
	SeverityCritical Severity = "critical"
	SeverityError    Severity = "error"
	SeverityWarning  Severity = "warning"
	SeverityInfo     Severity = "info"
	SeverityUnknown  Severity = "unknown"
)

// ParseSeverity maps the many spellings senders use (P1, sev2, high, crit,
// warn, SEV-3, error, ...) onto a Severity. Unknown spellings give
// SeverityUnknown, never an error: a page with an odd severity is still a page.
func ParseSeverity(s string) Severity {
	v := strings.ToLower(strings.TrimSpace(s))
	v = strings.NewReplacer("-", "", "_", "", " ", "").Replace(v)
	switch v {
	case "critical", "crit", "p1", "sev1", "sev0", "p0", "fatal", "emergency", "emerg", "alert", "page", "disaster":
		return SeverityCritical
	case "error", "err", "high", "major", "p2", "sev2":
		return SeverityError
	case "warning", "warn", "medium", "moderate", "minor", "p3", "sev3", "average":
		return SeverityWarning
	case "info", "informational", "low", "notice", "p4", "p5", "sev4", "sev5", "ok", "debug":
		return SeverityInfo
	}
	return SeverityUnknown
}

// AlertStatus says whether the condition behind an alert holds.
type AlertStatus string

// Alert statuses.
const (
	AlertFiring   AlertStatus = "firing"
	AlertResolved AlertStatus = "resolved"
)

// Link is a URL that comes with an alert (runbook, dashboard, the sender's page).
type Link struct {
	Text string `json:"text,omitempty"`
	URL  string `json:"url"`
}

// Alert is one normalised alert from any source. Sources fill what their
// payload carries; Intake fills ID, Space, ReceivedAt, and derives DeliveryID
// and Fingerprint when a source could not.
type Alert struct {
	ID          string            `json:"id"`
	Space       string            `json:"space"`
	Source      string            `json:"source"`
	DeliveryID  string            `json:"delivery_id"` // the sender's id of this delivery; same id = redelivery
	Fingerprint string            `json:"fingerprint"` // stable identity of the condition across deliveries
	Title       string            `json:"title"`
	Description string            `json:"description,omitempty"`
	Severity    Severity          `json:"severity"`
	Status      AlertStatus       `json:"status"`
	Resources   []string          `json:"resources,omitempty"` // resource references: ARNs, k8s paths, host names
	Service     string            `json:"service,omitempty"`
	Component   string            `json:"component,omitempty"`
	Account     string            `json:"account,omitempty"`
	Region      string            `json:"region,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	StartsAt    time.Time         `json:"starts_at"`
	EndsAt      time.Time         `json:"ends_at,omitzero"`
	ReceivedAt  time.Time         `json:"received_at"`
	Links       []Link            `json:"links,omitempty"`
	Raw         json.RawMessage   `json:"raw,omitempty"` // the sender's payload for this alert, as received

	Investigation string `json:"investigation,omitempty"` // set once correlated
}

// PrimaryResource is the resource the alert is about, or "" when it names none.
func (a *Alert) PrimaryResource() string {
	if len(a.Resources) > 0 {
		return a.Resources[0]
	}
	return ""
}

// Firing reports whether the alert's condition holds.
func (a *Alert) Firing() bool { return a.Status != AlertResolved }

// StructuredFingerprint derives a fingerprint from the structured identity of
// an alert: its source, the rule that fired (rule), and its target (resources
// and identifying labels). It never looks at free text such as a description,
// so two alerts from one rule about different resources get different
// fingerprints, and an alert whose message text changes keeps its own.
func StructuredFingerprint(source, rule string, resources []string, labels map[string]string) string {
	h := sha256.New()
	write := func(s string) { h.Write([]byte(s)); h.Write([]byte{0}) }
	write(source)
	write(rule)
	rs := append([]string(nil), resources...)
	sort.Strings(rs)
	for _, r := range rs {
		write("r=" + r)
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		write("l=" + k + "=" + labels[k])
	}
	return source + ":" + hex.EncodeToString(h.Sum(nil))[:32]
}

// ContentID is a short stable digest of some bytes, used as a delivery id when
// a sender gives none (a redelivery of the same body is then recognised).
func ContentID(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}
