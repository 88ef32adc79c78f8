package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"

	"github.com/tmc/langchaingo/llms"
)

// Model wraps a langchaingo model and smooths over the differences between
// providers that langchaingo v0.1.14 leaves to the caller, so the agent
// loop can append one AI message with all tool calls and one tool message
// with all results, read every tool call from Choices[0], and stream text
// without caring which provider is behind it:
//
//   - every provider: a tool message with several ToolCallResponse parts is
//     split into one message per response (the openai provider rejects
//     anything else, the anthropic one silently drops all but the first);
//     tools declared with nil parameters get an empty object schema;
//     empty chunks never reach the streaming func; tool calls get Type
//     "function" and FuncCall mirrors the first one.
//   - openai and ollama: tool-call deltas, which langchaingo passes to the
//     streaming func as raw JSON mixed with the text, are filtered out.
//   - anthropic: an AI message is split into one message per part, because
//     langchaingo sends only the first part (text before a tool call would
//     drop the call); the Messages API merges consecutive same-role turns
//     back together. Empty text parts are dropped (the API rejects them).
//     The response's per-block choices are merged into one choice holding
//     all text and every tool call, with the usage of the message (the
//     blocks all repeat it, so it is not summed).
//   - bedrock: with tools declared the call is made without streaming,
//     because langchaingo's bedrock stream parser drops tool calls; the
//     text is then replayed to the streaming func in one chunk. Empty
//     text parts are dropped.
//   - errors: the API key, when known (New), is replaced by <secret>.
//
// A Model is safe for concurrent use if the wrapped model is; every
// langchaingo provider built by New is.
type Model struct {
	inner    llms.Model
	provider string
	secret   string
}

var _ llms.Model = (*Model)(nil)

// Wrap returns m wrapped for provider (one of the Provider constants; ""
// or an unknown name applies only the provider-neutral fixes). Wrapping a
// *Model again returns it unchanged; wrapping nil returns nil.
func Wrap(m llms.Model, provider string) llms.Model {
	return wrapModel(m, provider, "")
}

// wrapModel is Wrap with the key New knows, for redacting errors.
func wrapModel(m llms.Model, provider, secret string) llms.Model {
	if m == nil {
		return nil
	}
	if w, ok := m.(*Model); ok {
		return w
	}
	return &Model{inner: m, provider: normalizeProvider(provider), secret: secret}
}

// Provider is the provider name the model was wrapped for.
func (m *Model) Provider() string { return m.provider }

// Unwrap returns the langchaingo model underneath.
func (m *Model) Unwrap() llms.Model { return m.inner }

// String names the provider without printing anything secret held by the
// wrapper or the client under it.
func (m *Model) String() string { return "llm.Model{Provider: " + m.provider + "}" }

// GoString is String, for %#v.
func (m *Model) GoString() string { return m.String() }

// LogValue keeps the wrapped client (and its key) out of structured logs.
func (m *Model) LogValue() slog.Value { return slog.GroupValue(slog.String("provider", m.provider)) }

// Call implements llms.Model for single-prompt use.
func (m *Model) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, m, prompt, options...)
}

// GenerateContent implements llms.Model, applying the fixes described on
// Model around the wrapped provider's GenerateContent.
func (m *Model) GenerateContent(ctx context.Context, messages []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	var opts llms.CallOptions
	for _, f := range options {
		f(&opts)
	}
	// Options are applied in order, so these run after the caller's.
	options = append(options[:len(options):len(options)], func(o *llms.CallOptions) { o.Tools = fixTools(o.Tools) })

	var replay func(context.Context, []byte) error
	if stream := opts.StreamingFunc; stream != nil {
		hasTools := len(opts.Tools) > 0 || len(opts.Functions) > 0
		switch {
		case m.provider == ProviderBedrock && hasTools:
			replay = stream
			options = append(options, func(o *llms.CallOptions) { o.StreamingFunc = nil })
		case m.provider == ProviderOpenAI || m.provider == ProviderOllama:
			options = append(options, llms.WithStreamingFunc(filterStream(stream, isToolCallChunk)))
		default:
			options = append(options, llms.WithStreamingFunc(filterStream(stream, nil)))
		}
	}
	if rf := opts.StreamingReasoningFunc; rf != nil && (m.provider == ProviderOpenAI || m.provider == ProviderOllama) {
		// The openai client hands the same raw tool-call JSON to this func.
		options = append(options, func(o *llms.CallOptions) {
			o.StreamingReasoningFunc = func(ctx context.Context, reasoning, chunk []byte) error {
				if isToolCallChunk(chunk) {
					chunk = nil
				}
				if len(reasoning) == 0 && len(chunk) == 0 {
					return nil
				}
				return rf(ctx, reasoning, chunk)
			}
		})
	}

	resp, err := m.inner.GenerateContent(ctx, m.fixMessages(messages), options...)
	if err != nil {
		return nil, redactError(err, m.secret)
	}
	if resp == nil {
		return nil, errors.New("llm: provider returned no response")
	}
	if m.provider == ProviderAnthropic && len(resp.Choices) > 1 {
		resp = &llms.ContentResponse{Choices: []*llms.ContentChoice{mergeChoices(resp.Choices)}}
	}
	for _, c := range resp.Choices {
		normalizeToolCalls(c)
	}
	if replay != nil && len(resp.Choices) > 0 && resp.Choices[0].Content != "" {
		if err := replay(ctx, []byte(resp.Choices[0].Content)); err != nil {
			return nil, fmt.Errorf("streaming func returned an error: %w", err)
		}
	}
	return resp, nil
}

// fixMessages returns messages rewritten for the provider; the caller's
// slice and parts are never modified.
func (m *Model) fixMessages(messages []llms.MessageContent) []llms.MessageContent {
	dropEmptyText := m.provider == ProviderAnthropic || m.provider == ProviderBedrock
	out := make([]llms.MessageContent, 0, len(messages))
	for _, msg := range messages {
		parts := msg.Parts
		if dropEmptyText && msg.Role == llms.ChatMessageTypeAI {
			parts = make([]llms.ContentPart, 0, len(msg.Parts))
			for _, p := range msg.Parts {
				if t, ok := p.(llms.TextContent); ok && t.Text == "" {
					continue
				}
				parts = append(parts, p)
			}
			if len(parts) == 0 {
				continue
			}
		}
		split := msg.Role == llms.ChatMessageTypeTool ||
			(m.provider == ProviderAnthropic && msg.Role == llms.ChatMessageTypeAI)
		if !split || len(parts) <= 1 {
			out = append(out, llms.MessageContent{Role: msg.Role, Parts: parts})
			continue
		}
		for _, p := range parts {
			out = append(out, llms.MessageContent{Role: msg.Role, Parts: []llms.ContentPart{p}})
		}
	}
	return out
}

// fixTools gives tools without parameters an empty object schema: OpenAI
// rejects "parameters": null and Anthropic requires input_schema.
func fixTools(tools []llms.Tool) []llms.Tool {
	var out []llms.Tool
	for i, t := range tools {
		if t.Function == nil || t.Function.Parameters != nil {
			continue
		}
		if out == nil {
			out = append([]llms.Tool(nil), tools...)
		}
		fn := *t.Function
		fn.Parameters = map[string]any{"type": "object", "properties": map[string]any{}}
		out[i].Function = &fn
	}
	if out == nil {
		return tools
	}
	return out
}

// filterStream drops empty chunks and those skip reports.
func filterStream(f func(context.Context, []byte) error, skip func([]byte) bool) func(context.Context, []byte) error {
	return func(ctx context.Context, chunk []byte) error {
		if len(chunk) == 0 || (skip != nil && skip(chunk)) {
			return nil
		}
		return f(ctx, chunk)
	}
}

// isToolCallChunk recognises what langchaingo's openai client passes to
// the streaming func for a tool-call delta: json.Marshal of the delta's
// []ToolCall, each {"id"?, "type", "function": {...}}, or of a legacy
// FunctionCall {"name", "arguments"}. A text token of exactly that shape
// is not something a model emits in one delta.
func isToolCallChunk(chunk []byte) bool {
	b := bytes.TrimSpace(chunk)
	if len(b) < 2 || (b[0] != '[' && b[0] != '{') || !json.Valid(b) {
		return false
	}
	if b[0] == '{' {
		var fc map[string]json.RawMessage
		if json.Unmarshal(b, &fc) != nil || len(fc) != 2 {
			return false
		}
		_, name := fc["name"]
		_, args := fc["arguments"]
		return name && args
	}
	var calls []map[string]json.RawMessage
	if json.Unmarshal(b, &calls) != nil || len(calls) == 0 {
		return false
	}
	for _, c := range calls {
		if _, ok := c["function"]; !ok {
			return false
		}
		if _, ok := c["type"]; !ok {
			return false
		}
		for k := range c {
			if k != "id" && k != "type" && k != "function" && k != "index" {
				return false
			}
		}
	}
	return true
}

// mergeChoices folds Anthropic's one-choice-per-content-block response into
// one choice. Usage is taken once: every block carries the whole message's.
func mergeChoices(choices []*llms.ContentChoice) *llms.ContentChoice {
	merged := &llms.ContentChoice{GenerationInfo: map[string]any{}}
	var text strings.Builder
	for _, c := range choices {
		if c == nil {
			continue
		}
		text.WriteString(c.Content)
		merged.ToolCalls = append(merged.ToolCalls, c.ToolCalls...)
		if merged.StopReason == "" {
			merged.StopReason = c.StopReason
		}
		if merged.ReasoningContent == "" {
			merged.ReasoningContent = c.ReasoningContent
		}
		for k, v := range c.GenerationInfo {
			if old, ok := merged.GenerationInfo[k]; !ok || isZero(old) {
				merged.GenerationInfo[k] = v
			}
		}
	}
	merged.Content = text.String()
	if _, ok := merged.GenerationInfo["OutputContent"]; ok {
		// The text choice's OutputContent covers one block; keep it whole.
		merged.GenerationInfo["OutputContent"] = merged.Content
	}
	return merged
}

func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case int:
		return x == 0
	case float64:
		return x == 0
	}
	return false
}

func normalizeToolCalls(c *llms.ContentChoice) {
	if c == nil || len(c.ToolCalls) == 0 {
		return
	}
	for i := range c.ToolCalls {
		if c.ToolCalls[i].Type == "" {
			c.ToolCalls[i].Type = "function"
		}
	}
	c.FuncCall = c.ToolCalls[0].FunctionCall
}

// Usage returns the prompt and completion tokens a choice reports,
// whichever spelling its provider uses in GenerationInfo: PromptTokens and
// CompletionTokens (openai, ollama), InputTokens and OutputTokens
// (anthropic), input_tokens and output_tokens (bedrock), as any integer
// type, float64 or json.Number. It returns zeros when usage is missing.
func Usage(choice *llms.ContentChoice) (prompt, completion int) {
	if choice == nil || choice.GenerationInfo == nil {
		return 0, 0
	}
	info := choice.GenerationInfo
	for _, keys := range [][2]string{
		{"PromptTokens", "CompletionTokens"},
		{"InputTokens", "OutputTokens"},
		{"input_tokens", "output_tokens"},
		{"prompt_tokens", "completion_tokens"},
	} {
		p, okP := toInt(info[keys[0]])
		c, okC := toInt(info[keys[1]])
		if okP || okC {
			return p, c
		}
	}
	return 0, 0
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int32:
		return int(x), true
	case int64:
		return int(x), true
	case uint:
		return int(x), true
	case uint32:
		return int(x), true
	case uint64:
		return int(x), true
	case float32:
		return int(math.Round(float64(x))), true
	case float64:
		return int(math.Round(x)), true
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i), true
		}
		if f, err := x.Float64(); err == nil {
			return int(math.Round(f)), true
		}
	}
	return 0, false
}

// redactError replaces secret in err's message. The original error stays
// reachable through errors.Is/As for callers that branch on it.
func redactError(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), secret, "<secret>"), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
