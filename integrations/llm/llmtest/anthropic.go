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

// AnthropicServer is a loopback server speaking the Anthropic Messages
// API: POST /v1/messages with the x-api-key and anthropic-version headers,
// answered with a message JSON (text and tool_use content blocks, usage
// input_tokens/output_tokens) or, when "stream" is true, with the SSE
// events message_start, content_block_start, ping, content_block_delta
// (text_delta, input_json_delta), content_block_stop, message_delta and
// message_stop.
//
// Like the real API it answers 400 to requests it would reject: no
// anthropic-version header, bad JSON, no model or max_tokens, no messages,
// roles other than user and assistant, empty text blocks, a first turn
// that is not the user's, a tool_use without a tool_result in the next
// turn or a tool_result for an id the previous turn did not use, tools
// without an object input_schema or with bad names, and a tool_choice
// without tools or naming an undeclared tool. Consecutive turns of the
// same role are merged before these checks, as the API does. Rejected
// requests consume no reply. When the queue is empty it answers 500.
type AnthropicServer struct {
	// URL is the API base (server address plus /v1), ready for
	// anthropic.WithBaseURL or llm.Config.BaseURL.
	URL string
	// Server is the underlying httptest server.
	Server *httptest.Server

	cfg    serverConfig
	script script[AnthropicRequest]
}

// AnthropicRequest is one request an AnthropicServer or BedrockServer
// received.
type AnthropicRequest struct {
	// Header is the request's HTTP header.
	Header http.Header
	// Body is the raw JSON body.
	Body json.RawMessage
	// Status is the HTTP status the fake answered with.
	Status int
	// Model is the body's model, or for Bedrock the model id in the path.
	Model string
	// AnthropicVersion is the anthropic-version header, or for Bedrock the
	// body's anthropic_version.
	AnthropicVersion string
	// System is the system prompt (text blocks concatenated).
	System string
	// MaxTokens is max_tokens.
	MaxTokens int
	// Stream is true for streaming requests.
	Stream bool
	// Messages are the turns as sent, before any merging.
	Messages []AnthropicMessage
	// Tools are the declared tools.
	Tools []AnthropicTool
	// ToolChoice is the raw tool_choice value, nil when absent.
	ToolChoice json.RawMessage
}

// AnthropicMessage is one turn of a recorded request.
type AnthropicMessage struct {
	// Role is user or assistant.
	Role string
	// Content holds the blocks; string content becomes one text block.
	Content []AnthropicBlock
}

// AnthropicBlock is one content block of a recorded turn.
type AnthropicBlock struct {
	// Type is text, image, tool_use or tool_result.
	Type string
	// Text is a text block's text.
	Text string
	// ID, Name and Input describe a tool_use block.
	ID, Name string
	Input    json.RawMessage
	// ToolUseID, Content and IsError describe a tool_result block; Content
	// concatenates the text of array content.
	ToolUseID string
	Content   string
	IsError   bool
}

// AnthropicTool is one declared tool of a recorded request.
type AnthropicTool struct {
	// Name and Description describe the tool.
	Name, Description string
	// InputSchema is the raw JSON schema.
	InputSchema json.RawMessage
}

// NewAnthropicServer starts an AnthropicServer that is closed when t ends.
func NewAnthropicServer(t testing.TB, opts ...ServerOption) *AnthropicServer {
	s := &AnthropicServer{}
	for _, o := range opts {
		o(&s.cfg)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/messages", s.handle)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		anthropicError(w, http.StatusNotFound, "Not Found")
	})
	s.Server = start(t, s.cfg, mux)
	s.URL = s.Server.URL + "/v1"
	return s
}

// Enqueue appends replies to the script.
func (s *AnthropicServer) Enqueue(replies ...Reply) { s.script.enqueue(replies...) }

// Requests returns every request received so far, rejected ones included.
func (s *AnthropicServer) Requests() []AnthropicRequest { return s.script.recorded() }

// Remaining is the number of replies not yet served.
func (s *AnthropicServer) Remaining() int { return s.script.remaining() }

// Close shuts the server down; NewAnthropicServer already arranges it.
func (s *AnthropicServer) Close() { s.Server.Close() }

func (s *AnthropicServer) handle(w http.ResponseWriter, r *http.Request) {
	defer s.script.begin()()
	body, _ := io.ReadAll(r.Body)
	rec := AnthropicRequest{Header: r.Header.Clone(), Body: body, AnthropicVersion: r.Header.Get("anthropic-version")}
	rec.Status = s.serve(w, r, body, &rec)
	s.script.record(rec)
}

func (s *AnthropicServer) serve(w http.ResponseWriter, r *http.Request, body []byte, rec *AnthropicRequest) int {
	if s.cfg.apiKey != "" {
		if got := r.Header.Get("x-api-key"); got != s.cfg.apiKey {
			return anthropicError(w, http.StatusUnauthorized, "invalid x-api-key: "+got)
		}
	}
	if rec.AnthropicVersion == "" {
		return anthropicError(w, http.StatusBadRequest, "anthropic-version: header is required")
	}
	var req anthropicWireRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return anthropicError(w, http.StatusBadRequest, "There was an error parsing the body: "+err.Error())
	}
	if msg := decodeAnthropic(&req, rec, false); msg != "" {
		return anthropicError(w, http.StatusBadRequest, msg)
	}
	reply, seq, ok := s.script.next()
	if !ok {
		return anthropicError(w, http.StatusInternalServerError, "llmtest: no scripted reply left for this request")
	}
	if reply.Status != 0 {
		return anthropicError(w, reply.Status, reply.Error)
	}
	prompt, completion := reply.usage(len(body))
	if !rec.Stream {
		msg, err := anthropicResponse(reply, seq, rec.Model, prompt, completion)
		if err != nil {
			return anthropicError(w, http.StatusInternalServerError, err.Error())
		}
		writeJSON(w, http.StatusOK, msg)
		return http.StatusOK
	}
	events, err := anthropicEvents(reply, seq, rec.Model, prompt, completion)
	if err != nil {
		return anthropicError(w, http.StatusInternalServerError, err.Error())
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	for _, e := range events {
		writeSSE(w, e["type"].(string), e)
		if flusher != nil {
			flusher.Flush()
		}
	}
	return http.StatusOK
}

type anthropicWireRequest struct {
	Model            *string         `json:"model"`
	AnthropicVersion string          `json:"anthropic_version"`
	MaxTokens        *int            `json:"max_tokens"`
	System           json.RawMessage `json:"system"`
	Messages         []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Tools []struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description string          `json:"description"`
		InputSchema json.RawMessage `json:"input_schema"`
	} `json:"tools"`
	ToolChoice json.RawMessage `json:"tool_choice"`
	Stream     bool            `json:"stream"`
}

type anthropicWireBlock struct {
	Type      string          `json:"type"`
	Text      *string         `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
	IsError   bool            `json:"is_error"`
}

// decodeAnthropic fills rec from req and returns the message of the first
// problem the real API would reject, or "". bedrock applies Bedrock's
// body rules (anthropic_version in the body, no model).
func decodeAnthropic(req *anthropicWireRequest, rec *AnthropicRequest, bedrock bool) string {
	if !bedrock && req.Model != nil {
		rec.Model = *req.Model
	}
	if bedrock {
		rec.AnthropicVersion = req.AnthropicVersion
	}
	if req.MaxTokens != nil {
		rec.MaxTokens = *req.MaxTokens
	}
	rec.Stream = req.Stream
	if len(req.ToolChoice) > 0 && !bytes.Equal(req.ToolChoice, []byte("null")) {
		rec.ToolChoice = req.ToolChoice
	}
	var problems []string
	problem := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if len(req.System) > 0 && !bytes.Equal(req.System, []byte("null")) {
		sys, ok := blocksText(req.System)
		if !ok {
			problem("system: Input should be a valid string or list of text blocks")
		}
		rec.System = sys
	}

	declared := map[string]bool{}
	for i, t := range req.Tools {
		rec.Tools = append(rec.Tools, AnthropicTool{Name: t.Name, Description: t.Description, InputSchema: t.InputSchema})
		declared[t.Name] = true
		if t.Type != "" && t.Type != "custom" {
			continue // server tools (web_search_…) have no schema
		}
		var schema struct {
			Type string `json:"type"`
		}
		switch {
		case !validToolName(t.Name):
			problem("tools.%d.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'", i)
		case len(t.InputSchema) == 0 || bytes.Equal(t.InputSchema, []byte("null")):
			problem("tools.%d.custom.input_schema: Field required", i)
		case json.Unmarshal(t.InputSchema, &schema) != nil || schema.Type != "object":
			problem("tools.%d.custom.input_schema.type: Input should be 'object'", i)
		}
	}

	// Decode every turn as sent, then check the merged conversation.
	type turn struct {
		role   string
		blocks []AnthropicBlock
		first  int // index of the first message merged into this turn
	}
	var turns []turn
	for i, m := range req.Messages {
		msg := AnthropicMessage{Role: m.Role}
		var s string
		if json.Unmarshal(m.Content, &s) == nil {
			msg.Content = []AnthropicBlock{{Type: "text", Text: s}}
			if s == "" && i != len(req.Messages)-1 {
				problem("messages.%d: all messages must have non-empty content except for the optional final assistant message", i)
			}
		} else {
			var blocks []anthropicWireBlock
			if err := json.Unmarshal(m.Content, &blocks); err != nil {
				problem("messages.%d.content: Input should be a valid string or list of content blocks", i)
			}
			if len(blocks) == 0 && i != len(req.Messages)-1 {
				problem("messages.%d: all messages must have non-empty content except for the optional final assistant message", i)
			}
			for j, b := range blocks {
				blk := AnthropicBlock{Type: b.Type, ID: b.ID, Name: b.Name, Input: b.Input, ToolUseID: b.ToolUseID, IsError: b.IsError}
				if b.Text != nil {
					blk.Text = *b.Text
				}
				switch b.Type {
				case "text":
					if blk.Text == "" {
						problem("messages.%d.content.%d.text: text content blocks must be non-empty", i, j)
					}
				case "image":
				case "tool_use":
					if m.Role != "assistant" {
						problem("messages.%d.content.%d: tool_use blocks may only appear in assistant messages", i, j)
					}
					if b.ID == "" || b.Name == "" || !isObject(b.Input) {
						problem("messages.%d.content.%d.tool_use: id, name and an object input are required", i, j)
					}
				case "tool_result":
					if m.Role != "user" {
						problem("messages.%d.content.%d: tool_result blocks may only appear in user messages", i, j)
					}
					if b.ToolUseID == "" {
						problem("messages.%d.content.%d.tool_result.tool_use_id: Field required", i, j)
					}
					if len(b.Content) > 0 {
						text, ok := blocksText(b.Content)
						if !ok {
							problem("messages.%d.content.%d.tool_result.content: Input should be a valid string or list of content blocks", i, j)
						}
						blk.Content = text
					}
				default:
					problem("messages.%d.content.%d.type: Input tag '%s' found using 'type' does not match any of the expected tags", i, j, b.Type)
				}
				msg.Content = append(msg.Content, blk)
			}
		}
		rec.Messages = append(rec.Messages, msg)
		switch m.Role {
		case "user", "assistant":
		case "system":
			problem("messages.%d.role: Unexpected role \"system\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role.", i)
			continue
		default:
			problem("messages.%d.role: Input should be 'user' or 'assistant'", i)
			continue
		}
		if n := len(turns); n > 0 && turns[n-1].role == m.Role {
			turns[n-1].blocks = append(turns[n-1].blocks, msg.Content...)
		} else {
			turns = append(turns, turn{role: m.Role, blocks: msg.Content, first: i})
		}
	}
	if len(turns) > 0 && turns[0].role != "user" {
		problem("messages: first message must use the \"user\" role")
	}
	for n, t := range turns {
		var prevUses []string
		if n > 0 && turns[n-1].role == "assistant" {
			for _, b := range turns[n-1].blocks {
				if b.Type == "tool_use" {
					prevUses = append(prevUses, b.ID)
				}
			}
		}
		if t.role == "user" {
			answered := map[string]bool{}
			for _, b := range t.blocks {
				if b.Type != "tool_result" {
					continue
				}
				if indexOf(prevUses, b.ToolUseID) < 0 {
					problem("messages.%d.content: unexpected `tool_use_id` found in `tool_result` blocks: %s. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.", t.first, b.ToolUseID)
				}
				answered[b.ToolUseID] = true
			}
			var missing []string
			for _, id := range prevUses {
				if !answered[id] {
					missing = append(missing, id)
				}
			}
			if len(missing) > 0 {
				problem("messages.%d: `tool_use` ids were found without `tool_result` blocks immediately after: %s. Each `tool_use` block must have a corresponding `tool_result` block in the next message.", turns[n-1].first, strings.Join(missing, ", "))
			}
		}
	}
	if n := len(turns); n > 0 && turns[n-1].role == "assistant" {
		for _, b := range turns[n-1].blocks {
			if b.Type == "tool_use" {
				problem("messages.%d: `tool_use` ids were found without `tool_result` blocks immediately after: %s. Each `tool_use` block must have a corresponding `tool_result` block in the next message.", turns[n-1].first, b.ID)
				break
			}
		}
	}

	switch {
	case bedrock && req.Model != nil:
		return "extraneous key [model] is not permitted"
	case bedrock && req.AnthropicVersion != "bedrock-2023-05-31":
		return "anthropic_version: must be bedrock-2023-05-31"
	case !bedrock && rec.Model == "":
		return "model: Field required"
	case req.MaxTokens == nil || *req.MaxTokens < 1:
		return "max_tokens: Field required"
	case len(req.Messages) == 0:
		return "messages: at least one message is required"
	case len(problems) > 0:
		return problems[0]
	}
	if rec.ToolChoice != nil {
		if len(req.Tools) == 0 {
			return "tool_choice: tool_choice may only be specified while providing tools"
		}
		var tc struct {
			Type string `json:"type"`
			Name string `json:"name"`
		}
		if json.Unmarshal(rec.ToolChoice, &tc) != nil {
			return "tool_choice: Input should be an object"
		}
		switch tc.Type {
		case "auto", "any", "none":
		case "tool":
			if !declared[tc.Name] {
				return fmt.Sprintf("tool_choice.tool.name: tool '%s' not found in tools", tc.Name)
			}
		default:
			return fmt.Sprintf("tool_choice.type: Input tag '%s' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'", tc.Type)
		}
	}
	return ""
}

// blocksText returns a string, or the concatenated text of a list of text
// blocks.
func blocksText(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var blocks []anthropicWireBlock
	if json.Unmarshal(raw, &blocks) != nil {
		return "", false
	}
	var b strings.Builder
	for _, blk := range blocks {
		if blk.Type == "text" && blk.Text != nil {
			b.WriteString(*blk.Text)
		}
	}
	return b.String(), true
}

// anthropicBlocks renders a reply's content blocks.
func anthropicBlocks(reply Reply, seq int) ([]map[string]any, error) {
	var blocks []map[string]any
	if reply.Text != "" {
		blocks = append(blocks, map[string]any{"type": "text", "text": reply.Text})
	}
	for i, tc := range reply.ToolCalls {
		args := json.RawMessage(orDefault(tc.Arguments, "{}"))
		if !isObject(args) {
			return nil, fmt.Errorf("llmtest: arguments of scripted tool call %s are not a JSON object: %s", tc.Name, tc.Arguments)
		}
		blocks = append(blocks, map[string]any{
			"type":  "tool_use",
			"id":    orDefault(tc.ID, "toolu_"+strconv.Itoa(seq)+"_"+strconv.Itoa(i+1)),
			"name":  tc.Name,
			"input": args,
		})
	}
	return blocks, nil
}

func anthropicStopReason(reply Reply) string {
	switch {
	case reply.StopReason != "":
		return reply.StopReason
	case len(reply.ToolCalls) > 0:
		return "tool_use"
	}
	return "end_turn"
}

// anthropicResponse renders a reply as a Messages API response body.
func anthropicResponse(reply Reply, seq int, model string, prompt, completion int) (map[string]any, error) {
	blocks, err := anthropicBlocks(reply, seq)
	if err != nil {
		return nil, err
	}
	if blocks == nil {
		blocks = []map[string]any{}
	}
	return map[string]any{
		"id":            "msg_" + strconv.Itoa(seq),
		"type":          "message",
		"role":          "assistant",
		"model":         model,
		"content":       blocks,
		"stop_reason":   anthropicStopReason(reply),
		"stop_sequence": nil,
		"usage":         map[string]any{"input_tokens": prompt, "output_tokens": completion},
	}, nil
}

// anthropicEvents renders a reply as the stream of Messages API events.
func anthropicEvents(reply Reply, seq int, model string, prompt, completion int) ([]map[string]any, error) {
	blocks, err := anthropicBlocks(reply, seq)
	if err != nil {
		return nil, err
	}
	events := []map[string]any{
		{"type": "message_start", "message": map[string]any{
			"id": "msg_" + strconv.Itoa(seq), "type": "message", "role": "assistant", "model": model,
			"content": []any{}, "stop_reason": nil, "stop_sequence": nil,
			"usage": map[string]any{"input_tokens": prompt, "output_tokens": 1},
		}},
		{"type": "ping"},
	}
	for i, b := range blocks {
		switch b["type"] {
		case "text":
			events = append(events, map[string]any{"type": "content_block_start", "index": i,
				"content_block": map[string]any{"type": "text", "text": ""}})
			for _, w := range words(b["text"].(string)) {
				events = append(events, map[string]any{"type": "content_block_delta", "index": i,
					"delta": map[string]any{"type": "text_delta", "text": w}})
			}
		case "tool_use":
			events = append(events, map[string]any{"type": "content_block_start", "index": i,
				"content_block": map[string]any{"type": "tool_use", "id": b["id"], "name": b["name"], "input": map[string]any{}}})
			events = append(events, map[string]any{"type": "content_block_delta", "index": i,
				"delta": map[string]any{"type": "input_json_delta", "partial_json": ""}})
			for _, frag := range fragments(string(b["input"].(json.RawMessage)), 3) {
				events = append(events, map[string]any{"type": "content_block_delta", "index": i,
					"delta": map[string]any{"type": "input_json_delta", "partial_json": frag}})
			}
		}
		events = append(events, map[string]any{"type": "content_block_stop", "index": i})
	}
	events = append(events,
		map[string]any{"type": "message_delta",
			"delta": map[string]any{"stop_reason": anthropicStopReason(reply), "stop_sequence": nil},
			"usage": map[string]any{"output_tokens": completion}},
		map[string]any{"type": "message_stop"},
	)
	return events, nil
}

func anthropicErrorType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case 529:
		return "overloaded_error"
	}
	return "api_error"
}

func anthropicError(w http.ResponseWriter, status int, message string) int {
	writeJSON(w, status, map[string]any{
		"type":  "error",
		"error": map[string]any{"type": anthropicErrorType(status), "message": message},
	})
	return status
}
