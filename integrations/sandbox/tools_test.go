package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nightshift-ops/nightshift/engine"
)

const toolsYAML = `name: tools-fixture
incident_at: 2026-01-01T12:00:00Z
window: 1h
resources:
  - {id: svc/a, type: k8s.deployment, name: a, labels: {service: a, region: eu-west-1, account: "222"}, depends_on: [db/b],
     spec: {containers: [{name: app, cpu_limit: 500m}, {name: sidecar, cpu_limit: 100m, sidecar: true}], replicas: 2}}
  - {id: db/b, type: aws.rds.instance, labels: {service: a}, depends_on: [sg/c]}
  - {id: sg/c, type: aws.ec2.securitygroup}
  - {id: pod/d, type: k8s.pod, labels: {node: n1}, depends_on: [svc/a]}
metrics:
  - {resource: svc/a, name: latency_seconds, labels: {quantile: "0.99"}, unit: s, baseline: 1, events: [{at: -10m, shape: step, to: 5}]}
  - {resource: svc/a, name: latency_seconds, labels: {quantile: "0.5"}, unit: s, baseline: 0.5}
  - {resource: svc/a, name: cpu_cores, labels: {container: app}, baseline: 0.3}
  - {resource: svc/a, name: cpu_cores, labels: {container: sidecar}, baseline: 0.1}
  - {resource: db/b, name: DatabaseConnections, baseline: 10, events: [{at: -30m, shape: ramp, to: 70, over: 30m}]}
logs:
  - {resource: svc/a, at: -30m, every: 1m, until: -10m, level: info, message: "GET /ok 200"}
  - {resource: svc/a, at: -10m, every: 30s, level: error, message: "Timeout calling db/b after 5000ms", labels: {container: app}}
  - {resource: db/b, at: -5m, level: warn, message: "too many connections"}
changes:
  - {resource: svc/a, at: -15m, kind: deployment, actor: ci, summary: "a v2"}
  - {resource: db/b, at: -2h, kind: config, summary: "max_connections 100 -> 50"}
  - {resource: db/b, at: -30h, kind: config, summary: "old change"}
alerts:
  - {source: cloudwatch, at: 0, title: "a slow", resource: svc/a, severity: P1}
  - {source: alertmanager, rule: DBConns, at: +2m, resolved_at: +5m, title: "b busy", resource: db/b, severity: warning, labels: {team: db}}
truth:
  root_cause: db/b
  category: certificate
  must_mention: [zq-sentinel-stem-1, zq-sentinel-stem-2]
`

func fixtureEnv(t testing.TB, opts ...Option) *Env {
	t.Helper()
	return NewEnv(mustLoad(t, toolsYAML), time.Time{}, opts...)
}

func call(t testing.TB, e *Env, tool, args string) (engine.Result, error) {
	t.Helper()
	for _, tl := range e.Tools() {
		if tl.Name == tool {
			return tl.Call(context.Background(), json.RawMessage(args))
		}
	}
	return engine.Result{}, fmt.Errorf("no tool %s", tool)
}

func mustCall[T any](t *testing.T, e *Env, tool, args string) (string, T) {
	t.Helper()
	r, err := call(t, e, tool, args)
	if err != nil {
		t.Fatalf("%s %s: %v", tool, args, err)
	}
	var v T
	if err := json.Unmarshal(r.Data, &v); err != nil {
		t.Fatalf("%s: decode data: %v", tool, err)
	}
	return r.Summary, v
}

func at(d time.Duration) string { return t0.Add(d).Format(time.RFC3339) }

func TestToolsRegister(t *testing.T) {
	reg := engine.NewRegistry()
	tools := fixtureEnv(t).Tools()
	if err := reg.Add(tools...); err != nil {
		t.Fatalf("registry refuses the tools: %v", err)
	}
	cats := map[engine.ToolCategory]string{}
	for _, tl := range tools {
		var schema struct {
			Type       string                     `json:"type"`
			Properties map[string]json.RawMessage `json:"properties"`
		}
		if err := json.Unmarshal(tl.Parameters, &schema); err != nil || schema.Type != "object" {
			t.Errorf("%s: bad schema: %v", tl.Name, err)
		}
		if !tl.ReadOnly || tl.Description == "" {
			t.Errorf("%s: not read-only or undescribed", tl.Name)
		}
		// Every property of the schema is accepted, and nothing else.
		for p := range schema.Properties {
			if _, err := tl.Call(context.Background(), json.RawMessage(fmt.Sprintf(`{%q: null}`, p))); err != nil && engine.ErrorCode(err) == engine.CodeInvalid && strings.Contains(err.Error(), "unknown argument") {
				t.Errorf("%s: schema property %s refused", tl.Name, p)
			}
		}
		cats[tl.Category] = tl.Name
	}
	for _, c := range []engine.ToolCategory{engine.CategoryMetrics, engine.CategoryLogs, engine.CategoryChanges, engine.CategoryDescribe, engine.CategoryTopology, engine.CategoryResources, engine.CategoryAlarms} {
		if cats[c] == "" {
			t.Errorf("no tool of category %s", c)
		}
	}
}

func TestQueryMetrics(t *testing.T) {
	e := fixtureEnv(t)
	type series struct {
		Name   string
		Labels map[string]string
		Points []engine.Point
	}
	tests := []struct {
		name    string
		args    string
		summary string
		want    []series
	}{
		{
			name:    "exact name and label",
			args:    fmt.Sprintf(`{"resource":"svc/a","name":"latency_seconds","labels":{"quantile":"0.99"},"start":%q,"end":%q}`, at(-11*time.Minute), at(-9*time.Minute)),
			summary: "1 series, 3 points for svc/a",
			want: []series{{"latency_seconds", map[string]string{"quantile": "0.99"}, []engine.Point{
				{T: t0.Add(-11 * time.Minute), V: 1}, {T: t0.Add(-10 * time.Minute), V: 5}, {T: t0.Add(-9 * time.Minute), V: 5}}}},
		},
		{
			name:    "substring name, every label",
			args:    fmt.Sprintf(`{"resource":"svc/a","name":"CPU","start":%q,"end":%q}`, at(0), at(0)),
			summary: "2 series, 2 points for svc/a",
			want: []series{
				{"cpu_cores", map[string]string{"container": "app"}, []engine.Point{{T: t0, V: 0.3}}},
				{"cpu_cores", map[string]string{"container": "sidecar"}, []engine.Point{{T: t0, V: 0.1}}},
			},
		},
		{
			name:    "step averages into buckets from start",
			args:    fmt.Sprintf(`{"resource":"db/b","start":%q,"end":%q,"step":"10m"}`, at(-30*time.Minute), at(-1*time.Minute)),
			summary: "1 series, 3 points for db/b",
			want: []series{{"DatabaseConnections", nil, []engine.Point{
				{T: t0.Add(-30 * time.Minute), V: 19}, {T: t0.Add(-20 * time.Minute), V: 39}, {T: t0.Add(-10 * time.Minute), V: 59}}}},
		},
		{
			name:    "step in seconds, finer than native: raw points",
			args:    fmt.Sprintf(`{"resource":"db/b","start":%q,"end":%q,"step":30}`, at(0), at(time.Minute)),
			summary: "1 series, 2 points for db/b",
			want:    []series{{"DatabaseConnections", nil, []engine.Point{{T: t0, V: 70}, {T: t0.Add(time.Minute), V: 70}}}},
		},
		{
			name:    "range outside the telemetry: series without points",
			args:    fmt.Sprintf(`{"resource":"db/b","start":%q,"end":%q}`, at(-5*time.Hour), at(-4*time.Hour)),
			summary: "1 series, 0 points for db/b",
			want:    []series{{"DatabaseConnections", nil, []engine.Point{}}},
		},
		{
			name:    "no such metric",
			args:    `{"resource":"db/b","name":"Latency"}`,
			summary: `0 series for db/b: no metric matches "Latency"`,
			want:    []series{},
		},
		{
			name:    "label that matches nothing",
			args:    `{"resource":"svc/a","labels":{"container":"nope"}}`,
			summary: "0 series, 0 points for svc/a",
			want:    []series{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			summary, got := mustCall[struct{ Series []series }](t, e, "query_metrics", tt.args)
			if summary != tt.summary {
				t.Errorf("summary = %q, want %q", summary, tt.summary)
			}
			if diff := cmp.Diff(got.Series, tt.want); diff != "" {
				t.Errorf("series (-got +want):\n%s", diff)
			}
		})
	}
	// Defaults: end is the end of the telemetry, start an hour before.
	_, got := mustCall[engine.MetricsResult](t, e, "query_metrics", `{"resource":"db/b"}`)
	if pts := got.Series[0].Points; len(pts) != 61 || !pts[0].T.Equal(t0.Add(-30*time.Minute)) || !pts[60].T.Equal(t0.Add(30*time.Minute)) {
		t.Errorf("default range: %d points from %v", len(pts), pts[0].T)
	}
}

func TestQueryRecordedMetrics(t *testing.T) {
	sc := mustLoad(t, `name: rec
incident_at: 2026-01-01T12:00:00Z
resources: [{id: r, type: x}]
recorded:
  - file: d.csv
    series:
      a: {resource: r, name: a, unit: s}
`, "d.csv", "time,a\n1767268800,1\n1767268801,3\n1767268802,\n1767268803,5\n1767268900,7\n")
	e := NewEnv(sc, sc.IncidentAt)
	_, raw := mustCall[engine.MetricsResult](t, e, "query_metrics", fmt.Sprintf(`{"resource":"r","start":%q,"end":%q}`, at(0), at(10*time.Second)))
	want := []engine.Point{{T: t0, V: 1}, {T: t0.Add(time.Second), V: 3}, {T: t0.Add(3 * time.Second), V: 5}}
	if diff := cmp.Diff(raw.Series[0].Points, want); diff != "" {
		t.Errorf("raw recorded points (-got +want):\n%s", diff)
	}
	_, agg := mustCall[engine.MetricsResult](t, e, "query_metrics", fmt.Sprintf(`{"resource":"r","start":%q,"end":%q,"step":"1m"}`, at(0), at(5*time.Minute)))
	want = []engine.Point{{T: t0, V: 3}, {T: t0.Add(time.Minute), V: 7}}
	if diff := cmp.Diff(agg.Series[0].Points, want); diff != "" {
		t.Errorf("aggregated recorded points (-got +want):\n%s", diff)
	}
}

func TestSearchLogs(t *testing.T) {
	e := fixtureEnv(t)
	type entry struct {
		T       time.Time
		Level   string
		Message string
	}
	tests := []struct {
		name    string
		args    string
		summary string
		total   int
		first   []entry
	}{
		{"pattern substring, newest first, limit", fmt.Sprintf(`{"pattern":"timeout","start":%q,"end":%q,"limit":2}`, at(-time.Hour), at(0)),
			`21 log lines matching "timeout" in all resources (newest 2 shown)`, 21,
			[]entry{{t0, "error", "Timeout calling db/b after 5000ms"}, {t0.Add(-30 * time.Second), "error", "Timeout calling db/b after 5000ms"}}},
		{"regex", fmt.Sprintf(`{"pattern":"/get /ok [0-9]+/","start":%q,"end":%q,"limit":1}`, at(-time.Hour), at(0)),
			`21 log lines matching "/get /ok [0-9]+/" in all resources (newest 1 shown)`, 21,
			[]entry{{t0.Add(-10 * time.Minute), "info", "GET /ok 200"}}},
		{"minimum level and resource", fmt.Sprintf(`{"resource":"db/b","level":"warn","start":%q,"end":%q}`, at(-time.Hour), at(0)),
			"1 log line in db/b", 1, []entry{{t0.Add(-5 * time.Minute), "warn", "too many connections"}}},
		{"level above every line", fmt.Sprintf(`{"level":"fatal","start":%q,"end":%q}`, at(-time.Hour), at(0)),
			"0 log lines in all resources", 0, []entry{}},
		{"range cuts repetitions", fmt.Sprintf(`{"resource":"svc/a","start":%q,"end":%q}`, at(-95*time.Second), at(-30*time.Second)),
			"3 log lines in svc/a", 3, []entry{{t0.Add(-30 * time.Second), "error", "Timeout calling db/b after 5000ms"}, {t0.Add(-60 * time.Second), "error", "Timeout calling db/b after 5000ms"}, {t0.Add(-90 * time.Second), "error", "Timeout calling db/b after 5000ms"}}},
		{"every line repeats until the end of the telemetry", fmt.Sprintf(`{"pattern":"timeout","start":%q,"end":%q,"limit":1}`, at(0), at(2*time.Hour)),
			`61 log lines matching "timeout" in all resources (newest 1 shown)`, 61, []entry{{t0.Add(30 * time.Minute), "error", "Timeout calling db/b after 5000ms"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			summary, got := mustCall[struct {
				Entries []entry
				Total   int
			}](t, e, "search_logs", tt.args)
			if summary != tt.summary || got.Total != tt.total {
				t.Errorf("summary %q total %d, want %q %d", summary, got.Total, tt.summary, tt.total)
			}
			if diff := cmp.Diff(got.Entries, tt.first); diff != "" {
				t.Errorf("entries (-got +want):\n%s", diff)
			}
		})
	}
	_, full := mustCall[engine.LogsResult](t, e, "search_logs", `{"pattern":"timeout","limit":1}`)
	if diff := cmp.Diff(full.Entries[0].Labels, map[string]string{"container": "app"}); diff != "" || full.Entries[0].Resource != "svc/a" {
		t.Errorf("entry labels or resource wrong: %+v", full.Entries[0])
	}
	_, capped := mustCall[engine.LogsResult](t, e, "search_logs", `{"limit":5000,"start":"2025-12-31T00:00:00Z"}`)
	if len(capped.Entries) != maxLogLimit && len(capped.Entries) != capped.Total {
		t.Errorf("limit not capped: %d of %d", len(capped.Entries), capped.Total)
	}
}

func TestListChanges(t *testing.T) {
	e := fixtureEnv(t)
	summary, got := mustCall[engine.ChangesResult](t, e, "list_changes", `{}`)
	if summary != "2 changes anywhere" || len(got.Changes) != 2 || got.Changes[0].Summary != "a v2" || got.Changes[1].Summary != "max_connections 100 -> 50" {
		t.Errorf("default 24 h, newest first: %q %+v", summary, got.Changes)
	}
	_, got = mustCall[engine.ChangesResult](t, e, "list_changes", fmt.Sprintf(`{"resource":"db/b","start":%q}`, at(-48*time.Hour)))
	if len(got.Changes) != 2 || got.Changes[1].Summary != "old change" {
		t.Errorf("resource and range: %+v", got.Changes)
	}
	_, got = mustCall[engine.ChangesResult](t, e, "list_changes", fmt.Sprintf(`{"start":%q,"end":%q}`, at(-20*time.Minute), at(-15*time.Minute)))
	want := []engine.Change{{T: t0.Add(-15 * time.Minute), Resource: "svc/a", Kind: "deployment", Actor: "ci", Summary: "a v2"}}
	if diff := cmp.Diff(got.Changes, want); diff != "" {
		t.Errorf("closed range (-got +want):\n%s", diff)
	}
}

func TestDescribeResource(t *testing.T) {
	e := fixtureEnv(t)
	summary, got := mustCall[engine.ResourceInfo](t, e, "describe_resource", `{"resource":"svc/a"}`)
	want := engine.ResourceInfo{
		ID: "svc/a", Type: "k8s.deployment", Name: "a",
		Labels:    map[string]string{"service": "a", "region": "eu-west-1", "account": "222"},
		DependsOn: []string{"db/b"},
		Spec: map[string]any{"replicas": float64(2), "containers": []any{
			map[string]any{"name": "app", "cpu_limit": "500m"},
			map[string]any{"name": "sidecar", "cpu_limit": "100m", "sidecar": true}}},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("describe (-got +want):\n%s", diff)
	}
	if summary != "k8s.deployment svc/a: 2 containers, depends on 1" {
		t.Errorf("summary = %q", summary)
	}
}

func TestTopologyNeighbours(t *testing.T) {
	e := fixtureEnv(t)
	ids := func(r engine.TopologyResult) []string {
		var out []string
		for _, x := range r.Resources {
			out = append(out, x.ID)
			if x.Spec != nil {
				t.Errorf("topology returns the spec of %s", x.ID)
			}
		}
		return out
	}
	summary, got := mustCall[engine.TopologyResult](t, e, "topology_neighbours", `{"resource":"db/b"}`)
	if diff := cmp.Diff(ids(got), []string{"db/b", "sg/c", "svc/a"}); diff != "" {
		t.Errorf("depth 1 (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(got.Edges, []engine.Edge{{From: "db/b", To: "sg/c"}, {From: "svc/a", To: "db/b"}}); diff != "" {
		t.Errorf("depth 1 edges (-got +want):\n%s", diff)
	}
	if summary != "3 resources, 2 edges within 1 hop of db/b" {
		t.Errorf("summary = %q", summary)
	}
	_, got = mustCall[engine.TopologyResult](t, e, "topology_neighbours", `{"resource":"db/b","depth":2}`)
	if diff := cmp.Diff(ids(got), []string{"db/b", "sg/c", "svc/a", "pod/d"}); diff != "" {
		t.Errorf("depth 2 (-got +want):\n%s", diff)
	}
	want := []engine.Edge{{From: "db/b", To: "sg/c"}, {From: "pod/d", To: "svc/a"}, {From: "svc/a", To: "db/b"}}
	if diff := cmp.Diff(e.Edges(), want); diff != "" {
		t.Errorf("Edges (-got +want):\n%s", diff)
	}
}

func TestListResources(t *testing.T) {
	e := fixtureEnv(t)
	tests := []struct{ args, summary string }{
		{`{}`, "4 resources"},
		{`{"type":"K8S."}`, "2 resources of type K8S.*"},
		{`{"type":"aws.rds"}`, "1 resource of type aws.rds*"},
		{`{"labels":{"service":"a"}}`, `2 resources with labels {service="a"}`},
		{`{"type":"k8s","labels":{"node":"n1"}}`, `1 resource of type k8s* with labels {node="n1"}`},
	}
	for _, tt := range tests {
		summary, got := mustCall[engine.ResourcesResult](t, e, "list_resources", tt.args)
		if summary != tt.summary {
			t.Errorf("%s: summary %q, want %q", tt.args, summary, tt.summary)
		}
		for _, r := range got.Resources {
			if r.Spec != nil {
				t.Errorf("%s: list returns specs", tt.args)
			}
		}
	}
	if got := e.Resources(); len(got) != 4 || got[0].ID != "db/b" || got[3].Spec == nil {
		t.Errorf("Resources() = %+v", got)
	}
}

func TestActiveAlarms(t *testing.T) {
	e := fixtureEnv(t)
	tests := []struct {
		name, args string
		want       []engine.AlarmInfo
	}{
		{"before any alarm", fmt.Sprintf(`{"end":%q}`, at(-time.Minute)), []engine.AlarmInfo{}},
		{"first fired", fmt.Sprintf(`{"end":%q}`, at(time.Minute)), []engine.AlarmInfo{
			{Name: "a slow", Resource: "svc/a", Severity: engine.SeverityCritical, State: "firing", Since: t0, Source: "cloudwatch"}}},
		{"both firing", fmt.Sprintf(`{"end":%q}`, at(3*time.Minute)), []engine.AlarmInfo{
			{Name: "a slow", Resource: "svc/a", Severity: engine.SeverityCritical, State: "firing", Since: t0, Source: "cloudwatch"},
			{Name: "b busy", Resource: "db/b", Severity: engine.SeverityWarning, State: "firing", Since: t0.Add(2 * time.Minute), Source: "alertmanager"}}},
		{"resolved and out of range", fmt.Sprintf(`{"end":%q}`, at(10*time.Minute)), []engine.AlarmInfo{
			{Name: "a slow", Resource: "svc/a", Severity: engine.SeverityCritical, State: "firing", Since: t0, Source: "cloudwatch"}}},
		{"resolved within range", fmt.Sprintf(`{"resource":"db/b","start":%q,"end":%q}`, at(0), at(10*time.Minute)), []engine.AlarmInfo{
			{Name: "b busy", Resource: "db/b", Severity: engine.SeverityWarning, State: "resolved", Since: t0.Add(2 * time.Minute), Source: "alertmanager"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := mustCall[engine.AlarmsResult](t, e, "active_alarms", tt.args)
			if diff := cmp.Diff(got.Alarms, tt.want); diff != "" {
				t.Errorf("alarms (-got +want):\n%s", diff)
			}
		})
	}
}

func TestClock(t *testing.T) {
	now := t0.Add(-5 * time.Minute)
	e := fixtureEnv(t, WithClock(func() time.Time { return now }))
	_, m := mustCall[engine.MetricsResult](t, e, "query_metrics", fmt.Sprintf(`{"resource":"db/b","end":%q}`, at(time.Hour)))
	if pts := m.Series[0].Points; !pts[len(pts)-1].T.Equal(now) {
		t.Errorf("metrics after now served: last point %v", pts[len(pts)-1].T)
	}
	_, a := mustCall[engine.AlarmsResult](t, e, "active_alarms", `{}`)
	if len(a.Alarms) != 0 {
		t.Errorf("alarms of the future served: %+v", a.Alarms)
	}
	summary, future := mustCall[engine.MetricsResult](t, e, "query_metrics", fmt.Sprintf(`{"resource":"db/b","start":%q}`, at(time.Minute)))
	if summary != "1 series, 0 points for db/b" || len(future.Series[0].Points) != 0 {
		t.Errorf("a range after now: %q %+v", summary, future)
	}
	_, l := mustCall[engine.LogsResult](t, e, "search_logs", `{"pattern":"timeout"}`)
	if l.Total != 11 {
		t.Errorf("logs up to now: %d, want 11", l.Total)
	}
}

func TestToolErrors(t *testing.T) {
	e := fixtureEnv(t)
	tests := []struct {
		tool, args string
		code       engine.Code
		field      string
		msg        string
	}{
		{"query_metrics", `{}`, engine.CodeInvalid, "resource", "resource: required"},
		{"query_metrics", `{"resource":"svc/zz"}`, engine.CodeNotFound, "resource", `resource: no resource "svc/zz" exists in this environment; list_resources shows what does`},
		{"query_metrics", `{"resource":"other/a"}`, engine.CodeNotFound, "resource", `resource: no resource "other/a" exists in this environment; list_resources shows what does (did you mean svc/a?)`},
		{"query_metrics", `{"resource":"svc/a","start":"yesterday"}`, engine.CodeInvalid, "start", `start: want an RFC 3339 time such as 2026-11-01T01:30:00Z, got "yesterday"`},
		{"query_metrics", `{"resource":"svc/a","step":"fast"}`, engine.CodeInvalid, "step", `step: want a duration such as "5m" or a number of seconds, got "fast"`},
		{"query_metrics", `{"resource":"svc/a","step":"-5m"}`, engine.CodeInvalid, "step", `step: must not be negative`},
		{"query_metrics", `{"resource":"svc/a","labels":["x"]}`, engine.CodeInvalid, "labels", `labels: want an object of label strings such as {"container":"app"}, got ["x"]`},
		{"query_metrics", `{"resource":"svc/a","metric":"cpu"}`, engine.CodeInvalid, "metric", `metric: unknown argument (want resource, name, labels, start, end, step)`},
		{"query_metrics", fmt.Sprintf(`{"resource":"svc/a","start":%q,"end":%q}`, at(0), at(-time.Hour)), engine.CodeInvalid, "start", `start: 2026-01-01T12:00:00Z is after end 2026-01-01T11:00:00Z`},
		{"query_metrics", `[1,2]`, engine.CodeInvalid, "", `arguments must be a JSON object`},
		{"search_logs", `{"level":"loud"}`, engine.CodeInvalid, "level", `level: unknown level "loud" (want debug, info, warn, error, fatal)`},
		{"search_logs", `{"pattern":"/[a-/"}`, engine.CodeInvalid, "pattern", "pattern: bad regular expression: error parsing regexp: missing closing ]: `[a-`"},
		{"search_logs", `{"limit":-1}`, engine.CodeInvalid, "limit", `limit: must be positive`},
		{"search_logs", `{"limit":"many"}`, engine.CodeInvalid, "limit", `limit: want a whole number from 1 to 1000, got "many"`},
		{"search_logs", `{"resource":"nope"}`, engine.CodeNotFound, "resource", `resource: no resource "nope" exists in this environment; list_resources shows what does`},
		{"list_changes", `{"resource":"nope"}`, engine.CodeNotFound, "resource", `resource: no resource "nope" exists in this environment; list_resources shows what does`},
		{"describe_resource", `{"resource":""}`, engine.CodeInvalid, "resource", `resource: required`},
		{"describe_resource", `{"resource":7}`, engine.CodeInvalid, "resource", `resource: want a resource id string, got 7`},
		{"topology_neighbours", `{"resource":"svc/a","depth":-1}`, engine.CodeInvalid, "depth", `depth: must be positive`},
		{"list_resources", `{"labels":{"a":1}}`, engine.CodeInvalid, "labels", `labels: want an object of label strings such as {"container":"app"}, got {"a":1}`},
		{"active_alarms", `{"resource":"nope"}`, engine.CodeNotFound, "resource", `resource: no resource "nope" exists in this environment; list_resources shows what does`},
	}
	for _, tt := range tests {
		t.Run(tt.tool+" "+tt.args, func(t *testing.T) {
			_, err := call(t, e, tt.tool, tt.args)
			var ee *engine.Error
			if !errors.As(err, &ee) {
				t.Fatalf("error %v is not an *engine.Error", err)
			}
			if ee.Code != tt.code || ee.Field != tt.field || ee.Error() != tt.msg {
				t.Errorf("got %s %q %q, want %s %q %q", ee.Code, ee.Field, ee.Error(), tt.code, tt.field, tt.msg)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tl := range e.Tools() {
		if _, err := tl.Call(ctx, json.RawMessage(`{}`)); !errors.Is(err, context.Canceled) {
			t.Errorf("%s ignores a cancelled context: %v", tl.Name, err)
		}
	}
}

func TestToolsConcurrently(t *testing.T) {
	e := fixtureEnv(t)
	done := make(chan string)
	for range 8 {
		go func() { done <- serveEverything(t, e, nil) }()
	}
	first := <-done
	for range 7 {
		if got := <-done; got != first {
			t.Error("concurrent calls disagree")
		}
	}
	if _, err := call(t, e, "search_logs", `{"resource":"","start":"","pattern":null}`); err != nil {
		t.Errorf("empty optional arguments refused: %v", err)
	}
}

func TestAlerts(t *testing.T) {
	e := fixtureEnv(t)
	got := e.Alerts()
	if len(got) != 3 {
		t.Fatalf("%d alerts, want 3 deliveries", len(got))
	}
	first := got[0]
	if first.Source != "cloudwatch" || first.Status != engine.AlertFiring || first.Severity != engine.SeverityCritical ||
		first.Service != "a" || first.Region != "eu-west-1" || first.Account != "222" || !first.StartsAt.Equal(t0) ||
		first.Fingerprint != engine.StructuredFingerprint("cloudwatch", "scenario-alert-0", []string{"svc/a"}, nil) {
		t.Errorf("first alert = %+v", first)
	}
	var raw map[string]any
	if err := json.Unmarshal(first.Raw, &raw); err != nil || raw["title"] != "a slow" || raw["status"] != "firing" {
		t.Errorf("raw = %s (%v)", first.Raw, err)
	}
	fired, resolved := got[1], got[2]
	if fired.Status != engine.AlertFiring || resolved.Status != engine.AlertResolved || !resolved.EndsAt.Equal(t0.Add(5*time.Minute)) ||
		fired.Fingerprint != resolved.Fingerprint || fired.DeliveryID == resolved.DeliveryID || resolved.Labels["team"] != "db" {
		t.Errorf("fired/resolved pair = %+v / %+v", fired, resolved)
	}
	ids := map[string]bool{}
	for _, a := range got {
		if ids[a.DeliveryID] {
			t.Errorf("delivery id %s repeats", a.DeliveryID)
		}
		ids[a.DeliveryID] = true
	}
}

// TestTruthUnreachable proves the engine cannot learn the answer: no field
// of Scenario can hold a Truth, and nothing the Env serves — the scenario
// as JSON, every tool's output, every alert — carries a truth value.
func TestTruthUnreachable(t *testing.T) {
	truthType := reflect.TypeOf(Truth{})
	var walk func(reflect.Type, string)
	seen := map[reflect.Type]bool{}
	walk = func(ty reflect.Type, path string) {
		if ty == truthType {
			t.Errorf("%s can hold a Truth", path)
		}
		if seen[ty] {
			return
		}
		seen[ty] = true
		switch ty.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
			walk(ty.Elem(), path+"[]")
		case reflect.Struct:
			for f := range ty.Fields() {
				walk(f.Type, path+"."+f.Name)
			}
		}
	}
	walk(reflect.TypeOf(Scenario{}), "Scenario")
	walk(reflect.TypeOf(Env{}), "Env")

	sc, tr, err := LoadFS(mapFS("s.yaml", toolsYAML), "s.yaml")
	if err != nil || tr == nil {
		t.Fatal(err)
	}
	out := serveEverything(t, NewEnv(sc, sc.IncidentAt), sc)
	for _, forbidden := range append([]string{tr.Category, "zq-sentinel", "root_cause", "must_mention", `"truth"`}, tr.MustMention...) {
		if strings.Contains(out, forbidden) {
			t.Errorf("served output contains %q", forbidden)
		}
	}

	// The built-in library: no truth key anywhere, and no scenario name (a
	// name such as catalog-sidecar-throttling gives the answer away) in
	// what the engine sees.
	ls, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	key := regexp.MustCompile(`"(truth|root_cause|must_mention|category)"`)
	for _, l := range ls {
		e := NewEnv(l.Scenario, l.Scenario.IncidentAt)
		engineSees := serveEverything(t, e, nil)
		if key.MatchString(engineSees) {
			t.Errorf("%s: a truth key is served", l.Scenario.Name)
		}
		if strings.Contains(engineSees, l.Scenario.Name) {
			t.Errorf("%s: the scenario name is served", l.Scenario.Name)
		}
	}
}

// serveEverything calls every tool as broadly as it goes, for every
// resource, and returns all the output together with the alerts (and the
// scenario as JSON when sc is given).
func serveEverything(t *testing.T, e *Env, sc *Scenario) string {
	t.Helper()
	var b strings.Builder
	if sc != nil {
		j, err := json.Marshal(sc)
		if err != nil {
			t.Error(err)
		}
		b.Write(j)
	}
	j, _ := json.Marshal(e.Alerts())
	b.Write(j)
	j, _ = json.Marshal(e.Resources())
	b.Write(j)
	span := e.Span()
	start, end := span.Start.Add(-48*time.Hour).Format(time.RFC3339), span.End.Add(48*time.Hour).Format(time.RFC3339)
	collect := func(tool, args string) {
		r, err := call(t, e, tool, args)
		if err != nil {
			t.Errorf("%s %s: %v", tool, args, err) // Errorf: this may run off the test goroutine
			return
		}
		b.WriteString(r.Summary)
		b.Write(r.Data)
	}
	collect("list_resources", `{}`)
	collect("search_logs", fmt.Sprintf(`{"start":%q,"end":%q,"limit":1000}`, start, end))
	collect("list_changes", fmt.Sprintf(`{"start":%q,"end":%q}`, start, end))
	collect("active_alarms", fmt.Sprintf(`{"start":%q,"end":%q}`, start, end))
	for _, r := range e.Resources() {
		collect("describe_resource", fmt.Sprintf(`{"resource":%q}`, r.ID))
		collect("topology_neighbours", fmt.Sprintf(`{"resource":%q,"depth":5}`, r.ID))
		collect("query_metrics", fmt.Sprintf(`{"resource":%q,"start":%q,"end":%q,"step":"10m"}`, r.ID, start, end))
	}
	return b.String()
}
