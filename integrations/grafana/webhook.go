// Package grafana is Nightshift's intake for Grafana Alerting's webhook
// contact point: it checks the bearer token and/or the HMAC signature
// (hmacConfig) and turns each alert of a notification into an engine.Alert.
//
// It must not call Grafana (a delivery is judged by what it carries), must
// not look at a body before the credentials are checked, and must not put a
// token or secret in an error: the Unauthorized reasons go back to the
// sender.
package grafana

import (
	"context"
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/internal/hook"
)

// legacySignatureHeader is the default header name in the first release of
// Grafana's HMAC signing (grafana/alerting http/hmac.go, later renamed to
// DefaultSignatureHeader). It is accepted when the configuration names no
// header, so that a contact point left on the default works on either side
// of the rename.
const legacySignatureHeader = "X-Grafana-Alert-Signature"

// Webhook authenticates and parses the deliveries of one space's Grafana
// contact point. It holds no mutable state and is safe for concurrent use.
type Webhook struct {
	token           string
	secret          []byte
	signatureHeader string
	legacyHeader    bool // also look for legacySignatureHeader
	timestampHeader string
	maxSkew         time.Duration
}

var _ engine.AlertSource = (*Webhook)(nil)

// NewWebhook returns the intake for cfg, or cfg's validation errors.
func NewWebhook(cfg Config) (*Webhook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("grafana webhook: %w", err)
	}
	w := &Webhook{
		token:           cfg.Token,
		signatureHeader: cfg.SignatureHeader,
		timestampHeader: cfg.TimestampHeader,
		maxSkew:         cfg.MaxSkew,
	}
	if cfg.Secret != "" {
		w.secret = []byte(cfg.Secret)
	}
	if w.signatureHeader == "" {
		w.signatureHeader = DefaultSignatureHeader
		w.legacyHeader = true
	}
	if w.maxSkew == 0 {
		w.maxSkew = DefaultMaxSkew
	}
	return w, nil
}

// payload is Grafana's webhook body: Alertmanager's version 4 body plus
// Grafana's fields (version "1").
type payload struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Title             string            `json:"title"`
	State             string            `json:"state"`
	Message           string            `json:"message"`

	// Kept raw so that each engine.Alert carries its own element, as sent.
	Alerts []json.RawMessage `json:"alerts"`
}

// alert is one element of alerts. values is left out on purpose: its
// numbers are in valueString too, and an odd value must not reject a page.
type alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	SilenceURL   string            `json:"silenceURL"`
	DashboardURL string            `json:"dashboardURL"`
	PanelURL     string            `json:"panelURL"`
	ImageURL     string            `json:"imageURL"`
	ValueString  string            `json:"valueString"`
}

// Parse checks d's credentials, then returns one alert per element of the
// payload's alerts, in order.
func (w *Webhook) Parse(_ context.Context, d engine.Delivery) ([]engine.Alert, error) {
	if err := w.authenticate(d); err != nil {
		return nil, err
	}
	var p payload
	if err := hook.DecodeObject(d.Body, &p); err != nil {
		return nil, err
	}
	if err := hook.CheckStatus("status", p.Status); err != nil {
		return nil, err
	}
	return hook.EachAlert(p.Alerts, func(path string, el alert) (engine.Alert, error) {
		return convert(d, p, el, path)
	})
}

// authenticate requires each credential the configuration has.
func (w *Webhook) authenticate(d engine.Delivery) error {
	if err := hook.CheckBearer(d.Header, w.token); err != nil {
		return err
	}
	if w.secret == nil {
		return nil
	}
	name, value := w.signatureHeader, d.Header.Get(w.signatureHeader)
	if value == "" && w.legacyHeader {
		value = d.Header.Get(legacySignatureHeader)
	}
	if strings.TrimSpace(value) == "" {
		return engine.Unauthorized("missing " + name + " header")
	}
	sig, err := hex.DecodeString(strings.TrimSpace(value))
	if err != nil || len(sig) != 32 {
		return engine.Unauthorized("malformed " + name + " header")
	}

	// Grafana signs "<timestamp>:<body>" when it sends a timestamp, the
	// body alone otherwise (grafana/alerting http/hmac.go).
	signed := d.Body
	if w.timestampHeader != "" {
		ts := d.Header.Get(w.timestampHeader)
		if ts == "" {
			return engine.Unauthorized("missing " + w.timestampHeader + " header")
		}
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return engine.Unauthorized("malformed " + w.timestampHeader + " header")
		}
		now := d.Received
		if now.IsZero() {
			now = time.Now()
		}
		if skew := now.Sub(time.Unix(sec, 0)); skew > w.maxSkew || skew < -w.maxSkew {
			return engine.Unauthorized("stale " + w.timestampHeader + " header")
		}
		signed = make([]byte, 0, len(ts)+1+len(d.Body))
		signed = append(append(append(signed, ts...), ':'), d.Body...)
	}
	if !hmac.Equal(sig, hook.HMACSHA256(w.secret, signed)) {
		return engine.Unauthorized("bad signature")
	}
	return nil
}

func convert(d engine.Delivery, p payload, el alert, path string) (engine.Alert, error) {
	if err := hook.CheckStatus(path+".status", el.Status); err != nil {
		return engine.Alert{}, err
	}
	startsAt, err := hook.ParseTime(path+".startsAt", el.StartsAt)
	if err != nil {
		return engine.Alert{}, err
	}
	endsAt, err := hook.ParseTime(path+".endsAt", el.EndsAt)
	if err != nil {
		return engine.Alert{}, err
	}

	// commonLabels is the intersection of the alerts' labels: merging it in
	// changes nothing for what Grafana sends and fills in hand-made payloads.
	labels := hook.Merge(p.CommonLabels, el.Labels)
	annotations := hook.Merge(p.CommonAnnotations, el.Annotations)
	t := hook.TargetFromLabels(labels)
	alertname := labels["alertname"]

	a := engine.Alert{
		Source:      engine.SourceGrafana,
		Title:       annotations["summary"],
		Description: hook.First(annotations, "description", "message"),
		Severity:    engine.ParseSeverity(labels["severity"]),
		Status:      status(el.Status, p.Status, p.State),
		Resources:   t.Resources,
		Service:     t.Service,
		Component:   t.Component,
		Account:     t.Account,
		Region:      t.Region,
		Labels:      labels,
		StartsAt:    startsAt,
	}
	if a.Title == "" && alertname != "" {
		a.Title = alertname
		if r := a.PrimaryResource(); r != "" {
			a.Title += " on " + r
		}
	}
	if a.Title == "" {
		a.Title = p.Title // the group's rendered title, "[FIRING:1] ..."
	}
	if a.Title == "" {
		a.Title = "Grafana alert"
	}
	// The query values that crossed the threshold are the first evidence an
	// on-call engineer asks for; Grafana gives them only as text.
	if el.ValueString != "" {
		if a.Description != "" {
			a.Description += "\n\n"
		}
		a.Description += "Value: " + el.ValueString
	}
	if a.StartsAt.IsZero() {
		a.StartsAt = d.Received
	}
	if a.Status == engine.AlertResolved {
		a.EndsAt = endsAt
		if a.EndsAt.IsZero() {
			a.EndsAt = d.Received
		}
	}

	// Grafana's fingerprint is a hash of the alert instance's labels: the
	// same for firing and resolved notifications of one instance.
	if el.Fingerprint != "" {
		a.Fingerprint = engine.SourceGrafana + ":" + el.Fingerprint
	} else {
		a.Fingerprint = engine.StructuredFingerprint(engine.SourceGrafana, alertname, a.Resources, hook.Without(labels, "alertname"))
	}

	a.Links = hook.AppendLink(a.Links, "Alert rule", el.GeneratorURL)
	a.Links = hook.AppendLink(a.Links, "Dashboard", el.DashboardURL)
	a.Links = hook.AppendLink(a.Links, "Panel", el.PanelURL)
	a.Links = hook.AppendLink(a.Links, "Runbook", hook.First(annotations, "runbook_url", "runbook"))
	a.Links = hook.AppendLink(a.Links, "Silence", el.SilenceURL)
	a.Links = hook.AppendLink(a.Links, "Image", el.ImageURL)
	return a, nil
}

// status is the alert's own status, else its group's, else what Grafana's
// legacy group state says ("ok" once every alert has resolved).
func status(own, group, state string) engine.AlertStatus {
	switch {
	case own != "":
		return engine.AlertStatus(own)
	case group != "":
		return engine.AlertStatus(group)
	}
	switch strings.ToLower(state) {
	case "ok", "resolved", "normal":
		return engine.AlertResolved
	}
	return engine.AlertFiring
}
