package llmtest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"

	"github.com/tmc/langchaingo/llms"
)

// ErrScriptExhausted is returned by Scripted when it is called more often
// than it has steps.
var ErrScriptExhausted = errors.New("llmtest: scripted model has no step left")

// Scripted is an in-process llms.Model that returns a planned sequence of
// ContentChoices, one per GenerateContent call, and records the messages
// and options it was sent. With a streaming func it first streams the
// step's text in word chunks. It is safe for concurrent use; concurrent
// callers take steps in arrival order.
type Scripted struct {
	mu     sync.Mutex
	steps  []step
	played int // steps[:played] have been returned
	calls  []ScriptedCall
}

type step struct {
	choice *llms.ContentChoice
	err    error
}

// ScriptedCall is one GenerateContent call a Scripted model received.
type ScriptedCall struct {
	// Messages are the messages sent, copied.
	Messages []llms.MessageContent
	// Options are the call options after applying every CallOption.
	Options llms.CallOptions
}

var _ llms.Model = (*Scripted)(nil)

// NewScripted returns a model that plays steps in order. Reply.Choice
// builds steps: NewScripted(Tools(Call("c1", "get_logs", `{}`)).Choice(),
// Text("OOMKilled").WithUsage(10, 5).Choice()).
func NewScripted(steps ...*llms.ContentChoice) *Scripted {
	s := &Scripted{}
	s.Add(steps...)
	return s
}

// Add appends steps to the script.
func (s *Scripted) Add(steps ...*llms.ContentChoice) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range steps {
		s.steps = append(s.steps, step{choice: c})
	}
}

// AddReplies appends replies converted with Reply.Choice; a failure reply
// becomes an error step.
func (s *Scripted) AddReplies(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range replies {
		if r.Status != 0 || r.Error != "" {
			s.steps = append(s.steps, step{err: fmt.Errorf("llmtest: scripted failure (status %d): %s", r.Status, r.Error)})
			continue
		}
		s.steps = append(s.steps, step{choice: r.Choice()})
	}
}

// AddError appends a step that fails with err, to test provider errors.
func (s *Scripted) AddError(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.steps = append(s.steps, step{err: err})
}

// Calls returns every call received so far.
func (s *Scripted) Calls() []ScriptedCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ScriptedCall(nil), s.calls...)
}

// Messages returns the messages of every call received so far.
func (s *Scripted) Messages() [][]llms.MessageContent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]llms.MessageContent, len(s.calls))
	for i, c := range s.calls {
		out[i] = c.Messages
	}
	return out
}

// Remaining is the number of steps not yet played.
func (s *Scripted) Remaining() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.steps) - s.played
}

// GenerateContent implements llms.Model. It returns ctx's error without
// consuming a step when ctx is already done, and ErrScriptExhausted (the
// call still recorded) when no step is left.
func (s *Scripted) GenerateContent(ctx context.Context, messages []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var opts llms.CallOptions
	for _, f := range options {
		f(&opts)
	}
	s.mu.Lock()
	s.calls = append(s.calls, ScriptedCall{Messages: copyMessages(messages), Options: opts})
	if s.played >= len(s.steps) {
		n := len(s.calls)
		s.mu.Unlock()
		return nil, fmt.Errorf("%w (call %d)", ErrScriptExhausted, n)
	}
	st := s.steps[s.played]
	s.played++
	s.mu.Unlock()

	if st.err != nil {
		return nil, st.err
	}
	choice := copyChoice(st.choice)
	if opts.StreamingFunc != nil {
		for _, w := range words(choice.Content) {
			if err := opts.StreamingFunc(ctx, []byte(w)); err != nil {
				return nil, fmt.Errorf("streaming func returned an error: %w", err)
			}
		}
	}
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{choice}}, nil
}

// Call implements llms.Model for single-prompt use.
func (s *Scripted) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, s, prompt, options...)
}

func copyMessages(msgs []llms.MessageContent) []llms.MessageContent {
	out := make([]llms.MessageContent, len(msgs))
	for i, m := range msgs {
		out[i] = llms.MessageContent{Role: m.Role, Parts: append([]llms.ContentPart(nil), m.Parts...)}
	}
	return out
}

// copyChoice returns a copy the caller may modify without changing the
// script.
func copyChoice(c *llms.ContentChoice) *llms.ContentChoice {
	if c == nil {
		return &llms.ContentChoice{}
	}
	cp := *c
	cp.GenerationInfo = maps.Clone(c.GenerationInfo)
	cp.ToolCalls = nil
	for _, tc := range c.ToolCalls {
		if tc.FunctionCall != nil {
			fc := *tc.FunctionCall
			tc.FunctionCall = &fc
		}
		cp.ToolCalls = append(cp.ToolCalls, tc)
	}
	if len(cp.ToolCalls) > 0 {
		cp.FuncCall = cp.ToolCalls[0].FunctionCall
	} else if c.FuncCall != nil {
		fc := *c.FuncCall
		cp.FuncCall = &fc
	}
	return &cp
}

// String summarises the script for test failure messages.
func (s *Scripted) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("llmtest.Scripted{%d steps, %d calls}", len(s.steps), len(s.calls))
}
