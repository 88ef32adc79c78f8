package sandbox

import (
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
)

// Env is one scenario playing at a chosen time: the simulated environment the
// engine investigates through the Env's tools. An Env is immutable after
// NewEnv and safe for concurrent use; it computes generated telemetry on
// demand and keeps no cache, so its memory does not grow with use.
type Env struct {
	sc      *Scenario
	shift   time.Duration
	now     func() time.Time // nil: every time is served
	dataEnd time.Time        // shifted end of all telemetry

	resources map[string]*engine.ResourceInfo
	series    []*series
	byRes     map[string][]*series
	edges     []engine.Edge
	adjacent  map[string][]string // both directions
}

// Option configures an Env.
type Option func(*Env)

// WithClock makes the Env serve nothing later than now(): metrics, logs,
// changes and alarms after it do not exist yet, as with a real provider
// during a live incident. Without it every time in the scenario is served.
func WithClock(now func() time.Time) Option { return func(e *Env) { e.now = now } }

// NewEnv prepares sc to be played with its incident at incidentAt: every time
// of the scenario, generated and recorded, moves by incidentAt-sc.IncidentAt.
// Pass sc.IncidentAt (or the zero time) for no shift.
func NewEnv(sc *Scenario, incidentAt time.Time, opts ...Option) *Env {
	e := &Env{sc: sc, resources: map[string]*engine.ResourceInfo{}, byRes: map[string][]*series{}, adjacent: map[string][]string{}}
	if !incidentAt.IsZero() {
		e.shift = incidentAt.Round(0).Sub(sc.IncidentAt)
	}
	for _, o := range opts {
		o(e)
	}
	for i := range sc.Resources {
		e.resources[sc.Resources[i].ID] = &sc.Resources[i]
	}
	for i := range sc.Resources {
		r := &sc.Resources[i]
		for _, to := range r.DependsOn {
			if _, ok := e.resources[to]; !ok {
				continue
			}
			e.edges = append(e.edges, engine.Edge{From: r.ID, To: to})
			e.adjacent[r.ID] = append(e.adjacent[r.ID], to)
			e.adjacent[to] = append(e.adjacent[to], r.ID)
		}
	}
	end := sc.IncidentAt.Add(afterIncident)
	for i := range sc.Metrics {
		m := &sc.Metrics[i]
		e.addSeries(&series{resource: m.Resource, name: m.Name, unit: m.Unit, labels: m.Labels, native: genStep, gen: newGenSeries(sc, m)})
	}
	for i := range sc.Recorded {
		for j := range sc.Recorded[i].Series {
			s := &sc.Recorded[i].Series[j]
			e.addSeries(&series{resource: s.Resource, name: s.Name, unit: s.Unit, labels: s.Labels, native: nativeStep(s), rec: s})
			if n := len(s.points); n > 0 {
				if t := time.Unix(0, s.points[n-1].t).UTC(); t.After(end) {
					end = t
				}
			}
		}
	}
	e.dataEnd = end.Add(e.shift)
	return e
}

func (e *Env) addSeries(s *series) {
	e.series = append(e.series, s)
	e.byRes[s.resource] = append(e.byRes[s.resource], s)
}

// Scenario returns the scenario the Env plays (which holds no truth).
func (e *Env) Scenario() *Scenario { return e.sc }

// Space is the space the scenario belongs to.
func (e *Env) Space() string { return e.sc.Space }

// IncidentAt is when the scenario's incident happens in this Env (t0).
func (e *Env) IncidentAt() time.Time { return e.sc.IncidentAt.Add(e.shift) }

// Span is the range of generated telemetry, [t0-window, t0+30m], in this
// Env's time. Recorded series may reach outside it.
func (e *Env) Span() engine.TimeRange {
	t0 := e.IncidentAt()
	return engine.TimeRange{Start: t0.Add(-e.sc.Window), End: t0.Add(afterIncident)}
}

// at moves a scenario time into the Env's time.
func (e *Env) at(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Add(e.shift)
}

// horizon is the latest time served: the clock's now, or the end of data.
func (e *Env) horizon() time.Time {
	if e.now != nil {
		return e.now()
	}
	return e.dataEnd
}

// Resources returns every resource of the scenario (base included), sorted
// by id. The values are copies: changing them changes nothing in the Env.
func (e *Env) Resources() []engine.ResourceInfo {
	out := make([]engine.ResourceInfo, 0, len(e.sc.Resources))
	for _, r := range e.sc.Resources {
		out = append(out, copyResource(r, true))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Edges returns every dependency (caller → callee), sorted.
func (e *Env) Edges() []engine.Edge {
	out := slices.Clone(e.edges)
	sortEdges(out)
	return out
}

func sortEdges(edges []engine.Edge) {
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].From != edges[j].From {
			return edges[i].From < edges[j].From
		}
		return edges[i].To < edges[j].To
	})
}

func copyResource(r engine.ResourceInfo, withSpec bool) engine.ResourceInfo {
	out := r
	out.Labels = maps.Clone(r.Labels)
	out.DependsOn = slices.Clone(r.DependsOn)
	out.Spec = nil
	if withSpec && r.Spec != nil {
		out.Spec, _ = deepCopy(r.Spec).(map[string]any)
	}
	return out
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = deepCopy(x)
		}
		return s
	}
	return v
}

// Alerts returns the scenario's alerts as the engine's intake would see them
// from their senders, in delivery order: one firing delivery per scenario
// alert at its time (StartsAt), and a resolved delivery (EndsAt) for those
// with resolved_at. Alerts with the same source, rule and resource share a
// fingerprint; every delivery has its own DeliveryID. ID, Space and
// ReceivedAt are left to the intake.
func (e *Env) Alerts() []engine.Alert {
	type delivery struct {
		at time.Time
		a  engine.Alert
	}
	var ds []delivery
	for i, r := range e.sc.Alerts {
		res := e.resources[r.Resource]
		var labels map[string]string
		if res != nil {
			labels = res.Labels
		}
		base := engine.Alert{
			Source:      r.Source,
			Fingerprint: engine.StructuredFingerprint(r.Source, r.Rule, []string{r.Resource}, nil),
			Title:       r.Title,
			Description: r.Description,
			Severity:    r.Severity,
			Resources:   []string{r.Resource},
			Service:     labels["service"],
			Region:      labels["region"],
			Account:     labels["account"],
			Labels:      maps.Clone(r.Labels),
			StartsAt:    e.at(r.At),
		}
		firing := base
		firing.Status = engine.AlertFiring
		firing.DeliveryID = e.deliveryID(i, firing)
		firing.Raw = alertPayload(r, firing)
		ds = append(ds, delivery{firing.StartsAt, firing})
		if !r.ResolvedAt.IsZero() {
			resolved := base
			resolved.Status = engine.AlertResolved
			resolved.EndsAt = e.at(r.ResolvedAt)
			resolved.Labels = maps.Clone(r.Labels)
			resolved.Resources = []string{r.Resource}
			resolved.DeliveryID = e.deliveryID(i, resolved)
			resolved.Raw = alertPayload(r, resolved)
			ds = append(ds, delivery{resolved.EndsAt, resolved})
		}
	}
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].at.Before(ds[j].at) })
	out := make([]engine.Alert, len(ds))
	for i, d := range ds {
		out[i] = d.a
	}
	return out
}

// deliveryID is unique per scenario alert, status and play time, so that
// playing a scenario twice is two deliveries, not a redelivery.
func (e *Env) deliveryID(i int, a engine.Alert) string {
	return "sandbox-" + engine.ContentID([]byte(e.sc.Name), []byte(strconv.Itoa(i)), []byte(a.Status),
		[]byte(a.StartsAt.Format(time.RFC3339Nano)), []byte(a.EndsAt.Format(time.RFC3339Nano)))
}

// alertPayload renders the scenario alert as its sender's payload. It names no
// scenario: the name could give the answer away.
func alertPayload(r AlertRule, a engine.Alert) json.RawMessage {
	payload := struct {
		Source      string            `json:"source"`
		Rule        string            `json:"rule"`
		Status      string            `json:"status"`
		Title       string            `json:"title"`
		Description string            `json:"description,omitempty"`
		Resource    string            `json:"resource"`
		Severity    string            `json:"severity"`
		Labels      map[string]string `json:"labels,omitempty"`
		StartsAt    time.Time         `json:"starts_at"`
		EndsAt      time.Time         `json:"ends_at,omitzero"`
	}{r.Source, r.Rule, string(a.Status), r.Title, r.Description, r.Resource, string(r.Severity), r.Labels, a.StartsAt, a.EndsAt}
	b, _ := json.Marshal(payload)
	return b
}
