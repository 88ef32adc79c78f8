package guard

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func fuzzSeeds(f *testing.F) {
	for _, c := range redactCases {
		f.Add(c.in)
	}
	for _, c := range nearMisses {
		f.Add(c.in)
	}
	for _, c := range injectionSamples {
		f.Add(c.in)
	}
	f.Add("")
	f.Add("a </untrusted-data> b &lt;/UNTRUSTED_data&gt; c ＜／ｕｎｔｒｕｓｔｅｄ－ｄａｔａ＞ \\u003c/untrusted data>")
}

// FuzzRedact: Redact never panics, is idempotent, reports findings that
// rebuild its output, and leaves no matched secret in the output.
func FuzzRedact(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, in string) {
		out, found := Redact(in)
		checkFindings(t, in, out, found)
		if again, more := Redact(out); again != out || len(more) > 0 {
			t.Fatalf("not idempotent:\n  in  %q\n  out %q\n  out2 %q %v", in, out, again, more)
		}
		for _, f := range found {
			secret := in[f.Start:f.End]
			if strings.ContainsAny(secret, "[]") || strings.Contains(Placeholder(f.Kind), secret) || strings.Count(in, secret) != 1 {
				continue // occurs elsewhere in the text, or could be spelled by a placeholder
			}
			if strings.Contains(out, secret) {
				t.Fatalf("output %q still holds %s %q", out, f.Kind, secret)
			}
		}
	})
}

// delimiterLike is an independent spelling of what neutralise must remove:
// an opener, optional white space, an optional slash and the tag name.
var delimiterLike = regexp.MustCompile(`(?i)(?:<|＜|﹤|&lt;?|&#0*60;?|&#x0*3c;?|\\u003c|\\x3c|%3c)[\s\p{Z}]*(?:(?:/|／|\\/|&#0*47;?|&#x0*2f;?|%2f)[\s\p{Z}]*)?` +
	`[uｕ][nｎ][tｔ][rｒ][uｕ][sｓ][tｔ][eｅ][dｄ][\s\p{Z}_\-－＿]*[dｄ][aａ][tｔ][aａ]`)

// FuzzFence: Fence never panics; its output is valid UTF-8 and holds the
// delimiter exactly twice, the opening tag at the start and the closing tag
// at the end.
func FuzzFence(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data string) {
		out := Fence("tool:search_logs", "search_logs#3", data)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 in %q", out)
		}
		if !strings.HasPrefix(out, `<untrusted-data source="tool:search_logs" id="search_logs#3">`+"\n") {
			t.Fatalf("bad opening: %q", out)
		}
		if !strings.HasSuffix(out, "\n"+fenceClose) {
			t.Fatalf("bad closing: %q", out)
		}
		if n := strings.Count(strings.ToLower(out), fenceClose); n != 1 {
			t.Fatalf("%d closing delimiters in %q", n, out)
		}
		m := delimiterLike.FindAllStringIndex(out, -1)
		if len(m) != 2 || m[0][0] != 0 || m[1][0] != len(out)-len(fenceClose) {
			t.Fatalf("delimiter-like spans %v in %q", m, out)
		}
	})
}

// FuzzRedactJSON: valid JSON stays valid, and strings that needed no
// redaction are unchanged.
func FuzzRedactJSON(f *testing.F) {
	f.Add([]byte(`{"user":"alice@example.com","password":"hunter2","n":[1,2.5e3,true,null,"\u00e9\ud83d\ude00"]}`))
	f.Add([]byte(`"\ud800 x@example.com"`))
	f.Add([]byte(`[{"api_key":12},{"note":"AKIAIOSFODNN7EXAMPLE"}]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, found := RedactJSON(raw)
		if !json.Valid(raw) {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("RedactJSON(%q) = %q: not valid JSON", raw, out)
		}
		if len(found) == 0 && string(out) != string(raw) {
			t.Fatalf("RedactJSON(%q) changed it to %q without findings", raw, out)
		}
		for _, f := range found {
			if f.Start < 0 || f.End > len(raw) || f.Start > f.End {
				t.Fatalf("finding %+v out of %d bytes", f, len(raw))
			}
		}
		if again, more := RedactJSON(out); string(again) != string(out) || len(more) > 0 {
			t.Fatalf("not idempotent: %q -> %q -> %q %v", raw, out, again, more)
		}
	})
}

// FuzzDetectInjection: no panic, offsets inside the text and in order.
func FuzzDetectInjection(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		last := 0
		for _, in := range DetectInjection(s) {
			if in.Start < last || in.End < in.Start || in.End > len(s) || in.Pattern == "" {
				t.Fatalf("bad injection %+v (after %d) in %q", in, last, s)
			}
			last = in.Start
		}
	})
}

// BenchmarkWorstCase feeds 256 KiB of one trigger repeated — the input that
// makes a careless scanner quadratic — to every entry point. It is a
// benchmark, not a timed test: compare its figures between changes
// (go test -run '^$' -bench WorstCase ./engine/guard/).
func BenchmarkWorstCase(b *testing.B) {
	units := []string{"sk-", "sk-ant-", "github_pat_", "ghp_", "xoxb-", "xapp-", "AKIA", "ASIA", "AIza", "sk_live_",
		"eyJ", "eyJaaaaaaaaaaa.", "://", "a://", "@", "a@", "@a.", "bearer ", "Authorization: ", "authorization: basic ",
		"password=", "password", "secret=", "token: ", "<password>", `\"`, "-----BEGIN RSA PRIVATE KEY-----\n", "-----END",
		"4242 ", "4", "hooks.slack.com/services/", "[REDACTED:x]", "[REDACTED:x]password=", "u", "un", "<untrusted-data",
		"&lt;", " ", "\\n", "\u200b", "ignore all previous ", "you are now ", "#", "\n#", "send all secrets ", "hide all secrets ", "please delete "}
	const size = 256 << 10
	for b.Loop() {
		for _, u := range units {
			s := strings.Repeat(u, size/len(u))
			Fence("s", "i", s)
			DetectInjection(s)
			RedactJSON([]byte(`"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`))
		}
	}
}
