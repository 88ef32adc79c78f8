package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// FieldError is one problem in a scenario file (or a CSV file it names),
// printed as "file:line: field: message".
type FieldError struct {
	File  string // as given to the loader
	Line  int    // 1-based; 0 when unknown
	Field string // path such as metrics[2].events[0].shape; "" for the file as a whole
	Msg   string
}

// Error formats the problem as "file:line: field: message".
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// nodeBudget caps the nodes visited in one file, so that nested aliases (a
// "billion laughs" document) cannot make the loader expand them forever.
const nodeBudget = 2_000_000

// decoder walks a yaml.Node tree by hand so that unknown keys, wrong kinds
// and bad values are all reported at once, each with its line and path.
type decoder struct {
	file   string
	lines  map[string]int  // field path → line of its key (or item)
	bad    map[string]bool // field paths already reported
	errs   []error
	budget int
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, lines: map[string]int{}, bad: map[string]bool{}, budget: nodeBudget}
}

// errorf records a problem with the field at path, at the line of the
// closest enclosing field that has one.
func (d *decoder) errorf(path, format string, args ...any) {
	d.bad[path] = true
	d.errs = append(d.errs, &FieldError{File: d.file, Line: d.lineOf(path), Field: path, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) lineOf(path string) int {
	for {
		if l, ok := d.lines[path]; ok {
			return l
		}
		if path == "" {
			return 0
		}
		path = parentPath(path)
	}
}

func (d *decoder) has(path string) bool { _, ok := d.lines[path]; return ok }

// parentPath strips the last segment of a field path: ".x", "[3]" or `["k"]`.
func parentPath(p string) string {
	switch {
	case strings.HasSuffix(p, `"]`):
		if i := strings.LastIndex(p, `["`); i >= 0 {
			return p[:i]
		}
	case strings.HasSuffix(p, "]"):
		if i := strings.LastIndex(p, "["); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndex(p, "."); i >= 0 {
		return p[:i]
	}
	return ""
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func indexPath(parent string, i int) string { return fmt.Sprintf("%s[%d]", parent, i) }

func keyPath(parent, key string) string { return parent + "[" + strconv.Quote(key) + "]" }

// deref follows aliases and charges the node budget; nil means "stop".
func (d *decoder) deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.budget--
	if d.budget == 0 {
		d.errs = append(d.errs, &FieldError{File: d.file, Msg: "document too large or too deeply aliased"})
	}
	if d.budget <= 0 {
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

type field struct {
	key string
	fn  func(v *yaml.Node, path string)
}

// object decodes a mapping with a fixed set of keys. Null values count as
// absent. It reports unknown and duplicate keys.
func (d *decoder) object(n *yaml.Node, path string, fields []field) {
	if n = d.deref(n); n == nil {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(path, "want a mapping, got %s", kindName(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.deref(n.Content[i]), d.deref(n.Content[i+1])
		if k == nil || v == nil {
			return
		}
		if k.Kind != yaml.ScalarNode {
			d.errs = append(d.errs, &FieldError{File: d.file, Line: k.Line, Field: path, Msg: fmt.Sprintf("want a field name, got %s", kindName(k))})
			continue
		}
		p := joinPath(path, k.Value)
		if prev, dup := seen[k.Value]; dup {
			d.errs = append(d.errs, &FieldError{File: d.file, Line: k.Line, Field: p, Msg: fmt.Sprintf("repeated (first at line %d)", prev)})
			continue
		}
		seen[k.Value] = k.Line
		var fn func(*yaml.Node, string)
		for _, f := range fields {
			if f.key == k.Value {
				fn = f.fn
				break
			}
		}
		if fn == nil {
			d.errs = append(d.errs, &FieldError{File: d.file, Line: k.Line, Field: p, Msg: fmt.Sprintf("unknown field (want %s)", fieldNames(fields))})
			continue
		}
		d.lines[p] = k.Line
		if isNull(v) {
			continue
		}
		fn(v, p)
	}
}

func fieldNames(fields []field) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.key
	}
	return strings.Join(names, ", ")
}

// list decodes a sequence, calling item for each element.
func (d *decoder) list(n *yaml.Node, path string, item func(i int, v *yaml.Node, path string)) {
	if n = d.deref(n); n == nil {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(path, "want a list, got %s", kindName(n))
		return
	}
	for i, c := range n.Content {
		p := indexPath(path, i)
		d.lines[p] = c.Line
		item(i, c, p)
		if d.budget <= 0 {
			return
		}
	}
}

// pairs decodes a mapping with free keys, calling item for each pair.
func (d *decoder) pairs(n *yaml.Node, path string, item func(key string, v *yaml.Node, path string)) {
	if n = d.deref(n); n == nil {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(path, "want a mapping, got %s", kindName(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.deref(n.Content[i]), d.deref(n.Content[i+1])
		if k == nil || v == nil {
			return
		}
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.errs = append(d.errs, &FieldError{File: d.file, Line: k.Line, Field: path, Msg: fmt.Sprintf("want a key, got %s", kindName(k))})
			continue
		}
		p := keyPath(path, k.Value)
		if prev, dup := seen[k.Value]; dup {
			d.errs = append(d.errs, &FieldError{File: d.file, Line: k.Line, Field: p, Msg: fmt.Sprintf("repeated (first at line %d)", prev)})
			continue
		}
		seen[k.Value] = k.Line
		d.lines[p] = k.Line
		item(k.Value, v, p)
	}
}

// str decodes any scalar as its text: label values and names may be
// written as numbers or booleans and still mean their spelling.
func (d *decoder) str(n *yaml.Node, path string) string {
	if n = d.deref(n); n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		d.errorf(path, "want a string, got %s", kindName(n))
		return ""
	}
	if isNull(n) {
		return ""
	}
	return n.Value
}

func (d *decoder) strMap(n *yaml.Node, path string) map[string]string {
	m := map[string]string{}
	d.pairs(n, path, func(k string, v *yaml.Node, p string) { m[k] = d.str(v, p) })
	return m
}

func (d *decoder) strList(n *yaml.Node, path string) []string {
	out := []string{}
	d.list(n, path, func(_ int, v *yaml.Node, p string) { out = append(out, d.str(v, p)) })
	return out
}

func (d *decoder) num(n *yaml.Node, path string) float64 {
	if n = d.deref(n); n == nil {
		return 0
	}
	if n.Kind == yaml.ScalarNode {
		if t := n.ShortTag(); t == "!!int" || t == "!!float" {
			var f float64
			if err := n.Decode(&f); err == nil {
				if math.IsNaN(f) || math.IsInf(f, 0) {
					d.errorf(path, "want a finite number, got %s", n.Value)
					return 0
				}
				return f
			}
		}
	}
	d.errorf(path, "want a number, got %s", kindName(n))
	return 0
}

func (d *decoder) dur(n *yaml.Node, path string) time.Duration {
	s := d.str(n, path)
	if s == "" {
		return 0
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		d.errorf(path, "want a duration such as 90s, 5m or 1h30m, got %q", s)
		return 0
	}
	return v
}

// when is a time as a scenario writes it: an offset from incident_at or an
// absolute RFC 3339 time.
type when struct {
	set  bool
	abs  bool
	t    time.Time
	d    time.Duration
	text string // as written, for messages
}

func (w when) resolve(t0 time.Time) time.Time {
	if !w.set {
		return time.Time{}
	}
	if w.abs {
		return w.t
	}
	return t0.Add(w.d)
}

// String is the time as the scenario wrote it.
func (w when) String() string { return w.text }

func (d *decoder) when(n *yaml.Node, path string) when {
	s := d.str(n, path)
	if s == "" {
		return when{}
	}
	w, err := parseWhen(s)
	if err != nil {
		d.errorf(path, "%v", err)
	}
	return w
}

func parseWhen(s string) (when, error) {
	if s == "0" {
		return when{set: true, text: s}, nil
	}
	if v, err := time.ParseDuration(s); err == nil {
		return when{set: true, d: v, text: s}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		if y := t.Year(); y < 1970 || y > 2200 {
			return when{}, fmt.Errorf("%q is out of range (want a year from 1970 to 2200)", s)
		}
		return when{set: true, abs: true, t: t.UTC(), text: s}, nil
	}
	return when{}, fmt.Errorf("want an offset such as -12m, 0 or +5m, or an RFC 3339 time, got %q", s)
}

// maxSpecDepth bounds the nesting of a spec block; it also stops an alias
// that contains itself.
const maxSpecDepth = 64

// value converts a node into plain Go values for JSON (spec blocks):
// mappings → map[string]any, lists → []any, scalars by their YAML type.
// Timestamps stay strings: spec is returned verbatim.
func (d *decoder) value(n *yaml.Node, path string, depth int) any {
	if n = d.deref(n); n == nil {
		return nil
	}
	if depth > maxSpecDepth {
		if !d.bad[path] {
			d.errorf(path, "nested more than %d levels deep (an alias that contains itself?)", maxSpecDepth)
		}
		d.budget = 0
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		d.pairs(n, path, func(k string, v *yaml.Node, p string) { m[k] = d.value(v, p, depth+1) })
		return m
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			out = append(out, d.value(c, indexPath(path, i), depth+1))
			if d.budget <= 0 {
				break
			}
		}
		return out
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil
		case "!!bool":
			var b bool
			if n.Decode(&b) == nil {
				return b
			}
		case "!!int":
			var i int64
			if n.Decode(&i) == nil {
				return i
			}
			var f float64
			if n.Decode(&f) == nil && !math.IsInf(f, 0) {
				return f
			}
		case "!!float":
			var f float64
			if n.Decode(&f) == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
				return f
			}
		}
		return n.Value
	}
	return nil
}

// Raw scenario, as written (before defaults, resolution and validation).

type rawScenario struct {
	name, summary, base, space string
	incidentAt                 when
	window                     time.Duration
	resources                  []rawResource
	metrics                    []rawMetric
	logs                       []rawLog
	changes                    []rawChange
	alerts                     []rawAlert
	recorded                   []rawRecorded
	truth                      *rawTruth
}

type rawResource struct {
	path      string
	id, typ   string
	name      string
	labels    map[string]string
	dependsOn []string
	spec      map[string]any
}

type rawMetric struct {
	path                 string
	resource, name, unit string
	labels               map[string]string
	baseline, noise      float64
	events               []rawEvent
}

type rawEvent struct {
	path  string
	at    when
	shape string
	to    float64
	over  time.Duration
	until when
}

type rawLog struct {
	path                     string
	resource, level, message string
	at, until                when
	every                    time.Duration
	labels                   map[string]string
}

type rawChange struct {
	path                           string
	resource, kind, actor, summary string
	at                             when
}

type rawAlert struct {
	path                                                 string
	source, rule, title, description, resource, severity string
	at, resolvedAt                                       when
	labels                                               map[string]string
}

type rawRecorded struct {
	path             string
	file, timeColumn string
	series           []rawRecSeries
}

type rawRecSeries struct {
	path                         string
	column, resource, name, unit string
	labels                       map[string]string
}

type rawTruth struct {
	path                string
	rootCause, category string
	mustMention         []string
}

// parse reads one YAML document into a rawScenario. Syntax errors end the
// parse; everything else is collected in d.errs.
func parse(data []byte, file string) (*rawScenario, *decoder) {
	d := newDecoder(file)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errs = append(d.errs, &FieldError{File: file, Msg: "empty file: want a scenario mapping"})
		} else {
			d.errs = append(d.errs, syntaxError(file, err))
		}
		return nil, d
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := 0
		if err == nil {
			line = extra.Line
		}
		d.errs = append(d.errs, &FieldError{File: file, Line: line, Msg: "more than one YAML document: want one scenario per file"})
		return nil, d
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	d.lines[""] = root.Line
	if root.Kind != yaml.MappingNode {
		d.errorf("", "want a mapping, got %s", kindName(root))
		return nil, d
	}
	r := &rawScenario{}
	d.object(root, "", []field{
		{"name", func(v *yaml.Node, p string) { r.name = d.str(v, p) }},
		{"summary", func(v *yaml.Node, p string) { r.summary = d.str(v, p) }},
		{"base", func(v *yaml.Node, p string) { r.base = d.str(v, p) }},
		{"space", func(v *yaml.Node, p string) { r.space = d.str(v, p) }},
		{"incident_at", func(v *yaml.Node, p string) { r.incidentAt = d.when(v, p) }},
		{"window", func(v *yaml.Node, p string) { r.window = d.dur(v, p) }},
		{"resources", func(v *yaml.Node, p string) {
			d.list(v, p, func(_ int, v *yaml.Node, p string) { r.resources = append(r.resources, d.resource(v, p)) })
		}},
		{"metrics", func(v *yaml.Node, p string) {
			d.list(v, p, func(_ int, v *yaml.Node, p string) { r.metrics = append(r.metrics, d.metric(v, p)) })
		}},
		{"logs", func(v *yaml.Node, p string) {
			d.list(v, p, func(_ int, v *yaml.Node, p string) { r.logs = append(r.logs, d.log(v, p)) })
		}},
		{"changes", func(v *yaml.Node, p string) {
			d.list(v, p, func(_ int, v *yaml.Node, p string) { r.changes = append(r.changes, d.change(v, p)) })
		}},
		{"alerts", func(v *yaml.Node, p string) {
			d.list(v, p, func(_ int, v *yaml.Node, p string) { r.alerts = append(r.alerts, d.alert(v, p)) })
		}},
		{"recorded", func(v *yaml.Node, p string) {
			d.list(v, p, func(_ int, v *yaml.Node, p string) { r.recorded = append(r.recorded, d.recorded(v, p)) })
		}},
		{"truth", func(v *yaml.Node, p string) { r.truth = d.truth(v, p) }},
	})
	return r, d
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func syntaxError(file string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &FieldError{File: file, Line: line, Msg: "YAML syntax: " + m[2]}
	}
	return &FieldError{File: file, Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")}
}

func (d *decoder) resource(n *yaml.Node, path string) rawResource {
	r := rawResource{path: path}
	d.object(n, path, []field{
		{"id", func(v *yaml.Node, p string) { r.id = d.str(v, p) }},
		{"type", func(v *yaml.Node, p string) { r.typ = d.str(v, p) }},
		{"name", func(v *yaml.Node, p string) { r.name = d.str(v, p) }},
		{"labels", func(v *yaml.Node, p string) { r.labels = d.strMap(v, p) }},
		{"depends_on", func(v *yaml.Node, p string) { r.dependsOn = d.strList(v, p) }},
		{"spec", func(v *yaml.Node, p string) {
			m, ok := d.value(v, p, 0).(map[string]any)
			if !ok {
				d.errorf(p, "want a mapping, got %s", kindName(d.deref(v)))
			}
			r.spec = m
		}},
	})
	return r
}

func (d *decoder) metric(n *yaml.Node, path string) rawMetric {
	m := rawMetric{path: path}
	d.object(n, path, []field{
		{"resource", func(v *yaml.Node, p string) { m.resource = d.str(v, p) }},
		{"name", func(v *yaml.Node, p string) { m.name = d.str(v, p) }},
		{"labels", func(v *yaml.Node, p string) { m.labels = d.strMap(v, p) }},
		{"unit", func(v *yaml.Node, p string) { m.unit = d.str(v, p) }},
		{"baseline", func(v *yaml.Node, p string) { m.baseline = d.num(v, p) }},
		{"noise", func(v *yaml.Node, p string) { m.noise = d.num(v, p) }},
		{"events", func(v *yaml.Node, p string) {
			d.list(v, p, func(_ int, v *yaml.Node, p string) { m.events = append(m.events, d.event(v, p)) })
		}},
	})
	return m
}

func (d *decoder) event(n *yaml.Node, path string) rawEvent {
	e := rawEvent{path: path}
	d.object(n, path, []field{
		{"at", func(v *yaml.Node, p string) { e.at = d.when(v, p) }},
		{"shape", func(v *yaml.Node, p string) { e.shape = d.str(v, p) }},
		{"to", func(v *yaml.Node, p string) { e.to = d.num(v, p) }},
		{"over", func(v *yaml.Node, p string) { e.over = d.dur(v, p) }},
		{"until", func(v *yaml.Node, p string) { e.until = d.when(v, p) }},
	})
	return e
}

func (d *decoder) log(n *yaml.Node, path string) rawLog {
	l := rawLog{path: path}
	d.object(n, path, []field{
		{"resource", func(v *yaml.Node, p string) { l.resource = d.str(v, p) }},
		{"at", func(v *yaml.Node, p string) { l.at = d.when(v, p) }},
		{"every", func(v *yaml.Node, p string) { l.every = d.dur(v, p) }},
		{"until", func(v *yaml.Node, p string) { l.until = d.when(v, p) }},
		{"level", func(v *yaml.Node, p string) { l.level = d.str(v, p) }},
		{"message", func(v *yaml.Node, p string) { l.message = d.str(v, p) }},
		{"labels", func(v *yaml.Node, p string) { l.labels = d.strMap(v, p) }},
	})
	return l
}

func (d *decoder) change(n *yaml.Node, path string) rawChange {
	c := rawChange{path: path}
	d.object(n, path, []field{
		{"resource", func(v *yaml.Node, p string) { c.resource = d.str(v, p) }},
		{"at", func(v *yaml.Node, p string) { c.at = d.when(v, p) }},
		{"kind", func(v *yaml.Node, p string) { c.kind = d.str(v, p) }},
		{"actor", func(v *yaml.Node, p string) { c.actor = d.str(v, p) }},
		{"summary", func(v *yaml.Node, p string) { c.summary = d.str(v, p) }},
	})
	return c
}

func (d *decoder) alert(n *yaml.Node, path string) rawAlert {
	a := rawAlert{path: path}
	d.object(n, path, []field{
		{"source", func(v *yaml.Node, p string) { a.source = d.str(v, p) }},
		{"rule", func(v *yaml.Node, p string) { a.rule = d.str(v, p) }},
		{"at", func(v *yaml.Node, p string) { a.at = d.when(v, p) }},
		{"resolved_at", func(v *yaml.Node, p string) { a.resolvedAt = d.when(v, p) }},
		{"title", func(v *yaml.Node, p string) { a.title = d.str(v, p) }},
		{"description", func(v *yaml.Node, p string) { a.description = d.str(v, p) }},
		{"resource", func(v *yaml.Node, p string) { a.resource = d.str(v, p) }},
		{"severity", func(v *yaml.Node, p string) { a.severity = d.str(v, p) }},
		{"labels", func(v *yaml.Node, p string) { a.labels = d.strMap(v, p) }},
	})
	return a
}

func (d *decoder) recorded(n *yaml.Node, path string) rawRecorded {
	r := rawRecorded{path: path}
	d.object(n, path, []field{
		{"file", func(v *yaml.Node, p string) { r.file = d.str(v, p) }},
		{"time_column", func(v *yaml.Node, p string) { r.timeColumn = d.str(v, p) }},
		{"series", func(v *yaml.Node, p string) {
			d.pairs(v, p, func(col string, v *yaml.Node, p string) {
				s := rawRecSeries{path: p, column: col}
				d.object(v, p, []field{
					{"resource", func(v *yaml.Node, p string) { s.resource = d.str(v, p) }},
					{"name", func(v *yaml.Node, p string) { s.name = d.str(v, p) }},
					{"unit", func(v *yaml.Node, p string) { s.unit = d.str(v, p) }},
					{"labels", func(v *yaml.Node, p string) { s.labels = d.strMap(v, p) }},
				})
				r.series = append(r.series, s)
			})
		}},
	})
	return r
}

func (d *decoder) truth(n *yaml.Node, path string) *rawTruth {
	t := &rawTruth{path: path}
	d.object(n, path, []field{
		{"root_cause", func(v *yaml.Node, p string) { t.rootCause = d.str(v, p) }},
		{"category", func(v *yaml.Node, p string) { t.category = d.str(v, p) }},
		{"must_mention", func(v *yaml.Node, p string) { t.mustMention = d.strList(v, p) }},
	})
	return t
}
