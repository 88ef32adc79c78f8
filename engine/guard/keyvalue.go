package guard

import (
	"regexp"
	"strings"
)

// ---- password-in-url ---------------------------------------------------------------

// detect-secrets BasicAuthDetector: ://[^:/?#\[\]@!$&'()*+,;=\s]+:([^:/?#\[\]
// @!$&'()*+,;=\s]+)@. Here the authority runs to the first '/', '?', '#',
// quote or white space and its last '@' ends the user information (as in
// net/url), so a password that contains '@' or ':' is still masked whole.
func scanPasswordInURL(sc *scanner, prio int) {
	s := sc.s
	eachIndex(s, "://", func(i int) {
		if !isAlnum(before(s, i)) {
			return
		}
		a := i + 3
		e := a
		for e < len(s) && e-a < 2048 && !isAuthorityStop(s[e]) {
			e++
		}
		userinfo := s[a:e]
		k := strings.LastIndexByte(userinfo, '@')
		if k <= 0 {
			return
		}
		userinfo = userinfo[:k]
		colon := indexOutsidePlaceholders(userinfo, ':')
		if colon < 0 || colon == len(userinfo)-1 {
			return
		}
		sc.add(a+colon+1, a+k, prio)
	})
}

func isAuthorityStop(c byte) bool {
	return isSpace(c) || strings.IndexByte("/?#\"'<>\\`", c) >= 0
}

// indexOutsidePlaceholders is strings.IndexByte that skips placeholders, so
// that user:[REDACTED:…] splits at the first colon.
func indexOutsidePlaceholders(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '[' && strings.HasPrefix(s[i:], placeholderPrefix) {
			if j := strings.IndexByte(s[i:], ']'); j > 0 {
				i += j
				continue
			}
		}
		if s[i] == c {
			return i
		}
	}
	return -1
}

// ---- bearer-token, basic-auth ------------------------------------------------------

// The credential after the word Bearer (gitleaks curl-auth-header and the
// generic authorization rules), and after "Authorization:" with any scheme
// but Basic (which is basic-auth) and Bearer (found by the word). A
// credential is at least eight characters of [A-Za-z0-9._~+/-] with optional
// '=' padding (RFC 6750 b64token), and holds a digit or is twenty characters
// long, so that "Bearer authentication failed" stays.
func scanBearerToken(sc *scanner, prio int) {
	s := sc.s
	eachIndex(sc.lower, "bearer", func(i int) {
		if isLetter(before(s, i)) {
			return
		}
		q := run(s, i+6, isBlank)
		if q == i+6 {
			return
		}
		if end := credentialEnd(s, q); end > q {
			sc.add(q, end, prio)
		}
	})
	sc.each(true, "auth", func(i int) {
		v, ok := authorizationValue(sc, i)
		if !ok {
			return
		}
		w := run(sc.lower, v, func(c byte) bool { return isLowerAlnum(c) || c == '-' })
		if q := run(s, w, isBlank); q > w && w > v {
			switch sc.lower[v:w] {
			case "basic", "bearer", "digest", "negotiate", "ntlm":
				return
			}
			v = q
		}
		if end := credentialEnd(s, v); end > v {
			sc.add(v, end, prio)
		}
	})
}

func scanBasicAuth(sc *scanner, prio int) {
	sc.each(true, "auth", func(i int) {
		v, ok := authorizationValue(sc, i)
		if !ok || !strings.HasPrefix(sc.lower[v:], "basic") {
			return
		}
		q := run(sc.s, v+5, isBlank)
		if q == v+5 {
			return
		}
		if end := runMax(sc.s, q, maxToken, isB64Char); end-q >= 4 {
			sc.add(q, end, prio)
		}
	})
}

var authHeader = regexp.MustCompile(`^authorization(?:\\*["'])?[ \t]*[:=][ \t]*(?:\\*["'])?`)

// authorizationValue returns where the value of an Authorization header (or
// field) that starts at i begins.
func authorizationValue(sc *scanner, i int) (int, bool) {
	if !strings.HasPrefix(sc.lower[i:], "authorization") || isLetter(before(sc.s, i)) {
		return 0, false
	}
	m := authHeader.FindStringIndex(sc.lower[i:])
	if m == nil {
		return 0, false
	}
	return i + m[1], true
}

func isCredentialChar(c byte) bool { return isTokenChar(c) || strings.IndexByte("._~+/", c) >= 0 }

// credentialEnd returns the end of the credential at i, or i when what is
// there does not look like one.
func credentialEnd(s string, i int) int {
	end := runMax(s, i, maxToken, isCredentialChar)
	for end < len(s) && s[end] == '=' {
		end++
	}
	n := end - i
	if n < 8 || (n < 20 && !classify(s[i:end]).digit) {
		return i
	}
	return end
}

// ---- password -------------------------------------------------------------------------

// detect-secrets KeywordDetector: a denylisted word (password, passwd, pwd,
// secret, token, api_key, …) followed by =, :, := or => and a value, with a
// FALSE_POSITIVES list of values that are not secrets. Here the key must end
// in the word (client_secret and DB_PASSWORD do; secret_name and max_tokens
// do not), only the value is masked, and the value may be quoted (also with
// the backslash-escaped quotes of JSON inside JSON), unquoted, a --flag
// argument or an XML element's text.
type keyWord struct {
	word      string
	needle    string // searched for; a prefix of word shared with other words
	anyPrefix bool   // may follow letters directly: dbpassword, csrftoken
	weakBare  bool   // an English word when alone: needs a generated-looking value
	qualified bool   // needs one of keyQualifiers before it: api_key, accessKey
}

var keyWords = []keyWord{
	{word: "password", needle: "pass", anyPrefix: true},
	{word: "passwd", needle: "pass", anyPrefix: true},
	{word: "passphrase", needle: "pass", anyPrefix: true},
	{word: "pwd", needle: "pwd"},
	{word: "secret", needle: "secret", anyPrefix: true, weakBare: true},
	{word: "token", needle: "token", anyPrefix: true, weakBare: true},
	{word: "auth", needle: "auth", weakBare: true},
	{word: "key", needle: "key", qualified: true},
}

// keyQualifiers make "key" a secret: api_key, x-api-key, accessKey,
// private-key, client_key, Ocp-Apim-Subscription-Key, license_key… (the
// detect-secrets DENYLIST *key entries). cache_key, sort_key, object key
// and ssh_key (usually a public key or a path) are not secrets.
var keyQualifiers = []string{
	"api", "access", "secret", "private", "priv", "auth", "client", "app",
	"application", "signing", "encryption", "master", "account", "service",
	"subscription", "license", "licence", "db", "database", "consumer", "shared",
}

// secretKeyAt reports whether a secret-looking key name ends with the word
// kw at s[i:]: the key's end is not checked here. weak is set for a bare
// weak word.
func secretKeyAt(s, lower string, i int, kw keyWord) (weak, ok bool) {
	prev := before(lower, i)
	if kw.qualified {
		j := i
		if prev == '_' || prev == '-' || prev == '.' {
			j--
		}
		for _, q := range keyQualifiers {
			if !strings.HasSuffix(lower[:j], q) {
				continue
			}
			qs := j - len(q)
			if !isLetter(before(lower, qs)) || isCamel(s, qs) {
				return false, true
			}
		}
		return false, false
	}
	switch {
	case prev == 0 || !(isWord(prev) || prev == '-' || prev == '.'):
		return kw.weakBare, true
	case prev == '_' || prev == '-' || prev == '.' || isDigit(prev):
		return false, true
	case kw.anyPrefix || isCamel(s, i):
		return false, true
	}
	return false, false
}

// isCamel reports whether s[i] starts a word of a camelCase name.
func isCamel(s string, i int) bool {
	return isUpper(at(s, i)) && (isLower(before(s, i)) || isDigit(before(s, i)))
}

// isSecretKeyName reports whether a whole key name (of a JSON object, say)
// is secret-looking by the rules of the password kind, or is an HTTP header
// that carries credentials.
func isSecretKeyName(name string) bool {
	lower := asciiLower(name)
	switch strings.TrimPrefix(lower, "x-") {
	case "authorization", "proxy-authorization", "cookie", "set-cookie":
		return true
	}
	for _, kw := range keyWords {
		if !strings.HasSuffix(lower, kw.word) {
			continue
		}
		if _, ok := secretKeyAt(name, lower, len(lower)-len(kw.word), kw); ok {
			return true
		}
	}
	return false
}

func scanPassword(sc *scanner, prio int) {
	for _, kw := range keyWords {
		covered := 0 // a key inside the value found last is part of that value
		sc.each(true, kw.needle, func(i int) {
			if i < covered || !strings.HasPrefix(sc.lower[i:], kw.word) || sc.inPlaceholder(i) {
				return
			}
			e := i + len(kw.word)
			if c := at(sc.s, e); isWord(c) || ((c == '-' || c == '.') && isWord(at(sc.s, e+1))) {
				return // the key goes on: password_hash, secretName, token.expiry
			}
			weak, ok := secretKeyAt(sc.s, sc.lower, i, kw)
			if !ok {
				return
			}
			if start, end, ok := keyValue(sc.s, i, e, weak); ok {
				sc.add(start, end, prio)
				covered = end
			}
		})
	}
}

const maxValue = 1024

// keyValue finds the value of the key that ends at e (its last word starts
// at i) and reports whether it is one to mask.
func keyValue(s string, i, e int, weak bool) (start, end int, ok bool) {
	ks := i
	for ks > 0 && (isWord(s[ks-1]) || s[ks-1] == '-' || s[ks-1] == '.') {
		ks--
	}
	if inURLAuthority(s, ks) {
		return 0, 0, false // scheme://token:VALUE@host is password-in-url's
	}
	// <password>value</password>
	if at(s, e) == '>' && before(s, ks) == '<' {
		v := e + 1
		j := strings.IndexByte(s[v:min(len(s), v+maxValue)], '<')
		if j <= 0 || plainlyNotSecret(s[v:v+j]) {
			return 0, 0, false
		}
		return v, v + j, true
	}
	p := e
	keyQuoted := false
	if q := quoteLen(s, p); q > 0 {
		p += q
		keyQuoted = true
	}
	afterKey := p
	p = run(s, p, isBlank)
	switch {
	case strings.HasPrefix(s[p:], ":="), strings.HasPrefix(s[p:], "=>"), strings.HasPrefix(s[p:], "=="):
		p += 2
	case at(s, p) == '=':
		p++
	case at(s, p) == ':' && at(s, p+1) != ':':
		p++
	case p > afterKey && !keyQuoted && strings.HasPrefix(s[ks:], "--") && (ks == 0 || isSpace(s[ks-1])):
		// --password value
		if at(s, p) == '-' {
			return 0, 0, false
		}
	default:
		return 0, 0, false
	}
	p = run(s, p, isBlank)
	if q := quoteLen(s, p); q > 0 {
		v := p + q
		end := closingQuote(s, v, q-1, s[p+q-1])
		if end <= v || plainlyNotSecret(s[v:end]) {
			return 0, 0, false
		}
		return v, end, true
	}
	if keyQuoted {
		// JSON: an unquoted value is a number, true, false or null.
		end := run(s, p, func(c byte) bool { return isDigit(c) || c == '.' || c == '-' || c == '+' })
		if end == p || isWord(at(s, end)) {
			return 0, 0, false
		}
		return p, end, true
	}
	end = p
	for end < len(s) && end-p < maxValue && !isValueStop(s[end]) {
		end++
	}
	v := s[p:end]
	if v == "" || plainlyNotSecret(v) || (weak && !classify(v).generated()) {
		return 0, 0, false
	}
	return p, end, true
}

// quoteLen returns the length of the quote at i: a " or ' after any number
// (up to seven) of backslashes, or 0.
func quoteLen(s string, i int) int {
	k := 0
	for k < 8 && at(s, i+k) == '\\' {
		k++
	}
	if c := at(s, i+k); c == '"' || c == '\'' {
		return k + 1
	}
	return 0
}

// closingQuote returns where the quoted value that starts at v ends: before
// the quote q that is preceded by the same escaping as the opening one (bs
// backslashes), or at the end of the line when there is none.
func closingQuote(s string, v, bs int, q byte) int {
	limit := min(len(s), v+maxValue)
	for j := v; j < limit; j++ {
		switch s[j] {
		case '\n', '\r':
			return j
		case q:
			n := 0
			for j-1-n >= v && s[j-1-n] == '\\' {
				n++
			}
			if bs == 0 && n%2 == 0 {
				return j
			}
			if bs > 0 && n%(2*(bs+1)) == bs {
				return j - bs
			}
		}
	}
	return limit
}

func isValueStop(c byte) bool {
	return isSpace(c) || strings.IndexByte("\"',;&<>)}]|`\\", c) >= 0
}

// plainlyNotSecret reports values that stand for no secret at all (the
// detect-secrets FALSE_POSITIVES list, shortened): empty words, masks,
// templates, variable references and file paths.
func plainlyNotSecret(v string) bool {
	if v == "" {
		return true
	}
	switch asciiLower(v) {
	case "true", "false", "null", "nil", "none", "undefined", "empty", "enabled",
		"disabled", "yes", "no", "on", "off", "required", "optional", "hidden",
		"masked", "redacted", "filtered", "<redacted>", "[redacted]", "[filtered]",
		"(redacted)", "(hidden)", "n/a", "-":
		return true
	}
	if strings.Trim(v, "*•#.-") == "" || (len(v) >= 3 && strings.Trim(v, "xX") == "") {
		return true // a mask: ****, ••••, xxxx
	}
	for _, p := range [...]string{"${", "{{", "$(", "%(", "#{", "<%", "/", "./", "../", "~/"} {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	if v[0] == '<' && v[len(v)-1] == '>' {
		return true
	}
	if v[0] == '$' && len(v) > 1 && run(v, 1, isWord) == len(v) {
		return true // $DB_PASSWORD
	}
	return false
}

// classes records which kinds of character a string holds.
type classes struct {
	digit, upper, lower, sep, other bool
	n                               int
}

func classify(v string) classes {
	c := classes{n: len(v)}
	for i := 0; i < len(v); i++ {
		switch b := v[i]; {
		case isDigit(b):
			c.digit = true
		case isUpper(b):
			c.upper = true
		case isLower(b):
			c.lower = true
		case b == '-' || b == '_' || b == '.':
			c.sep = true
		default:
			c.other = true
		}
	}
	return c
}

// generated reports whether a value looks machine-made rather than a word:
// letters with digits, mixed case, a symbol, or twenty characters.
func (c classes) generated() bool {
	return (c.digit && (c.upper || c.lower)) || (c.upper && c.lower && c.n >= 8) || c.other || c.n >= 20
}
