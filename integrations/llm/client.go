package llm

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go/auth/bearer"
	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/anthropic"
	"github.com/tmc/langchaingo/llms/bedrock"
	"github.com/tmc/langchaingo/llms/openai"
)

// noKeyToken is sent as the bearer token to OpenAI-compatible servers
// configured without an API key: langchaingo refuses to build a client
// with an empty token, and local servers (vLLM, LM Studio, llama.cpp)
// ignore the header.
const noKeyToken = "no-key"

// ollamaToken is the token Ollama's OpenAI-compatible endpoint expects
// (it ignores it, but the client needs one).
const ollamaToken = "ollama"

// Option adjusts how New builds a provider client.
type Option func(*options)

type options struct {
	httpClient *http.Client
	awsConfig  *aws.Config
}

// WithHTTPClient makes every provider use hc, for proxies, custom TLS or
// tests. Without it langchaingo's default client is used for openai,
// anthropic and ollama, and the AWS SDK's for bedrock.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) { o.httpClient = hc }
}

// WithAWSConfig makes bedrock use cfg instead of loading the default AWS
// configuration chain (environment, shared files, IMDS). Config.Region,
// when set, still overrides cfg.Region. Tests use it to inject static
// credentials and a no-op retryer.
func WithAWSConfig(cfg aws.Config) Option {
	return func(o *options) { o.awsConfig = &cfg }
}

// New validates c and builds the model it selects, already wrapped (see
// Wrap) so the agent loop can treat every provider alike and errors never
// carry the API key. It returns a nil model and a nil error for provider
// none.
//
// New does no network I/O except, for bedrock without WithAWSConfig,
// whatever the AWS default credential chain does while loading.
func New(ctx context.Context, c Config, opts ...Option) (llms.Model, error) {
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("invalid llm config: %w", err)
	}
	var o options
	for _, f := range opts {
		f(&o)
	}

	var (
		m   llms.Model
		err error
	)
	switch c.Provider {
	case ProviderNone:
		return nil, nil
	case ProviderOpenAI:
		token := c.APIKey
		if token == "" {
			token = noKeyToken
		}
		m, err = newOpenAI(c.Model, token, c.BaseURL, o)
	case ProviderOllama:
		base := strings.TrimRight(c.BaseURL, "/")
		if base == "" {
			base = DefaultOllamaURL
		}
		if !strings.HasSuffix(base, "/v1") {
			base += "/v1"
		}
		token := c.APIKey // a reverse proxy in front of Ollama may want one
		if token == "" {
			token = ollamaToken
		}
		m, err = newOpenAI(c.Model, token, base, o)
	case ProviderAnthropic:
		aopts := []anthropic.Option{anthropic.WithModel(c.Model), anthropic.WithToken(c.APIKey)}
		// Only when set: with an empty base URL the client lazily writes
		// the default into shared state on every request, a data race.
		if c.BaseURL != "" {
			aopts = append(aopts, anthropic.WithBaseURL(strings.TrimRight(c.BaseURL, "/")))
		}
		if o.httpClient != nil {
			aopts = append(aopts, anthropic.WithHTTPClient(o.httpClient))
		}
		m, err = anthropic.New(aopts...)
	case ProviderBedrock:
		m, err = newBedrock(ctx, c, o)
	}
	if err != nil {
		return nil, fmt.Errorf("create %s client: %w", c.Provider, redactError(err, c.APIKey))
	}
	return wrapModel(m, c.Provider, c.APIKey), nil
}

func newOpenAI(model, token, baseURL string, o options) (llms.Model, error) {
	oopts := []openai.Option{
		openai.WithModel(model),
		openai.WithToken(token),
		// Always passed, even empty, so OPENAI_BASE_URL in the environment
		// cannot silently redirect a config that did not ask for it.
		openai.WithBaseURL(strings.TrimRight(baseURL, "/")),
	}
	if o.httpClient != nil {
		oopts = append(oopts, openai.WithHTTPClient(o.httpClient))
	}
	return openai.New(oopts...)
}

func newBedrock(ctx context.Context, c Config, o options) (llms.Model, error) {
	var cfg aws.Config
	if o.awsConfig != nil {
		cfg = o.awsConfig.Copy()
		if c.Region != "" {
			cfg.Region = c.Region
		}
	} else {
		var err error
		cfg, err = awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(c.Region))
		if err != nil {
			return nil, fmt.Errorf("load aws config: %w", err)
		}
	}
	client := bedrockruntime.NewFromConfig(cfg, func(bo *bedrockruntime.Options) {
		if c.BaseURL != "" {
			bo.BaseEndpoint = aws.String(strings.TrimRight(c.BaseURL, "/"))
		}
		if o.httpClient != nil {
			bo.HTTPClient = o.httpClient
		}
		if c.APIKey != "" {
			// A Bedrock API key replaces SigV4, as AWS_BEARER_TOKEN_BEDROCK
			// does in the SDK.
			key := c.APIKey
			bo.BearerAuthTokenProvider = bearer.TokenProviderFunc(func(context.Context) (bearer.Token, error) {
				return bearer.Token{Value: key}, nil
			})
			bo.AuthSchemePreference = []string{"httpBearerAuth"}
		}
	})
	return bedrock.New(bedrock.WithClient(client), bedrock.WithModel(c.Model))
}
