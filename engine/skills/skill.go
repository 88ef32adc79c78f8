package skills

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// FileName is the name of the file that makes a folder a skill.
const FileName = "SKILL.md"

// maxFileSize caps SKILL.md: a runbook longer than this is a mistake (or not
// a runbook), and the whole file is read into memory.
const maxFileSize = 1 << 20

// Agents a skill may be written for, as listed in its `agents` field.
const (
	AgentTriage     = "triage"     // correlation of new alerts with open investigations
	AgentRCA        = "rca"        // root-cause analysis
	AgentMitigation = "mitigation" // the mitigation plan
	AgentEvaluation = "evaluation" // prevention: evaluation of the incident history
	AgentSRE        = "sre"        // on-demand questions in chat
)

var knownAgents = []string{AgentTriage, AgentRCA, AgentMitigation, AgentEvaluation, AgentSRE}

// categories is the fixed root-cause vocabulary (docs/SCENARIOS.md).
var categories = []string{
	"bad-deploy", "config-change", "resource-limits", "memory-leak",
	"capacity", "dependency", "database", "network", "certificate", "quota",
	"disk-full", "feature-flag",
}

// Categories returns the fixed vocabulary of root-cause categories that a
// check may yield, in the order the scenario contract lists them.
func Categories() []string { return slices.Clone(categories) }

// Skill is one parsed SKILL.md. Skills returned by this package share their
// slices and maps with nobody; treat them as read-only once handed to an
// Index.
type Skill struct {
	Name        string   // kebab-case, unique within a set
	Description string   // when the skill applies; what relevance ranking weighs most
	Agents      []string // the agents it is for; empty means every agent
	Checks      []Check  // deterministic rules for the evidence reasoner
	Body        string   // the Markdown instructions after the front matter

	// Path is the slash-separated path of the SKILL.md file and Dir its
	// folder, both relative to the fs.FS the skill was loaded from.
	Path string
	Dir  string
	// References are the other files in the skill's folder (and in its
	// subfolders that are not skills themselves), relative to Dir and
	// sorted. They are listed, not read: see ReadReference.
	References []string
}

// AppliesTo reports whether the skill is meant for agent: a skill that lists
// no agents applies to all of them, and the empty agent matches every skill.
func (s Skill) AppliesTo(agent string) bool {
	return agent == "" || len(s.Agents) == 0 || slices.Contains(s.Agents, agent)
}

// ReadReference reads one of the skill's reference files from fsys, which
// must be the fs.FS the skill was loaded from. Only names listed in
// s.References are served.
func ReadReference(fsys fs.FS, s Skill, name string) ([]byte, error) {
	if !slices.Contains(s.References, name) {
		return nil, fmt.Errorf("skill %s: reference %q: %w", s.Name, name, fs.ErrNotExist)
	}
	b, err := fs.ReadFile(fsys, path.Join(s.Dir, name))
	if err != nil {
		return nil, fmt.Errorf("skill %s: read reference: %w", s.Name, err)
	}
	return b, nil
}

// Load reads every skill under root in fsys: each folder holding a SKILL.md
// is one skill, at any depth (a skill's subfolder may hold another skill).
// Names starting with "." are skipped. Skills are returned sorted by name.
//
// When root cannot be read Load returns only that error. Otherwise, when any
// SKILL.md has a problem (the ones Lint reports), Load returns the skills
// that have none together with a Problems error listing every problem; of
// two skills with the same name the first in path order is kept. Callers
// that want all or nothing treat any error as fatal.
func Load(fsys fs.FS, root string) ([]Skill, error) {
	if _, err := fs.Stat(fsys, root); err != nil {
		return nil, fmt.Errorf("load skills: %w", err)
	}
	set, problems := load(fsys, root)
	if len(problems) > 0 {
		return set, Problems(problems)
	}
	return set, nil
}

// LoadDir loads the skills in a directory of the local file system (see
// Load). Skill paths stay relative to dir; file names in a Problems error are
// prefixed with dir so that they can be opened as printed.
func LoadDir(dir string) ([]Skill, error) {
	set, err := Load(os.DirFS(dir), ".")
	if ps, ok := err.(Problems); ok {
		return set, prefixProblems(dir, ps)
	}
	return set, err
}

func prefixProblems(dir string, ps []Problem) Problems {
	out := make(Problems, len(ps))
	for i, p := range ps {
		p.File = filepath.Join(dir, filepath.FromSlash(p.File))
		out[i] = p
	}
	return out
}

// load parses every skill under root, which must exist. It returns the
// skills without problems, sorted by name, and every problem found.
func load(fsys fs.FS, root string) ([]Skill, []Problem) {
	var (
		problems  []Problem
		skillDirs []string                // folders with a SKILL.md, in walk (path) order
		files     = map[string][]string{} // folder -> its other files
	)
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			problems = append(problems, Problem{File: p, Message: errMessage(err)})
			if d != nil && d.IsDir() && p != root {
				return fs.SkipDir
			}
			return nil
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		dir := path.Dir(p)
		switch {
		case d.Name() == FileName:
			skillDirs = append(skillDirs, dir)
		case strings.EqualFold(d.Name(), FileName):
			problems = append(problems, Problem{File: p, Message: "a skill file must be named exactly " + FileName})
		default:
			files[dir] = append(files[dir], p)
		}
		return nil
	})
	if err != nil { // only from the root itself
		problems = append(problems, Problem{File: root, Message: errMessage(err)})
	}
	if len(skillDirs) == 0 && len(problems) == 0 {
		problems = append(problems, Problem{File: root, Message: "no " + FileName + " found"})
	}

	isSkill := make(map[string]bool, len(skillDirs))
	for _, d := range skillDirs {
		isSkill[d] = true
	}
	refs := map[string][]string{}
	for dir, fl := range files {
		owner := dir
		for !isSkill[owner] && owner != root && owner != "." && owner != "/" {
			owner = path.Dir(owner)
		}
		if !isSkill[owner] {
			continue // a file outside every skill, such as a README at the root
		}
		for _, f := range fl {
			rel := f
			if owner != "." {
				rel = strings.TrimPrefix(f, owner+"/")
			}
			refs[owner] = append(refs[owner], rel)
		}
	}

	var (
		set   []Skill
		first = map[string]string{} // name -> path of the file that defined it
	)
	for _, dir := range skillDirs {
		file := path.Join(dir, FileName)
		data, err := readCapped(fsys, file)
		if err != nil {
			problems = append(problems, Problem{File: file, Message: errMessage(err)})
			continue
		}
		ps := parse(file, data)
		problems = append(problems, ps.problems...)
		if ps.skill.Name != "" {
			if prev, dup := first[ps.skill.Name]; dup {
				problems = append(problems, Problem{
					File: file, Line: ps.nameLine, Field: "name",
					Message: fmt.Sprintf("duplicate name %q: already used by %s", ps.skill.Name, prev),
				})
				continue
			}
			first[ps.skill.Name] = file
		}
		if len(ps.problems) > 0 {
			continue
		}
		s := ps.skill
		s.References = refs[dir]
		slices.Sort(s.References)
		set = append(set, s)
	}
	slices.SortFunc(set, func(a, b Skill) int { return strings.Compare(a.Name, b.Name) })
	slices.SortStableFunc(problems, func(a, b Problem) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
	return set, problems
}

func readCapped(fsys fs.FS, name string) ([]byte, error) {
	info, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if info.Size() > maxFileSize {
		return nil, fmt.Errorf("file is %d bytes, more than the %d allowed", info.Size(), maxFileSize)
	}
	return fs.ReadFile(fsys, name)
}
