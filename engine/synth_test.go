package engine_test

import (
	"hash/fnv"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
)

// Synthetic telemetry for reasoner tests: one-minute samples from two and a
// half hours before t0 to fifteen minutes after it, a level that follows a
// shape, and a little deterministic noise (seeded by the series' identity),
// the way a provider returns gauges and rate()d counters.

// level gives the noiseless value of a series at t.
type level func(t time.Time) float64

func flat(v float64) level { return func(time.Time) float64 { return v } }

// step moves from before to after at at.
func step(before, after float64, at time.Time) level {
	return func(t time.Time) float64 {
		if t.Before(at) {
			return before
		}
		return after
	}
}

// ramp moves linearly from before (at from) to after (at to), then stays.
func ramp(before, after float64, from, to time.Time) level {
	return func(t time.Time) float64 {
		switch {
		case t.Before(from):
			return before
		case !t.Before(to):
			return after
		}
		f := float64(t.Sub(from)) / float64(to.Sub(from))
		return before + f*(after-before)
	}
}

// sawtooth grows linearly from low to high every period after start (a leak
// reclaimed by restarts), and is flat at low before.
func sawtooth(low, high float64, start time.Time, period time.Duration) level {
	return func(t time.Time) float64 {
		if t.Before(start) {
			return low
		}
		f := float64(t.Sub(start)%period) / float64(period)
		return low + f*(high-low)
	}
}

// counterSteps is a cumulative counter that gains one at each of at.
func counterSteps(base float64, at ...time.Time) level {
	return func(t time.Time) float64 {
		v := base
		for _, x := range at {
			if !t.Before(x) {
				v++
			}
		}
		return v
	}
}

type seriesOpt struct {
	labels map[string]string
	unit   string
	noise  float64 // relative noise, default 2%
	exact  bool    // no noise (counters, integer gauges)
}

// synth builds a series of resource res around t0.
func synth(t0 time.Time, res, name string, lv level, o seriesOpt) engine.Series {
	h := fnv.New64a()
	h.Write([]byte(res + "\x00" + name))
	for _, k := range slices.Sorted(maps.Keys(o.labels)) {
		h.Write([]byte(k + "=" + o.labels[k]))
	}
	rng := rand.New(rand.NewPCG(h.Sum64(), 7))
	noise := o.noise
	if noise == 0 {
		noise = 0.02
	}
	var pts []engine.Point
	for t := t0.Add(-150 * time.Minute); !t.After(t0.Add(15 * time.Minute)); t = t.Add(time.Minute) {
		v := lv(t)
		if !o.exact {
			v += v * noise * rng.NormFloat64()
			v = math.Max(0, v)
		}
		pts = append(pts, engine.Point{T: t, V: math.Round(v*1e4) / 1e4})
	}
	return engine.Series{Resource: res, Name: name, Labels: o.labels, Unit: o.unit, Points: pts}
}

// logsEvery repeats one message on a resource every interval in [from, to).
func logsEvery(res, level, msg string, from, to time.Time, every time.Duration) []engine.LogEntry {
	var out []engine.LogEntry
	for t := from; t.Before(to); t = t.Add(every) {
		out = append(out, engine.LogEntry{T: t, Resource: res, Level: level, Message: msg})
	}
	return out
}

func labels(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}
