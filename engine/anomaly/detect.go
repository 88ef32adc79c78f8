package anomaly

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// detector holds one Detect call's working state. Indices are into the
// analysed samples (t, x), which are the window's points or, for long
// windows, time buckets of them.
type detector struct {
	opt    Options
	origin time.Time
	win    []Point   // finite samples in the window, in time order
	sec    []float64 // win times, seconds since origin
	t, x   []float64 // analysed samples: time (s since origin) and value
	lo     []int     // bucket k holds win[lo[k]:lo[k+1]]; nil when not bucketed
	t0     float64   // the incident, seconds since origin
	y      []float64 // x with spikes replaced by the local level
	sigma  float64   // point-to-point noise, floored
	floor  float64   // smallest z unit, against division by zero
	minRef int       // smallest first segment

	spikes   []spikeRun
	fixedRef bool // ref comes from Options.Baseline
	ref      refStats
}

// refStats is a reference level and its z unit.
type refStats struct{ med, scale float64 }

// spikeRun is a run of samples [a, b] that stands out from both sides.
type spikeRun struct{ a, b, dir int }

// candidate is an abnormal regime: an episode of abnormal segments or a spike.
type candidate struct {
	kind       Kind
	onset, end int // analysed indices; end is the first normal sample or -1
	dir        int
	score      float64
	before     float64
	after      float64 // most deviant level
	first      float64 // level of the first abnormal segment
	h, e       int     // transition into the regime (level changes)
}

func newDetector(win []Point, origin time.Time, opt Options) *detector {
	n := len(win)
	d := &detector{opt: opt, origin: origin, win: win, t0: opt.Incident.Sub(origin).Seconds()}
	d.sec = make([]float64, n)
	vals := make([]float64, n)
	maxAbs := 0.0
	for i, p := range win {
		d.sec[i] = p.T.Sub(origin).Seconds()
		vals[i] = p.V
		maxAbs = max(maxAbs, math.Abs(p.V))
	}
	if n <= maxBins {
		d.t, d.x = d.sec, vals
	} else {
		d.bucket(vals)
	}
	d.floor = 1e-9 * max(1, maxAbs)
	abs := make([]float64, len(d.x))
	for i, v := range d.x {
		abs[i] = math.Abs(v)
	}
	d.sigma = max(diffSigma(d.x), 1e-3*median(abs), d.floor)
	d.minRef = max(6, len(d.x)/5)
	return d
}

// bucket reduces the window to at most maxBins time buckets of equal width,
// each represented by its median value at its mean time. Empty buckets (gaps)
// are skipped.
func (d *detector) bucket(vals []float64) {
	sec := d.sec
	n := len(sec)
	width := (sec[n-1] - sec[0]) / maxBins
	key := func(s float64) int {
		if !(width > 0) {
			return 0
		}
		return min(int((s-sec[0])/width), maxBins-1)
	}
	scratch := make([]float64, 0, 2*n/maxBins+2)
	d.lo = []int{0}
	start := 0
	for i := 1; i <= n; i++ {
		if i < n && key(sec[i]) == key(sec[start]) {
			continue
		}
		sum := 0.0
		for _, s := range sec[start:i] {
			sum += s
		}
		scratch = append(scratch[:0], vals[start:i]...)
		d.t = append(d.t, sum/float64(i-start))
		d.x = append(d.x, medianInPlace(scratch))
		d.lo = append(d.lo, i)
		start = i
	}
}

func (d *detector) run(res Result) Result {
	if len(d.x) < minPoints {
		return res
	}
	d.despike()
	changes := d.segment()
	cands, top := d.judge(changes)
	spikes, topSpike := d.spikeCandidates()
	cands = append(cands, spikes...)
	top = max(top, topSpike)
	if len(cands) == 0 {
		res.Score = top
		res.Before = d.ref.med
		return res
	}
	slices.SortStableFunc(cands, func(a, b candidate) int {
		return cmp.Or(
			cmp.Compare(d.distance(a), d.distance(b)),
			cmp.Compare(boolInt(a.kind == Spike), boolInt(b.kind == Spike)),
			cmp.Compare(b.score, a.score),
			cmp.Compare(a.onset, b.onset),
		)
	})
	c := cands[0]
	res.Anomalous = true
	res.Kind = c.kind
	res.Direction = c.dir
	res.Score = c.score
	res.Before = c.before
	res.After = c.after
	d.times(c, &res)
	return res
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// distance is how far a regime lies from the incident in seconds: zero when
// it spans the incident.
func (d *detector) distance(c candidate) float64 {
	on := d.t[c.onset]
	if on > d.t0 {
		return on - d.t0
	}
	if c.end < 0 || d.t[c.end] >= d.t0 {
		return 0
	}
	return d.t0 - d.t[c.end]
}

// despike finds runs of up to spikeMaxLen samples that stand out, in one
// direction, from the medians of the spikeSide samples on each side by
// 1.5·MinScore times the larger of sigma and the local spread, and writes
// y = x with those runs replaced by the mean of the two medians.
func (d *detector) despike() {
	x := d.x
	n := len(x)
	d.y = slices.Clone(x)
	thr := spikeFactor * d.opt.MinScore * d.sigma
	left := make([]float64, n)
	right := make([]float64, n)
	buf := make([]float64, 0, spikeSide)
	for i := range n {
		left[i] = medianInPlace(append(buf[:0], x[max(0, i-spikeSide):i]...))
		right[i] = medianInPlace(append(buf[:0], x[i+1:min(n, i+1+spikeSide)]...))
	}
	// spread is the local noise around a run: 1.4826·MAD of the samples on
	// the noisier side about their median. A run only stands out if it
	// clears both sigma and this, so that a noisy regime next to a quiet
	// one is not read as a train of spikes.
	dev := make([]float64, 0, spikeSide)
	mad := func(v []float64, m float64) float64 {
		dev = dev[:0]
		for _, u := range v {
			dev = append(dev, math.Abs(u-m))
		}
		return 1.4826 * medianInPlace(dev)
	}
	spread := func(a, b int) float64 {
		return max(mad(x[max(0, a-spikeSide):a], left[a]), mad(x[b+1:min(n, b+1+spikeSide)], right[b]))
	}
	dir := make([]int8, n)
	for a := 1; a < n-1; a++ {
		for b := a; b < min(a+spikeMaxLen, n-1); b++ {
			l, r := left[a], right[b]
			stands := func(limit float64) (up, down bool) {
				up, down = true, true
				for _, v := range x[a : b+1] {
					up = up && v-l > limit && v-r > limit
					down = down && l-v > limit && r-v > limit
				}
				return up, down
			}
			up, down := stands(thr)
			if up || down { // cheap test first, the local spread only when it passes
				up, down = stands(max(thr, spikeFactor*d.opt.MinScore*spread(a, b)))
			}
			if up || down {
				s := int8(1)
				if down {
					s = -1
				}
				for i := a; i <= b; i++ {
					dir[i] = s
				}
				break
			}
		}
	}
	for a := 0; a < n; {
		if dir[a] == 0 {
			a++
			continue
		}
		b := a
		for b+1 < n && dir[b+1] == dir[a] {
			b++
		}
		if b-a+1 <= spikeMaxLen {
			level := (left[a] + right[b]) / 2
			for i := a; i <= b; i++ {
				d.y[i] = level
			}
			d.spikes = append(d.spikes, spikeRun{a: a, b: b, dir: int(dir[a])})
		}
		a = b + 1
	}
}

// judge scans the segments between change points in time order and groups
// abnormal ones into episodes. It returns the episodes and the largest
// |z| seen.
func (d *detector) judge(changes []change) ([]candidate, float64) {
	type seg struct{ a, b int }
	segs := make([]seg, 0, len(changes)+1)
	a := 0
	for _, c := range changes {
		segs = append(segs, seg{a, c.h + 1})
		a = c.e
	}
	segs = append(segs, seg{a, len(d.y)})

	var pool []float64
	if !d.fixedRef {
		pool = append(pool, d.y[segs[0].a:segs[0].b]...)
		d.ref = d.reference(pool)
	}
	var (
		out  []candidate
		cur  *candidate
		top  float64
		buf  []float64
		minZ = d.opt.MinScore
	)
	closeAt := func(end int) {
		if cur == nil {
			return
		}
		cur.end = end
		out = append(out, *cur)
		cur = nil
	}
	for k := 1; k < len(segs); k++ {
		s := segs[k]
		buf = append(buf[:0], d.y[s.a:s.b]...)
		lv := medianInPlace(buf)
		delta := lv - d.ref.med
		z := d.zscore(delta)
		// A level the reference already visits (a crest of a periodic
		// signal, a regime the window started in) is no change.
		eligible := math.Abs(delta) >= d.opt.MinChange && (d.fixedRef || exceedance(pool, lv, delta) <= maxExceed)
		if eligible {
			top = max(top, z)
		}
		dir := 1
		if delta < 0 {
			dir = -1
		}
		if cur != nil && cur.dir == dir && z >= minZ/2 {
			// Hysteresis: a dip inside an episode does not end it.
			if z > cur.score {
				cur.score, cur.after = z, lv
			}
			continue
		}
		if z >= minZ && eligible {
			closeAt(changes[k-1].h + 1)
			cur = d.open(changes[k-1], dir, z, lv)
			continue
		}
		closeAt(changes[k-1].h + 1)
		if !d.fixedRef {
			pool = append(pool, d.y[s.a:s.b]...)
			d.ref = d.reference(pool)
		}
	}
	closeAt(-1)

	// Flapping: an episode that follows another in the same direction
	// after a normal stretch no longer than either is the same regime
	// continuing (an oscillation that started, a service crash-looping), and
	// its onset is the first one.
	merged := out[:0]
	for _, c := range out {
		if k := len(merged) - 1; k >= 0 && merged[k].dir == c.dir && merged[k].end >= 0 {
			p := &merged[k]
			length := c.end - c.onset
			if c.end < 0 {
				length = len(d.y) - c.onset
			}
			if c.onset-p.end <= max(p.end-p.onset, length) {
				p.end = c.end
				if c.score > p.score {
					p.score, p.after = c.score, c.after
				}
				continue
			}
		}
		merged = append(merged, c)
	}
	out = merged[:0]
	for _, c := range merged {
		if c.end >= 0 {
			// An excursion that came back is two changes, not one, and
			// the window holds many chances of a chance pair: it needs a
			// spike's margin.
			if c.score < spikeFactor*minZ {
				continue
			}
			first := c.onset
			if c.kind == Ramp {
				first++
			}
			if c.end-first <= spikeMaxLen {
				c.kind = Spike
			}
		}
		out = append(out, c)
	}
	return out, top
}

// open starts an episode at transition tr into a segment at level lv.
func (d *detector) open(tr change, dir int, z, lv float64) *candidate {
	c := &candidate{kind: Step, dir: dir, score: z, before: d.ref.med, after: lv, first: lv, h: tr.h, e: tr.e, end: -1}
	// first is the first sample of the new regime: for a step (possibly with
	// one sample in between) the first one nearer the new level than the
	// old, for a ramp the one after the hinge.
	first := tr.e
	if tr.e-tr.h >= 3 {
		c.kind, first = Ramp, tr.h+1
	} else {
		for i := tr.h + 1; i < tr.e; i++ {
			if math.Abs(d.y[i]-lv) < math.Abs(d.y[i]-d.ref.med) {
				first = i
				break
			}
		}
	}
	// Least squares puts a step in the middle of a short ramp, and noise can
	// hide the start of any change: samples just before it that are already
	// clearly off the reference (walkBack z units, in the episode's
	// direction) belong to the new regime.
	for k := 0; k < maxWalkBack && first > 1; k++ {
		if float64(dir)*(d.y[first-1]-d.ref.med) < walkBack*d.ref.scale {
			break
		}
		first--
	}
	c.onset = first
	c.h = min(c.h, first-1)
	if c.kind == Ramp {
		c.onset = first - 1
	}
	return c
}

// zscore is |delta| in z units of the reference, capped, 0 if undefined
// (overflowing values).
func (d *detector) zscore(delta float64) float64 {
	z := math.Abs(delta) / d.ref.scale
	if math.IsNaN(z) {
		return 0
	}
	return min(z, maxScore)
}

// exceedance is the fraction of the reference that lies at or beyond level,
// on the side of delta. A real shift leaves almost no reference sample
// beyond the new level; a crest of a periodic signal leaves many.
func exceedance(ref []float64, level, delta float64) float64 {
	if len(ref) == 0 {
		return 0
	}
	k := 0
	for _, v := range ref {
		if delta > 0 && v >= level || delta < 0 && v <= level {
			k++
		}
	}
	return float64(k) / float64(len(ref))
}

// spikeCandidates scores the spike runs against the final reference.
func (d *detector) spikeCandidates() ([]candidate, float64) {
	var (
		out []candidate
		top float64
	)
	for _, r := range d.spikes {
		peak := r.a
		for i := r.a; i <= r.b; i++ {
			if math.Abs(d.x[i]-d.ref.med) > math.Abs(d.x[peak]-d.ref.med) {
				peak = i
			}
		}
		delta := d.x[peak] - d.ref.med
		z := d.zscore(delta)
		if (delta > 0) != (r.dir > 0) {
			continue // a spike back towards the reference from an abnormal level
		}
		top = max(top, z)
		if z < spikeFactor*d.opt.MinScore || math.Abs(delta) < d.opt.MinChange {
			continue
		}
		out = append(out, candidate{
			kind: Spike, onset: r.a, end: r.b + 1, dir: r.dir, score: z,
			before: d.ref.med, after: d.x[peak], first: d.x[peak],
		})
	}
	return out, top
}

// reference returns the median of v and its z unit: the largest of the
// scaled MAD, the noise sigma, relFloor of the level, the quantisation step
// of v and the absolute floor.
func (d *detector) reference(v []float64) refStats {
	s := slices.Clone(v)
	slices.Sort(s)
	med := medianSorted(s)
	quantum := 0.0
	for i := 1; i < len(s); i++ {
		if g := s[i] - s[i-1]; g > 0 && (quantum == 0 || g < quantum) {
			quantum = g
		}
	}
	for i, x := range s {
		s[i] = math.Abs(x - med)
	}
	mad := medianInPlace(s)
	return refStats{med: med, scale: max(1.4826*mad, d.sigma, relFloor*math.Abs(med), quantum, d.floor)}
}

// times fills Onset and End, refining bucketed indices on the raw samples.
func (d *detector) times(c candidate, res *Result) {
	if d.lo == nil {
		res.Onset = d.win[c.onset].T
		if c.end >= 0 {
			res.End = d.win[c.end].T
		}
		return
	}
	nb := len(d.x)
	raw := func(b int) int { return d.lo[max(0, min(b, nb))] } // first raw index of bucket b
	if c.end >= 0 {
		res.End = d.win[raw(c.end)].T
	}
	switch c.kind {
	case Spike:
		lo, hi := raw(c.onset-1), raw(c.end+1)
		half := math.Abs(c.after-c.before) / 2
		first, last, peak := -1, -1, lo
		for i := lo; i < hi; i++ {
			dev := float64(c.dir) * (d.win[i].V - c.before)
			if dev >= half {
				if first < 0 {
					first = i
				}
				last = i
			}
			if dev > float64(c.dir)*(d.win[peak].V-c.before) {
				peak = i
			}
		}
		if first < 0 {
			res.Onset = d.win[raw(c.onset)].T
			return
		}
		res.Onset = d.win[first].T
		res.After = d.win[peak].V
		if last+1 < len(d.win) {
			res.End = d.win[last+1].T
		}
	case Ramp:
		dur := d.t[c.e] - d.t[c.h]
		res.Onset = d.win[d.refine(raw(c.h-1), raw(c.h+2), raw(c.h-2), raw(min(c.e, c.h+4)+1), c.before, c.first, dur)].T
	default:
		res.Onset = d.win[d.refine(raw(c.h), raw(c.e+1), raw(c.h-1), raw(c.e+2), c.before, c.first, 0)].T
	}
}

// refine returns the raw index j in [jlo, jhi) that best explains the raw
// samples in [rlo, rhi) as: before until j, then a linear move to after over
// dur seconds (dur 0: a step whose first new sample is j). Absolute error,
// so stray samples do not pull it.
func (d *detector) refine(jlo, jhi, rlo, rhi int, before, after, dur float64) int {
	best, bestCost := jlo, math.Inf(1)
	for j := jlo; j < jhi; j++ {
		tj := d.sec[j]
		cost := 0.0
		for i := rlo; i < rhi; i++ {
			m := before
			switch dt := d.sec[i] - tj; {
			case dur == 0 && dt >= 0:
				m = after
			case dur > 0 && dt > 0:
				m = before + (after-before)*min(dt/dur, 1)
			}
			cost += math.Abs(d.win[i].V - m)
		}
		if cost < bestCost {
			best, bestCost = j, cost
		}
	}
	return min(best, len(d.win)-1)
}
