package skills

import (
	"bytes"
	"fmt"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

const (
	maxNameLen        = 64
	maxDescriptionLen = 1024
)

var kebab = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Parse parses one SKILL.md. file names it in problems (and becomes the
// skill's Path). The skill is complete only when there are no problems; with
// problems it holds whatever could be read. Parse checks one file alone:
// duplicate names across a set are Load's and Lint's business.
func Parse(file string, data []byte) (Skill, []Problem) {
	r := parse(file, data)
	return r.skill, r.problems
}

type parsed struct {
	skill    Skill
	nameLine int
	problems []Problem
}

// frontMatter splits data into the YAML between the opening and closing
// "---" lines and the body after them. open is the 1-based line of the
// opening delimiter, close of the closing one (0 when there is none).
type frontMatter struct {
	yaml      []byte
	body      string
	open      int
	close     int
	bodyStart int // 1-based line on which the body starts
}

func splitFrontMatter(data []byte) (fm frontMatter, ok bool) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	line := 0
	rest := data
	next := func() (string, bool) {
		if len(rest) == 0 {
			return "", false
		}
		i := bytes.IndexByte(rest, '\n')
		var l []byte
		if i < 0 {
			l, rest = rest, nil
		} else {
			l, rest = rest[:i], rest[i+1:]
		}
		line++
		return strings.TrimRight(string(l), " \t\r"), true
	}
	first, more := next()
	if !more || first != "---" {
		return fm, false
	}
	fm.open = line
	start := len(data) - len(rest)
	for {
		before := len(data) - len(rest)
		l, more := next()
		if !more {
			return fm, true // unterminated: close stays 0
		}
		if l == "---" {
			fm.close = line
			fm.yaml = data[start:before]
			fm.body = string(rest)
			fm.bodyStart = line + 1
			return fm, true
		}
	}
}

// parser reads the YAML front matter by walking yaml.Node values rather
// than decoding into structs: that is what gives every problem a line number
// and lets one pass report all of them (yaml.Node.Decode has no strict mode).
type parser struct {
	file     string
	offset   int // added to YAML line numbers to give file line numbers
	problems []Problem
}

func (p *parser) add(line int, field, format string, args ...any) {
	p.problems = append(p.problems, Problem{File: p.file, Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (p *parser) addAt(n *yaml.Node, field, format string, args ...any) {
	p.add(n.Line+p.offset, field, format, args...)
}

func parse(file string, data []byte) parsed {
	var r parsed
	p := &parser{file: file}
	r.skill.Path = file
	r.skill.Dir = path.Dir(file)
	if !utf8.Valid(data) {
		p.add(1, "", "file is not valid UTF-8")
		r.problems = p.problems
		return r
	}
	fm, ok := splitFrontMatter(data)
	switch {
	case !ok:
		p.add(1, "front matter", "missing: the file must start with a '---' line, then the YAML front matter, then a closing '---' line")
	case fm.close == 0:
		p.add(fm.open, "front matter", "unterminated: no closing '---' line")
	default:
		p.offset = fm.open
		r.nameLine = p.frontMatter(fm, &r.skill)
		r.skill.Body = fm.body
		if strings.TrimSpace(fm.body) == "" {
			p.add(fm.close, "body", "empty: write the instructions below the front matter")
		}
	}
	r.problems = p.problems
	return r
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// frontMatter fills s from the YAML and returns the line of the name.
func (p *parser) frontMatter(fm frontMatter, s *Skill) (nameLine int) {
	var doc yaml.Node
	if err := yaml.Unmarshal(fm.yaml, &doc); err != nil {
		line, msg := fm.open, strings.TrimPrefix(err.Error(), "yaml: ")
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			n, _ := strconv.Atoi(m[1])
			line, msg = n+p.offset, m[2]
		}
		if strings.Contains(msg, "mapping values are not allowed") {
			msg += " (quote values that contain \": \")"
		}
		p.add(line, "front matter", "invalid YAML: %s", msg)
		return 0
	}
	var root *yaml.Node
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root = doc.Content[0]
	}
	if root == nil || (root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null") {
		p.add(fm.open, "name", "missing")
		p.add(fm.open, "description", "missing")
		return 0
	}
	if root.Kind != yaml.MappingNode {
		p.addAt(root, "front matter", "must be a mapping of fields (name, description, agents, checks)")
		return 0
	}
	seen := p.fields(root, "", []string{"name", "description", "agents", "checks"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			nameLine = v.Line + p.offset
			if name, ok := p.str(v, "name"); ok {
				switch {
				case len(name) > maxNameLen:
					p.addAt(v, "name", "longer than %d characters", maxNameLen)
				case !kebab.MatchString(name):
					p.addAt(v, "name", "%q is not kebab-case (lower-case letters and digits joined by single hyphens)", name)
				default:
					s.Name = name
				}
			}
		case "description":
			if d, ok := p.str(v, "description"); ok {
				d = strings.Join(strings.Fields(d), " ")
				if len(d) > maxDescriptionLen {
					p.addAt(v, "description", "longer than %d characters: say when the skill applies in one or two sentences", maxDescriptionLen)
				}
				s.Description = d
			}
		case "agents":
			s.Agents = p.agents(v)
		case "checks":
			s.Checks = p.checks(v)
		}
	})
	for _, f := range []string{"name", "description"} {
		if !seen[f] {
			p.addAt(root, f, "missing")
		}
	}
	return nameLine
}

// fields walks a mapping, reporting aliases, non-string and duplicate keys
// and keys not in known, and calls fn for the others. It returns the keys
// seen. prefix is the field path of the mapping ("" at the top).
func (p *parser) fields(n *yaml.Node, prefix string, known []string, fn func(key string, k, v *yaml.Node)) map[string]bool {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.addAt(k, prefix, "keys must be plain strings")
			continue
		}
		field := k.Value
		if prefix != "" {
			field = prefix + "." + k.Value
		}
		if seen[k.Value] {
			p.addAt(k, field, "duplicate field")
			continue
		}
		seen[k.Value] = true
		if !slices.Contains(known, k.Value) {
			p.addAt(k, field, "unknown field (known: %s)", strings.Join(known, ", "))
			continue
		}
		if v.Kind == yaml.AliasNode {
			p.addAt(v, field, "aliases are not supported")
			continue
		}
		fn(k.Value, k, v)
	}
	return seen
}

// str reads a non-empty string scalar.
func (p *parser) str(v *yaml.Node, field string) (string, bool) {
	switch {
	case v.Kind == yaml.AliasNode:
		p.addAt(v, field, "aliases are not supported")
	case v.Kind != yaml.ScalarNode:
		p.addAt(v, field, "must be a string")
	case v.ShortTag() == "!!null" || strings.TrimSpace(v.Value) == "":
		p.addAt(v, field, "empty")
	case v.ShortTag() != "!!str":
		p.addAt(v, field, "must be a string (quote %s)", v.Value)
	default:
		return v.Value, true
	}
	return "", false
}

// strList reads a sequence of non-empty strings, reporting duplicates and
// the items that valid (when not nil) rejects; only good items are returned.
func (p *parser) strList(v *yaml.Node, field string, valid func(item *yaml.Node, field, s string) bool) []string {
	if v.Kind != yaml.SequenceNode {
		p.addAt(v, field, "must be a list")
		return nil
	}
	if len(v.Content) == 0 {
		p.addAt(v, field, "empty list: leave the field out instead")
	}
	var out []string
	for i, item := range v.Content {
		f := fmt.Sprintf("%s[%d]", field, i)
		s, ok := p.str(item, f)
		if !ok || (valid != nil && !valid(item, f, s)) {
			continue
		}
		if slices.Contains(out, s) {
			p.addAt(item, f, "%q listed twice", s)
			continue
		}
		out = append(out, s)
	}
	return out
}

func (p *parser) agents(v *yaml.Node) []string {
	return p.strList(v, "agents", func(item *yaml.Node, field, a string) bool {
		if !slices.Contains(knownAgents, a) {
			p.addAt(item, field, "unknown agent %q (known: %s)", a, strings.Join(knownAgents, ", "))
			return false
		}
		return true
	})
}

// number reads a finite int or float scalar.
func (p *parser) number(v *yaml.Node, field string) (float64, bool) {
	if v.Kind != yaml.ScalarNode || (v.ShortTag() != "!!int" && v.ShortTag() != "!!float") {
		p.addAt(v, field, "must be a number")
		return 0, false
	}
	var f float64
	if err := v.Decode(&f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		p.addAt(v, field, "must be a finite number")
		return 0, false
	}
	return f, true
}
