package llm_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/nightshift-ops/nightshift/integrations/llm"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		c    llm.Config
		want []string // substrings, one per reported problem
	}{
		{name: "zero value is provider none", c: llm.Config{}},
		{name: "none ignores the rest", c: llm.Config{Provider: "none", Model: "gpt-4o"}},
		{name: "openai", c: llm.Config{Provider: "openai", Model: "gpt-4o", APIKey: "sk-1"}},
		{name: "provider is case-insensitive", c: llm.Config{Provider: "OpenAI", Model: "gpt-4o", APIKey: "sk-1"}},
		{name: "openai-compatible without key", c: llm.Config{Provider: "openai", Model: "qwen", BaseURL: "http://vllm:8000/v1"}},
		{name: "unknown provider", c: llm.Config{Provider: "gemini"},
			want: []string{`provider: unknown "gemini"`}},
		{name: "openai without model", c: llm.Config{Provider: "openai", APIKey: "sk-1"},
			want: []string{"model: required for provider openai"}},
		{name: "openai without key or base_url", c: llm.Config{Provider: "openai", Model: "gpt-4o"},
			want: []string{"api_key: required for provider openai"}},
		{name: "anthropic", c: llm.Config{Provider: "anthropic", Model: "claude-sonnet-4-5", APIKey: "k"}},
		{name: "anthropic without key", c: llm.Config{Provider: "anthropic", Model: "claude-sonnet-4-5"},
			want: []string{"api_key: required for provider anthropic"}},
		{name: "anthropic without anything", c: llm.Config{Provider: "anthropic"},
			want: []string{"model: required for provider anthropic", "api_key: required for provider anthropic"}},
		{name: "bedrock model id", c: llm.Config{Provider: "bedrock", Region: "us-east-1", Model: "anthropic.claude-3-5-sonnet-20240620-v1:0"}},
		{name: "bedrock inference profile", c: llm.Config{Provider: "bedrock", Region: "eu-west-1", Model: "eu.anthropic.claude-sonnet-4-20250514-v1:0"}},
		{name: "bedrock without region or model", c: llm.Config{Provider: "bedrock"},
			want: []string{"region: required for provider bedrock", "model: required for provider bedrock"}},
		{name: "bedrock llama", c: llm.Config{Provider: "bedrock", Region: "us-east-1", Model: "meta.llama3-70b-instruct-v1:0"},
			want: []string{`model: provider bedrock calls tools only with Anthropic models`}},
		{name: "bedrock nova", c: llm.Config{Provider: "bedrock", Region: "us-east-1", Model: "us.amazon.nova-pro-v1:0"},
			want: []string{`only with Anthropic models (anthropic.* or an inference profile such as us.anthropic.*), got "us.amazon.nova-pro-v1:0"`}},
		{name: "bedrock application inference profile arn", c: llm.Config{Provider: "bedrock", Region: "us-east-1", Model: "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc"},
			want: []string{"only with Anthropic models"}},
		{name: "ollama", c: llm.Config{Provider: "ollama", Model: "llama3.1"}},
		{name: "ollama without model", c: llm.Config{Provider: "ollama"},
			want: []string{"model: required for provider ollama"}},
		{name: "base_url without scheme", c: llm.Config{Provider: "ollama", Model: "m", BaseURL: "localhost:11434"},
			want: []string{"base_url: must be an absolute http or https URL"}},
		{name: "base_url bad scheme", c: llm.Config{Provider: "openai", Model: "m", BaseURL: "ftp://host/v1"},
			want: []string{`base_url: must be an absolute http or https URL, got "ftp://host/v1"`}},
		{name: "api key with newline", c: llm.Config{Provider: "anthropic", Model: "m", APIKey: "k\n"},
			want: []string{"api_key: has leading or trailing white space"}},
		{name: "negative budgets", c: llm.Config{MaxSteps: -1, MaxTokens: -5, Timeout: -time.Second},
			want: []string{"max_steps: must be positive", "max_tokens: must be positive", "timeout: must be positive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("Validate() reported %d problems, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	got := llm.Config{Provider: " Anthropic"}.WithDefaults()
	want := llm.Config{Provider: "anthropic", MaxSteps: 20, MaxTokens: 60000, Timeout: 5 * time.Minute}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("WithDefaults (-got +want):\n%s", diff)
	}
	if got := (llm.Config{}).WithDefaults().Provider; got != "none" {
		t.Errorf("default provider = %q, want none", got)
	}
	kept := llm.Config{Provider: "openai", MaxSteps: 3, MaxTokens: 1000, Timeout: time.Minute}
	if diff := cmp.Diff(kept.WithDefaults(), kept); diff != "" {
		t.Errorf("WithDefaults overrode set values (-got +want):\n%s", diff)
	}
}

func TestApply(t *testing.T) {
	file := llm.Config{Provider: "anthropic", Model: "claude-sonnet-4-5", APIKey: "from-file", MaxSteps: 7}
	tests := []struct {
		name string
		c    llm.Config
		o    llm.Overrides
		want llm.Config
	}{
		{name: "nothing to override", c: file, want: file},
		{name: "base_url alone implies openai",
			c:    llm.Config{},
			o:    llm.Overrides{BaseURL: "http://lmstudio:1234/v1"},
			want: llm.Config{Provider: "openai", BaseURL: "http://lmstudio:1234/v1"}},
		{name: "base_url alone on provider none implies openai",
			c:    llm.Config{Provider: "none", Model: "qwen"},
			o:    llm.Overrides{BaseURL: "http://vllm/v1"},
			want: llm.Config{Provider: "openai", Model: "qwen", BaseURL: "http://vllm/v1"}},
		{name: "base_url keeps a configured provider",
			c:    file,
			o:    llm.Overrides{BaseURL: "https://proxy.internal/v1"},
			want: llm.Config{Provider: "anthropic", Model: "claude-sonnet-4-5", APIKey: "from-file", MaxSteps: 7, BaseURL: "https://proxy.internal/v1"}},
		{name: "provider and base_url together",
			c:    llm.Config{},
			o:    llm.Overrides{Provider: "Ollama", BaseURL: "http://gpu:11434", Model: "llama3.1"},
			want: llm.Config{Provider: "ollama", BaseURL: "http://gpu:11434", Model: "llama3.1"}},
		{name: "every field",
			c:    file,
			o:    llm.Overrides{Provider: "openai", Model: "gpt-4o", BaseURL: "https://gw/v1", APIKey: "from-flag"},
			want: llm.Config{Provider: "openai", Model: "gpt-4o", BaseURL: "https://gw/v1", APIKey: "from-flag", MaxSteps: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.c.Apply(tt.o), tt.want); diff != "" {
				t.Errorf("Apply (-got +want):\n%s", diff)
			}
		})
	}
}

func TestFromEnvThenFlags(t *testing.T) {
	env := map[string]string{
		"NIGHTSHIFT_LLM_PROVIDER": "anthropic",
		"NIGHTSHIFT_LLM_MODEL":    " claude-sonnet-4-5 ",
		"NIGHTSHIFT_LLM_API_KEY":  "env-key",
		"UNRELATED":               "x",
	}
	o := llm.FromEnv(func(k string) string { return env[k] })
	want := llm.Overrides{Provider: "anthropic", Model: "claude-sonnet-4-5", APIKey: "env-key"}
	if diff := cmp.Diff(o, want); diff != "" {
		t.Errorf("FromEnv (-got +want):\n%s", diff)
	}
	flags := llm.Overrides{Model: "claude-opus-4-1"}
	got := llm.Config{Provider: "openai", Model: "gpt-4o"}.Apply(o).Apply(flags)
	wantCfg := llm.Config{Provider: "anthropic", Model: "claude-opus-4-1", APIKey: "env-key"}
	if diff := cmp.Diff(got, wantCfg); diff != "" {
		t.Errorf("file < env < flags (-got +want):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestConfigDecodesFromYAML(t *testing.T) {
	const doc = `
provider: bedrock
model: us.anthropic.claude-sonnet-4-20250514-v1:0
base_url: https://bedrock-runtime.vpce.internal
api_key: ""
region: us-east-1
max_steps: 12
max_tokens: 40000
timeout: 2m30s
`
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	var c llm.Config
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	want := llm.Config{Provider: "bedrock", Model: "us.anthropic.claude-sonnet-4-20250514-v1:0", BaseURL: "https://bedrock-runtime.vpce.internal",
		Region: "us-east-1", MaxSteps: 12, MaxTokens: 40000, Timeout: 150 * time.Second}
	if diff := cmp.Diff(c, want); diff != "" {
		t.Errorf("decoded (-got +want):\n%s", diff)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}
