package llm_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tmc/langchaingo/llms"

	"github.com/nightshift-ops/nightshift/integrations/llm"
	"github.com/nightshift-ops/nightshift/integrations/llm/llmtest"
)

func TestUsage(t *testing.T) {
	tests := []struct {
		name       string
		choice     *llms.ContentChoice
		prompt     int
		completion int
	}{
		{name: "nil choice", choice: nil},
		{name: "no generation info", choice: &llms.ContentChoice{}},
		{name: "openai", choice: &llms.ContentChoice{GenerationInfo: map[string]any{"PromptTokens": 12, "CompletionTokens": 3, "TotalTokens": 15}}, prompt: 12, completion: 3},
		{name: "anthropic", choice: &llms.ContentChoice{GenerationInfo: map[string]any{"InputTokens": 40, "OutputTokens": 9, "CacheReadInputTokens": 0}}, prompt: 40, completion: 9},
		{name: "bedrock", choice: &llms.ContentChoice{GenerationInfo: map[string]any{"input_tokens": 7, "output_tokens": 2}}, prompt: 7, completion: 2},
		{name: "float64 after a JSON round trip", choice: &llms.ContentChoice{GenerationInfo: map[string]any{"input_tokens": float64(70), "output_tokens": float64(20)}}, prompt: 70, completion: 20},
		{name: "int64 and json.Number", choice: &llms.ContentChoice{GenerationInfo: map[string]any{"PromptTokens": int64(5), "CompletionTokens": json.Number("6")}}, prompt: 5, completion: 6},
		{name: "only completion reported", choice: &llms.ContentChoice{GenerationInfo: map[string]any{"output_tokens": 4}}, completion: 4},
		{name: "unrelated keys", choice: &llms.ContentChoice{GenerationInfo: map[string]any{"ThinkingContent": "x"}}},
		{name: "wrong types ignored", choice: &llms.ContentChoice{GenerationInfo: map[string]any{"PromptTokens": "12"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, c := llm.Usage(tt.choice)
			if p != tt.prompt || c != tt.completion {
				t.Errorf("Usage = %d, %d; want %d, %d", p, c, tt.prompt, tt.completion)
			}
		})
	}
}

// blockModel returns what langchaingo's anthropic provider returns for a
// [text, tool_use, tool_use] message: one choice per block, each with the
// whole message's usage.
type blockModel struct{}

func (b blockModel) Call(ctx context.Context, p string, o ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, b, p, o...)
}

func (blockModel) GenerateContent(context.Context, []llms.MessageContent, ...llms.CallOption) (*llms.ContentResponse, error) {
	usage := func() map[string]any {
		return map[string]any{"InputTokens": 100, "OutputTokens": 30, "CacheCreationInputTokens": 0, "CacheReadInputTokens": 0}
	}
	text := usage()
	text["ThinkingContent"] = ""
	text["OutputContent"] = "Looking."
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{
		{Content: "Looking.", StopReason: "tool_use", GenerationInfo: text},
		{StopReason: "tool_use", GenerationInfo: usage(), ToolCalls: []llms.ToolCall{{ID: "toolu_1", FunctionCall: &llms.FunctionCall{Name: "a", Arguments: `{}`}}}},
		{StopReason: "tool_use", GenerationInfo: usage(), ToolCalls: []llms.ToolCall{{ID: "toolu_2", FunctionCall: &llms.FunctionCall{Name: "b", Arguments: `{"x":1}`}}}},
	}}, nil
}

func TestWrapMergesAnthropicChoices(t *testing.T) {
	resp, err := llm.Wrap(blockModel{}, "anthropic").GenerateContent(context.Background(), question())
	if err != nil {
		t.Fatal(err)
	}
	want := &llms.ContentChoice{
		Content:    "Looking.",
		StopReason: "tool_use",
		GenerationInfo: map[string]any{
			"InputTokens": 100, "OutputTokens": 30, "CacheCreationInputTokens": 0, "CacheReadInputTokens": 0,
			"ThinkingContent": "", "OutputContent": "Looking.",
		},
		FuncCall: &llms.FunctionCall{Name: "a", Arguments: `{}`},
		ToolCalls: []llms.ToolCall{
			{ID: "toolu_1", Type: "function", FunctionCall: &llms.FunctionCall{Name: "a", Arguments: `{}`}},
			{ID: "toolu_2", Type: "function", FunctionCall: &llms.FunctionCall{Name: "b", Arguments: `{"x":1}`}},
		},
	}
	if diff := cmp.Diff(resp.Choices, []*llms.ContentChoice{want}); diff != "" {
		t.Errorf("merged choices (-got +want):\n%s", diff)
	}
	if p, c := llm.Usage(resp.Choices[0]); p != 100 || c != 30 {
		t.Errorf("Usage = %d, %d; want 100, 30", p, c)
	}
	// Other providers' choices are alternatives, never merged.
	resp, err = llm.Wrap(blockModel{}, "openai").GenerateContent(context.Background(), question())
	if err != nil || len(resp.Choices) != 3 {
		t.Errorf("openai wrap: %d choices, %v; want 3 untouched", len(resp.Choices), err)
	}
}

func TestWrapRewritesMessagesPerProvider(t *testing.T) {
	call := func(id string) llms.ToolCall {
		return llms.ToolCall{ID: id, Type: "function", FunctionCall: &llms.FunctionCall{Name: "get_logs", Arguments: `{}`}}
	}
	result := func(id string) llms.ToolCallResponse {
		return llms.ToolCallResponse{ToolCallID: id, Name: "get_logs", Content: "r" + id}
	}
	in := []llms.MessageContent{
		llms.TextParts(llms.ChatMessageTypeHuman, "q"),
		{Role: llms.ChatMessageTypeAI, Parts: []llms.ContentPart{llms.TextContent{Text: ""}, call("1"), call("2")}},
		{Role: llms.ChatMessageTypeTool, Parts: []llms.ContentPart{result("1"), result("2")}},
	}
	inCopy := append([]llms.MessageContent(nil), in...)
	inCopy[1].Parts = append([]llms.ContentPart(nil), in[1].Parts...)

	tests := []struct {
		provider string
		want     []llms.MessageContent
	}{
		{provider: "openai", want: []llms.MessageContent{
			in[0],
			in[1], // one assistant message with every tool call
			{Role: llms.ChatMessageTypeTool, Parts: []llms.ContentPart{result("1")}},
			{Role: llms.ChatMessageTypeTool, Parts: []llms.ContentPart{result("2")}},
		}},
		{provider: "anthropic", want: []llms.MessageContent{
			in[0],
			{Role: llms.ChatMessageTypeAI, Parts: []llms.ContentPart{call("1")}},
			{Role: llms.ChatMessageTypeAI, Parts: []llms.ContentPart{call("2")}},
			{Role: llms.ChatMessageTypeTool, Parts: []llms.ContentPart{result("1")}},
			{Role: llms.ChatMessageTypeTool, Parts: []llms.ContentPart{result("2")}},
		}},
		{provider: "bedrock", want: []llms.MessageContent{
			in[0],
			{Role: llms.ChatMessageTypeAI, Parts: []llms.ContentPart{call("1"), call("2")}},
			{Role: llms.ChatMessageTypeTool, Parts: []llms.ContentPart{result("1")}},
			{Role: llms.ChatMessageTypeTool, Parts: []llms.ContentPart{result("2")}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.provider, func(t *testing.T) {
			s := llmtest.NewScripted(llmtest.Text("ok").Choice())
			if _, err := llm.Wrap(s, tt.provider).GenerateContent(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(s.Messages()[0], tt.want); diff != "" {
				t.Errorf("messages sent (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(in, inCopy); diff != "" {
				t.Errorf("caller's messages modified (-got +want):\n%s", diff)
			}
		})
	}
}

func TestWrapGivesParameterlessToolsASchema(t *testing.T) {
	s := llmtest.NewScripted(llmtest.Text("ok").Choice())
	declared := []llms.Tool{{Type: "function", Function: &llms.FunctionDefinition{Name: "list_alerts", Description: "no args"}}}
	if _, err := llm.Wrap(s, "openai").GenerateContent(context.Background(), question(), llms.WithTools(declared)); err != nil {
		t.Fatal(err)
	}
	got := s.Calls()[0].Options.Tools[0].Function.Parameters
	if diff := cmp.Diff(got, any(map[string]any{"type": "object", "properties": map[string]any{}})); diff != "" {
		t.Errorf("parameters (-got +want):\n%s", diff)
	}
	if declared[0].Function.Parameters != nil {
		t.Error("caller's tool was modified")
	}
}

func TestWrapStreamingFilter(t *testing.T) {
	// A model that streams what langchaingo's openai client streams.
	raw := []string{"", "Checking ", `[{"id":"call_1","type":"function","function":{"name":"get_logs","arguments":""}}]`,
		`[{"type":"","function":{"name":"","arguments":"{\"group\""}}]`, `{"name":"f","arguments":"{}"}`,
		"[1, 2]", `{"a": 1}`, "logs.", ""}
	m := streamer(raw)
	var got chunks
	if _, err := llm.Wrap(m, "openai").GenerateContent(context.Background(), question(), llms.WithStreamingFunc(got.fn)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got.list(), []string{"Checking ", "[1, 2]", `{"a": 1}`, "logs."}); diff != "" {
		t.Errorf("chunks forwarded (-got +want):\n%s", diff)
	}
	// Anthropic never streams tool JSON; only empty chunks are dropped.
	var anth chunks
	if _, err := llm.Wrap(m, "anthropic").GenerateContent(context.Background(), question(), llms.WithStreamingFunc(anth.fn)); err != nil {
		t.Fatal(err)
	}
	if len(anth.list()) != len(raw)-2 {
		t.Errorf("anthropic forwarded %d chunks, want %d", len(anth.list()), len(raw)-2)
	}
}

type streamer []string

func (s streamer) Call(ctx context.Context, p string, o ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, s, p, o...)
}

func (s streamer) GenerateContent(ctx context.Context, _ []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	var o llms.CallOptions
	for _, f := range options {
		f(&o)
	}
	for _, c := range s {
		if err := o.StreamingFunc(ctx, []byte(c)); err != nil {
			return nil, err
		}
	}
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{Content: "Checking logs."}}}, nil
}

func TestWrapIsIdempotent(t *testing.T) {
	s := llmtest.NewScripted()
	w := llm.Wrap(s, "openai")
	if llm.Wrap(w, "anthropic") != w {
		t.Error("wrapping a wrapped model wrapped it again")
	}
	if llm.Wrap(nil, "openai") != nil {
		t.Error("Wrap(nil) != nil")
	}
}
