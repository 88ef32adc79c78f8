package skills

import (
	"embed"
	"io/fs"
)

//go:embed builtin
var builtinFiles embed.FS

// BuiltinFS returns the built-in skills as a file system rooted at the
// folder that holds them (one folder per skill), for Load, Lint and
// ReadReference with root ".".
func BuiltinFS() fs.FS {
	sub, err := fs.Sub(builtinFiles, "builtin")
	if err != nil {
		panic(err) // "builtin" is a valid path: cannot happen
	}
	return sub
}

// Builtin returns the skills that ship with Nightshift, sorted by name: one
// per root-cause category plus triage and mitigation. Each call parses them
// anew, so callers own the result. The test suite proves they lint clean;
// Builtin panics if they do not.
func Builtin() []Skill {
	set, err := Load(BuiltinFS(), ".")
	if err != nil {
		panic("skills: built-in skills are invalid: " + err.Error())
	}
	return set
}
