package topology

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Render returns a compact text picture of g for chat, meant for a
// monospaced block. With a focus resource in g it draws two trees from it,
// what it calls and what calls it (each node expanded once; repeats are
// marked "(see above)", loops "(cycle)"), then lists the other edges of g.
// Without one (focus "" or unknown) it lists every caller with the nodes it
// calls, and nodes without any edge. Nodes show their name (their ID when unnamed or when two share a
// name) and type. The output depends only on g's content, never on map
// order. Typical use: g.Neighbourhood(id, 2).Render(id).
func (g *Graph) Render(focus string) string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	label := g.labeller()
	var b strings.Builder
	root := g.nodes[focus]
	if root == nil {
		for _, x := range g.sorted(label) {
			if len(x.out) == 0 && len(x.in) > 0 {
				continue // shown as a callee
			}
			b.WriteString(label(x.ID))
			b.WriteByte('\n')
			for _, to := range g.byLabel(x.out, label) {
				fmt.Fprintf(&b, "  → %s\n", label(to))
			}
		}
		return b.String()
	}

	b.WriteString(label(focus))
	b.WriteByte('\n')
	drawn := make(map[Edge]bool)
	type section struct {
		title string
		dir   Direction
	}
	var sections []section
	if len(root.out) > 0 {
		sections = append(sections, section{"calls", Callees})
	}
	if len(root.in) > 0 {
		sections = append(sections, section{"called by", Callers})
	}
	for i, s := range sections {
		last := i == len(sections)-1
		b.WriteString(branch(last))
		b.WriteString(s.title)
		b.WriteByte('\n')
		g.tree(&b, focus, s.dir, indent(last), map[string]bool{focus: true}, map[string]bool{}, drawn, label)
	}
	var rest []Edge
	for _, e := range g.edgeList() {
		if !drawn[e] {
			rest = append(rest, e)
		}
	}
	if len(rest) > 0 {
		b.WriteString("other dependencies\n")
		slices.SortFunc(rest, func(a, c Edge) int {
			return cmp.Or(cmp.Compare(label(a.From), label(c.From)), cmp.Compare(label(a.To), label(c.To)), compareEdges(a, c))
		})
		for _, e := range rest {
			fmt.Fprintf(&b, "  %s → %s\n", label(e.From), label(e.To))
		}
	}
	return b.String()
}

// tree writes the children of id in direction dir below prefix. path holds
// the nodes from the focus to id, done the nodes already expanded in this
// tree, drawn the edges shown so far.
func (g *Graph) tree(b *strings.Builder, id string, dir Direction, prefix string, path, done map[string]bool, drawn map[Edge]bool, label func(string) string) {
	x := g.nodes[id]
	kids := x.out
	if dir == Callers {
		kids = x.in
	}
	done[id] = true
	kids = g.byLabel(kids, label)
	for i, k := range kids {
		last := i == len(kids)-1
		if dir == Callees {
			drawn[Edge{id, k}] = true
		} else {
			drawn[Edge{k, id}] = true
		}
		b.WriteString(prefix)
		b.WriteString(branch(last))
		b.WriteString(label(k))
		switch {
		case path[k]:
			b.WriteString(" (cycle)\n")
		case done[k]:
			b.WriteString(" (see above)\n")
		default:
			b.WriteByte('\n')
			path[k] = true
			g.tree(b, k, dir, prefix+indent(last), path, done, drawn, label)
			delete(path, k)
		}
	}
}

func branch(last bool) string {
	if last {
		return "└─ "
	}
	return "├─ "
}

func indent(last bool) string {
	if last {
		return "   "
	}
	return "│  "
}

// labeller returns the display label of each node: its name, or its ID
// when it has no name or shares its name with another node, then its type
// in brackets. The caller holds the read lock.
func (g *Graph) labeller() func(string) string {
	count := make(map[string]int, len(g.nodes))
	for _, x := range g.nodes {
		if x.Name != "" {
			count[x.Name]++
		}
	}
	return func(id string) string {
		x := g.nodes[id]
		s := x.ID
		if x.Name != "" && count[x.Name] == 1 {
			s = x.Name
		}
		if x.Type != "" {
			s += " [" + x.Type + "]"
		}
		return s
	}
}

// sorted returns the nodes ordered by label, then ID.
func (g *Graph) sorted(label func(string) string) []*node {
	out := make([]*node, 0, len(g.nodes))
	for _, x := range g.nodes {
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b *node) int {
		return cmp.Or(cmp.Compare(label(a.ID), label(b.ID)), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// byLabel returns ids ordered by label, then ID.
func (g *Graph) byLabel(ids []string, label func(string) string) []string {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b string) int { return cmp.Or(cmp.Compare(label(a), label(b)), cmp.Compare(a, b)) })
	return out
}

// DOT returns g in Graphviz DOT, left to right, for rendering a picture
// (dot -Tpng). The focus node, if any, is filled and bold; bare nodes (only
// named by an edge) are dashed. Nodes and edges appear in ID order.
func (g *Graph) DOT(focus string) string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	ids := make([]string, 0, len(g.nodes))
	for id := range g.nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var b strings.Builder
	b.WriteString("digraph topology {\n")
	b.WriteString("\trankdir=LR;\n")
	b.WriteString("\tnode [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=10];\n")
	for _, id := range ids {
		x := g.nodes[id]
		name := x.Name
		if name == "" {
			name = x.ID
		}
		lbl := name
		if x.Type != "" {
			lbl += "\n" + x.Type
		}
		attrs := []string{"label=" + quote(lbl)}
		switch {
		case id == focus:
			attrs = append(attrs, `style="rounded,filled,bold"`, `fillcolor="#fde2e1"`)
		case !x.declared:
			attrs = append(attrs, `style="rounded,dashed"`)
		}
		if name != x.ID {
			attrs = append(attrs, "tooltip="+quote(x.ID))
		}
		fmt.Fprintf(&b, "\t%s [%s];\n", quote(id), strings.Join(attrs, ", "))
	}
	for _, e := range g.edgeList() {
		fmt.Fprintf(&b, "\t%s -> %s;\n", quote(e.From), quote(e.To))
	}
	b.WriteString("}\n")
	return b.String()
}

// quote makes s a DOT double-quoted string; a newline becomes a centred
// line break.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "", "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
