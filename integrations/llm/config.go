package llm

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Provider names accepted in Config.Provider.
const (
	// ProviderNone runs Nightshift without a model: the deterministic
	// triage and evidence gathering still work, the agent loop does not run.
	ProviderNone = "none"
	// ProviderOpenAI is OpenAI or any server speaking the OpenAI Chat
	// Completions API (vLLM, LM Studio, llama.cpp server, gateways).
	ProviderOpenAI = "openai"
	// ProviderAnthropic is the Anthropic Messages API.
	ProviderAnthropic = "anthropic"
	// ProviderBedrock is Amazon Bedrock InvokeModel with an Anthropic model.
	ProviderBedrock = "bedrock"
	// ProviderOllama is Ollama through its OpenAI-compatible /v1 endpoint,
	// because langchaingo's native Ollama provider ignores tools.
	ProviderOllama = "ollama"
)

// Defaults applied by Config.WithDefaults.
const (
	// DefaultMaxSteps is the default number of model calls per investigation.
	DefaultMaxSteps = 20
	// DefaultMaxTokens is the default prompt plus completion token budget
	// per investigation.
	DefaultMaxTokens = 60000
	// DefaultTimeout is the default wall-clock budget per investigation.
	DefaultTimeout = 5 * time.Minute
	// DefaultOllamaURL is where Ollama listens unless base_url says otherwise.
	DefaultOllamaURL = "http://127.0.0.1:11434"
)

// Config is the llm section of the Nightshift configuration file.
//
// MaxSteps, MaxTokens and Timeout are budgets for one investigation; the
// agent loop enforces them, this package only carries and checks them.
type Config struct {
	// Provider is one of none, openai, anthropic, bedrock or ollama.
	Provider string `yaml:"provider"`
	// Model is the provider's model id (gpt-4o, claude-sonnet-4-…,
	// anthropic.claude-… or an inference profile such as us.anthropic.…).
	Model string `yaml:"model"`
	// BaseURL points the provider at another endpoint: any OpenAI-compatible
	// server for openai, a proxy for anthropic, a VPC endpoint for bedrock,
	// the Ollama host for ollama.
	BaseURL string `yaml:"base_url"`
	// APIKey authenticates to the provider. For bedrock it is optional and
	// is sent as a Bedrock API key (bearer token) instead of SigV4.
	APIKey string `yaml:"api_key"`
	// Region is the AWS region, required for bedrock.
	Region string `yaml:"region"`
	// MaxSteps caps the model/tool round trips of one investigation.
	MaxSteps int `yaml:"max_steps"`
	// MaxTokens caps prompt plus completion tokens of one investigation.
	MaxTokens int `yaml:"max_tokens"`
	// Timeout caps the wall-clock time of one investigation's agent loop.
	Timeout time.Duration `yaml:"timeout"`
}

// WithDefaults returns c with every unset field given its default and the
// provider name normalised to lower case.
func (c Config) WithDefaults() Config {
	c.Provider = normalizeProvider(c.Provider)
	if c.Provider == "" {
		c.Provider = ProviderNone
	}
	if c.MaxSteps == 0 {
		c.MaxSteps = DefaultMaxSteps
	}
	if c.MaxTokens == 0 {
		c.MaxTokens = DefaultMaxTokens
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Enabled reports whether c selects a model at all.
func (c Config) Enabled() bool {
	p := normalizeProvider(c.Provider)
	return p != "" && p != ProviderNone
}

// Validate reports every problem with c at once. Zero budgets are accepted
// because WithDefaults fills them; negative ones are not.
func (c Config) Validate() error {
	var errs []error
	p := normalizeProvider(c.Provider)
	switch p {
	case "", ProviderNone:
	case ProviderOpenAI:
		errs = append(errs, requireModel(p, c.Model))
		if c.APIKey == "" && c.BaseURL == "" {
			errs = append(errs, errors.New("api_key: required for provider openai unless base_url points at an OpenAI-compatible server"))
		}
	case ProviderAnthropic:
		errs = append(errs, requireModel(p, c.Model))
		if c.APIKey == "" {
			errs = append(errs, errors.New("api_key: required for provider anthropic"))
		}
	case ProviderBedrock:
		if c.Region == "" {
			errs = append(errs, errors.New("region: required for provider bedrock"))
		}
		if c.Model == "" {
			errs = append(errs, requireModel(p, c.Model))
		} else if !bedrockSupportsTools(c.Model) {
			errs = append(errs, fmt.Errorf("model: provider bedrock calls tools only with Anthropic models (anthropic.* or an inference profile such as us.anthropic.*), got %q", c.Model))
		}
	case ProviderOllama:
		errs = append(errs, requireModel(p, c.Model))
	default:
		errs = append(errs, fmt.Errorf("provider: unknown %q (want none, openai, anthropic, bedrock or ollama)", c.Provider))
	}
	if c.Enabled() {
		if c.BaseURL != "" {
			errs = append(errs, checkBaseURL(c.BaseURL))
		}
		if c.APIKey != "" && strings.TrimSpace(c.APIKey) != c.APIKey {
			// Almost always a trailing newline from a secret file or an env
			// var; every request would then fail with a bare 401.
			errs = append(errs, errors.New("api_key: has leading or trailing white space"))
		}
	}
	if c.MaxSteps < 0 {
		errs = append(errs, fmt.Errorf("max_steps: must be positive, got %d", c.MaxSteps))
	}
	if c.MaxTokens < 0 {
		errs = append(errs, fmt.Errorf("max_tokens: must be positive, got %d", c.MaxTokens))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: must be positive, got %s", c.Timeout))
	}
	return errors.Join(errs...)
}

func requireModel(provider, model string) error {
	if model == "" {
		return fmt.Errorf("model: required for provider %s", provider)
	}
	return nil
}

func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the input, which may hold credentials.
		return errors.New("base_url: not a valid URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("base_url: must be an absolute http or https URL, got %q", u.Redacted())
	}
	return nil
}

// bedrockSupportsTools mirrors how langchaingo's bedrock client picks a
// provider from the model id (llms/bedrock/internal/bedrockclient.getProvider):
// only ids routed to "anthropic" get tool support through InvokeModel.
func bedrockSupportsTools(modelID string) bool {
	switch {
	case strings.Contains(modelID, ".nova-"), strings.Contains(modelID, "amazon.nova-"),
		strings.Contains(modelID, "ai21"), strings.Contains(modelID, "amazon"):
		return false
	}
	return strings.Contains(modelID, "anthropic")
}

func normalizeProvider(p string) string {
	return strings.ToLower(strings.TrimSpace(p))
}

// Overrides are the settings that may also come from CLI flags
// (--llm-provider, --llm-model, --llm-base-url, --llm-api-key) or
// NIGHTSHIFT_LLM_* environment variables. Empty fields change nothing.
type Overrides struct {
	// Provider replaces Config.Provider (--llm-provider).
	Provider string
	// Model replaces Config.Model (--llm-model).
	Model string
	// BaseURL replaces Config.BaseURL (--llm-base-url); see Apply.
	BaseURL string
	// APIKey replaces Config.APIKey (--llm-api-key).
	APIKey string
}

// Apply returns c with every non-empty field of o replacing its
// counterpart. A base URL given without a provider, on a config that has
// no provider yet, selects the OpenAI-compatible provider: pointing
// Nightshift at a vLLM or LM Studio server needs nothing else.
//
// Apply environment overrides first and flags second so flags win.
func (c Config) Apply(o Overrides) Config {
	if o.Provider != "" {
		c.Provider = normalizeProvider(o.Provider)
	}
	if o.Model != "" {
		c.Model = o.Model
	}
	if o.BaseURL != "" {
		c.BaseURL = o.BaseURL
		if o.Provider == "" && !c.Enabled() {
			c.Provider = ProviderOpenAI
		}
	}
	if o.APIKey != "" {
		c.APIKey = o.APIKey
	}
	return c
}

// Environment variables read by FromEnv.
const (
	// EnvProvider overrides Config.Provider.
	EnvProvider = "NIGHTSHIFT_LLM_PROVIDER"
	// EnvModel overrides Config.Model.
	EnvModel = "NIGHTSHIFT_LLM_MODEL"
	// EnvBaseURL overrides Config.BaseURL.
	EnvBaseURL = "NIGHTSHIFT_LLM_BASE_URL"
	// EnvAPIKey overrides Config.APIKey.
	EnvAPIKey = "NIGHTSHIFT_LLM_API_KEY"
)

// FromEnv reads the NIGHTSHIFT_LLM_* variables through getenv (os.Getenv
// in production, a map lookup in tests).
func FromEnv(getenv func(string) string) Overrides {
	return Overrides{
		Provider: strings.TrimSpace(getenv(EnvProvider)),
		Model:    strings.TrimSpace(getenv(EnvModel)),
		BaseURL:  strings.TrimSpace(getenv(EnvBaseURL)),
		APIKey:   getenv(EnvAPIKey),
	}
}

// String prints c with the API key redacted and any credentials in the
// base URL hidden, so a config dumped into a log or an error says whether
// a key is set but never what it is.
func (c Config) String() string {
	return fmt.Sprintf("llm.Config{Provider: %s, Model: %s, BaseURL: %s, APIKey: %s, Region: %s, MaxSteps: %d, MaxTokens: %d, Timeout: %s}",
		c.Provider, c.Model, redactURL(c.BaseURL), redact(c.APIKey), c.Region, c.MaxSteps, c.MaxTokens, c.Timeout)
}

// GoString is String, for %#v.
func (c Config) GoString() string { return c.String() }

// LogValue keeps the API key out of structured logs (slog's JSON handler
// would otherwise print every field).
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("provider", c.Provider),
		slog.String("model", c.Model),
		slog.String("base_url", redactURL(c.BaseURL)),
		slog.String("api_key", redact(c.APIKey)),
		slog.String("region", c.Region),
		slog.Int("max_steps", c.MaxSteps),
		slog.Int("max_tokens", c.MaxTokens),
		slog.Duration("timeout", c.Timeout),
	)
}

// String prints o with the API key redacted.
func (o Overrides) String() string {
	return fmt.Sprintf("llm.Overrides{Provider: %s, Model: %s, BaseURL: %s, APIKey: %s}",
		o.Provider, o.Model, redactURL(o.BaseURL), redact(o.APIKey))
}

// GoString is String, for %#v.
func (o Overrides) GoString() string { return o.String() }

// LogValue keeps the API key out of structured logs.
func (o Overrides) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("provider", o.Provider),
		slog.String("model", o.Model),
		slog.String("base_url", redactURL(o.BaseURL)),
		slog.String("api_key", redact(o.APIKey)),
	)
}

func redact(s string) string {
	if s == "" {
		return `""`
	}
	return "<secret>"
}

// redactURL hides a password in user:pass@host URLs, as gateways
// sometimes take basic-auth credentials there.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "<invalid url>"
	}
	return u.Redacted()
}
