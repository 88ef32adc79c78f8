package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tmc/langchaingo/llms"

	"github.com/nightshift-ops/nightshift/engine/guard"
)

// AgentReasoner investigates with a language model that calls the task's
// read-only tools natively (not text-parsed ReAct). It starts from the
// evidence reasoner's ranked hypotheses, verifies and extends them with tool
// calls, and commits by calling submit_root_cause with a structured answer
// that is validated; a malformed answer gets one repair attempt, after which
// the evidence reasoner's answer stands and the report says so.
//
// Every model call is journaled (model_call, with tokens); every tool result,
// alert field and skill the model reads is redacted and fenced as untrusted
// data (engine/guard), and the system prompt says data is never an
// instruction. A tool the registry does not hold is refused, not called.
type AgentReasoner struct {
	Model     llms.Model
	ModelName string   // shown in the report: "llm:<name>"
	Seed      Reasoner // the evidence reasoner; its report seeds the agent and is the fallback
	MaxSteps  int      // model calls per investigation; default 20
	MaxTokens int      // prompt + completion per investigation; default 60000
	Timeout   time.Duration
	Log       *slog.Logger
}

// submitTool is the tool the model commits its answer with.
const submitTool = "submit_root_cause"

// maxToolResult bounds how much of one tool result the model reads.
const maxToolResult = 12000

var submitSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"root_cause": map[string]any{"type": "object", "properties": map[string]any{
			"resource":   map[string]any{"type": "string", "description": "resource id as the tools name it"},
			"category":   map[string]any{"type": "string", "enum": Categories},
			"confidence": map[string]any{"type": "number", "minimum": 0, "maximum": 1},
			"statement":  map[string]any{"type": "string", "description": "one or two sentences: what went wrong and why"},
			"evidence":   map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "each item cites the tool call it comes from, e.g. (query_metrics#4)"},
		}, "required": []string{"resource", "category", "confidence", "statement", "evidence"}},
		"alternatives": map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": map[string]any{
			"resource": map[string]any{"type": "string"}, "category": map[string]any{"type": "string", "enum": Categories},
			"confidence": map[string]any{"type": "number"}, "statement": map[string]any{"type": "string"},
		}, "required": []string{"resource", "category", "confidence"}}},
		"plan": map[string]any{"type": "array", "minItems": 1, "items": map[string]any{"type": "object", "properties": map[string]any{
			"action": map[string]any{"type": "string"}, "validation": map[string]any{"type": "string"},
			"rollback": map[string]any{"type": "string"}, "risk": map[string]any{"type": "string", "enum": []string{"low", "medium", "high"}},
		}, "required": []string{"action", "validation", "rollback", "risk"}}},
		"gaps": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
	},
	"required": []string{"root_cause", "plan"},
}

// answer is the structured final answer.
type answer struct {
	RootCause struct {
		Resource   string   `json:"resource"`
		Category   string   `json:"category"`
		Confidence float64  `json:"confidence"`
		Statement  string   `json:"statement"`
		Evidence   []string `json:"evidence"`
	} `json:"root_cause"`
	Alternatives []struct {
		Resource   string  `json:"resource"`
		Category   string  `json:"category"`
		Confidence float64 `json:"confidence"`
		Statement  string  `json:"statement"`
	} `json:"alternatives"`
	Plan []PlanStep `json:"plan"`
	Gaps []string   `json:"gaps"`
}

func (a *answer) validate() error {
	var errs []string
	rc := a.RootCause
	if strings.TrimSpace(rc.Resource) == "" {
		errs = append(errs, "root_cause.resource is empty")
	}
	if !contains(Categories, rc.Category) {
		errs = append(errs, fmt.Sprintf("root_cause.category %q is not one of %s", rc.Category, strings.Join(Categories, ", ")))
	}
	if rc.Confidence < 0 || rc.Confidence > 1 {
		errs = append(errs, "root_cause.confidence must be between 0 and 1")
	}
	if strings.TrimSpace(rc.Statement) == "" {
		errs = append(errs, "root_cause.statement is empty")
	}
	if len(a.Plan) == 0 {
		errs = append(errs, "plan needs at least one step")
	}
	for i, s := range a.Plan {
		if s.Action == "" || s.Validation == "" || s.Rollback == "" {
			errs = append(errs, fmt.Sprintf("plan[%d] needs action, validation and rollback", i))
		}
		if s.Risk != "low" && s.Risk != "medium" && s.Risk != "high" {
			errs = append(errs, fmt.Sprintf("plan[%d].risk must be low, medium or high", i))
		}
	}
	for i, alt := range a.Alternatives {
		if alt.Resource == "" || !contains(Categories, alt.Category) {
			errs = append(errs, fmt.Sprintf("alternatives[%d] needs a resource and a known category", i))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

const agentSystemPrompt = `You are Nightshift, an on-call site reliability engineer investigating a production incident.
You can only read: every tool you have is read-only, and you must never suggest that you changed anything.
Work like a careful SRE: start from the evidence engine's hypotheses, verify them with tools (metrics around the onset,
per-container series, recent changes, error logs, specs, topology), look for the upstream-most resource whose anomaly
began first and explains the others, and rule out red herrings (changes elsewhere, noisy metrics, old errors).
Cite the tool call behind every piece of evidence, e.g. "(query_metrics#4)".
When you are done, call submit_root_cause exactly once with the root cause, alternatives, a mitigation plan whose every
step has validation, rollback and risk, and the gaps you could not check. Do not answer in plain text.

`

// Reason implements Reasoner.
func (a *AgentReasoner) Reason(ctx context.Context, t *Task) (*Report, error) {
	seed, err := a.Seed.Reason(ctx, t)
	if err != nil {
		return nil, err
	}
	if a.Model == nil {
		return seed, nil
	}
	maxSteps, maxTokens := a.MaxSteps, a.MaxTokens
	if maxSteps <= 0 {
		maxSteps = 20
	}
	if maxTokens <= 0 {
		maxTokens = 60000
	}
	if a.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.Timeout)
		defer cancel()
	}
	fallback := func(why string) (*Report, error) {
		seed.Notes = append(seed.Notes, "The model did not commit to a root cause ("+why+"); this is the evidence reasoner's answer.")
		t.Note(ctx, EntryObservation, map[string]any{"fallback": why})
		return seed, nil
	}

	tools := a.toolDefs(t)
	msgs := []llms.MessageContent{
		llms.TextParts(llms.ChatMessageTypeSystem, agentSystemPrompt+guard.FenceInstructions),
		llms.TextParts(llms.ChatMessageTypeHuman, a.brief(t, seed)),
	}
	tokens, repaired := 0, false
	for step := 1; step <= maxSteps; step++ {
		t.Status(ctx, PhaseAnalyse, fmt.Sprintf("Asking the model (step %d of at most %d)", step, maxSteps))
		resp, err := a.Model.GenerateContent(ctx, msgs, llms.WithTools(tools))
		if err != nil {
			return fallback("model call failed: " + SafeError(err))
		}
		choice, calls := merge(resp)
		prompt, completion := usageOf(choice)
		tokens += prompt + completion
		t.ModelUsage(prompt + completion)
		names := make([]string, len(calls))
		for i, c := range calls {
			names[i] = c.FunctionCall.Name
		}
		t.Note(ctx, EntryModelCall, map[string]any{"step": step, "model": a.ModelName, "prompt_tokens": prompt,
			"completion_tokens": completion, "tool_calls": names, "text_chars": len(choice.Content)})
		if tokens > maxTokens {
			return fallback(fmt.Sprintf("token budget of %d spent", maxTokens))
		}
		if len(calls) == 0 {
			if repaired {
				return fallback("it answered in text twice instead of calling " + submitTool)
			}
			repaired = true
			msgs = append(msgs, llms.TextParts(llms.ChatMessageTypeAI, choice.Content),
				llms.TextParts(llms.ChatMessageTypeHuman, "Answer by calling "+submitTool+" with the structured root cause and plan."))
			continue
		}
		msgs = append(msgs, aiMessage(choice, calls))
		for _, c := range calls {
			name, args := c.FunctionCall.Name, c.FunctionCall.Arguments
			var reply string
			switch {
			case name == submitTool:
				var ans answer
				err := json.Unmarshal([]byte(args), &ans)
				if err == nil {
					err = ans.validate()
				}
				if err == nil {
					return a.report(t, seed, &ans), nil
				}
				if repaired {
					return fallback("its answer was malformed twice: " + err.Error())
				}
				repaired = true
				reply = "Invalid answer: " + err.Error() + ". Call " + submitTool + " again with a corrected answer."
			default:
				t.Status(ctx, PhaseGather, "Model is checking "+describeCall(name, args))
				reply, _ = callForModel(ctx, t, name, args)
			}
			msgs = append(msgs, toolMessage(c.ID, name, reply))
		}
	}
	return fallback(fmt.Sprintf("step budget of %d model calls spent", maxSteps))
}

// modelTools declares the task's read-only tools to a model.
func modelTools(t *Task) []llms.Tool {
	var out []llms.Tool
	for _, tl := range t.Tools() {
		var params any = map[string]any{"type": "object"}
		if len(tl.Parameters) > 0 {
			var p map[string]any
			if json.Unmarshal(tl.Parameters, &p) == nil {
				params = p
			}
		}
		out = append(out, llms.Tool{Type: "function", Function: &llms.FunctionDefinition{Name: tl.Name, Description: tl.Description, Parameters: params}})
	}
	return out
}

// aiMessage is the model's turn as the conversation records it.
func aiMessage(choice *llms.ContentChoice, calls []llms.ToolCall) llms.MessageContent {
	ai := llms.MessageContent{Role: llms.ChatMessageTypeAI}
	if choice.Content != "" {
		ai.Parts = append(ai.Parts, llms.TextContent{Text: choice.Content})
	}
	for _, c := range calls {
		ai.Parts = append(ai.Parts, c)
	}
	return ai
}

// toolMessage answers one tool call.
func toolMessage(id, name, reply string) llms.MessageContent {
	return llms.MessageContent{Role: llms.ChatMessageTypeTool, Parts: []llms.ContentPart{
		llms.ToolCallResponse{ToolCallID: id, Name: name, Content: reply}}}
}

// callForModel runs a tool the model asked for: refused unless the
// registry holds it as read-only; otherwise called (and journaled), its
// result truncated, redacted and fenced as untrusted data. ref is the
// call's citation, "" when nothing ran.
func callForModel(ctx context.Context, t *Task, name, args string) (reply, ref string) {
	if tool, ok := t.tools.Get(name); !ok || !tool.ReadOnly {
		t.Note(ctx, EntryObservation, map[string]any{"refused_tool": name, "reason": "not in the read-only registry"})
		return fmt.Sprintf("Refused: %q is not one of your read-only tools. Use only the tools you were given.", name), ""
	}
	res, ref, err := t.Call(ctx, name, json.RawMessage(args))
	if err != nil {
		return "Tool error: " + SafeError(err), ""
	}
	body := res.Summary + "\n" + string(res.Data)
	if len(body) > maxToolResult {
		body = body[:maxToolResult] + "\n…(truncated)"
	}
	return "Result of " + ref + ":\n" + guard.Fence("tool:"+name, ref, body), ref
}

// toolDefs declares the task's tools and the submit tool to the model.
func (a *AgentReasoner) toolDefs(t *Task) []llms.Tool {
	return append(modelTools(t), llms.Tool{Type: "function", Function: &llms.FunctionDefinition{Name: submitTool,
		Description: "Commit the investigation's answer: root cause, alternatives, mitigation plan and gaps. Call exactly once, at the end.",
		Parameters:  submitSchema}})
}

// brief is the task as the model first reads it: alerts (fenced), the
// relevant skills, and the evidence reasoner's findings.
func (a *AgentReasoner) brief(t *Task, seed *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Investigate this incident. The first alert fired at %s.\n\n## Alerts\n", t.Incident.UTC().Format(time.RFC3339))
	for i, al := range t.Alerts {
		text := fmt.Sprintf("title: %s\nsource: %s\nseverity: %s\nresources: %s\nservice: %s\nregion: %s\ndescription: %s",
			al.Title, al.Source, al.Severity, strings.Join(al.Resources, ", "), al.Service, al.Region, al.Description)
		b.WriteString(guard.Fence("alert:"+al.Source, fmt.Sprintf("alert-%d", i+1), text) + "\n")
	}
	if len(t.Skills) > 0 {
		b.WriteString("\n## Runbooks that look relevant\n")
		for _, s := range t.Skills {
			body := s.Body
			if len(body) > 3000 {
				body = body[:3000] + "…"
			}
			fmt.Fprintf(&b, "### %s\n%s\n%s\n", s.Name, s.Description, body)
		}
	}
	b.WriteString("\n## The evidence engine's ranked hypotheses (a starting point, verify them)\n")
	for i, h := range seed.Hypotheses {
		fmt.Fprintf(&b, "%d. %s — %s, confidence %.2f: %s\n", i+1, h.Resource, h.Category, h.Confidence, h.Statement)
		for j, e := range h.Evidence {
			if j == 5 {
				break
			}
			ref := ""
			if e.Call != "" {
				ref = " (" + e.Call + ")"
			}
			red, _ := guard.Redact(e.Summary)
			fmt.Fprintf(&b, "   - %s%s\n", red, ref)
		}
	}
	if len(seed.Gaps) > 0 {
		b.WriteString("Gaps so far: " + strings.Join(seed.Gaps, "; ") + "\n")
	}
	return b.String()
}

// report turns a validated answer into the report, keeping the evidence
// reasoner's gaps and its evidence for the same resource.
func (a *AgentReasoner) report(t *Task, seed *Report, ans *answer) *Report {
	rc := ans.RootCause
	top := Hypothesis{Resource: rc.Resource, Category: rc.Category, Confidence: rc.Confidence, Statement: rc.Statement}
	for _, e := range rc.Evidence {
		top.Evidence = append(top.Evidence, Evidence{Kind: "model", Resource: rc.Resource, Summary: e, Weight: 1})
	}
	for _, h := range seed.Hypotheses {
		if h.Resource == rc.Resource {
			top.Evidence = append(top.Evidence, h.Evidence...)
			top.Onset = h.Onset
		}
	}
	hyps := []Hypothesis{top}
	for _, alt := range ans.Alternatives {
		if alt.Resource == rc.Resource {
			continue
		}
		hyps = append(hyps, Hypothesis{Resource: alt.Resource, Category: alt.Category, Confidence: alt.Confidence, Statement: alt.Statement})
	}
	for _, h := range seed.Hypotheses {
		seen := false
		for _, x := range hyps {
			seen = seen || x.Resource == h.Resource
		}
		if !seen && len(hyps) < 5 {
			hyps = append(hyps, h)
		}
	}
	rep := &Report{Title: seed.Title, Hypotheses: hyps, Plan: ans.Plan, Gaps: append(append([]string(nil), seed.Gaps...), ans.Gaps...),
		Reasoner: "llm:" + a.ModelName, Notes: seed.Notes}
	var b strings.Builder
	fmt.Fprintf(&b, "Most likely root cause: %s (%s): %s", rc.Resource, rc.Category, rc.Statement)
	if len(rc.Evidence) > 0 {
		b.WriteString("\nEvidence:")
		for _, e := range rc.Evidence {
			b.WriteString("\n- " + e)
		}
	}
	rep.Summary = b.String()
	return rep
}

// merge collects the text and every tool call of a response: some providers
// return each content block as its own choice (Anthropic), with the same
// usage on each, so usage is taken once.
func merge(resp *llms.ContentResponse) (*llms.ContentChoice, []llms.ToolCall) {
	out := &llms.ContentChoice{}
	var calls []llms.ToolCall
	if resp == nil {
		return out, nil
	}
	var text []string
	for _, c := range resp.Choices {
		if c == nil {
			continue
		}
		if c.Content != "" {
			text = append(text, c.Content)
		}
		calls = append(calls, c.ToolCalls...)
		if out.GenerationInfo == nil && c.GenerationInfo != nil {
			out.GenerationInfo = c.GenerationInfo
		}
		if c.FuncCall != nil && len(c.ToolCalls) == 0 {
			calls = append(calls, llms.ToolCall{ID: "call_" + c.FuncCall.Name, Type: "function", FunctionCall: c.FuncCall})
		}
	}
	out.Content = strings.Join(text, "\n")
	for i := range calls {
		if calls[i].FunctionCall == nil {
			calls[i].FunctionCall = &llms.FunctionCall{}
		}
		if calls[i].ID == "" {
			calls[i].ID = fmt.Sprintf("call_%d", i+1)
		}
	}
	return out, calls
}

// usageOf reads token usage whatever the provider calls it.
func usageOf(c *llms.ContentChoice) (prompt, completion int) {
	num := func(keys ...string) int {
		for _, k := range keys {
			switch v := c.GenerationInfo[k].(type) {
			case int:
				return v
			case int32:
				return int(v)
			case int64:
				return int(v)
			case float64:
				return int(v)
			}
		}
		return 0
	}
	return num("PromptTokens", "InputTokens", "input_tokens", "prompt_tokens"),
		num("CompletionTokens", "OutputTokens", "output_tokens", "completion_tokens")
}

// describeCall is a short human description of a tool call for the status line.
func describeCall(name, args string) string {
	var m map[string]any
	if json.Unmarshal([]byte(args), &m) != nil {
		return name
	}
	var parts []string
	for _, k := range []string{"resource", "name", "pattern"} {
		if v, ok := m[k].(string); ok && v != "" {
			parts = append(parts, v)
		}
	}
	if len(parts) == 0 {
		return name
	}
	return name + " " + strings.Join(parts, " ")
}
