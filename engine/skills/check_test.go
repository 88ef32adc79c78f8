package skills

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func parseSkill(t *testing.T, src string) Skill {
	t.Helper()
	s, ps := Parse("SKILL.md", []byte(src))
	if len(ps) > 0 {
		t.Fatalf("problems: %v", ps)
	}
	return s
}

const checksSkill = `---
name: toy
description: Toy checks.
checks:
  - id: throttled
    when: {metric: "/cpu.*throttl/", labels_present: [container], labels_absent: [init], above: 0.25}
    category: resource-limits
    finding: "container {container} of {resource} throttled ({value})"
  - id: band
    when: {metric: latency, above: 1, below: 10, resource_type: "/^k8s\\./"}
    category: dependency
    finding: "{name} in band at {value} on {resource_type}"
  - id: oom
    when: {log: OOMKilled, labels: {namespace: prod}}
    category: memory-leak
    finding: "{resource}: {text}"
  - id: sg
    when: {change: [infrastructure, config], text: "/security.?group/"}
    category: network
    finding: "{kind} {name} on {resource}: {text}"
---
body
`

func TestConditionMatches(t *testing.T) {
	s := parseSkill(t, checksSkill)
	byID := map[string]Check{}
	for _, c := range s.Checks {
		byID[c.ID] = c
	}
	metric := func(name string, v float64, labels map[string]string) Observation {
		return Observation{Kind: KindMetric, Resource: "r", ResourceType: "k8s.deployment", Name: name, Value: v, Labels: labels}
	}
	tests := []struct {
		name  string
		check string
		o     Observation
		want  bool
	}{
		{"throttled", "throttled", metric("container_cpu_throttled_ratio", 0.85, map[string]string{"container": "log-shipper"}), true},
		{"at the bound is not above", "throttled", metric("container_cpu_throttled_ratio", 0.25, map[string]string{"container": "x"}), false},
		{"label required", "throttled", metric("container_cpu_throttled_ratio", 0.85, nil), false},
		{"empty label is absent", "throttled", metric("container_cpu_throttled_ratio", 0.85, map[string]string{"container": ""}), false},
		{"label must be absent", "throttled", metric("container_cpu_throttled_ratio", 0.85, map[string]string{"container": "x", "init": "true"}), false},
		{"NaN never matches", "throttled", metric("container_cpu_throttled_ratio", math.NaN(), map[string]string{"container": "x"}), false},
		{"name mismatch", "throttled", metric("memory_usage", 0.85, map[string]string{"container": "x"}), false},
		{"kind mismatch", "throttled", Observation{Kind: KindLog, Name: "cpu_throttled", Value: 1, Labels: map[string]string{"container": "x"}}, false},
		{"band inside", "band", metric("latency_p99_s", 5, nil), true},
		{"band above", "band", metric("latency_p99_s", 10, nil), false},
		{"band resource type", "band", Observation{Kind: KindMetric, ResourceType: "aws.rds", Name: "latency", Value: 5}, false},
		{"log", "oom", Observation{Kind: KindLog, Text: "Last state: oomkilled", Labels: map[string]string{"namespace": "prod"}}, true},
		{"log label exact", "oom", Observation{Kind: KindLog, Text: "OOMKilled", Labels: map[string]string{"namespace": "preprod"}}, false},
		{"change", "sg", Observation{Kind: KindChange, Name: "infrastructure", Text: "RevokeSecurityGroupIngress sg-123"}, true},
		{"change kind case-insensitive", "sg", Observation{Kind: KindChange, Name: "Config", Text: "security group rule"}, true},
		{"change other kind", "sg", Observation{Kind: KindChange, Name: "deployment", Text: "security group"}, false},
		{"change text", "sg", Observation{Kind: KindChange, Name: "infrastructure", Text: "resize volume"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := byID[tt.check].Matches(tt.o); got != tt.want {
				t.Errorf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEvaluate(t *testing.T) {
	s := parseSkill(t, checksSkill)
	obs := []Observation{
		{Kind: KindMetric, Resource: "eks/shop/catalog", Name: "container_cpu_throttled_ratio", Value: 0.8523, Labels: map[string]string{"container": "log-shipper"}},
		{Kind: KindMetric, Resource: "eks/shop/catalog", Name: "container_cpu_throttled_ratio", Value: 0.01, Labels: map[string]string{"container": "catalog"}},
		{Kind: KindLog, Resource: "eks/shop/cart", Text: "container cart OOMKilled", Labels: map[string]string{"namespace": "prod"}},
		{Kind: KindLog, Resource: "eks/shop/cart", Text: "container  cart\nOOMKilled", Labels: map[string]string{"namespace": "prod"}},
		{Kind: KindChange, Resource: "aws/ec2/sg-1", Name: "infrastructure", Text: "RevokeSecurityGroupIngress tcp/5432"},
		{Kind: KindMetric, Resource: "aws/rds/db", Name: "cpu_throttled", Value: 0.9}, // no container label
	}
	got := Evaluate([]Skill{s}, obs)
	want := []Finding{
		{Skill: "toy", Check: "throttled", Category: "resource-limits", Resource: "eks/shop/catalog",
			Message: "container log-shipper of eks/shop/catalog throttled (0.852)", Count: 1, Observation: obs[0]},
		{Skill: "toy", Check: "oom", Category: "memory-leak", Resource: "eks/shop/cart",
			Message: "eks/shop/cart: container cart OOMKilled", Count: 2, Observation: obs[2]},
		{Skill: "toy", Check: "sg", Category: "network", Resource: "aws/ec2/sg-1",
			Message: "change infrastructure on aws/ec2/sg-1: RevokeSecurityGroupIngress tcp/5432", Count: 1, Observation: obs[4]},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("(-got +want)\n%s", diff)
	}
	if got := Evaluate(nil, obs); got != nil {
		t.Errorf("no skills: got %v", got)
	}
}

func TestRender(t *testing.T) {
	c := Check{Finding: "{{x}} {container} {value} {text}"}
	o := Observation{Kind: KindLog, Value: 2, Text: strings.Repeat("word ", 100)}
	got := c.Render(o)
	want := "{x} ? 2 " + strings.Repeat("word ", 39) + "word…"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestFormatValue(t *testing.T) {
	for _, tt := range []struct {
		in   float64
		want string
	}{
		{0.85, "0.85"}, {0.8523, "0.852"}, {12.345, "12.3"}, {3, "3"}, {1234.6, "1235"},
		{-0.25, "-0.25"}, {0.000012345, "1.23e-05"}, {1e20, "100000000000000000000"},
	} {
		if got := formatValue(tt.in); got != tt.want {
			t.Errorf("formatValue(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func BenchmarkEvaluate(b *testing.B) {
	set := Builtin()
	var obs []Observation
	for i := range 1000 {
		obs = append(obs,
			Observation{Kind: KindMetric, Resource: "r", Name: "container_cpu_usage_seconds_total", Value: float64(i), Labels: map[string]string{"container": "app"}},
			Observation{Kind: KindLog, Resource: "r", Text: "GET /api/orders 200 12ms request_id=abc123"},
		)
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(set, obs)
	}
}
