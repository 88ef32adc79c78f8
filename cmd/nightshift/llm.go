package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
	"github.com/tmc/langchaingo/llms"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/engine/skills"
	"github.com/nightshift-ops/nightshift/integrations/llm"
)

// llmFlags are the LLM settings a command takes on its command line.
type llmFlags struct{ o llm.Overrides }

func (f *llmFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&f.o.Provider, "llm-provider", "", "none, openai, anthropic, bedrock or ollama (env NIGHTSHIFT_LLM_PROVIDER)")
	c.Flags().StringVar(&f.o.Model, "llm-model", "", "model id (env NIGHTSHIFT_LLM_MODEL)")
	c.Flags().StringVar(&f.o.BaseURL, "llm-base-url", "", "endpoint; alone it selects any OpenAI-compatible server (env NIGHTSHIFT_LLM_BASE_URL)")
	c.Flags().StringVar(&f.o.APIKey, "llm-api-key", "", "API key (env NIGHTSHIFT_LLM_API_KEY)")
}

// resolve applies the environment, then the flags, over the file's settings.
func (f *llmFlags) resolve(base llm.Config, getenv func(string) string) (llm.Config, error) {
	c := base.Apply(llm.FromEnv(getenv)).Apply(f.o).WithDefaults()
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("llm: %w", err)
	}
	return c, nil
}

// modelOf builds the configured model, or nil for provider none.
func modelOf(ctx context.Context, c llm.Config) (llms.Model, error) {
	if !c.Enabled() {
		return nil, nil
	}
	m, err := llm.New(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("llm %s: %w", c.Provider, err)
	}
	return m, nil
}

// reasonerOf is the evidence reasoner, wrapped by the agent when a model is
// configured.
func reasonerOf(c llm.Config, m llms.Model, checks []skills.Skill, log *slog.Logger) engine.Reasoner {
	ev := &engine.EvidenceReasoner{Checks: checks, Log: log}
	if m == nil {
		return ev
	}
	return &engine.AgentReasoner{Model: m, ModelName: c.Provider + "/" + c.Model, Seed: ev,
		MaxSteps: c.MaxSteps, MaxTokens: c.MaxTokens, Timeout: c.Timeout, Log: log}
}
