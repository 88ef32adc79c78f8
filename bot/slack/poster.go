package slack

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"github.com/nightshift-ops/nightshift/bot"
)

// maxRetries is how many times a rate-limited call is retried.
const maxRetries = 3

// Poster posts and edits bot.Messages with chat.postMessage and
// chat.update, rendered by Blocks with Fallback as the notification text.
// A call answered with HTTP 429 waits out Slack's Retry-After (or until
// the context ends) and is retried up to three times; the wait blocks the
// caller, which is why bot.Threads coalesces status edits. chat.update
// calls also share a token bucket (50 a minute, bursts of 10) so that many
// threads at once stay inside the workspace's limit. Safe for concurrent
// use.
type Poster struct {
	api     *slack.Client
	team    string        // the workspace, for chat.startStream's recipient
	updates *rate.Limiter // chat.update across the workspace
}

// updateRate keeps every chat.update of this replica inside Slack's Tier 3
// (50+ per minute per workspace), whatever the number of investigations;
// per-thread coalescing alone would let ten busy threads exceed it.
const (
	updateEvery = 1200 * time.Millisecond // 50 per minute
	updateBurst = 10
)

// NewPoster returns a Poster sending through api, a client with the bot
// token (xoxb-). Do not also give api slack.OptionRetry: the Poster
// already retries rate-limited calls.
func NewPoster(api *slack.Client) *Poster {
	return &Poster{api: api, updates: rate.NewLimiter(rate.Every(updateEvery), updateBurst)}
}

var _ bot.Poster = (*Poster)(nil)

// Post implements bot.Poster. The returned Ref's ID is the message ts and
// its Channel the channel id Slack answered with.
func (p *Poster) Post(ctx context.Context, channel, thread string, m bot.Message) (bot.Ref, error) {
	opts := []slack.MsgOption{slack.MsgOptionBlocks(Blocks(m)...), slack.MsgOptionText(Fallback(m), true)}
	if thread != "" {
		opts = append(opts, slack.MsgOptionTS(thread))
	}
	var ch, ts string
	err := retry(ctx, func() error {
		var err error
		ch, ts, err = p.api.PostMessageContext(ctx, channel, opts...)
		return err
	})
	if err != nil {
		return bot.Ref{}, fmt.Errorf("slack chat.postMessage: %w", err)
	}
	if ch == "" {
		ch = channel
	}
	return bot.Ref{Channel: ch, ID: ts, Thread: thread}, nil
}

// Update implements bot.Poster.
func (p *Poster) Update(ctx context.Context, ref bot.Ref, m bot.Message) error {
	opts := []slack.MsgOption{slack.MsgOptionBlocks(Blocks(m)...), slack.MsgOptionText(Fallback(m), true)}
	if bot.IsDeferrable(ctx) {
		r := p.updates.Reserve()
		if d := r.Delay(); d > 0 {
			r.Cancel()
			return &bot.Later{After: d}
		}
	} else if err := p.updates.Wait(ctx); err != nil {
		return fmt.Errorf("slack chat.update: %w", err)
	}
	err := retry(ctx, func() error {
		_, _, _, err := p.api.UpdateMessageContext(ctx, ref.Channel, ref.ID, opts...)
		return err
	})
	if err != nil {
		return fmt.Errorf("slack chat.update: %w", err)
	}
	return nil
}

// retry calls f, and again after Slack's Retry-After while it is rate
// limited, at most maxRetries more times.
func retry(ctx context.Context, f func() error) error {
	for attempt := 0; ; attempt++ {
		err := f()
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) || attempt == maxRetries {
			return err
		}
		t := time.NewTimer(rl.RetryAfter)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
}
