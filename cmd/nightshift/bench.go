package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/alertmanager"
	"github.com/nightshift-ops/nightshift/store"
)

func benchCmd(e env) *cobra.Command {
	c := &cobra.Command{Use: "bench", Short: "Measure end-to-end performance on this machine"}
	var o intakeBench
	var ks string
	ic := &cobra.Command{
		Use:   "intake",
		Short: "Fire single-alert webhooks at an in-process server backed by real Redis",
		Long: `Starts the server in-process on loopback with real Redis, pre-loads K active
investigations, fires N single-alert Alertmanager webhooks from C clients and
prints alerts/s, p50/p99 latency, Redis round trips per alert and peak RSS.
Every alert is durably stored before its 200. Runs once per K in
--investigations and reports each run as a ratio of the first; a final
row measures the HTTP stack alone (no store) as this machine's ceiling.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, s := range strings.Split(ks, ",") {
				k, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || k < 0 {
					return fmt.Errorf("--investigations: %q is not a count", s)
				}
				o.ks = append(o.ks, k)
			}
			if o.cpuProfile != "" {
				f, err := os.Create(o.cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			return o.run(cmd.Context(), e.stdout)
		},
	}
	ic.Flags().StringVar(&o.redisURL, "redis", "redis://127.0.0.1:6379/15", "Redis URL (real Redis; keys go under a fresh prefix and are removed after)")
	ic.Flags().IntVar(&o.alerts, "alerts", 20000, "webhooks to fire per run")
	ic.Flags().IntVar(&o.concurrency, "concurrency", 32, "concurrent clients")
	ic.Flags().StringVar(&ks, "investigations", "10,10000", "active investigations to pre-load, one run each (comma-separated)")
	ic.Flags().IntVar(&o.services, "services", 500, "distinct services the storm's alerts are about (fewer: more linking)")
	ic.Flags().StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	c.AddCommand(ic)
	return c
}

type intakeBench struct {
	redisURL    string
	alerts      int
	concurrency int
	ks          []int
	services    int
	cpuProfile  string
}

type benchResult struct {
	label     string
	rate      float64
	p50, p99  time.Duration
	rtPerAl   float64
	decisions map[string]int
	errors    int
}

func (o *intakeBench) run(ctx context.Context, out io.Writer) error {
	if o.alerts <= 0 || o.concurrency <= 0 {
		return errors.New("--alerts and --concurrency must be positive")
	}
	var results []benchResult
	for _, k := range o.ks {
		r, err := o.once(ctx, k)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	ceiling, err := o.httpOnly(ctx)
	if err != nil {
		return err
	}
	results = append(results, ceiling)

	fmt.Fprintf(out, "nightshift bench intake: %d single-alert webhooks per run, %d clients, %d services, real Redis %s\n\n",
		o.alerts, o.concurrency, o.services, redactURL(o.redisURL))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\talerts/s\tvs first\tp50\tp99\tredis round trips/alert\tdecisions\terrors\t")
	for _, r := range results {
		dec := "-"
		if r.decisions != nil {
			var parts []string
			for _, d := range []string{"new", "linked", "duplicate"} {
				parts = append(parts, fmt.Sprintf("%s=%d", d, r.decisions[d]))
			}
			dec = strings.Join(parts, " ")
		}
		rt := "-"
		if r.rtPerAl > 0 {
			rt = fmt.Sprintf("%.2f", r.rtPerAl)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%s\t%s\t%s\t%s\t%d\t\n", r.label, r.rate, r.rate/results[0].rate,
			r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), rt, dec, r.errors)
	}
	tw.Flush()
	fmt.Fprintf(out, "\npeak RSS %.1f MiB\n", float64(peakRSS())/(1<<20))
	return nil
}

// once runs one storm against a fresh namespace with k investigations pre-loaded.
func (o *intakeBench) once(ctx context.Context, k int) (benchResult, error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "bench:" + hex.EncodeToString(b[:]) + ":"
	st, err := store.Open(store.Config{URL: o.redisURL, Prefix: prefix}, nil)
	if err != nil {
		return benchResult{}, err
	}
	defer st.Close()
	defer cleanup(context.Background(), st.Client(), prefix)
	if err := st.Ping(ctx); err != nil {
		return benchResult{}, fmt.Errorf("bench needs a real Redis: %w", err)
	}
	log := slog.New(slog.DiscardHandler)
	cfg := &Config{Redis: store.Config{URL: o.redisURL, Prefix: prefix}, Spaces: []SpaceConfig{{
		Name: "bench", Sources: SourcesConfig{Alertmanager: &alertmanager.Config{Token: "bench-token"}},
	}}}
	a, err := buildWithStore(cfg, st, log)
	if err != nil {
		return benchResult{}, err
	}
	// Pre-load k active investigations about resources the storm never names.
	sp := engine.Space{Name: "bench", Correlation: engine.CorrelationConfig{}.WithDefaults()}
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	var preErr atomic.Value
	for i := range k {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_, err := a.intake.Receive(ctx, sp, engine.Alert{Source: "generic", DeliveryID: fmt.Sprint("pre-", i),
				Fingerprint: fmt.Sprint("pre-", i), Title: "preloaded", Resources: []string{fmt.Sprint("host/pre-", i)},
				Service: fmt.Sprint("pre-svc-", i)})
			if err != nil {
				preErr.Store(err)
			}
		})
	}
	wg.Wait()
	if err, _ := preErr.Load().(error); err != nil {
		return benchResult{}, fmt.Errorf("pre-load: %w", err)
	}
	var trips atomic.Int64
	st.Client().AddHook(countHook{&trips})
	r, err := o.fire(ctx, a.server, func(i int) []byte { return amPayload(i, o.services) })
	if err != nil {
		return benchResult{}, err
	}
	r.label = fmt.Sprintf("K=%d", k)
	r.rtPerAl = float64(trips.Load()) / float64(o.alerts)
	return r, nil
}

// httpOnly measures the same HTTP path with a handler that stores nothing.
func (o *intakeBench) httpOnly(ctx context.Context) (benchResult, error) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"alerts":[{"decision":"new"}]}`))
	})
	r, err := o.fire(ctx, h, func(i int) []byte { return amPayload(i, o.services) })
	r.label = "HTTP only, no store"
	r.decisions = nil
	return r, err
}

// fire serves h on loopback and sends o.alerts POSTs from o.concurrency clients.
func (o *intakeBench) fire(ctx context.Context, h http.Handler, body func(int) []byte) (benchResult, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return benchResult{}, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/hooks/bench/alertmanager"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.concurrency, MaxConnsPerHost: o.concurrency}, Timeout: 30 * time.Second}

	bodies := make([][]byte, o.alerts)
	for i := range bodies {
		bodies[i] = body(i)
	}
	lat := make([]time.Duration, o.alerts)
	var next atomic.Int64
	var mu sync.Mutex
	decisions := map[string]int{}
	errs := 0
	start := time.Now()
	var wg sync.WaitGroup
	for range o.concurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= o.alerts || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(bodies[i]))
				req.Header.Set("Authorization", "Bearer bench-token")
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				var respBody []byte
				if err == nil {
					respBody, _ = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				lat[i] = time.Since(t0)
				mu.Lock()
				if err != nil || resp.StatusCode != 200 {
					errs++
				} else {
					for _, d := range []string{"new", "linked", "duplicate"} {
						if bytes.Contains(respBody, []byte(`"decision":"`+d+`"`)) {
							decisions[d]++
						}
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return benchResult{rate: float64(o.alerts) / elapsed.Seconds(), p50: lat[len(lat)/2],
		p99: lat[len(lat)*99/100], decisions: decisions, errors: errs}, ctx.Err()
}

// amPayload is a single-alert Alertmanager webhook about one of n services.
func amPayload(i, n int) []byte {
	svc := i % max(n, 1)
	return []byte(fmt.Sprintf(`{"version":"4","groupKey":"{}:{alertname=\"HighLatency\"}","status":"firing","receiver":"nightshift",`+
		`"groupLabels":{"alertname":"HighLatency"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am:9093",`+
		`"alerts":[{"status":"firing","labels":{"alertname":"HighLatency","service":"svc-%d","instance":"pod-%d","region":"us-east-1","severity":"critical"},`+
		`"annotations":{"summary":"p99 latency above 2s on svc-%d"},"startsAt":"2026-11-01T02:00:00Z","endsAt":"0001-01-01T00:00:00Z",`+
		`"generatorURL":"http://prom:9090/graph","fingerprint":"%016x"}]}`, svc, i, svc, i))
}

// countHook counts Redis round trips (a pipeline is one).
type countHook struct{ n *atomic.Int64 }

func (h countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

func cleanup(ctx context.Context, rdb redis.UniversalClient, prefix string) {
	iter := rdb.Scan(ctx, 0, prefix+"*", 5000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			rdb.Unlink(ctx, batch...)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		rdb.Unlink(ctx, batch...)
	}
}

// peakRSS is the process's high-water resident set size in bytes (Linux).
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func redactURL(u string) string {
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			return u[:j+3] + "<credentials>" + u[i:]
		}
	}
	return u
}
