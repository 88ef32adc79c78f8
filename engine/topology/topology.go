// Package topology is the resource graph of a space: services, workloads,
// databases, queues and the calls between them. The engine uses it for blast
// radius (who feels a failure), for correlation (are two alerting resources
// neighbours?) and for causal ranking (the most upstream anomalous resource),
// and chat shows a resource's neighbourhood from it as text or as a picture.
//
// An edge A → B means A calls or depends on B: edges point from caller to
// callee, the way SCENARIOS.md "depends_on" lists them. Incident talk uses
// "upstream" for both directions, so this package never does: Callees and
// Callers are the direct neighbours along and against the edges, Reachable
// follows either direction transitively, and BlastRadius is everything that
// transitively depends on a resource. Causes are usually found among callees,
// symptoms among callers.
//
// It is a leaf package: no I/O, no logging, no import of any other Nightshift
// package. It must not discover resources itself; providers build graphs and
// Merge combines them. A Graph is safe for concurrent use: reads share a
// read lock, writes take the write lock, and nothing returned aliases the
// graph's own memory.
package topology

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// Node is one resource. ID is unique in a graph; Type is free text (k8s.*,
// aws.* by convention); Name is what people call it.
type Node struct {
	ID     string
	Type   string
	Name   string
	Labels map[string]string
}

// Edge is a dependency: From calls or uses To.
type Edge struct {
	From, To string
}

// Direction says which way to follow edges.
type Direction int

// Directions for Reachable.
const (
	// Callees follows edges forward, to what a resource depends on.
	Callees Direction = 1 << iota
	// Callers follows edges backward, to what depends on a resource.
	Callers
	// Both ignores edge direction.
	Both = Callees | Callers
)

// String returns "callees", "callers" or "both".
func (d Direction) String() string {
	switch d {
	case Callees:
		return "callees"
	case Callers:
		return "callers"
	case Both:
		return "both"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// Hop is a resource found by a traversal and its distance in edges.
type Hop struct {
	ID   string
	Hops int
}

// Unlimited, as a depth, follows edges as far as they go.
const Unlimited = -1

// NeighbourHops is the largest undirected distance at which Neighbours
// still calls two resources neighbours: a shared caller or callee.
const NeighbourHops = 2

// Graph is a directed graph of resources. The zero value is an empty graph
// ready to use; so is New's. A Graph must not be copied after first use.
type Graph struct {
	mu      sync.RWMutex
	nodes   map[string]*node
	edges   int
	ignored int // AddNode/AddEdge calls with an empty ID
}

type node struct {
	Node
	declared bool     // added by AddNode, not only named by an edge
	out, in  []string // sorted, without duplicates
}

// New returns an empty graph.
func New() *Graph {
	return &Graph{nodes: make(map[string]*node)}
}

// AddNode adds n, or updates the node with its ID: a non-empty Type or Name
// replaces the old one and labels are merged key by key, so that an overlay
// (a static YAML file applied after discovery) only needs what it changes.
// A node with an empty ID is ignored and counted by Validate.
func (g *Graph) AddNode(n Node) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.addNode(n)
}

func (g *Graph) addNode(n Node) {
	if n.ID == "" {
		g.ignored++
		return
	}
	x := g.ensure(n.ID)
	x.declared = true
	if n.Type != "" {
		x.Type = n.Type
	}
	if n.Name != "" {
		x.Name = n.Name
	}
	if len(n.Labels) > 0 {
		if x.Labels == nil {
			x.Labels = make(map[string]string, len(n.Labels))
		}
		maps.Copy(x.Labels, n.Labels)
	}
}

func (g *Graph) ensure(id string) *node {
	if g.nodes == nil {
		g.nodes = make(map[string]*node)
	}
	x := g.nodes[id]
	if x == nil {
		x = &node{Node: Node{ID: id}}
		g.nodes[id] = x
	}
	return x
}

// AddEdge records that from calls or depends on to. An endpoint not yet in the
// graph is created as a bare node (ID only); Validate reports those. Adding an
// edge twice is a no-op; an empty endpoint is ignored and counted by Validate.
func (g *Graph) AddEdge(from, to string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.addEdge(from, to)
}

func (g *Graph) addEdge(from, to string) {
	if from == "" || to == "" {
		g.ignored++
		return
	}
	f, t := g.ensure(from), g.ensure(to)
	var added bool
	if f.out, added = insert(f.out, to); added {
		t.in, _ = insert(t.in, from)
		g.edges++
	}
}

// insert adds s to the sorted slice v unless present.
func insert(v []string, s string) ([]string, bool) {
	i, found := slices.BinarySearch(v, s)
	if found {
		return v, false
	}
	return slices.Insert(v, i, s), true
}

// Len returns the number of nodes, bare ones included.
func (g *Graph) Len() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.nodes)
}

// Node returns the node with the given ID. A bare node (only named by an
// edge) has only its ID.
func (g *Graph) Node(id string) (Node, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	x, ok := g.nodes[id]
	if !ok {
		return Node{}, false
	}
	return x.copy(), true
}

func (x *node) copy() Node {
	n := x.Node
	n.Labels = maps.Clone(x.Labels)
	return n
}

// Nodes returns every node, sorted by ID.
func (g *Graph) Nodes() []Node {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]Node, 0, len(g.nodes))
	for _, x := range g.nodes {
		out = append(out, x.copy())
	}
	slices.SortFunc(out, func(a, b Node) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Edges returns every edge, sorted by From then To.
func (g *Graph) Edges() []Edge {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.edgeList()
}

func (g *Graph) edgeList() []Edge {
	out := make([]Edge, 0, g.edges)
	for _, x := range g.nodes {
		for _, to := range x.out {
			out = append(out, Edge{x.ID, to})
		}
	}
	slices.SortFunc(out, compareEdges)
	return out
}

func compareEdges(a, b Edge) int {
	return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
}

// Callees returns what id directly calls or depends on (its dependencies),
// sorted; nil for an unknown id.
func (g *Graph) Callees(id string) []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if x := g.nodes[id]; x != nil {
		return slices.Clone(x.out)
	}
	return nil
}

// Callers returns what directly calls or depends on id (its dependents),
// sorted; nil for an unknown id.
func (g *Graph) Callers(id string) []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if x := g.nodes[id]; x != nil {
		return slices.Clone(x.in)
	}
	return nil
}

// Reachable returns the resources reachable from id in direction dir within
// depth edges (Unlimited, or any negative depth, for no limit), each with its
// shortest distance, sorted by distance then ID. id itself is left out, even
// on a cycle. Unknown ids and depth 0 give nil. The cost is proportional to
// what is found, not to the graph.
func (g *Graph) Reachable(id string, dir Direction, depth int) []Hop {
	g.mu.RLock()
	defer g.mu.RUnlock()
	dist := g.bfs(id, dir, depth)
	if len(dist) <= 1 {
		return nil
	}
	out := make([]Hop, 0, len(dist)-1)
	for n, d := range dist {
		if n != id {
			out = append(out, Hop{n, d})
		}
	}
	slices.SortFunc(out, func(a, b Hop) int { return cmp.Or(cmp.Compare(a.Hops, b.Hops), cmp.Compare(a.ID, b.ID)) })
	return out
}

// BlastRadius returns everything that transitively depends on id, nearest
// first: the resources that would feel its failure.
func (g *Graph) BlastRadius(id string) []Hop {
	return g.Reachable(id, Callers, Unlimited)
}

// bfs returns the distance of every node within depth of id (id at 0), or
// nil when id is unknown. The caller holds the read lock.
func (g *Graph) bfs(id string, dir Direction, depth int) map[string]int {
	if g.nodes[id] == nil {
		return nil
	}
	dist := map[string]int{id: 0}
	frontier := []string{id}
	for d := 1; len(frontier) > 0 && (depth < 0 || d <= depth); d++ {
		var next []string
		for _, n := range frontier {
			x := g.nodes[n]
			visit := func(adj []string) {
				for _, m := range adj {
					if _, seen := dist[m]; !seen {
						dist[m] = d
						next = append(next, m)
					}
				}
			}
			if dir&Callees != 0 {
				visit(x.out)
			}
			if dir&Callers != 0 {
				visit(x.in)
			}
		}
		frontier = next
	}
	return dist
}

// Neighbourhood returns the subgraph within depth edges of id in either
// direction: those nodes (with their types, names and labels) and every edge
// between them. It is a new graph; an unknown id gives an empty one.
// Unlimited depth gives id's whole connected component.
func (g *Graph) Neighbourhood(id string, depth int) *Graph {
	g.mu.RLock()
	defer g.mu.RUnlock()
	sub := New()
	for n := range g.bfs(id, Both, depth) {
		x := g.nodes[n]
		y := &node{Node: x.copy(), declared: x.declared}
		sub.nodes[n] = y
	}
	for n, y := range sub.nodes {
		for _, to := range g.nodes[n].out {
			if t := sub.nodes[to]; t != nil {
				y.out = append(y.out, to) // g's order is sorted already
				t.in = append(t.in, n)
				sub.edges++
			}
		}
	}
	for _, y := range sub.nodes {
		slices.Sort(y.in) // filled in map order
	}
	return sub
}

// Distance returns the length of the shortest path between a and b ignoring
// edge direction, if there is one of at most max edges. It searches from both
// ends at once, so the cost is that of two balls of radius max/2, not of the
// graph. Distance(a, a, max) is 0 for a known a.
func (g *Graph) Distance(a, b string, max int) (int, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.nodes[a] == nil || g.nodes[b] == nil || max < 0 {
		return 0, false
	}
	if a == b {
		return 0, true
	}
	da, db := map[string]int{a: 0}, map[string]int{b: 0}
	fa, fb := []string{a}, []string{b}
	depthA, depthB := 0, 0
	for len(fa) > 0 && len(fb) > 0 && depthA+depthB < max {
		// Grow the smaller side by one full level; the best meeting point
		// found in that level is the shortest path.
		grow, dist, other, depth := &fa, da, db, &depthA
		if len(fb) < len(fa) {
			grow, dist, other, depth = &fb, db, da, &depthB
		}
		*depth++
		best := -1
		var next []string
		for _, n := range *grow {
			x := g.nodes[n]
			for _, adj := range [2][]string{x.out, x.in} {
				for _, m := range adj {
					if _, seen := dist[m]; seen {
						continue
					}
					dist[m] = *depth
					next = append(next, m)
					if o, ok := other[m]; ok && (best < 0 || *depth+o < best) {
						best = *depth + o
					}
				}
			}
		}
		if best >= 0 {
			return best, best <= max
		}
		*grow = next
	}
	return 0, false
}

// Neighbours reports whether a and b are topology neighbours, within
// NeighbourHops edges in either direction, and how far apart they are.
// Alert correlation uses it.
func (g *Graph) Neighbours(a, b string) (hops int, ok bool) {
	return g.Distance(a, b, NeighbourHops)
}

// Merge adds every node and edge of other to g, with AddNode's rules: other's
// non-empty types, names and labels win. Bare nodes of other stay bare unless
// g declares them. other is read under its own lock, before g is locked, so
// two graphs may merge into each other concurrently.
func (g *Graph) Merge(other *Graph) {
	nodes, edges, ignored := other.snapshot()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, n := range nodes {
		if n.declared {
			g.addNode(n.Node)
		} else {
			g.ensure(n.ID)
		}
	}
	for _, e := range edges {
		g.addEdge(e.From, e.To)
	}
	g.ignored += ignored
}

type snapNode struct {
	Node
	declared bool
}

func (g *Graph) snapshot() ([]snapNode, []Edge, int) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	nodes := make([]snapNode, 0, len(g.nodes))
	for _, x := range g.nodes {
		nodes = append(nodes, snapNode{x.copy(), x.declared})
	}
	slices.SortFunc(nodes, func(a, b snapNode) int { return cmp.Compare(a.ID, b.ID) })
	return nodes, g.edgeList(), g.ignored
}

// ErrUndeclared is wrapped by Validate's error for every edge that names a
// node never added with AddNode.
var ErrUndeclared = errors.New("node not declared")

// Validate reports problems that lenient building tolerates: edges to or
// from nodes that were never declared with AddNode (one error per edge end,
// wrapping ErrUndeclared, in edge order) and AddNode or AddEdge calls with an
// empty ID. Call it when the graph comes from a source that should be
// complete, such as a YAML file; nil means no problem.
func (g *Graph) Validate() error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var errs []error
	for _, e := range g.edgeList() {
		for _, end := range [2]string{e.From, e.To} {
			if !g.nodes[end].declared {
				errs = append(errs, fmt.Errorf("edge %s → %s: %q: %w", e.From, e.To, end, ErrUndeclared))
			}
		}
	}
	if g.ignored > 0 {
		errs = append(errs, fmt.Errorf("%d nodes or edges with an empty id ignored", g.ignored))
	}
	return errors.Join(errs...)
}
