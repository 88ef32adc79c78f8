package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"unicode/utf8"
)

// canonicalValue appends the canonical form of one JSON value to dst: object
// keys sorted (bytewise, as encoding/json sorts map keys), no insignificant
// white space, numbers as written, strings as encoding/json writes them with
// HTML escaping off. It walks the bytes once and allocates only for objects
// whose keys are out of order and strings that carry escapes, which is what
// makes sealing cheap on the intake path.
func canonicalValue(dst, src []byte) ([]byte, []byte, error) {
	src = skipSpace(src)
	if len(src) == 0 {
		return dst, src, errors.New("unexpected end of JSON")
	}
	switch c := src[0]; {
	case c == '{':
		return canonicalObject(dst, src[1:])
	case c == '[':
		dst = append(dst, '[')
		src = skipSpace(src[1:])
		if len(src) > 0 && src[0] == ']' {
			return append(dst, ']'), src[1:], nil
		}
		for {
			var err error
			dst, src, err = canonicalValue(dst, src)
			if err != nil {
				return dst, src, err
			}
			src = skipSpace(src)
			if len(src) == 0 {
				return dst, src, errors.New("unterminated array")
			}
			if src[0] == ']' {
				return append(dst, ']'), src[1:], nil
			}
			if src[0] != ',' {
				return dst, src, fmt.Errorf("unexpected %q in array", src[0])
			}
			dst = append(dst, ',')
			src = src[1:]
		}
	case c == '"':
		s, rest, err := readString(src)
		if err != nil {
			return dst, src, err
		}
		return appendString(dst, s), rest, nil
	case c == 't' && bytes.HasPrefix(src, []byte("true")):
		return append(dst, "true"...), src[4:], nil
	case c == 'f' && bytes.HasPrefix(src, []byte("false")):
		return append(dst, "false"...), src[5:], nil
	case c == 'n' && bytes.HasPrefix(src, []byte("null")):
		return append(dst, "null"...), src[4:], nil
	case c == '-' || c >= '0' && c <= '9':
		i := 1
		for i < len(src) && bytes.IndexByte([]byte("0123456789+-.eE"), src[i]) >= 0 {
			i++
		}
		if !json.Valid(src[:i]) {
			return dst, src, fmt.Errorf("invalid number %q", src[:i])
		}
		return append(dst, src[:i]...), src[i:], nil
	}
	return dst, src, fmt.Errorf("unexpected %q", src[0])
}

type member struct {
	key string
	val []byte // canonical
}

func canonicalObject(dst, src []byte) ([]byte, []byte, error) {
	var members []member
	src = skipSpace(src)
	if len(src) > 0 && src[0] == '}' {
		return append(dst, "{}"...), src[1:], nil
	}
	for {
		src = skipSpace(src)
		if len(src) == 0 || src[0] != '"' {
			return dst, src, errors.New("expected an object key")
		}
		key, rest, err := readString(src)
		if err != nil {
			return dst, src, err
		}
		src = skipSpace(rest)
		if len(src) == 0 || src[0] != ':' {
			return dst, src, errors.New("expected ':' after an object key")
		}
		var val []byte
		val, src, err = canonicalValue(nil, src[1:])
		if err != nil {
			return dst, src, err
		}
		members = append(members, member{key, val})
		src = skipSpace(src)
		if len(src) == 0 {
			return dst, src, errors.New("unterminated object")
		}
		if src[0] == '}' {
			src = src[1:]
			break
		}
		if src[0] != ',' {
			return dst, src, fmt.Errorf("unexpected %q in object", src[0])
		}
		src = src[1:]
	}
	sort.SliceStable(members, func(i, j int) bool { return members[i].key < members[j].key })
	dst = append(dst, '{')
	for i, m := range members {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, m.key)
		dst = append(dst, ':')
		dst = append(dst, m.val...)
	}
	return append(dst, '}'), src, nil
}

func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}

// readString reads a JSON string at the start of src.
func readString(src []byte) (string, []byte, error) {
	escaped := false
	for i := 1; i < len(src); i++ {
		switch src[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			if !escaped && utf8.Valid(src[1:i]) {
				return string(src[1:i]), src[i+1:], nil
			}
			var s string
			if err := json.Unmarshal(src[:i+1], &s); err != nil {
				return "", src, err
			}
			return s, src[i+1:], nil
		default:
			if src[i] < 0x20 {
				return "", src, errors.New("control character in string")
			}
		}
	}
	return "", src, errors.New("unterminated string")
}

// appendString writes s as encoding/json does with HTML escaping off.
func appendString(dst []byte, s string) []byte {
	simple := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			simple = false
			break
		}
	}
	if simple {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return append(dst, bytes.TrimRight(buf.Bytes(), "\n")...)
}

// appendHeader writes the canonical entry around already-canonical data.
func appendCanonical(dst []byte, e Entry, data []byte) []byte {
	dst = append(dst, `{"actor":`...)
	dst = appendString(dst, e.Actor)
	dst = append(dst, `,"data":`...)
	dst = append(dst, data...)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendInt(dst, e.Seq, 10)
	dst = append(dst, `,"time":`...)
	dst = appendString(dst, e.Time.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"))
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, e.Type)
	return append(dst, '}')
}
