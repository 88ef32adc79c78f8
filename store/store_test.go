package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/engine/journal"
)

// backends returns the stores every test runs against: real Redis
// (NIGHTSHIFT_TEST_REDIS_URL, default db 15 on loopback) under a per-test key
// prefix, and the embedded store. Without a reachable Redis the real backend
// fails the test under CI and is skipped elsewhere.
func backends(t *testing.T) map[string]*Store {
	t.Helper()
	out := map[string]*Store{}
	emb, err := Open(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emb.Close() })
	out["embedded"] = emb

	url := os.Getenv("NIGHTSHIFT_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/15"
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "test:" + hex.EncodeToString(b[:]) + ":"
	real, err := Open(Config{URL: url, Prefix: prefix}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := real.Ping(ctx); err != nil {
		real.Close()
		if os.Getenv("CI") != "" {
			t.Fatalf("real Redis at %s: %v", url, err)
		}
		t.Logf("real Redis not reachable (%v): testing the embedded store only", err)
		return out
	}
	t.Cleanup(func() {
		iter := real.rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			real.rdb.Del(ctx, iter.Val())
		}
		real.Close()
	})
	out["redis"] = real
	return out
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time               { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration)          { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock() *clock                        { return &clock{t: time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)} }
func sp(name string) engine.Space             { return engine.Space{Name: name} }
func alert(src, delivery string) engine.Alert { return engine.Alert{Source: src, DeliveryID: delivery} }

func outage(src, delivery, fp string) engine.Alert {
	a := alert(src, delivery)
	a.Fingerprint = fp
	a.Title = src + " says checkout is sad"
	a.Service = "checkout"
	a.Region = "us-east-1"
	a.Account = "111122223333"
	a.Severity = engine.SeverityCritical
	return a
}

func TestFourSendersOneOutage(t *testing.T) {
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			clk := newClock()
			in := engine.NewIntake(s, clk.Now, nil)
			var inv string
			for i, src := range []string{"pagerduty", "alertmanager", "grafana", "datadog"} {
				a := outage(src, "d-"+src, "fp-"+src)
				if i == 1 {
					a.Resources = []string{"k8s/shop/checkout/deployment/checkout"}
				}
				out, err := in.Receive(ctx, sp("payments"), a)
				if err != nil {
					t.Fatal(err)
				}
				want := engine.DecisionLinked
				if i == 0 {
					want, inv = engine.DecisionNew, out.Investigation
				}
				if out.Decision != want || out.Investigation != inv {
					t.Fatalf("alert %d (%s): %+v, want %s into %s", i, src, out, want, inv)
				}
				if i > 0 && (out.Score < 0.6 || out.Reasons == "") {
					t.Errorf("alert %d: score %.2f reasons %q", i, out.Score, out.Reasons)
				}
				clk.Add(4 * time.Minute)
			}
			st, err := s.Investigation(ctx, "payments", inv)
			if err != nil {
				t.Fatal(err)
			}
			if st.AlertCount != 4 || st.FiringCount != 4 || st.Status != engine.StatusActive {
				t.Errorf("investigation: %+v", st.Investigation)
			}
			links, err := s.Links(ctx, "payments", inv)
			if err != nil || len(links) != 4 {
				t.Fatalf("links: %v %v", links, err)
			}
			if links[1].Reasons != "same service and account and region, 4 min apart" {
				t.Errorf("reasons of the second alert: %q", links[1].Reasons)
			}
			active, err := s.Investigations(ctx, "payments", engine.StatusActive, 0)
			if err != nil || len(active) != 1 {
				t.Fatalf("active investigations: %v %v", active, err)
			}
			entries, err := s.Journal(ctx, "payments", inv)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 3+2*3 {
				t.Errorf("journal has %d entries, want 9", len(entries))
			}
			if err := journal.Verify(entries); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSeparateOutages(t *testing.T) {
	tests := []struct {
		name   string
		second func(engine.Alert) engine.Alert
		gap    time.Duration
	}{
		{"an hour apart", func(a engine.Alert) engine.Alert { return a }, time.Hour},
		{"other region", func(a engine.Alert) engine.Alert { a.Region = "eu-west-1"; return a }, time.Minute},
		{"other account", func(a engine.Alert) engine.Alert { a.Account = "999988887777"; return a }, time.Minute},
		{"other service", func(a engine.Alert) engine.Alert { a.Service = "catalog"; return a }, time.Minute},
		{"same rule, unrelated resources", func(a engine.Alert) engine.Alert {
			a.Service = ""
			a.Resources = []string{"host/db-2"}
			return a
		}, time.Minute},
	}
	for name, s := range backends(t) {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				ctx := context.Background()
				clk := newClock()
				in := engine.NewIntake(s, clk.Now, nil)
				space := "sep-" + fmt.Sprint(time.Now().UnixNano())
				first := outage("alertmanager", "d1", "fp1")
				if tt.name == "same rule, unrelated resources" {
					first.Service = ""
					first.Resources = []string{"host/db-1"}
					first.Labels = map[string]string{"alertname": "HighCPU"}
				}
				o1, err := in.Receive(ctx, sp(space), first)
				if err != nil {
					t.Fatal(err)
				}
				clk.Add(tt.gap)
				second := tt.second(outage("alertmanager", "d2", "fp2"))
				if tt.name == "same rule, unrelated resources" {
					second.Labels = map[string]string{"alertname": "HighCPU"}
				}
				o2, err := in.Receive(ctx, sp(space), second)
				if err != nil {
					t.Fatal(err)
				}
				if o2.Decision != engine.DecisionNew || o2.Investigation == o1.Investigation {
					t.Fatalf("second alert %+v joined %s", o2, o1.Investigation)
				}
			})
		}
	}
}

func TestDuplicatesAndResolution(t *testing.T) {
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			clk := newClock()
			in := engine.NewIntake(s, clk.Now, nil)
			a := outage("pagerduty", "evt-1", "pagerduty:P123")
			o1, err := in.Receive(ctx, sp("p"), a)
			if err != nil {
				t.Fatal(err)
			}
			// Same delivery: duplicate.
			o2, err := in.Receive(ctx, sp("p"), a)
			if err != nil || o2.Decision != engine.DecisionDuplicate || o2.AlertID != o1.AlertID || o2.Investigation != o1.Investigation {
				t.Fatalf("redelivery: %+v %v", o2, err)
			}
			// New delivery, same fingerprint, still firing: duplicate.
			b := outage("pagerduty", "evt-2", "pagerduty:P123")
			o3, err := in.Receive(ctx, sp("p"), b)
			if err != nil || o3.Decision != engine.DecisionDuplicate || o3.AlertID != o1.AlertID {
				t.Fatalf("same fingerprint: %+v %v", o3, err)
			}
			// A second alert joins, then both resolve.
			c := outage("grafana", "g-1", "grafana:abc")
			o4, err := in.Receive(ctx, sp("p"), c)
			if err != nil || o4.Decision != engine.DecisionLinked {
				t.Fatalf("second alert: %+v %v", o4, err)
			}
			r := outage("pagerduty", "evt-3", "pagerduty:P123")
			r.Status = engine.AlertResolved
			o5, err := in.Receive(ctx, sp("p"), r)
			if err != nil || o5.Decision != engine.DecisionResolved || o5.AlertID != o1.AlertID {
				t.Fatalf("resolve: %+v %v", o5, err)
			}
			st, _ := s.Investigation(ctx, "p", o1.Investigation)
			if st.Status != engine.StatusActive || st.FiringCount != 1 {
				t.Fatalf("after one resolve: %+v", st.Investigation)
			}
			// Redelivery of the resolve notice changes nothing.
			o6, err := in.Receive(ctx, sp("p"), r)
			if err != nil || o6.Decision != engine.DecisionDuplicate {
				t.Fatalf("resolve redelivered: %+v %v", o6, err)
			}
			rc := c
			rc.DeliveryID, rc.Status = "g-2", engine.AlertResolved
			if _, err := in.Receive(ctx, sp("p"), rc); err != nil {
				t.Fatal(err)
			}
			st, _ = s.Investigation(ctx, "p", o1.Investigation)
			if st.Status != engine.StatusResolved || st.FiringCount != 0 || st.ResolvedAt.IsZero() {
				t.Fatalf("after both resolved: %+v", st.Investigation)
			}
			res, _ := s.Investigations(ctx, "p", engine.StatusResolved, 0)
			act, _ := s.Investigations(ctx, "p", engine.StatusActive, 0)
			if len(res) != 1 || len(act) != 0 {
				t.Fatalf("resolved %d active %d", len(res), len(act))
			}
			got, _ := s.Alert(ctx, "p", o1.AlertID)
			if got.Status != engine.AlertResolved {
				t.Errorf("alert status %s", got.Status)
			}
			// The same condition firing again opens a new investigation.
			again := outage("pagerduty", "evt-4", "pagerduty:P123")
			o7, err := in.Receive(ctx, sp("p"), again)
			if err != nil || o7.Decision != engine.DecisionNew {
				t.Fatalf("refire: %+v %v", o7, err)
			}
			entries, _ := s.Journal(ctx, "p", o1.Investigation)
			if err := journal.Verify(entries); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestUnlink(t *testing.T) {
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			clk := newClock()
			in := engine.NewIntake(s, clk.Now, nil)
			o1, _ := in.Receive(ctx, sp("u"), outage("pagerduty", "a", "fa"))
			o2, _ := in.Receive(ctx, sp("u"), outage("grafana", "b", "fb"))
			if o2.Investigation != o1.Investigation {
				t.Fatalf("setup: not linked")
			}
			moved, err := in.Unlink(ctx, s, "u", o1.AlertID, "slack:U1")
			if err != nil || moved.Decision != engine.DecisionUnlinked || moved.Investigation == o1.Investigation {
				t.Fatalf("unlink: %+v %v", moved, err)
			}
			st, _ := s.Investigation(ctx, "u", o1.Investigation)
			if st.AlertCount != 1 {
				t.Fatalf("old investigation after unlink: %+v", st.Investigation)
			}
			a, _ := s.Alert(ctx, "u", o1.AlertID)
			if a.Investigation == o1.Investigation || a.Investigation == "" {
				t.Fatalf("alert still in %s", a.Investigation)
			}
			// The last alert cannot be unlinked from its own investigation.
			if _, err := in.Unlink(ctx, s, "u", o2.AlertID, "slack:U1"); engine.ErrorCode(err) != engine.CodeInvalid {
				t.Fatalf("unlink of the only alert: %v", err)
			}
			// A redelivery of the moved alert names its new investigation.
			o3, _ := in.Receive(ctx, sp("u"), outage("pagerduty", "a", "fa"))
			if o3.Decision != engine.DecisionDuplicate || o3.Investigation != a.Investigation {
				t.Fatalf("redelivery after unlink: %+v", o3)
			}
			for _, id := range []string{o1.Investigation, a.Investigation} {
				es, _ := s.Journal(ctx, "u", id)
				if err := journal.Verify(es); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// Concurrent alerts about one resource, as a storm from several replicas,
// must open exactly one investigation.
func TestConcurrentStormOneInvestigation(t *testing.T) {
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			in := engine.NewIntake(s, nil, nil)
			var wg sync.WaitGroup
			outs := make([]engine.Outcome, 40)
			errs := make([]error, 40)
			for i := range outs {
				wg.Go(func() {
					a := alert("alertmanager", fmt.Sprint("storm-", i))
					a.Fingerprint = fmt.Sprint("fp-", i)
					a.Resources = []string{"aws/rds/orders-db"}
					outs[i], errs[i] = in.Receive(ctx, sp("storm"), a)
				})
			}
			wg.Wait()
			invs := map[string]int{}
			for i, o := range outs {
				if errs[i] != nil {
					t.Fatal(errs[i])
				}
				invs[o.Investigation]++
			}
			if len(invs) != 1 {
				t.Fatalf("storm opened %d investigations: %v", len(invs), invs)
			}
		})
	}
}

// Journal verification catches an entry edited directly in Redis.
func TestJournalTamperDetected(t *testing.T) {
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			in := engine.NewIntake(s, nil, nil)
			o, _ := in.Receive(ctx, sp("j"), outage("pagerduty", "x", "fx"))
			in.Receive(ctx, sp("j"), outage("grafana", "y", "fy"))
			key := s.Key("j", "journal:"+o.Investigation)
			msgs, err := s.rdb.XRange(ctx, key, "-", "+").Result()
			if err != nil || len(msgs) < 4 {
				t.Fatalf("journal: %d entries, %v", len(msgs), err)
			}
			// Rewrite the stream with entry 2's data changed, ids kept.
			s.rdb.Del(ctx, key)
			for i, m := range msgs {
				v := m.Values["e"].(string)
				if i == 1 {
					v = strings.Replace(v, `"decision":"new"`, `"decision":"linked"`, 1)
					if v == m.Values["e"].(string) {
						t.Fatalf("tamper did not change entry: %s", v)
					}
				}
				if err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, ID: m.ID, Values: map[string]any{"e": v}}).Err(); err != nil {
					t.Fatal(err)
				}
			}
			es, _ := s.Journal(ctx, "j", o.Investigation)
			err = journal.Verify(es)
			var be *journal.BrokenError
			if !errors.As(err, &be) || be.Seq != 2 {
				t.Fatalf("Verify = %v, want broken at entry 2", err)
			}
		})
	}
}

// Lookup cost is bounded by the alert's index keys, not by the number of
// active investigations.
func TestLookupIgnoresUnrelatedInvestigations(t *testing.T) {
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			in := engine.NewIntake(s, nil, nil)
			for i := range 200 {
				a := alert("generic", fmt.Sprint("bg-", i))
				a.Resources = []string{fmt.Sprint("host/bg-", i)}
				if _, err := in.Receive(ctx, sp("k"), a); err != nil {
					t.Fatal(err)
				}
			}
			res, err := s.Lookup(ctx, "k", engine.LookupQuery{DeliveryID: "new", Fingerprint: "new",
				Keys: []string{engine.IndexResource("host/bg-7")}, Since: time.Now().Add(-time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Candidates) != 1 || res.Candidates[0].Resources[0] != "host/bg-7" {
				t.Fatalf("candidates: %+v", res.Candidates)
			}
		})
	}
}
