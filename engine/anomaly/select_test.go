package anomaly

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestMedianInPlace(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for n := 1; n < 300; n++ {
		for rep := range 5 {
			v := make([]float64, n)
			for i := range v {
				switch rep {
				case 0:
					v[i] = r.NormFloat64()
				case 1:
					v[i] = float64(r.IntN(3)) // many ties
				case 2:
					v[i] = float64(i) // sorted
				case 3:
					v[i] = float64(n - i) // reversed
				default:
					v[i] = 5 // all equal
				}
			}
			s := slices.Clone(v)
			slices.Sort(s)
			if got, want := medianInPlace(v), medianSorted(s); got != want {
				t.Fatalf("n=%d rep=%d: median %v, want %v", n, rep, got, want)
			}
		}
	}
}
