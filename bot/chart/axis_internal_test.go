package chart

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
)

func TestValueAxis(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 9, 40, 0, 0, time.UTC)
	pts := func(vs ...float64) []engine.Point {
		var ps []engine.Point
		for i, v := range vs {
			ps = append(ps, engine.Point{T: t0.Add(time.Duration(i) * time.Minute), V: v})
		}
		return ps
	}
	for _, vs := range [][]float64{
		{0, 0, 0}, {42}, {-3.5, -3.5}, {1e9, 1e9}, {1e-9, 1e-9}, {0.001, 0.002},
		{10, 85}, {-50, 50}, {1234567, 1234567}, {-1e300, 1e300},
	} {
		ticks, r, err := valueAxis(pts(vs...))
		if err != nil {
			t.Errorf("%v: %v", vs, err)
			continue
		}
		lo, hi := slicesMin(vs), slicesMax(vs)
		if !(r.Min < r.Max) || r.Min > lo || r.Max < hi {
			t.Errorf("%v: range [%v, %v] does not strictly cover the values", vs, r.Min, r.Max)
		}
		if lo >= 0 && r.Min < 0 {
			t.Errorf("%v: non-negative values get a negative floor %v", vs, r.Min)
		}
		if len(ticks) < 2 || len(ticks) > 21 {
			t.Errorf("%v: %d ticks", vs, len(ticks))
		}
		seen := map[string]bool{}
		for _, tk := range ticks {
			if seen[tk.Label] {
				t.Errorf("%v: duplicate tick label %q in %v", vs, tk.Label, ticks)
			}
			seen[tk.Label] = true
		}
	}

	if _, _, err := valueAxis(pts(-math.MaxFloat64, math.MaxFloat64)); err == nil {
		t.Error("a range overflowing float64 is not an error")
	}
}

func slicesMin(vs []float64) float64 { return minMax(vs, math.Min) }
func slicesMax(vs []float64) float64 { return minMax(vs, math.Max) }
func minMax(vs []float64, f func(a, b float64) float64) float64 {
	m := vs[0]
	for _, v := range vs[1:] {
		m = f(m, v)
	}
	return m
}

func TestValueAxisLabels(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 9, 40, 0, 0, time.UTC)
	for _, tc := range []struct {
		lo, hi float64
		want   []string
	}{
		{10, 85, []string{"0", "20", "40", "60", "80", "100"}},
		{0, 1900, []string{"0", "500", "1000", "1500", "2000", "2500"}},
		{0, 19000, []string{"0k", "5k", "10k", "15k", "20k", "25k"}},
		{1.2e6, 1.4e6, []string{"1.15M", "1.20M", "1.25M", "1.30M", "1.35M", "1.40M", "1.45M"}},
		{0.01, 0.04, []string{"0.00", "0.01", "0.02", "0.03", "0.04", "0.05"}},
		{-0.3, 0.3, []string{"-0.4", "-0.2", "0.0", "0.2", "0.4"}},
	} {
		ticks, _, err := valueAxis([]engine.Point{{T: t0, V: tc.lo}, {T: t0.Add(time.Minute), V: tc.hi}})
		if err != nil {
			t.Fatalf("[%v, %v]: %v", tc.lo, tc.hi, err)
		}
		var got []string
		for _, tk := range ticks {
			got = append(got, tk.Label)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("[%v, %v]: labels %q, want %q", tc.lo, tc.hi, got, tc.want)
		}
	}
}

func TestTimeAxis(t *testing.T) {
	// 09:47:13 in CEST is 07:47:13 UTC; labels are UTC.
	t0 := time.Date(2024, 5, 1, 9, 47, 13, 0, time.FixedZone("CEST", 2*3600))
	for _, tc := range []struct {
		span     time.Duration
		want     []string // labels that must appear
		wantDate string
	}{
		{0, []string{"07:42", "07:54"}, "UTC, 1 May 2024"}, // one point: ±5 minutes
		{time.Hour, []string{"07:40", "08:00", "08:50"}, "UTC, 1 May 2024"},
		{36 * time.Hour, []string{"06:00", "May 2", "18:00"}, "UTC, 1 May 2024 – 2 May 2024"},
		{10 * 24 * time.Hour, []string{"May 1", "May 11"}, "UTC, 1 May 2024 – 11 May 2024"},
	} {
		ps := []engine.Point{{T: t0, V: 1}, {T: t0.Add(tc.span), V: 2}}
		ticks, r, date := timeAxis(ps)
		if len(ticks) < 2 || len(ticks) > 10 {
			t.Errorf("span %v: %d ticks", tc.span, len(ticks))
		}
		var labels []string
		for _, tk := range ticks {
			labels = append(labels, tk.Label)
		}
		for _, w := range tc.want {
			if !slices.Contains(labels, w) {
				t.Errorf("span %v: labels %q lack %q", tc.span, labels, w)
			}
		}
		if date != tc.wantDate {
			t.Errorf("span %v: caption %q, want %q", tc.span, date, tc.wantDate)
		}
		for _, p := range ps {
			if v := float64(p.T.UnixNano()); v <= r.Min || v >= r.Max {
				t.Errorf("span %v: point %v not strictly inside the axis", tc.span, p.T)
			}
		}
	}

	// The axis widens to show onset and alert outside the data.
	ps := []engine.Point{{T: t0, V: 1}, {T: t0.Add(time.Hour), V: 2}}
	_, r, _ := timeAxis(ps, t0.Add(-time.Hour), time.Time{}, t0.Add(3*time.Hour))
	if lo, hi := float64(t0.Add(-time.Hour).UnixNano()), float64(t0.Add(3*time.Hour).UnixNano()); r.Min > lo || r.Max < hi {
		t.Errorf("axis [%v, %v] does not cover the moments [%v, %v]", r.Min, r.Max, lo, hi)
	}
}
