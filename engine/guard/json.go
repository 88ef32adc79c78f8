package guard

import (
	"bytes"
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"
)

// RedactJSON redacts a JSON document: every string value goes through
// Redact, and a string or number under a secret-looking key (the keys of the
// password kind, plus the HTTP headers Authorization, Proxy-Authorization,
// Cookie and Set-Cookie) is replaced whole by the string
// "[REDACTED:password]", unless it is plainly not a secret (empty, a mask, a
// template). Object keys, numbers elsewhere, booleans, null, the order of
// members and all white space are kept, so the output is valid JSON that
// differs from the input only in the strings it redacted; a string is
// re-encoded without HTML escaping.
//
// Offsets in the findings are byte offsets in raw: of the secret's bytes
// inside its string literal (escapes counted as written), or of the whole
// literal, quotes excluded, for a value under a secret key. When raw is not
// valid JSON it is redacted as text by Redact, and the result is no more
// valid JSON than raw was.
func RedactJSON(raw []byte) ([]byte, []Finding) {
	if !json.Valid(raw) {
		out, found := Redact(string(raw))
		return []byte(out), found
	}
	w := jsonWalker{src: raw}
	w.value(w.space(0), false)
	if w.out == nil {
		return raw, nil
	}
	w.out = append(w.out, raw[w.copied:]...)
	return w.out, w.found
}

// jsonWalker copies a valid JSON document, rewriting the string values that
// need it. Nothing is allocated until the first rewrite.
type jsonWalker struct {
	src    []byte
	out    []byte
	copied int // src[:copied] is already in out (once out is not nil)
	found  []Finding
}

// replace writes repl in place of src[start:end].
func (w *jsonWalker) replace(start, end int, repl []byte) {
	if w.out == nil {
		w.out = make([]byte, 0, len(w.src)+64)
	}
	w.out = append(w.out, w.src[w.copied:start]...)
	w.out = append(w.out, repl...)
	w.copied = end
}

func (w *jsonWalker) space(i int) int {
	for i < len(w.src) && (w.src[i] == ' ' || w.src[i] == '\t' || w.src[i] == '\n' || w.src[i] == '\r') {
		i++
	}
	return i
}

// value walks the value at i and returns where it ends. secret says the
// value sits under a secret-looking key.
func (w *jsonWalker) value(i int, secret bool) int {
	switch c := w.src[i]; {
	case c == '{':
		i = w.space(i + 1)
		if w.src[i] == '}' {
			return i + 1
		}
		for {
			end := stringEnd(w.src, i)
			key, _ := decodeString(w.src[i:end])
			i = w.space(end)
			i = w.space(i + 1) // ':'
			i = w.space(w.value(i, isSecretKeyName(key)))
			if w.src[i] == '}' {
				return i + 1
			}
			i = w.space(i + 1) // ','
		}
	case c == '[':
		i = w.space(i + 1)
		if w.src[i] == ']' {
			return i + 1
		}
		for {
			i = w.space(w.value(i, secret))
			if w.src[i] == ']' {
				return i + 1
			}
			i = w.space(i + 1)
		}
	case c == '"':
		end := stringEnd(w.src, i)
		w.stringValue(i, end, secret)
		return end
	case c == 't' || c == 'n':
		return i + 4
	case c == 'f':
		return i + 5
	default: // number
		end := i
		for end < len(w.src) && bytes.IndexByte([]byte("+-.eE0123456789"), w.src[end]) >= 0 {
			end++
		}
		if secret {
			w.found = append(w.found, Finding{Kind: KindPassword, Start: i, End: end})
			w.replace(i, end, []byte(`"`+Placeholder(KindPassword)+`"`))
		}
		return end
	}
}

// stringValue redacts the string literal src[start:end].
func (w *jsonWalker) stringValue(start, end int, secret bool) {
	s, pos := decodeString(w.src[start:end])
	if secret {
		if plainlyNotSecret(s) || isPlaceholders(s) {
			return
		}
		w.found = append(w.found, Finding{Kind: KindPassword, Start: start + 1, End: end - 1})
		w.replace(start, end, []byte(`"`+Placeholder(KindPassword)+`"`))
		return
	}
	red, found := Redact(s)
	if len(found) == 0 {
		return
	}
	for _, f := range found {
		f.Start, f.End = start+rawOffset(pos, f.Start), start+rawOffset(pos, f.End)
		w.found = append(w.found, f)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(red) // a string always encodes
	w.replace(start, end, bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// rawOffset maps an offset in a decoded string to an offset in its literal
// (relative to the opening quote); pos is nil when the literal has no
// escapes.
func rawOffset(pos []int, d int) int {
	if pos == nil {
		return d + 1
	}
	return pos[d]
}

// stringEnd returns the end (after the closing quote) of the valid string
// literal that starts at i.
func stringEnd(src []byte, i int) int {
	for j := i + 1; ; j++ {
		switch src[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
}

// decodeString decodes a valid string literal, quotes included. When the
// literal has escapes (or invalid UTF-8) it also returns, for every byte of the result and one
// past its end, the offset in the literal of the escape or byte that produced
// it; otherwise pos is nil and offset d is d+1. Invalid UTF-8 and lone
// surrogates become U+FFFD, as encoding/json decodes them.
func decodeString(lit []byte) (s string, pos []int) {
	body := lit[1 : len(lit)-1]
	if bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
		return string(body), nil
	}
	out := make([]byte, 0, len(body))
	pos = make([]int, 0, len(body)+1)
	emit := func(from int, b ...byte) {
		for range b {
			pos = append(pos, from)
		}
		out = append(out, b...)
	}
	for i := 0; i < len(body); {
		from := i + 1
		c := body[i]
		if c != '\\' {
			r, n := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && n == 1 {
				emit(from, []byte(string(utf8.RuneError))...)
			} else {
				emit(from, body[i:i+n]...)
			}
			i += n
			continue
		}
		switch e := body[i+1]; e {
		case 'u':
			r := rune(hex4(body[i+2 : i+6]))
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 <= len(body) && body[i] == '\\' && body[i+1] == 'u' {
					r2 = rune(hex4(body[i+2 : i+6]))
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			emit(from, []byte(string(r))...)
		default:
			emit(from, unescape(e))
			i += 2
		}
	}
	pos = append(pos, len(lit)-1)
	return string(out), pos
}

func unescape(e byte) byte {
	switch e {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	}
	return e // " \ /
}

func hex4(h []byte) int {
	v := 0
	for _, c := range h {
		v <<= 4
		switch {
		case '0' <= c && c <= '9':
			v |= int(c - '0')
		case 'a' <= c && c <= 'f':
			v |= int(c-'a') + 10
		case 'A' <= c && c <= 'F':
			v |= int(c-'A') + 10
		}
	}
	return v
}
