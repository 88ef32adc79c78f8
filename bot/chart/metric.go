package chart

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	gochart "github.com/wcharczuk/go-chart/v2"
	"github.com/wcharczuk/go-chart/v2/drawing"

	"github.com/nightshift-ops/nightshift/engine"
)

// Size of a metric chart in pixels.
const (
	metricWidth  = 800
	metricHeight = 360
)

// MetricOptions places the incident's moments on a metric chart.
type MetricOptions struct {
	// Onset is when the metric changed (the change point). The chart draws
	// a solid vertical "onset" marker there and colours and shades what
	// comes after it. Zero: no marker, one colour.
	Onset time.Time
	// Alert is when the incident was declared or first alerted. The chart
	// draws a dashed "alert" marker there. Zero: no marker.
	Alert time.Time
}

// Metric renders one metric series around an incident as an 800×360 PNG: a
// title (resource · metric (unit)), a time x-axis labelled HH:MM in UTC with
// the date under it, a value y-axis on the right, the line in blue before
// the onset and orange-red, over a light shade, after it, and the onset and
// alert markers. The x-axis always covers the onset and alert times, so a
// marker is never silently left out.
//
// Points whose value is NaN or infinite are skipped; the points need not be
// sorted. A series with no finite point is an error.
func Metric(s engine.Series, opts MetricOptions) ([]byte, error) {
	pts := finitePoints(s.Points)
	if len(pts) == 0 {
		if len(s.Points) == 0 {
			return nil, errors.New("metric chart: series has no points")
		}
		return nil, errors.New("metric chart: series has no finite values")
	}
	f, err := font()
	if err != nil {
		return nil, fmt.Errorf("metric chart: load font: %w", err)
	}

	xTicks, xr, date := timeAxis(pts, opts.Onset, opts.Alert)
	yTicks, yr, err := valueAxis(pts)
	if err != nil {
		return nil, fmt.Errorf("metric chart: %w", err)
	}

	var series []gochart.Series
	if !opts.Onset.IsZero() {
		series = append(series, shade{from: gochart.TimeToFloat64(opts.Onset)})
	}
	before, after := splitAt(pts, opts.Onset)
	series = appendLine(series, before, colourBefore)
	series = appendLine(series, after, colourAfter)

	var markers []marker
	if !opts.Onset.IsZero() {
		markers = append(markers, marker{t: opts.Onset, label: "onset", colour: colourOnset})
	}
	if !opts.Alert.IsZero() {
		markers = append(markers, marker{t: opts.Alert, label: "alert", colour: colourAlert, dashed: true})
	}

	axisStyle := gochart.Style{
		StrokeColor: colourAxis,
		StrokeWidth: 1,
		FontColor:   colourMuted,
		FontSize:    9,
	}
	grid := gochart.Style{StrokeColor: colourGrid, StrokeWidth: 1}
	c := gochart.Chart{
		Width:  metricWidth,
		Height: metricHeight,
		Font:   f,
		Background: gochart.Style{
			FillColor: colourBackground,
			Padding:   gochart.Box{Top: 44, Left: 16, Right: 12, Bottom: 8},
		},
		Canvas: gochart.Style{FillColor: colourBackground},
		XAxis: gochart.XAxis{
			Name:           date,
			NameStyle:      gochart.Style{FontColor: colourMuted, FontSize: 9},
			Style:          axisStyle,
			Range:          xr,
			Ticks:          xTicks,
			GridMajorStyle: grid,
		},
		YAxis: gochart.YAxis{
			Style:          axisStyle,
			Range:          yr,
			Ticks:          yTicks,
			GridMajorStyle: grid,
		},
		Series: series,
		Elements: []gochart.Renderable{
			func(r gochart.Renderer, canvas gochart.Box, defaults gochart.Style) {
				r.SetFont(defaults.GetFont(f)) // the series may have cleared it
				drawMarkers(r, canvas, xr, markers)
				drawTitle(r, metricTitle(s))
			},
		},
	}
	var w gochart.ImageWriter // collects the pixels; encode compresses them
	if err := c.Render(gochart.PNG, &w); err != nil {
		return nil, fmt.Errorf("metric chart: render: %w", err)
	}
	img, err := w.Image()
	if err != nil {
		return nil, fmt.Errorf("metric chart: render: %w", err)
	}
	b, err := encode(img)
	if err != nil {
		return nil, fmt.Errorf("metric chart: %w", err)
	}
	return b, nil
}

// metricTitle is "resource · name (unit)", each part bounded so no single
// one crowds out the others; drawTitle fits the whole to the width.
func metricTitle(s engine.Series) string {
	title := truncate(s.Resource, 60)
	if s.Name != "" {
		if title != "" {
			title += " · "
		}
		title += truncate(s.Name, 60)
	}
	if s.Unit != "" {
		title += " (" + truncate(s.Unit, 16) + ")"
	}
	if title == "" {
		title = "metric"
	}
	return title
}

func drawTitle(r gochart.Renderer, title string) {
	r.SetFontSize(13)
	title = fitText(r, title, metricWidth-32, truncate)
	text(r, title, 16, 26, 13, colourText)
}

// finitePoints returns the points with a finite value sorted by time
// (stable, so equal times keep their order).
func finitePoints(in []engine.Point) []engine.Point {
	out := make([]engine.Point, 0, len(in))
	for _, p := range in {
		if !math.IsNaN(p.V) && !math.IsInf(p.V, 0) {
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b engine.Point) int { return a.T.Compare(b.T) })
	return out
}

// splitAt splits sorted points into those before the onset and those at or
// after it. The after part starts with the last point before the onset so
// the line stays connected. A zero onset puts everything before.
func splitAt(pts []engine.Point, onset time.Time) (before, after []engine.Point) {
	if onset.IsZero() {
		return pts, nil
	}
	i, _ := slices.BinarySearchFunc(pts, onset, func(p engine.Point, t time.Time) int { return p.T.Compare(t) })
	before, after = pts[:i], pts[i:]
	if len(before) > 0 && len(after) > 0 {
		after = pts[i-1:]
	}
	return before, after
}

// appendLine adds a line for pts, with dots when a single point would
// otherwise be invisible.
func appendLine(series []gochart.Series, pts []engine.Point, c drawing.Color) []gochart.Series {
	if len(pts) == 0 {
		return series
	}
	ts := gochart.TimeSeries{
		Style:   gochart.Style{StrokeColor: c, StrokeWidth: 2},
		XValues: make([]time.Time, len(pts)),
		YValues: make([]float64, len(pts)),
	}
	for i, p := range pts {
		ts.XValues[i], ts.YValues[i] = p.T, p.V
	}
	if len(pts) == 1 {
		ts.Style.DotColor, ts.Style.DotWidth = c, 3
	}
	return append(series, ts)
}

// timeAxis picks a round tick step, a range aligned to it that covers the
// points and the given moments, HH:MM tick labels (the date instead at a
// midnight within the range) and the axis caption with the date(s).
func timeAxis(pts []engine.Point, moments ...time.Time) ([]gochart.Tick, *gochart.ContinuousRange, string) {
	lo, hi := pts[0].T, pts[len(pts)-1].T
	for _, t := range moments {
		if t.IsZero() {
			continue
		}
		if t.Before(lo) {
			lo = t
		}
		if t.After(hi) {
			hi = t
		}
	}
	if span := hi.Sub(lo); span > 0 {
		// A margin keeps points and markers off the plot's edges.
		lo, hi = lo.Add(-span/40), hi.Add(span/40)
	} else {
		lo, hi = lo.Add(-5*time.Minute), hi.Add(5*time.Minute)
	}
	step := timeSteps[len(timeSteps)-1]
	for _, s := range timeSteps {
		if hi.Sub(lo)/s <= 8 {
			step = s
			break
		}
	}
	for hi.Sub(lo)/step > 8 { // beyond the table: whole multiples of days
		step *= 2
	}
	// Truncate counts from the zero time, a UTC midnight, so steps that
	// divide a day land on round UTC clock times.
	start := lo.Truncate(step)
	end := hi.Truncate(step)
	if end.Before(hi) {
		end = end.Add(step)
	}
	var ticks []gochart.Tick
	for t := start; !t.After(end); t = t.Add(step) {
		label := t.UTC().Format("15:04")
		if step >= 24*time.Hour || label == "00:00" && t.After(start) {
			label = t.UTC().Format("Jan 2") // a new day says which
		}
		ticks = append(ticks, gochart.Tick{Value: gochart.TimeToFloat64(t), Label: label})
	}
	date := "UTC, " + lo.UTC().Format("2 Jan 2006")
	if d := hi.UTC().Format("2 Jan 2006"); d != lo.UTC().Format("2 Jan 2006") {
		date += " – " + d
	}
	r := &gochart.ContinuousRange{Min: ticks[0].Value, Max: ticks[len(ticks)-1].Value}
	return ticks, r, date
}

var timeSteps = [...]time.Duration{
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// valueAxis pads the value range (a constant series gets a band around its
// value), picks a round 1-2-5 step and labels the ticks (12.5, 20k, 1.5M).
func valueAxis(pts []engine.Point) ([]gochart.Tick, *gochart.ContinuousRange, error) {
	lo := slices.MinFunc(pts, func(a, b engine.Point) int { return cmp.Compare(a.V, b.V) }).V
	hi := slices.MaxFunc(pts, func(a, b engine.Point) int { return cmp.Compare(a.V, b.V) }).V
	span := hi - lo
	if math.IsInf(span, 0) {
		return nil, nil, errors.New("value range too large to draw")
	}
	pad := span * 0.08
	if span == 0 {
		pad = max(math.Abs(lo)*0.1, 1)
	}
	bottom, top := lo-pad, hi+pad
	if lo >= 0 && bottom < 0 {
		bottom = 0 // a non-negative metric keeps a zero floor
	}
	step := niceStep((top - bottom) / 5)
	bottom = math.Floor(bottom/step) * step
	top = math.Ceil(top/step) * step
	n := int(math.Round((top - bottom) / step))
	if n < 1 || n > 20 || math.IsInf(bottom, 0) || math.IsInf(top, 0) {
		return nil, nil, errors.New("value range too large to draw")
	}
	scale, suffix := siScale(max(math.Abs(bottom), math.Abs(top)))
	ticks := make([]gochart.Tick, 0, n+1)
	for i := 0; i <= n; i++ {
		v := bottom + float64(i)*step
		ticks = append(ticks, gochart.Tick{Value: v, Label: formatValue(v, step, scale, suffix)})
	}
	return ticks, &gochart.ContinuousRange{Min: ticks[0].Value, Max: ticks[n].Value}, nil
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	if x <= 0 || math.IsNaN(x) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// siScale picks one SI suffix for a whole axis, from its largest
// magnitude, so labels compare at a glance (0, 5k, 10k, 15k).
func siScale(maxAbs float64) (scale float64, suffix string) {
	for _, u := range []struct {
		from, scale float64
		suffix      string
	}{{1e12, 1e12, "T"}, {1e9, 1e9, "G"}, {1e6, 1e6, "M"}, {1e4, 1e3, "k"}} {
		if maxAbs >= u.from {
			return u.scale, u.suffix
		}
	}
	return 1, ""
}

// formatValue labels a tick in units of scale with as many decimals as the
// step needs.
func formatValue(v, step, scale float64, suffix string) string {
	if math.Abs(v) < step*1e-6 {
		v = 0 // no "-0.0"
	}
	dec := int(math.Ceil(-math.Log10(step/scale) - 1e-9))
	dec = min(max(dec, 0), 6)
	return strconv.FormatFloat(v/scale, 'f', dec, 64) + suffix
}

// shade is a pseudo-series that tints the plot area from a moment to the
// right edge. It provides no values, so it does not move the axes, and it
// comes first so the lines are drawn over it.
type shade struct{ from float64 }

func (shade) GetName() string             { return "after onset" }
func (shade) GetYAxis() gochart.YAxisType { return gochart.YAxisPrimary }
func (shade) GetStyle() gochart.Style     { return gochart.Style{} }
func (shade) Validate() error             { return nil }

func (s shade) Render(r gochart.Renderer, canvas gochart.Box, xr, _ gochart.Range, _ gochart.Style) {
	left := canvas.Left + xr.Translate(s.from)
	left = min(max(left, canvas.Left), canvas.Right)
	if left >= canvas.Right {
		return
	}
	rect(r, gochart.Box{Left: left, Top: canvas.Top, Right: canvas.Right, Bottom: canvas.Bottom}, colourShade, drawing.Color{}, 0)
}

// marker is a vertical line at a moment, labelled at the top.
type marker struct {
	t      time.Time
	label  string
	colour drawing.Color
	dashed bool
}

// drawMarkers draws the markers' lines, then their labels on a white
// ground so a close marker's line does not cross them. Each label has its
// own row, to the right of its line unless that would leave the plot.
func drawMarkers(r gochart.Renderer, canvas gochart.Box, xr gochart.Range, markers []marker) {
	xs := make([]int, len(markers))
	for i, m := range markers {
		xs[i] = canvas.Left + xr.Translate(gochart.TimeToFloat64(m.t))
		var dash []float64
		if m.dashed {
			dash = []float64{6, 4}
		}
		line(r, xs[i], canvas.Top, xs[i], canvas.Bottom, 2, m.colour, dash)
	}
	const size = 9
	for i, m := range markers {
		b := measure(r, m.label, size)
		tx := xs[i] + 5
		if tx+b.Width() > canvas.Right-2 {
			tx = xs[i] - 5 - b.Width()
		}
		ty := canvas.Top + 4 + (i+1)*(b.Height()+6)
		rect(r, gochart.Box{Left: tx - 2, Top: ty - b.Height() - 2, Right: tx + b.Width() + 2, Bottom: ty + 3}, colourLabelGround, drawing.Color{}, 0)
		text(r, m.label, tx, ty, size, m.colour)
	}
}
