package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nightshift-ops/nightshift/engine"
)

// benchmarkDir holds the public RCA benchmark scenarios converted to the
// scenario format (34 files); tests skip it when it is absent.
const benchmarkDir = "../../../shared/benchmarks/rca"

func TestBuiltinLoads(t *testing.T) {
	ls, err := Builtin()
	if err != nil {
		t.Fatalf("Builtin: %v", err)
	}
	if len(ls) < 12 {
		t.Fatalf("Builtin: %d scenarios, want at least 12", len(ls))
	}
	for _, l := range ls {
		if l.Truth == nil {
			t.Errorf("%s: no truth", l.Path)
		}
		if want := "scenarios/" + l.Scenario.Name + ".yaml"; l.Path != want {
			t.Errorf("%s: scenario named %q, want the file name", l.Path, l.Scenario.Name)
		}
	}
}

func TestBenchmarkScenariosLoad(t *testing.T) {
	dir := benchmarkDir
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no benchmark folder: %v", err)
	}
	ls, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	if len(ls) != 34 {
		t.Fatalf("LoadDir(%s): %d scenarios, want 34", dir, len(ls))
	}
	points := 0
	for _, l := range ls {
		if l.Truth == nil || l.Truth.RootCause == "" {
			t.Errorf("%s: no truth", l.Path)
		}
		if len(l.Scenario.Recorded) != 1 {
			t.Errorf("%s: %d recorded files, want 1", l.Path, len(l.Scenario.Recorded))
		}
		for _, r := range l.Scenario.Recorded {
			for _, s := range r.Series {
				points += s.Len()
			}
		}
	}
	// The README of the benchmark counts 291,321 points over 5,492 series.
	if points != 291321 {
		t.Errorf("recorded points = %d, want 291321", points)
	}
}

// A small valid scenario; the broken cases below edit one line of it so
// that line numbers stay put.
const okYAML = `name: t
incident_at: 2026-01-01T00:00:00Z
window: 1h
resources:
  - id: svc/a
    type: k8s.deployment
    depends_on: [svc/b]
  - id: svc/b
    type: aws.rds.instance
metrics:
  - resource: svc/a
    name: latency
    events:
      - {at: -5m, shape: step, to: 2}
alerts:
  - {source: generic, at: 0, title: slow, resource: svc/a}
truth: {root_cause: svc/b, category: database}
`

const recordedYAML = `recorded:
  - file: data.csv
    series:
      lat: {resource: svc/a, name: lat_s}
`

func TestLoadValid(t *testing.T) {
	fsys := fstest.MapFS{"ok.yaml": {Data: []byte(okYAML)}}
	sc, tr, err := LoadFS(fsys, "ok.yaml")
	if err != nil {
		t.Fatalf("LoadFS: %v", err)
	}
	if diff := cmp.Diff(tr, &Truth{RootCause: "svc/b", Category: "database"}); diff != "" {
		t.Errorf("truth (-got +want):\n%s", diff)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	want := &Scenario{
		Name: "t", Space: "sandbox", IncidentAt: t0, Window: time.Hour,
		Resources: []engine.ResourceInfo{
			{ID: "svc/a", Type: "k8s.deployment", DependsOn: []string{"svc/b"}},
			{ID: "svc/b", Type: "aws.rds.instance"},
		},
		Metrics: []Metric{{Resource: "svc/a", Name: "latency", Events: []Event{{At: t0.Add(-5 * time.Minute), Shape: ShapeStep, To: 2}}}},
		Alerts:  []AlertRule{{Source: "generic", Rule: "scenario-alert-0", At: t0, Title: "slow", Resource: "svc/a", Severity: engine.SeverityWarning}},
		File:    "ok.yaml",
	}
	if diff := cmp.Diff(sc, want); diff != "" {
		t.Errorf("scenario (-got +want):\n%s", diff)
	}
}

func TestLoadErrors(t *testing.T) {
	allCategories := strings.Join(categories, ", ")
	tests := []struct {
		name   string
		edit   func(string) string
		files  map[string]string // extra files beside bad.yaml
		errors []string
	}{
		{
			name:   "unknown shape",
			edit:   replace("shape: step", "shape: square"),
			errors: []string{`bad.yaml:14: metrics[0].events[0].shape: unknown shape "square" (want step, ramp, spike, sine)`},
		},
		{
			name:   "name not kebab-case",
			edit:   replace("name: t\n", "name: My_Scenario\n"),
			errors: []string{`bad.yaml:1: name: "My_Scenario" is not kebab-case (want lower-case words joined by '-', such as catalog-sidecar-throttling)`},
		},
		{
			name:   "incident_at is an offset",
			edit:   replace("incident_at: 2026-01-01T00:00:00Z", "incident_at: -5m"),
			errors: []string{`bad.yaml:2: incident_at: want an RFC 3339 time such as 2026-11-01T02:00:00Z, not an offset`},
		},
		{
			name:   "incident_at missing",
			edit:   replace("incident_at: 2026-01-01T00:00:00Z", "summary: x"),
			errors: []string{`bad.yaml:1: incident_at: required (an RFC 3339 time such as 2026-11-01T02:00:00Z)`},
		},
		{
			name:   "bad window",
			edit:   replace("window: 1h", "window: 2 hours"),
			errors: []string{`bad.yaml:3: window: want a duration such as 90s, 5m or 1h30m, got "2 hours"`},
		},
		{
			name:   "bad offset",
			edit:   replace("at: -5m", "at: -5 minutes"),
			errors: []string{`bad.yaml:14: metrics[0].events[0].at: want an offset such as -12m, 0 or +5m, or an RFC 3339 time, got "-5 minutes"`},
		},
		{
			name:   "unknown category",
			edit:   replace("category: database", "category: dns"),
			errors: []string{`bad.yaml:17: truth.category: unknown category "dns" (want ` + allCategories + `)`},
		},
		{
			name: "duplicate resource id",
			edit: replace("id: svc/b", "id: svc/a"),
			errors: []string{
				`bad.yaml:8: resources[1].id: "svc/a" is also the id of resources[0] (line 5)`,
				`bad.yaml:7: resources[0].depends_on[0]: unknown resource "svc/b"`,
				`bad.yaml:17: truth.root_cause: unknown resource "svc/b"`,
			},
		},
		{
			name:   "depends_on unknown",
			edit:   replace("depends_on: [svc/b]", "depends_on: [svc/c]"),
			errors: []string{`bad.yaml:7: resources[0].depends_on[0]: unknown resource "svc/c"`},
		},
		{
			name:   "metric on unknown resource, with a hint",
			edit:   replace("  - resource: svc/a\n", "  - resource: other/a\n"),
			errors: []string{`bad.yaml:11: metrics[0].resource: unknown resource "other/a" (did you mean svc/a?)`},
		},
		{
			name:   "unknown field",
			edit:   replace("window: 1h", "windw: 1h"),
			errors: []string{`bad.yaml:3: windw: unknown field (want name, summary, base, space, incident_at, window, resources, metrics, logs, changes, alerts, recorded, truth)`},
		},
		{
			name:   "repeated field",
			edit:   replace("window: 1h", "name: t2"),
			errors: []string{`bad.yaml:3: name: repeated (first at line 1)`},
		},
		{
			name:   "unknown alert source",
			edit:   replace("source: generic", "source: nagios"),
			errors: []string{`bad.yaml:16: alerts[0].source: unknown source "nagios" (want pagerduty, alertmanager, grafana, datadog, cloudwatch, generic)`},
		},
		{
			name:   "unknown base",
			edit:   replace("window: 1h", "base: shop"),
			errors: []string{`bad.yaml:3: base: unknown base "shop" (want retail-store)`},
		},
		{
			name:   "ramp without over",
			edit:   replace("shape: step", "shape: ramp"),
			errors: []string{`bad.yaml:14: metrics[0].events[0].over: a ramp needs a positive duration, such as 5m`},
		},
		{
			name:   "until before at",
			edit:   replace("to: 2}", "to: 2, until: -10m}"),
			errors: []string{`bad.yaml:14: metrics[0].events[0].until: -10m is not after at (-5m)`},
		},
		{
			name: "baseline not a number and name missing",
			edit: replace("    name: latency\n", "    baseline: high\n"),
			errors: []string{
				`bad.yaml:12: metrics[0].baseline: want a number, got "high"`,
				`bad.yaml:11: metrics[0].name: required`,
			},
		},
		{
			name:   "resource of unknown type",
			edit:   replace("    type: aws.rds.instance\n", "    name: b\n"),
			errors: []string{`bad.yaml:8: resources[1].type: required (k8s.deployment, aws.rds.instance, ...)`},
		},
		{
			name:   "unknown change kind",
			edit:   appendText("changes:\n  - {resource: svc/a, at: -1m, kind: reboot, summary: x}\n"),
			errors: []string{`bad.yaml:19: changes[0].kind: unknown kind "reboot" (want deployment, config, infrastructure, feature-flag, scaling, iam)`},
		},
		{
			name:   "unknown log level and until without every",
			edit:   appendText("logs:\n  - {resource: svc/a, at: 0, until: +5m, level: notice, message: hi}\n"),
			errors: []string{`bad.yaml:19: logs[0].level: unknown level "notice" (want debug, info, warn, error, fatal)`, `bad.yaml:19: logs[0].until: until needs every (a line without every is written once)`},
		},
		{
			name:   "bad severity",
			edit:   replace("resource: svc/a}", "resource: svc/a, severity: whenever}"),
			errors: []string{`bad.yaml:16: alerts[0].severity: unknown severity "whenever" (want critical, error, warning or info, or a spelling such as P1 or sev2)`},
		},
		{
			name:   "recorded file missing",
			edit:   appendText(recordedYAML),
			errors: []string{`bad.yaml:19: recorded[0].file: cannot read "data.csv": open: file does not exist`},
		},
		{
			name:   "recorded column missing",
			edit:   appendText(recordedYAML),
			files:  map[string]string{"data.csv": "time,latency\n1,2\n"},
			errors: []string{`bad.yaml:21: recorded[0].series["lat"]: column "lat" not in data.csv (it has "time", "latency")`},
		},
		{
			name:   "recorded time column missing",
			edit:   appendText(strings.Replace(recordedYAML, "    series:", "    time_column: ts\n    series:", 1)),
			files:  map[string]string{"data.csv": "time,lat\n1,2\n"},
			errors: []string{`bad.yaml:20: recorded[0].time_column: column "ts" not in data.csv (it has "time", "lat")`},
		},
		{
			name:   "recorded bad cells",
			edit:   appendText(recordedYAML),
			files:  map[string]string{"data.csv": "time,lat\n1,2\n2,abc\nyesterday,3\n"},
			errors: []string{`data.csv:3: lat: cannot read "abc" as a number`, `data.csv:4: time: cannot read time "yesterday" (want unix seconds or RFC 3339)`},
		},
		{
			name:   "YAML syntax",
			edit:   replace("  - id: svc/a\n", "  - id: [svc/a\n"),
			errors: []string{`bad.yaml:4: YAML syntax: did not find expected ',' or ']'`},
		},
		{
			name:   "empty file",
			edit:   func(string) string { return "" },
			errors: []string{`bad.yaml: empty file: want a scenario mapping`},
		},
		{
			name:   "not a mapping",
			edit:   func(string) string { return "- just\n- a list\n" },
			errors: []string{`bad.yaml:1: want a mapping, got a list`},
		},
		{
			name:   "two documents",
			edit:   appendText("---\nname: u\n"),
			errors: []string{`bad.yaml:18: more than one YAML document: want one scenario per file`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"bad.yaml": {Data: []byte(tt.edit(okYAML))}}
			for name, data := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(data)}
			}
			sc, tr, err := LoadFS(fsys, "bad.yaml")
			if err == nil {
				t.Fatalf("LoadFS: no error")
			}
			if sc != nil || tr != nil {
				t.Errorf("LoadFS returned a scenario or truth with its error")
			}
			if diff := cmp.Diff(strings.Split(err.Error(), "\n"), tt.errors); diff != "" {
				t.Errorf("errors (-got +want):\n%s", diff)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error is not a *FieldError")
			}
		})
	}
}

func replace(old, new string) func(string) string {
	return func(s string) string {
		if !strings.Contains(s, old) {
			panic("fixture does not contain " + old)
		}
		return strings.Replace(s, old, new, 1)
	}
}

func appendText(extra string) func(string) string {
	return func(s string) string { return s + extra }
}

func TestLoadFileAndDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", okYAML)
	write("sub/b.yml", strings.Replace(okYAML, "name: t\n", "name: u\n", 1)+recordedYAML)
	write("sub/data.csv", "time,lat\n1767225300,1.5\n1767225360,\n2026-01-01T00:00:00Z,2.5\n")
	write(".hidden/c.yaml", "not: a scenario")
	write("notes.txt", "ignored")

	sc, tr, err := Load(filepath.Join(dir, "sub", "b.yml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if tr == nil || tr.Category != "database" {
		t.Errorf("Load truth = %+v", tr)
	}
	pts := sc.Recorded[0].Series[0].points
	want := []recPoint{{t: 1767225300e9, v: 1.5}, {t: 1767225600e9, v: 2.5}}
	if diff := cmp.Diff(pts, want, cmp.AllowUnexported(recPoint{})); diff != "" {
		t.Errorf("recorded points (-got +want):\n%s", diff)
	}

	ls, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	var names []string
	for _, l := range ls {
		names = append(names, l.Scenario.Name)
	}
	if diff := cmp.Diff(names, []string{"t", "u"}); diff != "" {
		t.Errorf("LoadDir names (-got +want):\n%s", diff)
	}

	write("sub/dup.yaml", okYAML)
	write("sub/broken.yaml", "name: Broken\n")
	_, err = LoadDir(dir)
	if err == nil {
		t.Fatal("LoadDir with a duplicate and a broken file: no error")
	}
	for _, want := range []string{
		filepath.Join(dir, "sub", "dup.yaml") + `: name: "t" is also the name of ` + filepath.Join(dir, "a.yaml"),
		filepath.Join(dir, "sub", "broken.yaml") + `:1: name: "Broken" is not kebab-case`,
		filepath.Join(dir, "sub", "broken.yaml") + `:1: incident_at: required`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("LoadDir error lacks %q:\n%v", want, err)
		}
	}

	if _, _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml: open: no such file or directory") {
		t.Errorf("Load(missing) = %v", err)
	}
}

func TestBaseOverride(t *testing.T) {
	src := `name: override
base: retail-store
incident_at: 2026-01-01T00:00:00Z
resources:
  - id: eks/retail/catalog/deployment/catalog
    labels: {team: shop}
    spec: {containers: [{name: catalog, cpu_limit: 2000m}]}
  - id: ext/thing
    type: external.http
`
	sc, _, err := LoadFS(fstest.MapFS{"s.yaml": {Data: []byte(src)}}, "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var catalog *engine.ResourceInfo
	for i := range sc.Resources {
		if sc.Resources[i].ID == idCatalog {
			catalog = &sc.Resources[i]
		}
	}
	if catalog == nil {
		t.Fatal("no catalog")
	}
	if catalog.Labels["team"] != "shop" || catalog.Labels["service"] != "catalog" || catalog.Labels["region"] != "us-east-1" {
		t.Errorf("labels not merged: %v", catalog.Labels)
	}
	if diff := cmp.Diff(catalog.Spec, map[string]any{"containers": []any{map[string]any{"name": "catalog", "cpu_limit": "2000m"}}}); diff != "" {
		t.Errorf("spec not replaced (-got +want):\n%s", diff)
	}
	if catalog.Type != "k8s.deployment" || len(catalog.DependsOn) != 3 {
		t.Errorf("type or depends_on not kept: %q %v", catalog.Type, catalog.DependsOn)
	}
	if last := sc.Resources[len(sc.Resources)-1]; last.ID != "ext/thing" {
		t.Errorf("new resource not appended: last is %s", last.ID)
	}
	// The base is freshly built for every scenario: changing one does not change another.
	sc2, _, err := LoadFS(fstest.MapFS{"s.yaml": {Data: []byte(strings.Replace(src, "name: override", "name: other", 1))}}, "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc.Resources[0].Labels["x"] = "y"
	if sc2.Resources[0].Labels["x"] != "" {
		t.Error("base resources are shared between scenarios")
	}
}

func TestBaseTopology(t *testing.T) {
	res := retailStore()
	ids := map[string]bool{}
	for _, r := range res {
		if ids[r.ID] {
			t.Errorf("duplicate id %s", r.ID)
		}
		ids[r.ID] = true
	}
	for _, r := range res {
		for _, d := range r.DependsOn {
			if !ids[d] {
				t.Errorf("%s depends on unknown %s", r.ID, d)
			}
		}
		if r.Labels["region"] != retailRegion || r.Labels["account"] != retailAccount {
			t.Errorf("%s: labels %v lack region or account", r.ID, r.Labels)
		}
		if r.Type == "k8s.pod" && r.Labels["node"] == "" {
			t.Errorf("pod %s has no node label", r.ID)
		}
	}
	for _, id := range []string{idALB, idUI, idCatalog, idCart, idCheckout, idOrders, idCatalogDB, idOrdersDB, idCartsTable, idRedis, idOrdersQueue, idAPI, idCartSync, idCartQueue, idCluster} {
		if !ids[id] {
			t.Errorf("base lacks %s", id)
		}
	}
}
