package skills

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Kind is the kind of an Observation, and of the observations a Condition
// looks at.
type Kind string

// Observation kinds.
const (
	KindMetric Kind = "metric" // a metric series that the reasoner found anomalous
	KindLog    Kind = "log"    // a log line or a Kubernetes event
	KindChange Kind = "change" // a deployment, config, infrastructure, IAM, feature-flag or scaling change
)

// changeKinds are the kinds of change the change tools report.
var changeKinds = []string{"deployment", "config", "infrastructure", "feature-flag", "scaling", "iam"}

// Observation is one piece of evidence, in the small model checks are
// written against. The evidence reasoner adapts what its tools return into
// Observations; this package never fetches anything.
type Observation struct {
	Kind         Kind
	Resource     string            // resource ID, e.g. "eks/retail/catalog/deployment/catalog"
	ResourceType string            // e.g. "k8s.deployment", "aws.dynamodb.table"; may be empty
	Name         string            // metric: the metric name; change: the change kind; log: unused
	Labels       map[string]string // series labels (container, pod, ...), or a log line's labels
	Value        float64           // metric: its anomalous level (e.g. the peak during the anomaly)
	Text         string            // log: the message; change: the summary
}

// Pattern matches text. Written as /regexp/ it is a regular expression
// (RE2 syntax, case-insensitive unless it says (?-i), unanchored); otherwise
// it is a case-insensitive substring, or, for label values, an exact
// case-sensitive string. The zero Pattern matches everything. Patterns are
// immutable and safe for concurrent use.
type Pattern struct {
	src   string
	lit   string // substring (lower case) or exact value
	exact bool
	re    *regexp.Regexp
	lits  [][]byte // see requiredLiterals
}

// ParsePattern parses a substring-or-/regexp/ pattern, as written for
// metric names, log lines, change summaries and resource types.
func ParsePattern(s string) (Pattern, error) { return parsePattern(s, false) }

// ParseLabelPattern parses a label-value pattern: an exact value, or
// /regexp/.
func ParseLabelPattern(s string) (Pattern, error) { return parsePattern(s, true) }

func parsePattern(s string, exact bool) (Pattern, error) {
	if len(s) >= 2 && s[0] == '/' && s[len(s)-1] == '/' {
		expr := s[1 : len(s)-1]
		if expr == "" {
			return Pattern{}, errors.New("empty regular expression")
		}
		re, err := regexp.Compile("(?i)" + expr)
		if err != nil {
			return Pattern{}, fmt.Errorf("bad regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		return Pattern{src: s, re: re, lits: requiredLiterals(expr)}, nil
	}
	if s == "" {
		return Pattern{}, errors.New("empty pattern")
	}
	if exact {
		return Pattern{src: s, lit: s, exact: true}, nil
	}
	return Pattern{src: s, lit: strings.ToLower(s)}, nil
}

// String returns the pattern as written.
func (p Pattern) String() string { return p.src }

// IsZero reports whether p is the zero Pattern, which matches everything.
func (p Pattern) IsZero() bool { return p.src == "" }

// Equal reports whether p and q were written the same way and match the
// same way. (It also lets go-cmp compare Patterns.)
func (p Pattern) Equal(q Pattern) bool { return p.src == q.src && p.exact == q.exact }

// Match reports whether s matches p.
func (p Pattern) Match(s string) bool {
	switch {
	case p.re != nil:
		return mayMatch(p.lits, s) && p.re.MatchString(s)
	case p.exact:
		return s == p.lit
	default:
		return strings.Contains(strings.ToLower(s), p.lit)
	}
}

// Condition says which observations a check matches. Exactly one of Metric,
// Log and Changes is set, and Kind says which; every other field that is set
// must hold as well.
type Condition struct {
	Kind    Kind
	Metric  Pattern  // metric: the metric name
	Log     Pattern  // log: the log line
	Changes []string // change: the change kinds, any of them
	Text    Pattern  // change only: the change summary

	ResourceType  Pattern            // the resource type
	Labels        map[string]Pattern // label -> value (exact, or /regexp/)
	LabelsPresent []string           // labels that must be set and non-empty
	LabelsAbsent  []string           // labels that must be unset or empty

	// Above and Below are strict bounds on a metric observation's Value.
	Above, Below *float64
}

// Matches reports whether o satisfies the condition.
func (c Condition) Matches(o Observation) bool {
	if o.Kind != c.Kind {
		return false
	}
	switch c.Kind {
	case KindMetric:
		if !c.Metric.Match(o.Name) || math.IsNaN(o.Value) {
			return false
		}
		if (c.Above != nil && !(o.Value > *c.Above)) || (c.Below != nil && !(o.Value < *c.Below)) {
			return false
		}
	case KindLog:
		if !c.Log.Match(o.Text) {
			return false
		}
	case KindChange:
		if !slices.ContainsFunc(c.Changes, func(k string) bool { return strings.EqualFold(k, o.Name) }) || !c.Text.Match(o.Text) {
			return false
		}
	default:
		return false
	}
	if !c.ResourceType.IsZero() && !c.ResourceType.Match(o.ResourceType) {
		return false
	}
	for name, p := range c.Labels {
		v, ok := o.Labels[name]
		if !ok || !p.Match(v) {
			return false
		}
	}
	for _, name := range c.LabelsPresent {
		if o.Labels[name] == "" {
			return false
		}
	}
	for _, name := range c.LabelsAbsent {
		if o.Labels[name] != "" {
			return false
		}
	}
	return true
}

// Check is a deterministic rule declared by a skill: when an observation
// matches When, the evidence reasoner gets a Finding of Category, worded by
// the Finding template.
type Check struct {
	ID       string // kebab-case, unique within the skill
	When     Condition
	Category string // one of Categories()
	// Finding is the template of the finding's message: {resource},
	// {resource_type}, {kind}, {name}, {value} and {text} stand for the
	// observation's fields, any other {x} for its label x; {{ and }} are
	// literal braces.
	Finding string
}

// Matches reports whether o triggers the check.
func (c Check) Matches(o Observation) bool { return c.When.Matches(o) }

// Render fills the check's Finding template from o. A placeholder the
// observation has no value for renders as "?".
func (c Check) Render(o Observation) string {
	segs, err := parseTemplate(c.Finding)
	if err != nil {
		return c.Finding
	}
	var b strings.Builder
	for _, s := range segs {
		if s.field == "" {
			b.WriteString(s.lit)
			continue
		}
		v, ok := "", true
		switch s.field {
		case "resource":
			v = o.Resource
		case "resource_type":
			v = o.ResourceType
		case "kind":
			v = string(o.Kind)
		case "name":
			v = o.Name
		case "value":
			v = formatValue(o.Value)
		case "text":
			v = shorten(o.Text, 200)
		default:
			v, ok = o.Labels[s.field]
		}
		if !ok || v == "" {
			v = "?"
		}
		b.WriteString(v)
	}
	return b.String()
}

// Finding is what a matched check yields.
type Finding struct {
	Skill       string // the skill that declared the check
	Check       string // the check's ID
	Category    string
	Resource    string
	Message     string      // the rendered Finding template
	Count       int         // how many observations gave this same finding
	Observation Observation // the first of them
}

// Evaluate runs every check of every skill over the observations and
// returns the findings in order: by skill (in the order given), check, then
// first matching observation. Observations that give the same skill, check,
// resource and message are folded into one Finding with a Count. Evaluate is
// pure and safe for concurrent use. It tries every check on every
// observation (about a microsecond each for the built-in set), so callers
// should fold repeated log lines into one observation first.
func Evaluate(set []Skill, obs []Observation) []Finding {
	type key struct{ skill, check, resource, message string }
	var (
		out []Finding
		at  = map[key]int{}
	)
	for _, s := range set {
		for _, c := range s.Checks {
			for _, o := range obs {
				if !c.Matches(o) {
					continue
				}
				msg := c.Render(o)
				k := key{s.Name, c.ID, o.Resource, msg}
				if i, ok := at[k]; ok {
					out[i].Count++
					continue
				}
				at[k] = len(out)
				out = append(out, Finding{
					Skill: s.Name, Check: c.ID, Category: c.Category, Resource: o.Resource,
					Message: msg, Count: 1, Observation: o,
				})
			}
		}
	}
	return out
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'g', -1, 64)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	// Three significant digits, without an exponent for ordinary values.
	s := strconv.FormatFloat(v, 'g', 3, 64)
	if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "e") {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return s
}

func shorten(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// segment is a piece of a finding template: literal text, or a field.
type segment struct {
	lit   string
	field string
}

func parseTemplate(t string) ([]segment, error) {
	var (
		segs []segment
		lit  strings.Builder
	)
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c == '{' && i+1 < len(t) && t[i+1] == '{':
			lit.WriteByte('{')
			i++
		case c == '}' && i+1 < len(t) && t[i+1] == '}':
			lit.WriteByte('}')
			i++
		case c == '}':
			return nil, errors.New("unmatched '}' (write }} for a literal brace)")
		case c == '{':
			end := strings.IndexAny(t[i+1:], "{}")
			if end < 0 || t[i+1+end] != '}' {
				return nil, errors.New("unclosed '{' (write {{ for a literal brace)")
			}
			name := strings.TrimSpace(t[i+1 : i+1+end])
			if name == "" {
				return nil, errors.New("empty placeholder {}")
			}
			if lit.Len() > 0 {
				segs = append(segs, segment{lit: lit.String()})
				lit.Reset()
			}
			segs = append(segs, segment{field: name})
			i += end + 1
		default:
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		segs = append(segs, segment{lit: lit.String()})
	}
	return segs, nil
}

// checks reads the `checks` list.
func (p *parser) checks(v *yaml.Node) []Check {
	if v.Kind != yaml.SequenceNode {
		p.addAt(v, "checks", "must be a list of checks")
		return nil
	}
	if len(v.Content) == 0 {
		p.addAt(v, "checks", "empty list: leave the field out instead")
	}
	var (
		out []Check
		ids = map[string]bool{}
	)
	for i, item := range v.Content {
		field := fmt.Sprintf("checks[%d]", i)
		if item.Kind == yaml.AliasNode {
			p.addAt(item, field, "aliases are not supported")
			continue
		}
		if item.Kind != yaml.MappingNode {
			p.addAt(item, field, "must be a mapping with id, when, category and finding")
			continue
		}
		before := len(p.problems)
		var (
			c           Check
			findingNode *yaml.Node
			whenOK      bool
		)
		seen := p.fields(item, field, []string{"id", "when", "category", "finding"}, func(key string, k, v *yaml.Node) {
			f := field + "." + key
			switch key {
			case "id":
				if id, ok := p.str(v, f); ok {
					switch {
					case !kebab.MatchString(id) || len(id) > maxNameLen:
						p.addAt(v, f, "%q is not kebab-case (lower-case letters and digits joined by single hyphens)", id)
					case ids[id]:
						p.addAt(v, f, "duplicate check id %q", id)
					default:
						ids[id] = true
						c.ID = id
					}
				}
			case "when":
				c.When, whenOK = p.condition(v, f)
			case "category":
				if cat, ok := p.str(v, f); ok {
					if !slices.Contains(categories, cat) {
						p.addAt(v, f, "unknown category %q (known: %s)", cat, strings.Join(categories, ", "))
					}
					c.Category = cat
				}
			case "finding":
				if t, ok := p.str(v, f); ok {
					c.Finding = t
					findingNode = v
				}
			}
		})
		for _, key := range []string{"id", "when", "category", "finding"} {
			if !seen[key] {
				p.addAt(item, field+"."+key, "missing")
			}
		}
		if findingNode != nil && whenOK {
			p.template(findingNode, field+".finding", c.When)
		}
		if len(p.problems) == before {
			out = append(out, c)
		}
	}
	return out
}

// template checks that a finding template parses and that each placeholder
// has a value for every observation the condition matches.
func (p *parser) template(n *yaml.Node, field string, when Condition) {
	segs, err := parseTemplate(n.Value)
	if err != nil {
		p.addAt(n, field, "%v", err)
		return
	}
	for _, s := range segs {
		switch s.field {
		case "", "resource", "resource_type", "kind":
		case "value":
			if when.Kind != KindMetric {
				p.addAt(n, field, "{value} is only set for metric checks")
			}
		case "name":
			if when.Kind == KindLog {
				p.addAt(n, field, "{name} is not set for log checks")
			}
		case "text":
			if when.Kind == KindMetric {
				p.addAt(n, field, "{text} is not set for metric checks")
			}
		default:
			if _, ok := when.Labels[s.field]; !ok && !slices.Contains(when.LabelsPresent, s.field) {
				p.addAt(n, field, "{%s} is neither a field (resource, resource_type, kind, name, value, text) nor a label the check requires (add it to labels_present)", s.field)
			}
		}
	}
}

var conditionKeys = []string{"metric", "log", "change", "text", "resource_type", "labels", "labels_present", "labels_absent", "above", "below"}

// condition reads a check's `when` mapping. ok is false when the kind of
// observation could not be determined (templates are not checked then).
func (p *parser) condition(v *yaml.Node, field string) (c Condition, ok bool) {
	if v.Kind != yaml.MappingNode {
		p.addAt(v, field, "must be a mapping with one of metric, log or change")
		return c, false
	}
	var keyNodes = map[string]*yaml.Node{}
	p.fields(v, field, conditionKeys, func(key string, k, v *yaml.Node) {
		f := field + "." + key
		keyNodes[key] = k
		switch key {
		case "metric", "log", "text", "resource_type":
			pat := p.pattern(v, f, false)
			switch key {
			case "metric":
				c.Metric = pat
			case "log":
				c.Log = pat
			case "text":
				c.Text = pat
			case "resource_type":
				c.ResourceType = pat
			}
		case "change":
			valid := func(item *yaml.Node, f, s string) bool {
				if !slices.Contains(changeKinds, s) {
					p.addAt(item, f, "unknown change kind %q (known: %s)", s, strings.Join(changeKinds, ", "))
					return false
				}
				return true
			}
			if v.Kind == yaml.ScalarNode {
				if s, ok := p.str(v, f); ok && valid(v, f, s) {
					c.Changes = []string{s}
				}
			} else {
				c.Changes = p.strList(v, f, valid)
			}
		case "labels":
			c.Labels = p.labels(v, f)
		case "labels_present":
			c.LabelsPresent = p.strList(v, f, nil)
		case "labels_absent":
			c.LabelsAbsent = p.strList(v, f, nil)
		case "above", "below":
			if x, ok := p.number(v, f); ok {
				if key == "above" {
					c.Above = &x
				} else {
					c.Below = &x
				}
			}
		}
	})

	var kinds []string
	for _, k := range []string{"metric", "log", "change"} {
		if keyNodes[k] != nil {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		p.addAt(v, field, "needs one of metric, log or change")
		return c, false
	case 1:
		c.Kind = Kind(kinds[0])
	default:
		p.addAt(keyNodes[kinds[1]], field+"."+kinds[1], "only one of metric, log or change may be set (found %s)", strings.Join(kinds, ", "))
		return c, false
	}
	if n := keyNodes["text"]; n != nil && c.Kind != KindChange {
		p.addAt(n, field+".text", "only for change checks (use log: for log lines)")
	}
	for _, b := range []string{"above", "below"} {
		if n := keyNodes[b]; n != nil && c.Kind != KindMetric {
			p.addAt(n, field+"."+b, "only for metric checks")
		}
	}
	if c.Above != nil && c.Below != nil && *c.Above >= *c.Below {
		p.addAt(keyNodes["below"], field+".below", "must be greater than above (%s), or nothing can match", formatValue(*c.Above))
	}
	for _, l := range c.LabelsAbsent {
		_, inLabels := c.Labels[l]
		if inLabels || slices.Contains(c.LabelsPresent, l) {
			p.addAt(keyNodes["labels_absent"], field+".labels_absent", "label %q is also required, so nothing can match", l)
		}
	}
	return c, true
}

func (p *parser) pattern(v *yaml.Node, field string, exact bool) Pattern {
	s, ok := p.str(v, field)
	if !ok {
		return Pattern{}
	}
	pat, err := parsePattern(s, exact)
	if err != nil {
		p.addAt(v, field, "%v", err)
	}
	return pat
}

func (p *parser) labels(v *yaml.Node, field string) map[string]Pattern {
	if v.Kind != yaml.MappingNode {
		p.addAt(v, field, "must be a mapping of label name to value")
		return nil
	}
	if len(v.Content) == 0 {
		p.addAt(v, field, "empty mapping: leave the field out instead")
	}
	out := map[string]Pattern{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		name, ok := p.str(k, field)
		if !ok {
			continue
		}
		f := field + "." + name
		if _, dup := out[name]; dup {
			p.addAt(k, f, "duplicate label")
			continue
		}
		out[name] = p.pattern(val, f, true)
	}
	return out
}
