package guard

import (
	"encoding/binary"
	"slices"
	"strings"
)

// Kinds of secret and personal data that Redact recognises. A Finding's Kind
// is one of these, and the placeholder that replaces it is
// "[REDACTED:" + kind + "]".
const (
	KindPrivateKey    = "private-key"
	KindAWSAccessKey  = "aws-access-key"
	KindAWSSecretKey  = "aws-secret-key"
	KindGitHubToken   = "github-token"
	KindSlackWebhook  = "slack-webhook"
	KindSlackToken    = "slack-token"
	KindAnthropicKey  = "anthropic-key"
	KindOpenAIKey     = "openai-key"
	KindStripeKey     = "stripe-key"
	KindGoogleAPIKey  = "google-api-key"
	KindJWT           = "jwt"
	KindPasswordInURL = "password-in-url"
	KindBearerToken   = "bearer-token"
	KindBasicAuth     = "basic-auth"
	KindPassword      = "password"
	KindCardNumber    = "card-number"
	KindEmail         = "email"
)

// Finding is one redacted span: its kind and its byte offsets [Start, End)
// in the text that was redacted (not in the output).
type Finding struct {
	Kind       string
	Start, End int
}

// Placeholder returns the text that replaces a secret of the given kind.
func Placeholder(kind string) string { return placeholderPrefix + kind + "]" }

const placeholderPrefix = "[REDACTED:"

// Redact returns s with every secret and piece of personal data replaced by
// Placeholder(kind), and the spans it replaced, in order and not
// overlapping. Everything else in s is kept byte for byte. Redact is
// idempotent: Redact of its own output finds nothing. See the package
// comment for the rules and their limits.
func Redact(s string) (string, []Finding) {
	found := scan(s)
	if len(found) == 0 {
		return s, nil
	}
	out := render(s, found)
	fresh := found
	for range maxRounds {
		extra := rescan(s, out, found, fresh)
		if len(extra) == 0 {
			break
		}
		found = append(found, extra...)
		slices.SortFunc(found, func(a, b Finding) int { return a.Start - b.Start })
		out = render(s, found)
		fresh = extra
	}
	return out, found
}

// render replaces each finding's span of s with its placeholder.
func render(s string, found []Finding) string {
	var b strings.Builder
	n := len(s)
	for _, f := range found {
		n += len(placeholderPrefix) + len(f.Kind) + 1 - (f.End - f.Start)
	}
	b.Grow(n)
	last := 0
	for _, f := range found {
		b.WriteString(s[last:f.Start])
		b.WriteString(placeholderPrefix)
		b.WriteString(f.Kind)
		b.WriteByte(']')
		last = f.End
	}
	b.WriteString(s[last:])
	return b.String()
}

// A rule looks at the characters around a match (is the token glued to a
// word? is this number the tail of an e-mail address?), and a placeholder
// changes those characters. Redact therefore scans the text around each new
// placeholder again, until nothing more is found, which makes it idempotent.
// The rescan covers rescanReach bytes on each side of a placeholder and
// keeps only what it finds at least rescanEdge bytes inside that window, so
// that a match cut by the window's edge is not taken for a new one.
const (
	maxRounds   = 4
	rescanReach = 1024
	rescanEdge  = 256
)

// rescan scans out (s with found rendered) around the placeholders of fresh
// and returns what it finds there, in offsets of s.
func rescan(s, out string, found, fresh []Finding) []Finding {
	// Where each unchanged stretch of s sits in out.
	type stretch struct{ sStart, outStart, n int }
	stretches := make([]stretch, 0, len(found)+1)
	var windows [][2]int
	o, p := 0, 0
	fi := 0
	for _, f := range found {
		stretches = append(stretches, stretch{p, o, f.Start - p})
		o += f.Start - p
		n := len(placeholderPrefix) + len(f.Kind) + 1
		if fi < len(fresh) && fresh[fi] == f {
			fi++
			w := [2]int{max(0, o-rescanReach), min(len(out), o+n+rescanReach)}
			if k := len(windows); k > 0 && w[0] <= windows[k-1][1] {
				windows[k-1][1] = w[1]
			} else {
				windows = append(windows, w)
			}
		}
		o += n
		p = f.End
	}
	stretches = append(stretches, stretch{p, o, len(s) - p})

	var extra []Finding
	for _, w := range windows {
		for _, f := range scan(out[w[0]:w[1]]) {
			a, b := w[0]+f.Start, w[0]+f.End
			if (w[0] > 0 && a < w[0]+rescanEdge) || (w[1] < len(out) && b > w[1]-rescanEdge) {
				continue
			}
			// Map back to s; a match reaching into a placeholder cannot
			// happen (scan leaves placeholders alone) and is dropped.
			k, _ := slices.BinarySearchFunc(stretches, a, func(st stretch, a int) int { return st.outStart - a })
			if k == len(stretches) || stretches[k].outStart > a {
				k--
			}
			st := stretches[k]
			if b > st.outStart+st.n {
				continue
			}
			extra = append(extra, Finding{Kind: f.Kind, Start: st.sStart + a - st.outStart, End: st.sStart + b - st.outStart})
		}
	}
	return extra
}

// scanner holds one Redact call's text and the candidate matches its rules
// report.
type scanner struct {
	s     string
	lower string // s with ASCII letters lowered; same length and offsets
	ph    []span // placeholders already present in s
	cand  []span
	memo  []memo // offsets of the needles searched so far
}

// each calls fn with the offset of every occurrence of needle in the text
// (in its lowered copy when lower is set). Needles that several rules search
// for are found once.
func (sc *scanner) each(lower bool, needle string, fn func(i int)) {
	var m *memo
	for k := range sc.memo {
		if sc.memo[k].lower == lower && sc.memo[k].needle == needle {
			m = &sc.memo[k]
			break
		}
	}
	if m == nil {
		text := sc.s
		if lower {
			text = sc.lower
		}
		sc.memo = append(sc.memo, memo{lower: lower, needle: needle})
		m = &sc.memo[len(sc.memo)-1]
		eachIndex(text, needle, func(i int) { m.hits = append(m.hits, i) })
	}
	for _, i := range m.hits {
		fn(i)
	}
}

// memo holds the offsets of one needle.
type memo struct {
	lower  bool
	needle string
	hits   []int
}

type span struct {
	start, end int
	prio       int // index of the rule in rules; lower is more specific
}

// rule is one redaction rule. scan reports candidates through sc.add.
type rule struct {
	kind string
	scan func(sc *scanner, prio int)
}

// minSecret is the length of the shortest match of any rule that needs
// neither a separator (=, :, >, "--") nor an '@': a 13-digit card number.
// Shorter text without those characters holds nothing to redact, which
// spares RedactJSON a full scan of every short string value.
const minSecret = 13

// scan runs every rule over s and resolves overlaps.
func scan(s string) []Finding {
	if len(s) < minSecret && !strings.ContainsAny(s, "=:@>") && !strings.Contains(s, "--") {
		return nil
	}
	sc := &scanner{s: s, lower: asciiLower(s), memo: make([]memo, 0, 16)}
	sc.ph = findPlaceholders(s)
	for i, r := range rules {
		r.scan(sc, i)
	}
	if len(sc.cand) == 0 {
		return nil
	}
	return sc.resolve()
}

func (sc *scanner) add(start, end, prio int) {
	if start < 0 || end > len(sc.s) || start >= end {
		return
	}
	sc.cand = append(sc.cand, span{start, end, prio})
}

// inPlaceholder reports whether byte i lies inside a placeholder that was
// already in the text.
func (sc *scanner) inPlaceholder(i int) bool {
	return sc.overlapsPlaceholder(i, i+1)
}

// overlapsPlaceholder reports whether [start, end) touches a placeholder
// that was already in the text.
func (sc *scanner) overlapsPlaceholder(start, end int) bool {
	// The first placeholder that ends after start.
	k, _ := slices.BinarySearchFunc(sc.ph, start+1, func(p span, v int) int { return p.end - v })
	return k < len(sc.ph) && sc.ph[k].start < end
}

// resolve orders the candidates and merges overlaps: the earliest start
// wins, then the longest, then the most specific rule; a winner absorbs the
// tail of every candidate it overlaps, so that no fragment of a secret is
// left for a second pass to find.
func (sc *scanner) resolve() []Finding {
	slices.SortFunc(sc.cand, func(a, b span) int {
		if a.start != b.start {
			return a.start - b.start
		}
		if a.end != b.end {
			return b.end - a.end
		}
		return a.prio - b.prio
	})
	var out []Finding
	for _, c := range sc.cand {
		if sc.overlapsPlaceholder(c.start, c.end) {
			continue
		}
		if len(out) > 0 && c.start < out[len(out)-1].End {
			if last := &out[len(out)-1]; c.end > last.End {
				last.End = c.end
			}
			continue
		}
		out = append(out, Finding{Kind: rules[c.prio].kind, Start: c.start, End: c.end})
	}
	return out
}

// findPlaceholders returns the spans of "[REDACTED:kind]" in s.
func findPlaceholders(s string) []span {
	var out []span
	for i := 0; ; {
		j := strings.Index(s[i:], placeholderPrefix)
		if j < 0 {
			return out
		}
		i += j
		k := i + len(placeholderPrefix)
		for k < len(s) && k-i < 64 && (isLowerAlnum(s[k]) || s[k] == '-') {
			k++
		}
		if k < len(s) && s[k] == ']' && k > i+len(placeholderPrefix) {
			out = append(out, span{start: i, end: k + 1})
			i = k + 1
			continue
		}
		i++
	}
}

// isPlaceholders reports whether s is made of placeholders only.
func isPlaceholders(s string) bool {
	i := 0
	for _, p := range findPlaceholders(s) {
		if p.start != i {
			return false
		}
		i = p.end
	}
	return i == len(s) && i > 0
}

// asciiLower lowers ASCII letters only, so that offsets stay the same; it
// returns s itself when there is nothing to lower. It works on eight bytes
// at a time: lowering is the most expensive single step of a scan.
func asciiLower(s string) string {
	i := 0
	for i < len(s) && !isUpper(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		h := w &^ highs                  // the low seven bits of each byte
		geA := h + ones*(0x80-'A')       // high bit set where byte >= 'A'
		gtZ := h + ones*(0x80-'Z'-1)     // high bit set where byte > 'Z'
		upper := geA &^ gtZ &^ w & highs // ASCII upper-case letters
		binary.LittleEndian.PutUint64(b[i:], w|upper>>2)
	}
	for ; i < len(b); i++ {
		if isUpper(b[i]) {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

// eachIndex calls fn with the offset of every occurrence of needle in text.
func eachIndex(text, needle string, fn func(i int)) {
	for off := 0; off < len(text); {
		j := strings.Index(text[off:], needle)
		if j < 0 {
			return
		}
		fn(off + j)
		off += j + 1
	}
}

func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isUpper(c byte) bool      { return 'A' <= c && c <= 'Z' }
func isLower(c byte) bool      { return 'a' <= c && c <= 'z' }
func isLetter(c byte) bool     { return isUpper(c) || isLower(c) }
func isAlnum(c byte) bool      { return isLetter(c) || isDigit(c) }
func isWord(c byte) bool       { return isAlnum(c) || c == '_' }
func isLowerAlnum(c byte) bool { return isLower(c) || isDigit(c) }
func isUpperAlnum(c byte) bool { return isUpper(c) || isDigit(c) }

// run returns the end of the longest run of bytes accepted by ok from i.
func run(s string, i int, ok func(byte) bool) int {
	for i < len(s) && ok(s[i]) {
		i++
	}
	return i
}

// runMax is run limited to max bytes.
func runMax(s string, i, max int, ok func(byte) bool) int {
	end := min(len(s), i+max)
	j := i
	for j < end && ok(s[j]) {
		j++
	}
	return j
}

// before returns the byte before i, or 0 at the start of s.
func before(s string, i int) byte {
	if i <= 0 {
		return 0
	}
	return s[i-1]
}

// at returns s[i], or 0 past the end.
func at(s string, i int) byte {
	if i < 0 || i >= len(s) {
		return 0
	}
	return s[i]
}
