package guard

import "strings"

// local@domain with an alphabetic top-level domain (RFC 5322 addr-spec,
// dot-atom form, restricted to the characters seen in practice). Not taken:
// user@localhost and user@10.0.0.1 (no top-level domain: a local account or
// host), the user of a URL (https://alice@host/), scp-style remotes and
// user@host:port (git@github.com:org/repo.git), and asset names such as
// logo@2x.png.
func scanEmail(sc *scanner, prio int) {
	s := sc.s
	for off := 0; off < len(s); {
		j := strings.IndexByte(s[off:], '@')
		if j < 0 {
			return
		}
		i := off + j
		off = i + 1
		a := i
		for a > 0 && i-a < 64 && isLocalChar(s[a-1]) {
			a--
		}
		for a < i && s[a] == '.' {
			a++
		}
		if a == i || s[i-1] == '.' {
			continue
		}
		b := i + 1
		for b < len(s) && b-i <= 253 && (isAlnumDash(s[b]) || s[b] == '.') {
			b++
		}
		for b > i+1 && (s[b-1] == '.' || s[b-1] == '-') {
			b--
		}
		if !emailDomain(sc.lower[i+1 : b]) {
			continue
		}
		if c := at(s, b); c == '_' || (c == ':' && b+1 < len(s) && !isSpace(s[b+1])) {
			continue
		}
		if inURLAuthority(s, a) {
			continue
		}
		sc.add(a, b, prio)
	}
}

func isLocalChar(c byte) bool { return isAlnum(c) || strings.IndexByte("._%+-", c) >= 0 }

// inURLAuthority reports whether the text that ends at a is the start of a
// URL's authority (scheme://user…).
func inURLAuthority(s string, a int) bool {
	for k := a - 1; k >= 0 && a-k < 256; k-- {
		switch c := s[k]; {
		case c == '/':
			return k >= 2 && s[k-1] == '/' && s[k-2] == ':'
		case isSpace(c) || strings.IndexByte("\"'<>", c) >= 0:
			return false
		}
	}
	return false
}

// fileExtensions are top-level domains in form only: icon@2x.png.
var fileExtensions = map[string]bool{
	"png": true, "jpg": true, "jpeg": true, "gif": true, "svg": true, "webp": true,
	"ico": true, "css": true, "js": true, "map": true, "json": true, "html": true,
	"htm": true, "txt": true, "log": true, "gz": true, "tgz": true, "pdf": true,
	"xml": true, "yaml": true, "yml": true, "ttf": true, "eot": true, "woff": true,
}

// emailDomain reports whether d (lower case) is a domain with at least two
// labels and an alphabetic top-level domain.
func emailDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' || len(l) > 63 {
			return false
		}
	}
	tld := labels[len(labels)-1]
	if len(tld) < 2 || fileExtensions[tld] {
		return false
	}
	for i := 0; i < len(tld); i++ {
		if !isLower(tld[i]) {
			return false
		}
	}
	return true
}
