package chart_test

import (
	"bytes"
	"fmt"
	"image"
	"slices"
	"sync"
	"testing"

	"github.com/nightshift-ops/nightshift/bot/chart"
	"github.com/nightshift-ops/nightshift/engine"
)

const center = "k8s/prod/deployment/checkout-api"

func neighbourhood(t *testing.T, edges []engine.Edge) *image.RGBA {
	t.Helper()
	b, err := chart.Neighbourhood(center, edges)
	if err != nil {
		t.Fatalf("Neighbourhood: %v", err)
	}
	return decode(t, b)
}

// edges returns n edges into center (in) or out of it.
func edges(n int, in bool) []engine.Edge {
	var es []engine.Edge
	for i := range n {
		other := fmt.Sprintf("svc-%02d", i)
		if in {
			es = append(es, engine.Edge{From: other, To: center})
		} else {
			es = append(es, engine.Edge{From: center, To: other})
		}
	}
	return es
}

// ink counts the non-background pixels in columns [x0, x1) below the title.
func ink(img *image.RGBA, x0, x1 int) int {
	n := 0
	for y := 40; y < img.Bounds().Max.Y; y++ {
		for x := x0; x < x1; x++ {
			if c := rgba(img, x, y); c.R < 0xF0 || c.G < 0xF0 || c.B < 0xF0 {
				n++
			}
		}
	}
	return n
}

// busy has 40 dependents and 2 dependencies, plus edges the picture
// ignores; tests share one render of it.
var (
	busy = append(append(edges(40, true), edges(2, false)...),
		engine.Edge{From: "svc-01", To: center}, // duplicate
		engine.Edge{From: center, To: center},   // self-loop
		engine.Edge{From: "a", To: "b"},         // not touching center
	)
	renderBusy = sync.OnceValues(func() ([]byte, error) { return chart.Neighbourhood(center, busy) })
)

func busyImage(t *testing.T) *image.RGBA {
	t.Helper()
	b, err := renderBusy()
	if err != nil {
		t.Fatalf("Neighbourhood: %v", err)
	}
	return decode(t, b)
}

func TestNeighbourhoodSides(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		img         func(t *testing.T) *image.RGBA
		leftHeavier bool
	}{
		{"dependents go left", busyImage, true},
		{"dependencies go right", func(t *testing.T) *image.RGBA {
			return neighbourhood(t, append(edges(1, true), edges(13, false)...))
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			img := tc.img(t)
			if w := img.Bounds().Dx(); w != 880 {
				t.Errorf("width = %d, want 880", w)
			}
			// The side columns are 230 px wide from either margin.
			left, right := ink(img, 0, 260), ink(img, 620, 880)
			if (left > right) != tc.leftHeavier || left == right {
				t.Errorf("ink left %d, right %d; want the %s side heavier", left, right,
					map[bool]string{true: "left", false: "right"}[tc.leftHeavier])
			}
			// Either way the busier side is capped at 12 boxes and "+N more".
			if h, want := img.Bounds().Dy(), busyImage(t).Bounds().Dy(); h != want {
				t.Errorf("height = %d, want %d like any capped column", h, want)
			}
		})
	}
}

func TestNeighbourhoodIsDeterministic(t *testing.T) {
	t.Parallel()
	// Same picture whatever the edge order, and without the ignored edges.
	clean := slices.Clone(busy[:42])
	slices.Reverse(clean)
	var (
		wg          sync.WaitGroup
		got, want   []byte
		gotE, wantE error
	)
	wg.Go(func() { got, gotE = chart.Neighbourhood(center, clean) })
	wg.Go(func() { want, wantE = renderBusy() })
	wg.Wait()
	if gotE != nil || wantE != nil {
		t.Fatalf("Neighbourhood: %v, %v", gotE, wantE)
	}
	if !bytes.Equal(got, want) {
		t.Error("reordered edges without duplicates and strays render differently")
	}
}

func TestNeighbourhoodEdgeCases(t *testing.T) {
	t.Parallel()
	if _, err := chart.Neighbourhood("", edges(2, true)); err == nil {
		t.Error("Neighbourhood(empty center) = nil error")
	}
	t.Run("no edges", func(t *testing.T) {
		t.Parallel()
		img := neighbourhood(t, nil)
		if img.Bounds().Dx() != 880 || img.Bounds().Dy() < 100 {
			t.Errorf("size = %v", img.Bounds().Size())
		}
		if h := busyImage(t).Bounds().Dy(); img.Bounds().Dy() >= h {
			t.Errorf("height %d with no edges, %d with 40 dependents; want it to grow", img.Bounds().Dy(), h)
		}
	})
}
