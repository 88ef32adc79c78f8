package llm_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/google/go-cmp/cmp"
	"github.com/tmc/langchaingo/llms"

	"github.com/nightshift-ops/nightshift/integrations/llm"
	"github.com/nightshift-ops/nightshift/integrations/llm/llmtest"
)

const (
	testKey      = "sk-test-0123456789abcdef"
	bedrockModel = "anthropic.claude-3-5-sonnet-20240620-v1:0"
)

var logsSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"group": map[string]any{"type": "string", "description": "log group"},
	},
	"required": []any{"group"},
}

var tools = []llms.Tool{
	{Type: "function", Function: &llms.FunctionDefinition{Name: "get_logs", Description: "fetch CloudWatch logs", Parameters: logsSchema}},
	{Type: "function", Function: &llms.FunctionDefinition{Name: "get_metrics", Description: "fetch metrics", Parameters: map[string]any{"type": "object", "properties": map[string]any{}}}},
}

func question() []llms.MessageContent {
	return []llms.MessageContent{
		llms.TextParts(llms.ChatMessageTypeSystem, "You are an on-call engineer."),
		llms.TextParts(llms.ChatMessageTypeHuman, "Why is checkout returning 5xx?"),
	}
}

// followUp appends the assistant turn of choice (text and every tool call
// in one message) and one tool message holding every result, the way the
// agent loop is meant to; Model must make that work for every provider.
func followUp(msgs []llms.MessageContent, choice *llms.ContentChoice, results map[string]string) []llms.MessageContent {
	ai := llms.MessageContent{Role: llms.ChatMessageTypeAI}
	if choice.Content != "" {
		ai.Parts = append(ai.Parts, llms.TextContent{Text: choice.Content})
	}
	tool := llms.MessageContent{Role: llms.ChatMessageTypeTool}
	for _, tc := range choice.ToolCalls {
		ai.Parts = append(ai.Parts, tc)
		tool.Parts = append(tool.Parts, llms.ToolCallResponse{ToolCallID: tc.ID, Name: tc.FunctionCall.Name, Content: results[tc.FunctionCall.Name]})
	}
	return append(append(msgs[:len(msgs):len(msgs)], ai), tool)
}

func newModel(t *testing.T, c llm.Config, opts ...llm.Option) llms.Model {
	t.Helper()
	m, err := llm.New(context.Background(), c, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if m == nil {
		t.Fatal("New returned a nil model")
	}
	return m
}

func awsTestConfig() aws.Config {
	return aws.Config{
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRETTEST", ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}
}

// chunks collects what reaches a streaming func.
type chunks struct {
	mu  sync.Mutex
	got []string
}

func (c *chunks) fn(_ context.Context, b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, string(b))
	return nil
}

func (c *chunks) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.got...)
}

func jsonValue(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("unmarshal %s: %v", raw, err)
	}
	return v
}

func TestNewNoneReturnsNilModel(t *testing.T) {
	for _, c := range []llm.Config{{}, {Provider: "none"}, {Provider: " None "}} {
		m, err := llm.New(context.Background(), c)
		if err != nil || m != nil {
			t.Errorf("New(%v) = %v, %v; want nil, nil", c, m, err)
		}
	}
}

func TestNewRejectsMisconfiguration(t *testing.T) {
	_, err := llm.New(context.Background(), llm.Config{Provider: "openai", APIKey: testKey})
	if err == nil || !strings.Contains(err.Error(), "model: required for provider openai") {
		t.Fatalf("New error = %v, want the missing model", err)
	}
}

func TestOpenAIToolRoundTrip(t *testing.T) {
	srv := llmtest.NewOpenAIServer(t, llmtest.WithAPIKey(testKey))
	srv.Enqueue(
		llmtest.Tools(llmtest.Call("call_1", "get_logs", `{"group":"/eks/prod"}`)).WithUsage(120, 18),
		llmtest.Text("The checkout pods were OOMKilled.").WithUsage(160, 9),
	)
	m := newModel(t, llm.Config{Provider: "openai", Model: "gpt-4o", APIKey: testKey, BaseURL: srv.URL})

	resp, err := m.GenerateContent(context.Background(), question(), llms.WithTools(tools), llms.WithToolChoice("auto"))
	if err != nil {
		t.Fatalf("first turn: %v", err)
	}
	choice := resp.Choices[0]
	want := []llms.ToolCall{{ID: "call_1", Type: "function", FunctionCall: &llms.FunctionCall{Name: "get_logs", Arguments: `{"group":"/eks/prod"}`}}}
	if diff := cmp.Diff(choice.ToolCalls, want); diff != "" {
		t.Errorf("tool calls (-got +want):\n%s", diff)
	}
	if p, c := llm.Usage(choice); p != 120 || c != 18 {
		t.Errorf("Usage = %d, %d; want 120, 18", p, c)
	}

	msgs := followUp(question(), choice, map[string]string{"get_logs": "OOMKilled x3"})
	resp, err = m.GenerateContent(context.Background(), msgs, llms.WithTools(tools))
	if err != nil {
		t.Fatalf("second turn: %v", err)
	}
	if got := resp.Choices[0].Content; got != "The checkout pods were OOMKilled." {
		t.Errorf("answer = %q", got)
	}
	if p, c := llm.Usage(resp.Choices[0]); p != 160 || c != 9 {
		t.Errorf("Usage = %d, %d; want 160, 9", p, c)
	}

	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("server saw %d requests, want 2", len(reqs))
	}
	first := reqs[0]
	if first.Header.Get("Authorization") != "Bearer "+testKey || first.Model != "gpt-4o" {
		t.Errorf("auth/model = %q, %q", first.Header.Get("Authorization"), first.Model)
	}
	if len(first.Tools) != 2 || first.Tools[0].Name != "get_logs" || first.Tools[0].Type != "function" {
		t.Fatalf("tools declared = %+v", first.Tools)
	}
	if diff := cmp.Diff(jsonValue(t, first.Tools[0].Parameters), any(logsSchema)); diff != "" {
		t.Errorf("tool schema in request (-got +want):\n%s", diff)
	}
	if string(first.ToolChoice) != `"auto"` {
		t.Errorf("tool_choice = %s", first.ToolChoice)
	}
	second := reqs[1].Messages
	wantTail := []llmtest.OpenAIMessage{
		{Role: "assistant", ToolCalls: []llmtest.ToolCall{{ID: "call_1", Name: "get_logs", Arguments: `{"group":"/eks/prod"}`}}},
		{Role: "tool", ToolCallID: "call_1", Content: "OOMKilled x3"},
	}
	if diff := cmp.Diff(second[len(second)-2:], wantTail); diff != "" {
		t.Errorf("tool call and result sent back (-got +want):\n%s", diff)
	}
}

func TestOpenAIParallelToolCallsAndSplitResults(t *testing.T) {
	srv := llmtest.NewOpenAIServer(t)
	srv.Enqueue(
		llmtest.Tools(llmtest.Call("call_a", "get_logs", `{"group":"/a"}`), llmtest.Call("call_b", "get_metrics", `{}`)),
		llmtest.Text("done"),
	)
	m := newModel(t, llm.Config{Provider: "openai", Model: "gpt-4o", APIKey: testKey, BaseURL: srv.URL})
	resp, err := m.GenerateContent(context.Background(), question(), llms.WithTools(tools))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.Choices[0].ToolCalls); n != 2 {
		t.Fatalf("got %d tool calls, want 2", n)
	}
	// One tool message with both results: langchaingo's openai provider
	// rejects that ("expected exactly one part"); Model splits it.
	msgs := followUp(question(), resp.Choices[0], map[string]string{"get_logs": "L", "get_metrics": "M"})
	if _, err := m.GenerateContent(context.Background(), msgs, llms.WithTools(tools)); err != nil {
		t.Fatalf("second turn: %v", err)
	}
	got := srv.Requests()[1].Messages
	var results []llmtest.OpenAIMessage
	for _, msg := range got {
		if msg.Role == "tool" {
			results = append(results, msg)
		}
	}
	want := []llmtest.OpenAIMessage{{Role: "tool", ToolCallID: "call_a", Content: "L"}, {Role: "tool", ToolCallID: "call_b", Content: "M"}}
	if diff := cmp.Diff(results, want); diff != "" {
		t.Errorf("tool messages (-got +want):\n%s", diff)
	}
}

func TestOpenAIStreamingFiltersToolCallChunks(t *testing.T) {
	srv := llmtest.NewOpenAIServer(t)
	reply := llmtest.Tools(llmtest.Call("call_1", "get_logs", `{"group":"/eks/prod"}`)).WithText("Checking the logs first.").WithUsage(50, 7)
	srv.Enqueue(reply, reply)
	c := llm.Config{Provider: "openai", Model: "gpt-4o", APIKey: testKey, BaseURL: srv.URL}

	// The trap, pinned: the bare langchaingo client streams raw JSON and
	// empty chunks. If this starts failing, langchaingo fixed it.
	raw := newModel(t, c).(*llm.Model).Unwrap()
	var rawChunks chunks
	if _, err := raw.GenerateContent(context.Background(), question(), llms.WithTools(tools), llms.WithStreamingFunc(rawChunks.fn)); err != nil {
		t.Fatal(err)
	}
	sawJSON, sawEmpty := false, false
	for _, ch := range rawChunks.list() {
		sawJSON = sawJSON || strings.HasPrefix(ch, `[{"`)
		sawEmpty = sawEmpty || ch == ""
	}
	if !sawJSON || !sawEmpty {
		t.Errorf("bare client chunks %q: want raw tool-call JSON and empty chunks (the trap Model fixes)", rawChunks.list())
	}

	var got chunks
	resp, err := newModel(t, c).GenerateContent(context.Background(), question(), llms.WithTools(tools), llms.WithStreamingFunc(got.fn))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got.list(), []string{"Checking ", "the ", "logs ", "first."}); diff != "" {
		t.Errorf("streamed chunks (-got +want):\n%s", diff)
	}
	choice := resp.Choices[0]
	if len(choice.ToolCalls) != 1 || choice.ToolCalls[0].FunctionCall.Arguments != `{"group":"/eks/prod"}` {
		t.Errorf("tool calls assembled from the stream = %+v", choice.ToolCalls)
	}
	if p, cpl := llm.Usage(choice); p != 50 || cpl != 7 {
		t.Errorf("streamed usage = %d, %d; want 50, 7", p, cpl)
	}
	last := srv.Requests()[1]
	if !last.Stream || !last.IncludeUsage {
		t.Errorf("stream=%v include_usage=%v, want both", last.Stream, last.IncludeUsage)
	}
}

func TestOllamaGoesThroughOpenAICompatibleEndpoint(t *testing.T) {
	srv := llmtest.NewOpenAIServer(t)
	srv.Enqueue(llmtest.Tools(llmtest.Call("call_1", "get_logs", `{"group":"g"}`)), llmtest.Text("ok"))
	// Ollama's base URL is the host; the /v1 suffix is added once.
	for _, base := range []string{srv.Server.URL, srv.Server.URL + "/v1/"} {
		m := newModel(t, llm.Config{Provider: "ollama", Model: "llama3.1", BaseURL: base})
		if _, err := m.GenerateContent(context.Background(), question(), llms.WithTools(tools)); err != nil {
			t.Fatalf("base %s: %v", base, err)
		}
	}
	reqs := srv.Requests()
	for _, r := range reqs {
		if r.Header.Get("Authorization") != "Bearer ollama" || r.Model != "llama3.1" || len(r.Tools) != 2 {
			t.Errorf("request: auth %q model %q tools %d", r.Header.Get("Authorization"), r.Model, len(r.Tools))
		}
	}
}

func TestOpenAICompatibleServerWithoutKey(t *testing.T) {
	srv := llmtest.NewOpenAIServer(t)
	srv.Enqueue(llmtest.Text("hi"))
	c := llm.Config{}.Apply(llm.Overrides{BaseURL: srv.URL, Model: "qwen2.5"})
	m := newModel(t, c)
	if m.(*llm.Model).Provider() != "openai" {
		t.Fatalf("provider = %s", m.(*llm.Model).Provider())
	}
	if _, err := m.Call(context.Background(), "hello"); err != nil {
		t.Fatal(err)
	}
	if got := srv.Requests()[0].Header.Get("Authorization"); got != "Bearer no-key" {
		t.Errorf("Authorization = %q", got)
	}
}

func TestAnthropicToolRoundTrip(t *testing.T) {
	srv := llmtest.NewAnthropicServer(t, llmtest.WithAPIKey(testKey))
	first := llmtest.Tools(
		llmtest.Call("toolu_1", "get_logs", `{"group":"/eks/prod"}`),
		llmtest.Call("toolu_2", "get_metrics", `{}`),
	).WithText("Let me check logs and metrics.").WithUsage(300, 40)
	srv.Enqueue(first, llmtest.Text("Memory limit too low.").WithUsage(420, 12))
	c := llm.Config{Provider: "anthropic", Model: "claude-sonnet-4-5", APIKey: testKey, BaseURL: srv.URL}
	m := newModel(t, c)

	resp, err := m.GenerateContent(context.Background(), question(), llms.WithTools(tools))
	if err != nil {
		t.Fatalf("first turn: %v", err)
	}
	if len(resp.Choices) != 1 {
		t.Fatalf("got %d choices, want the blocks merged into 1", len(resp.Choices))
	}
	choice := resp.Choices[0]
	if choice.Content != "Let me check logs and metrics." || choice.StopReason != "tool_use" {
		t.Errorf("content %q stop %q", choice.Content, choice.StopReason)
	}
	wantCalls := []llms.ToolCall{
		{ID: "toolu_1", Type: "function", FunctionCall: &llms.FunctionCall{Name: "get_logs", Arguments: `{"group":"/eks/prod"}`}},
		{ID: "toolu_2", Type: "function", FunctionCall: &llms.FunctionCall{Name: "get_metrics", Arguments: `{}`}},
	}
	if diff := cmp.Diff(choice.ToolCalls, wantCalls); diff != "" {
		t.Errorf("tool calls (-got +want):\n%s", diff)
	}
	if p, cpl := llm.Usage(choice); p != 300 || cpl != 40 {
		t.Errorf("Usage = %d, %d; want 300, 40 (not summed over blocks)", p, cpl)
	}

	msgs := followUp(question(), choice, map[string]string{"get_logs": "OOMKilled", "get_metrics": "mem 99%"})
	resp, err = m.GenerateContent(context.Background(), msgs, llms.WithTools(tools))
	if err != nil {
		t.Fatalf("second turn: %v", err)
	}
	if resp.Choices[0].Content != "Memory limit too low." {
		t.Errorf("answer = %q", resp.Choices[0].Content)
	}

	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("server saw %d requests", len(reqs))
	}
	r0 := reqs[0]
	if r0.Header.Get("x-api-key") != testKey || r0.AnthropicVersion == "" || r0.Model != "claude-sonnet-4-5" {
		t.Errorf("headers/model: key=%q version=%q model=%q", r0.Header.Get("x-api-key"), r0.AnthropicVersion, r0.Model)
	}
	if r0.System != "You are an on-call engineer." {
		t.Errorf("system = %q", r0.System)
	}
	if len(r0.Tools) != 2 || r0.Tools[0].Name != "get_logs" {
		t.Fatalf("tools = %+v", r0.Tools)
	}
	if diff := cmp.Diff(jsonValue(t, r0.Tools[0].InputSchema), any(logsSchema)); diff != "" {
		t.Errorf("input_schema (-got +want):\n%s", diff)
	}
	// Every block of the assistant turn and every result made it across.
	var blocks []llmtest.AnthropicBlock
	for _, msg := range reqs[1].Messages[1:] {
		blocks = append(blocks, msg.Content...)
	}
	wantBlocks := []llmtest.AnthropicBlock{
		{Type: "text", Text: "Let me check logs and metrics."},
		{Type: "tool_use", ID: "toolu_1", Name: "get_logs", Input: json.RawMessage(`{"group":"/eks/prod"}`)},
		{Type: "tool_use", ID: "toolu_2", Name: "get_metrics", Input: json.RawMessage(`{}`)},
		{Type: "tool_result", ToolUseID: "toolu_1", Content: "OOMKilled"},
		{Type: "tool_result", ToolUseID: "toolu_2", Content: "mem 99%"},
	}
	if diff := cmp.Diff(blocks, wantBlocks); diff != "" {
		t.Errorf("second request blocks (-got +want):\n%s", diff)
	}
}

func TestAnthropicBareClientTraps(t *testing.T) {
	srv := llmtest.NewAnthropicServer(t)
	reply := llmtest.Tools(llmtest.Call("toolu_1", "get_logs", `{"group":"g"}`)).WithText("Looking.").WithUsage(10, 5)
	srv.Enqueue(reply)
	raw := newModel(t, llm.Config{Provider: "anthropic", Model: "claude-sonnet-4-5", APIKey: testKey, BaseURL: srv.URL}).(*llm.Model).Unwrap()

	resp, err := raw.GenerateContent(context.Background(), question(), llms.WithTools(tools))
	if err != nil {
		t.Fatal(err)
	}
	// One choice per content block, each repeating the usage.
	if len(resp.Choices) != 2 || len(resp.Choices[0].ToolCalls) != 0 || len(resp.Choices[1].ToolCalls) != 1 {
		t.Fatalf("bare client choices = %d (want the split the wrapper merges)", len(resp.Choices))
	}
	p0, _ := llm.Usage(resp.Choices[0])
	p1, _ := llm.Usage(resp.Choices[1])
	if p0 != 10 || p1 != 10 {
		t.Errorf("per-block usage = %d, %d; want the message's on each", p0, p1)
	}

	// An AI message [text, tool call] loses the call in the bare client, so
	// the API rejects the orphaned tool_result.
	choice := &llms.ContentChoice{Content: "Looking.", ToolCalls: resp.Choices[1].ToolCalls}
	msgs := followUp(question(), choice, map[string]string{"get_logs": "x"})
	_, err = raw.GenerateContent(context.Background(), msgs, llms.WithTools(tools))
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "tool_use_id") {
		t.Errorf("bare client with [text, tool call] = %v; want the API's 400 about tool_use_id", err)
	}
}

func TestAnthropicStreaming(t *testing.T) {
	srv := llmtest.NewAnthropicServer(t)
	srv.Enqueue(llmtest.Tools(llmtest.Call("toolu_1", "get_logs", `{"group":"/eks/prod","limit":50}`)).WithText("Checking now.").WithUsage(33, 22))
	m := newModel(t, llm.Config{Provider: "anthropic", Model: "claude-sonnet-4-5", APIKey: testKey, BaseURL: srv.URL})
	var got chunks
	resp, err := m.GenerateContent(context.Background(), question(), llms.WithTools(tools), llms.WithStreamingFunc(got.fn))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got.list(), []string{"Checking ", "now."}); diff != "" {
		t.Errorf("streamed chunks (-got +want):\n%s", diff)
	}
	if len(resp.Choices) != 1 {
		t.Fatalf("choices = %d", len(resp.Choices))
	}
	c := resp.Choices[0]
	if c.Content != "Checking now." || len(c.ToolCalls) != 1 {
		t.Fatalf("choice = %+v", c)
	}
	if diff := cmp.Diff(jsonValue(t, []byte(c.ToolCalls[0].FunctionCall.Arguments)), jsonValue(t, []byte(`{"group":"/eks/prod","limit":50}`))); diff != "" {
		t.Errorf("arguments assembled from input_json_delta (-got +want):\n%s", diff)
	}
	if p, cpl := llm.Usage(c); p != 33 || cpl != 22 {
		t.Errorf("Usage = %d, %d", p, cpl)
	}
	if !srv.Requests()[0].Stream {
		t.Error("request was not streaming")
	}
}

func TestBedrockToolRoundTrip(t *testing.T) {
	srv := llmtest.NewBedrockServer(t)
	srv.Enqueue(
		llmtest.Tools(llmtest.Call("toolu_1", "get_logs", `{"group":"/eks/prod"}`)).WithText("Checking.").WithUsage(210, 30),
		llmtest.Text("Root cause: memory limit.").WithUsage(260, 11),
	)
	c := llm.Config{Provider: "bedrock", Region: "us-east-1", Model: bedrockModel, BaseURL: srv.URL}
	m := newModel(t, c, llm.WithAWSConfig(awsTestConfig()))

	resp, err := m.GenerateContent(context.Background(), question(), llms.WithTools(tools))
	if err != nil {
		t.Fatalf("first turn: %v", err)
	}
	choice := resp.Choices[0]
	want := []llms.ToolCall{{ID: "toolu_1", Type: "function", FunctionCall: &llms.FunctionCall{Name: "get_logs", Arguments: `{"group":"/eks/prod"}`}}}
	if diff := cmp.Diff(choice.ToolCalls, want); diff != "" {
		t.Errorf("tool calls (-got +want):\n%s", diff)
	}
	if choice.Content != "Checking." {
		t.Errorf("content = %q", choice.Content)
	}
	if p, cpl := llm.Usage(choice); p != 210 || cpl != 30 {
		t.Errorf("Usage = %d, %d; want 210, 30 (input_tokens/output_tokens)", p, cpl)
	}

	msgs := followUp(question(), choice, map[string]string{"get_logs": "OOMKilled"})
	resp, err = m.GenerateContent(context.Background(), msgs, llms.WithTools(tools))
	if err != nil {
		t.Fatalf("second turn: %v", err)
	}
	if resp.Choices[0].Content != "Root cause: memory limit." {
		t.Errorf("answer = %q", resp.Choices[0].Content)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("requests = %d", len(reqs))
	}
	r0 := reqs[0]
	if r0.Model != bedrockModel || r0.Stream || r0.AnthropicVersion != "bedrock-2023-05-31" {
		t.Errorf("model %q stream %v version %q", r0.Model, r0.Stream, r0.AnthropicVersion)
	}
	if auth := r0.Header.Get("Authorization"); !strings.Contains(auth, "Credential=AKIDTEST/") || !strings.Contains(auth, "/us-east-1/bedrock/") {
		t.Errorf("Authorization = %q; want SigV4 for us-east-1 (Config.Region wins)", auth)
	}
	if diff := cmp.Diff(jsonValue(t, r0.Tools[0].InputSchema), any(logsSchema)); diff != "" {
		t.Errorf("input_schema (-got +want):\n%s", diff)
	}
	last := reqs[1].Messages[len(reqs[1].Messages)-1]
	if diff := cmp.Diff(last, llmtest.AnthropicMessage{Role: "user", Content: []llmtest.AnthropicBlock{{Type: "tool_result", ToolUseID: "toolu_1", Content: "OOMKilled"}}}); diff != "" {
		t.Errorf("tool result sent back (-got +want):\n%s", diff)
	}
}

func TestBedrockStreamingWithToolsFallsBackToInvoke(t *testing.T) {
	srv := llmtest.NewBedrockServer(t)
	reply := llmtest.Tools(llmtest.Call("toolu_1", "get_logs", `{"group":"g"}`)).WithText("Checking logs.").WithUsage(20, 4)
	srv.Enqueue(reply, reply, llmtest.Text("plain streamed text").WithUsage(5, 3))
	c := llm.Config{Provider: "bedrock", Region: "us-east-1", Model: bedrockModel, BaseURL: srv.URL}
	m := newModel(t, c, llm.WithAWSConfig(awsTestConfig()))

	// The trap, pinned: the bare client streams and loses the tool call.
	var rawChunks chunks
	rawResp, err := m.(*llm.Model).Unwrap().GenerateContent(context.Background(), question(), llms.WithTools(tools), llms.WithStreamingFunc(rawChunks.fn))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rawResp.Choices[0].ToolCalls); n != 0 || rawResp.Choices[0].StopReason != "tool_use" {
		t.Errorf("bare streaming client: %d tool calls, stop %q; want 0 and tool_use (the trap)", n, rawResp.Choices[0].StopReason)
	}

	var got chunks
	resp, err := m.GenerateContent(context.Background(), question(), llms.WithTools(tools), llms.WithStreamingFunc(got.fn))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.Choices[0].ToolCalls); n != 1 {
		t.Errorf("wrapped: %d tool calls, want 1", n)
	}
	if diff := cmp.Diff(got.list(), []string{"Checking logs."}); diff != "" {
		t.Errorf("replayed text (-got +want):\n%s", diff)
	}

	// Without tools, streaming stays streaming.
	var plain chunks
	resp, err = m.GenerateContent(context.Background(), question(), llms.WithStreamingFunc(plain.fn))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(plain.list(), "") != "plain streamed text" || len(plain.list()) != 3 || resp.Choices[0].Content != "plain streamed text" {
		t.Errorf("streamed %q, content %q", plain.list(), resp.Choices[0].Content)
	}
	if p, cpl := llm.Usage(resp.Choices[0]); p != 5 || cpl != 3 {
		t.Errorf("streamed usage = %d, %d", p, cpl)
	}

	var streamed []bool
	for _, r := range srv.Requests() {
		streamed = append(streamed, r.Stream)
	}
	if diff := cmp.Diff(streamed, []bool{true, false, true}); diff != "" {
		t.Errorf("operations used, true = invoke-with-response-stream (-got +want):\n%s", diff)
	}
}

func TestBedrockAPIKeyUsesBearerAuth(t *testing.T) {
	srv := llmtest.NewBedrockServer(t, llmtest.WithAPIKey("bedrock-api-key-123"), llmtest.WithTLS())
	srv.Enqueue(llmtest.Text("hi"))
	c := llm.Config{Provider: "bedrock", Region: "us-west-2", Model: "us.anthropic.claude-sonnet-4-20250514-v1:0", BaseURL: srv.URL, APIKey: "bedrock-api-key-123"}
	m := newModel(t, c, llm.WithAWSConfig(awsTestConfig()), llm.WithHTTPClient(srv.Server.Client()))
	if _, err := m.Call(context.Background(), "hello"); err != nil {
		t.Fatal(err)
	}
	if got := srv.Requests()[0].Header.Get("Authorization"); got != "Bearer bedrock-api-key-123" {
		t.Errorf("Authorization = %q", got)
	}
}

func TestWithHTTPClientIsUsed(t *testing.T) {
	srv := llmtest.NewOpenAIServer(t)
	srv.Enqueue(llmtest.Text("a"))
	anth := llmtest.NewAnthropicServer(t)
	anth.Enqueue(llmtest.Text("b"))
	br := llmtest.NewBedrockServer(t)
	br.Enqueue(llmtest.Text("c"))
	var rt countingTransport
	hc := &http.Client{Transport: &rt}
	for _, c := range []llm.Config{
		{Provider: "openai", Model: "m", APIKey: testKey, BaseURL: srv.URL},
		{Provider: "anthropic", Model: "m", APIKey: testKey, BaseURL: anth.URL},
		{Provider: "bedrock", Model: bedrockModel, Region: "us-east-1", BaseURL: br.URL},
	} {
		m := newModel(t, c, llm.WithHTTPClient(hc), llm.WithAWSConfig(awsTestConfig()))
		if _, err := m.Call(context.Background(), "hi"); err != nil {
			t.Fatalf("%s: %v", c.Provider, err)
		}
	}
	if rt.n() != 3 {
		t.Errorf("custom client carried %d requests, want 3", rt.n())
	}
}

type countingTransport struct {
	mu    sync.Mutex
	count int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.count++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *countingTransport) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}

func TestConcurrentUse(t *testing.T) {
	srv := llmtest.NewAnthropicServer(t)
	const n = 8
	for range n {
		srv.Enqueue(llmtest.Tools(llmtest.Call("", "get_logs", `{"group":"g"}`)).WithText("x"))
	}
	m := newModel(t, llm.Config{Provider: "anthropic", Model: "claude", APIKey: testKey, BaseURL: srv.URL})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			var got chunks
			resp, err := m.GenerateContent(context.Background(), question(), llms.WithTools(tools), llms.WithStreamingFunc(got.fn))
			if err != nil || len(resp.Choices) != 1 || len(resp.Choices[0].ToolCalls) != 1 {
				t.Errorf("concurrent call: %v", err)
			}
		})
	}
	wg.Wait()
}

func TestBedrockDefaultAWSConfigChain(t *testing.T) {
	// No WithAWSConfig: New loads the default chain, here from the
	// environment only.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "")
	srv := llmtest.NewBedrockServer(t)
	srv.Enqueue(llmtest.Text("hi"))
	m := newModel(t, llm.Config{Provider: "bedrock", Region: "eu-central-1", Model: bedrockModel, BaseURL: srv.URL})
	if _, err := m.Call(context.Background(), "hello"); err != nil {
		t.Fatal(err)
	}
	if auth := srv.Requests()[0].Header.Get("Authorization"); !strings.Contains(auth, "Credential=AKIDFROMENV/") || !strings.Contains(auth, "/eu-central-1/bedrock/") {
		t.Errorf("Authorization = %q", auth)
	}
}
