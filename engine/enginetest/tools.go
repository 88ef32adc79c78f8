package enginetest

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
)

// Names of the tools StaticTools builds.
const (
	ToolMetrics  = "query_metrics"
	ToolLogs     = "search_logs"
	ToolChanges  = "list_changes"
	ToolDescribe = "describe_resource"
	ToolTopology = "topology_neighbours"
	ToolAlarms   = "active_alarms"
)

// Static is canned telemetry of a few resources. StaticTools serves it
// through read-only tools that answer only what a query asks for, as a real
// provider would: metrics of the resource and range asked, log lines at or
// above a level, changes in a range, one resource's spec, a neighbourhood of
// the dependency graph.
//
// Fill the fields before building tools and do not change them afterwards.
// Every call is recorded (Calls). Safe for concurrent use.
type Static struct {
	// Resources are the known resources: identity, labels, what each
	// depends on (an edge from it to each of DependsOn) and its spec.
	Resources []engine.ResourceInfo
	// Edges are dependencies beyond the resources' DependsOn.
	Edges   []engine.Edge
	Series  []engine.Series
	Logs    []engine.LogEntry
	Changes []engine.Change
	Alarms  []engine.AlarmInfo
	// Fail makes a tool (by name) return an error instead of data.
	Fail map[string]error

	mu    sync.Mutex
	calls []Call
}

// Call is one recorded tool call.
type Call struct {
	Tool   string
	Args   json.RawMessage
	Result engine.Result
	Err    error
}

// StaticTools returns read-only tools serving s: query_metrics,
// search_logs, list_changes, describe_resource, topology_neighbours and
// active_alarms, each in its engine.ToolCategory.
func StaticTools(s *Static) []engine.Tool {
	tool := func(name string, c engine.ToolCategory, desc string, fn func(json.RawMessage) (engine.Result, error)) engine.Tool {
		return engine.Tool{Name: name, Category: c, Description: desc, ReadOnly: true,
			Parameters: json.RawMessage(`{"type":"object"}`),
			Call: func(ctx context.Context, args json.RawMessage) (engine.Result, error) {
				var res engine.Result
				err := ctx.Err()
				if err == nil {
					err = s.Fail[name]
				}
				if err == nil {
					res, err = fn(args)
				}
				s.mu.Lock()
				s.calls = append(s.calls, Call{Tool: name, Args: append(json.RawMessage(nil), args...), Result: res, Err: err})
				s.mu.Unlock()
				return res, err
			}}
	}
	return []engine.Tool{
		tool(ToolMetrics, engine.CategoryMetrics, "Metric series of one resource in a range.", s.metrics),
		tool(ToolLogs, engine.CategoryLogs, "Log lines at or above a level, newest first.", s.logs),
		tool(ToolChanges, engine.CategoryChanges, "Changes in a range, newest first.", s.changes),
		tool(ToolDescribe, engine.CategoryDescribe, "One resource's configuration.", s.describe),
		tool(ToolTopology, engine.CategoryTopology, "The dependency neighbourhood of a resource.", s.topology),
		tool(ToolAlarms, engine.CategoryAlarms, "Alarms active in a range.", s.alarms),
	}
}

// Registry returns a new registry holding StaticTools(s).
func (s *Static) Registry() *engine.Registry {
	r := engine.NewRegistry()
	if err := r.Add(StaticTools(s)...); err != nil {
		panic(err) // the tools above are always valid
	}
	return r
}

// Env returns an engine.Environment that offers StaticTools(s) to every
// investigation.
func (s *Static) Env() engine.Environment { return staticEnv{s} }

type staticEnv struct{ s *Static }

func (e staticEnv) Tools(context.Context, engine.Investigation, []engine.Alert) (*engine.Registry, error) {
	return e.s.Registry(), nil
}

// Calls returns the calls made so far, in order.
func (s *Static) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

func decode(args json.RawMessage, v any) error {
	if len(args) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(args)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return engine.Invalid("", "bad arguments: %v", err)
	}
	return nil
}

func (s *Static) known(id string) bool {
	if id == "" {
		return false
	}
	for _, r := range s.Resources {
		if r.ID == id {
			return true
		}
	}
	for _, e := range s.Edges {
		if e.From == id || e.To == id {
			return true
		}
	}
	for _, x := range s.Series {
		if x.Resource == id {
			return true
		}
	}
	return false
}

func (s *Static) resource(id string) error {
	if id == "" {
		return engine.Invalid("resource", "required")
	}
	if !s.known(id) {
		return &engine.Error{Code: engine.CodeNotFound, Field: "resource", Message: fmt.Sprintf("no resource %q", id)}
	}
	return nil
}

func within(t, start, end time.Time) bool {
	return (start.IsZero() || !t.Before(start)) && (end.IsZero() || !t.After(end))
}

func (s *Static) metrics(args json.RawMessage) (engine.Result, error) {
	var q engine.MetricsQuery
	if err := decode(args, &q); err != nil {
		return engine.Result{}, err
	}
	if err := s.resource(q.Resource); err != nil {
		return engine.Result{}, err
	}
	out := engine.MetricsResult{Series: []engine.Series{}}
	for _, x := range s.Series {
		if x.Resource != q.Resource || q.Name != "" && x.Name != q.Name || !hasLabels(x.Labels, q.Labels) {
			continue
		}
		y := x
		y.Points = nil
		for _, p := range x.Points {
			if within(p.T, q.Start, q.End) {
				y.Points = append(y.Points, p)
			}
		}
		if len(y.Points) > 0 {
			out.Series = append(out.Series, y)
		}
	}
	return engine.NewResult(fmt.Sprintf("%d series of %s", len(out.Series), q.Resource), out)
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func levelRank(l string) int {
	switch strings.ToLower(l) {
	case "debug", "trace":
		return 0
	case "", "info":
		return 1
	case "warn", "warning":
		return 2
	case "error":
		return 3
	case "fatal", "critical", "panic":
		return 4
	}
	return 1
}

func (s *Static) logs(args json.RawMessage) (engine.Result, error) {
	var q engine.LogQuery
	if err := decode(args, &q); err != nil {
		return engine.Result{}, err
	}
	if q.Resource != "" {
		if err := s.resource(q.Resource); err != nil {
			return engine.Result{}, err
		}
	}
	match := func(string) bool { return true }
	if p := q.Pattern; len(p) >= 2 && p[0] == '/' && p[len(p)-1] == '/' {
		re, err := regexp.Compile("(?i)" + p[1:len(p)-1])
		if err != nil {
			return engine.Result{}, engine.Invalid("pattern", "bad regular expression")
		}
		match = re.MatchString
	} else if p != "" {
		lp := strings.ToLower(p)
		match = func(m string) bool { return strings.Contains(strings.ToLower(m), lp) }
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	if limit > 1000 {
		limit = 1000
	}
	var hits []engine.LogEntry
	for _, e := range s.Logs {
		if q.Resource != "" && e.Resource != q.Resource || levelRank(e.Level) < levelRank(q.Level) ||
			!within(e.T, q.Start, q.End) || !match(e.Message) {
			continue
		}
		hits = append(hits, e)
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].T.After(hits[j].T) })
	out := engine.LogsResult{Total: len(hits), Entries: hits}
	if len(hits) > limit {
		out.Entries = hits[:limit]
	}
	if out.Entries == nil {
		out.Entries = []engine.LogEntry{}
	}
	return engine.NewResult(fmt.Sprintf("%d log lines", out.Total), out)
}

func (s *Static) changes(args json.RawMessage) (engine.Result, error) {
	var q engine.ChangeQuery
	if err := decode(args, &q); err != nil {
		return engine.Result{}, err
	}
	out := engine.ChangesResult{Changes: []engine.Change{}}
	for _, c := range s.Changes {
		if q.Resource != "" && c.Resource != q.Resource || !within(c.T, q.Start, q.End) {
			continue
		}
		out.Changes = append(out.Changes, c)
	}
	sort.SliceStable(out.Changes, func(i, j int) bool { return out.Changes[i].T.After(out.Changes[j].T) })
	return engine.NewResult(fmt.Sprintf("%d changes", len(out.Changes)), out)
}

func (s *Static) info(id string) engine.ResourceInfo {
	for _, r := range s.Resources {
		if r.ID == id {
			return r
		}
	}
	return engine.ResourceInfo{ID: id}
}

func (s *Static) describe(args json.RawMessage) (engine.Result, error) {
	var q engine.DescribeQuery
	if err := decode(args, &q); err != nil {
		return engine.Result{}, err
	}
	if err := s.resource(q.Resource); err != nil {
		return engine.Result{}, err
	}
	ri := s.info(q.Resource)
	return engine.NewResult("configuration of "+q.Resource, ri)
}

// edges returns every dependency edge, without duplicates.
func (s *Static) edges() []engine.Edge {
	seen := map[engine.Edge]bool{}
	var out []engine.Edge
	add := func(e engine.Edge) {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	for _, r := range s.Resources {
		for _, d := range r.DependsOn {
			add(engine.Edge{From: r.ID, To: d})
		}
	}
	for _, e := range s.Edges {
		add(e)
	}
	return out
}

func (s *Static) topology(args json.RawMessage) (engine.Result, error) {
	var q engine.TopologyQuery
	if err := decode(args, &q); err != nil {
		return engine.Result{}, err
	}
	if err := s.resource(q.Resource); err != nil {
		return engine.Result{}, err
	}
	depth := q.Depth
	if depth <= 0 {
		depth = 1
	}
	edges := s.edges()
	dist := map[string]int{q.Resource: 0}
	frontier := []string{q.Resource}
	for d := 1; d <= depth && len(frontier) > 0; d++ {
		var next []string
		for _, n := range frontier {
			for _, e := range edges {
				for _, m := range [][2]string{{e.From, e.To}, {e.To, e.From}} {
					if m[0] != n {
						continue
					}
					if _, ok := dist[m[1]]; !ok {
						dist[m[1]] = d
						next = append(next, m[1])
					}
				}
			}
		}
		frontier = next
	}
	out := engine.TopologyResult{Resources: []engine.ResourceInfo{}, Edges: []engine.Edge{}}
	ids := make([]string, 0, len(dist))
	for id := range dist {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		ri := s.info(id)
		ri.Spec = nil // specs come from describe_resource, as with real providers
		out.Resources = append(out.Resources, ri)
	}
	for _, e := range edges {
		_, a := dist[e.From]
		_, b := dist[e.To]
		if a && b {
			out.Edges = append(out.Edges, e)
		}
	}
	return engine.NewResult(fmt.Sprintf("%d resources, %d edges around %s", len(out.Resources), len(out.Edges), q.Resource), out)
}

func (s *Static) alarms(args json.RawMessage) (engine.Result, error) {
	var q engine.AlarmQuery
	if err := decode(args, &q); err != nil {
		return engine.Result{}, err
	}
	out := engine.AlarmsResult{Alarms: []engine.AlarmInfo{}}
	for _, a := range s.Alarms {
		if q.Resource != "" && a.Resource != q.Resource || !q.End.IsZero() && a.Since.After(q.End) {
			continue
		}
		out.Alarms = append(out.Alarms, a)
	}
	return engine.NewResult(fmt.Sprintf("%d alarms", len(out.Alarms)), out)
}
