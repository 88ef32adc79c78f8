package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nightshift-ops/nightshift/engine"
)

// Chat state: what a chat surface needs so that any replica, after any
// restart, can keep posting into an investigation's thread and map replies,
// reactions and button clicks back to it. Platform is "slack" or "teams";
// every key lives in the space's namespace except delivery dedup.
const (
	chatTTL     = 30 * 24 * time.Hour
	feedbackTTL = 365 * 24 * time.Hour
)

func (s *Store) chatKey(platform, space, name string) string {
	return s.Key(space, "chat:"+platform+":"+name)
}

// ClaimChatThread claims the right to open inv's thread on platform: true
// for the first caller, false for every other until ttl passes. Two
// replicas racing to post one investigation's parent message both call it;
// the loser waits for the winner's ChatThread.
func (s *Store) ClaimChatThread(ctx context.Context, platform, space, inv, owner string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.chatKey(platform, space, "claim:"+inv), owner, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("claim chat thread: %w", err)
	}
	return ok, nil
}

// ChatThread returns the fields kept for inv's thread (empty when none).
func (s *Store) ChatThread(ctx context.Context, platform, space, inv string) (map[string]string, error) {
	m, err := s.rdb.HGetAll(ctx, s.chatKey(platform, space, "thread:"+inv)).Result()
	if err != nil {
		return nil, fmt.Errorf("read chat thread: %w", err)
	}
	return m, nil
}

// SetChatThread sets fields of inv's thread; other fields are kept, so
// replicas updating different fields do not overwrite each other.
func (s *Store) SetChatThread(ctx context.Context, platform, space, inv string, fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	key := s.chatKey(platform, space, "thread:"+inv)
	pipe := s.rdb.TxPipeline()
	pipe.HSet(ctx, key, fields)
	pipe.Expire(ctx, key, chatTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("save chat thread: %w", err)
	}
	return nil
}

// AddChatMember adds member to a named set of inv's thread (the alerts
// already announced as linked) and reports whether it is new and the
// set's size.
func (s *Store) AddChatMember(ctx context.Context, platform, space, inv, set, member string) (bool, int64, error) {
	key := s.chatKey(platform, space, set+":"+inv)
	pipe := s.rdb.TxPipeline()
	add := pipe.SAdd(ctx, key, member)
	n := pipe.SCard(ctx, key)
	pipe.Expire(ctx, key, chatTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return false, 0, fmt.Errorf("save chat set: %w", err)
	}
	return add.Val() == 1, n.Val(), nil
}

// IndexChatMessage remembers what a posted message is (value, e.g.
// "thread <investigation>" or "report <investigation>"), so replies and
// reactions on it can be mapped back.
func (s *Store) IndexChatMessage(ctx context.Context, platform, space, channel, id, value string) error {
	if err := s.rdb.Set(ctx, s.chatKey(platform, space, "msg:"+channel+":"+id), value, chatTTL).Err(); err != nil {
		return fmt.Errorf("index chat message: %w", err)
	}
	return nil
}

// ChatMessage returns what IndexChatMessage stored, or "".
func (s *Store) ChatMessage(ctx context.Context, platform, space, channel, id string) (string, error) {
	v, err := s.rdb.Get(ctx, s.chatKey(platform, space, "msg:"+channel+":"+id)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read chat message index: %w", err)
	}
	return v, nil
}

// FirstDelivery reports whether key (an envelope or event id) is seen for
// the first time within ttl, across every replica: SET NX with expiry.
func (s *Store) FirstDelivery(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.prefix+"chat:seen:{"+key+"}", 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("dedup %s: %w", key, err)
	}
	return ok, nil
}

// SetChatPending remembers, for ttl, that the bot asked who in inv's
// thread a question (what was wrong with the root cause).
func (s *Store) SetChatPending(ctx context.Context, platform, space, inv, who, what string, ttl time.Duration) error {
	if err := s.rdb.Set(ctx, s.chatKey(platform, space, "pending:"+inv+":"+who), what, ttl).Err(); err != nil {
		return fmt.Errorf("save pending question: %w", err)
	}
	return nil
}

// TakeChatPending returns and forgets what SetChatPending stored, or "".
func (s *Store) TakeChatPending(ctx context.Context, platform, space, inv, who string) (string, error) {
	v, err := s.rdb.GetDel(ctx, s.chatKey(platform, space, "pending:"+inv+":"+who)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read pending question: %w", err)
	}
	return v, nil
}

var _ engine.FeedbackStore = (*Store)(nil)

// putFeedbackScript swaps an actor's verdict. KEYS: feedback hash; ARGV:
// field, value, ttl ms. Returns the previous value or false.
var putFeedbackScript = redis.NewScript(`
local prev = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return prev`)

var deleteFeedbackScript = redis.NewScript(`
local prev = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
return prev`)

func decodeFeedback(v any) (*engine.Feedback, error) {
	s, ok := v.(string)
	if !ok || s == "" {
		return nil, nil
	}
	var fb engine.Feedback
	if err := json.Unmarshal([]byte(s), &fb); err != nil {
		return nil, fmt.Errorf("decode feedback: %w", err)
	}
	return &fb, nil
}

// PutFeedback implements engine.FeedbackStore.
func (s *Store) PutFeedback(ctx context.Context, space string, fb engine.Feedback) (*engine.Feedback, error) {
	b, err := json.Marshal(fb)
	if err != nil {
		return nil, err
	}
	v, err := putFeedbackScript.Run(ctx, s.rdb, []string{s.Key(space, "feedback:"+fb.Investigation)},
		fb.Actor, string(b), feedbackTTL.Milliseconds()).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("save feedback: %w", err)
	}
	return decodeFeedback(v)
}

// DeleteFeedback implements engine.FeedbackStore.
func (s *Store) DeleteFeedback(ctx context.Context, space, inv, actor string) (*engine.Feedback, error) {
	v, err := deleteFeedbackScript.Run(ctx, s.rdb, []string{s.Key(space, "feedback:"+inv)}, actor).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("delete feedback: %w", err)
	}
	return decodeFeedback(v)
}

// Feedback returns every verdict on an investigation.
func (s *Store) Feedback(ctx context.Context, space, inv string) ([]engine.Feedback, error) {
	m, err := s.rdb.HGetAll(ctx, s.Key(space, "feedback:"+inv)).Result()
	if err != nil {
		return nil, fmt.Errorf("read feedback: %w", err)
	}
	out := make([]engine.Feedback, 0, len(m))
	for _, v := range m {
		fb, err := decodeFeedback(v)
		if err != nil {
			return nil, err
		}
		out = append(out, *fb)
	}
	return out, nil
}

// AdjustLearned implements engine.FeedbackStore.
func (s *Store) AdjustLearned(ctx context.Context, space string, deltas map[string]int) error {
	key := s.Key(space, "learned")
	pipe := s.rdb.TxPipeline()
	for k, d := range deltas {
		pipe.HIncrBy(ctx, key, k, int64(d))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("save learned feedback: %w", err)
	}
	return nil
}

// Learned implements engine.LearnedSource.
func (s *Store) Learned(ctx context.Context, space string) (map[string]int, error) {
	m, err := s.rdb.HGetAll(ctx, s.Key(space, "learned")).Result()
	if err != nil {
		return nil, fmt.Errorf("read learned feedback: %w", err)
	}
	out := make(map[string]int, len(m))
	for k, v := range m {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("learned %s: %w", k, err)
		}
		out[k] = n
	}
	return out, nil
}

// SetChatValue keeps a platform-wide value (a Teams channel's serviceUrl)
// for ttl.
func (s *Store) SetChatValue(ctx context.Context, platform, name, value string, ttl time.Duration) error {
	if err := s.rdb.Set(ctx, s.prefix+"chat:"+platform+":{"+name+"}", value, ttl).Err(); err != nil {
		return fmt.Errorf("save chat value: %w", err)
	}
	return nil
}

// ChatValue returns what SetChatValue kept, or "".
func (s *Store) ChatValue(ctx context.Context, platform, name string) (string, error) {
	v, err := s.rdb.Get(ctx, s.prefix+"chat:"+platform+":{"+name+"}").Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read chat value: %w", err)
	}
	return v, nil
}
