package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"
)

// ToolCategory groups tools by the kind of evidence they return, so that a
// reasoner can ask for "the metrics tool" of a space whatever provider serves it.
type ToolCategory string

// Tool categories. Every provider (the sandbox, AWS, Kubernetes, Prometheus,
// PagerDuty, MCP servers) maps its read actions onto these.
const (
	CategoryMetrics   ToolCategory = "metrics"   // args MetricsQuery, result MetricsResult
	CategoryLogs      ToolCategory = "logs"      // args LogQuery, result LogsResult
	CategoryChanges   ToolCategory = "changes"   // args ChangeQuery, result ChangesResult
	CategoryDescribe  ToolCategory = "describe"  // args DescribeQuery, result ResourceInfo
	CategoryTopology  ToolCategory = "topology"  // args TopologyQuery, result TopologyResult
	CategoryAlarms    ToolCategory = "alarms"    // args AlarmQuery, result AlarmsResult
	CategoryHistory   ToolCategory = "history"   // args HistoryQuery, result HistoryResult
	CategoryResources ToolCategory = "resources" // args ResourceQuery, result ResourcesResult (inventory)
	CategoryOther     ToolCategory = "other"     // provider-specific; free-form JSON
)

// Tool is one read-only capability offered to the reasoners and the LLM agent.
// A Tool is a value, not an interface, so that providers build them from
// closures and the registry can inspect them.
type Tool struct {
	Name        string          // unique per space, snake_case: "query_metrics"
	Description string          // for the model: what it returns and when to use it
	Category    ToolCategory    //
	Parameters  json.RawMessage // JSON Schema of the arguments object
	ReadOnly    bool            // must be true; the registry refuses anything else
	Call        func(ctx context.Context, args json.RawMessage) (Result, error)
}

// Result is what a tool call returns: a short human summary (shown in chat
// and the journal) and the data as JSON (for the reasoners and the model).
type Result struct {
	Summary string          `json:"summary"`
	Data    json.RawMessage `json:"data"`
}

// NewResult marshals data into a Result.
func NewResult(summary string, data any) (Result, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return Result{}, fmt.Errorf("marshal tool result: %w", err)
	}
	return Result{Summary: summary, Data: b}, nil
}

// ErrToolNotFound is returned by Registry.Call for a name it does not hold.
var ErrToolNotFound = Errorf(CodeNotFound, "no such tool")

// Registry is the set of tools one space may use. It admits only tools that
// declare themselves read-only: Nightshift never changes the customer's
// infrastructure. Safe for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	tools map[string]Tool
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{tools: map[string]Tool{}} }

// Add registers tools. It refuses (and adds none of the batch) when a tool is
// not read-only, has no name or no Call, or repeats a name.
func (r *Registry) Add(tools ...Tool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	for _, t := range tools {
		switch {
		case t.Name == "":
			return fmt.Errorf("register tool: empty name")
		case !t.ReadOnly:
			return fmt.Errorf("register tool %q: refused, not declared read-only", t.Name)
		case t.Call == nil:
			return fmt.Errorf("register tool %q: no Call", t.Name)
		case seen[t.Name]:
			return fmt.Errorf("register tool %q: listed twice", t.Name)
		}
		if _, dup := r.tools[t.Name]; dup {
			return fmt.Errorf("register tool %q: already registered", t.Name)
		}
		seen[t.Name] = true
	}
	for _, t := range tools {
		r.tools[t.Name] = t
	}
	return nil
}

// Get returns the named tool.
func (r *Registry) Get(name string) (Tool, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.tools[name]
	return t, ok
}

// List returns the tools sorted by name.
func (r *Registry) List() []Tool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Tool, 0, len(r.tools))
	for _, t := range r.tools {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ByCategory returns the tools of one category, sorted by name.
func (r *Registry) ByCategory(c ToolCategory) []Tool {
	var out []Tool
	for _, t := range r.List() {
		if t.Category == c {
			out = append(out, t)
		}
	}
	return out
}

// Call runs the named tool. A name the registry does not hold is refused with
// ErrToolNotFound and nothing runs.
func (r *Registry) Call(ctx context.Context, name string, args json.RawMessage) (Result, error) {
	t, ok := r.Get(name)
	if !ok {
		return Result{}, fmt.Errorf("call %q: %w", name, ErrToolNotFound)
	}
	return t.Call(ctx, args)
}

// TimeRange is a closed interval of time.
type TimeRange struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// MetricsQuery asks for time series of one resource. Name empty means every
// metric of the resource; Labels filter series by exact label match.
type MetricsQuery struct {
	Resource string            `json:"resource"`
	Name     string            `json:"name,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Start    time.Time         `json:"start"`
	End      time.Time         `json:"end"`
	Step     Duration          `json:"step,omitempty"` // 0: the provider's native resolution
}

// Point is one sample.
type Point struct {
	T time.Time `json:"t"`
	V float64   `json:"v"`
}

// Series is one metric series.
type Series struct {
	Resource string            `json:"resource"`
	Name     string            `json:"name"`
	Labels   map[string]string `json:"labels,omitempty"`
	Unit     string            `json:"unit,omitempty"`
	Points   []Point           `json:"points"`
}

// MetricsResult is the data of a metrics tool.
type MetricsResult struct {
	Series []Series `json:"series"`
}

// LogQuery searches log lines of a resource. Pattern is a case-insensitive
// substring or, when it starts and ends with '/', a regular expression.
// Level filters by minimum level (debug < info < warn < error < fatal).
type LogQuery struct {
	Resource string    `json:"resource,omitempty"`
	Pattern  string    `json:"pattern,omitempty"`
	Level    string    `json:"level,omitempty"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Limit    int       `json:"limit,omitempty"`
}

// LogEntry is one log line.
type LogEntry struct {
	T        time.Time         `json:"t"`
	Resource string            `json:"resource"`
	Level    string            `json:"level,omitempty"`
	Message  string            `json:"message"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// LogsResult is the data of a logs tool. Total counts all matches, of which
// Entries holds at most the query's limit (newest first).
type LogsResult struct {
	Entries []LogEntry `json:"entries"`
	Total   int        `json:"total"`
}

// ChangeQuery asks for changes (deployments, config, IAM, infrastructure,
// feature flags, scaling) in a range, optionally for one resource.
type ChangeQuery struct {
	Resource string    `json:"resource,omitempty"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
}

// Change is one recorded change.
type Change struct {
	T        time.Time `json:"t"`
	Resource string    `json:"resource"`
	Kind     string    `json:"kind"` // deployment, config, infrastructure, feature-flag, scaling, iam
	Actor    string    `json:"actor,omitempty"`
	Summary  string    `json:"summary"`
}

// ChangesResult is the data of a changes tool.
type ChangesResult struct {
	Changes []Change `json:"changes"`
}

// DescribeQuery asks for one resource's configuration.
type DescribeQuery struct {
	Resource string `json:"resource"`
}

// ResourceInfo describes one resource: identity, labels, dependencies and
// its spec (containers, limits, ...) verbatim from the provider.
type ResourceInfo struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	Name      string            `json:"name,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	DependsOn []string          `json:"depends_on,omitempty"`
	Spec      map[string]any    `json:"spec,omitempty"`
}

// TopologyQuery asks for the neighbourhood of a resource up to Depth hops
// (default 1) in both directions.
type TopologyQuery struct {
	Resource string `json:"resource"`
	Depth    int    `json:"depth,omitempty"`
}

// Edge is a dependency: From calls or uses To.
type Edge struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// TopologyResult is the data of a topology tool.
type TopologyResult struct {
	Resources []ResourceInfo `json:"resources"`
	Edges     []Edge         `json:"edges"`
}

// ResourceQuery lists resources, optionally by type prefix or label.
type ResourceQuery struct {
	Type   string            `json:"type,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// ResourcesResult is the data of a resources tool.
type ResourcesResult struct {
	Resources []ResourceInfo `json:"resources"`
}

// AlarmQuery asks for alarms active at (or firing during) a time range.
type AlarmQuery struct {
	Resource string    `json:"resource,omitempty"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
}

// AlarmInfo is one alarm as the monitoring system knows it.
type AlarmInfo struct {
	Name     string    `json:"name"`
	Resource string    `json:"resource,omitempty"`
	Severity Severity  `json:"severity,omitempty"`
	State    string    `json:"state"` // firing, resolved
	Since    time.Time `json:"since"`
	Source   string    `json:"source,omitempty"`
}

// AlarmsResult is the data of an alarms tool.
type AlarmsResult struct {
	Alarms []AlarmInfo `json:"alarms"`
}

// HistoryQuery asks for past investigations touching a resource.
type HistoryQuery struct {
	Resource string    `json:"resource,omitempty"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Limit    int       `json:"limit,omitempty"`
}

// PastIncident is one earlier investigation, as history tools return it.
type PastIncident struct {
	ID         string    `json:"id"`
	Title      string    `json:"title"`
	OpenedAt   time.Time `json:"opened_at"`
	RootCause  string    `json:"root_cause,omitempty"`
	Category   string    `json:"category,omitempty"`
	Resources  []string  `json:"resources,omitempty"`
	Resolution string    `json:"resolution,omitempty"`
}

// HistoryResult is the data of a history tool.
type HistoryResult struct {
	Incidents []PastIncident `json:"incidents"`
}

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string ("5m", "1h30m") and also accepts a number of seconds.
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON accepts "90s" or 90.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("duration: want a string like \"1m\" or seconds")
	}
	*d = Duration(time.Duration(secs * float64(time.Second)))
	return nil
}
