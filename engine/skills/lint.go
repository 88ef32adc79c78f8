package skills

import (
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a skill file.
type Problem struct {
	File    string // slash-separated path in the fs.FS (LintDir and LoadDir: an OS path)
	Line    int    // 1-based; 0 when the problem is about the file as a whole
	Field   string // "name", "agents[1]", "checks[0].when.above", "body", ...; may be empty
	Message string
}

// String formats the problem as "file:line: field: message", leaving out
// the line when it is 0 and the field when it is empty.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is the error Load returns when skills have problems: one line per
// problem.
type Problems []Problem

// Error lists the problems, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	if len(lines) == 1 {
		return "skills: " + lines[0]
	}
	return fmt.Sprintf("skills: %d problems:\n%s", len(lines), strings.Join(lines, "\n"))
}

// Lint checks every skill under root in fsys and returns all the problems
// at once, ordered by file and line: front matter missing, unterminated or
// not valid YAML, unknown fields, a missing or badly formed name or
// description, unknown agents, an empty body, malformed checks, and names
// used twice in the set (reported at the second use). No problems means Load
// succeeds.
func Lint(fsys fs.FS, root string) []Problem {
	if _, err := fs.Stat(fsys, root); err != nil {
		return []Problem{{File: root, Message: errMessage(err)}}
	}
	_, problems := load(fsys, root)
	return problems
}

// LintDir lints a directory of the local file system (see Lint). File names
// in problems are prefixed with dir so that they can be opened as printed.
func LintDir(dir string) []Problem {
	ps := Lint(os.DirFS(dir), ".")
	if len(ps) == 0 {
		return nil
	}
	return prefixProblems(dir, ps)
}

// errMessage drops the operation and path that a *fs.PathError repeats: the
// Problem names the file already.
func errMessage(err error) string {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}
