package skills

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"The container is throttled", []string{"container", "throttl"}},
		{"throttling throttles throttle THROTTLED", []string{"throttl", "throttl", "throttl", "throttl"}},
		{"queries retried retries query", []string{"query", "retry", "retry", "query"}},
		{"processes processing processed", []string{"process", "process", "process"}},
		{"stopped running killed", []string{"stop", "run", "kill"}},
		{"limits limited limiting", []string{"limit", "limit", "limit"}},
		{"OOMKilled ThrottledRequests", []string{"oom", "kill", "oomkill", "throttl", "request", "throttledrequest"}},
		{"x509: dns tls aws status redis", []string{"x509", "dns", "tls", "aws", "status", "redis"}},
		{"container_cpu_cfs_throttled_periods_total{container=\"log-shipper\"}",
			[]string{"container", "cpu", "cfs", "throttl", "period", "total", "container", "log", "shipper"}},
		{"a I é 5 of and-or", nil},
		{"Überlastung café", []string{"überlastung", "café"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(Tokenize(tt.in), tt.want); diff != "" {
			t.Errorf("Tokenize(%q) (-got +want)\n%s", tt.in, diff)
		}
	}
}

func toy(name, desc, body string, agents ...string) Skill {
	return Skill{Name: name, Description: desc, Body: body, Agents: agents}
}

func names(ms []Match) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Skill.Name)
	}
	return out
}

var toyCorpus = []Skill{
	toy("cpu-throttling", "Use when a container is CPU throttled by its own limit.",
		"Compare container_cpu_cfs_throttled_periods_total with periods. Raise the sidecar limit.", AgentRCA, AgentMitigation),
	toy("disk-space", "Use when a disk or volume is full.",
		"Look for No space left on device. Grow the volume, rotate old files."),
	toy("dns-failures", "Use when name resolution fails.",
		"CoreDNS SERVFAIL, no such host, NXDOMAIN. Scale CoreDNS."),
	toy("alert-linking", "Use when a new alert may belong to an open incident.",
		"Compare resources, services and time.", AgentTriage),
}

func TestSelectRanking(t *testing.T) {
	ix := NewIndex(toyCorpus)

	t.Run("relevant first, unrelated excluded", func(t *testing.T) {
		got := ix.Select("catalog p99 latency high; container log-shipper is throttling (throttled ratio 0.85)", "", 10)
		if diff := cmp.Diff(names(got), []string{"cpu-throttling"}); diff != "" {
			t.Errorf("(-got +want)\n%s", diff)
		}
		if got[0].Score <= 0 {
			t.Errorf("score = %v", got[0].Score)
		}
	})
	t.Run("several relevant, best first", func(t *testing.T) {
		got := ix.Select("volume full: no space left; also DNS no such host", "", 10)
		if diff := cmp.Diff(names(got), []string{"disk-space", "dns-failures"}); diff != "" {
			t.Errorf("(-got +want)\n%s", diff)
		}
	})
	t.Run("nothing in common", func(t *testing.T) {
		if got := ix.Select("kafka consumer lag", "", 10); got != nil {
			t.Errorf("got %v, want nothing", names(got))
		}
		if got := ix.Select("", "", 10); got != nil {
			t.Errorf("empty query: got %v", names(got))
		}
	})
	t.Run("agent filter", func(t *testing.T) {
		if got := ix.Select("container throttled limit", AgentTriage, 10); got != nil {
			t.Errorf("triage got %v; cpu-throttling is for rca and mitigation only", names(got))
		}
		got := ix.Select("new alert for an open incident; disk full", AgentTriage, 10)
		// disk-space lists no agents: it applies to every agent.
		if diff := cmp.Diff(names(got), []string{"alert-linking", "disk-space"}); diff != "" {
			t.Errorf("(-got +want)\n%s", diff)
		}
	})
	t.Run("k", func(t *testing.T) {
		got := ix.Select("volume full: no space left; also DNS no such host", "", 1)
		if diff := cmp.Diff(names(got), []string{"disk-space"}); diff != "" {
			t.Errorf("(-got +want)\n%s", diff)
		}
		if got := ix.Select("volume full; DNS no such host", "", 0); len(got) != 2 {
			t.Errorf("k=0: got %v, want no limit", names(got))
		}
	})
}

func TestSelectIDF(t *testing.T) {
	// "service" is in every skill, "certificate" in one. Each skill holds one
	// query word once, at the same length: the rarer word must win.
	ix := NewIndex([]Skill{
		toy("common", "service alpha bravo", "x1 x2"),
		toy("rare", "certificate alpha bravo", "x1 x2"),
		toy("filler-one", "service charlie delta", "x1 x2"),
		toy("filler-two", "service echo foxtrot", "x1 x2"),
	})
	got := ix.Select("service certificate", "", 2)
	if diff := cmp.Diff(names(got), []string{"rare", "common"}); diff != "" {
		t.Fatalf("(-got +want)\n%s", diff)
	}
	if !(got[0].Score > 2*got[1].Score) {
		t.Errorf("rare %.3f should far outscore common %.3f", got[0].Score, got[1].Score)
	}
}

func TestSelectLengthNormalisation(t *testing.T) {
	padding := strings.Repeat("lorem ipsum dolor sit amet consectetur ", 40)
	ix := NewIndex([]Skill{
		toy("long", "Replication lag runbook.", padding),
		toy("short", "Replication lag runbook.", "Short."),
		toy("other", "Unrelated.", padding),
	})
	got := ix.Select("replication lag", "", 0)
	if diff := cmp.Diff(names(got), []string{"short", "long"}); diff != "" {
		t.Fatalf("(-got +want)\n%s", diff)
	}
	if !(got[0].Score > got[1].Score) {
		t.Errorf("short %.3f should outscore long %.3f", got[0].Score, got[1].Score)
	}
}

func TestSelectDescriptionWeighsMore(t *testing.T) {
	ix := NewIndex([]Skill{
		toy("in-body", "Use when things break.", "Check the quota usage."),
		toy("in-description", "Use when a quota breaks.", "Check the things usage."),
	})
	got := ix.Select("quota", "", 0)
	if diff := cmp.Diff(names(got), []string{"in-description", "in-body"}); diff != "" {
		t.Errorf("(-got +want)\n%s", diff)
	}
}

func TestSelectTermSaturation(t *testing.T) {
	// Repeating a word many times must not beat covering more of the query.
	ix := NewIndex([]Skill{
		toy("spammy", "latency latency latency latency latency latency", "latency latency latency latency"),
		toy("covering", "latency and errors", "errors"),
	})
	got := ix.Select("latency errors", "", 0)
	if diff := cmp.Diff(names(got), []string{"covering", "spammy"}); diff != "" {
		t.Errorf("(-got +want)\n%s", diff)
	}
}

func TestSelectStableTies(t *testing.T) {
	ix := NewIndex([]Skill{
		toy("zulu", "Use when the gateway fails.", "Steps."),
		toy("alpha", "Use when the gateway fails.", "Steps."),
		toy("mike", "Use when the gateway fails.", "Steps."),
	})
	for range 20 {
		if diff := cmp.Diff(names(ix.Select("gateway", "", 0)), []string{"alpha", "mike", "zulu"}); diff != "" {
			t.Fatalf("(-got +want)\n%s", diff)
		}
	}
}

func TestSelectEmptyIndex(t *testing.T) {
	if got := NewIndex(nil).Select("anything", "", 5); got != nil {
		t.Errorf("got %v", got)
	}
	if got := NewIndex([]Skill{{Name: "blank"}}).Select("anything", "", 5); got != nil {
		t.Errorf("got %v", got)
	}
}

// corpus returns n skills: the built-in ones and generated runbooks with a
// realistic vocabulary, so that document frequencies look like a real set.
func corpus(n int) []Skill {
	set := Builtin()
	var vocab []string
	for _, s := range set {
		vocab = append(vocab, strings.Fields(s.Body)...)
	}
	r := rand.New(rand.NewPCG(1, 2))
	words := func(k int) string {
		var b strings.Builder
		for range k {
			b.WriteString(vocab[r.IntN(len(vocab))])
			b.WriteByte(' ')
		}
		return b.String()
	}
	for i := len(set); i < n; i++ {
		set = append(set, toy(fmt.Sprintf("generated-%03d", i), words(25), words(300+r.IntN(300))))
	}
	return set[:n]
}

const benchQuery = `catalog p99 latency above 5 s. Resources: k8s.deployment, aws.rds.instance.
Findings: container log-shipper is CPU-throttled (0.85 of periods); deployment catalog v2.14.0
added a sidecar 15 minutes before the onset; GET /catalog/products timed out after 8000ms`

func BenchmarkSelect(b *testing.B) {
	ix := NewIndex(corpus(200))
	b.ReportAllocs()
	for b.Loop() {
		ix.Select(benchQuery, AgentRCA, 5)
	}
}

func BenchmarkNewIndex(b *testing.B) {
	set := corpus(200)
	b.ReportAllocs()
	for b.Loop() {
		NewIndex(set)
	}
}
