package anomaly

import (
	"math"
	"slices"
	"time"
)

// Point is one sample. It has the same fields as engine.Point, so a slice of
// either converts element by element without copying field by field.
type Point struct {
	T time.Time
	V float64
}

// Window is a half-open time range [Start, End).
type Window struct {
	Start, End time.Time
}

// Defaults applied by Detect to zero Options fields.
const (
	DefaultLookback = 2 * time.Hour
	DefaultAfter    = 15 * time.Minute
	DefaultMinScore = 4.0
)

// Options says where to look and how sure to be.
type Options struct {
	// Incident is t0, when the first alert fired. Zero means the time of the
	// latest finite point.
	Incident time.Time
	// Lookback is how far before Incident the search starts; changes before
	// that are part of the normal state. Zero means DefaultLookback.
	Lookback time.Duration
	// After is how far past Incident the search goes. Zero means DefaultAfter;
	// negative means not past Incident at all.
	After time.Duration
	// Baseline, when set (Start before End), is a known-normal period, for
	// example the same hour yesterday, whose median and spread are the
	// reference for every segment instead of the start of the window. It may
	// lie outside the search window. With fewer than three finite samples in
	// it, it is ignored.
	Baseline Window
	// MinScore is the smallest shift, in robust z units, that counts as
	// anomalous; spikes need 1.5 times as much. Zero means DefaultMinScore.
	MinScore float64
	// MinChange is the smallest absolute shift, in the series' own unit, that
	// counts (for example one error per minute); zero means no minimum.
	MinChange float64
}

// Kind is the shape of an anomaly.
type Kind string

// Shapes reported in Result.Kind.
const (
	Step  Kind = "step"  // the level jumps within one sample interval (or two)
	Ramp  Kind = "ramp"  // the level moves linearly over three or more intervals
	Spike Kind = "spike" // a short excursion (at most three samples) that returns
)

// Result describes the regime change chosen for the incident. When Anomalous
// is false only Score, Before and Points are meaningful.
type Result struct {
	Anomalous bool
	Kind      Kind
	// Onset is when the abnormal regime started: the first new sample of a
	// step or spike, the last flat sample (the hinge) of a ramp.
	Onset time.Time
	// End is the first sample back to normal, or zero when the series was
	// still abnormal at the end of the window.
	End time.Time
	// Direction is +1 for an increase, -1 for a decrease, 0 when not anomalous.
	Direction int
	// Score is |After-Before| in robust z units of the reference (capped at
	// 1e6). When not anomalous it is the largest score seen, for diagnostics.
	Score float64
	// Before is the reference level (median). After is the median of the most
	// deviant abnormal segment, or the extreme value of a spike.
	Before, After float64
	// Points is the number of finite samples in the search window.
	Points int
}

const (
	minPoints   = 8   // fewer samples in the window: say nothing
	maxBins     = 256 // longer windows are bucketed to this many medians
	maxScore    = 1e6
	relFloor    = 0.01 // the z unit is at least 1% of the reference level
	spikeFactor = 1.5  // spikes need spikeFactor*MinScore
	spikeMaxLen = 3    // longest run of samples that is still a spike
	spikeSide   = 5    // samples on each side whose median is the local level
	maxChanges  = 8    // change points, one more when the last split is an interval
	maxRamp     = 64   // longest ramp or interval in samples (bins)
	maxExceed   = 0.05 // share of the reference allowed beyond an abnormal level
	walkBack    = 3.0  // z units that put a sample before a change into the new regime
	maxWalkBack = 3
)

// rampLengths are the transition lengths tried by the hinge model; a step is
// length 1. Geometric spacing keeps the search linear in n.
var rampLengths = [...]int{1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, maxRamp}

// Detect reports whether points changed regime around opt.Incident and, if
// so, when, which way and how much. It never panics on any input: fewer than
// eight finite samples in the window give a non-anomalous Result.
func Detect(points []Point, opt Options) Result {
	opt = opt.withDefaults(points)
	from := opt.Incident.Add(-opt.Lookback)
	to := opt.Incident.Add(opt.After)
	win := window(points, from, to)
	res := Result{Points: len(win)}
	if len(win) < minPoints {
		return res
	}
	d := newDetector(win, from, opt)
	if opt.Baseline.Start.Before(opt.Baseline.End) {
		base := window(points, opt.Baseline.Start, opt.Baseline.End.Add(-1))
		if len(base) >= 3 {
			v := make([]float64, len(base))
			for i, p := range base {
				v[i] = p.V
			}
			d.fixedRef = true
			d.ref = d.reference(v)
		}
	}
	return d.run(res)
}

func (o Options) withDefaults(points []Point) Options {
	if o.Lookback <= 0 {
		o.Lookback = DefaultLookback
	}
	switch {
	case o.After == 0:
		o.After = DefaultAfter
	case o.After < 0:
		o.After = 0
	}
	if !(o.MinScore > 0) || math.IsInf(o.MinScore, 0) {
		o.MinScore = DefaultMinScore
	}
	if !(o.MinChange >= 0) || math.IsInf(o.MinChange, 0) {
		o.MinChange = 0
	}
	if o.Incident.IsZero() {
		for _, p := range points {
			if finite(p.V) && p.T.After(o.Incident) {
				o.Incident = p.T
			}
		}
	}
	return o
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// window returns the finite points with from <= T <= to in time order. It
// does not copy when points is already sorted and clean.
func window(points []Point, from, to time.Time) []Point {
	sorted, clean := true, true
	for i, p := range points {
		if i > 0 && p.T.Before(points[i-1].T) {
			sorted = false
		}
		if !finite(p.V) {
			clean = false
		}
	}
	inside := func(p Point) bool { return !p.T.Before(from) && !p.T.After(to) }
	if sorted {
		lo, _ := slices.BinarySearchFunc(points, from, func(p Point, t time.Time) int { return p.T.Compare(t) })
		hi := lo
		for hi < len(points) && !points[hi].T.After(to) {
			hi++
		}
		if clean {
			return points[lo:hi:hi]
		}
		out := make([]Point, 0, hi-lo)
		for _, p := range points[lo:hi] {
			if finite(p.V) {
				out = append(out, p)
			}
		}
		return out
	}
	var out []Point
	for _, p := range points {
		if finite(p.V) && inside(p) {
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b Point) int { return a.T.Compare(b.T) })
	return out
}
