package journal

import (
	"bytes"
	"encoding/json"
	"sort"
	"testing"
	"time"
)

// referenceCanonical is the obvious implementation: decode into generic
// values (numbers kept as written), encode with sorted keys and HTML
// escaping off. The fast canonicalizer must agree with it on every valid
// input.
func referenceCanonical(data []byte) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if len(bytes.Trim(data[dec.InputOffset():], " \t\r\n")) > 0 {
		return nil, false
	}
	var buf bytes.Buffer
	var write func(v any)
	write = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			buf.WriteByte('{')
			for i, k := range keys {
				if i > 0 {
					buf.WriteByte(',')
				}
				write(k)
				buf.WriteByte(':')
				write(x[k])
			}
			buf.WriteByte('}')
		case []any:
			buf.WriteByte('[')
			for i, e := range x {
				if i > 0 {
					buf.WriteByte(',')
				}
				write(e)
			}
			buf.WriteByte(']')
		default:
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.Encode(x)
			buf.Truncate(buf.Len() - 1)
		}
	}
	write(v)
	return buf.Bytes(), true
}

func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[true,false,null,"x"]}`, `{"z":{"y":"<&>","x":1.50e3}}`, `"é\u2028\n"`,
		`[{"a":{}},[]]`, `{"a":1,"a":2}`, `-0.0`, `{"k":"\ud83d\ude00"}`, `  {"s" : "a\"b" }  `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, ok := referenceCanonical(data)
		e := Entry{Seq: 1, Time: time.Unix(0, 0), Type: "t", Actor: "a", Data: data}
		got, err := Canonical(e)
		if !ok {
			return // the fast path may accept or refuse invalid JSON; it must not panic
		}
		if err != nil {
			t.Fatalf("Canonical(%q): %v", data, err)
		}
		wantEntry := `{"actor":"a","data":` + string(want) + `,"seq":1,"time":"1970-01-01T00:00:00Z","type":"t"}`
		if hasDuplicateKeys(data) {
			return // duplicate keys: generic decoding keeps the last, the scanner keeps both
		}
		if string(got) != wantEntry {
			t.Fatalf("Canonical(%q)\n got %s\nwant %s", data, got, wantEntry)
		}
	})
}

func hasDuplicateKeys(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	var stack []map[string]bool
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, map[string]bool{})
				expectKey = true
				continue
			case '}':
				stack = stack[:len(stack)-1]
			case '[':
				stack = append(stack, nil)
			case ']':
				stack = stack[:len(stack)-1]
			}
		case string:
			if expectKey && len(stack) > 0 && stack[len(stack)-1] != nil {
				if stack[len(stack)-1][t] {
					return true
				}
				stack[len(stack)-1][t] = true
				expectKey = false
				continue
			}
		}
		expectKey = len(stack) > 0 && stack[len(stack)-1] != nil
	}
}

func BenchmarkSeal(b *testing.B) {
	data := json.RawMessage(`{"alert_id":"al_06h0013m4m9cfek3cfw7evg","candidates":[{"investigation":"inv_x","reasons":"same service and region, 4 min apart","score":0.84}],"decision":"linked","reasons":"same service and region, 4 min apart","score":0.84,"threshold":0.6}`)
	for b.Loop() {
		if _, _, err := Seal(Head{}, Entry{Time: time.Now(), Type: "correlated", Actor: "intake", Data: data}); err != nil {
			b.Fatal(err)
		}
	}
}
