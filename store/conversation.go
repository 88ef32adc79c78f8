package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nightshift-ops/nightshift/engine"
)

var _ engine.Conversations = (*Store)(nil)

// Conversation memory bounds: the last keepTurns turns are kept verbatim;
// older ones are folded into a summary of at most summaryLimit bytes; a
// thread untouched for conversationTTL is forgotten.
const (
	keepTurns       = 20
	summaryLimit    = 2000
	conversationTTL = 30 * 24 * time.Hour
)

// Conversation implements engine.Conversations.
func (s *Store) Conversation(ctx context.Context, space, thread string) (string, []engine.Turn, error) {
	pipe := s.rdb.Pipeline()
	sum := pipe.Get(ctx, s.Key(space, "conv:"+thread+":summary"))
	list := pipe.LRange(ctx, s.Key(space, "conv:"+thread), 0, -1)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return "", nil, fmt.Errorf("read conversation: %w", err)
	}
	turns := make([]engine.Turn, 0, len(list.Val()))
	for _, v := range list.Val() {
		var t engine.Turn
		if err := json.Unmarshal([]byte(v), &t); err != nil {
			return "", nil, fmt.Errorf("decode turn: %w", err)
		}
		turns = append(turns, t)
	}
	return sum.Val(), turns, nil
}

// foldScript appends turns, then moves the oldest beyond the limit into the
// summary, atomically. KEYS: list, summary; ARGV: keep, limit, ttl ms, turns...
var foldScript = redis.NewScript(`
for i = 4, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
local keep, limit, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local n = redis.call('LLEN', KEYS[1])
local old = {}
if n > keep then
  old = redis.call('LRANGE', KEYS[1], 0, n - keep - 1)
  redis.call('LTRIM', KEYS[1], n - keep, -1)
end
redis.call('PEXPIRE', KEYS[1], ttl)
if #old > 0 then
  local s = redis.call('GET', KEYS[2]) or ''
  for _, t in ipairs(old) do
    local ok, d = pcall(cjson.decode, t)
    if ok and d['role'] == 'user' then
      local q = string.sub(d['text'] or '', 1, 160)
      if s ~= '' then s = s .. ' · ' end
      s = s .. 'asked: ' .. q
    end
  end
  if string.len(s) > limit then s = '…' .. string.sub(s, string.len(s) - limit + 1) end
  redis.call('SET', KEYS[2], s, 'PX', ttl)
end
return n
`)

// AddTurns implements engine.Conversations.
func (s *Store) AddTurns(ctx context.Context, space, thread string, turns ...engine.Turn) error {
	if len(turns) == 0 {
		return nil
	}
	args := []any{keepTurns, summaryLimit, conversationTTL.Milliseconds()}
	for _, t := range turns {
		t.Text = strings.ToValidUTF8(t.Text, "�")
		b, err := json.Marshal(t)
		if err != nil {
			return fmt.Errorf("encode turn: %w", err)
		}
		args = append(args, b)
	}
	keys := []string{s.Key(space, "conv:"+thread), s.Key(space, "conv:"+thread+":summary")}
	if err := foldScript.Run(ctx, s.rdb, keys, args...).Err(); err != nil {
		return fmt.Errorf("add conversation turns: %w", err)
	}
	return nil
}
