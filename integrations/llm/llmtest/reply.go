// Package llmtest holds test doubles for code that talks to a language
// model through langchaingo: Scripted, an in-process llms.Model, and
// httptest servers speaking the OpenAI Chat Completions API
// (OpenAIServer), the Anthropic Messages API (AnthropicServer) and
// Bedrock InvokeModel for Anthropic models (BedrockServer), so tests can
// run the real langchaingo clients without a network.
//
// All of them play a queue of Replies (text, tool calls, usage, or an HTTP
// failure) and record what they were sent for assertions. Everything is
// safe for concurrent use. It is not _test code so that other packages'
// tests (the engine's agent loop, cmd) can import it; production code must
// not.
package llmtest

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tmc/langchaingo/llms"
)

// Reply is one scripted model turn.
type Reply struct {
	// Text is the assistant's text; it may accompany tool calls.
	Text string
	// ToolCalls are the tools the model asks to run, in order.
	ToolCalls []ToolCall
	// PromptTokens and CompletionTokens are the usage reported. When both
	// are zero the HTTP fakes report a deterministic estimate (about four
	// bytes per token) and Scripted reports zeros.
	PromptTokens, CompletionTokens int
	// StopReason overrides the provider's stop or finish reason, which is
	// otherwise derived from whether there are tool calls.
	StopReason string
	// Status, when non-zero, makes the HTTP fakes answer with this HTTP
	// status and Error as the provider-shaped error message instead of a
	// completion (429 and 529 to test retries, 500, ...). Scripted returns
	// an error holding Error.
	Status int
	// Error is the message of a failure reply.
	Error string
}

// ToolCall is one tool invocation in a Reply.
type ToolCall struct {
	// ID identifies the call so its result can be matched to it. Empty IDs
	// are filled in by the fakes (call_N, toolu_N).
	ID string
	// Name is the tool's function name.
	Name string
	// Arguments is the call's arguments as a JSON object text. Empty means
	// {}.
	Arguments string
}

// Text returns a reply with text only.
func Text(text string) Reply { return Reply{Text: text} }

// Tools returns a reply asking for the given tool calls.
func Tools(calls ...ToolCall) Reply { return Reply{ToolCalls: calls} }

// Call returns a tool call; arguments is a JSON object text.
func Call(id, name, arguments string) ToolCall {
	return ToolCall{ID: id, Name: name, Arguments: arguments}
}

// Failure returns a reply that makes the HTTP fakes answer with status and
// message (and Scripted return an error).
func Failure(status int, message string) Reply { return Reply{Status: status, Error: message} }

// WithText returns r with its text set, e.g. Tools(...).WithText("Let me look.").
func (r Reply) WithText(text string) Reply { r.Text = text; return r }

// WithUsage returns r reporting prompt and completion tokens.
func (r Reply) WithUsage(prompt, completion int) Reply {
	r.PromptTokens, r.CompletionTokens = prompt, completion
	return r
}

// Choice converts r to the ContentChoice an OpenAI-style provider returns:
// text and tool calls in one choice, usage under PromptTokens,
// CompletionTokens and TotalTokens. Empty tool-call IDs become call_N.
func (r Reply) Choice() *llms.ContentChoice {
	c := &llms.ContentChoice{
		Content:    r.Text,
		StopReason: r.StopReason,
		GenerationInfo: map[string]any{
			"PromptTokens":     r.PromptTokens,
			"CompletionTokens": r.CompletionTokens,
			"TotalTokens":      r.PromptTokens + r.CompletionTokens,
		},
	}
	for i, tc := range r.ToolCalls {
		c.ToolCalls = append(c.ToolCalls, llms.ToolCall{
			ID:           orDefault(tc.ID, "call_"+strconv.Itoa(i+1)),
			Type:         "function",
			FunctionCall: &llms.FunctionCall{Name: tc.Name, Arguments: orDefault(tc.Arguments, "{}")},
		})
	}
	if len(c.ToolCalls) > 0 {
		c.FuncCall = c.ToolCalls[0].FunctionCall
	}
	if c.StopReason == "" {
		c.StopReason = "stop"
		if len(c.ToolCalls) > 0 {
			c.StopReason = "tool_calls"
		}
	}
	return c
}

// usage returns the reply's token counts or the estimate described on
// Reply for a request body of n bytes.
func (r Reply) usage(requestBytes int) (prompt, completion int) {
	if r.PromptTokens != 0 || r.CompletionTokens != 0 {
		return r.PromptTokens, r.CompletionTokens
	}
	out := len(r.Text)
	for _, tc := range r.ToolCalls {
		out += len(tc.Name) + len(tc.Arguments)
	}
	return max(1, requestBytes/4), max(1, out/4)
}

// words splits text into streaming chunks, keeping the spaces.
func words(text string) []string {
	if text == "" {
		return nil
	}
	return strings.SplitAfter(text, " ")
}

// fragments splits s into up to n pieces on rune boundaries, as providers
// stream tool arguments.
func fragments(s string, n int) []string {
	runes := utf8.RuneCountInString(s)
	if runes <= 1 || n <= 1 {
		return []string{s}
	}
	n = min(n, runes)
	per := (runes + n - 1) / n
	var out []string
	var b strings.Builder
	count := 0
	for _, r := range s {
		b.WriteRune(r)
		count++
		if count == per {
			out = append(out, b.String())
			b.Reset()
			count = 0
		}
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
