package sandbox

import (
	"hash/fnv"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
)

// genStep is the resolution of generated series.
const genStep = time.Minute

// series is one metric series an Env serves: generated or recorded.
type series struct {
	resource, name, unit string
	labels               map[string]string
	native               time.Duration // native resolution; 0 when unknown
	gen                  *genSeries
	rec                  *RecordedSeries
}

// genSeries computes the points of a generated series on demand. Nothing is
// stored but the event start values, so memory does not grow with the window.
type genSeries struct {
	baseline float64
	noise    float64
	events   []Event
	from     []float64 // from[i]: the value event i starts from
	first    time.Time // scenario time of point 0
	n        int       // number of points
	seed     uint64
}

func newGenSeries(sc *Scenario, m *Metric) *genSeries {
	g := &genSeries{
		baseline: m.Baseline,
		noise:    m.Noise,
		events:   slices.Clone(m.Events),
		first:    sc.IncidentAt.Add(-sc.Window),
		n:        int((sc.Window+afterIncident)/genStep) + 1,
		seed:     seriesSeed(sc.Name, m.Resource, m.Name, m.Labels),
	}
	sort.SliceStable(g.events, func(i, j int) bool { return g.events[i].At.Before(g.events[j].At) })
	g.from = make([]float64, len(g.events))
	for i, e := range g.events {
		g.from[i] = g.shaped(i, e.At)
	}
	return g
}

// seriesSeed derives the noise seed from the scenario name and the series
// identity, so that runs repeat exactly and series differ from each other.
func seriesSeed(scenario, resource, name string, labels map[string]string) uint64 {
	h := fnv.New64a()
	for _, s := range []string{scenario, resource, name, fmtLabels(labels)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// shaped is the noiseless value at t with the first n events applied, each
// in order on top of the ones before (SCENARIOS.md "Event shapes").
func (g *genSeries) shaped(n int, t time.Time) float64 {
	v := g.baseline
	for i, e := range g.events[:n] {
		if !e.Until.IsZero() && !t.Before(e.Until) {
			v = g.baseline
			continue
		}
		if t.Before(e.At) {
			continue
		}
		el := float64(t.Sub(e.At))
		switch e.Shape {
		case ShapeStep:
			v = e.To
		case ShapeRamp:
			if e.Over <= 0 || el >= float64(e.Over) {
				v = e.To
			} else {
				v = g.from[i] + (e.To-g.from[i])*el/float64(e.Over)
			}
		case ShapeSpike:
			if el < float64(e.Over) {
				v = e.To
			}
		case ShapeSine:
			if e.Over > 0 {
				v = g.from[i] + (e.To-g.from[i])*(1-math.Cos(2*math.Pi*el/float64(e.Over)))/2
			}
		}
	}
	return v
}

// value is the point k of the series: the shaped value with noise on top.
func (g *genSeries) value(k int) float64 {
	v := g.shaped(len(g.events), g.first.Add(time.Duration(k)*genStep))
	if g.noise == 0 {
		return v
	}
	out := v * (1 + g.noise*gaussian(g.seed, uint64(k)))
	if v >= 0 && out < 0 {
		out = 0 // relative noise never flips a non-negative quantity
	}
	return out
}

// points returns the points within [start, end] (scenario time), with
// their times moved by shift.
func (g *genSeries) points(start, end time.Time, shift time.Duration) []engine.Point {
	lo := 0
	if d := start.Sub(g.first); d > 0 {
		lo = int((d + genStep - 1) / genStep)
	}
	hi := g.n - 1
	if d := end.Sub(g.first); d < 0 {
		return []engine.Point{}
	} else if k := int(d / genStep); k < hi {
		hi = k
	}
	if lo > hi {
		return []engine.Point{}
	}
	out := make([]engine.Point, 0, hi-lo+1)
	for k := lo; k <= hi; k++ {
		out = append(out, engine.Point{T: g.first.Add(time.Duration(k)*genStep + shift), V: g.value(k)})
	}
	return out
}

// gaussian is a standard normal draw for (seed, k), clamped to ±3: random
// access, so any range of a series can be computed alone.
func gaussian(seed, k uint64) float64 {
	u1 := (float64(splitmix64(seed+2*k)>>11) + 0.5) / (1 << 53)
	u2 := float64(splitmix64(seed+2*k+1)>>11) / (1 << 53)
	z := math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
	return max(-3, min(3, z))
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// recordedPoints returns the recorded points within [start, end] (scenario
// time), moved by shift.
func recordedPoints(s *RecordedSeries, start, end time.Time, shift time.Duration) []engine.Point {
	pts := s.points
	lo := sort.Search(len(pts), func(i int) bool { return pts[i].t >= start.UnixNano() })
	hi := sort.Search(len(pts), func(i int) bool { return pts[i].t > end.UnixNano() })
	out := make([]engine.Point, 0, max(0, hi-lo))
	for _, p := range pts[lo:max(lo, hi)] {
		out = append(out, engine.Point{T: time.Unix(0, p.t).UTC().Add(shift), V: p.v})
	}
	return out
}

// nativeStep is the smallest positive gap between recorded points.
func nativeStep(s *RecordedSeries) time.Duration {
	var best int64
	for i := 1; i < len(s.points); i++ {
		if d := s.points[i].t - s.points[i-1].t; d > 0 && (best == 0 || d < best) {
			best = d
		}
	}
	return time.Duration(best)
}

// aggregate averages points into buckets of step aligned on start; the
// bucket's point is at its start. Empty buckets are left out. pts is reused.
func aggregate(pts []engine.Point, start time.Time, step time.Duration) []engine.Point {
	out := pts[:0]
	var sum float64
	var n int
	var cur int64 = -1
	flush := func() {
		if n > 0 {
			out = append(out, engine.Point{T: start.Add(time.Duration(cur) * step), V: sum / float64(n)})
		}
	}
	for _, p := range pts {
		b := int64(p.T.Sub(start) / step)
		if b != cur {
			flush()
			cur, sum, n = b, 0, 0
		}
		sum += p.V
		n++
	}
	flush()
	return out
}
