// Package pagerduty is Nightshift's intake for PagerDuty V3 webhooks: it
// verifies a delivery's X-PagerDuty-Signature and turns the incident it
// describes into an engine.Alert.
//
// It must not call PagerDuty (a delivery is judged by what it carries, so
// that intake works with no API key and cannot be slowed by PagerDuty), must
// not look at a body before its signature is verified, and must not put a
// secret in an error: the Unauthorized reasons are returned to the sender.
package pagerduty

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/internal/hook"
)

// SignatureHeader carries the delivery's signatures: "v1=<hex>", several
// comma-separated while a subscription's secret is being rotated.
const SignatureHeader = "X-PagerDuty-Signature"

// Webhook authenticates and parses the V3 webhook deliveries of one space.
// It holds no mutable state and is safe for concurrent use.
type Webhook struct {
	secret []byte
}

var _ engine.AlertSource = (*Webhook)(nil)

// NewWebhook returns the intake for cfg, or cfg's validation errors.
func NewWebhook(cfg Config) (*Webhook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("pagerduty webhook: %w", err)
	}
	return &Webhook{secret: []byte(cfg.Secret)}, nil
}

// Parse verifies d's signature, then returns the incident it describes as
// one alert. Events that are not about an incident's lifecycle (a note, a
// responder request, a service change) give no alert and no error, so that a
// subscription to every event type does not make PagerDuty retry them.
func (w *Webhook) Parse(_ context.Context, d engine.Delivery) ([]engine.Alert, error) {
	if err := w.verify(d); err != nil {
		return nil, err
	}

	var env struct {
		Event    json.RawMessage `json:"event"`
		Messages json.RawMessage `json:"messages"`
	}
	if err := hook.DecodeObject(d.Body, &env); err != nil {
		return nil, err
	}
	if isNull(env.Event) {
		if !isNull(env.Messages) {
			return nil, engine.Invalid("event", "legacy V2 webhook not supported; use a V3 webhook subscription")
		}
		return nil, engine.Invalid("event", "missing")
	}

	var ev event
	if err := hook.DecodeObjectAt("event", env.Event, &ev); err != nil {
		return nil, err
	}
	occurred, err := parseTime("event.occurred_at", ev.OccurredAt)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(ev.EventType, "incident.") {
		return nil, nil // service.*, and whatever PagerDuty adds next
	}
	if isNull(ev.Data) {
		return nil, engine.Invalid("event.data", "missing")
	}
	var peek struct {
		Type string `json:"type"`
	}
	if err := hook.DecodeObjectAt("event.data", ev.Data, &peek); err != nil {
		return nil, err
	}
	if peek.Type != "incident" && (peek.Type != "" || !slices.Contains(incidentEvents, ev.EventType)) {
		return nil, nil // incident.annotated carries an incident_note, and so on
	}

	var inc incident
	if err := hook.DecodeObjectAt("event.data", ev.Data, &inc); err != nil {
		return nil, err
	}
	if inc.ID == "" {
		return nil, engine.Invalid("event.data.id", "missing")
	}
	created, err := parseTime("event.data.created_at", inc.CreatedAt)
	if err != nil {
		return nil, err
	}
	return []engine.Alert{alertFor(d, ev, inc, occurred, created)}, nil
}

// incidentEvents are the event types whose data is an incident (the Event
// Types table of PagerDuty's V3 webhook docs), for payloads that leave out
// data.type.
var incidentEvents = []string{
	"incident.acknowledged", "incident.delegated", "incident.escalated",
	"incident.incident_type.changed", "incident.priority_updated",
	"incident.reassigned", "incident.reopened", "incident.resolved",
	"incident.service_updated", "incident.triggered", "incident.unacknowledged",
}

// verify checks the delivery's signatures against the secret. PagerDuty signs
// the raw body; any one matching v1 signature passes, so that deliveries
// keep flowing while a secret is rotated. Signatures of other versions are
// skipped, as PagerDuty's docs ask, so a future v2 does not break intake.
func (w *Webhook) verify(d engine.Delivery) error {
	h := d.Header.Get(SignatureHeader)
	if strings.TrimSpace(h) == "" {
		return engine.Unauthorized("missing " + SignatureHeader + " header")
	}
	var sigs [][]byte
	for part := range strings.SplitSeq(h, ",") {
		v, ok := strings.CutPrefix(strings.TrimSpace(part), "v1=")
		if !ok {
			continue
		}
		sig, err := hex.DecodeString(v)
		if err != nil || len(sig) != 32 {
			continue
		}
		sigs = append(sigs, sig)
	}
	if len(sigs) == 0 {
		return engine.Unauthorized("malformed " + SignatureHeader + " header")
	}
	want := hook.HMACSHA256(w.secret, d.Body)
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			return nil
		}
	}
	return engine.Unauthorized("bad signature")
}

type event struct {
	ID           string          `json:"id"`
	EventType    string          `json:"event_type"`
	ResourceType string          `json:"resource_type"`
	OccurredAt   string          `json:"occurred_at"`
	Agent        *reference      `json:"agent"`
	Data         json.RawMessage `json:"data"`
}

// reference is PagerDuty's reference object (user, service, team, priority).
type reference struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Summary string `json:"summary"`
	HTMLURL string `json:"html_url"`
}

type incident struct {
	ID               string      `json:"id"`
	Type             string      `json:"type"`
	HTMLURL          string      `json:"html_url"`
	Number           json.Number `json:"number"`
	Status           string      `json:"status"`
	IncidentKey      string      `json:"incident_key"`
	CreatedAt        string      `json:"created_at"`
	Title            string      `json:"title"`
	Service          *reference  `json:"service"`
	Assignees        []reference `json:"assignees"`
	EscalationPolicy *reference  `json:"escalation_policy"`
	Teams            []reference `json:"teams"`
	Priority         *reference  `json:"priority"`
	Urgency          string      `json:"urgency"`
	ConferenceBridge *struct {
		ConferenceURL string `json:"conference_url"`
	} `json:"conference_bridge"`
	IncidentType *struct {
		Name string `json:"name"`
	} `json:"incident_type"`

	// Not in V3 webhook payloads today, but in the REST API's incident (with
	// include[]=alerts) and in custom incident actions: the alert bodies
	// carry the custom_details that name a resource.
	Alerts json.RawMessage `json:"alerts"`
	Body   json.RawMessage `json:"body"`
}

func alertFor(d engine.Delivery, ev event, inc incident, occurred, created time.Time) engine.Alert {
	a := engine.Alert{
		Source:      engine.SourcePagerDuty,
		DeliveryID:  ev.ID,
		Fingerprint: engine.SourcePagerDuty + ":" + inc.ID,
		Title:       inc.Title,
		Status:      engine.AlertFiring,
		Raw:         json.RawMessage(bytes.Clone(d.Body)), // stored; not aliasing the caller's buffer
	}
	if a.Title == "" {
		a.Title = "PagerDuty incident " + incidentName(inc)
	}
	if ev.EventType == "incident.resolved" || inc.Status == "resolved" {
		a.Status = engine.AlertResolved
	}

	// Priority is what a responder set (P1..P5 or a custom name); urgency is
	// only high/low, so it decides when no priority is set.
	if inc.Priority != nil {
		a.Severity = engine.ParseSeverity(inc.Priority.Summary)
	}
	if a.Severity == "" || a.Severity == engine.SeverityUnknown {
		a.Severity = engine.ParseSeverity(inc.Urgency)
	}

	if inc.Service != nil {
		a.Service = serviceName(inc.Service.Summary)
	}
	details := customDetails(inc)
	t := hook.TargetFromLabels(details)
	a.Resources, a.Component, a.Account, a.Region = t.Resources, t.Component, t.Account, t.Region
	if a.Service == "" {
		a.Service = t.Service
	}
	a.Labels = labelsFor(ev, inc, details)
	a.Description = describe(inc)

	// created_at is when the incident opened; older payloads lack it, and
	// then this event's time is the best the sender gives.
	switch {
	case !created.IsZero():
		a.StartsAt = created
	case !occurred.IsZero():
		a.StartsAt = occurred
	default:
		a.StartsAt = d.Received
	}
	if a.Status == engine.AlertResolved {
		a.EndsAt = occurred
		if a.EndsAt.IsZero() {
			a.EndsAt = d.Received
		}
	}

	a.Links = hook.AppendLink(a.Links, "PagerDuty incident", inc.HTMLURL)
	if inc.ConferenceBridge != nil {
		a.Links = hook.AppendLink(a.Links, "Conference bridge", inc.ConferenceBridge.ConferenceURL)
	}
	return a
}

func incidentName(inc incident) string {
	if inc.Number != "" {
		return "#" + inc.Number.String()
	}
	return inc.ID
}

// serviceName turns a PagerDuty service name ("Checkout API") into the
// label-style name other senders use for the same service ("checkout-api").
func serviceName(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), "-")
}

func describe(inc incident) string {
	var b strings.Builder
	fmt.Fprintf(&b, "PagerDuty incident %s", incidentName(inc))
	if inc.Service != nil && inc.Service.Summary != "" {
		fmt.Fprintf(&b, " on %s", inc.Service.Summary)
	}
	var facts []string
	if inc.Status != "" {
		facts = append(facts, "status "+inc.Status)
	}
	if inc.Urgency != "" {
		facts = append(facts, "urgency "+inc.Urgency)
	}
	if inc.Priority != nil && inc.Priority.Summary != "" {
		facts = append(facts, "priority "+inc.Priority.Summary)
	}
	if names := summaries(inc.Assignees); names != "" {
		facts = append(facts, "assigned to "+names)
	}
	if len(facts) > 0 {
		b.WriteString(": " + strings.Join(facts, ", "))
	}
	b.WriteString(".")
	return b.String()
}

// labelsFor flattens what identifies the incident in PagerDuty. PagerDuty
// has no labels of its own; custom details (when present) are the closest
// thing and are added under their own names without overriding these.
func labelsFor(ev event, inc incident, details map[string]string) map[string]string {
	l := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			l[k] = v
		}
	}
	set("event_type", ev.EventType)
	set("incident_id", inc.ID)
	set("incident_number", inc.Number.String())
	set("incident_key", inc.IncidentKey)
	set("incident_status", inc.Status)
	set("urgency", inc.Urgency)
	if inc.Priority != nil {
		set("priority", inc.Priority.Summary)
	}
	if inc.Service != nil {
		set("service_id", inc.Service.ID)
		set("service_name", inc.Service.Summary)
	}
	if inc.EscalationPolicy != nil {
		set("escalation_policy", inc.EscalationPolicy.Summary)
	}
	if inc.IncidentType != nil {
		set("incident_type", inc.IncidentType.Name)
	}
	set("teams", summaries(inc.Teams))
	set("assignees", summaries(inc.Assignees))
	for k, v := range details {
		if _, taken := l[k]; !taken {
			set(k, v)
		}
	}
	return l
}

func summaries(refs []reference) string {
	var s []string
	for _, r := range refs {
		if r.Summary != "" {
			s = append(s, r.Summary)
		}
	}
	return strings.Join(s, ", ")
}

// customDetails returns the string-valued custom details of the incident's
// first alert (or of the incident body), where the sender of the original
// event put "resource", "namespace", "host" and the like. Their shape is
// whatever the event sender chose, so anything unexpected is skipped rather
// than rejected: a page with odd details is still a page.
func customDetails(inc incident) map[string]string {
	var bodies []json.RawMessage
	var alerts []struct {
		Body json.RawMessage `json:"body"`
	}
	if json.Unmarshal(inc.Alerts, &alerts) == nil && len(alerts) > 0 {
		bodies = append(bodies, alerts[0].Body)
	}
	bodies = append(bodies, inc.Body)
	for _, raw := range bodies {
		var body struct {
			Details       json.RawMessage `json:"details"`
			CustomDetails json.RawMessage `json:"custom_details"`
			CEFDetails    struct {
				Details json.RawMessage `json:"details"`
			} `json:"cef_details"`
		}
		if json.Unmarshal(raw, &body) != nil {
			continue
		}
		for _, c := range []json.RawMessage{body.CustomDetails, body.Details, body.CEFDetails.Details} {
			if m := stringMap(c); len(m) > 0 {
				return m
			}
		}
	}
	return nil
}

// stringMap returns the string and number members of a JSON object.
func stringMap(raw json.RawMessage) map[string]string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil
	}
	m := map[string]string{}
	for k, v := range obj {
		var s string
		if json.Unmarshal(v, &s) == nil {
			m[k] = s
			continue
		}
		var n json.Number
		if json.Unmarshal(v, &n) == nil {
			m[k] = n.String()
		}
	}
	return m
}

func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		// The value is not echoed: errors go back to the sender and into
		// logs, and need not carry arbitrary sender text to be useful.
		return time.Time{}, engine.Invalid(field, "not an RFC 3339 time")
	}
	return t, nil
}

func isNull(raw json.RawMessage) bool {
	t := strings.TrimSpace(string(raw))
	return t == "" || t == "null"
}
