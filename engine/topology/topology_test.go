package topology

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// retail is the demo's retail store: ui → catalog → catalog-db,
// ui → cart → carts-table, ui → checkout → checkout-redis,
// checkout → orders → orders-db, orders → orders-queue.
func retail() *Graph {
	g := New()
	for _, n := range retailNodes() {
		g.AddNode(n)
	}
	for _, e := range retailEdges() {
		g.AddEdge(e.From, e.To)
	}
	return g
}

func retailNodes() []Node {
	dep := func(name string) Node {
		return Node{ID: "k8s/retail/" + name, Type: "k8s.deployment", Name: name, Labels: map[string]string{"service": name}}
	}
	return []Node{
		dep("ui"), dep("catalog"), dep("cart"), dep("checkout"), dep("orders"),
		{ID: "aws/rds/catalog-db", Type: "aws.rds", Name: "catalog-db"},
		{ID: "aws/dynamodb/carts-table", Type: "aws.dynamodb", Name: "carts-table"},
		{ID: "aws/elasticache/checkout-redis", Type: "aws.elasticache", Name: "checkout-redis"},
		{ID: "aws/rds/orders-db", Type: "aws.rds", Name: "orders-db"},
		{ID: "aws/sqs/orders-queue", Type: "aws.sqs", Name: "orders-queue"},
	}
}

const (
	ui       = "k8s/retail/ui"
	catalog  = "k8s/retail/catalog"
	cart     = "k8s/retail/cart"
	checkout = "k8s/retail/checkout"
	orders   = "k8s/retail/orders"
	catDB    = "aws/rds/catalog-db"
	carts    = "aws/dynamodb/carts-table"
	redis    = "aws/elasticache/checkout-redis"
	ordersDB = "aws/rds/orders-db"
	queue    = "aws/sqs/orders-queue"
)

func retailEdges() []Edge {
	return []Edge{
		{ui, catalog}, {catalog, catDB},
		{ui, cart}, {cart, carts},
		{ui, checkout}, {checkout, redis},
		{checkout, orders}, {orders, ordersDB}, {orders, queue},
	}
}

func TestDirectNeighbours(t *testing.T) {
	g := retail()
	tests := []struct {
		id               string
		callees, callers []string
	}{
		{ui, []string{cart, catalog, checkout}, []string{}},
		{checkout, []string{redis, orders}, []string{ui}},
		{orders, []string{ordersDB, queue}, []string{checkout}},
		{ordersDB, []string{}, []string{orders}},
		{"nope", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if diff := cmp.Diff(g.Callees(tt.id), tt.callees, emptyIsNil()); diff != "" {
				t.Errorf("Callees (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(g.Callers(tt.id), tt.callers, emptyIsNil()); diff != "" {
				t.Errorf("Callers (-got +want):\n%s", diff)
			}
		})
	}
}

// emptyIsNil treats nil and empty slices alike where only content matters.
func emptyIsNil() cmp.Option {
	return cmp.FilterValues(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore())
}

func TestReachable(t *testing.T) {
	g := retail()
	tests := []struct {
		name  string
		id    string
		dir   Direction
		depth int
		want  []Hop
	}{
		{"callees of checkout, 1 hop", checkout, Callees, 1, []Hop{{redis, 1}, {orders, 1}}},
		{"callees of checkout, all", checkout, Callees, Unlimited, []Hop{{redis, 1}, {orders, 1}, {ordersDB, 2}, {queue, 2}}},
		{"callees of ui, 2 hops", ui, Callees, 2, []Hop{
			{cart, 1}, {catalog, 1}, {checkout, 1},
			{carts, 2}, {redis, 2}, {catDB, 2}, {orders, 2}}},
		{"callers of orders-queue, all", queue, Callers, Unlimited, []Hop{{orders, 1}, {checkout, 2}, {ui, 3}}},
		{"callers of orders-queue, 2 hops", queue, Callers, 2, []Hop{{orders, 1}, {checkout, 2}}},
		{"both ways from cart, 2 hops", cart, Both, 2, []Hop{{carts, 1}, {ui, 1}, {catalog, 2}, {checkout, 2}}},
		{"depth 0", ui, Callees, 0, nil},
		{"leaf has no callees", catDB, Callees, Unlimited, nil},
		{"unknown id", "nope", Both, Unlimited, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(g.Reachable(tt.id, tt.dir, tt.depth), tt.want); diff != "" {
				t.Errorf("Reachable(%s, %v, %d) (-got +want):\n%s", tt.id, tt.dir, tt.depth, diff)
			}
		})
	}
}

func TestBlastRadius(t *testing.T) {
	g := retail()
	if diff := cmp.Diff(g.BlastRadius(ordersDB), []Hop{{orders, 1}, {checkout, 2}, {ui, 3}}); diff != "" {
		t.Errorf("BlastRadius(orders-db) (-got +want):\n%s", diff)
	}
	if got := g.BlastRadius(ui); got != nil {
		t.Errorf("BlastRadius(ui) = %v, want nothing: nobody calls the front end", got)
	}
}

func TestCycles(t *testing.T) {
	g := New()
	g.AddEdge("a", "b")
	g.AddEdge("b", "c")
	g.AddEdge("c", "a")
	g.AddEdge("c", "c") // self-loop
	g.AddEdge("c", "d")

	if diff := cmp.Diff(g.Reachable("a", Callees, Unlimited), []Hop{{"b", 1}, {"c", 2}, {"d", 3}}); diff != "" {
		t.Errorf("Reachable(a) (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(g.BlastRadius("a"), []Hop{{"c", 1}, {"b", 2}}); diff != "" {
		t.Errorf("BlastRadius(a) (-got +want):\n%s", diff)
	}
	if hops, ok := g.Distance("a", "d", 5); !ok || hops != 2 {
		t.Errorf("Distance(a, d) = %d, %v; want 2 via c", hops, ok)
	}
	sub := g.Neighbourhood("a", Unlimited)
	if diff := cmp.Diff(sub.Edges(), g.Edges()); diff != "" {
		t.Errorf("Neighbourhood(a, unlimited) edges (-got +want):\n%s", diff)
	}
	want := "a\n" +
		"├─ calls\n" +
		"│  └─ b\n" +
		"│     └─ c\n" +
		"│        ├─ a (cycle)\n" +
		"│        ├─ c (cycle)\n" +
		"│        └─ d\n" +
		"└─ called by\n" +
		"   └─ c\n" +
		"      ├─ b\n" +
		"      │  └─ a (cycle)\n" +
		"      └─ c (cycle)\n"
	if diff := cmp.Diff(g.Render("a"), want); diff != "" {
		t.Errorf("Render(a) (-got +want):\n%s", diff)
	}
}

func TestNeighbourhood(t *testing.T) {
	g := retail()
	tests := []struct {
		name  string
		id    string
		depth int
		nodes []string
		edges []Edge
	}{
		{"checkout, 1 hop", checkout, 1,
			[]string{redis, checkout, orders, ui},
			[]Edge{{checkout, redis}, {checkout, orders}, {ui, checkout}}},
		{"checkout, 2 hops", checkout, 2,
			[]string{redis, ordersDB, queue, cart, catalog, checkout, orders, ui},
			[]Edge{{checkout, redis}, {checkout, orders}, {orders, ordersDB}, {orders, queue}, {ui, cart}, {ui, catalog}, {ui, checkout}}},
		{"depth 0", orders, 0, []string{orders}, []Edge{}},
		{"unknown", "nope", 3, []string{}, []Edge{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := g.Neighbourhood(tt.id, tt.depth)
			var ids []string
			for _, n := range sub.Nodes() {
				ids = append(ids, n.ID)
			}
			if diff := cmp.Diff(ids, tt.nodes, emptyIsNil()); diff != "" {
				t.Errorf("nodes (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(sub.Edges(), tt.edges); diff != "" {
				t.Errorf("edges (-got +want):\n%s", diff)
			}
			for _, n := range sub.Nodes() {
				orig, _ := g.Node(n.ID)
				if diff := cmp.Diff(n, orig); diff != "" {
					t.Errorf("node %s not copied whole (-got +want):\n%s", n.ID, diff)
				}
				if diff := cmp.Diff(sub.Callers(n.ID), intersect(g.Callers(n.ID), sub), emptyIsNil()); diff != "" {
					t.Errorf("Callers(%s) in subgraph (-got +want):\n%s", n.ID, diff)
				}
			}
			if err := sub.Validate(); err != nil {
				t.Errorf("subgraph of a valid graph: %v", err)
			}
		})
	}
	sub := g.Neighbourhood(checkout, 1)
	sub.AddEdge(checkout, "new")
	if got := g.Callees(checkout); len(got) != 2 {
		t.Errorf("editing the subgraph changed the graph: callees %v", got)
	}
}

func intersect(ids []string, g *Graph) []string {
	var out []string
	for _, id := range ids {
		if _, ok := g.Node(id); ok {
			out = append(out, id)
		}
	}
	return out
}

func TestNeighbours(t *testing.T) {
	g := retail()
	tests := []struct {
		a, b string
		hops int
		ok   bool
	}{
		{catalog, cart, 2, true},      // siblings under ui
		{orders, checkout, 1, true},   // caller and callee
		{ordersDB, queue, 2, true},    // share orders
		{catalog, ordersDB, 0, false}, // catalog-ui-checkout-orders-orders-db: 4
		{catDB, cart, 0, false},       // 3 hops
		{ui, ui, 0, true},
		{ui, "nope", 0, false},
		{"nope", "nope", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.a+"~"+tt.b, func(t *testing.T) {
			hops, ok := g.Neighbours(tt.a, tt.b)
			if hops != tt.hops || ok != tt.ok {
				t.Errorf("Neighbours = %d, %v; want %d, %v", hops, ok, tt.hops, tt.ok)
			}
			if rh, rok := g.Neighbours(tt.b, tt.a); rh != hops || rok != ok {
				t.Errorf("not symmetric: reversed gives %d, %v", rh, rok)
			}
		})
	}
	if hops, ok := g.Distance(catDB, queue, 10); !ok || hops != 5 {
		t.Errorf("Distance(catalog-db, orders-queue) = %d, %v; want 5", hops, ok)
	}
	if _, ok := g.Distance(catDB, queue, 4); ok {
		t.Error("Distance with max 4 found a 5-hop path")
	}
	if _, ok := g.Distance(ui, cart, -1); ok {
		t.Error("negative max found a path")
	}
}

// TestDistanceMatchesBFS checks the two-ended search against a plain
// breadth-first search on random graphs.
func TestDistanceMatchesBFS(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		g := New()
		n := 5 + r.IntN(40)
		for range n + r.IntN(2*n) {
			g.AddEdge(fmt.Sprint(r.IntN(n)), fmt.Sprint(r.IntN(n)))
		}
		for range 40 {
			a, b := fmt.Sprint(r.IntN(n)), fmt.Sprint(r.IntN(n))
			max := r.IntN(6)
			want, wantOK := -1, false
			if _, known := g.Node(a); known {
				for _, h := range append([]Hop{{a, 0}}, g.Reachable(a, Both, max)...) {
					if h.ID == b {
						want, wantOK = h.Hops, true
					}
				}
			}
			got, ok := g.Distance(a, b, max)
			if ok != wantOK || ok && got != want {
				t.Fatalf("round %d: Distance(%s, %s, %d) = %d, %v; want %d, %v", round, a, b, max, got, ok, want, wantOK)
			}
		}
	}
}

func TestAddNodeMerges(t *testing.T) {
	var g Graph                // the zero value is usable
	g.AddEdge("svc/a", "db/b") // bare nodes first
	g.AddNode(Node{ID: "svc/a", Type: "k8s.deployment", Name: "a", Labels: map[string]string{"team": "x", "tier": "web"}})
	g.AddNode(Node{ID: "svc/a", Labels: map[string]string{"tier": "api"}}) // overlay: only what changes
	got, ok := g.Node("svc/a")
	want := Node{ID: "svc/a", Type: "k8s.deployment", Name: "a", Labels: map[string]string{"team": "x", "tier": "api"}}
	if diff := cmp.Diff(got, want); !ok || diff != "" {
		t.Errorf("Node(svc/a) (-got +want):\n%s", diff)
	}
	got.Labels["team"] = "changed"
	if again, _ := g.Node("svc/a"); again.Labels["team"] != "x" {
		t.Error("a returned node shares its labels with the graph")
	}
	if bare, ok := g.Node("db/b"); !ok || bare.ID != "db/b" || bare.Name != "" {
		t.Errorf("bare node = %+v, %v", bare, ok)
	}
	g.AddEdge("svc/a", "db/b") // duplicate
	if n := len(g.Edges()); n != 1 {
		t.Errorf("duplicate edge stored: %d edges", n)
	}
	if _, ok := g.Node("nope"); ok {
		t.Error("unknown node found")
	}
}

func TestMerge(t *testing.T) {
	g := retail()
	overlay := New()
	overlay.AddNode(Node{ID: checkout, Labels: map[string]string{"owner": "payments-team"}})
	overlay.AddNode(Node{ID: "ext/payment-gateway", Type: "external", Name: "payment-gateway"})
	overlay.AddEdge(checkout, "ext/payment-gateway")
	overlay.AddEdge("ext/payment-gateway", "ext/undeclared")
	g.Merge(overlay)
	g.Merge(g) // merging with itself changes nothing

	n, _ := g.Node(checkout)
	if diff := cmp.Diff(n, Node{ID: checkout, Type: "k8s.deployment", Name: "checkout",
		Labels: map[string]string{"service": "checkout", "owner": "payments-team"}}); diff != "" {
		t.Errorf("merged node (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(g.Callees(checkout), []string{redis, "ext/payment-gateway", orders}); diff != "" {
		t.Errorf("merged callees (-got +want):\n%s", diff)
	}
	if got := g.Len(); got != 12 {
		t.Errorf("Len = %d, want 12", got)
	}
	err := g.Validate()
	if !errors.Is(err, ErrUndeclared) || !strings.Contains(err.Error(), `"ext/undeclared"`) {
		t.Errorf("Validate = %v, want the undeclared node reported", err)
	}
}

func TestValidate(t *testing.T) {
	if err := retail().Validate(); err != nil {
		t.Fatalf("retail graph: %v", err)
	}
	g := retail()
	g.AddEdge(orders, "aws/s3/invoices")
	g.AddEdge("", orders)
	g.AddNode(Node{Name: "no id"})
	err := g.Validate()
	want := "edge k8s/retail/orders → aws/s3/invoices: \"aws/s3/invoices\": node not declared\n" +
		"2 nodes or edges with an empty id ignored"
	if err == nil || err.Error() != want {
		t.Errorf("Validate =\n%v\nwant\n%s", err, want)
	}
}

// TestDeterministic builds the same graph in many insertion orders: every
// output must be byte-identical.
func TestDeterministic(t *testing.T) {
	ref := retail()
	wantNodes, wantEdges := ref.Nodes(), ref.Edges()
	wantText, wantDOT := ref.Neighbourhood(checkout, 2).Render(checkout), ref.DOT(checkout)
	wantAll := ref.Render("")
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		nodes, edges := retailNodes(), retailEdges()
		r.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
		r.Shuffle(len(edges), func(i, j int) { edges[i], edges[j] = edges[j], edges[i] })
		g := New()
		for i := range max(len(nodes), len(edges)) { // interleave nodes and edges
			if i < len(edges) {
				g.AddEdge(edges[i].From, edges[i].To)
			}
			if i < len(nodes) {
				g.AddNode(nodes[i])
			}
		}
		if diff := cmp.Diff(g.Nodes(), wantNodes); diff != "" {
			t.Fatalf("Nodes differ (-got +want):\n%s", diff)
		}
		if diff := cmp.Diff(g.Edges(), wantEdges); diff != "" {
			t.Fatalf("Edges differ (-got +want):\n%s", diff)
		}
		if got := g.Neighbourhood(checkout, 2).Render(checkout); got != wantText {
			t.Fatalf("Render differs:\n%s\nwant\n%s", got, wantText)
		}
		if got := g.Render(""); got != wantAll {
			t.Fatalf("Render(\"\") differs:\n%s\nwant\n%s", got, wantAll)
		}
		if got := g.DOT(checkout); got != wantDOT {
			t.Fatalf("DOT differs:\n%s\nwant\n%s", got, wantDOT)
		}
	}
}

func TestRenderGolden(t *testing.T) {
	g := retail()
	g.AddNode(Node{ID: "aws/rds/catalog-db-replica", Type: "aws.rds", Name: "catalog-db"}) // shares a name: shown by ID
	g.AddEdge(catalog, "aws/rds/catalog-db-replica")
	g.AddEdge(orders, "ext/unknown") // bare node
	tests := []struct {
		file string
		got  string
	}{
		{"checkout-2hops.txt", g.Neighbourhood(checkout, 2).Render(checkout)},
		{"orders-db-3hops.txt", g.Neighbourhood(ordersDB, 3).Render(ordersDB)},
		{"whole.txt", g.Render("")},
		{"checkout-2hops.dot", g.Neighbourhood(checkout, 2).DOT(checkout)},
		{"whole.dot", g.DOT("")},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(path, []byte(tt.got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if diff := cmp.Diff(tt.got, string(want)); diff != "" {
				t.Errorf("%s (-got +want):\n%s", tt.file, diff)
			}
		})
	}
}

func TestDOTQuoting(t *testing.T) {
	g := New()
	g.AddNode(Node{ID: `we"ird\id`, Name: "two\nlines", Type: "t"})
	g.AddEdge(`we"ird\id`, "b")
	want := "digraph topology {\n" +
		"\trankdir=LR;\n" +
		"\tnode [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=10];\n" +
		"\t\"b\" [label=\"b\", style=\"rounded,dashed\"];\n" +
		"\t\"we\\\"ird\\\\id\" [label=\"two\\nlines\\nt\", tooltip=\"we\\\"ird\\\\id\"];\n" +
		"\t\"we\\\"ird\\\\id\" -> \"b\";\n" +
		"}\n"
	if diff := cmp.Diff(g.DOT(""), want); diff != "" {
		t.Errorf("DOT (-got +want):\n%s", diff)
	}
}

func TestDirectionString(t *testing.T) {
	for d, want := range map[Direction]string{Callees: "callees", Callers: "callers", Both: "both", 0: "Direction(0)"} {
		if got := d.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(d), got, want)
		}
	}
}

// TestConcurrentUse runs writers, readers and merges at once; run with -race.
func TestConcurrentUse(t *testing.T) {
	g := retail()
	other := retail()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				id := fmt.Sprintf("svc/%d-%d", w, i)
				g.AddNode(Node{ID: id, Name: id})
				g.AddEdge(id, orders)
				other.AddEdge(checkout, id)
			}
		})
		wg.Go(func() {
			for range 50 {
				g.BlastRadius(ordersDB)
				g.Neighbours(catalog, cart)
				g.Neighbourhood(redis, 1).Render(redis)
				g.Neighbourhood(carts, 2).DOT(carts)
				g.Nodes()
				_ = g.Validate()
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			g.Merge(other)
			other.Merge(g)
		}
	})
	wg.Wait()
	if got := len(g.Callers(orders)); got != 801 {
		t.Errorf("orders has %d callers, want 801", got)
	}
}
