// Package store keeps Nightshift's state in Redis: alerts, investigations,
// the correlation index, journals and the work queue. It satisfies the
// engine's storage ports (engine.IntakeStore, engine.InvestigationReader) and
// must not hold domain logic: every decision is the engine's, the store only
// reads and applies them atomically.
//
// It speaks to standalone Redis, Sentinel and Cluster through go-redis's
// UniversalClient, or, with no URL, to an embedded Redis-compatible server in
// the same process (miniredis) so that one code path serves both. Every key
// of a space carries the space as a Cluster hash tag ("ns:{payments}:inv:…"),
// so a space's keys share one slot and multi-key scripts work on Cluster.
//
// Key layout (under ns:{space}:):
//
//	alert:<id>               alert JSON
//	delivery:<delivery id>   "<alert id> <investigation id>"   (7 days)
//	fp:<fingerprint>         "<alert id> <investigation id>"   while firing
//	inv:<id>                 investigation JSON
//	inv:<id>:alerts          hash alert id → AlertLink JSON
//	journal:<id>             stream of journal entries (field "e")
//	journal:<id>:head        "<seq>:<hash>" of the last entry
//	invs:all|active|resolved sorted sets of investigation ids by opening time
//	idx:res:<r>, idx:svc:<s> sorted sets of investigation ids by last alert time
//	jobs                     stream of investigations queued for analysis
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Config is the redis: block of the configuration file.
type Config struct {
	// URL selects the server: redis://[user:pass@]host:port/db (TLS: rediss://),
	// redis+sentinel://host:26379?master_name=m&addr=host2:26379 for Sentinel,
	// redis+cluster://host:7000?addr=host2:7000 for Cluster. Empty: embedded.
	URL string `yaml:"url"`
	// Prefix is prepended to every key (tests use one per test).
	Prefix string `yaml:"prefix"`
}

// Validate parses the URL without connecting.
func (c Config) Validate() error {
	if c.URL == "" {
		return nil
	}
	if _, err := universalOptions(c.URL); err != nil {
		return fmt.Errorf("url: %w", err)
	}
	return nil
}

// Store is the Redis-backed state of all spaces. Safe for concurrent use.
type Store struct {
	rdb      redis.UniversalClient
	prefix   string
	embedded *miniredis.Miniredis
	batch    *batcher
}

// Open connects to Redis as configured, or starts the embedded server when
// the URL is empty (logging that its state is lost at exit). It does not
// wait for the server: Ping tells readiness.
func Open(cfg Config, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.URL == "" {
		m := miniredis.NewMiniRedis()
		m.ClockTTL(true) // expire keys by the wall clock, as Redis does
		rdb := redis.NewClient(&redis.Options{
			Dialer:   func(ctx context.Context, _, _ string) (net.Conn, error) { return m.Dial() },
			Protocol: 2,
		})
		log.Warn("no redis.url configured: using the embedded store; all state is lost when the process exits and replicas cannot share it")
		return &Store{rdb: rdb, prefix: cfg.Prefix, embedded: m, batch: newBatcher(rdb, false)}, nil
	}
	opts, err := universalOptions(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	rdb := redis.NewUniversalClient(opts)
	return &Store{rdb: rdb, prefix: cfg.Prefix, batch: newBatcher(rdb, true)}, nil
}

// universalOptions turns our URL forms into go-redis options.
func universalOptions(raw string) (*redis.UniversalOptions, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	tls := strings.HasPrefix(u.Scheme, "rediss")
	plain := "redis"
	if tls {
		plain = "rediss"
	}
	switch u.Scheme {
	case "redis", "rediss":
		o, err := redis.ParseURL(raw)
		if err != nil {
			return nil, err
		}
		return &redis.UniversalOptions{Addrs: []string{o.Addr}, DB: o.DB, Username: o.Username, Password: o.Password,
			TLSConfig: o.TLSConfig, Protocol: o.Protocol, DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout,
			WriteTimeout: o.WriteTimeout, PoolSize: o.PoolSize, MinIdleConns: o.MinIdleConns, ClientName: o.ClientName}, nil
	case "redis+sentinel", "rediss+sentinel":
		u.Scheme = plain
		o, err := redis.ParseFailoverURL(u.String())
		if err != nil {
			return nil, err
		}
		if o.MasterName == "" {
			return nil, errors.New("sentinel URL needs ?master_name=")
		}
		return &redis.UniversalOptions{Addrs: o.SentinelAddrs, MasterName: o.MasterName, DB: o.DB,
			Username: o.Username, Password: o.Password, SentinelUsername: o.SentinelUsername,
			SentinelPassword: o.SentinelPassword, TLSConfig: o.TLSConfig, DialTimeout: o.DialTimeout,
			ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout, PoolSize: o.PoolSize}, nil
	case "redis+cluster", "rediss+cluster":
		u.Scheme = plain
		o, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return nil, err
		}
		return &redis.UniversalOptions{Addrs: o.Addrs, IsClusterMode: true, Username: o.Username, Password: o.Password,
			TLSConfig: o.TLSConfig, DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout,
			WriteTimeout: o.WriteTimeout, PoolSize: o.PoolSize}, nil
	}
	return nil, fmt.Errorf("scheme %q: want redis, rediss, redis+sentinel or redis+cluster", u.Scheme)
}

// Embedded reports whether the store runs in-process.
func (s *Store) Embedded() bool { return s.embedded != nil }

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// Close releases connections and stops the embedded server.
func (s *Store) Close() error {
	s.batch.close()
	err := s.rdb.Close()
	if s.embedded != nil {
		s.embedded.Close()
	}
	return err
}

// Client exposes the Redis client for packages that keep their own keys
// (the bot's conversation state) under Key's namespace.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Key returns the full key of a name in a space's namespace.
func (s *Store) Key(space, name string) string {
	return s.prefix + "ns:{" + space + "}:" + name
}

// ttlDelivery is how long a delivery id is remembered: PagerDuty retries for
// 48 hours, so a week leaves margin for every sender.
const ttlDelivery = 7 * 24 * time.Hour

// indexRetention is how long correlation index entries are kept; lookups only
// read the last window, trimming keeps memory bounded.
const indexRetention = 24 * time.Hour

// jobsMaxLen caps the work queue stream (approximate trimming).
const jobsMaxLen = 100000

// SetLogger routes go-redis's own log lines (pool and reconnect messages)
// into log at warn level. go-redis keeps one process-wide logger, so this is
// for the composition root to call once.
func SetLogger(log *slog.Logger) { redis.SetLogger(redisLogger{log}) }

type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}
