package sandbox

import (
	"time"

	"github.com/nightshift-ops/nightshift/engine"
)

// Scenario is one loaded and validated incident. Every time in it is absolute
// (offsets are resolved against IncidentAt at load time) and in UTC. It holds
// no trace of the scenario's truth.
//
// A Scenario is read-only once loaded: Envs share it, so do not modify it
// after passing it to NewEnv.
type Scenario struct {
	Name       string        `json:"name"`
	Summary    string        `json:"summary,omitempty"`
	Base       string        `json:"base,omitempty"`
	Space      string        `json:"space"`
	IncidentAt time.Time     `json:"incident_at"`
	Window     time.Duration `json:"window"`

	// Resources is the merged topology: the base's resources (overridden by
	// the scenario's entries with the same id) followed by the scenario's new
	// ones, in file order.
	Resources []engine.ResourceInfo `json:"resources"`
	Metrics   []Metric              `json:"metrics,omitempty"`
	Logs      []LogRule             `json:"logs,omitempty"`
	Changes   []engine.Change       `json:"changes,omitempty"`
	Alerts    []AlertRule           `json:"alerts,omitempty"`
	Recorded  []Recorded            `json:"recorded,omitempty"`

	// File is where the scenario was loaded from, for messages.
	File string `json:"file,omitempty"`
}

// Truth is the answer to a scenario: what the scorer compares the engine's
// root cause with. Only the caller of a loader receives it.
type Truth struct {
	RootCause   string   `json:"root_cause"`
	Category    string   `json:"category"`
	MustMention []string `json:"must_mention,omitempty"`
}

// Loaded is one scenario file read by LoadDir or Builtin.
type Loaded struct {
	Path     string    // the file, as LoadDir found it
	Scenario *Scenario //
	Truth    *Truth    // nil when the file has no truth block
}

// Shape is how an event changes a generated series.
type Shape string

// Event shapes (SCENARIOS.md "Event shapes").
const (
	ShapeStep  Shape = "step"  // from At on, the value is To
	ShapeRamp  Shape = "ramp"  // from At, linear to To over Over, then stays at To
	ShapeSpike Shape = "spike" // from At, To for Over (default 1m), then back
	ShapeSine  Shape = "sine"  // from At, oscillates between the value before and To, period Over (default 10m)
)

// Metric is one generated series: one point a minute over
// [IncidentAt-Window, IncidentAt+30m].
type Metric struct {
	Resource string            `json:"resource"`
	Name     string            `json:"name"`
	Labels   map[string]string `json:"labels,omitempty"`
	Unit     string            `json:"unit,omitempty"`
	Baseline float64           `json:"baseline"`
	Noise    float64           `json:"noise,omitempty"` // relative standard deviation
	Events   []Event           `json:"events,omitempty"`
}

// Event changes a generated series from At on. Over is the ramp duration, the
// spike length or the sine period (defaults filled in at load). A non-zero
// Until returns the series to its baseline from then on.
type Event struct {
	At    time.Time     `json:"at"`
	Shape Shape         `json:"shape"`
	To    float64       `json:"to"`
	Over  time.Duration `json:"over,omitempty"`
	Until time.Time     `json:"until,omitzero"`
}

// LogRule is one log line, repeated every Every from At until Until when
// Every is set (Until defaults to the end of the telemetry).
type LogRule struct {
	Resource string            `json:"resource"`
	At       time.Time         `json:"at"`
	Every    time.Duration     `json:"every,omitempty"`
	Until    time.Time         `json:"until,omitzero"`
	Level    string            `json:"level"`
	Message  string            `json:"message"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// AlertRule is one alert of the scenario, delivered through the engine's
// intake by whoever plays the scenario.
type AlertRule struct {
	Source      string            `json:"source"`
	Rule        string            `json:"rule"` // defaulted to "scenario-alert-<index>"
	At          time.Time         `json:"at"`
	ResolvedAt  time.Time         `json:"resolved_at,omitzero"`
	Title       string            `json:"title"`
	Description string            `json:"description,omitempty"`
	Resource    string            `json:"resource"`
	Severity    engine.Severity   `json:"severity"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// Recorded is one CSV file of recorded series. Its points are read at load
// time and served as they are.
type Recorded struct {
	File       string           `json:"file"`
	TimeColumn string           `json:"time_column"`
	Series     []RecordedSeries `json:"series"`
}

// RecordedSeries is one CSV column served as a metric series.
type RecordedSeries struct {
	Column   string            `json:"column"`
	Resource string            `json:"resource"`
	Name     string            `json:"name"`
	Unit     string            `json:"unit,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`

	points []recPoint // sorted by time; missing cells are absent
}

// Len is the number of recorded points of the series.
func (s *RecordedSeries) Len() int { return len(s.points) }

type recPoint struct {
	t int64 // unix nanoseconds, scenario time
	v float64
}

// Categories returns the fixed vocabulary of root-cause categories.
func Categories() []string { return append([]string(nil), categories...) }

var categories = []string{
	"bad-deploy", "config-change", "resource-limits", "memory-leak",
	"capacity", "dependency", "database", "network", "certificate", "quota",
	"disk-full", "feature-flag",
}

var alertSources = []string{
	engine.SourcePagerDuty, engine.SourceAlertmanager, engine.SourceGrafana,
	engine.SourceDatadog, engine.SourceCloudWatch, engine.SourceGeneric,
}

var changeKinds = []string{"deployment", "config", "infrastructure", "feature-flag", "scaling", "iam"}

var logLevels = []string{"debug", "info", "warn", "error", "fatal"} // least severe first

var bases = []string{baseRetailStore}
