package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/alertmanager"
	"github.com/nightshift-ops/nightshift/integrations/cloudwatch"
	"github.com/nightshift-ops/nightshift/integrations/datadog"
	"github.com/nightshift-ops/nightshift/integrations/generic"
	"github.com/nightshift-ops/nightshift/integrations/grafana"
	"github.com/nightshift-ops/nightshift/integrations/llm"
	"github.com/nightshift-ops/nightshift/integrations/pagerduty"
	"github.com/nightshift-ops/nightshift/store"
)

// Config is the whole configuration file. Each block is owned by the package
// it configures; this file only composes them.
type Config struct {
	Listen string        `yaml:"listen"`
	Redis  store.Config  `yaml:"redis"`
	API    APIConfig     `yaml:"api"`
	Log    LogConfig     `yaml:"log"`
	LLM    llm.Config    `yaml:"llm"`
	Slack  SlackConfig   `yaml:"slack"`
	Teams  TeamsConfig   `yaml:"teams"`
	Spaces []SpaceConfig `yaml:"spaces"`

	file string     // where it was read from, for messages
	root *yaml.Node // the parsed document, for line numbers
}

// APIConfig guards the read API.
type APIConfig struct {
	Token string `yaml:"token"` // bearer token for /api/v1; empty disables the API
}

// LogConfig sets up slog.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info (default), warn, error
	Format string `yaml:"format"` // text (default) or json
}

// SpaceConfig is one space.
type SpaceConfig struct {
	Name        string                   `yaml:"name"`
	Correlation engine.CorrelationConfig `yaml:"correlation"`
	Sources     SourcesConfig            `yaml:"sources"`
	Providers   ProvidersConfig          `yaml:"providers"`
	Skills      []string                 `yaml:"skills"` // skill folders, beside the built-in skills
	Slack       *SpaceChatConfig         `yaml:"slack"`
	Teams       *SpaceChatConfig         `yaml:"teams"`
	Operators   []OperatorConfig         `yaml:"operators"`
}

// SourcesConfig lists a space's webhook senders; a nil block is not accepted.
type SourcesConfig struct {
	PagerDuty    *pagerduty.Config    `yaml:"pagerduty"`
	Alertmanager *alertmanager.Config `yaml:"alertmanager"`
	Grafana      *grafana.Config      `yaml:"grafana"`
	Datadog      *datadog.Config      `yaml:"datadog"`
	CloudWatch   *cloudwatch.Config   `yaml:"cloudwatch"`
	Generic      *generic.Config      `yaml:"generic"`
}

var spaceName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// LoadConfig reads, expands and validates a configuration file. Every problem
// is reported at once, each as "file:line: field: message".
func LoadConfig(path string, getenv func(string) string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return ParseConfig(path, raw, getenv)
}

// ParseConfig is LoadConfig on bytes already read; path names them in messages
// and anchors relative *_file paths.
func ParseConfig(path string, raw []byte, getenv func(string) string) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty configuration", path)
	}
	root := doc.Content[0]
	var problems []string
	add := func(n *yaml.Node, field, msg string) {
		line := 0
		if n != nil {
			line = n.Line
		}
		problems = append(problems, fmt.Sprintf("%s:%d: %s: %s", path, line, field, msg))
	}
	unset := map[*yaml.Node]string{}
	expand(root, "", getenv, unset)
	readSecretFiles(root, "", filepath.Dir(path), add)
	checkKeys(root, reflect.TypeOf(Config{}), "", add)
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	cfg := &Config{file: path, root: root}
	if err := root.Decode(cfg); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, e := range te.Errors {
				problems = append(problems, path+":"+strings.TrimPrefix(e, "line "))
			}
			return nil, errors.New(strings.Join(problems, "\n"))
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, p := range cfg.validate() {
		n := nodeAt(root, p.field)
		msg := p.msg
		if n != nil {
			if v, ok := unset[n]; ok {
				msg += fmt.Sprintf(" (${%s} is not set)", v)
			}
		}
		add(n, p.field, msg)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return cfg, nil
}

type problem struct{ field, msg string }

// validate checks the composed configuration; sub-configs validate themselves
// and their field names are prefixed with where they sit in the file.
func (c *Config) validate() []problem {
	var ps []problem
	sub := func(prefix string, err error) {
		if err == nil {
			return
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			field, msg, ok := strings.Cut(line, ": ")
			if !ok || strings.ContainsAny(field, " ") {
				ps = append(ps, problem{strings.TrimSuffix(prefix, "."), line})
				continue
			}
			ps = append(ps, problem{prefix + field, msg})
		}
	}
	sub("redis.", c.Redis.Validate())
	sub("llm.", c.LLM.Validate())
	switch c.Log.Level {
	case "", "debug", "info", "warn", "error":
	default:
		ps = append(ps, problem{"log.level", "want debug, info, warn or error"})
	}
	switch c.Log.Format {
	case "", "text", "json":
	default:
		ps = append(ps, problem{"log.format", "want text or json"})
	}
	if len(c.Spaces) == 0 {
		ps = append(ps, problem{"spaces", "at least one space is required"})
	}
	seen := map[string]bool{}
	for i, s := range c.Spaces {
		at := fmt.Sprintf("spaces[%d].", i)
		switch {
		case !spaceName.MatchString(s.Name):
			ps = append(ps, problem{at + "name", "want lower-case letters, digits and dashes (at most 63)"})
		case seen[s.Name]:
			ps = append(ps, problem{at + "name", fmt.Sprintf("space %q is declared twice", s.Name)})
		}
		seen[s.Name] = true
		sub(at+"correlation.", s.Correlation.Validate())
		if s.Providers.Sandbox != nil {
			sub(at+"providers.sandbox.", s.Providers.Sandbox.Validate())
		}
		src := s.Sources
		for name, v := range map[string]interface{ Validate() error }{
			"pagerduty": ptrValidator(src.PagerDuty), "alertmanager": ptrValidator(src.Alertmanager),
			"grafana": ptrValidator(src.Grafana), "datadog": ptrValidator(src.Datadog),
			"cloudwatch": ptrValidator(src.CloudWatch), "generic": ptrValidator(src.Generic),
		} {
			if v != nil {
				sub(at+"sources."+name+".", v.Validate())
			}
		}
	}
	return append(ps, c.validateChat()...)
}

// ptrValidator returns nil for a nil pointer so that absent blocks are skipped.
func ptrValidator[T interface{ Validate() error }](p *T) interface{ Validate() error } {
	if p == nil {
		return nil
	}
	return *p
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expand replaces ${VAR} and ${VAR:-default} in every scalar value. Only the
// braced form is expanded, so a literal $ in a value stays as it is. Values
// that referenced an unset variable are remembered for better messages.
func expand(n *yaml.Node, path string, getenv func(string) string, unset map[*yaml.Node]string) {
	switch n.Kind {
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return
		}
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
			g := envRef.FindStringSubmatch(m)
			v := getenv(g[1])
			if v == "" && g[2] != "" {
				return g[3]
			}
			if v == "" {
				unset[n] = g[1]
			}
			return v
		})
		if n.Tag == "" || n.Tag == "!!str" {
			n.Tag = "" // let the decoder resolve "20m", "0.6", "true" for the target type
		}
	case yaml.MappingNode, yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			expand(c, path, getenv, unset)
		}
	}
}

// readSecretFiles turns every "x_file: PATH" into "x: <contents of PATH>",
// so that any secret can come from a mounted file instead of the environment.
func readSecretFiles(n *yaml.Node, path, dir string, add func(*yaml.Node, string, string)) {
	switch n.Kind {
	case yaml.MappingNode:
		keys := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			keys[n.Content[i].Value] = true
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			field := join(path, k.Value)
			base, isFile := strings.CutSuffix(k.Value, "_file")
			if !isFile || v.Kind != yaml.ScalarNode {
				readSecretFiles(v, field, dir, add)
				continue
			}
			if keys[base] {
				add(k, field, fmt.Sprintf("set %s or %s, not both", base, k.Value))
				continue
			}
			p := v.Value
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				add(v, field, fmt.Sprintf("cannot read secret file: %v", errors.Unwrap(err)))
				continue
			}
			k.Value = base
			v.Value = strings.TrimRight(string(b), "\r\n")
			v.Tag, v.Style = "!!str", 0
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			readSecretFiles(c, fmt.Sprintf("%s[%d]", path, i), dir, add)
		}
	}
}

// checkKeys reports mapping keys that no field of t declares, with their line.
func checkKeys(n *yaml.Node, t reflect.Type, path string, add func(*yaml.Node, string, string)) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // the decoder reports the type mismatch with its line
		}
		fields := map[string]reflect.Type{}
		var names []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			fields[name] = f.Type
			names = append(names, name)
		}
		if t == reflect.TypeOf(engine.CorrelationConfig{}) {
			return // plain values only
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := fields[k.Value]
			if !ok {
				add(k, join(path, k.Value), "unknown field (want one of "+strings.Join(names, ", ")+")")
				continue
			}
			checkKeys(n.Content[i+1], ft, join(path, k.Value), add)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), add)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			checkKeys(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), add)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// nodeAt finds the value node at a path such as "spaces[0].sources.pagerduty.secret",
// or the deepest node on the way when the path goes further than the file.
func nodeAt(root *yaml.Node, path string) *yaml.Node {
	n := root
	for _, part := range strings.Split(path, ".") {
		name, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			name = part[:i]
			idx, _ = strconv.Atoi(part[i+1 : len(part)-1])
		}
		if name != "" {
			next := mapValue(n, name)
			if next == nil {
				if k := mapKey(n, name); k != nil {
					return k
				}
				return n
			}
			n = next
		}
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return n
			}
			n = n.Content[idx]
		}
	}
	return n
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func mapKey(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return nil
}
