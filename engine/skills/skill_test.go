package skills

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func skillFile(name, desc string, extra ...string) *fstest.MapFile {
	s := "---\nname: " + name + "\ndescription: " + desc + "\n"
	for _, e := range extra {
		s += e + "\n"
	}
	return &fstest.MapFile{Data: []byte(s + "---\n# " + name + "\n\nDo the thing.\n")}
}

func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"skills/README.md":                 {Data: []byte("not a skill")},
		"skills/zeta/SKILL.md":             skillFile("zeta", "Last by name."),
		"skills/zeta/queries.md":           {Data: []byte("ref")},
		"skills/zeta/refs/dashboards.json": {Data: []byte("{}")},
		"skills/zeta/nested/SKILL.md":      skillFile("alpha", "Nested skill, first by name.", "agents: [triage]"),
		"skills/zeta/nested/notes.txt":     {Data: []byte("nested ref")},
		"skills/group/mid/SKILL.md":        skillFile("mid", "In a plain group folder."),
		"skills/.hidden/SKILL.md":          skillFile("hidden", "Skipped."),
		"skills/zeta/.git/config":          {Data: []byte("skipped")},
		"skills/group/mid/.DS_Store":       {Data: []byte("skipped")},
		"elsewhere/SKILL.md":               skillFile("outside", "Not under root."),
	}
	got, err := Load(fsys, "skills")
	if err != nil {
		t.Fatal(err)
	}
	var names, paths []string
	for _, s := range got {
		names = append(names, s.Name)
		paths = append(paths, s.Path)
	}
	if diff := cmp.Diff(names, []string{"alpha", "mid", "zeta"}); diff != "" {
		t.Errorf("names (-got +want)\n%s", diff)
	}
	if diff := cmp.Diff(paths, []string{"skills/zeta/nested/SKILL.md", "skills/group/mid/SKILL.md", "skills/zeta/SKILL.md"}); diff != "" {
		t.Errorf("paths (-got +want)\n%s", diff)
	}
	if diff := cmp.Diff(got[2].References, []string{"queries.md", "refs/dashboards.json"}); diff != "" {
		t.Errorf("zeta references (-got +want)\n%s", diff)
	}
	if diff := cmp.Diff(got[0].References, []string{"notes.txt"}); diff != "" {
		t.Errorf("alpha references (-got +want)\n%s", diff)
	}
	if got[1].References != nil {
		t.Errorf("mid references = %v, want none", got[1].References)
	}
	if got[0].Dir != "skills/zeta/nested" {
		t.Errorf("dir = %q", got[0].Dir)
	}

	b, err := ReadReference(fsys, got[2], "refs/dashboards.json")
	if err != nil || string(b) != "{}" {
		t.Errorf("ReadReference = %q, %v", b, err)
	}
	if _, err := ReadReference(fsys, got[2], "../../elsewhere/SKILL.md"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadReference outside the list: err = %v, want fs.ErrNotExist", err)
	}
}

func TestLoadRootIsSkill(t *testing.T) {
	fsys := fstest.MapFS{
		"SKILL.md": skillFile("root", "A skill at the root."),
		"ref.md":   {Data: []byte("r")},
	}
	got, err := Load(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Dir != "." || !cmp.Equal(got[0].References, []string{"ref.md"}) {
		t.Errorf("got %+v", got)
	}
}

func TestLoadKeepsGoodSkills(t *testing.T) {
	fsys := fstest.MapFS{
		"a/SKILL.md": skillFile("dup", "First."),
		"b/SKILL.md": skillFile("dup", "Second."),
		"c/SKILL.md": skillFile("Bad_Name", "Bad."),
		"d/SKILL.md": skillFile("good", "Fine."),
	}
	got, err := Load(fsys, ".")
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v, want Problems", err)
	}
	if len(ps) != 2 {
		t.Errorf("problems = %v, want 2", ps)
	}
	var names []string
	for _, s := range got {
		names = append(names, s.Name)
	}
	if diff := cmp.Diff(names, []string{"dup", "good"}); diff != "" {
		t.Errorf("(-got +want)\n%s", diff)
	}
	if got[0].Description != "First." {
		t.Errorf("kept %q, want the first of the duplicates", got[0].Description)
	}
}

func TestLoadMissingRoot(t *testing.T) {
	_, err := Load(fstest.MapFS{}, "nope")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, data string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("ok/SKILL.md", string(skillFile("ok", "Fine.").Data))
	set, err := LoadDir(dir)
	if err != nil || len(set) != 1 || set[0].Path != "ok/SKILL.md" {
		t.Fatalf("LoadDir = %+v, %v", set, err)
	}
	write("bad/SKILL.md", "no front matter\n")
	_, err = LoadDir(dir)
	want := filepath.Join(dir, "bad", "SKILL.md") + ":1: front matter: missing"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want it to contain %q", err, want)
	}
	ps := LintDir(dir)
	if len(ps) != 1 || ps[0].File != filepath.Join(dir, "bad", "SKILL.md") {
		t.Errorf("LintDir = %v", ps)
	}
	if _, err := LoadDir(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: err = %v", err)
	}
}

func TestAppliesTo(t *testing.T) {
	all := Skill{}
	rca := Skill{Agents: []string{AgentRCA}}
	for _, tt := range []struct {
		s     Skill
		agent string
		want  bool
	}{
		{all, AgentTriage, true},
		{rca, AgentRCA, true},
		{rca, AgentTriage, false},
		{rca, "", true},
	} {
		if got := tt.s.AppliesTo(tt.agent); got != tt.want {
			t.Errorf("%v.AppliesTo(%q) = %v", tt.s.Agents, tt.agent, got)
		}
	}
}
