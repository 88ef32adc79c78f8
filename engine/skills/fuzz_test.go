package skills

import (
	"bytes"
	"io/fs"
	"testing"
)

func FuzzParse(f *testing.F) {
	_ = fs.WalkDir(BuiltinFS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(BuiltinFS(), p)
			f.Add(b)
		}
		return nil
	})
	for _, s := range []string{
		"", "---", "---\n---\n", "---\n---\nbody", "---\nname: a\n",
		"---\nname: a\ndescription: b\n---\nbody\n",
		"---\nname: &a x\ndescription: *a\n---\nb",
		"---\r\nname: a\r\ndescription: b\r\nchecks: [{id: c, when: {log: /x/}, category: network, finding: \"{text}\"}]\r\n---\r\nb",
		"---\nchecks:\n  - id: c\n    when: {metric: m, above: 1e308, below: .inf}\n---\n",
		"---\nname: [\n---\n",
		"\xef\xbb\xbf---\n{a: 1}\n---\nx",
		"---\nname: a\ndescription: b\nchecks:\n- {id: c, when: {change: [config], text: \"/(?i)x{2,}/\"}, category: config-change, finding: \"{{{name}}}\"}\n---\nb\n",
	} {
		f.Add([]byte(s))
	}
	obs := []Observation{
		{Kind: KindMetric, Resource: "r", ResourceType: "k8s.deployment", Name: "container_cpu_throttled_ratio", Value: 0.9, Labels: map[string]string{"container": "c"}},
		{Kind: KindLog, Resource: "r", Text: "x509: certificate has expired xx", Labels: map[string]string{"pod": "p"}},
		{Kind: KindChange, Resource: "r", Name: "config", Text: "xxx"},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, problems := Parse("SKILL.md", data)
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, p := range problems {
			if p.Line < 0 || p.Line > lines+1 {
				t.Fatalf("problem line %d outside the file's %d lines: %v", p.Line, lines, p)
			}
			if p.Message == "" || p.File != "SKILL.md" {
				t.Fatalf("incomplete problem %#v", p)
			}
		}
		if len(problems) > 0 {
			return
		}
		if !kebab.MatchString(s.Name) || s.Description == "" || len(bytes.TrimSpace([]byte(s.Body))) == 0 {
			t.Fatalf("no problems but an incomplete skill: %+v", s)
		}
		for _, c := range s.Checks {
			if c.When.Kind == "" || c.ID == "" || c.Category == "" || c.Finding == "" {
				t.Fatalf("no problems but an incomplete check: %+v", c)
			}
			if _, err := parseTemplate(c.Finding); err != nil {
				t.Fatalf("template passed lint but does not parse: %v", err)
			}
		}
		for _, fd := range Evaluate([]Skill{s}, obs) {
			if fd.Count < 1 || fd.Category == "" {
				t.Fatalf("bad finding %+v", fd)
			}
		}
		// A parsed skill is indexable.
		NewIndex([]Skill{s}).Select(s.Description, "", 1)
	})
}
