package llm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/tmc/langchaingo/llms"

	"github.com/nightshift-ops/nightshift/integrations/llm"
	"github.com/nightshift-ops/nightshift/integrations/llm/llmtest"
)

const (
	leakKey      = "sk-live-LEAK-ME-NOT-42"
	leakPassword = "gateway-PASSWORD-42"
)

// renderings returns v as every fmt verb and slog handler would print it.
func renderings(v any) []string {
	out := []string{
		fmt.Sprint(v), fmt.Sprintf("%v", v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v), fmt.Sprintf("%s", v),
		fmt.Sprint([]any{v}), fmt.Sprintf("%+v", struct{ X any }{v}),
	}
	for _, h := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		var buf bytes.Buffer
		slog.New(h(&buf)).Info("llm", "value", v)
		out = append(out, buf.String())
	}
	return out
}

func assertNoSecret(t *testing.T, what string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		for _, secret := range []string{leakKey, leakPassword} {
			if strings.Contains(s, secret) {
				t.Errorf("%s leaks a secret: %s", what, s)
			}
		}
	}
}

func TestConfigNeverPrintsSecrets(t *testing.T) {
	c := llm.Config{Provider: "openai", Model: "gpt-4o", APIKey: leakKey, BaseURL: "https://nightshift:" + leakPassword + "@gateway.internal/v1"}
	for _, v := range []any{c, &c, llm.Overrides{APIKey: leakKey, BaseURL: c.BaseURL}} {
		texts := renderings(v)
		assertNoSecret(t, fmt.Sprintf("%T", v), texts...)
		if !strings.Contains(texts[0], "<secret>") {
			t.Errorf("%T does not say a key is set: %s", v, texts[0])
		}
	}
}

func TestValidateErrorsNeverContainSecrets(t *testing.T) {
	for _, c := range []llm.Config{
		{Provider: "anthropic", Model: "m", APIKey: " " + leakKey + "\n"},
		{Provider: "openai", Model: "m", APIKey: leakKey, BaseURL: "ftp://u:" + leakPassword + "@host/"},
		{Provider: "openai", Model: "m", APIKey: leakKey, BaseURL: "http://u:" + leakPassword + "@host/%zz"},
		{Provider: "gemini", APIKey: leakKey},
	} {
		err := c.Validate()
		if err == nil {
			t.Fatalf("Validate(%v) = nil, want an error", c)
		}
		assertNoSecret(t, "Validate error", err.Error())
		_, err = llm.New(context.Background(), c)
		assertNoSecret(t, "New error", err.Error())
	}
}

func TestProviderErrorsNeverContainSecrets(t *testing.T) {
	// Each fake echoes the key it was given in its 401/403, as a careless
	// gateway might; the error must still not carry it.
	oa := llmtest.NewOpenAIServer(t, llmtest.WithAPIKey("the-right-key"))
	an := llmtest.NewAnthropicServer(t, llmtest.WithAPIKey("the-right-key"))
	br := llmtest.NewBedrockServer(t, llmtest.WithAPIKey("the-right-key"), llmtest.WithTLS())
	for _, tc := range []struct {
		c    llm.Config
		opts []llm.Option
	}{
		{c: llm.Config{Provider: "openai", Model: "gpt-4o", APIKey: leakKey, BaseURL: oa.URL}},
		{c: llm.Config{Provider: "ollama", Model: "llama3.1", APIKey: leakKey, BaseURL: oa.Server.URL}},
		{c: llm.Config{Provider: "anthropic", Model: "claude", APIKey: leakKey, BaseURL: an.URL}},
		{c: llm.Config{Provider: "bedrock", Model: bedrockModel, Region: "us-east-1", APIKey: leakKey, BaseURL: br.URL},
			opts: []llm.Option{llm.WithAWSConfig(awsTestConfig()), llm.WithHTTPClient(br.Server.Client())}},
	} {
		t.Run(tc.c.Provider, func(t *testing.T) {
			m := newModel(t, tc.c, tc.opts...)
			assertNoSecret(t, "model", renderings(m)...)
			for _, stream := range []bool{false, true} {
				opts := []llms.CallOption{llms.WithTools(tools)}
				if stream {
					opts = append(opts, llms.WithStreamingFunc(func(context.Context, []byte) error { return nil }))
				}
				_, err := m.GenerateContent(context.Background(), question(), opts...)
				if err == nil {
					t.Fatal("GenerateContent with a wrong key succeeded")
				}
				assertNoSecret(t, "GenerateContent error", err.Error(), fmt.Sprintf("%+v", err))
				assertNoSecret(t, "logged error", renderings(err)...)
				if !strings.Contains(err.Error(), "<secret>") {
					t.Errorf("error %q: want the echoed key replaced by <secret>", err)
				}
				// The fake did echo it: the test would catch a leak.
				if inner := errors.Unwrap(err); inner == nil || !strings.Contains(inner.Error(), leakKey) {
					t.Errorf("unwrapped error %v: expected the raw provider error to carry the key", inner)
				}
			}
		})
	}
}
