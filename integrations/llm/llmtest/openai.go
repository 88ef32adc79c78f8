package llmtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// OpenAIServer is a loopback server speaking the OpenAI Chat Completions
// API: POST /v1/chat/completions, answered with JSON, or with SSE chunks
// when "stream" is true (a usage chunk before [DONE] when
// stream_options.include_usage is set). Text streams word by word; tool
// calls stream as a header delta (index, id, type, name) followed by
// argument fragments, as OpenAI does.
//
// Like the real API it answers 400 to requests it would reject: bad JSON,
// no model, no messages, unknown roles, a tool message that does not
// answer a tool_call_id of the assistant message before it, an assistant
// message with tool_calls not followed by a result for each, tools that
// are not functions or have bad names or non-object parameters, a
// tool_choice without tools or naming an undeclared tool, and
// stream_options without stream. Rejected requests consume no reply. When
// the queue is empty it answers 500 with a message saying so.
type OpenAIServer struct {
	// URL is the API base (server address plus /v1), ready for
	// openai.WithBaseURL or llm.Config.BaseURL.
	URL string
	// Server is the underlying httptest server.
	Server *httptest.Server

	cfg    serverConfig
	script script[OpenAIRequest]
}

// OpenAIRequest is one request the OpenAIServer received.
type OpenAIRequest struct {
	// Header is the request's HTTP header.
	Header http.Header
	// Body is the raw JSON body.
	Body json.RawMessage
	// Status is the HTTP status the fake answered with.
	Status int
	// Model is the requested model.
	Model string
	// Messages are the conversation as sent.
	Messages []OpenAIMessage
	// Tools are the declared tools.
	Tools []OpenAITool
	// ToolChoice is the raw tool_choice value, nil when absent.
	ToolChoice json.RawMessage
	// Stream and IncludeUsage reflect stream and stream_options.include_usage.
	Stream, IncludeUsage bool
	// MaxTokens is max_completion_tokens, or max_tokens when only that is set.
	MaxTokens int
}

// OpenAIMessage is one message of a recorded request.
type OpenAIMessage struct {
	// Role is system, developer, user, assistant, tool or function.
	Role string
	// Content is the text content; the text parts of array content are
	// concatenated.
	Content string
	// Name is the optional author name.
	Name string
	// ToolCalls are an assistant message's tool calls.
	ToolCalls []ToolCall
	// ToolCallID is the call a tool message answers.
	ToolCallID string
}

// OpenAITool is one declared tool of a recorded request.
type OpenAITool struct {
	// Type is "function".
	Type string
	// Name and Description describe the function.
	Name, Description string
	// Parameters is the raw JSON schema.
	Parameters json.RawMessage
}

// NewOpenAIServer starts an OpenAIServer that is closed when t ends.
func NewOpenAIServer(t testing.TB, opts ...ServerOption) *OpenAIServer {
	s := &OpenAIServer{}
	for _, o := range opts {
		o(&s.cfg)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.handle)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		openAIError(w, http.StatusNotFound, "invalid_request_error", "Invalid URL ("+r.Method+" "+r.URL.Path+")")
	})
	s.Server = start(t, s.cfg, mux)
	s.URL = s.Server.URL + "/v1"
	return s
}

// Enqueue appends replies to the script.
func (s *OpenAIServer) Enqueue(replies ...Reply) { s.script.enqueue(replies...) }

// Requests returns every request received so far, rejected ones included.
func (s *OpenAIServer) Requests() []OpenAIRequest { return s.script.recorded() }

// Remaining is the number of replies not yet served.
func (s *OpenAIServer) Remaining() int { return s.script.remaining() }

// Close shuts the server down; NewOpenAIServer already arranges it.
func (s *OpenAIServer) Close() { s.Server.Close() }

type openAIWireRequest struct {
	Model         *string           `json:"model"`
	Messages      []json.RawMessage `json:"messages"`
	Tools         []json.RawMessage `json:"tools"`
	ToolChoice    json.RawMessage   `json:"tool_choice"`
	Stream        bool              `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           int `json:"max_tokens"`
	MaxCompletionTokens int `json:"max_completion_tokens"`
}

type openAIWireMessage struct {
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	Name      string          `json:"name"`
	ToolCalls []struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
	ToolCallID string `json:"tool_call_id"`
}

type openAIWireTool struct {
	Type     string `json:"type"`
	Function *struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	} `json:"function"`
}

func (s *OpenAIServer) handle(w http.ResponseWriter, r *http.Request) {
	defer s.script.begin()()
	body, _ := io.ReadAll(r.Body)
	rec := OpenAIRequest{Header: r.Header.Clone(), Body: body}
	status := s.serve(w, r, body, &rec)
	rec.Status = status
	s.script.record(rec)
}

// serve answers one request and returns the status it wrote.
func (s *OpenAIServer) serve(w http.ResponseWriter, r *http.Request, body []byte, rec *OpenAIRequest) int {
	if s.cfg.apiKey != "" {
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if got != s.cfg.apiKey {
			return openAIErrorCode(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key",
				"Incorrect API key provided: "+got+".")
		}
	}
	var req openAIWireRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return openAIError(w, http.StatusBadRequest, "invalid_request_error",
			"We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)")
	}
	if msg := s.decode(&req, rec); msg != "" {
		return openAIError(w, http.StatusBadRequest, "invalid_request_error", msg)
	}

	reply, seq, ok := s.script.next()
	if !ok {
		return openAIError(w, http.StatusInternalServerError, "server_error", "llmtest: no scripted reply left for this request")
	}
	if reply.Status != 0 {
		typ := "server_error"
		switch {
		case reply.Status == http.StatusTooManyRequests:
			typ = "rate_limit_exceeded"
		case reply.Status < 500:
			typ = "invalid_request_error"
		}
		return openAIError(w, reply.Status, typ, reply.Error)
	}

	prompt, completion := reply.usage(len(body))
	finish := reply.StopReason
	if finish == "" {
		finish = "stop"
		if len(reply.ToolCalls) > 0 {
			finish = "tool_calls"
		}
	}
	id := "chatcmpl-" + strconv.Itoa(seq)
	usage := map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
	calls := make([]map[string]any, len(reply.ToolCalls))
	for i, tc := range reply.ToolCalls {
		calls[i] = map[string]any{
			"id":   orDefault(tc.ID, fmt.Sprintf("call_%d_%d", seq, i+1)),
			"type": "function",
			"function": map[string]any{
				"name":      tc.Name,
				"arguments": orDefault(tc.Arguments, "{}"),
			},
		}
	}

	if !rec.Stream {
		msg := map[string]any{"role": "assistant", "content": nil, "refusal": nil}
		if reply.Text != "" || len(calls) == 0 {
			msg["content"] = reply.Text
		}
		if len(calls) > 0 {
			msg["tool_calls"] = calls
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"id":      id,
			"object":  "chat.completion",
			"created": 1700000000,
			"model":   rec.Model,
			"choices": []any{map[string]any{"index": 0, "message": msg, "logprobs": nil, "finish_reason": finish}},
			"usage":   usage,
		})
		return http.StatusOK
	}

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	chunk := func(delta map[string]any, finishReason any) {
		c := map[string]any{
			"id":      id,
			"object":  "chat.completion.chunk",
			"created": 1700000000,
			"model":   rec.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finishReason}},
		}
		if rec.IncludeUsage {
			c["usage"] = nil
		}
		writeSSE(w, "", c)
		if flusher != nil {
			flusher.Flush()
		}
	}
	chunk(map[string]any{"role": "assistant", "content": "", "refusal": nil}, nil)
	for _, word := range words(reply.Text) {
		chunk(map[string]any{"content": word}, nil)
	}
	for i, c := range calls {
		fn := c["function"].(map[string]any)
		chunk(map[string]any{"tool_calls": []any{map[string]any{
			"index": i, "id": c["id"], "type": "function",
			"function": map[string]any{"name": fn["name"], "arguments": ""},
		}}}, nil)
		for _, frag := range fragments(fn["arguments"].(string), 3) {
			chunk(map[string]any{"tool_calls": []any{map[string]any{
				"index": i, "function": map[string]any{"arguments": frag},
			}}}, nil)
		}
	}
	chunk(map[string]any{}, finish)
	if rec.IncludeUsage {
		writeSSE(w, "", map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": 1700000000, "model": rec.Model,
			"choices": []any{}, "usage": usage,
		})
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
	if flusher != nil {
		flusher.Flush()
	}
	return http.StatusOK
}

// decode fills rec from req and returns the message of the first problem
// the real API would reject, or "".
func (s *OpenAIServer) decode(req *openAIWireRequest, rec *OpenAIRequest) string {
	if req.Model != nil {
		rec.Model = *req.Model
	}
	rec.Stream = req.Stream
	rec.ToolChoice = nil
	if len(req.ToolChoice) > 0 && !bytes.Equal(req.ToolChoice, []byte("null")) {
		rec.ToolChoice = req.ToolChoice
	}
	if req.StreamOptions != nil {
		rec.IncludeUsage = req.StreamOptions.IncludeUsage
	}
	rec.MaxTokens = req.MaxCompletionTokens
	if rec.MaxTokens == 0 {
		rec.MaxTokens = req.MaxTokens
	}

	var problems []string
	problem := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	declared := map[string]bool{}
	for i, raw := range req.Tools {
		var t openAIWireTool
		if err := json.Unmarshal(raw, &t); err != nil || t.Function == nil {
			problem("Missing required parameter: 'tools[%d].function'.", i)
			continue
		}
		rec.Tools = append(rec.Tools, OpenAITool{Type: t.Type, Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters})
		switch {
		case t.Type != "function":
			problem("Invalid value: '%s'. Supported values are: 'function' and 'custom'.", t.Type)
		case !validToolName(t.Function.Name):
			problem("Invalid 'tools[%d].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.", i)
		case len(t.Function.Parameters) > 0 && !isObject(t.Function.Parameters):
			problem("Invalid schema for function '%s': %s is not of type 'object'.", t.Function.Name, t.Function.Parameters)
		}
		declared[t.Function.Name] = true
	}

	var pending []string // tool_call_ids still owed a tool message
	for i, raw := range req.Messages {
		var m openAIWireMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			problem("Invalid type for 'messages[%d]': expected an object.", i)
			continue
		}
		msg := OpenAIMessage{Role: m.Role, Name: m.Name, ToolCallID: m.ToolCallID}
		text, ok := openAIText(m.Content)
		if !ok {
			problem("Invalid type for 'messages[%d].content'.", i)
		}
		msg.Content = text
		for _, tc := range m.ToolCalls {
			msg.ToolCalls = append(msg.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		rec.Messages = append(rec.Messages, msg)

		if m.Role != "tool" && len(pending) > 0 {
			problem("An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: %s", strings.Join(pending, ", "))
			pending = nil
		}
		nullContent := len(m.Content) == 0 || bytes.Equal(m.Content, []byte("null"))
		switch m.Role {
		case "system", "developer", "user":
			if nullContent {
				problem("Invalid value for 'messages[%d].content': expected a string or an array, got null.", i)
			}
		case "assistant":
			if nullContent && len(m.ToolCalls) == 0 {
				problem("Invalid value for 'messages[%d].content': expected a string or an array, got null.", i)
			}
			for _, tc := range m.ToolCalls {
				if tc.ID == "" || tc.Type != "function" || tc.Function.Name == "" {
					problem("Invalid 'messages[%d].tool_calls': each needs an id, type 'function' and a function name.", i)
				}
				pending = append(pending, tc.ID)
			}
		case "tool":
			idx := indexOf(pending, m.ToolCallID)
			if idx < 0 {
				problem("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.")
			} else {
				pending = append(pending[:idx], pending[idx+1:]...)
			}
		case "function":
		default:
			problem("Invalid value: '%s'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.", m.Role)
		}
	}
	if len(pending) > 0 {
		problem("An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: %s", strings.Join(pending, ", "))
	}

	switch {
	case rec.Model == "":
		return "you must provide a model parameter"
	case len(req.Messages) == 0:
		return "[] is too short - 'messages'"
	case req.StreamOptions != nil && !req.Stream:
		return "The 'stream_options' parameter is only allowed when 'stream' is enabled."
	case len(problems) > 0:
		return problems[0]
	}
	if rec.ToolChoice != nil {
		if len(req.Tools) == 0 {
			return "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified."
		}
		var mode string
		if json.Unmarshal(rec.ToolChoice, &mode) == nil {
			if mode != "none" && mode != "auto" && mode != "required" {
				return fmt.Sprintf("Invalid value: '%s'. Supported values are: 'none', 'auto', and 'required'.", mode)
			}
		} else {
			var named struct {
				Type     string `json:"type"`
				Function struct {
					Name string `json:"name"`
				} `json:"function"`
			}
			if json.Unmarshal(rec.ToolChoice, &named) != nil || named.Type != "function" {
				return "Invalid value for 'tool_choice'."
			}
			if !declared[named.Function.Name] {
				return fmt.Sprintf("Invalid value for 'tool_choice': tool '%s' not found in 'tools'.", named.Function.Name)
			}
		}
	}
	return ""
}

// openAIText returns the text of a message's content: a string, an array
// of parts (text parts concatenated) or null.
func openAIText(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return "", false
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String(), true
}

func openAIError(w http.ResponseWriter, status int, typ, message string) int {
	return openAIErrorCode(w, status, typ, "", message)
}

func openAIErrorCode(w http.ResponseWriter, status int, typ, code, message string) int {
	var c any
	if code != "" {
		c = code
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": message, "type": typ, "param": nil, "code": c}})
	return status
}

// writeSSE writes one server-sent event; event may be empty.
func writeSSE(w io.Writer, event string, data any) {
	b, _ := json.Marshal(data)
	if event != "" {
		_, _ = fmt.Fprintf(w, "event: %s\n", event)
	}
	_, _ = fmt.Fprintf(w, "data: %s\n\n", b)
}

func indexOf(ss []string, s string) int {
	for i, v := range ss {
		if v == s {
			return i
		}
	}
	return -1
}
