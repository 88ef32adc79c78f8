package skills

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// want is an expected problem: its line and field exactly, and a part of its
// message.
type want struct {
	line  int
	field string
	msg   string
}

func lintOne(t *testing.T, src string) []Problem {
	t.Helper()
	return Lint(fstest.MapFS{"s/SKILL.md": {Data: []byte(src)}}, ".")
}

func checkProblems(t *testing.T, got []Problem, wants []want) {
	t.Helper()
	type lf struct {
		Line  int
		Field string
	}
	var gotLF, wantLF []lf
	for _, p := range got {
		gotLF = append(gotLF, lf{p.Line, p.Field})
	}
	for _, w := range wants {
		wantLF = append(wantLF, lf{w.line, w.field})
	}
	if diff := cmp.Diff(gotLF, wantLF); diff != "" {
		t.Fatalf("problems (-got +want)\n%s\ngot:\n%s", diff, Problems(got).Error())
	}
	for i, w := range wants {
		if !strings.Contains(got[i].Message, w.msg) {
			t.Errorf("problem %d: message %q does not contain %q", i, got[i].Message, w.msg)
		}
	}
}

const body = "# Steps\n1. Look.\n"

func TestLint(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []want
	}{
		{"valid", "---\nname: ok\ndescription: Fine.\n---\n" + body, nil},
		{"missing front matter", "# Just markdown\n", []want{{1, "front matter", "missing"}}},
		{"unterminated", "---\nname: ok\ndescription: Fine.\n" + body, []want{{1, "front matter", "unterminated"}}},
		{"invalid yaml", "---\nname: ok\ndescription: Use when: it breaks\n---\n" + body,
			[]want{{3, "front matter", "invalid YAML: mapping values are not allowed"}}},
		{"not a mapping", "---\n- a\n- b\n---\n" + body, []want{{2, "front matter", "must be a mapping"}}},
		{"empty front matter", "---\n---\n" + body, []want{{1, "name", "missing"}, {1, "description", "missing"}}},
		{"missing name and description", "---\nagents: [rca]\n---\n" + body,
			[]want{{2, "name", "missing"}, {2, "description", "missing"}}},
		{"empty values", "---\nname:\ndescription: \"\"\n---\n" + body,
			[]want{{2, "name", "empty"}, {3, "description", "empty"}}},
		{"bad name", "---\nname: Sidecar_Limits\ndescription: Fine.\n---\n" + body,
			[]want{{2, "name", "not kebab-case"}}},
		{"name not a string", "---\nname: [a]\ndescription: 42\n---\n" + body,
			[]want{{2, "name", "must be a string"}, {3, "description", "must be a string (quote 42)"}}},
		{"name too long", "---\nname: " + strings.Repeat("a", 65) + "\ndescription: Fine.\n---\n" + body,
			[]want{{2, "name", "longer than 64"}}},
		{"unknown and duplicate keys", "---\nname: ok\ndescription: Fine.\nversion: 2\nname: again\n---\n" + body,
			[]want{{4, "version", "unknown field"}, {5, "name", "duplicate field"}}},
		{"unknown agents", "---\nname: ok\ndescription: Fine.\nagents:\n  - rca\n  - pilot\n  - rca\n---\n" + body,
			[]want{{6, "agents[1]", `unknown agent "pilot"`}, {7, "agents[2]", "listed twice"}}},
		{"agents not a list", "---\nname: ok\ndescription: Fine.\nagents: rca\n---\n" + body,
			[]want{{4, "agents", "must be a list"}}},
		{"empty body", "---\nname: ok\ndescription: Fine.\n---\n\n  \n", []want{{4, "body", "empty"}}},
		{"aliases", "---\nname: &n ok\ndescription: *n\n---\n" + body, []want{{3, "description", "aliases are not supported"}}},
		{"problems after a CRLF and BOM", "\xef\xbb\xbf---\r\nname: ok\r\ndescription: Fine.\r\nbogus: 1\r\n---\r\n" + body,
			[]want{{4, "bogus", "unknown field"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, lintOne(t, tt.src), tt.want)
		})
	}
}

func TestLintChecks(t *testing.T) {
	head := "---\nname: ok\ndescription: Fine.\nchecks:\n" // checks' items start on line 5
	tests := []struct {
		name   string
		checks string
		want   []want
	}{
		{"valid", `  - id: a
    when: {metric: cpu, labels_present: [container], above: 0.5}
    category: resource-limits
    finding: "{container} at {value}"
`, nil},
		{"not a list", "  id: a\n", []want{{5, "checks", "must be a list"}}},
		{"item not a mapping", "  - just text\n", []want{{5, "checks[0]", "must be a mapping"}}},
		{"missing fields", "  - id: a\n", []want{
			{5, "checks[0].when", "missing"}, {5, "checks[0].category", "missing"}, {5, "checks[0].finding", "missing"}}},
		{"bad id, unknown key, unknown category", `  - id: Not_Kebab
    when: {log: x}
    category: gremlins
    finding: x
    weight: 3
`, []want{
			{5, "checks[0].id", "not kebab-case"},
			{7, "checks[0].category", `unknown category "gremlins"`},
			{9, "checks[0].weight", "unknown field"}}},
		{"duplicate id", `  - {id: a, when: {log: x}, category: network, finding: x}
  - {id: a, when: {log: y}, category: network, finding: y}
`, []want{{6, "checks[1].id", `duplicate check id "a"`}}},
		{"no kind", "  - {id: a, when: {above: 1}, category: network, finding: x}\n",
			[]want{{5, "checks[0].when", "needs one of metric, log or change"}}},
		{"two kinds", `  - id: a
    when:
      metric: cpu
      log: oops
    category: network
    finding: x
`, []want{{8, "checks[0].when.log", "only one of metric, log or change"}}},
		{"bad regexp and empty pattern", `  - id: a
    when:
      log: "/([/"
      resource_type: "//"
    category: network
    finding: x
`, []want{
			{7, "checks[0].when.log", "bad regular expression"},
			{8, "checks[0].when.resource_type", "empty regular expression"}}},
		{"threshold on a log check, text on a metric check", `  - id: a
    when:
      log: oops
      above: 3
    category: network
    finding: x
  - id: b
    when:
      metric: cpu
      text: deploy
    category: network
    finding: x
`, []want{
			{8, "checks[0].when.above", "only for metric checks"},
			{14, "checks[1].when.text", "only for change checks"}}},
		{"thresholds", `  - id: a
    when:
      metric: cpu
      above: 5
      below: 2
    category: network
    finding: x
  - id: b
    when: {metric: cpu, above: high, below: .nan}
    category: network
    finding: x
`, []want{
			{9, "checks[0].when.below", "must be greater than above (5)"},
			{13, "checks[1].when.above", "must be a number"},
			{13, "checks[1].when.below", "finite"}}},
		{"change kinds", `  - id: a
    when: {change: [deployment, migration]}
    category: bad-deploy
    finding: "{text}"
  - id: b
    when: {change: rollout}
    category: bad-deploy
    finding: x
`, []want{
			{6, "checks[0].when.change[1]", `unknown change kind "migration"`},
			{10, "checks[1].when.change", `unknown change kind "rollout"`}}},
		{"labels", `  - id: a
    when:
      metric: cpu
      labels: [container]
      labels_present: container
    category: network
    finding: x
  - id: b
    when:
      metric: cpu
      labels: {container: "/(/"}
      labels_present: [pod]
      labels_absent: [pod]
    category: network
    finding: x
`, []want{
			{8, "checks[0].when.labels", "must be a mapping"},
			{9, "checks[0].when.labels_present", "must be a list"},
			{15, "checks[1].when.labels.container", "bad regular expression"},
			{17, "checks[1].when.labels_absent", `label "pod" is also required`}}},
		{"templates", `  - id: a
    when: {log: oops}
    category: network
    finding: "{value} {name} {pod}"
  - id: b
    when: {metric: cpu}
    category: network
    finding: "{text} {oops"
  - id: c
    when: {metric: cpu, labels: {container: app}}
    category: network
    finding: "{{literal}} {container} {resource} {resource_type} {kind} {name} {value} }"
`, []want{
			{8, "checks[0].finding", "{value} is only set for metric checks"},
			{8, "checks[0].finding", "{name} is not set for log checks"},
			{8, "checks[0].finding", "{pod} is neither a field"},
			{12, "checks[1].finding", "unclosed '{'"},
			{16, "checks[2].finding", "unmatched '}'"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, lintOne(t, head+tt.checks+"---\n"+body), tt.want)
		})
	}
}

func TestLintSet(t *testing.T) {
	fsys := fstest.MapFS{
		"a/SKILL.md":        skillFile("same", "First."),
		"b/SKILL.md":        {Data: []byte("---\ndescription: Second.\nname: same\n---\n" + body)},
		"c/skill.md":        {Data: []byte("lower case")},
		"d/e/SKILL.md":      {Data: []byte("---\nname: e\n---\n" + body)},
		"f/reference.md":    {Data: []byte("outside any skill")},
		"g/SKILL.md":        skillFile("other", "Fine."),
		"g/sub/SKILL.md":    skillFile("same", "Third."),
		"g/sub/SKILL.md.bk": {Data: []byte("a reference")},
	}
	got := Lint(fsys, ".")
	var lines []string
	for _, p := range got {
		lines = append(lines, p.String())
	}
	wantLines := []string{
		`b/SKILL.md:3: name: duplicate name "same": already used by a/SKILL.md`,
		`c/skill.md: a skill file must be named exactly SKILL.md`,
		`d/e/SKILL.md:2: description: missing`,
		`g/sub/SKILL.md:2: name: duplicate name "same": already used by a/SKILL.md`,
	}
	if diff := cmp.Diff(lines, wantLines); diff != "" {
		t.Errorf("(-got +want)\n%s", diff)
	}
}

func TestLintEmptyAndMissingRoot(t *testing.T) {
	checkProblems(t, Lint(fstest.MapFS{"x/README.md": {}}, "."), []want{{0, "", "no SKILL.md found"}})
	got := Lint(fstest.MapFS{}, "nope")
	if len(got) != 1 || got[0].File != "nope" || !strings.Contains(got[0].Message, "not exist") {
		t.Errorf("got %v", got)
	}
}

func TestProblemString(t *testing.T) {
	for _, tt := range []struct {
		p    Problem
		want string
	}{
		{Problem{"a/SKILL.md", 3, "name", "bad"}, "a/SKILL.md:3: name: bad"},
		{Problem{"a/SKILL.md", 0, "", "unreadable"}, "a/SKILL.md: unreadable"},
		{Problem{"a/SKILL.md", 2, "", "x"}, "a/SKILL.md:2: x"},
	} {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	err := Problems{{"f", 1, "a", "b"}, {"f", 2, "c", "d"}}
	if got, want := err.Error(), "skills: 2 problems:\nf:1: a: b\nf:2: c: d"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	_ = fmt.Sprint(err)
}
