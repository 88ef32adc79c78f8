package chart

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	gochart "github.com/wcharczuk/go-chart/v2"
	"github.com/wcharczuk/go-chart/v2/drawing"

	"github.com/nightshift-ops/nightshift/engine"
)

// Layout of the neighbourhood picture, in pixels.
const (
	nbWidth      = 880
	nbMargin     = 16
	nbBoxWidth   = 230
	nbCenterW    = 260
	nbBoxHeight  = 24
	nbRowHeight  = 32
	nbTop        = 72 // top of the first row, under the title and headers
	nbMaxPerSide = 12
	nbFontSize   = 9.5
)

// Neighbourhood renders the one-hop topology around center as a PNG,
// 880 pixels wide and as tall as its longest column: center in the middle
// (highlighted), the resources that depend on it (edges To == center) in a
// column on the left with arrows into it, and the resources it depends on
// (edges From == center) on the right with arrows out of it. Each column is
// sorted by name, shows at most 12 boxes and then "+N more"; an empty side
// says "none". Names too long for a box lose their beginning
// ("…/deployment/checkout-api"), the end being the specific part. Edges
// that do not touch center, self-loops and duplicates are ignored.
//
// engine.Edge carries no kind, so arrows are unlabelled.
func Neighbourhood(center string, edges []engine.Edge) ([]byte, error) {
	if center == "" {
		return nil, errors.New("neighbourhood: empty center resource")
	}
	var dependents, dependencies []string
	for _, e := range edges {
		switch {
		case e.From == e.To:
		case e.To == center && e.From != "":
			dependents = append(dependents, e.From)
		case e.From == center && e.To != "":
			dependencies = append(dependencies, e.To)
		}
	}
	left, right := newColumn(dependents), newColumn(dependencies)

	rows := max(left.rows(), right.rows(), 3)
	height := nbTop + rows*nbRowHeight + nbMargin
	r, err := newRenderer(nbWidth, height)
	if err != nil {
		return nil, fmt.Errorf("neighbourhood: %w", err)
	}

	const prefix = "Topology around "
	r.SetFontSize(13)
	title := prefix + fitText(r, center, nbWidth-2*nbMargin-r.MeasureText(prefix).Width(), truncateHead)
	text(r, title, nbMargin, 26, 13, colourText)

	leftX := nbMargin
	rightX := nbWidth - nbMargin - nbBoxWidth
	centerX := (nbWidth - nbCenterW) / 2
	text(r, "used by ("+strconv.Itoa(left.total)+")", leftX, nbTop-12, nbFontSize, colourMuted)
	text(r, "depends on ("+strconv.Itoa(right.total)+")", rightX, nbTop-12, nbFontSize, colourMuted)

	// The center box grows with the busier side so arrow ends stay apart.
	busiest := max(len(left.names), len(right.names))
	centerH := min(max(40, busiest*10+12), rows*nbRowHeight-8)
	midY := nbTop + rows*nbRowHeight/2
	cb := gochart.Box{Left: centerX, Right: centerX + nbCenterW, Top: midY - centerH/2, Bottom: midY + centerH/2}
	rect(r, cb, colourCenterFill, colourCenterLine, 2)
	r.SetFontSize(11)
	name := fitText(r, center, nbCenterW-16, truncateHead)
	nb := measure(r, name, 11)
	text(r, name, cb.Left+(nbCenterW-nb.Width())/2, midY+nb.Height()/2, 11, colourText)

	// Dependents point into the center's left edge; the center points out
	// of its right edge to its dependencies.
	for i, y := range left.draw(r, leftX, rows) {
		end := spread(i, len(left.names), cb)
		arrow(r, leftX+nbBoxWidth, y, cb.Left, end)
	}
	for i, y := range right.draw(r, rightX, rows) {
		start := spread(i, len(right.names), cb)
		arrow(r, cb.Right, start, rightX, y)
	}

	var w gochart.ImageWriter
	if err := r.Save(&w); err != nil {
		return nil, fmt.Errorf("neighbourhood: render: %w", err)
	}
	img, err := w.Image()
	if err != nil {
		return nil, fmt.Errorf("neighbourhood: render: %w", err)
	}
	b, err := encode(img)
	if err != nil {
		return nil, fmt.Errorf("neighbourhood: %w", err)
	}
	return b, nil
}

// column is one side of the picture: the names shown and how many there
// were in all.
type column struct {
	names []string
	total int
}

// newColumn sorts and deduplicates names and keeps the first few.
func newColumn(names []string) column {
	slices.Sort(names)
	names = slices.Compact(names)
	c := column{names: names, total: len(names)}
	if len(c.names) > nbMaxPerSide {
		c.names = c.names[:nbMaxPerSide]
	}
	return c
}

// rows is the number of rows the column needs: a box per name, and one
// for "+N more" or "none".
func (c column) rows() int {
	if c.total == len(c.names) && c.total > 0 {
		return len(c.names)
	}
	return len(c.names) + 1
}

// draw draws the column's boxes at x, vertically centred in rows rows, and
// returns the y of each box's middle.
func (c column) draw(r gochart.Renderer, x, rows int) []int {
	top := nbTop + (rows-c.rows())*nbRowHeight/2
	mids := make([]int, 0, len(c.names))
	for i, name := range c.names {
		y := top + i*nbRowHeight + (nbRowHeight-nbBoxHeight)/2
		rect(r, gochart.Box{Left: x, Right: x + nbBoxWidth, Top: y, Bottom: y + nbBoxHeight}, colourBoxFill, colourBoxLine, 1)
		r.SetFontSize(nbFontSize)
		label := fitText(r, name, nbBoxWidth-12, truncateHead)
		b := measure(r, label, nbFontSize)
		text(r, label, x+6, y+nbBoxHeight/2+b.Height()/2, nbFontSize, colourText)
		mids = append(mids, y+nbBoxHeight/2)
	}
	note := ""
	switch {
	case c.total == 0:
		note = "none"
	case c.total > len(c.names):
		note = "+" + strconv.Itoa(c.total-len(c.names)) + " more"
	}
	if note != "" {
		y := top + len(c.names)*nbRowHeight + nbRowHeight/2
		b := measure(r, note, nbFontSize)
		text(r, note, x+6, y+b.Height()/2, nbFontSize, colourMuted)
	}
	return mids
}

// spread returns the y on the center box's side where the i-th of n
// arrows meets it, spaced evenly along the side.
func spread(i, n int, cb gochart.Box) int {
	mid := (cb.Top + cb.Bottom) / 2
	if n <= 1 {
		return mid
	}
	gap := float64(cb.Height()-12) / float64(n-1)
	return cb.Top + 6 + int(math.Round(float64(i)*gap))
}

// arrow draws a line from (x0, y0) to (x1, y1) with a filled head at the
// end.
func arrow(r gochart.Renderer, x0, y0, x1, y1 int) {
	const length, half = 8.0, 3.5
	dx, dy := float64(x1-x0), float64(y1-y0)
	d := math.Hypot(dx, dy)
	if d == 0 {
		return
	}
	ux, uy := dx/d, dy/d
	bx, by := float64(x1)-ux*length, float64(y1)-uy*length
	line(r, x0, y0, int(math.Round(bx)), int(math.Round(by)), 1.5, colourEdge, nil)
	r.SetFillColor(colourEdge)
	r.SetStrokeColor(drawing.Color{})
	r.MoveTo(x1, y1)
	r.LineTo(int(math.Round(bx-uy*half)), int(math.Round(by+ux*half)))
	r.LineTo(int(math.Round(bx+uy*half)), int(math.Round(by-ux*half)))
	r.Close()
	r.Fill()
}
