// Package alertmanager is Nightshift's intake for Prometheus Alertmanager's
// webhook receiver (payload version 4): it checks the bearer token and turns
// each alert of a notification group into an engine.Alert.
//
// It must not call Alertmanager or Prometheus (a delivery is judged by what
// it carries), must not look at a body before the token is checked, and must
// not put the token in an error: the Unauthorized reasons go back to the
// sender.
package alertmanager

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/internal/hook"
)

// Webhook authenticates and parses the deliveries of one space's
// Alertmanager receiver. It holds no mutable state and is safe for
// concurrent use.
type Webhook struct {
	token string
}

var _ engine.AlertSource = (*Webhook)(nil)

// NewWebhook returns the intake for cfg, or cfg's validation errors.
func NewWebhook(cfg Config) (*Webhook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("alertmanager webhook: %w", err)
	}
	return &Webhook{token: cfg.Token}, nil
}

// payload is Alertmanager's webhook body, version 4.
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

	// Kept raw so that each engine.Alert carries its own element, as sent.
	Alerts []json.RawMessage `json:"alerts"`
}

type alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Parse checks d's bearer token, then returns one alert per element of the
// payload's alerts, in order. A group with no alerts is malformed: Alertmanager
// never sends one.
func (w *Webhook) Parse(_ context.Context, d engine.Delivery) ([]engine.Alert, error) {
	if err := hook.CheckBearer(d.Header, w.token); err != nil {
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

	// commonLabels is the intersection of the group's alert labels, so this
	// changes nothing for what Alertmanager sends; it fills in hand-written
	// and older payloads whose alerts leave the shared labels out.
	labels := hook.Merge(p.CommonLabels, el.Labels)
	annotations := hook.Merge(p.CommonAnnotations, el.Annotations)
	t := hook.TargetFromLabels(labels)
	alertname := labels["alertname"]

	a := engine.Alert{
		Source:      engine.SourceAlertmanager,
		Title:       annotations["summary"],
		Description: hook.First(annotations, "description", "message"),
		Severity:    engine.ParseSeverity(labels["severity"]),
		Status:      status(el.Status, p.Status, endsAt, d.Received),
		Resources:   t.Resources,
		Service:     t.Service,
		Component:   t.Component,
		Account:     t.Account,
		Region:      t.Region,
		Labels:      labels,
		StartsAt:    startsAt,
	}
	if a.Title == "" {
		a.Title = alertname
		if r := a.PrimaryResource(); r != "" && a.Title != "" {
			a.Title += " on " + r
		}
	}
	if a.Title == "" {
		a.Title = "Alertmanager alert"
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

	// Alertmanager's fingerprint is a hash of the alert's labels: the same
	// for every notification about the alert, firing or resolved, from
	// every replica of an HA pair.
	if el.Fingerprint != "" {
		a.Fingerprint = engine.SourceAlertmanager + ":" + el.Fingerprint
	} else {
		a.Fingerprint = engine.StructuredFingerprint(engine.SourceAlertmanager, alertname, a.Resources, hook.Without(labels, "alertname"))
	}

	a.Links = hook.AppendLink(a.Links, "Source", el.GeneratorURL)
	a.Links = hook.AppendLink(a.Links, "Runbook", hook.First(annotations, "runbook_url", "runbook"))
	a.Links = hook.AppendLink(a.Links, "Dashboard", hook.First(annotations, "dashboard_url", "dashboard"))
	a.Links = hook.AppendLink(a.Links, "Alertmanager", p.ExternalURL)
	return a, nil
}

// status is the alert's own status, else its group's (older Alertmanagers
// sent no per-alert status), else what its end time says.
func status(own, group string, endsAt, received time.Time) engine.AlertStatus {
	switch {
	case own != "":
		return engine.AlertStatus(own)
	case group != "":
		return engine.AlertStatus(group)
	case !endsAt.IsZero() && !endsAt.After(received):
		return engine.AlertResolved
	}
	return engine.AlertFiring
}
