package llmtest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/openai"

	"github.com/nightshift-ops/nightshift/integrations/llm/llmtest"
)

func TestScriptedPlaysStepsAndRecords(t *testing.T) {
	s := llmtest.NewScripted(
		llmtest.Tools(llmtest.Call("call_1", "get_logs", `{"group":"/eks/prod"}`)).Choice(),
		llmtest.Text("The pod was OOMKilled.").WithUsage(10, 5).Choice(),
	)
	ctx := context.Background()
	msgs := []llms.MessageContent{llms.TextParts(llms.ChatMessageTypeHuman, "why?")}

	resp, err := s.GenerateContent(ctx, msgs, llms.WithTools([]llms.Tool{{Type: "function", Function: &llms.FunctionDefinition{Name: "get_logs"}}}))
	if err != nil {
		t.Fatal(err)
	}
	tc := resp.Choices[0].ToolCalls
	if len(tc) != 1 || tc[0].ID != "call_1" || tc[0].FunctionCall.Arguments != `{"group":"/eks/prod"}` || resp.Choices[0].StopReason != "tool_calls" {
		t.Fatalf("step 1 = %+v", resp.Choices[0])
	}
	tc[0].FunctionCall.Name = "mutated" // must not change the script or recording

	msgs[0].Parts[0] = llms.TextContent{Text: "changed after the call"}
	var streamed []string
	resp, err = s.GenerateContent(ctx, msgs, llms.WithStreamingFunc(func(_ context.Context, b []byte) error {
		streamed = append(streamed, string(b))
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(streamed, []string{"The ", "pod ", "was ", "OOMKilled."}); diff != "" {
		t.Errorf("streamed (-got +want):\n%s", diff)
	}
	if resp.Choices[0].GenerationInfo["PromptTokens"] != 10 || resp.Choices[0].GenerationInfo["CompletionTokens"] != 5 {
		t.Errorf("usage = %v", resp.Choices[0].GenerationInfo)
	}

	calls := s.Calls()
	if len(calls) != 2 || len(calls[0].Options.Tools) != 1 {
		t.Fatalf("calls = %+v", calls)
	}
	if got := calls[0].Messages[0].Parts[0].(llms.TextContent).Text; got != "why?" {
		t.Errorf("recorded message = %q; recording must be a copy", got)
	}

	if _, err := s.GenerateContent(ctx, msgs); !errors.Is(err, llmtest.ErrScriptExhausted) {
		t.Errorf("third call error = %v, want ErrScriptExhausted", err)
	}
	if s.Remaining() != 0 {
		t.Errorf("Remaining = %d", s.Remaining())
	}
	s.AddReplies(llmtest.Text("late step"))
	if got, err := s.Call(ctx, "again"); got != "late step" || err != nil {
		t.Errorf("step added after exhaustion = %q, %v", got, err)
	}
	if len(s.Calls()) != 4 {
		t.Errorf("recorded %d calls, want 4 (the failed one included)", len(s.Calls()))
	}
}

func TestScriptedErrorsAndCancellation(t *testing.T) {
	boom := errors.New("provider down")
	s := llmtest.NewScripted()
	s.AddError(boom)
	s.AddReplies(llmtest.Failure(429, "slow down"), llmtest.Text("ok"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Call(ctx, "hi"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call = %v", err)
	}
	if _, err := s.Call(context.Background(), "hi"); !errors.Is(err, boom) {
		t.Errorf("first step = %v, want %v", err, boom)
	}
	if _, err := s.Call(context.Background(), "hi"); err == nil || !strings.Contains(err.Error(), "slow down") {
		t.Errorf("second step = %v", err)
	}
	if got, err := s.Call(context.Background(), "hi"); got != "ok" || err != nil {
		t.Errorf("third step = %q, %v", got, err)
	}
	stop := errors.New("client went away")
	s.AddReplies(llmtest.Text("a b c"))
	_, err := s.GenerateContent(context.Background(), nil, llms.WithStreamingFunc(func(context.Context, []byte) error { return stop }))
	if !errors.Is(err, stop) {
		t.Errorf("streaming func error = %v", err)
	}
}

func TestScriptedIsGoroutineSafe(t *testing.T) {
	const n = 50
	s := llmtest.NewScripted()
	for range n {
		s.AddReplies(llmtest.Text("x y"))
	}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := s.Call(context.Background(), "hi", llms.WithStreamingFunc(func(context.Context, []byte) error { return nil })); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(s.Calls()) != n || s.Remaining() != 0 {
		t.Errorf("calls %d remaining %d", len(s.Calls()), s.Remaining())
	}
}

func post(t *testing.T, url string, header map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestOpenAIServerRejectsLikeTheAPI(t *testing.T) {
	srv := llmtest.NewOpenAIServer(t, llmtest.WithAPIKey("k"))
	srv.Enqueue(llmtest.Text("only reply"))
	auth := map[string]string{"Authorization": "Bearer k"}
	user := `{"role":"user","content":"hi"}`
	tools := `"tools":[{"type":"function","function":{"name":"get_logs","parameters":{"type":"object"}}}]`
	tests := []struct {
		name   string
		header map[string]string
		body   string
		status int
		want   string
	}{
		{"wrong key", map[string]string{"Authorization": "Bearer nope"}, `{}`, 401, "Incorrect API key provided: nope"},
		{"bad json", auth, `{"model":`, 400, "could not parse the JSON body"},
		{"no model", auth, `{"messages":[` + user + `]}`, 400, "you must provide a model parameter"},
		{"no messages", auth, `{"model":"m","messages":[]}`, 400, "too short"},
		{"bad role", auth, `{"model":"m","messages":[{"role":"robot","content":"x"}]}`, 400, "Invalid value: 'robot'"},
		{"orphan tool message", auth, `{"model":"m","messages":[` + user + `,{"role":"tool","tool_call_id":"call_9","content":"x"}]}`, 400, "must be a response to a preceeding message with 'tool_calls'"},
		{"unanswered tool call", auth, `{"model":"m","messages":[` + user + `,{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_logs","arguments":"{}"}}]},` + user + `]}`, 400, "did not have response messages: call_1"},
		{"null parameters", auth, `{"model":"m","messages":[` + user + `],"tools":[{"type":"function","function":{"name":"f","parameters":null}}]}`, 400, "is not of type 'object'"},
		{"bad tool name", auth, `{"model":"m","messages":[` + user + `],"tools":[{"type":"function","function":{"name":"get logs"}}]}`, 400, "does not match pattern"},
		{"tool_choice without tools", auth, `{"model":"m","messages":[` + user + `],"tool_choice":"auto"}`, 400, "only allowed when 'tools' are specified"},
		{"tool_choice unknown tool", auth, `{"model":"m","messages":[` + user + `],` + tools + `,"tool_choice":{"type":"function","function":{"name":"nope"}}}`, 400, "tool 'nope' not found"},
		{"stream_options without stream", auth, `{"model":"m","messages":[` + user + `],"stream_options":{"include_usage":true}}`, 400, "only allowed when 'stream' is enabled"},
		{"valid", auth, `{"model":"m","messages":[` + user + `],` + tools + `,"tool_choice":"required"}`, 200, `"content":"only reply"`},
		{"queue empty", auth, `{"model":"m","messages":[` + user + `]}`, 500, "no scripted reply left"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, srv.URL+"/chat/completions", tt.header, tt.body)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("got %d %s; want %d containing %q", status, body, tt.status, tt.want)
			}
		})
	}
	if got := len(srv.Requests()); got != len(tests) {
		t.Errorf("recorded %d requests, want %d", got, len(tests))
	}
	if status, _ := post(t, srv.Server.URL+"/v1/completions", auth, `{}`); status != 404 {
		t.Errorf("unknown path status = %d", status)
	}
}

func TestOpenAIServerFailureReplyReachesClient(t *testing.T) {
	srv := llmtest.NewOpenAIServer(t)
	srv.Enqueue(llmtest.Failure(429, "Rate limit reached for gpt-4o"), llmtest.Text("recovered"))
	m, err := openai.New(openai.WithBaseURL(srv.URL), openai.WithToken("k"), openai.WithModel("gpt-4o"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Call(context.Background(), "hi"); err == nil || !strings.Contains(err.Error(), "429") || !strings.Contains(err.Error(), "Rate limit reached") {
		t.Errorf("first call = %v", err)
	}
	if got, err := m.Call(context.Background(), "hi"); got != "recovered" || err != nil {
		t.Errorf("second call = %q, %v", got, err)
	}
	if srv.Remaining() != 0 {
		t.Errorf("Remaining = %d", srv.Remaining())
	}
}

func TestAnthropicServerRejectsLikeTheAPI(t *testing.T) {
	srv := llmtest.NewAnthropicServer(t, llmtest.WithAPIKey("k"))
	srv.Enqueue(llmtest.Text("only reply"))
	h := map[string]string{"x-api-key": "k", "anthropic-version": "2023-06-01"}
	user := `{"role":"user","content":"hi"}`
	use := `{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_logs","input":{}}]}`
	tests := []struct {
		name   string
		header map[string]string
		body   string
		status int
		want   string
	}{
		{"wrong key", map[string]string{"x-api-key": "nope", "anthropic-version": "2023-06-01"}, `{}`, 401, "authentication_error"},
		{"no version header", map[string]string{"x-api-key": "k"}, `{}`, 400, "anthropic-version: header is required"},
		{"bad json", h, `{`, 400, "error parsing the body"},
		{"no model", h, `{"max_tokens":10,"messages":[` + user + `]}`, 400, "model: Field required"},
		{"no max_tokens", h, `{"model":"c","messages":[` + user + `]}`, 400, "max_tokens: Field required"},
		{"system role", h, `{"model":"c","max_tokens":10,"messages":[{"role":"system","content":"x"},` + user + `]}`, 400, "top-level `system` parameter"},
		{"assistant first", h, `{"model":"c","max_tokens":10,"messages":[{"role":"assistant","content":"x"},` + user + `]}`, 400, "first message must use the"},
		{"empty text block", h, `{"model":"c","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":""}]}]}`, 400, "text content blocks must be non-empty"},
		{"tool_use without result", h, `{"model":"c","max_tokens":10,"messages":[` + user + `,` + use + `,` + user + `]}`, 400, "ids were found without `tool_result` blocks immediately after: toolu_1"},
		{"result without tool_use", h, `{"model":"c","max_tokens":10,"messages":[` + user + `,{"role":"assistant","content":"ok"},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_7","content":"x"}]}]}`, 400, "unexpected `tool_use_id` found in `tool_result` blocks: toolu_7"},
		{"tool without schema", h, `{"model":"c","max_tokens":10,"messages":[` + user + `],"tools":[{"name":"get_logs"}]}`, 400, "input_schema: Field required"},
		{"tool_choice without tools", h, `{"model":"c","max_tokens":10,"messages":[` + user + `],"tool_choice":{"type":"auto"}}`, 400, "tool_choice may only be specified while providing tools"},
		{"valid with split turns merged", h, `{"model":"c","max_tokens":10,"messages":[` + user + `,` + use + `,{"role":"assistant","content":[{"type":"tool_use","id":"toolu_2","name":"get_logs","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"a"}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"b"}]}]}],"tools":[{"name":"get_logs","input_schema":{"type":"object"}}]}`, 200, `"text":"only reply"`},
		{"queue empty", h, `{"model":"c","max_tokens":10,"messages":[` + user + `]}`, 500, "no scripted reply left"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, srv.URL+"/messages", tt.header, tt.body)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("got %d %s; want %d containing %q", status, body, tt.status, tt.want)
			}
		})
	}
	last := srv.Requests()[len(tests)-2]
	if got := last.Messages[4].Content[0]; got.Type != "tool_result" || got.Content != "b" {
		t.Errorf("recorded tool_result = %+v", got)
	}
}

func TestBedrockServerRejectsUnsignedAndNonAnthropic(t *testing.T) {
	srv := llmtest.NewBedrockServer(t)
	body := `{"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	sig := map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/bedrock/aws4_request"}
	if status, _ := post(t, srv.URL+"/model/anthropic.claude-v2/invoke", nil, body); status != 403 {
		t.Errorf("unsigned status = %d", status)
	}
	if status, resp := post(t, srv.URL+"/model/meta.llama3-70b-instruct-v1:0/invoke", sig, body); status != 400 || !strings.Contains(resp, "Anthropic models only") {
		t.Errorf("llama: %d %s", status, resp)
	}
	if status, resp := post(t, srv.URL+"/model/anthropic.claude-v2/invoke", sig, strings.Replace(body, `"anthropic_version"`, `"model":"x","anthropic_version"`, 1)); status != 400 || !strings.Contains(resp, "extraneous key [model]") {
		t.Errorf("model in body: %d %s", status, resp)
	}
}
