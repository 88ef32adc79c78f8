package chart_test

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightshift-ops/nightshift/bot/chart"
	"github.com/nightshift-ops/nightshift/engine"
)

// Colours the tests look for; they mirror the package's palette.
var (
	onsetColour = color.RGBA{0xB0, 0x00, 0x20, 0xFF}
	alertColour = color.RGBA{0x7B, 0x3F, 0xBF, 0xFF}
	afterColour = color.RGBA{0xE4, 0x57, 0x2E, 0xFF}
)

var t0 = time.Date(2024, 5, 1, 9, 40, 0, 0, time.UTC)

// stepped is 60 one-minute points around 40 that jump to 85 at minute 30.
func stepped() engine.Series {
	pts := make([]engine.Point, 60)
	for i := range pts {
		v := 40 + 5*math.Sin(float64(i)*0.7)
		if i >= 30 {
			v += 45
		}
		pts[i] = engine.Point{T: t0.Add(time.Duration(i) * time.Minute), V: v}
	}
	return engine.Series{Resource: "k8s/prod/deployment/checkout-api", Name: "cpu_utilization", Unit: "%", Points: pts}
}

func render(t *testing.T, s engine.Series, opts chart.MetricOptions) []byte {
	t.Helper()
	b, err := chart.Metric(s, opts)
	if err != nil {
		t.Fatalf("Metric: %v", err)
	}
	return b
}

// decode decodes a PNG into RGBA pixels.
func decode(t *testing.T, b []byte) *image.RGBA {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode PNG: %v", err)
	}
	if m, ok := img.(*image.RGBA); ok {
		return m
	}
	m := image.NewRGBA(img.Bounds())
	draw.Draw(m, m.Bounds(), img, img.Bounds().Min, draw.Src)
	return m
}

func rgba(img *image.RGBA, x, y int) color.RGBA {
	i := img.PixOffset(x, y)
	p := img.Pix[i : i+4 : i+4]
	return color.RGBA{p[0], p[1], p[2], p[3]}
}

// columnCounts counts, per column, the pixels of exactly colour c.
func columnCounts(img *image.RGBA, c color.RGBA) []int {
	b := img.Bounds()
	counts := make([]int, b.Dx())
	want := [4]byte{c.R, c.G, c.B, c.A}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := img.Pix[img.PixOffset(b.Min.X, y) : img.PixOffset(b.Min.X, y)+4*b.Dx()]
		for x := range counts {
			if [4]byte(row[4*x:4*x+4]) == want {
				counts[x]++
			}
		}
	}
	return counts
}

// columnsOf returns the x of every column holding at least min pixels of
// exactly colour c.
func columnsOf(img *image.RGBA, c color.RGBA, min int) []int {
	var xs []int
	for x, n := range columnCounts(img, c) {
		if n >= min {
			xs = append(xs, img.Bounds().Min.X+x)
		}
	}
	return xs
}

// countOf counts the pixels of exactly colour c left and right of x.
func countOf(img *image.RGBA, c color.RGBA, x int) (left, right int) {
	for px, n := range columnCounts(img, c) {
		if img.Bounds().Min.X+px < x {
			left += n
		} else {
			right += n
		}
	}
	return left, right
}

// Markers are full plot-height lines (the alert's dashed, about 60%);
// nothing else in their colours comes near that many pixels in a column.
const (
	onsetTall = 150
	alertTall = 80
)

// early has the onset at minute 12 of the 60 (left half) and the alert at
// minute 48 (right half). Rendering is slow under the race detector, so
// tests share one render of it.
var (
	early       = chart.MetricOptions{Onset: t0.Add(12 * time.Minute), Alert: t0.Add(48 * time.Minute)}
	renderEarly = sync.OnceValues(func() ([]byte, error) { return chart.Metric(stepped(), early) })
)

func TestMetricMarkers(t *testing.T) {
	t.Parallel()
	t.Run("onset left, alert right", func(t *testing.T) {
		t.Parallel()
		b, err := renderEarly()
		if err != nil {
			t.Fatalf("Metric: %v", err)
		}
		img := decode(t, b)
		if got := img.Bounds().Size(); got != image.Pt(800, 360) {
			t.Errorf("size = %v, want 800x360", got)
		}
		onset := markerAt(t, img, "onset", onsetColour, onsetTall)
		alert := markerAt(t, img, "alert", alertColour, alertTall)
		if onset >= 400 {
			t.Errorf("onset marker at x=%d, want it in the left half", onset)
		}
		if alert < 400 {
			t.Errorf("alert marker at x=%d, want it in the right half", alert)
		}
		// The line is in the after colour only from the last point before
		// the onset (a minute, about 12 px, earlier) on.
		left, right := countOf(img, afterColour, onset-20)
		if left != 0 || right == 0 {
			t.Errorf("after-onset colour: %d pixels left and %d right of the marker; want 0 and >0", left, right)
		}
	})

	t.Run("no onset, alert after the data", func(t *testing.T) {
		t.Parallel()
		img := decode(t, render(t, stepped(), chart.MetricOptions{Alert: t0.Add(2 * time.Hour)}))
		if xs := columnsOf(img, onsetColour, onsetTall); len(xs) != 0 {
			t.Errorf("onset-coloured columns without an onset: %v", xs)
		}
		if _, n := countOf(img, afterColour, 0); n != 0 {
			t.Errorf("%d after-onset pixels without an onset", n)
		}
		// The axis widens to the alert, an hour after the last point.
		if x := markerAt(t, img, "alert", alertColour, alertTall); x < 700 {
			t.Errorf("alert marker at x=%d, want it near the right edge", x)
		}
	})
}

// markerAt returns the x of the one vertical line of colour c, failing the
// test unless there is exactly one, 1 to 3 pixels wide.
func markerAt(t *testing.T, img *image.RGBA, what string, c color.RGBA, tall int) int {
	t.Helper()
	xs := columnsOf(img, c, tall)
	if len(xs) == 0 || len(xs) > 3 || xs[len(xs)-1]-xs[0] > 2 {
		t.Fatalf("%s marker columns = %v, want one line 1-3 px wide", what, xs)
	}
	return xs[0]
}

func TestMetricIsDeterministic(t *testing.T) {
	t.Parallel()
	// Point order and non-finite values do not matter: the series reversed,
	// with NaN and ±Inf points added, renders the same bytes. Rendering it
	// alongside the shared render also checks concurrent renders for races.
	s := stepped()
	dirty := s
	dirty.Points = nil
	for i := len(s.Points) - 1; i >= 0; i-- {
		dirty.Points = append(dirty.Points, s.Points[i])
		if i%13 == 0 {
			dirty.Points = append(dirty.Points,
				engine.Point{T: s.Points[i].T.Add(30 * time.Second), V: math.NaN()},
				engine.Point{T: s.Points[i].T.Add(40 * time.Second), V: math.Inf(1 - 2*(i%2))})
		}
	}
	var (
		wg          sync.WaitGroup
		got, want   []byte
		gotE, wantE error
	)
	wg.Go(func() { got, gotE = chart.Metric(dirty, early) })
	wg.Go(func() { want, wantE = renderEarly() })
	wg.Wait()
	if gotE != nil || wantE != nil {
		t.Fatalf("Metric: %v, %v", gotE, wantE)
	}
	if !bytes.Equal(got, want) {
		t.Error("the same series, reordered and with NaN/Inf points, renders different bytes")
	}
}

func TestMetricEdgeCases(t *testing.T) {
	t.Parallel()
	onset := chart.MetricOptions{Onset: t0.Add(30 * time.Minute)}

	t.Run("empty series is an error", func(t *testing.T) {
		if _, err := chart.Metric(engine.Series{Name: "x"}, onset); err == nil {
			t.Error("Metric(empty) = nil error")
		}
	})

	t.Run("all non-finite is an error", func(t *testing.T) {
		s := engine.Series{Name: "x", Points: []engine.Point{{T: t0, V: math.NaN()}, {T: t0.Add(time.Minute), V: math.Inf(1)}}}
		if _, err := chart.Metric(s, onset); err == nil {
			t.Error("Metric(all NaN/Inf) = nil error")
		}
	})

	// One point is the extreme of a constant series: no time span and no
	// value span. (valueAxis' own test covers more constants.)
	t.Run("one point with long names", func(t *testing.T) {
		t.Parallel()
		long := strings.Repeat("very-long-resource-name/", 40)
		s := engine.Series{Resource: long, Name: long, Unit: long, Points: []engine.Point{{T: t0, V: 0}}}
		img := decode(t, render(t, s, chart.MetricOptions{Onset: t0}))
		if got := img.Bounds().Size(); got != image.Pt(800, 360) {
			t.Errorf("size = %v, want 800x360", got)
		}
		markerAt(t, img, "onset", onsetColour, onsetTall)
		// The point is drawn as a dot (in the after colour: it is at the onset).
		if _, n := countOf(img, afterColour, 0); n == 0 {
			t.Error("the single point is not drawn")
		}
		// The title is drawn from x=16 in the top 34 rows; the far right of
		// that band must stay background.
		for y := range 34 {
			for x := 790; x < 800; x++ {
				if c := rgba(img, x, y); c != (color.RGBA{0xFF, 0xFF, 0xFF, 0xFF}) {
					t.Fatalf("title runs off the edge: pixel (%d,%d) = %v", x, y, c)
				}
			}
		}
		// ... but it is drawn.
		if n, _ := countOf(img, color.RGBA{0x33, 0x33, 0x33, 0xFF}, 800); n == 0 {
			t.Error("no title text")
		}
	})
}
