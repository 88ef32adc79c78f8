package topology

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// layered builds a service graph of n nodes in layers of 100 (front ends
// call services call data stores ...), each node calling three nodes of the
// next layer, plus a few hubs (shared caches) that many call.
func layered(n int) *Graph {
	r := rand.New(rand.NewPCG(uint64(n), 1))
	g := New()
	id := func(i int) string { return fmt.Sprintf("res/%06d", i) }
	for i := range n {
		g.AddNode(Node{ID: id(i), Type: "k8s.deployment", Name: id(i)})
	}
	const width = 100
	for i := range n - width {
		layer := i / width
		for range 3 {
			j := (layer+1)*width + r.IntN(width)
			if j < n {
				g.AddEdge(id(i), id(j))
			}
		}
		if r.IntN(10) == 0 {
			g.AddEdge(id(i), id(n-1-r.IntN(5))) // hubs
		}
	}
	return g
}

func BenchmarkNeighbours(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		g := layered(n)
		r := rand.New(rand.NewPCG(9, 9))
		pairs := make([][2]string, 256)
		for i := range pairs {
			a := r.IntN(n - 200)
			pairs[i] = [2]string{fmt.Sprintf("res/%06d", a), fmt.Sprintf("res/%06d", a+100+r.IntN(100))}
		}
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				p := pairs[i%len(pairs)]
				g.Neighbours(p[0], p[1])
				i++
			}
		})
	}
}

func BenchmarkNeighbourhood(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		g := layered(n)
		id := fmt.Sprintf("res/%06d", n/2)
		b.Run(fmt.Sprintf("nodes=%d/depth=2", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				g.Neighbourhood(id, 2)
			}
		})
	}
}

func BenchmarkBlastRadius(b *testing.B) {
	g := layered(10_000)
	b.ReportAllocs()
	for b.Loop() {
		g.BlastRadius("res/000550")
	}
}
