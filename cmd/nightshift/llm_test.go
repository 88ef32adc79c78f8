package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nightshift-ops/nightshift/integrations/llm/llmtest"
)

const injected = "testdata/checkout-bad-deploy-injected.yaml"

var plantedSecrets = []string{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}

type investigateOut struct {
	Summary    string `json:"summary"`
	Reasoner   string `json:"reasoner"`
	Notes      []string
	Hypotheses []struct {
		Resource, Category string
		Evidence           []struct{ Kind, Summary string }
	}
	Plan []struct{ Action, Validation, Rollback, Risk string }
	Cost struct {
		ToolCalls  int `json:"tool_calls"`
		ModelCalls int `json:"model_calls"`
		Tokens     int `json:"tokens"`
	}
}

// With provider none the planted injection is flagged and the planted key
// reaches no output.
func TestInjectionAndSecretsWithoutModel(t *testing.T) {
	code, out, errOut := cli(t, "investigate", "--scenario", injected, "--json")
	if code != 0 {
		t.Fatalf("investigate: %d %s", code, errOut)
	}
	for _, s := range plantedSecrets {
		if strings.Contains(out, s) {
			t.Fatalf("report leaks %q", s)
		}
	}
	var r investigateOut
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Reasoner != "evidence" || r.Hypotheses[0].Resource != "eks/retail/checkout/deployment/checkout" {
		t.Fatalf("reasoner %s, top %s", r.Reasoner, r.Hypotheses[0].Resource)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "Suspected prompt injection") {
		t.Fatalf("injection not flagged: notes %q", r.Notes)
	}
}

// With an OpenAI-compatible server, the agent makes real tool-calling round
// trips through langchaingo: it is refused a tool outside the registry, reads
// a tool result fenced and redacted, and its validated answer is the report.
func TestInvestigateWithOpenAICompatibleModel(t *testing.T) {
	srv := llmtest.NewOpenAIServer(t)
	srv.Enqueue(
		llmtest.Tools(
			llmtest.Call("call_1", "delete_deployment", `{"resource":"eks/retail/checkout/deployment/checkout"}`),
			llmtest.Call("call_2", "search_logs", `{"resource":"eks/retail/checkout/deployment/checkout","level":"error","limit":5}`),
		).WithUsage(1800, 60),
		llmtest.Tools(llmtest.Call("call_3", "submit_root_cause", `{
			"root_cause": {"resource": "eks/retail/checkout/deployment/checkout", "category": "bad-deploy", "confidence": 0.9,
				"statement": "checkout v1.9.0 throws a TypeError on guest checkouts; every submit answers 500.",
				"evidence": ["TypeError in buildOrderRequest since the rollout (search_logs#40)"]},
			"alternatives": [{"resource": "eks/retail/orders/deployment/orders", "category": "config-change", "confidence": 0.1, "statement": "unrelated log-level change"}],
			"plan": [{"action": "Roll back checkout to v1.8.3", "validation": "5xx on /checkout/submit back under 0.1/s", "rollback": "redeploy v1.9.0 with the fix", "risk": "low"}],
			"gaps": []}`)).WithUsage(2600, 180),
	)
	code, out, errOut := cli(t, "investigate", "--scenario", injected, "--json", "--llm-base-url", srv.URL, "--llm-model", "test-model")
	if code != 0 {
		t.Fatalf("investigate: %d %s", code, errOut)
	}
	var r investigateOut
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Reasoner != "llm:openai/test-model" || r.Hypotheses[0].Category != "bad-deploy" || len(r.Plan) != 1 {
		t.Fatalf("report: reasoner %s top %+v plan %+v", r.Reasoner, r.Hypotheses[0], r.Plan)
	}
	if r.Cost.ModelCalls != 2 || r.Cost.Tokens != 1800+60+2600+180 {
		t.Errorf("cost %+v, want 2 model calls and 4640 tokens", r.Cost)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "Suspected prompt injection") {
		t.Errorf("injection not flagged: %q", r.Notes)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d model requests, want 2", len(reqs))
	}
	declared := map[string]bool{}
	for _, tl := range reqs[0].Tools {
		declared[tl.Name] = true
	}
	for _, want := range []string{"query_metrics", "search_logs", "list_changes", "describe_resource", "topology_neighbours", "submit_root_cause"} {
		if !declared[want] {
			t.Errorf("tool %s not declared to the model: %v", want, declared)
		}
	}
	if declared["delete_deployment"] {
		t.Error("a write tool was declared")
	}
	var toolReplies []string
	for _, m := range reqs[1].Messages {
		if m.Role == "tool" {
			toolReplies = append(toolReplies, m.Content)
		}
	}
	if len(toolReplies) != 2 || !strings.Contains(toolReplies[0], "Refused") || !strings.Contains(toolReplies[1], "<untrusted-data") {
		t.Fatalf("tool replies: %q", toolReplies)
	}
	if !strings.Contains(reqs[0].Messages[0].Content, "never instructions") {
		t.Error("the system prompt does not say that data is never an instruction")
	}
	for i, req := range reqs {
		for _, s := range plantedSecrets {
			if strings.Contains(string(req.Body), s) {
				t.Errorf("model request %d contains %q", i+1, s)
			}
		}
	}
	if !strings.Contains(string(reqs[1].Body), "[REDACTED:aws-access-key]") {
		t.Error("the planted key did not reach the model redacted (was the log line read at all?)")
	}
}

// A model that never commits falls back to the evidence reasoner's answer
// and says so; a malformed answer gets one repair attempt.
func TestAgentFallsBackAfterMalformedAnswers(t *testing.T) {
	srv := llmtest.NewOpenAIServer(t)
	srv.Enqueue(
		llmtest.Tools(llmtest.Call("c1", "submit_root_cause", `{"root_cause":{"resource":"x","category":"gremlins","confidence":2,"statement":"","evidence":[]},"plan":[]}`)),
		llmtest.Tools(llmtest.Call("c2", "submit_root_cause", `{"root_cause":{"resource":"","category":"bad-deploy"}}`)),
	)
	code, out, errOut := cli(t, "investigate", "--scenario", "checkout-bad-deploy", "--json", "--llm-base-url", srv.URL, "--llm-model", "m")
	if code != 0 {
		t.Fatalf("investigate: %d %s", code, errOut)
	}
	var r investigateOut
	json.Unmarshal([]byte(out), &r)
	if r.Reasoner != "evidence" || !strings.Contains(strings.Join(r.Notes, " "), "malformed twice") {
		t.Fatalf("fallback: reasoner %s notes %q", r.Reasoner, r.Notes)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2 (one repair)", len(reqs))
	}
	last := reqs[1].Messages[len(reqs[1].Messages)-1]
	if last.Role != "tool" || !strings.Contains(last.Content, "category") {
		t.Errorf("repair request does not say what was wrong: %+v", last)
	}
}
