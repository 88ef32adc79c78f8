// Package datadog is Nightshift's intake for Datadog's Webhooks integration:
// it checks the shared token the webhook's custom headers carry and turns the
// notification into an engine.Alert.
//
// A Datadog webhook body is a template the user writes, so this package reads
// it leniently: it knows the variables of Datadog's default payload and of the
// common extended templates ($ALERT_ID, $ALERT_TRANSITION, $ALERT_SCOPE,
// $TAGS, ...), takes strings or numbers alike, and treats a variable Datadog
// left unrendered ("$ALERT_ID") as absent. It must not call Datadog (a
// delivery is judged by what it carries), must not look at a body before the
// token is checked, and must not put the token in an error: the Unauthorized
// reasons go back to the sender.
package datadog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/internal/hook"
)

// Webhook authenticates and parses the deliveries of one space's Datadog
// webhook. It holds no mutable state and is safe for concurrent use.
type Webhook struct {
	token  string
	header string // "" for Authorization: Bearer
}

var _ engine.AlertSource = (*Webhook)(nil)

// NewWebhook returns the intake for cfg, or cfg's validation errors.
func NewWebhook(cfg Config) (*Webhook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("datadog webhook: %w", err)
	}
	w := &Webhook{token: cfg.Token}
	if !cfg.bearer() {
		w.header = cfg.Header
	}
	return w, nil
}

// Parse checks d's token, then returns the one alert the notification is
// about. Datadog's test notifications ("[TEST]" in the title) are alerts too:
// they are how an operator checks the wiring end to end.
func (w *Webhook) Parse(_ context.Context, d engine.Delivery) ([]engine.Alert, error) {
	var err error
	if w.header == "" {
		err = hook.CheckBearer(d.Header, w.token)
	} else {
		err = hook.CheckHeaderToken(d.Header, w.header, w.token)
	}
	if err != nil {
		return nil, err
	}
	var f fields
	if err := hook.DecodeObject(d.Body, &f); err != nil {
		return nil, err
	}
	n, err := read(f)
	if err != nil {
		return nil, err
	}
	return []engine.Alert{n.alert(d)}, nil
}

// notification is what Parse reads from a payload: each member is the
// rendered value of a Datadog template variable, or "" when the template
// does not use it (or Datadog left it unrendered).
type notification struct {
	id, title, alertTitle, body, eventType   string
	alertID, cycleKey, aggregKey, scope      string
	transition, alertType, priority, alertPr string
	metric, hostname, link, snapshot         string
	date                                     time.Time
	tags                                     map[string]string
}

// read takes each variable from the first payload member that names it
// (names most usual first: those of Datadog's default payload, then of the
// extended templates in Datadog's and integrators' docs).
func read(f fields) (notification, error) {
	var n notification
	var err error
	get := func(dst *string, names ...string) {
		if err == nil {
			*dst, err = f.first(names...)
		}
	}
	get(&n.id, "id", "event_id")
	get(&n.title, "title", "event_title")
	get(&n.alertTitle, "alert_title")
	get(&n.body, "body", "event_msg", "message", "text_only_msg")
	get(&n.eventType, "event_type")
	get(&n.alertID, "alert_id", "monitor_id")
	get(&n.cycleKey, "alert_cycle_key")
	get(&n.aggregKey, "aggreg_key")
	get(&n.scope, "alert_scope")
	get(&n.transition, "alert_transition")
	get(&n.alertType, "alert_type")
	get(&n.alertPr, "alert_priority")
	get(&n.priority, "priority")
	get(&n.metric, "alert_metric")
	get(&n.hostname, "hostname", "host_name", "host")
	get(&n.link, "link")
	get(&n.snapshot, "snapshot")
	if err != nil {
		return n, err
	}
	for _, name := range []string{"date", "last_updated"} {
		if n.date, err = f.time(name); err != nil || !n.date.IsZero() {
			break
		}
	}
	if err != nil {
		return n, err
	}
	n.tags = map[string]string{}
	for _, name := range []string{"tags", "event_tags"} {
		if err := f.tags(name, n.tags); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (n notification) alert(d engine.Delivery) engine.Alert {
	transition := n.transition
	if transition == "" {
		transition = titleTransition(n.title)
	}
	monitorURL, monitorID, group := monitorLink(n.body + "\n" + n.link)
	if n.alertID != "" {
		monitorID = n.alertID
	}
	scope := parseTags(n.scope)
	if len(scope) == 0 && group != "" {
		scope = parseTags(group) // the scope, as the monitor link's group
	}

	// What the sender says the alert is about: its tags, its scope (which
	// wins, being what the monitor alerted on) and its host.
	tags := n.tags
	for k, v := range scope {
		tags[k] = v
	}
	if n.hostname != "" && tags["host"] == "" {
		tags["host"] = n.hostname
	}
	t := hook.TargetFromLabels(withConventionalNames(tags))

	a := engine.Alert{
		Source:      engine.SourceDatadog,
		DeliveryID:  n.id,
		Fingerprint: fingerprint(n, monitorID, scope, t.Resources, tags),
		Title:       firstOf(n.title, n.alertTitle),
		Description: stripMarkdownFence(n.body),
		Severity:    severity(n, transition),
		Status:      engine.AlertFiring,
		Resources:   t.Resources,
		Service:     t.Service,
		Component:   t.Component,
		Account:     t.Account,
		Region:      t.Region,
		StartsAt:    n.date,
		Raw:         json.RawMessage(bytes.Clone(d.Body)), // stored; not aliasing the caller's buffer
	}

	// Labels are the tags plus the few variables a runbook or a triage
	// skill matches on, under names no Datadog tag is likely to use.
	labels := make(map[string]string, len(tags)+3)
	for k, v := range tags {
		labels[k] = v
	}
	setDefault(labels, "monitor_id", monitorID)
	setDefault(labels, "alert_metric", n.metric)
	setDefault(labels, "event_type", n.eventType)
	if len(labels) > 0 {
		a.Labels = labels
	}

	if a.Title == "" && monitorID != "" {
		a.Title = "Datadog monitor " + monitorID
	}
	if a.Title == "" {
		a.Title = "Datadog alert"
	}
	if strings.EqualFold(transition, "Recovered") || (transition == "" && strings.EqualFold(n.alertType, "success")) {
		a.Status = engine.AlertResolved
	}
	if a.StartsAt.IsZero() {
		a.StartsAt = d.Received
	}
	if a.Status == engine.AlertResolved {
		// A recovery's date is when it recovered; when the alert started is
		// not in the payload, and StartsAt says the same as EndsAt.
		a.EndsAt = a.StartsAt
	}

	a.Links = hook.AppendLink(a.Links, "Datadog event", n.link)
	a.Links = hook.AppendLink(a.Links, "Monitor", monitorURL)
	a.Links = hook.AppendLink(a.Links, "Snapshot", n.snapshot)
	return a
}

// fingerprint is the structured identity of the notification's condition,
// the same for its trigger and its recovery:
//
//   - the monitor and the scope it alerted on (Datadog's own identity of a
//     monitor alert: monitor 123 on host:a is not monitor 123 on host:b);
//     when the template carries no scope, the resources the tags name stand
//     in for it, so that the groups of a multi-alert monitor stay apart;
//   - else $ALERT_CYCLE_KEY, which Datadog keeps from trigger to recovery;
//   - else $AGGREG_KEY, Datadog's key for events that belong together;
//   - else what the tags say the alert is about, when they say something
//     (a resource, or a tag with a value: a bare "monitor" tag is not an
//     identity).
//
// It is "" when the payload identifies nothing (an unrendered template):
// Intake then derives one from the body, rather than every such alert
// sharing one fingerprint and being taken for redeliveries of the first.
func fingerprint(n notification, monitorID string, scope map[string]string, resources []string, tags map[string]string) string {
	switch {
	case monitorID != "" && len(scope) > 0:
		return engine.StructuredFingerprint(engine.SourceDatadog, "monitor/"+monitorID, nil, scope)
	case monitorID != "":
		return engine.StructuredFingerprint(engine.SourceDatadog, "monitor/"+monitorID, resources, nil)
	case n.cycleKey != "":
		return engine.StructuredFingerprint(engine.SourceDatadog, "cycle/"+n.cycleKey, nil, nil)
	case n.aggregKey != "":
		return engine.StructuredFingerprint(engine.SourceDatadog, "aggregate/"+n.aggregKey, nil, nil)
	case len(resources) > 0 || hasValue(tags):
		rule := firstOf(n.metric, n.eventType)
		return engine.StructuredFingerprint(engine.SourceDatadog, rule, resources, tags)
	}
	return ""
}

func hasValue(m map[string]string) bool {
	for _, v := range m {
		if v != "" {
			return true
		}
	}
	return false
}

// severity reads the most specific of the severity-like variables:
// $ALERT_PRIORITY (P1..P5), a "priority" that holds a severity (templates
// often put the monitor priority there; Datadog's own $PRIORITY is only
// "normal" or "low", which says nothing about severity), $ALERT_TYPE (error,
// warning, info) and last the transition.
func severity(n notification, transition string) engine.Severity {
	if s := engine.ParseSeverity(n.alertPr); s != engine.SeverityUnknown {
		return s
	}
	if p := strings.ToLower(n.priority); p != "normal" && p != "low" {
		if s := engine.ParseSeverity(p); s != engine.SeverityUnknown {
			return s
		}
	}
	if s := engine.ParseSeverity(n.alertType); s != engine.SeverityUnknown {
		return s
	}
	switch strings.TrimPrefix(strings.ToLower(transition), "re-") {
	case "triggered", "renotify":
		return engine.SeverityError // what Datadog's $ALERT_TYPE says of a triggered alert
	case "warn":
		return engine.SeverityWarning
	}
	return engine.SeverityUnknown
}

// transitions are the values of $ALERT_TRANSITION, which Datadog also puts
// at the front of event titles: "[Triggered on {host:a}] Disk full".
var transitions = []string{"Triggered", "Re-Triggered", "Recovered", "Warn", "Re-Warn", "No Data", "Re-No Data", "Renotify"}

// titleTransition finds the transition in a title's leading bracketed
// words, for the default payload, which has no $ALERT_TRANSITION. Other
// brackets ("[P1]", "[TEST]") are skipped.
func titleTransition(title string) string {
	rest := strings.TrimSpace(title)
	for strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return ""
		}
		word, _, _ := strings.Cut(rest[1:end], " on ")
		for _, t := range transitions {
			if strings.EqualFold(strings.TrimSpace(word), t) {
				return t
			}
		}
		rest = strings.TrimSpace(rest[end+1:])
	}
	return ""
}

var (
	// A monitor's page, as linked from the bottom of every monitor
	// notification: https://app.datadoghq.com/monitors#123?group=host%3Aa
	// (or /monitors/123 on newer sites).
	monitorURLPattern = regexp.MustCompile(`https?://[^\s()\[\]<>]+/monitors[#/](\d+)[^\s()\[\]<>]*`)
	groupPattern      = regexp.MustCompile(`[?&]group=([^&#]+)`)
)

// monitorLink finds the monitor's page in a notification's text, with the
// monitor id and the alerting group it names. The default payload carries no
// $ALERT_ID, and this link is then the only structured identity it has.
func monitorLink(body string) (link, id, group string) {
	m := monitorURLPattern.FindStringSubmatch(body)
	if m == nil {
		return "", "", ""
	}
	link, id = m[0], m[1]
	if g := groupPattern.FindStringSubmatch(link); g != nil {
		if v, err := url.QueryUnescape(g[1]); err == nil {
			group = v
		}
	}
	return link, id, group
}

// Datadog's Kubernetes and AWS tag names, mapped onto the label names of the
// shared resource conventions so that a Datadog alert about a deployment
// names the same resource as a Prometheus alert about it.
var conventionalNames = map[string]string{
	"kube_namespace":    "namespace",
	"kube_deployment":   "deployment",
	"kube_stateful_set": "statefulset",
	"kube_daemon_set":   "daemonset",
	"pod_name":          "pod",
	"kube_cluster_name": "cluster",
	"aws_account":       "aws_account_id",
}

// withConventionalNames returns a copy of tags with Datadog's names also
// under their conventional ones (a tag already using the conventional name
// wins).
func withConventionalNames(tags map[string]string) map[string]string {
	out := make(map[string]string, len(tags))
	for k, v := range tags {
		out[k] = v
	}
	for dd, conv := range conventionalNames {
		if v := tags[dd]; v != "" && out[conv] == "" {
			out[conv] = v
		}
	}
	return out
}

// parseTags parses Datadog's comma-separated "key:value" tag lists ($TAGS,
// $ALERT_SCOPE) into labels. A tag without a value ("monitor") gets "". A key
// seen twice keeps every value, comma-separated in order, as Datadog allows
// (security-group:sg-1,security-group:sg-2).
func parseTags(s string) map[string]string {
	m := map[string]string{}
	for tag := range strings.SplitSeq(s, ",") {
		addTag(m, tag)
	}
	return m
}

func addTag(m map[string]string, tag string) {
	tag = strings.TrimSpace(tag)
	if tag == "" || isUnrendered(tag) {
		return
	}
	k, v, _ := strings.Cut(tag, ":")
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	if old, ok := m[k]; ok && old != "" && v != "" && old != v {
		v = old + "," + v
	}
	m[k] = v
}

func setDefault(m map[string]string, k, v string) {
	if _, ok := m[k]; !ok && v != "" {
		m[k] = v
	}
}

// stripMarkdownFence removes the %%% lines Datadog wraps markdown in.
func stripMarkdownFence(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "%%%")
	s = strings.TrimSuffix(s, "%%%")
	return strings.TrimSpace(s)
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// unrenderedPattern matches a template variable Datadog did not replace.
var unrenderedPattern = regexp.MustCompile(`^\$[A-Z][A-Z0-9_]*(\[[^\]]*\])?$`)

func isUnrendered(s string) bool { return unrenderedPattern.MatchString(s) }

// fields is a payload's members, read one by one and leniently.
type fields map[string]json.RawMessage

// str returns member name as a string: a JSON string, or the literal text of
// a number (so that 19-digit ids survive) or a boolean. Absent, null and
// unrendered members give "". An object or array is an error naming the
// member.
func (f fields) str(name string) (string, error) {
	raw, ok := f[name]
	if !ok {
		return "", nil
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", engine.Invalid(name, "invalid JSON")
	}
	var s string
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		s = v
	case json.Number:
		s = v.String()
	case bool:
		s = strconv.FormatBool(v)
	default:
		return "", engine.Invalid(name, "expected a string or a number")
	}
	s = strings.TrimSpace(s)
	if isUnrendered(s) {
		return "", nil
	}
	return s, nil
}

// first returns the first of the named members that is set.
func (f fields) first(names ...string) (string, error) {
	for _, name := range names {
		s, err := f.str(name)
		if err != nil || s != "" {
			return s, err
		}
	}
	return "", nil
}

// time reads member name as Datadog's epoch milliseconds (a number or a
// string of digits). Epoch seconds and RFC 3339, which hand-written templates
// produce, are accepted too.
func (f fields) time(name string) (time.Time, error) {
	s, err := f.str(name)
	if err != nil || s == "" {
		return time.Time{}, err
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		// 1e11 ms is 1973, 1e11 s is the year 5138: below it, seconds.
		if n < 1e11 {
			return time.Unix(n, 0).UTC(), nil
		}
		return time.UnixMilli(n).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, engine.Invalid(name, "expected epoch milliseconds or an RFC 3339 time")
}

// tags adds member name's tags to m: a comma-separated string ($TAGS) or an
// array of strings.
func (f fields) tags(name string, m map[string]string) error {
	raw, ok := f[name]
	if !ok {
		return nil
	}
	if t := strings.TrimSpace(string(raw)); strings.HasPrefix(t, "[") {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return engine.Invalid(name, "invalid JSON")
		}
		for i, el := range list {
			s, err := fields{name: el}.str(name)
			if err != nil {
				return engine.Invalid(name+"["+strconv.Itoa(i)+"]", "expected a string")
			}
			addTag(m, s)
		}
		return nil
	}
	s, err := f.str(name)
	if err != nil {
		return engine.Invalid(name, "expected a comma-separated string or an array of strings")
	}
	for tag := range strings.SplitSeq(s, ",") {
		addTag(m, tag)
	}
	return nil
}
