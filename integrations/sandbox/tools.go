package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
)

// Query limits, as a real provider has them.
const (
	defaultRange       = time.Hour      // metrics, logs and alarms with no start
	defaultChangeRange = 24 * time.Hour // changes with no start
	defaultLogLimit    = 100
	maxLogLimit        = 1000
	maxDepth           = 5
	maxPatternLen      = 1000
)

// Tools returns the Env's read-only tools: query_metrics, search_logs,
// list_changes, describe_resource, topology_neighbours, list_resources and
// active_alarms. They serve only what a query asks for, as a real provider
// would, and refuse bad arguments and unknown resources with an *engine.Error
// naming the field.
func (e *Env) Tools() []engine.Tool {
	return []engine.Tool{
		{
			Name:     "query_metrics",
			Category: engine.CategoryMetrics,
			Description: "Metric time series of one resource (CloudWatch, Prometheus/cAdvisor, OpenTelemetry metrics) between start and end. " +
				"Omit name to get every metric of the resource, which is also how to discover what it has; name matches exactly or, failing that, as a case-insensitive substring. " +
				"Series often carry labels such as container, pod or quantile: a pod-level series can look healthy while one container (a sidecar) is saturated, so look at per-container series. " +
				"Use step (such as 5m) to average points into coarser buckets over long ranges. Times are RFC 3339; end defaults to now and start to one hour before end.",
			Parameters: json.RawMessage(`{"type":"object","properties":{` +
				`"resource":{"type":"string","description":"Resource id, as list_resources or topology_neighbours return it, e.g. eks/retail/catalog/deployment/catalog"},` +
				`"name":{"type":"string","description":"Metric name, exact or a substring, e.g. container_cpu_throttled_ratio or latency; omit for all"},` +
				`"labels":{"type":"object","additionalProperties":{"type":"string"},"description":"Keep only series having all these labels, e.g. {\"container\":\"log-shipper\"}"},` +
				`"start":{"type":"string","format":"date-time","description":"RFC 3339 start of the range"},` +
				`"end":{"type":"string","format":"date-time","description":"RFC 3339 end of the range"},` +
				`"step":{"type":"string","description":"Resolution such as 1m, 5m or 1h; coarser than the native resolution averages points into buckets"}},` +
				`"required":["resource"],"additionalProperties":false}`),
			ReadOnly: true,
			Call:     e.queryMetrics,
		},
		{
			Name:     "search_logs",
			Category: engine.CategoryLogs,
			Description: "Search log lines (application logs, Kubernetes events, database and load-balancer logs) of one resource, or of all resources when resource is omitted, newest first. " +
				"pattern is a case-insensitive substring, or a regular expression between slashes such as /timed? ?out/. level keeps lines at or above a level (debug, info, warn, error, fatal). " +
				"total counts every match even when limit (default 100, at most 1000) cuts the list. Error logs are noisy: a line that repeats all day is rarely the cause. " +
				"Times are RFC 3339; end defaults to now and start to one hour before end.",
			Parameters: json.RawMessage(`{"type":"object","properties":{` +
				`"resource":{"type":"string","description":"Resource id; omit to search every resource"},` +
				`"pattern":{"type":"string","description":"Case-insensitive substring, or /regular expression/"},` +
				`"level":{"type":"string","enum":["debug","info","warn","error","fatal"],"description":"Minimum level"},` +
				`"start":{"type":"string","format":"date-time"},` +
				`"end":{"type":"string","format":"date-time"},` +
				`"limit":{"type":"integer","minimum":1,"maximum":1000,"description":"Most lines to return (default 100)"}},` +
				`"additionalProperties":false}`),
			ReadOnly: true,
			Call:     e.searchLogs,
		},
		{
			Name:     "list_changes",
			Category: engine.CategoryChanges,
			Description: "Changes made in a time range, newest first: deployments and rollouts, configuration and ConfigMap edits, infrastructure changes from CloudTrail (security groups, parameter groups), IAM changes, feature-flag flips and scaling. " +
				"Filter by resource, or omit it to see changes anywhere: causes are often in a different resource from the alarm, and many changes are unrelated. " +
				"Times are RFC 3339; end defaults to now and start to 24 hours before end.",
			Parameters: json.RawMessage(`{"type":"object","properties":{` +
				`"resource":{"type":"string","description":"Resource id; omit for every resource"},` +
				`"start":{"type":"string","format":"date-time"},` +
				`"end":{"type":"string","format":"date-time"}},` +
				`"additionalProperties":false}`),
			ReadOnly: true,
			Call:     e.listChanges,
		},
		{
			Name:     "describe_resource",
			Category: engine.CategoryDescribe,
			Description: "Configuration of one resource, verbatim from its provider: type, labels, what it depends on, and its spec " +
				"(for workloads every container including sidecars, with CPU and memory requests and limits, which apply per container; for databases engine, instance class, storage and connection limits; for security groups their rules).",
			Parameters: json.RawMessage(`{"type":"object","properties":{` +
				`"resource":{"type":"string","description":"Resource id"}},` +
				`"required":["resource"],"additionalProperties":false}`),
			ReadOnly: true,
			Call:     e.describe,
		},
		{
			Name:     "topology_neighbours",
			Category: engine.CategoryTopology,
			Description: "The neighbourhood of a resource in the dependency graph, both directions, up to depth hops (default 1, at most 5): " +
				"what it calls or runs on (an edge from it) and what calls it (an edge to it). Edges point from caller to callee; deployments point to their pods and pods to their nodes. " +
				"Specs are left out; use describe_resource for one resource's configuration.",
			Parameters: json.RawMessage(`{"type":"object","properties":{` +
				`"resource":{"type":"string","description":"Resource id"},` +
				`"depth":{"type":"integer","minimum":1,"maximum":5,"description":"Hops to follow (default 1)"}},` +
				`"required":["resource"],"additionalProperties":false}`),
			ReadOnly: true,
			Call:     e.topology,
		},
		{
			Name:     "list_resources",
			Category: engine.CategoryResources,
			Description: "Inventory of the environment's resources: id, type, name, labels and dependencies (no spec). " +
				"Filter by a type prefix such as k8s.deployment, k8s.pod or aws.rds, and by labels such as {\"service\":\"catalog\"} or {\"node\":\"ip-10-0-1-23.ec2.internal\"}.",
			Parameters: json.RawMessage(`{"type":"object","properties":{` +
				`"type":{"type":"string","description":"Type prefix, e.g. k8s.pod or aws."},` +
				`"labels":{"type":"object","additionalProperties":{"type":"string"},"description":"Keep only resources having all these labels"}},` +
				`"additionalProperties":false}`),
			ReadOnly: true,
			Call:     e.listResources,
		},
		{
			Name:     "active_alarms",
			Category: engine.CategoryAlarms,
			Description: "Alarms from the monitoring systems that fired by end and were still firing at some point in [start, end], oldest first, with their state at end (firing or resolved). " +
				"The first alarm to fire is often a symptom downstream of the cause. Filter by resource or omit it for all. Times are RFC 3339; end defaults to now and start to end (alarms active at end).",
			Parameters: json.RawMessage(`{"type":"object","properties":{` +
				`"resource":{"type":"string","description":"Resource id; omit for every resource"},` +
				`"start":{"type":"string","format":"date-time"},` +
				`"end":{"type":"string","format":"date-time"}},` +
				`"additionalProperties":false}`),
			ReadOnly: true,
			Call:     e.activeAlarms,
		},
	}
}

// argField is one argument a tool accepts: where to decode it and what a
// good value looks like (for the error).
type argField struct {
	name   string
	target any
	want   string
}

// decodeArgs decodes a JSON object field by field so that every error names
// its field; unknown fields are errors.
func decodeArgs(raw json.RawMessage, fields ...argField) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return engine.Invalid("", "arguments must be a JSON object")
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		i := slices.Index(names, k)
		if i < 0 {
			return engine.Invalid(k, "unknown argument (want %s)", strings.Join(names, ", "))
		}
		v := bytes.TrimSpace(m[k])
		if bytes.Equal(v, []byte("null")) || bytes.Equal(v, []byte(`""`)) {
			continue // absent: models often send null or "" for optional arguments
		}
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		if err := dec.Decode(fields[i].target); err != nil {
			return engine.Invalid(k, "want %s, got %s", fields[i].want, truncate(string(v), 80))
		}
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

const (
	wantID     = "a resource id string"
	wantTime   = "an RFC 3339 time such as 2026-11-01T01:30:00Z"
	wantLabels = `an object of label strings such as {"container":"app"}`
)

// resolveResource checks that id names a resource of the Env.
func (e *Env) resolveResource(id string, required bool) error {
	if id == "" {
		if required {
			return engine.Invalid("resource", "required")
		}
		return nil
	}
	if _, ok := e.resources[id]; ok {
		return nil
	}
	msg := fmt.Sprintf("no resource %q exists in this environment; list_resources shows what does", id)
	if near := e.near(id); len(near) > 0 {
		msg += " (did you mean " + strings.Join(near, " or ") + "?)"
	}
	return &engine.Error{Code: engine.CodeNotFound, Field: "resource", Message: msg}
}

// near lists resource ids that end like id, or contain its last segment.
func (e *Env) near(id string) []string {
	last := strings.ToLower(id[strings.LastIndex(id, "/")+1:])
	if last == "" {
		return nil
	}
	var out []string
	for k := range e.resources {
		if strings.HasSuffix(strings.ToLower(k), "/"+last) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	if len(out) > 3 {
		out = out[:3]
	}
	return out
}

// window resolves a query range in Env time: end defaults to the horizon
// (and never passes it), start to end minus def (or end when def is 0).
// A range entirely after the horizon comes back with start after end.
func (e *Env) window(start, end time.Time, def time.Duration) (time.Time, time.Time, error) {
	if !start.IsZero() && !end.IsZero() && start.After(end) {
		return start, end, engine.Invalid("start", "%s is after end %s", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	h := e.horizon()
	if end.IsZero() || end.After(h) {
		end = h
	}
	if start.IsZero() {
		start = end.Add(-def)
	}
	return start, end, nil // start after end (a range in the future): nothing to serve
}

func (e *Env) queryMetrics(ctx context.Context, args json.RawMessage) (engine.Result, error) {
	if err := ctx.Err(); err != nil {
		return engine.Result{}, err
	}
	var q engine.MetricsQuery
	if err := decodeArgs(args,
		argField{"resource", &q.Resource, wantID},
		argField{"name", &q.Name, "a metric name string"},
		argField{"labels", &q.Labels, wantLabels},
		argField{"start", &q.Start, wantTime},
		argField{"end", &q.End, wantTime},
		argField{"step", &q.Step, `a duration such as "5m" or a number of seconds`},
	); err != nil {
		return engine.Result{}, err
	}
	res, err := e.metrics(q)
	if err != nil {
		return engine.Result{}, err
	}
	points := 0
	for _, s := range res.Series {
		points += len(s.Points)
	}
	summary := fmt.Sprintf("%d series, %s for %s", len(res.Series), plural(points, "point"), q.Resource)
	if len(res.Series) == 0 && q.Name != "" {
		summary = fmt.Sprintf("0 series for %s: no metric matches %q", q.Resource, q.Name)
	}
	return engine.NewResult(summary, res)
}

// metrics answers a metrics query, as the query_metrics tool does.
func (e *Env) metrics(q engine.MetricsQuery) (engine.MetricsResult, error) {
	if err := e.resolveResource(q.Resource, true); err != nil {
		return engine.MetricsResult{}, err
	}
	if q.Step < 0 {
		return engine.MetricsResult{}, engine.Invalid("step", "must not be negative")
	}
	start, end, err := e.window(q.Start, q.End, defaultRange)
	if err != nil {
		return engine.MetricsResult{}, err
	}
	candidates := e.byRes[q.Resource]
	var picked []*series
	if q.Name != "" {
		for _, s := range candidates {
			if s.name == q.Name {
				picked = append(picked, s)
			}
		}
		if len(picked) == 0 {
			lower := strings.ToLower(q.Name)
			for _, s := range candidates {
				if strings.Contains(strings.ToLower(s.name), lower) {
					picked = append(picked, s)
				}
			}
		}
	} else {
		picked = candidates
	}
	out := engine.MetricsResult{Series: []engine.Series{}}
	step := time.Duration(q.Step)
	sStart, sEnd := start.Add(-e.shift), end.Add(-e.shift) // scenario time
	for _, s := range picked {
		if !hasLabels(s.labels, q.Labels) {
			continue
		}
		var pts []engine.Point
		if s.gen != nil {
			pts = s.gen.points(sStart, sEnd, e.shift)
		} else {
			pts = recordedPoints(s.rec, sStart, sEnd, e.shift)
		}
		if step > 0 && step > s.native {
			pts = aggregate(pts, start, step)
		}
		out.Series = append(out.Series, engine.Series{Resource: s.resource, Name: s.name, Labels: maps.Clone(s.labels), Unit: s.unit, Points: pts})
	}
	return out, nil
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}

func levelRank(l string) int { return slices.Index(logLevels, l) }

func (e *Env) searchLogs(ctx context.Context, args json.RawMessage) (engine.Result, error) {
	if err := ctx.Err(); err != nil {
		return engine.Result{}, err
	}
	var q engine.LogQuery
	if err := decodeArgs(args,
		argField{"resource", &q.Resource, wantID},
		argField{"pattern", &q.Pattern, "a substring or /regular expression/"},
		argField{"level", &q.Level, "one of debug, info, warn, error, fatal"},
		argField{"start", &q.Start, wantTime},
		argField{"end", &q.End, wantTime},
		argField{"limit", &q.Limit, "a whole number from 1 to 1000"},
	); err != nil {
		return engine.Result{}, err
	}
	res, err := e.logs(q)
	if err != nil {
		return engine.Result{}, err
	}
	where := "all resources"
	if q.Resource != "" {
		where = q.Resource
	}
	summary := fmt.Sprintf("%s in %s", plural(res.Total, "log line"), where)
	if q.Pattern != "" {
		summary = fmt.Sprintf("%s matching %q in %s", plural(res.Total, "log line"), q.Pattern, where)
	}
	if len(res.Entries) < res.Total {
		summary += fmt.Sprintf(" (newest %d shown)", len(res.Entries))
	}
	return engine.NewResult(summary, res)
}

// logs answers a log search, as the search_logs tool does.
func (e *Env) logs(q engine.LogQuery) (engine.LogsResult, error) {
	if err := e.resolveResource(q.Resource, false); err != nil {
		return engine.LogsResult{}, err
	}
	limit := q.Limit
	switch {
	case limit < 0:
		return engine.LogsResult{}, engine.Invalid("limit", "must be positive")
	case limit == 0:
		limit = defaultLogLimit
	case limit > maxLogLimit:
		limit = maxLogLimit
	}
	minLevel := 0
	if q.Level != "" {
		l := strings.ToLower(q.Level)
		if l == "warning" {
			l = "warn"
		}
		if minLevel = levelRank(l); minLevel < 0 {
			return engine.LogsResult{}, engine.Invalid("level", "unknown level %q (want %s)", q.Level, strings.Join(logLevels, ", "))
		}
	}
	match, err := matcher(q.Pattern)
	if err != nil {
		return engine.LogsResult{}, err
	}
	start, end, err := e.window(q.Start, q.End, defaultRange)
	if err != nil {
		return engine.LogsResult{}, err
	}
	sStart, sEnd := start.Add(-e.shift), end.Add(-e.shift)
	lastData := e.dataEnd.Add(-e.shift)
	out := engine.LogsResult{Entries: []engine.LogEntry{}}
	for i := range e.sc.Logs {
		r := &e.sc.Logs[i]
		if q.Resource != "" && r.Resource != q.Resource {
			continue
		}
		if levelRank(r.Level) < minLevel || !match(r.Message) {
			continue
		}
		lo, hi := occurrences(r, sStart, sEnd, lastData)
		if hi < lo {
			continue
		}
		out.Total += hi - lo + 1
		for k := hi; k >= lo && k > hi-limit; k-- {
			out.Entries = append(out.Entries, engine.LogEntry{
				T:        r.At.Add(time.Duration(k)*r.Every + e.shift),
				Resource: r.Resource, Level: r.Level, Message: r.Message, Labels: maps.Clone(r.Labels),
			})
		}
	}
	sort.SliceStable(out.Entries, func(i, j int) bool { return out.Entries[i].T.After(out.Entries[j].T) })
	if len(out.Entries) > limit {
		out.Entries = out.Entries[:limit]
	}
	return out, nil
}

// occurrences returns the first and last repetition index of r within
// [start, end] (scenario time); hi < lo when there is none.
func occurrences(r *LogRule, start, end, lastData time.Time) (lo, hi int) {
	if r.Every <= 0 {
		if r.At.Before(start) || r.At.After(end) {
			return 0, -1
		}
		return 0, 0
	}
	last := r.Until
	if last.IsZero() {
		last = lastData
	}
	if end.Before(last) {
		last = end
	}
	if last.Before(r.At) || last.Before(start) {
		return 0, -1
	}
	if d := start.Sub(r.At); d > 0 {
		lo = int((d + r.Every - 1) / r.Every)
	}
	hi = int(last.Sub(r.At) / r.Every)
	return lo, hi
}

func matcher(pattern string) (func(string) bool, error) {
	if len(pattern) > maxPatternLen {
		return nil, engine.Invalid("pattern", "longer than %d characters", maxPatternLen)
	}
	if pattern == "" {
		return func(string) bool { return true }, nil
	}
	if len(pattern) >= 2 && strings.HasPrefix(pattern, "/") && strings.HasSuffix(pattern, "/") {
		re, err := regexp.Compile("(?i)" + pattern[1:len(pattern)-1])
		if err != nil {
			return nil, engine.Invalid("pattern", "bad regular expression: %v", err)
		}
		return re.MatchString, nil
	}
	lower := strings.ToLower(pattern)
	return func(s string) bool { return strings.Contains(strings.ToLower(s), lower) }, nil
}

func (e *Env) listChanges(ctx context.Context, args json.RawMessage) (engine.Result, error) {
	if err := ctx.Err(); err != nil {
		return engine.Result{}, err
	}
	var q engine.ChangeQuery
	if err := decodeArgs(args,
		argField{"resource", &q.Resource, wantID},
		argField{"start", &q.Start, wantTime},
		argField{"end", &q.End, wantTime},
	); err != nil {
		return engine.Result{}, err
	}
	res, err := e.changes(q)
	if err != nil {
		return engine.Result{}, err
	}
	where := "anywhere"
	if q.Resource != "" {
		where = "to " + q.Resource
	}
	return engine.NewResult(fmt.Sprintf("%s %s", plural(len(res.Changes), "change"), where), res)
}

// changes answers a change query, as the list_changes tool does: newest
// first.
func (e *Env) changes(q engine.ChangeQuery) (engine.ChangesResult, error) {
	if err := e.resolveResource(q.Resource, false); err != nil {
		return engine.ChangesResult{}, err
	}
	start, end, err := e.window(q.Start, q.End, defaultChangeRange)
	if err != nil {
		return engine.ChangesResult{}, err
	}
	out := engine.ChangesResult{Changes: []engine.Change{}}
	for _, c := range e.sc.Changes {
		t := e.at(c.T)
		if (q.Resource != "" && c.Resource != q.Resource) || t.Before(start) || t.After(end) {
			continue
		}
		c.T = t
		out.Changes = append(out.Changes, c)
	}
	sort.SliceStable(out.Changes, func(i, j int) bool { return out.Changes[i].T.After(out.Changes[j].T) })
	return out, nil
}

func (e *Env) describe(ctx context.Context, args json.RawMessage) (engine.Result, error) {
	if err := ctx.Err(); err != nil {
		return engine.Result{}, err
	}
	var q engine.DescribeQuery
	if err := decodeArgs(args, argField{"resource", &q.Resource, wantID}); err != nil {
		return engine.Result{}, err
	}
	if err := e.resolveResource(q.Resource, true); err != nil {
		return engine.Result{}, err
	}
	r := copyResource(*e.resources[q.Resource], true)
	summary := fmt.Sprintf("%s %s", r.Type, r.ID)
	if cs, ok := r.Spec["containers"].([]any); ok {
		summary += ": " + plural(len(cs), "container")
	}
	if len(r.DependsOn) > 0 {
		summary += fmt.Sprintf(", depends on %d", len(r.DependsOn))
	}
	return engine.NewResult(summary, r)
}

func (e *Env) topology(ctx context.Context, args json.RawMessage) (engine.Result, error) {
	if err := ctx.Err(); err != nil {
		return engine.Result{}, err
	}
	var q engine.TopologyQuery
	if err := decodeArgs(args,
		argField{"resource", &q.Resource, wantID},
		argField{"depth", &q.Depth, "a whole number from 1 to 5"},
	); err != nil {
		return engine.Result{}, err
	}
	if err := e.resolveResource(q.Resource, true); err != nil {
		return engine.Result{}, err
	}
	switch {
	case q.Depth < 0:
		return engine.Result{}, engine.Invalid("depth", "must be positive")
	case q.Depth == 0:
		q.Depth = 1
	case q.Depth > maxDepth:
		q.Depth = maxDepth
	}
	dist := map[string]int{q.Resource: 0}
	frontier := []string{q.Resource}
	for d := 1; d <= q.Depth && len(frontier) > 0; d++ {
		var next []string
		for _, id := range frontier {
			for _, n := range e.adjacent[id] {
				if _, seen := dist[n]; !seen {
					dist[n] = d
					next = append(next, n)
				}
			}
		}
		frontier = next
	}
	ids := slices.Collect(maps.Keys(dist))
	sort.Slice(ids, func(i, j int) bool {
		if dist[ids[i]] != dist[ids[j]] {
			return dist[ids[i]] < dist[ids[j]]
		}
		return ids[i] < ids[j]
	})
	out := engine.TopologyResult{Resources: make([]engine.ResourceInfo, 0, len(ids)), Edges: []engine.Edge{}}
	for _, id := range ids {
		out.Resources = append(out.Resources, copyResource(*e.resources[id], false))
	}
	for _, ed := range e.edges {
		_, a := dist[ed.From]
		_, b := dist[ed.To]
		if a && b {
			out.Edges = append(out.Edges, ed)
		}
	}
	sortEdges(out.Edges)
	hops := "hop"
	if q.Depth > 1 {
		hops = "hops"
	}
	return engine.NewResult(fmt.Sprintf("%s, %s within %d %s of %s", plural(len(out.Resources), "resource"), plural(len(out.Edges), "edge"), q.Depth, hops, q.Resource), out)
}

func (e *Env) listResources(ctx context.Context, args json.RawMessage) (engine.Result, error) {
	if err := ctx.Err(); err != nil {
		return engine.Result{}, err
	}
	var q engine.ResourceQuery
	if err := decodeArgs(args,
		argField{"type", &q.Type, "a type prefix string such as k8s.pod"},
		argField{"labels", &q.Labels, wantLabels},
	); err != nil {
		return engine.Result{}, err
	}
	out := engine.ResourcesResult{Resources: []engine.ResourceInfo{}}
	prefix := strings.ToLower(q.Type)
	for _, r := range e.sc.Resources {
		if strings.HasPrefix(strings.ToLower(r.Type), prefix) && hasLabels(r.Labels, q.Labels) {
			out.Resources = append(out.Resources, copyResource(r, false))
		}
	}
	sort.Slice(out.Resources, func(i, j int) bool { return out.Resources[i].ID < out.Resources[j].ID })
	summary := plural(len(out.Resources), "resource")
	if q.Type != "" {
		summary += fmt.Sprintf(" of type %s*", q.Type)
	}
	if len(q.Labels) > 0 {
		summary += " with labels " + fmtLabels(q.Labels)
	}
	return engine.NewResult(summary, out)
}

func (e *Env) activeAlarms(ctx context.Context, args json.RawMessage) (engine.Result, error) {
	if err := ctx.Err(); err != nil {
		return engine.Result{}, err
	}
	var q engine.AlarmQuery
	if err := decodeArgs(args,
		argField{"resource", &q.Resource, wantID},
		argField{"start", &q.Start, wantTime},
		argField{"end", &q.End, wantTime},
	); err != nil {
		return engine.Result{}, err
	}
	res, end, err := e.alarms(q)
	if err != nil {
		return engine.Result{}, err
	}
	firing := 0
	for _, a := range res.Alarms {
		if a.State == string(engine.AlertFiring) {
			firing++
		}
	}
	return engine.NewResult(fmt.Sprintf("%s (%d firing) as of %s", plural(len(res.Alarms), "alarm"), firing, end.Format(time.RFC3339)), res)
}

func (e *Env) alarms(q engine.AlarmQuery) (engine.AlarmsResult, time.Time, error) {
	if err := e.resolveResource(q.Resource, false); err != nil {
		return engine.AlarmsResult{}, time.Time{}, err
	}
	start, end, err := e.window(q.Start, q.End, 0)
	if err != nil {
		return engine.AlarmsResult{}, end, err
	}
	out := engine.AlarmsResult{Alarms: []engine.AlarmInfo{}}
	for _, a := range e.sc.Alerts {
		at, resolved := e.at(a.At), e.at(a.ResolvedAt)
		if (q.Resource != "" && a.Resource != q.Resource) || at.After(end) {
			continue
		}
		if !resolved.IsZero() && resolved.Before(start) {
			continue
		}
		state := string(engine.AlertFiring)
		if !resolved.IsZero() && !resolved.After(end) {
			state = string(engine.AlertResolved)
		}
		out.Alarms = append(out.Alarms, engine.AlarmInfo{Name: a.Title, Resource: a.Resource, Severity: a.Severity, State: state, Since: at, Source: a.Source})
	}
	sort.SliceStable(out.Alarms, func(i, j int) bool { return out.Alarms[i].Since.Before(out.Alarms[j].Since) })
	return out, end, nil
}
