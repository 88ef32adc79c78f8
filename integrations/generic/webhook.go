// Package generic is the alert source for anything that can send a signed
// JSON webhook. It speaks the generic webhook of the AWS DevOps Agent (same
// body fields, same x-amzn-event-* headers, same HMAC), so scripts and
// forwarders written for that service can point at Nightshift unchanged.
//
// Every delivery is authenticated (HMAC-SHA256 over the timestamp and the
// raw body, with a replay window) before its body is read. The package
// makes no requests of its own.
package generic

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/internal/hook"
)

var _ engine.AlertSource = (*Webhook)(nil)

// Headers of a signed delivery.
const (
	// SignatureHeader carries base64(HMAC-SHA256(secret, timestamp + ":" + body)).
	SignatureHeader = "X-Amzn-Event-Signature"
	// TimestampHeader carries the time the sender signed the delivery, as an
	// ISO-8601 time (what the AWS documentation and its examples send) or as
	// Unix seconds or milliseconds (what some hand-written senders send).
	TimestampHeader = "X-Amzn-Event-Timestamp"
)

// DefaultTolerance is how far the signing time may be from the time of
// arrival, either way, before a delivery counts as a replay.
const DefaultTolerance = 5 * time.Minute

// Option changes a Webhook's defaults.
type Option func(*Webhook)

// WithTolerance replaces DefaultTolerance.
func WithTolerance(d time.Duration) Option {
	return func(w *Webhook) { w.tolerance = d }
}

// Webhook authenticates and parses the generic webhook deliveries of one
// space. It is immutable once built and safe for concurrent use.
type Webhook struct {
	secret    []byte
	tolerance time.Duration
}

// NewWebhook validates cfg and returns the webhook for it.
func NewWebhook(cfg Config, opts ...Option) (*Webhook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("generic: %w", err)
	}
	w := &Webhook{secret: []byte(cfg.Secret), tolerance: DefaultTolerance}
	for _, o := range opts {
		o(w)
	}
	return w, nil
}

// Parse authenticates d and returns the one alert its body describes.
func (w *Webhook) Parse(_ context.Context, d engine.Delivery) ([]engine.Alert, error) {
	if err := w.authenticate(d); err != nil {
		return nil, err
	}
	var ev event
	if err := hook.DecodeObject(d.Body, &ev); err != nil {
		return nil, err
	}
	a, err := alertFrom(&ev, d)
	if err != nil {
		return nil, err
	}
	return []engine.Alert{a}, nil
}

func (w *Webhook) authenticate(d engine.Delivery) error {
	sig := strings.TrimSpace(d.Header.Get(SignatureHeader))
	if sig == "" {
		return engine.Unauthorized("missing signature")
	}
	// The timestamp is signed as sent, so it is used verbatim.
	ts := d.Header.Get(TimestampHeader)
	if strings.TrimSpace(ts) == "" {
		return engine.Unauthorized("missing timestamp")
	}
	// Padding is optional so that senders who strip it still verify.
	got, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(sig, "="))
	if err != nil {
		return unauthorized("bad signature", err)
	}
	msg := make([]byte, 0, len(ts)+1+len(d.Body))
	msg = append(append(append(msg, ts...), ':'), d.Body...)
	if !hmac.Equal(got, hook.HMACSHA256(w.secret, msg)) {
		return engine.Unauthorized("bad signature")
	}
	// Checked after the signature, so only a genuine sender learns that its
	// clock or its queue is the problem.
	signed, err := parseTime(ts)
	if err != nil {
		return unauthorized("bad timestamp", err)
	}
	if skew := d.Received.Sub(signed); skew > w.tolerance || skew < -w.tolerance {
		return engine.Unauthorized("stale timestamp")
	}
	return nil
}

func unauthorized(reason string, err error) error {
	e := engine.Unauthorized(reason)
	e.Err = err
	return e
}

// event is the body of a delivery.
type event struct {
	EventType   string          `json:"eventType"`
	Action      string          `json:"action"`
	Priority    string          `json:"priority"`
	IncidentID  json.RawMessage `json:"incidentId"` // a string, or a number from senders with numeric ids
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Service     string          `json:"service"`
	Timestamp   string          `json:"timestamp"`
	Data        json.RawMessage `json:"data"`
}

// eventData is what Nightshift reads of data, which is free-form for the
// DevOps Agent: other keys are ignored (and kept in Alert.Raw).
type eventData struct {
	Resource  string            `json:"resource"`
	Resources []string          `json:"resources"`
	Region    string            `json:"region"`
	Account   string            `json:"account"`
	Component string            `json:"component"`
	Labels    map[string]string `json:"labels"`
	Links     json.RawMessage   `json:"links"`
}

func alertFrom(ev *event, d engine.Delivery) (engine.Alert, error) {
	id, err := incidentID(ev.IncidentID)
	if err != nil {
		return engine.Alert{}, err
	}
	var dt *eventData
	if len(ev.Data) > 0 && string(ev.Data) != "null" {
		dt = new(eventData)
		if err := hook.DecodeObjectAt("data", ev.Data, dt); err != nil {
			return engine.Alert{}, err
		}
	}
	title := strings.TrimSpace(ev.Title)
	if title == "" {
		return engine.Alert{}, engine.Invalid("title", "required")
	}
	a := engine.Alert{
		Source:      engine.SourceGeneric,
		Fingerprint: "generic:" + id,
		Title:       title,
		Description: strings.TrimSpace(ev.Description),
		Severity:    severity(ev.Priority),
		Status:      engine.AlertFiring,
		Service:     strings.TrimSpace(ev.Service),
		StartsAt:    d.Received,
		Raw:         json.RawMessage(bytes.Clone(d.Body)),
	}

	// A retry repeats the event time and kind, so it gets the same delivery
	// id. The time is normalised because a sender that re-serialises may
	// write it differently; the kind is kept because some senders stamp
	// every event of an incident with the incident's start, and a closing
	// event must not pass for a retry of the opening one.
	var occurrence []string
	if ev.Timestamp != "" {
		t, err := parseTime(ev.Timestamp)
		if err != nil {
			return engine.Alert{}, engine.Invalid("timestamp", "not an ISO-8601 time or a Unix time")
		}
		a.StartsAt = t
		occurrence = append(occurrence, t.Format(time.RFC3339Nano))
	}
	if kind := strings.Join(nonEmpty(ev.EventType, ev.Action), "/"); kind != "" {
		occurrence = append(occurrence, kind)
	}
	if len(occurrence) == 0 {
		occurrence = []string{"event"}
	}
	a.DeliveryID = id + ":" + strings.Join(occurrence, ":")

	if resolved(ev.Action) || resolved(ev.EventType) {
		a.Status = engine.AlertResolved
		a.EndsAt = a.StartsAt
	}

	if dt != nil {
		for _, r := range append([]string{dt.Resource}, dt.Resources...) {
			if r = strings.TrimSpace(r); r != "" && !slices.Contains(a.Resources, r) {
				a.Resources = append(a.Resources, r)
			}
		}
		// Labels fill in what the sender did not say outright, by the
		// conventions every Nightshift source shares.
		t := hook.TargetFromLabels(dt.Labels)
		if len(a.Resources) == 0 {
			a.Resources = t.Resources
		}
		a.Service = firstOf(a.Service, t.Service)
		a.Component = firstOf(dt.Component, t.Component)
		a.Region = firstOf(dt.Region, t.Region)
		a.Account = firstOf(dt.Account, t.Account)
		if arn := strings.SplitN(firstOf(a.Resources...), ":", 6); len(arn) == 6 && arn[0] == "arn" {
			a.Region = firstOf(a.Region, arn[3])
			a.Account = firstOf(a.Account, arn[4])
		}
		if len(dt.Labels) > 0 {
			a.Labels = dt.Labels
		}
		if len(dt.Links) > 0 && string(dt.Links) != "null" {
			var links []json.RawMessage
			if err := json.Unmarshal(dt.Links, &links); err != nil {
				return engine.Alert{}, engine.Invalid("data.links", "expected a list of URLs or {\"text\", \"url\"} objects")
			}
			for _, raw := range links {
				a.Links = appendLink(a.Links, raw)
			}
		}
	}
	return a, nil
}

func incidentID(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", engine.Invalid("incidentId", "required")
	}
	var id string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &id); err != nil {
			return "", engine.Invalid("incidentId", "not a string")
		}
	} else {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", engine.Invalid("incidentId", "expected a string or a number")
		}
		id = n.String()
	}
	if id = strings.TrimSpace(id); id == "" {
		return "", engine.Invalid("incidentId", "required")
	}
	return id, nil
}

// severity maps the DevOps Agent priorities (CRITICAL, HIGH, MEDIUM, LOW,
// MINIMAL) and every spelling engine.ParseSeverity knows.
func severity(priority string) engine.Severity {
	if strings.EqualFold(strings.TrimSpace(priority), "minimal") {
		return engine.SeverityInfo
	}
	return engine.ParseSeverity(priority)
}

func resolved(v string) bool {
	v = strings.TrimSpace(v)
	return strings.EqualFold(v, "resolved") || strings.EqualFold(v, "closed")
}

// appendLink adds one entry of data.links, a URL or {"text", "url"}.
// Entries that are neither, or whose URL is not absolute http(s), are
// dropped as every source drops them: an alert with a broken link is still
// an alert.
func appendLink(links []engine.Link, raw json.RawMessage) []engine.Link {
	var l engine.Link
	if err := json.Unmarshal(raw, &l.URL); err != nil {
		if err := json.Unmarshal(raw, &l); err != nil {
			return links
		}
	}
	return hook.AppendLink(links, strings.TrimSpace(l.Text), l.URL)
}

// parseTime reads an ISO-8601 time (with a zone offset, or without one,
// which is taken as UTC: Python's datetime.utcnow().isoformat() writes no
// zone) or a Unix time in seconds or milliseconds.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, ok := parseUnix(s); ok {
		return t, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("parse time %q", s)
}

// parseUnix reads "1718000000", "1718000000.123" or "1718000000123".
func parseUnix(s string) (time.Time, bool) {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 15 || !digits(whole) || !digits(frac) || (dot && frac == "") {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	if len(frac) > 9 {
		frac = frac[:9]
	}
	nanos, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	// 1e12 seconds is 33 000 years away; 1e12 milliseconds was 2001.
	if n >= 1e12 {
		return time.UnixMilli(n).Add(time.Duration(nanos / 1000)).UTC(), true
	}
	return time.Unix(n, nanos).UTC(), true
}

func digits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// firstOf returns the first of ss that is not blank, trimmed.
func firstOf(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
