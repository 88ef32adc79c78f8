package guard

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRedactJSON(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
	}{
		{"values redacted, keys and layout kept",
			`{
  "user": "alice@example.com",
  "password": "hunter2",
  "nested": {"api_key": 12345, "note": "key ` + awsKeyID + `"},
  "tokens": 3,
  "list": ["ok", "bob@example.org"],
  "flag": true, "n": null
}`,
			`{
  "user": "[REDACTED:email]",
  "password": "[REDACTED:password]",
  "nested": {"api_key": "[REDACTED:password]", "note": "key [REDACTED:aws-access-key]"},
  "tokens": 3,
  "list": ["ok", "[REDACTED:email]"],
  "flag": true, "n": null
}`},
		{"escapes decoded before redaction, html not escaped on the way out",
			`{"msg":"x\u0040y \"alice@example.com\" <b>"}`,
			`{"msg":"x@y \"[REDACTED:email]\" <b>"}`},
		{"secret keys: whole value, arrays too; plain values kept",
			`{"Authorization":"Bearer abc","Cookie":"sid=1","secrets":["a"],"client_secret":["s1","s2"],"password":"","token":"${TOKEN}","auth":{"user":"bob","pass":"x"}}`,
			`{"Authorization":"[REDACTED:password]","Cookie":"[REDACTED:password]","secrets":["a"],"client_secret":["[REDACTED:password]","[REDACTED:password]"],"password":"","token":"${TOKEN}","auth":{"user":"bob","pass":"x"}}`},
		{"nothing to redact returns the input",
			`[1, 2.5e3, "10.0.0.1", {"ip": "192.168.1.1", "pod": "checkout-7d9f8b6c5d-x2x4z"}]`,
			`[1, 2.5e3, "10.0.0.1", {"ip": "192.168.1.1", "pod": "checkout-7d9f8b6c5d-x2x4z"}]`},
		{"json inside a json string",
			`{"body":"{\"password\":\"hunter2\"}"}`,
			`{"body":"{\"password\":\"[REDACTED:password]\"}"}`},
		{"already redacted",
			`{"password":"[REDACTED:password]","e":"[REDACTED:email]"}`,
			`{"password":"[REDACTED:password]","e":"[REDACTED:email]"}`},
		{"invalid json is redacted as text",
			`{"password": "hunter2", broken`,
			`{"password": "[REDACTED:password]", broken`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, _ := RedactJSON([]byte(c.in))
			if diff := cmp.Diff(string(got), c.want); diff != "" {
				t.Errorf("(-got +want):\n%s", diff)
			}
			if json.Valid([]byte(c.in)) && !json.Valid(got) {
				t.Errorf("output is not valid JSON: %s", got)
			}
		})
	}
}

func TestRedactJSONFindingOffsets(t *testing.T) {
	raw := []byte(`{"a":"\u00e9\u00e9 alice@example.com","password":"p\"w","n":{"api_key":42}}`)
	_, found := RedactJSON(raw)
	var got []string
	for _, f := range found {
		got = append(got, f.Kind+" "+string(raw[f.Start:f.End]))
	}
	want := []string{"email alice@example.com", `password p\"w`, "password 42"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("(-got +want):\n%s", diff)
	}
}

func TestDecodeStringMatchesEncodingJSON(t *testing.T) {
	for _, lit := range []string{`""`, `"plain"`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\ud83d\ude00\u0041"`, `"\ud800x"`, `"\udc00\ud800"`, "\"\xff\xfe\"", `"é€😀"`} {
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatalf("%s: %v", lit, err)
		}
		got, pos := decodeString([]byte(lit))
		if got != want {
			t.Errorf("decodeString(%s) = %q, want %q", lit, got, want)
		}
		if pos != nil && (len(pos) != len(got)+1 || pos[len(got)] != len(lit)-1) {
			t.Errorf("decodeString(%s): positions %v", lit, pos)
		}
	}
}
