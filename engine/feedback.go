package engine

import (
	"context"
	"fmt"
	"time"
)

// Feedback verdicts. Withdrawn is journaled when a person takes their
// verdict back (removes the reaction); it is never stored as a verdict.
const (
	VerdictAccurate   = "accurate"
	VerdictInaccurate = "inaccurate"
	VerdictWithdrawn  = "withdrawn"
)

// EntryFeedback is the journal type of a person's verdict on a root cause.
const EntryFeedback = "feedback"

// Feedback is one person's verdict on an investigation's root cause, as
// stored per space. A person has at most one verdict per investigation: a
// new one replaces theirs.
type Feedback struct {
	Investigation string    `json:"investigation"`
	Actor         string    `json:"actor"` // "slack:U0ALICE", "teams:<object id>", "console:you"
	Verdict       string    `json:"verdict"`
	Comment       string    `json:"comment,omitempty"` // what was wrong, for inaccurate verdicts
	RootCause     string    `json:"root_cause,omitempty"`
	Category      string    `json:"category,omitempty"`
	Skills        []string  `json:"skills,omitempty"`
	At            time.Time `json:"at"`
}

// FeedbackStore keeps feedback per space and the counts later
// investigations learn from (store.Store implements it in Redis).
type FeedbackStore interface {
	// PutFeedback stores fb, replacing the actor's earlier verdict on the
	// investigation, which it returns (nil when there was none).
	PutFeedback(ctx context.Context, space string, fb Feedback) (*Feedback, error)
	// DeleteFeedback removes the actor's verdict and returns it (nil when
	// there was none).
	DeleteFeedback(ctx context.Context, space, investigation, actor string) (*Feedback, error)
	// AdjustLearned adds deltas to the space's learned counts.
	AdjustLearned(ctx context.Context, space string, deltas map[string]int) error
	LearnedSource
}

// LearnedSource says what a space confirmed in feedback: counts keyed
// "skill:NAME" and "category:NAME", confirmations minus rejections.
type LearnedSource interface {
	Learned(ctx context.Context, space string) (map[string]int, error)
}

// learnedDeltas is what one verdict adds to the learned counts.
func learnedDeltas(fb *Feedback, sign int) map[string]int {
	if fb == nil {
		return nil
	}
	switch fb.Verdict {
	case VerdictAccurate:
	case VerdictInaccurate:
		sign = -sign
	default:
		return nil
	}
	d := map[string]int{}
	for _, s := range fb.Skills {
		d["skill:"+s] += sign
	}
	if fb.Category != "" {
		d["category:"+fb.Category] += sign
	}
	return d
}

func mergeDeltas(a, b map[string]int) map[string]int {
	out := map[string]int{}
	for _, m := range []map[string]int{a, b} {
		for k, v := range m {
			out[k] += v
		}
	}
	for k, v := range out {
		if v == 0 {
			delete(out, k)
		}
	}
	return out
}

// FeedbackOf fills a verdict's root cause, category and skills from the
// investigation's report (r may be nil).
func FeedbackOf(r *Report, inv, actor, verdict, comment string, at time.Time) Feedback {
	fb := Feedback{Investigation: inv, Actor: actor, Verdict: verdict, Comment: comment, At: at}
	if top := r.Top(); top != nil {
		fb.RootCause, fb.Category = top.Resource, top.Category
	}
	if r != nil {
		fb.Skills = r.Skills
	}
	return fb
}

// RecordFeedback stores a verdict, updates what the space learned and
// journals it as a feedback entry (actor, verdict, root cause, comment), so
// that it shows in the investigation's journal and read API.
func RecordFeedback(ctx context.Context, fs FeedbackStore, js JournalStore, space string, fb Feedback) error {
	if fb.Verdict != VerdictAccurate && fb.Verdict != VerdictInaccurate {
		return Errorf(CodeInvalid, "verdict %q: want %s or %s", fb.Verdict, VerdictAccurate, VerdictInaccurate)
	}
	prev, err := fs.PutFeedback(ctx, space, fb)
	if err != nil {
		return fmt.Errorf("store feedback: %w", err)
	}
	if d := mergeDeltas(learnedDeltas(prev, -1), learnedDeltas(&fb, 1)); len(d) > 0 {
		if err := fs.AdjustLearned(ctx, space, d); err != nil {
			return fmt.Errorf("store learned feedback: %w", err)
		}
	}
	return AppendEntry(ctx, js, space, fb.Investigation, EntryFeedback, fb.Actor, feedbackEntry(fb), fb.At)
}

// WithdrawFeedback removes a person's verdict (a removed reaction) and
// journals the withdrawal. It reports false when there was nothing to
// withdraw.
func WithdrawFeedback(ctx context.Context, fs FeedbackStore, js JournalStore, space, inv, actor string, at time.Time) (bool, error) {
	prev, err := fs.DeleteFeedback(ctx, space, inv, actor)
	if err != nil {
		return false, fmt.Errorf("delete feedback: %w", err)
	}
	if prev == nil {
		return false, nil
	}
	if d := learnedDeltas(prev, -1); len(d) > 0 {
		if err := fs.AdjustLearned(ctx, space, d); err != nil {
			return false, fmt.Errorf("store learned feedback: %w", err)
		}
	}
	fb := *prev
	fb.Verdict, fb.At, fb.Comment = VerdictWithdrawn, at, ""
	return true, AppendEntry(ctx, js, space, inv, EntryFeedback, actor, feedbackEntry(fb), at)
}

func feedbackEntry(fb Feedback) map[string]any {
	m := map[string]any{"verdict": fb.Verdict, "actor": fb.Actor}
	if fb.RootCause != "" {
		m["root_cause"] = fb.RootCause
	}
	if fb.Category != "" {
		m["category"] = fb.Category
	}
	if fb.Comment != "" {
		m["comment"] = fb.Comment
	}
	return m
}
