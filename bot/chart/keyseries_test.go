package chart_test

import (
	"math"
	"testing"
	"time"

	"github.com/nightshift-ops/nightshift/bot/chart"
	"github.com/nightshift-ops/nightshift/engine"
)

// series builds a one-minute series from t0 with the given values.
func series(name string, values ...float64) engine.Series {
	s := engine.Series{Resource: "svc", Name: name}
	for i, v := range values {
		s.Points = append(s.Points, engine.Point{T: t0.Add(time.Duration(i) * time.Minute), V: v})
	}
	return s
}

// gen returns n values f(0..n-1).
func gen(n int, f func(i int) float64) []float64 {
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = f(i)
	}
	return vs
}

func TestKeySeries(t *testing.T) {
	onset := t0.Add(20 * time.Minute)
	// Deterministic noise: a fixed pseudo-random walk around 50 ± 20.
	noise := gen(40, func(i int) float64 { return 50 + 20*math.Sin(float64(i*i)*1.7) })
	// A step of 15 on a quiet baseline (±1): smaller than the noise's
	// swings, but far outside its own.
	step := gen(40, func(i int) float64 {
		v := 10 + math.Sin(float64(i))
		if i >= 20 {
			v += 15
		}
		return v
	})
	flat := gen(40, func(int) float64 { return 3 })

	tests := []struct {
		name   string
		series []engine.Series
		want   int
	}{
		{"step beats noise and flat", []engine.Series{series("noise", noise...), series("step", step...), series("flat", flat...)}, 1},
		{"order does not matter", []engine.Series{series("step", step...), series("flat", flat...), series("noise", noise...)}, 0},
		{"noise beats flat", []engine.Series{series("flat", flat...), series("noise", noise...)}, 1},
		{"a step on a flat baseline", []engine.Series{series("noise", noise...), series("jump", gen(40, func(i int) float64 {
			return map[bool]float64{true: 7, false: 3}[i >= 20]
		})...)}, 1},
		{"a drop counts as much as a rise", []engine.Series{series("noise", noise...), series("drop", gen(40, func(i int) float64 {
			return 25 - step[i] + 10
		})...)}, 1},
		{"relative change beats absolute", []engine.Series{
			// Noise that also shifts by 8: the bigger raw change, but small
			// against its ±20 swings.
			series("noisy-shift", gen(40, func(i int) float64 { return noise[i] + map[bool]float64{true: 8}[i >= 20] })...),
			// A shift of 3 on a baseline wobbling by ±0.2.
			series("quiet-shift", gen(40, func(i int) float64 {
				return 100 + 0.2*math.Sin(float64(i)) + map[bool]float64{true: 3}[i >= 20]
			})...),
		}, 1},
		{"fewer than 3 points do not qualify", []engine.Series{series("short", 1, 1000)}, -1},
		{"NaN points do not count", []engine.Series{series("nan", 1, math.NaN(), math.NaN(), math.Inf(1), 1000)}, -1},
		{"no points after the onset", []engine.Series{series("early", 1, 2, 3, 4)}, -1},
		{"no series", nil, -1},
		{"tie goes to the smallest name", []engine.Series{series("b", flat...), series("a", flat...), series("c", flat...)}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := chart.KeySeries(tc.series, onset); got != tc.want {
				t.Errorf("KeySeries = %d, want %d", got, tc.want)
			}
		})
	}

	t.Run("zero onset", func(t *testing.T) {
		if got := chart.KeySeries([]engine.Series{series("step", step...)}, time.Time{}); got != -1 {
			t.Errorf("KeySeries(zero onset) = %d, want -1", got)
		}
	})
}
