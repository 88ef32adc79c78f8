package anomaly

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)

// event is a scenario event (SCENARIOS.md): offsets from t0.
type event struct {
	at    time.Duration
	shape string // step, ramp, spike, sine
	to    float64
	over  time.Duration
	until time.Duration // 0: none
}

// gen is a generated series in the scenario format: baseline, events applied
// in order (each from the value just before it), relative Gaussian noise.
type gen struct {
	seed       uint64
	from, to   time.Duration // offsets from t0, inclusive
	step       time.Duration
	baseline   float64
	noise      float64
	events     []event
	integer    bool // round to whole numbers (counters)
	poisson    bool // Poisson noise around the shaped value instead of relative noise
	skip       func(off time.Duration) bool
	extraNoise func(r *rand.Rand, off time.Duration) float64
}

func (g gen) value(off time.Duration, evs []event) float64 {
	v := g.baseline
	for k, e := range evs {
		if off < e.at {
			break
		}
		if e.until != 0 && off >= e.until {
			v = g.baseline
			continue
		}
		from := g.value(e.at-time.Nanosecond, evs[:k])
		over := e.over
		switch e.shape {
		case "step":
			v = e.to
		case "ramp":
			v = from + (e.to-from)*min(float64(off-e.at)/float64(over), 1)
		case "spike":
			if over == 0 {
				over = time.Minute
			}
			if off < e.at+over {
				v = e.to
			} else {
				v = g.value(off, evs[:k])
			}
		case "sine":
			if over == 0 {
				over = 10 * time.Minute
			}
			ph := 2 * math.Pi * float64(off-e.at) / float64(over)
			v = from + (e.to-from)*(1-math.Cos(ph))/2
		}
	}
	return v
}

func (g gen) points() []Point {
	r := rand.New(rand.NewPCG(g.seed, 0x5eed))
	step := g.step
	if step == 0 {
		step = time.Minute
	}
	var out []Point
	for off := g.from; off <= g.to; off += step {
		if g.skip != nil && g.skip(off) {
			continue
		}
		v := g.value(off, g.events)
		switch {
		case g.poisson:
			v = poisson(r, v)
		default:
			v *= 1 + g.noise*r.NormFloat64()
		}
		if g.extraNoise != nil {
			v += g.extraNoise(r, off)
		}
		if g.integer {
			v = math.Round(v)
		}
		out = append(out, Point{T: t0.Add(off), V: v})
	}
	return out
}

func poisson(r *rand.Rand, lambda float64) float64 {
	l, k, p := math.Exp(-lambda), 0.0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// minute is the usual generated series: two hours before t0 to 30 minutes
// after, one point a minute (151 points).
func minute(seed uint64, baseline, noise float64, evs ...event) gen {
	return gen{seed: seed, from: -2 * time.Hour, to: 30 * time.Minute, step: time.Minute, baseline: baseline, noise: noise, events: evs}
}

type want struct {
	anomalous bool
	kind      Kind
	dir       int
	onset     time.Duration // offset from t0
	tol       time.Duration // allowed onset error
	end       time.Duration // offset of End; 0 means End must be zero
	endTol    time.Duration
	maxScore  float64 // for negative cases: Score must stay below (0: MinScore)
}

func TestDetect(t *testing.T) {
	m := time.Minute
	two := 2 * m // "within 2 points" at one point a minute
	tests := []struct {
		name   string
		points []Point
		opt    Options
		want   want
	}{
		{"step up", minute(1, 100, 0.05, event{at: -12 * m, shape: "step", to: 200}).points(), Options{},
			want{anomalous: true, kind: Step, dir: 1, onset: -12 * m, tol: two}},
		{"small step up 6 sigma", minute(2, 100, 0.05, event{at: -20 * m, shape: "step", to: 130}).points(), Options{},
			want{anomalous: true, kind: Step, dir: 1, onset: -20 * m, tol: two}},
		{"throughput drop", minute(3, 1000, 0.05, event{at: -8 * m, shape: "step", to: 400}).points(), Options{},
			want{anomalous: true, kind: Step, dir: -1, onset: -8 * m, tol: two}},
		{"drop to zero", minute(4, 1000, 0.08, event{at: -5 * m, shape: "step", to: 0}).points(), Options{},
			want{anomalous: true, kind: Step, dir: -1, onset: -5 * m, tol: two}},
		{"noise-free step (throttling ratio)", minute(5, 0.01, 0, event{at: -14 * m, shape: "step", to: 0.85}).points(), Options{},
			want{anomalous: true, kind: Step, dir: 1, onset: -14 * m}},
		{"scenario ramp 1.5 s to 9 s over 5m", minute(6, 1500, 0.05, event{at: -12 * m, shape: "ramp", to: 9000, over: 5 * m}).points(), Options{},
			want{anomalous: true, kind: Ramp, dir: 1, onset: -12 * m, tol: two}},
		{"gentle ramp over 20m", minute(7, 100, 0.05, event{at: -25 * m, shape: "ramp", to: 200, over: 20 * m}).points(), Options{},
			want{anomalous: true, kind: Ramp, dir: 1, onset: -25 * m, tol: two}},
		{"ramp down", minute(8, 500, 0.05, event{at: -15 * m, shape: "ramp", to: 100, over: 10 * m}).points(), Options{},
			want{anomalous: true, kind: Ramp, dir: -1, onset: -15 * m, tol: two}},
		{"memory leak still growing", minute(9, 300, 0.02, event{at: -30 * m, shape: "ramp", to: 900, over: 90 * m}).points(), Options{},
			want{anomalous: true, kind: Ramp, dir: 1, onset: -30 * m, tol: two}},
		{"spike of one minute", minute(10, 100, 0.05, event{at: -6 * m, shape: "spike", to: 500}).points(), Options{},
			want{anomalous: true, kind: Spike, dir: 1, onset: -6 * m, end: -5 * m}},
		{"spike of three minutes down", minute(11, 100, 0.05, event{at: -6 * m, shape: "spike", to: 10, over: 3 * m}).points(), Options{},
			want{anomalous: true, kind: Spike, dir: -1, onset: -6 * m, end: -3 * m}},
		{"excursion that recovered", minute(12, 100, 0.05, event{at: -30 * m, shape: "step", to: 300, until: -20 * m}).points(), Options{},
			want{anomalous: true, kind: Step, dir: 1, onset: -30 * m, tol: m, end: -20 * m, endTol: m}},
		{"sine period 10m is not an anomaly", minute(13, 100, 0.05, event{at: -3 * time.Hour, shape: "sine", to: 160, over: 10 * m}).points(), Options{},
			want{}},
		{"sine period 20m is not an anomaly", minute(14, 100, 0.03, event{at: -3 * time.Hour, shape: "sine", to: 140, over: 20 * m}).points(), Options{},
			want{}},
		{"oscillation that starts inside the window is a change, from its start", minute(39, 100, 0.05,
			event{at: -20 * m, shape: "sine", to: 160, over: 10 * m}).points(), Options{},
			want{anomalous: true, dir: 1, onset: -17 * m, tol: 3 * m}},
		{"noise 10% is not an anomaly", minute(15, 100, 0.10).points(), Options{}, want{}},
		{"noise 5% is not an anomaly", minute(16, 2500, 0.05).points(), Options{}, want{}},
		{"flat series", minute(17, 42, 0).points(), Options{}, want{maxScore: 1e-9}},
		{"old regime shift before the window", func() []Point {
			g := minute(18, 100, 0.05, event{at: -3 * time.Hour, shape: "step", to: 300})
			g.from = -4 * time.Hour
			return g.points()
		}(), Options{}, want{}},
		{"regime shift at the start of the window is the normal state", minute(35, 100, 0.05, event{at: -100 * m, shape: "step", to: 300}).points(), Options{}, want{}},
		{"old shift then the incident", func() []Point {
			g := minute(19, 100, 0.05, event{at: -3 * time.Hour, shape: "step", to: 300}, event{at: -10 * m, shape: "step", to: 600})
			g.from = -4 * time.Hour
			return g.points()
		}(), Options{}, want{anomalous: true, kind: Step, dir: 1, onset: -10 * m, tol: two}},
		{"older incident that recovered loses to the one at t0", minute(36, 100, 0.05,
			event{at: -60 * m, shape: "step", to: 250, until: -50 * m}, event{at: -6 * m, shape: "step", to: 250}).points(), Options{},
			want{anomalous: true, kind: Step, dir: 1, onset: -6 * m, tol: m}},
		{"short lookback leaves an old change out", minute(37, 100, 0.05, event{at: -50 * m, shape: "step", to: 300}).points(),
			Options{Lookback: 30 * m}, want{}},
		{"gap before the step", func() []Point {
			g := minute(20, 100, 0.05, event{at: -12 * m, shape: "step", to: 180})
			g.skip = func(off time.Duration) bool { return off > -30*m && off < -13*m }
			return g.points()
		}(), Options{}, want{anomalous: true, kind: Step, dir: 1, onset: -12 * m, tol: two}},
		{"gap across the step", func() []Point {
			g := minute(21, 100, 0.05, event{at: -12 * m, shape: "step", to: 180})
			g.skip = func(off time.Duration) bool { return off > -15*m && off < -9*m }
			return g.points()
		}(), Options{}, want{anomalous: true, kind: Step, dir: 1, onset: -9 * m, tol: 0}},
		{"a handful of points", minute(22, 100, 0.05, event{at: -2 * m, shape: "step", to: 500}).points()[140:145], Options{}, want{}},
		{"error counter steps up", func() []Point {
			g := minute(23, 2, 0, event{at: -7 * m, shape: "step", to: 20})
			g.poisson = true
			return g.points()
		}(), Options{}, want{anomalous: true, kind: Step, dir: 1, onset: -7 * m, tol: two}},
		{"sparse counter is not an anomaly", func() []Point {
			g := minute(24, 0.3, 0)
			g.poisson = true
			return g.points()
		}(), Options{}, want{}},
		{"outliers long before, step at the incident", func() []Point {
			g := minute(25, 100, 0.05, event{at: -45 * m, shape: "spike", to: 900}, event{at: -9 * m, shape: "step", to: 160})
			return g.points()
		}(), Options{}, want{anomalous: true, kind: Step, dir: 1, onset: -9 * m, tol: two}},
		{"step wins over a later spike", minute(26, 100, 0.05,
			event{at: -15 * m, shape: "step", to: 200}, event{at: -2 * m, shape: "spike", to: 600}).points(), Options{},
			want{anomalous: true, kind: Step, dir: 1, onset: -15 * m, tol: two}},
		{"explicit baseline", minute(27, 100, 0.05, event{at: -20 * m, shape: "step", to: 150}).points(),
			Options{Baseline: Window{Start: t0.Add(-2 * time.Hour), End: t0.Add(-time.Hour)}},
			want{anomalous: true, kind: Step, dir: 1, onset: -20 * m, tol: two}},
		{"min change filters a tiny absolute shift", minute(28, 0.001, 0.05, event{at: -10 * m, shape: "step", to: 0.003}).points(),
			Options{MinChange: 0.01}, want{maxScore: math.Inf(1)}},
		{"one second resolution step", gen{seed: 29, from: -2 * time.Hour, to: -time.Second, step: time.Second, baseline: 100, noise: 0.05,
			events: []event{{at: -10 * m, shape: "step", to: 150}}}.points(), Options{},
			want{anomalous: true, kind: Step, dir: 1, onset: -10 * m, tol: 5 * time.Second}},
		{"one second resolution ramp", gen{seed: 30, from: -2 * time.Hour, to: -time.Second, step: time.Second, baseline: 100, noise: 0.05,
			events: []event{{at: -15 * m, shape: "ramp", to: 400, over: 5 * m}}}.points(), Options{},
			want{anomalous: true, kind: Ramp, dir: 1, onset: -15 * m, tol: 15 * time.Second}},
		{"one second resolution spike", gen{seed: 31, from: -2 * time.Hour, to: -time.Second, step: time.Second, baseline: 100, noise: 0.05,
			events: []event{{at: -5 * m, shape: "spike", to: 300, over: 40 * time.Second}}}.points(), Options{},
			want{anomalous: true, kind: Spike, dir: 1, onset: -5 * m, tol: 2 * time.Second, end: -5*m + 40*time.Second, endTol: 2 * time.Second}},
		{"one second resolution noise", gen{seed: 32, from: -2 * time.Hour, to: -time.Second, step: time.Second, baseline: 100, noise: 0.1}.points(),
			Options{}, want{}},
		{"1 s scrape-held series stepping into a noisy regime", func() []Point {
			// Like a CPU hog seen through a 5 s scrape: quiet at 0.7 %, then
			// pinned near 100 % with deep dips; each value held for 5 s.
			r := rand.New(rand.NewPCG(38, 38))
			var pts []Point
			v := 0.0
			for off := -5 * m; off < 4*m; off += time.Second {
				if off%(5*time.Second) == 0 {
					switch {
					case off < -m:
						v = 0.7 + 0.05*r.NormFloat64()
					case r.IntN(4) == 0:
						v = 55 + 25*r.Float64()
					default:
						v = 99.8 + 0.1*r.NormFloat64()
					}
				}
				pts = append(pts, Point{T: t0.Add(off), V: v})
			}
			return pts
		}(), Options{}, want{anomalous: true, kind: Step, dir: 1, onset: -m, tol: 2 * time.Second}},
		{"live: data ends at t0, step 3 minutes before", minute(33, 100, 0.05, event{at: -3 * m, shape: "step", to: 200}).points()[:121], Options{},
			want{anomalous: true, kind: Step, dir: 1, onset: -3 * m, tol: m}},
		{"live: incident defaults to the last point", minute(34, 100, 0.05, event{at: -5 * m, shape: "step", to: 40}).points()[:121],
			Options{Incident: time.Time{}}, want{anomalous: true, kind: Step, dir: -1, onset: -5 * m, tol: m}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := tt.opt
			if opt.Incident.IsZero() && tt.name != "live: incident defaults to the last point" {
				opt.Incident = t0
			}
			got := Detect(tt.points, opt)
			check(t, got, tt.want)
		})
	}
}

func check(t *testing.T, got Result, w want) {
	t.Helper()
	if got.Anomalous != w.anomalous {
		t.Fatalf("Anomalous = %v, want %v; result %+v", got.Anomalous, w.anomalous, fmtResult(got))
	}
	if !w.anomalous {
		limit := w.maxScore
		if limit == 0 {
			limit = DefaultMinScore
		}
		if got.Score >= limit {
			t.Errorf("Score = %.3g, want below %.3g", got.Score, limit)
		}
		return
	}
	if w.kind != "" && got.Kind != w.kind {
		t.Errorf("Kind = %q, want %q; result %s", got.Kind, w.kind, fmtResult(got))
	}
	if got.Direction != w.dir {
		t.Errorf("Direction = %d, want %d", got.Direction, w.dir)
	}
	if off := got.Onset.Sub(t0); off < w.onset-w.tol || off > w.onset+w.tol {
		t.Errorf("Onset = t0%+v, want t0%+v ± %v; result %s", off, w.onset, w.tol, fmtResult(got))
	}
	switch {
	case w.end == 0 && !got.End.IsZero():
		t.Errorf("End = t0%+v, want zero (still abnormal)", got.End.Sub(t0))
	case w.end != 0:
		if off := got.End.Sub(t0); got.End.IsZero() || off < w.end-w.endTol || off > w.end+w.endTol {
			t.Errorf("End = t0%+v (zero %v), want t0%+v ± %v", off, got.End.IsZero(), w.end, w.endTol)
		}
	}
	if got.Score < DefaultMinScore {
		t.Errorf("Score = %.3g for an anomaly", got.Score)
	}
	if w.dir > 0 && !(got.After > got.Before) || w.dir < 0 && !(got.After < got.Before) {
		t.Errorf("Before %.4g, After %.4g disagree with direction %d", got.Before, got.After, w.dir)
	}
}

func fmtResult(r Result) string {
	on, end := "-", "-"
	if !r.Onset.IsZero() {
		on = r.Onset.Sub(t0).String()
	}
	if !r.End.IsZero() {
		end = r.End.Sub(t0).String()
	}
	return fmt.Sprintf("{%s onset=%s end=%s dir=%d score=%.3g before=%.4g after=%.4g points=%d}",
		r.Kind, on, end, r.Direction, r.Score, r.Before, r.After, r.Points)
}

// TestNoFalseAlarms runs many seeds of pure noise and of periodic signals:
// none may be reported.
func TestNoFalseAlarms(t *testing.T) {
	cases := []struct {
		name string
		gen  func(seed uint64) gen
	}{
		{"gaussian 5%", func(s uint64) gen { return minute(s, 100, 0.05) }},
		{"gaussian 10%", func(s uint64) gen { return minute(s, 100, 0.10) }},
		{"sine 8m", func(s uint64) gen {
			return minute(s, 100, 0.05, event{at: -3*time.Hour - time.Duration(s%8)*time.Minute, shape: "sine", to: 150, over: 8 * time.Minute})
		}},
		{"sine 15m", func(s uint64) gen {
			return minute(s, 100, 0.05, event{at: -3*time.Hour - time.Duration(s%15)*time.Minute, shape: "sine", to: 150, over: 15 * time.Minute})
		}},
		{"heavy tails", func(s uint64) gen {
			g := minute(s, 100, 0.03)
			g.extraNoise = func(r *rand.Rand, _ time.Duration) float64 { return 3 * r.NormFloat64() * math.Abs(r.NormFloat64()) }
			return g
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := 0
			for seed := uint64(100); seed < 400; seed++ {
				r := Detect(c.gen(seed).points(), Options{Incident: t0})
				if r.Anomalous && !(c.name == "heavy tails" && r.Kind == Spike) {
					bad++
					if bad <= 3 {
						t.Errorf("seed %d: false anomaly %s", seed, fmtResult(r))
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of 300 noise series reported anomalous", bad)
			}
		})
	}
}

// TestOnsetPrecision measures onset errors over many seeds for the clean
// step and ramp of the brief: 5% noise, one point a minute, within two points.
func TestOnsetPrecision(t *testing.T) {
	cases := []struct {
		name string
		ev   event
		kind Kind
	}{
		{"step +50%", event{at: -13 * time.Minute, shape: "step", to: 150}, Step},
		{"step -40%", event{at: -13 * time.Minute, shape: "step", to: 60}, Step},
		{"ramp +100% over 10m", event{at: -17 * time.Minute, shape: "ramp", to: 200, over: 10 * time.Minute}, Ramp},
		{"ramp +300% over 5m", event{at: -12 * time.Minute, shape: "ramp", to: 400, over: 5 * time.Minute}, Ramp},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			miss, wrongKind := 0, 0
			for seed := uint64(1000); seed < 1200; seed++ {
				r := Detect(minute(seed, 100, 0.05, c.ev).points(), Options{Incident: t0})
				off := r.Onset.Sub(t0) - c.ev.at
				if !r.Anomalous || off < -2*time.Minute || off > 2*time.Minute {
					miss++
					if miss <= 3 {
						t.Errorf("seed %d: %s, want onset t0%v", seed, fmtResult(r), c.ev.at)
					}
				}
				if r.Kind != c.kind {
					wrongKind++
				}
			}
			if miss > 0 {
				t.Errorf("%d of 200 onsets off by more than two points", miss)
			}
			if wrongKind > 10 {
				t.Errorf("%d of 200 kinds wrong, want %s", wrongKind, c.kind)
			}
		})
	}
}

func TestDetectRobustInput(t *testing.T) {
	base := minute(40, 100, 0.05, event{at: -12 * time.Minute, shape: "step", to: 200}).points()
	want := Detect(base, Options{Incident: t0})
	if !want.Anomalous {
		t.Fatal("reference case not anomalous")
	}

	messy := slices.Clone(base)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(messy), func(i, j int) { messy[i], messy[j] = messy[j], messy[i] })
	messy = append(messy,
		Point{T: t0.Add(-30 * time.Minute), V: math.NaN()},
		Point{T: t0.Add(-31 * time.Minute), V: math.Inf(1)},
		Point{T: t0.Add(-3 * time.Minute), V: math.Inf(-1)})
	got := Detect(messy, Options{Incident: t0})
	if got != want {
		t.Errorf("shuffled input with NaN/Inf: %s, want %s", fmtResult(got), fmtResult(want))
	}
	if !slices.Equal(base, minute(40, 100, 0.05, event{at: -12 * time.Minute, shape: "step", to: 200}).points()) {
		t.Error("Detect modified its input")
	}

	for _, pts := range [][]Point{nil, {}, base[:1], base[:7], {{T: t0, V: 1}, {T: t0, V: 2}}} {
		if r := Detect(pts, Options{Incident: t0}); r.Anomalous {
			t.Errorf("%d points: anomalous", len(pts))
		}
	}
	same := make([]Point, 500)
	for i := range same {
		same[i] = Point{T: t0, V: float64(i % 7)}
	}
	if r := Detect(same, Options{Incident: t0}); r.Anomalous {
		t.Errorf("all samples at one instant: %s", fmtResult(r))
	}
}

func TestRank(t *testing.T) {
	m := time.Minute
	series := []Series{
		{ID: "ui/latency", Points: minute(50, 200, 0.05, event{at: -5 * m, shape: "step", to: 900}).points()},
		{ID: "catalog/noise", Points: minute(51, 100, 0.05).points()},
		{ID: "catalog-db/cpu", Points: minute(52, 20, 0.05, event{at: -14 * m, shape: "step", to: 95}).points()},
		{ID: "catalog/latency", Points: minute(53, 100, 0.05, event{at: -12 * m, shape: "ramp", to: 700, over: 4 * m}).points()},
	}
	got := Rank(series, Options{Incident: t0})
	var ids []string
	for _, f := range got {
		ids = append(ids, f.ID)
	}
	want := []string{"catalog-db/cpu", "catalog/latency", "ui/latency"}
	if !slices.Equal(ids, want) {
		t.Errorf("Rank order = %v, want %v", ids, want)
	}

	// Without an incident time all series share the latest sample as t0,
	// and episodes that were over before it come after the active ones,
	// most recent first.
	short := func(pts []Point) []Point { return pts[:121] } // data up to t0
	series = []Series{
		{ID: "cart/cpu", Points: short(minute(54, 50, 0.05, event{at: -40 * m, shape: "step", to: 150, until: -30 * m}).points())},
		{ID: "orders/errors", Points: short(minute(55, 5, 0.05, event{at: -20 * m, shape: "step", to: 50, until: -10 * m}).points())},
		{ID: "orders-db/latency", Points: short(minute(56, 10, 0.05, event{at: -8 * m, shape: "step", to: 40}).points())},
		{ID: "checkout/latency", Points: minute(57, 100, 0.05, event{at: -4 * m, shape: "step", to: 300}).points()[:118]},
	}
	got = Rank(series, Options{})
	ids = ids[:0]
	for _, f := range got {
		ids = append(ids, f.ID)
	}
	want = []string{"orders-db/latency", "checkout/latency", "orders/errors", "cart/cpu"}
	if !slices.Equal(ids, want) {
		t.Errorf("Rank order without incident = %v, want %v", ids, want)
	}
	for _, f := range got {
		if f.ID == "checkout/latency" && !f.End.IsZero() {
			t.Errorf("checkout/latency: End %v, want still abnormal", f.End)
		}
	}
}
