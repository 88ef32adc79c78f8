// Package chart renders small pictures for chat threads as PNG bytes: a line
// chart of the metric that shows an incident (Metric, with KeySeries to pick
// that metric) and a resource's topology neighbourhood (Neighbourhood).
//
// Drawing uses github.com/wcharczuk/go-chart/v2, the widely used, pure-Go
// charting library: it needs no cgo and no system fonts (Roboto is
// embedded), rasterises to PNG deterministically, and exposes both
// ready-made time-series charts with axes and the low-level Renderer
// primitives (paths, boxes, text measurement) the neighbourhood picture is
// drawn with, so every picture shares one font and one look.
//
// Every function is pure: the same input gives the same bytes, there is no
// I/O and no clock. Times are shown in UTC.
package chart

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/png"
	"sync"
	"unicode/utf8"

	gochart "github.com/wcharczuk/go-chart/v2"
	"github.com/wcharczuk/go-chart/v2/drawing"
)

// font returns the embedded Roboto font, parsed once. go-chart caches its
// default font behind an unsynchronised check, so the first parse is
// funnelled through a sync.OnceValues here; the parsed font is read-only
// and shared by every render.
var font = sync.OnceValues(gochart.GetDefaultFont)

// Colours shared by the pictures. Markers and the line after the onset are
// distinct colours so a reader (and a test) can tell them apart.
var (
	colourBackground  = drawing.ColorWhite
	colourText        = drawing.ColorFromHex("333333")
	colourMuted       = drawing.ColorFromHex("777777")
	colourAxis        = drawing.ColorFromHex("999999")
	colourGrid        = drawing.ColorFromHex("E6E6E6")
	colourBefore      = drawing.ColorFromHex("1F77B4") // line before the onset
	colourAfter       = drawing.ColorFromHex("E4572E") // line after the onset
	colourShade       = drawing.Color{R: 0xE4, G: 0x57, B: 0x2E, A: 0x1A}
	colourOnset       = drawing.ColorFromHex("B00020") // onset marker
	colourAlert       = drawing.ColorFromHex("7B3FBF") // alert marker
	colourLabelGround = drawing.Color{R: 0xFF, G: 0xFF, B: 0xFF, A: 0xD8}
	colourBoxFill     = drawing.ColorFromHex("F3F6FA")
	colourBoxLine     = drawing.ColorFromHex("8AA1B9")
	colourCenterFill  = drawing.ColorFromHex("FFF1E6")
	colourCenterLine  = drawing.ColorFromHex("E4572E")
	colourEdge        = drawing.ColorFromHex("8A8A8A")
)

// ellipsis marks cut text; Roboto has the glyph.
const ellipsis = "…"

// truncate shortens s to at most n runes, ending with an ellipsis when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return ellipsis
	}
	r := []rune(s)
	return string(r[:n-1]) + ellipsis
}

// truncateHead is truncate keeping the end of s instead: the specific part
// of a resource path ("…/deployment/checkout-api").
func truncateHead(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return ellipsis
	}
	r := []rune(s)
	return ellipsis + string(r[len(r)-n+1:])
}

// fitText shortens s with cut (truncate or truncateHead) until it is at
// most width pixels wide in the renderer's current font settings.
func fitText(r gochart.Renderer, s string, width int, cut func(string, int) string) string {
	if r.MeasureText(s).Width() <= width {
		return s
	}
	// Binary search on the rune count: text width grows with it.
	lo, hi := 1, utf8.RuneCountInString(s) // lo is accepted (a bare ellipsis), hi does not fit
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if r.MeasureText(cut(s, mid)).Width() <= width {
			lo = mid
		} else {
			hi = mid
		}
	}
	return cut(s, lo)
}

// newRenderer returns a PNG renderer of the given size with a white
// background and the shared font set.
func newRenderer(width, height int) (gochart.Renderer, error) {
	f, err := font()
	if err != nil {
		return nil, fmt.Errorf("load font: %w", err)
	}
	r, err := gochart.PNG(width, height)
	if err != nil {
		return nil, fmt.Errorf("create canvas: %w", err)
	}
	r.SetDPI(gochart.DefaultDPI)
	rect(r, gochart.Box{Right: width, Bottom: height}, colourBackground, drawing.Color{}, 0)
	r.SetFont(f)
	return r, nil
}

// rect fills a box and strokes its outline when the stroke colour is set.
// Unlike gochart.Draw.Box it leaves the renderer's font alone.
func rect(r gochart.Renderer, b gochart.Box, fill, stroke drawing.Color, width float64) {
	r.SetFillColor(fill)
	r.SetStrokeColor(stroke)
	r.SetStrokeWidth(width)
	r.SetStrokeDashArray(nil)
	r.MoveTo(b.Left, b.Top)
	r.LineTo(b.Right, b.Top)
	r.LineTo(b.Right, b.Bottom)
	r.LineTo(b.Left, b.Bottom)
	r.Close()
	if stroke.IsZero() || width <= 0 {
		r.Fill()
		return
	}
	r.FillStroke()
}

// chartPalette holds the charts' own colours exactly (so markers keep
// their colour), the shade over white, a grey ramp for text and
// antialiasing, and the web-safe colours for the rest.
var chartPalette = func() color.Palette {
	p := color.Palette{}
	for _, c := range []drawing.Color{colourBackground, colourText, colourMuted, colourAxis, colourGrid, colourBefore,
		colourAfter, colourOnset, colourAlert, colourBoxFill, colourBoxLine, colourCenterFill, colourCenterLine, colourEdge} {
		p = append(p, color.RGBA{R: c.R, G: c.G, B: c.B, A: 255})
	}
	over := func(c drawing.Color) color.RGBA {
		a := float64(c.A) / 255
		mix := func(v uint8) uint8 { return uint8(255*(1-a) + float64(v)*a + 0.5) }
		return color.RGBA{R: mix(c.R), G: mix(c.G), B: mix(c.B), A: 255}
	}
	p = append(p, over(colourShade))
	for i := 0; i < 16; i++ {
		v := uint8(i * 17)
		p = append(p, color.RGBA{R: v, G: v, B: v, A: 255})
	}
	return append(p, palette.WebSafe...)[:min(256, len(p)+len(palette.WebSafe))]
}()

// encode writes img as an 8-bit paletted PNG (chartPalette, no
// dithering): the charts use a handful of flat colours, and a paletted
// image is about a third of the size, which keeps a chart inside Teams'
// ~28 KB message limit as an inline image. BestSpeed: the default level
// costs twice the time of the drawing for little gain once paletted.
func encode(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	pal := image.NewPaletted(img.Bounds(), chartPalette)
	draw.Draw(pal, img.Bounds(), img, img.Bounds().Min, draw.Src)
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, pal); err != nil {
		return nil, fmt.Errorf("encode PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// text draws s with its baseline at (x, y).
func text(r gochart.Renderer, s string, x, y int, size float64, c drawing.Color) {
	r.SetFontSize(size)
	r.SetFontColor(c)
	r.Text(s, x, y)
}

// measure returns the size of s at the given font size.
func measure(r gochart.Renderer, s string, size float64) gochart.Box {
	r.SetFontSize(size)
	return r.MeasureText(s)
}

// line strokes a straight line.
func line(r gochart.Renderer, x0, y0, x1, y1 int, width float64, c drawing.Color, dash []float64) {
	r.SetStrokeColor(c)
	r.SetStrokeWidth(width)
	r.SetStrokeDashArray(dash)
	r.MoveTo(x0, y0)
	r.LineTo(x1, y1)
	r.Stroke()
	r.SetStrokeDashArray(nil)
}
