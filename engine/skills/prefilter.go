package skills

import (
	"bytes"
	"regexp/syntax"
	"strings"
)

// minLiteral is the shortest literal worth a substring search before a
// regular expression: below it the search rejects too little to pay.
const minLiteral = 3

// requiredLiterals returns lower-case ASCII strings at least one of which
// every match of the case-insensitive expression expr contains, or nil when
// it cannot tell. Checks are mostly alternations of error messages
// ("/x509:|certificate has expired|.../"), and most log lines match none of
// them: a few substring searches reject those lines far faster than the
// regexp engine, which only runs on the lines that pass.
func requiredLiterals(expr string) [][]byte {
	re, err := syntax.Parse("(?i)"+expr, syntax.Perl)
	if err != nil {
		return nil
	}
	var lits [][]byte
	for _, l := range required(re.Simplify()) {
		if len(l) < minLiteral {
			return nil
		}
		lits = append(lits, []byte(l))
	}
	return lits
}

func required(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		if !isASCII(s) {
			return nil
		}
		return []string{strings.ToLower(s)}
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
	case syntax.OpConcat:
		// Every part is required: use the part whose literals are longest.
		var best []string
		for _, sub := range re.Sub {
			if l := required(sub); l != nil && (best == nil || shortest(l) > shortest(best)) {
				best = l
			}
		}
		return best
	case syntax.OpAlternate:
		// One branch is required: each must have its literals.
		var all []string
		for _, sub := range re.Sub {
			l := required(sub)
			if l == nil {
				return nil
			}
			all = append(all, l...)
		}
		return all
	}
	return nil
}

func shortest(lits []string) int {
	n := len(lits[0])
	for _, l := range lits[1:] {
		n = min(n, len(l))
	}
	return n
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// mayMatch reports whether s can match a regexp with these required
// literals. It answers only for ASCII text, where lower-casing is exactly
// the regexp's case folding; other text always goes to the regexp.
func mayMatch(lits [][]byte, s string) bool {
	if lits == nil {
		return true
	}
	var buf [512]byte
	b := buf[:0]
	if len(s) > len(buf) {
		b = make([]byte, 0, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return true
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	for _, l := range lits {
		if bytes.Contains(b, l) {
			return true
		}
	}
	return false
}
