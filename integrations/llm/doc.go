// Package llm builds the language model behind Nightshift's agent loop
// from configuration: OpenAI and any OpenAI-compatible server, Anthropic,
// Amazon Bedrock (Anthropic models) and Ollama, all through langchaingo's
// llms.Model with native tool calling.
//
// New returns the model already wrapped by Wrap, which hides the
// per-provider traps of langchaingo v0.1.14 (raw tool-call JSON in the
// OpenAI stream, Anthropic's one choice per content block and first-part-only
// AI messages, Bedrock dropping tool calls when streaming) so that the agent
// loop can treat every provider alike. Usage reads token counts whatever
// key spelling the provider used.
//
// The package must not run the agent loop, hold conversation state, or
// import store, bot or other integrations; it never logs, and neither its
// errors nor its String, GoString or LogValue output contain the API key.
// Test doubles live in llmtest.
package llm
