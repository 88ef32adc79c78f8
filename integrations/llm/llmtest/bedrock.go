package llmtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// BedrockServer is a loopback server speaking Bedrock Runtime InvokeModel
// for Anthropic models: POST /model/{modelId}/invoke with an
// Anthropic-on-Bedrock body (anthropic_version "bedrock-2023-05-31", no
// model field) answered with the Messages API response JSON, and POST
// /model/{modelId}/invoke-with-response-stream answered with an AWS event
// stream whose chunk events carry the Messages API stream events. Point
// the AWS SDK at it with bedrockruntime.Options.BaseEndpoint = URL (or
// llm.Config.BaseURL).
//
// It applies the same request checks as AnthropicServer and rejects model
// ids that are not Anthropic's with a ValidationException. Requests must
// be signed (any SigV4 Authorization header is accepted) or, with
// WithAPIKey, carry Authorization: Bearer <key>. Errors use Bedrock's
// shape: X-Amzn-ErrorType header and {"message": ...}.
type BedrockServer struct {
	// URL is the endpoint to use as the client's base endpoint.
	URL string
	// Server is the underlying httptest server.
	Server *httptest.Server

	cfg    serverConfig
	script script[AnthropicRequest]
}

// NewBedrockServer starts a BedrockServer that is closed when t ends.
func NewBedrockServer(t testing.TB, opts ...ServerOption) *BedrockServer {
	s := &BedrockServer{}
	for _, o := range opts {
		o(&s.cfg)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /model/{model}/invoke", func(w http.ResponseWriter, r *http.Request) { s.handle(w, r, false) })
	mux.HandleFunc("POST /model/{model}/invoke-with-response-stream", func(w http.ResponseWriter, r *http.Request) { s.handle(w, r, true) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		bedrockError(w, http.StatusNotFound, "UnknownOperationException", "")
	})
	s.Server = start(t, s.cfg, mux)
	s.URL = s.Server.URL
	return s
}

// Enqueue appends replies to the script.
func (s *BedrockServer) Enqueue(replies ...Reply) { s.script.enqueue(replies...) }

// Requests returns every request received so far, rejected ones included.
// Model is the model id from the path; Stream tells the streaming
// operation apart.
func (s *BedrockServer) Requests() []AnthropicRequest { return s.script.recorded() }

// Remaining is the number of replies not yet served.
func (s *BedrockServer) Remaining() int { return s.script.remaining() }

// Close shuts the server down; NewBedrockServer already arranges it.
func (s *BedrockServer) Close() { s.Server.Close() }

func (s *BedrockServer) handle(w http.ResponseWriter, r *http.Request, stream bool) {
	defer s.script.begin()()
	body, _ := io.ReadAll(r.Body)
	rec := AnthropicRequest{Header: r.Header.Clone(), Body: body, Model: r.PathValue("model")}
	rec.Status = s.serve(w, r, body, &rec, stream)
	rec.Stream = stream
	s.script.record(rec)
}

func (s *BedrockServer) serve(w http.ResponseWriter, r *http.Request, body []byte, rec *AnthropicRequest, stream bool) int {
	auth := r.Header.Get("Authorization")
	switch {
	case s.cfg.apiKey != "":
		if got := strings.TrimPrefix(auth, "Bearer "); got != s.cfg.apiKey {
			return bedrockError(w, http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid: "+got)
		}
	case !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 "):
		return bedrockError(w, http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	if !strings.Contains(rec.Model, "anthropic") {
		return bedrockError(w, http.StatusBadRequest, "ValidationException", "llmtest: BedrockServer serves Anthropic models only, got "+rec.Model)
	}
	var req anthropicWireRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return bedrockError(w, http.StatusBadRequest, "ValidationException", "Malformed input request, please reformat your input and try again.")
	}
	if msg := decodeAnthropic(&req, rec, true); msg != "" {
		return bedrockError(w, http.StatusBadRequest, "ValidationException", msg)
	}
	reply, seq, ok := s.script.next()
	if !ok {
		return bedrockError(w, http.StatusInternalServerError, "InternalServerException", "llmtest: no scripted reply left for this request")
	}
	if reply.Status != 0 {
		code := "InternalServerException"
		switch reply.Status {
		case http.StatusBadRequest:
			code = "ValidationException"
		case http.StatusForbidden:
			code = "AccessDeniedException"
		case http.StatusRequestTimeout:
			code = "ModelTimeoutException"
		case http.StatusTooManyRequests:
			code = "ThrottlingException"
		case http.StatusServiceUnavailable:
			code = "ServiceUnavailableException"
		}
		return bedrockError(w, reply.Status, code, reply.Error)
	}
	prompt, completion := reply.usage(len(body))
	if !stream {
		msg, err := anthropicResponse(reply, seq, rec.Model, prompt, completion)
		if err != nil {
			return bedrockError(w, http.StatusInternalServerError, "InternalServerException", err.Error())
		}
		w.Header().Set("X-Amzn-Bedrock-Input-Token-Count", strconv.Itoa(prompt))
		w.Header().Set("X-Amzn-Bedrock-Output-Token-Count", strconv.Itoa(completion))
		writeJSON(w, http.StatusOK, msg)
		return http.StatusOK
	}
	events, err := anthropicEvents(reply, seq, rec.Model, prompt, completion)
	if err != nil {
		return bedrockError(w, http.StatusInternalServerError, "InternalServerException", err.Error())
	}
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.Header().Set("X-Amzn-Bedrock-Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := eventstream.NewEncoder()
	for _, e := range events {
		if e["type"] == "ping" {
			continue // Bedrock does not forward pings
		}
		if e["type"] == "message_stop" {
			e["amazon-bedrock-invocationMetrics"] = map[string]any{
				"inputTokenCount": prompt, "outputTokenCount": completion,
				"invocationLatency": 1, "firstByteLatency": 1,
			}
		}
		inner, _ := json.Marshal(e)
		payload, _ := json.Marshal(map[string]any{"bytes": inner}) // []byte marshals as base64
		msg := eventstream.Message{Payload: payload}
		msg.Headers.Set(":event-type", eventstream.StringValue("chunk"))
		msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
		msg.Headers.Set(":message-type", eventstream.StringValue("event"))
		if err := enc.Encode(w, msg); err != nil {
			return http.StatusOK
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
	return http.StatusOK
}

func bedrockError(w http.ResponseWriter, status int, code, message string) int {
	w.Header().Set("X-Amzn-ErrorType", code)
	writeJSON(w, status, map[string]any{"message": message})
	return status
}
