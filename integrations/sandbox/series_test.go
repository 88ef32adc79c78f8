package sandbox

import (
	"encoding/json"
	"math"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nightshift-ops/nightshift/engine"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func mustLoad(t testing.TB, src string, files ...string) *Scenario {
	t.Helper()
	fsys := fstest.MapFS{"s.yaml": {Data: []byte(src)}}
	for i := 0; i+1 < len(files); i += 2 {
		fsys[files[i]] = &fstest.MapFile{Data: []byte(files[i+1])}
	}
	sc, _, err := LoadFS(fsys, "s.yaml")
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return sc
}

// valuesAt returns the noiseless generated values of the scenario's first
// metric at the given offsets from t0.
func valuesAt(t *testing.T, events string, offsets ...time.Duration) []float64 {
	t.Helper()
	sc := mustLoad(t, `name: shapes
incident_at: 2026-01-01T12:00:00Z
window: 1h
resources: [{id: r, type: x}]
metrics:
  - resource: r
    name: m
    baseline: 10
    events: `+events+"\n")
	g := newGenSeries(sc, &sc.Metrics[0])
	var out []float64
	for _, o := range offsets {
		k := int((o + time.Hour) / genStep)
		out = append(out, math.Round(g.value(k)*1e9)/1e9)
	}
	return out
}

func TestEventShapes(t *testing.T) {
	m := time.Minute
	tests := []struct {
		name    string
		events  string
		offsets []time.Duration
		want    []float64
	}{
		{"no events", `[]`, []time.Duration{-60 * m, 0, 30 * m}, []float64{10, 10, 10}},
		{"step", `[{at: -10m, shape: step, to: 50}]`, []time.Duration{-11 * m, -10 * m, 0, 30 * m}, []float64{10, 50, 50, 50}},
		{"ramp", `[{at: -10m, shape: ramp, to: 50, over: 10m}]`, []time.Duration{-11 * m, -10 * m, -5 * m, 0, 10 * m}, []float64{10, 10, 30, 50, 50}},
		{"spike default 1m", `[{at: -10m, shape: spike, to: 90}]`, []time.Duration{-11 * m, -10 * m, -9 * m}, []float64{10, 90, 10}},
		{"spike over 3m", `[{at: -10m, shape: spike, to: 90, over: 3m}]`, []time.Duration{-10 * m, -8 * m, -7 * m}, []float64{90, 90, 10}},
		{"sine", `[{at: -20m, shape: sine, to: 30, over: 20m}]`, []time.Duration{-21 * m, -20 * m, -15 * m, -10 * m, -5 * m, 0}, []float64{10, 10, 20, 30, 20, 10}},
		{"sine default period 10m", `[{at: -20m, shape: sine, to: 30}]`, []time.Duration{-15 * m, -10 * m}, []float64{30, 10}},
		{"until returns to baseline", `[{at: -10m, shape: step, to: 50, until: -5m}]`, []time.Duration{-6 * m, -5 * m, 0}, []float64{50, 10, 10}},
		{"events apply in order of at, each from the value before",
			`[{at: -5m, shape: ramp, to: 0, over: 10m}, {at: -20m, shape: step, to: 40}]`,
			[]time.Duration{-21 * m, -20 * m, -5 * m, 0, 5 * m}, []float64{10, 40, 40, 20, 0}},
		{"a spike on a ramp returns to the ramp",
			`[{at: -20m, shape: ramp, to: 30, over: 20m}, {at: -10m, shape: spike, to: 100, over: 2m}]`,
			[]time.Duration{-10 * m, -9 * m, -8 * m}, []float64{100, 100, 22}},
		{"absolute times", `[{at: "2026-01-01T11:50:00Z", shape: step, to: 5}]`, []time.Duration{-11 * m, -10 * m}, []float64{10, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := valuesAt(t, tt.events, tt.offsets...)
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("values (-got +want):\n%s", diff)
			}
		})
	}
}

func TestNoise(t *testing.T) {
	sc := mustLoad(t, `name: noise
incident_at: 2026-01-01T12:00:00Z
window: 168h
resources: [{id: r, type: x}]
metrics:
  - {resource: r, name: m, baseline: 100, noise: 0.1}
  - {resource: r, name: m, labels: {a: b}, baseline: 100, noise: 0.1}
  - {resource: r, name: z, baseline: 0.01, noise: 1}
`)
	g := newGenSeries(sc, &sc.Metrics[0])
	var sum, sq float64
	for k := 0; k < g.n; k++ {
		v := g.value(k)
		sum += v
		sq += v * v
	}
	mean := sum / float64(g.n)
	sd := math.Sqrt(sq/float64(g.n) - mean*mean)
	if math.Abs(mean-100) > 0.5 || math.Abs(sd-10) > 0.5 {
		t.Errorf("noise 0.1 around 100: mean %.2f sd %.2f, want about 100 and 10", mean, sd)
	}
	other := newGenSeries(sc, &sc.Metrics[1])
	if g.seed == other.seed || g.value(7) == other.value(7) {
		t.Error("series with different labels share their noise")
	}
	z := newGenSeries(sc, &sc.Metrics[2])
	for k := 0; k < z.n; k++ {
		if z.value(k) < 0 {
			t.Fatalf("noise made a non-negative series negative at %d: %v", k, z.value(k))
		}
	}
}

func TestDeterminism(t *testing.T) {
	ls, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	ls2, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range ls {
		a := NewEnv(l.Scenario, l.Scenario.IncidentAt)
		b := NewEnv(ls2[i].Scenario, ls2[i].Scenario.IncidentAt)
		for _, r := range l.Scenario.Resources {
			q := engine.MetricsQuery{Resource: r.ID, Start: a.Span().Start, End: a.Span().End}
			ra, err := a.metrics(q)
			if err != nil {
				t.Fatal(err)
			}
			rb, _ := b.metrics(q)
			ja, _ := json.Marshal(ra)
			jb, _ := json.Marshal(rb)
			if string(ja) != string(jb) {
				t.Fatalf("%s %s: two Envs differ", l.Scenario.Name, r.ID)
			}
		}
	}
}

func TestTimeShift(t *testing.T) {
	sc := mustLoad(t, `name: shift
incident_at: 2026-01-01T12:00:00Z
window: 1h
resources: [{id: r, type: x}]
metrics:
  - {resource: r, name: m, baseline: 1, noise: 0.2, events: [{at: -10m, shape: step, to: 5}]}
logs:
  - {resource: r, at: -10m, every: 1m, level: error, message: boom}
changes:
  - {resource: r, at: -15m, kind: deployment, summary: v2}
alerts:
  - {source: generic, at: 0, resolved_at: +5m, title: boom, resource: r}
recorded:
  - file: data.csv
    series:
      v: {resource: r, name: rec}
`, "data.csv", "time,v\n1767268800,1\n1767268830,2\n")
	shift := 49*time.Hour + 30*time.Second
	a := NewEnv(sc, sc.IncidentAt)
	b := NewEnv(sc, sc.IncidentAt.Add(shift))
	if got := b.IncidentAt(); !got.Equal(t0.Add(shift)) {
		t.Errorf("IncidentAt = %v", got)
	}
	if zero := NewEnv(sc, time.Time{}); !zero.IncidentAt().Equal(t0) {
		t.Errorf("zero incidentAt shifts the scenario")
	}
	ra, _ := a.metrics(engine.MetricsQuery{Resource: "r", Start: t0.Add(-time.Hour), End: t0.Add(time.Hour)})
	rb, _ := b.metrics(engine.MetricsQuery{Resource: "r", Start: t0.Add(-time.Hour + shift), End: t0.Add(time.Hour + shift)})
	for _, r := range []*engine.MetricsResult{&ra, &rb} {
		if len(r.Series) != 2 || len(r.Series[0].Points) != 91 || len(r.Series[1].Points) != 2 {
			t.Fatalf("want 91 generated and 2 recorded points, got %+v", r.Series)
		}
	}
	for i := range ra.Series {
		for j, p := range ra.Series[i].Points {
			q := rb.Series[i].Points[j]
			if !q.T.Equal(p.T.Add(shift)) || q.V != p.V {
				t.Fatalf("series %d point %d: %v shifted to %v", i, j, p, q)
			}
		}
	}
	la, _ := a.logs(engine.LogQuery{Start: t0.Add(-time.Hour), End: t0})
	lb, _ := b.logs(engine.LogQuery{Start: t0.Add(-time.Hour + shift), End: t0.Add(shift)})
	if la.Total != 11 || lb.Total != 11 || !lb.Entries[0].T.Equal(la.Entries[0].T.Add(shift)) {
		t.Errorf("logs not shifted: %d %d", la.Total, lb.Total)
	}
	ca, _ := a.changes(engine.ChangeQuery{})
	cb, _ := b.changes(engine.ChangeQuery{})
	if len(ca.Changes) != 1 || len(cb.Changes) != 1 || !cb.Changes[0].T.Equal(ca.Changes[0].T.Add(shift)) {
		t.Errorf("changes not shifted: %v %v", ca, cb)
	}
	aa, ab := a.Alerts(), b.Alerts()
	if len(ab) != 2 || !ab[0].StartsAt.Equal(aa[0].StartsAt.Add(shift)) || !ab[1].EndsAt.Equal(t0.Add(5*time.Minute+shift)) {
		t.Errorf("alerts not shifted: %+v", ab)
	}
	if aa[0].DeliveryID == ab[0].DeliveryID {
		t.Error("a replay at another time reuses the delivery id")
	}
	if aa[0].Fingerprint != ab[0].Fingerprint {
		t.Error("the fingerprint depends on the play time")
	}
	if span := b.Span(); !span.Start.Equal(t0.Add(-time.Hour+shift)) || !span.End.Equal(t0.Add(30*time.Minute+shift)) {
		t.Errorf("Span = %+v", span)
	}
}

func mapFS(kv ...string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for i := 0; i+1 < len(kv); i += 2 {
		fsys[kv[i]] = &fstest.MapFile{Data: []byte(kv[i+1])}
	}
	return fsys
}
