package skills

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitFrontMatter(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		ok        bool
		yaml      string
		body      string
		open      int
		close     int
		bodyStart int
	}{
		{"plain", "---\nname: a\n---\nbody\n", true, "name: a\n", "body\n", 1, 3, 4},
		{"crlf", "---\r\nname: a\r\n---\r\nbody\r\n", true, "name: a\r\n", "body\r\n", 1, 3, 4},
		{"bom and trailing blanks", "\xef\xbb\xbf--- \nname: a\n---\t\nbody", true, "name: a\n", "body", 1, 3, 4},
		{"empty front matter", "---\n---\nbody", true, "", "body", 1, 2, 3},
		{"no newline after closing", "---\nname: a\n---", true, "name: a\n", "", 1, 3, 4},
		{"unterminated", "---\nname: a\n", true, "", "", 1, 0, 0},
		{"missing", "name: a\n---\n", false, "", "", 0, 0, 0},
		{"empty file", "", false, "", "", 0, 0, 0},
		{"four dashes is not a delimiter", "----\nname: a\n---\n", false, "", "", 0, 0, 0},
		{"indented delimiter closes nothing", "---\nname: a\n ---\nb\n", true, "", "", 1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fm, ok := splitFrontMatter([]byte(tt.in))
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			got := []any{string(fm.yaml), fm.body, fm.open, fm.close, fm.bodyStart}
			want := []any{tt.yaml, tt.body, tt.open, tt.close, tt.bodyStart}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("(-got +want)\n%s", diff)
			}
		})
	}
}

func mustPattern(t *testing.T, s string) Pattern {
	t.Helper()
	p, err := ParsePattern(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLabelPattern(t *testing.T, s string) Pattern {
	t.Helper()
	p, err := ParseLabelPattern(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ptr(f float64) *float64 { return &f }

func TestParseFull(t *testing.T) {
	src := `---
name: sidecar-limits
description: >-
  Use when a sidecar
  is throttled.
agents: [rca, mitigation]
checks:
  - id: throttled
    when:
      metric: "/cpu.*throttl/"
      labels: {namespace: prod, container: "/^(envoy|log-.*)$/"}
      labels_present: [container]
      labels_absent: [init]
      resource_type: k8s.
      above: 0.25
      below: 1
    category: resource-limits
    finding: "container {container} throttled ({value})"
  - id: flag
    when: {change: feature-flag, text: checkout}
    category: feature-flag
    finding: "{name}: {text}"
---
# Body

Steps.
`
	got, problems := Parse("x/SKILL.md", []byte(src))
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	want := Skill{
		Name:        "sidecar-limits",
		Description: "Use when a sidecar is throttled.",
		Agents:      []string{"rca", "mitigation"},
		Checks: []Check{
			{
				ID: "throttled",
				When: Condition{
					Kind:   KindMetric,
					Metric: mustPattern(t, "/cpu.*throttl/"),
					Labels: map[string]Pattern{
						"namespace": mustLabelPattern(t, "prod"),
						"container": mustLabelPattern(t, "/^(envoy|log-.*)$/"),
					},
					LabelsPresent: []string{"container"},
					LabelsAbsent:  []string{"init"},
					ResourceType:  mustPattern(t, "k8s."),
					Above:         ptr(0.25),
					Below:         ptr(1),
				},
				Category: "resource-limits",
				Finding:  "container {container} throttled ({value})",
			},
			{
				ID:       "flag",
				When:     Condition{Kind: KindChange, Changes: []string{"feature-flag"}, Text: mustPattern(t, "checkout")},
				Category: "feature-flag",
				Finding:  "{name}: {text}",
			},
		},
		Body: "# Body\n\nSteps.\n",
		Path: "x/SKILL.md",
		Dir:  "x",
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("(-got +want)\n%s", diff)
	}
}

func TestPattern(t *testing.T) {
	tests := []struct {
		pattern string
		exact   bool
		in      string
		want    bool
	}{
		{"Throttl", false, "container_cpu_THROTTLED_ratio", true},
		{"throttl", false, "cpu_usage", false},
		{"/^cpu_.*ratio$/", false, "CPU_throttled_ratio", true},
		{"/(?-i)^cpu/", false, "CPU", false},
		{"/x509:|expired/", false, "tls: x509: certificate signed by unknown authority", true},
		{"prod", true, "prod", true},
		{"prod", true, "preprod", false},
		{"prod", true, "Prod", false},
		{"/prod/", true, "preprod", true},
		{"/", false, "a/b", true}, // a lone slash is a substring, not a regexp
	}
	for _, tt := range tests {
		p, err := parsePattern(tt.pattern, tt.exact)
		if err != nil {
			t.Fatalf("%q: %v", tt.pattern, err)
		}
		if got := p.Match(tt.in); got != tt.want {
			t.Errorf("%q (exact %v).Match(%q) = %v, want %v", tt.pattern, tt.exact, tt.in, got, tt.want)
		}
	}
	if !(Pattern{}).Match("anything") || !(Pattern{}).IsZero() {
		t.Error("zero Pattern must match everything")
	}
	for _, bad := range []string{"", "//", "/(/"} {
		if _, err := ParsePattern(bad); err == nil {
			t.Errorf("ParsePattern(%q): no error", bad)
		}
	}
}

func TestParseDescriptionFolded(t *testing.T) {
	s, ps := Parse("SKILL.md", []byte("---\nname: a\ndescription: |\n  one\n    two\n---\nbody\n"))
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	if s.Description != "one two" {
		t.Errorf("description = %q, want whitespace collapsed", s.Description)
	}
	if !strings.HasPrefix(s.Body, "body") {
		t.Errorf("body = %q", s.Body)
	}
}

func BenchmarkParse(b *testing.B) {
	data, err := fs.ReadFile(BuiltinFS(), "database/SKILL.md")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ps := Parse("SKILL.md", data); len(ps) > 0 {
			b.Fatal(ps)
		}
	}
}
