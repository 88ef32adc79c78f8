package skills

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRequiredLiterals(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{"x509:|certificate has expired|certificate is not yet valid", []string{"x509:", "certificate "}},
		{"Insufficient (cpu|memory)|Too many pods", []string{"insufficient ", "too many pods"}},
		{"security.?group|\\bnacl\\b", []string{"security", "nacl"}},
		{"(?-i)^CPU_.*ratio$", []string{"ratio"}},
		{"(abc)+x", []string{"abc"}},
		{"a{2,}bcd", []string{"bcd"}},
		{"cpu|x", nil},      // a branch too short to be worth it
		{"cpu|[0-9]+", nil}, // a branch without a literal
		{"(foo)?bar?", nil}, // "ba" is all that is required: too short
		{"café|tea", nil},   // non-ASCII literal
		{"^$", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, l := range requiredLiterals(tt.expr) {
			got = append(got, string(l))
		}
		if diff := cmp.Diff(got, tt.want); diff != "" {
			t.Errorf("requiredLiterals(%q) (-got +want)\n%s", tt.expr, diff)
		}
	}
}

// The prefilter must never change what a pattern matches.
func TestPrefilterAgreesWithRegexp(t *testing.T) {
	var exprs []string
	for _, s := range Builtin() {
		for _, c := range s.Checks {
			for _, p := range []Pattern{c.When.Metric, c.When.Log, c.When.Text} {
				if p.re != nil {
					exprs = append(exprs, p.src[1:len(p.src)-1])
				}
			}
		}
	}
	exprs = append(exprs, "(?-i)CPU", "security.?group", "ſecret|kelvin")
	texts := []string{
		"", "x509: certificate has expired", "X509: CERTIFICATE HAS EXPIRED", "ſecret", "secret", "\u212Aelvin", "KELVIN",
		"FATAL: sorry, too many clients already", "no space left on device", "SecurityGroup sg-1", "CPU", "cpu",
		"0/3 nodes are available: 3 Insufficient memory.", "ThrottledRequests", "container_cpu_throttled_ratio",
		strings.Repeat("long line ", 60) + "X509: bad", strings.Repeat("long line ", 60),
	}
	for _, e := range exprs {
		p, err := ParsePattern("/" + e + "/")
		if err != nil {
			t.Fatal(err)
		}
		plain := regexp.MustCompile("(?i)" + e)
		for _, s := range texts {
			if got, want := p.Match(s), plain.MatchString(s); got != want {
				t.Errorf("/%s/ on %q: Match = %v, regexp = %v", e, s, got, want)
			}
		}
	}
}

func FuzzPrefilter(f *testing.F) {
	f.Add("x509:|certificate (has )?expired", "tls: X509: Certificate has expired")
	f.Add("security.?group|\\bnacl\\b", "RevokeSecurityGroupIngress")
	f.Add("(?-i)ABC|def+g", "xxabc")
	f.Add("ſecret", "SECRET")
	f.Fuzz(func(t *testing.T, expr, text string) {
		plain, err := regexp.Compile("(?i)" + expr)
		if err != nil {
			return
		}
		if got, want := mayMatch(requiredLiterals(expr), text) && plain.MatchString(text), plain.MatchString(text); got != want {
			t.Fatalf("/%s/ on %q: prefiltered %v, regexp %v (literals %s)", expr, text, got, want, requiredLiterals(expr))
		}
	})
}
