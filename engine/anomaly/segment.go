package anomaly

import (
	"math"
	"slices"
)

// change is a transition between two segments: h is the last sample of the
// old level and e the first sample of the new one. e == h+1 is a step; the
// samples strictly between h and e lie on a linear ramp.
type change struct{ h, e int }

// split is the best way found to cut one segment in two (hinge) or three
// (interval [s, f) shifted from the rest).
type split struct {
	gain     float64 // squared error removed
	h, e     int
	s, f     int
	interval bool
	ok       bool
}

// prefix holds running sums over the analysed samples, so that the error
// reduction of any hinge or interval is O(1).
type prefix struct {
	t, tt, y, ty []float64
	c            float64 // subtracted from every y
}

func newPrefix(t, y []float64) *prefix {
	n := len(t)
	c := median(y) // centring keeps the sums small for large values (bytes)
	p := &prefix{make([]float64, n+1), make([]float64, n+1), make([]float64, n+1), make([]float64, n+1), c}
	for i := range n {
		v := y[i] - c
		p.t[i+1] = p.t[i] + t[i]
		p.tt[i+1] = p.tt[i] + t[i]*t[i]
		p.y[i+1] = p.y[i] + v
		p.ty[i+1] = p.ty[i] + t[i]*v
	}
	return p
}

// segment runs greedy binary segmentation on the despiked samples: it
// repeatedly applies the best split of any current segment while that split
// removes more than the penalty. Changes are returned in time order.
func (d *detector) segment() []change {
	n := len(d.y)
	p := newPrefix(d.t, d.y)
	logn := math.Log(float64(n))
	s2 := d.sigma * d.sigma
	pen, rampPen := 3*logn*s2, logn*s2

	type piece struct {
		lo, hi int
		sp     split
	}
	find := func(lo, hi int) piece {
		minFirst := 2
		if lo == 0 {
			minFirst = d.minRef
		}
		return piece{lo, hi, bestSplit(p, d.t, d.y, lo, hi, minFirst, rampPen)}
	}
	pieces := []piece{find(0, n)}
	var out []change
	for len(out) < maxChanges {
		bi := -1
		for i, pc := range pieces {
			if pc.sp.ok && pc.sp.gain > pen && (bi < 0 || pc.sp.gain > pieces[bi].sp.gain) {
				bi = i
			}
		}
		if bi < 0 {
			break
		}
		pc := pieces[bi]
		pieces = slices.Delete(pieces, bi, bi+1)
		sp := pc.sp
		if sp.interval {
			out = append(out, change{sp.s - 1, sp.s}, change{sp.f - 1, sp.f})
			pieces = append(pieces, find(pc.lo, sp.s), find(sp.s, sp.f), find(sp.f, pc.hi))
		} else {
			out = append(out, change{sp.h, sp.e})
			pieces = append(pieces, find(pc.lo, sp.h+1), find(sp.e, pc.hi))
		}
	}
	slices.SortFunc(out, func(a, b change) int { return a.h - b.h })
	return out
}

// hinge fits y = a + b·g on samples [lo, hi), g being 0 up to h, rising
// linearly in time to 1 at e and 1 after, and returns the squared error it
// removes from a constant fit, with a (centred) and b. O(1).
func (p *prefix) hinge(t []float64, lo, hi, h, e int) (gain, a, b float64) {
	n := float64(hi - lo)
	sy := p.y[hi] - p.y[lo]
	na := float64(hi - e)
	sg, sgg, sgy := na, na, p.y[hi]-p.y[e]
	if l := e - h; l > 1 {
		th := t[h]
		dur := t[e] - th
		if !(dur > 0) {
			return 0, 0, 0
		}
		m := float64(l - 1)
		st := p.t[e] - p.t[h+1]
		stt := p.tt[e] - p.tt[h+1]
		sY := p.y[e] - p.y[h+1]
		sty := p.ty[e] - p.ty[h+1]
		sg += (st - m*th) / dur
		sgg += (stt - 2*th*st + m*th*th) / (dur * dur)
		sgy += (sty - th*sY) / dur
	}
	v := sgg - sg*sg/n
	if !(v > 1e-9) {
		return 0, 0, 0
	}
	c := sgy - sg*sy/n
	b = c / v
	return c * c / v, (sy - b*sg) / n, b
}

// rampShaped reports whether at least half of the samples inside the ramp
// (h, e) lie between the two fitted levels, away from both. Least squares
// alone accepts a long "ramp" across a step followed by a noisy, drifting
// level; a ramp has to be seen rising.
func (p *prefix) rampShaped(t, y []float64, lo, hi, h, e int) bool {
	_, a, b := p.hinge(t, lo, hi, h, e)
	from, to := min(a, a+b)+0.1*math.Abs(b), max(a, a+b)-0.1*math.Abs(b)
	inside := 0
	for _, v := range y[h+1 : e] {
		if v -= p.c; v > from && v < to {
			inside++
		}
	}
	return 2*inside >= e-h-1
}

// bestSplit finds the split of samples [lo, hi) that removes the most squared
// error, over two models. Hinge: flat up to h, linear in time from h to e,
// flat from e on (e-h from rampLengths, 1 being a step, or a ramp that
// lasts to the last sample). Interval: flat, a shifted block [s, f) of 2 to
// about maxRamp samples, flat again. The first part
// holds at least minFirst samples, the others at least two. A hinge with a
// ramp of three or more intervals must beat the best step by rampPen.
func bestSplit(p *prefix, t, y []float64, lo, hi, minFirst int, rampPen float64) split {
	n := float64(hi - lo)
	sy := p.y[hi] - p.y[lo]
	var best, step split
	for h := lo + minFirst - 1; h <= hi-3; h++ {
		for k := 0; k <= len(rampLengths); k++ {
			var e int
			if k < len(rampLengths) {
				if e = h + rampLengths[k]; e > hi-2 {
					break
				}
			} else if e = hi - 1; e-h < 3 {
				continue // a ramp that is still going at the end of the data
			}
			g, _, _ := p.hinge(t, lo, hi, h, e)
			if g > best.gain {
				best = split{gain: g, h: h, e: e, ok: true}
			}
			if e == h+1 && g > step.gain {
				step = split{gain: g, h: h, e: e, ok: true}
			}
		}
	}
	if best.e-best.h >= 3 && step.ok && (best.gain-step.gain < rampPen || !p.rampShaped(t, y, lo, hi, best.h, best.e)) {
		best = step
	}
	// Intervals: lengths on the same geometric grid first, then every
	// length and start near the best one.
	gain := func(s, f int) float64 {
		m := float64(f - s)
		c := (p.y[f] - p.y[s]) - m*sy/n
		return c * c / (m * (1 - m/n))
	}
	var iv split
	for s := lo + minFirst; s <= hi-4; s++ {
		for _, l := range rampLengths[1:] {
			f := s + l
			if f > hi-2 {
				break
			}
			if g := gain(s, f); g > iv.gain {
				iv = split{gain: g, s: s, f: f, interval: true, ok: true}
			}
		}
	}
	if iv.ok {
		s0, l0 := iv.s, iv.f-iv.s
		for s := max(lo+minFirst, s0-2); s <= min(hi-4, s0+2); s++ {
			for f := max(s+2, s+l0*3/4-1); f <= min(hi-2, s+l0*4/3+1); f++ {
				if g := gain(s, f); g > iv.gain {
					iv = split{gain: g, s: s, f: f, interval: true, ok: true}
				}
			}
		}
	}
	if iv.gain > best.gain {
		best = iv
	}
	return best
}

// median returns the median of v without modifying it (NaN for no values).
func median(v []float64) float64 {
	return medianInPlace(slices.Clone(v))
}

// medianInPlace returns the median of v, reordering v (NaN for no values).
// Expected linear time (quickselect); v must hold no NaN.
func medianInPlace(v []float64) float64 {
	n := len(v)
	switch {
	case n == 0:
		return math.NaN()
	case n <= 12:
		slices.Sort(v)
		return medianSorted(v)
	}
	hi := nth(v, n/2)
	if n%2 == 1 {
		return hi
	}
	return (slices.Max(v[:n/2]) + hi) / 2
}

// nth reorders v so that v[k] is the value a sort would put there, smaller
// or equal values before it and greater or equal after, and returns v[k].
func nth(v []float64, k int) float64 {
	lo, hi := 0, len(v)-1
	for hi-lo > 12 {
		// median of three as pivot, moved to v[hi]
		mid := lo + (hi-lo)/2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[mid] < v[hi] {
			v[mid], v[hi] = v[hi], v[mid]
		}
		pivot := v[hi]
		i, j := lo, hi-1
		for {
			for v[i] < pivot {
				i++
			}
			for j > lo && v[j] > pivot {
				j--
			}
			if i >= j {
				break
			}
			v[i], v[j] = v[j], v[i]
			i++
			j--
		}
		v[i], v[hi] = v[hi], v[i]
		switch {
		case k < i:
			hi = i - 1
		case k > i:
			lo = i + 1
		default:
			return v[k]
		}
	}
	slices.Sort(v[lo : hi+1])
	return v[k]
}

func medianSorted(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// diffSigma estimates point-to-point noise as 1.4826·MAD of first
// differences over sqrt 2, after collapsing runs of equal values (a 1 s
// series of a 15 s scrape repeats each value fifteen times, which would make
// the MAD zero). Zero when there is no variation.
func diffSigma(x []float64) float64 {
	diffs := make([]float64, 0, len(x))
	last := math.NaN()
	for _, v := range x {
		if v == last {
			continue
		}
		if !math.IsNaN(last) {
			diffs = append(diffs, v-last)
		}
		last = v
	}
	if len(diffs) < 2 {
		return 0
	}
	m := medianInPlace(slices.Clone(diffs))
	for i, v := range diffs {
		diffs[i] = math.Abs(v - m)
	}
	return 1.4826 * medianInPlace(diffs) / math.Sqrt2
}
