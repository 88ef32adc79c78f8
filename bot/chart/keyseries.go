package chart

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
)

// KeySeries returns the index of the series that best shows the incident:
// the one whose level moves most across the onset, relative to how much it
// varied before. A series' score is
//
//	|median(after) − median(before)| / (1.4826·MAD(before) + 0.01·|median(before)| + 1e-9)
//
// where before holds the finite points earlier than the onset and after
// those at or later. The MAD term makes a step on a quiet series stand out
// more than the same step on a noisy one; the 1% term keeps a perfectly flat
// baseline from dividing by zero and makes tiny wobbles on it score low.
//
// Series with fewer than 3 finite points, or with no point on one side of
// the onset, do not qualify; KeySeries returns -1 when none does (so also
// for a zero onset). Equal scores go to the smallest Name, then Resource,
// then the earlier index.
func KeySeries(series []engine.Series, onset time.Time) int {
	best, bestScore := -1, math.Inf(-1)
	for i, s := range series {
		score, ok := stepScore(s.Points, onset)
		if !ok {
			continue
		}
		if best < 0 || score > bestScore || score == bestScore && nameBefore(s, series[best]) {
			best, bestScore = i, score
		}
	}
	return best
}

// nameBefore reports whether a sorts before b by name, then resource.
func nameBefore(a, b engine.Series) bool {
	return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Resource, b.Resource)) < 0
}

// stepScore is KeySeries' score for one series; ok is false when the
// series does not qualify.
func stepScore(points []engine.Point, onset time.Time) (score float64, ok bool) {
	if onset.IsZero() {
		return 0, false
	}
	var before, after []float64
	for _, p := range points {
		if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
			continue
		}
		if p.T.Before(onset) {
			before = append(before, p.V)
		} else {
			after = append(after, p.V)
		}
	}
	if len(before)+len(after) < 3 || len(before) == 0 || len(after) == 0 {
		return 0, false
	}
	mb, ma := median(before), median(after)
	dev := make([]float64, len(before))
	for i, v := range before {
		dev[i] = math.Abs(v - mb)
	}
	scale := 1.4826*median(dev) + 0.01*math.Abs(mb) + 1e-9
	score = math.Abs(ma-mb) / scale
	if math.IsNaN(score) {
		return 0, false // only when the values are so large their difference overflows
	}
	return score, true
}

// median sorts xs in place and returns its median; xs is not empty.
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return xs[n/2-1]/2 + xs[n/2]/2
}
