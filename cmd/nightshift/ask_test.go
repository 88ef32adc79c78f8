package main

import (
	"strings"
	"testing"

	"github.com/nightshift-ops/nightshift/integrations/llm/llmtest"
)

// The five kinds of question, answered without a model from the tools.
func TestAskWithoutModel(t *testing.T) {
	cfg := "../../deploy/examples/nightshift.yaml"
	tests := []struct{ q, want string }{
		{"what changed in the last day?", "changes in this space in the last 24 hours"},
		{"which alarms are firing?", "alarms firing"},
		{"how is catalog configured?", "container catalog: CPU limit"},
		{"what depends on orders-db?", "What depends on aws/rds/orders-db"},
		{"have we had incidents like this before?", "past investigations"},
		{"tell me a joke", "I can answer"},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			code, out, errOut := cli(t, "ask", "--config", cfg, "--space", "retail-prod", tt.q)
			if code != 0 || !strings.Contains(out, tt.want) {
				t.Fatalf("ask %q: %d\n%s%s", tt.q, code, out, errOut)
			}
		})
	}
	if code, _, errOut := cli(t, "ask", "--config", cfg, "--space", "nope", "x"); code == 0 || !strings.Contains(errOut, "no space") {
		t.Fatalf("unknown space: %d %s", code, errOut)
	}
}

// With a model, a free-form question is answered by the model calling the
// space's tools, and the answer cites them; secrets never reach the model.
func TestAskWithModel(t *testing.T) {
	srv := llmtest.NewOpenAIServer(t)
	srv.Enqueue(
		llmtest.Tools(llmtest.Call("c1", "list_changes", `{}`)).WithUsage(900, 20),
		llmtest.Text("The cart-sync Lambda was deployed shortly before the DynamoDB throttling (list_changes#3).").WithUsage(1200, 40),
	)
	code, out, errOut := cli(t, "ask", "--config", "../../deploy/examples/nightshift.yaml", "--space", "retail-prod",
		"--llm-base-url", srv.URL, "--llm-model", "m", "anything risky shipped today?")
	if code != 0 || !strings.Contains(out, "cart-sync Lambda was deployed") {
		t.Fatalf("ask: %d %s %s", code, out, errOut)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d model requests", len(reqs))
	}
	var tool string
	for _, m := range reqs[1].Messages {
		if m.Role == "tool" {
			tool = m.Content
		}
	}
	if !strings.Contains(tool, "<untrusted-data") || !strings.Contains(tool, "list_changes#") {
		t.Fatalf("tool result not fenced: %.200s", tool)
	}
}
