package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
)

func TestChatThreadState(t *testing.T) {
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			// Racing replicas: exactly one claim wins.
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins := 0
			for i := range 8 {
				wg.Go(func() {
					ok, err := s.ClaimChatThread(ctx, "slack", "a", "inv1", "replica", time.Minute)
					if err != nil {
						t.Error(err)
					}
					if ok {
						mu.Lock()
						wins++
						mu.Unlock()
					}
					_ = i
				})
			}
			wg.Wait()
			if wins != 1 {
				t.Fatalf("%d claims won, want 1", wins)
			}
			if err := s.SetChatThread(ctx, "slack", "a", "inv1", map[string]string{"parent": "1.1", "channel": "C1"}); err != nil {
				t.Fatal(err)
			}
			if err := s.SetChatThread(ctx, "slack", "a", "inv1", map[string]string{"status": "1.2"}); err != nil {
				t.Fatal(err)
			}
			f, err := s.ChatThread(ctx, "slack", "a", "inv1")
			if err != nil || f["parent"] != "1.1" || f["status"] != "1.2" || f["channel"] != "C1" {
				t.Fatalf("fields %v %v", f, err)
			}
			// Other platforms and spaces are separate.
			if f, _ := s.ChatThread(ctx, "teams", "a", "inv1"); len(f) != 0 {
				t.Errorf("teams sees slack's thread: %v", f)
			}
			if f, _ := s.ChatThread(ctx, "slack", "b", "inv1"); len(f) != 0 {
				t.Errorf("space b sees space a's thread: %v", f)
			}
			added, n, err := s.AddChatMember(ctx, "slack", "a", "inv1", "linked", "al1")
			if err != nil || !added || n != 1 {
				t.Fatalf("add: %v %d %v", added, n, err)
			}
			if added, n, _ = s.AddChatMember(ctx, "slack", "a", "inv1", "linked", "al1"); added || n != 1 {
				t.Errorf("second add of the same member: %v %d", added, n)
			}
			if err := s.IndexChatMessage(ctx, "slack", "a", "C1", "1.3", "report inv1"); err != nil {
				t.Fatal(err)
			}
			if v, _ := s.ChatMessage(ctx, "slack", "a", "C1", "1.3"); v != "report inv1" {
				t.Errorf("index: %q", v)
			}
			if v, _ := s.ChatMessage(ctx, "slack", "a", "C1", "9.9"); v != "" {
				t.Errorf("unknown message: %q", v)
			}
			first, _ := s.FirstDelivery(ctx, "slack:event:Ev1", time.Minute)
			again, _ := s.FirstDelivery(ctx, "slack:event:Ev1", time.Minute)
			if !first || again {
				t.Errorf("dedup: first %v again %v", first, again)
			}
			if err := s.SetChatPending(ctx, "slack", "a", "inv1", "U1", "comment", time.Minute); err != nil {
				t.Fatal(err)
			}
			if v, _ := s.TakeChatPending(ctx, "slack", "a", "inv1", "U1"); v != "comment" {
				t.Errorf("pending: %q", v)
			}
			if v, _ := s.TakeChatPending(ctx, "slack", "a", "inv1", "U1"); v != "" {
				t.Errorf("pending taken twice: %q", v)
			}
		})
	}
}

func TestFeedbackAndLearned(t *testing.T) {
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			in := engine.NewIntake(s, nil, nil)
			a := engine.Alert{Source: "generic", DeliveryID: "d1", Title: "x", Status: engine.AlertFiring,
				Resources: []string{"r1"}, StartsAt: time.Now()}
			out, err := in.Receive(ctx, sp("f"), a)
			if err != nil {
				t.Fatal(err)
			}
			inv := out.Investigation
			rep := &engine.Report{Skills: []string{"bad-deploy"}, Hypotheses: []engine.Hypothesis{{Resource: "r1", Category: "bad-deploy"}}}
			fb := engine.FeedbackOf(rep, inv, "slack:U1", engine.VerdictAccurate, "", time.Now())
			if err := engine.RecordFeedback(ctx, s, s, "f", fb); err != nil {
				t.Fatal(err)
			}
			l, _ := s.Learned(ctx, "f")
			if l["skill:bad-deploy"] != 1 || l["category:bad-deploy"] != 1 {
				t.Fatalf("learned after 👍: %v", l)
			}
			// Changing one's mind replaces the verdict: +1 becomes -1.
			fb.Verdict, fb.Comment = engine.VerdictInaccurate, "it was the network"
			if err := engine.RecordFeedback(ctx, s, s, "f", fb); err != nil {
				t.Fatal(err)
			}
			l, _ = s.Learned(ctx, "f")
			if l["skill:bad-deploy"] != -1 {
				t.Fatalf("learned after changing to 👎: %v", l)
			}
			fbs, _ := s.Feedback(ctx, "f", inv)
			if len(fbs) != 1 || fbs[0].Comment != "it was the network" {
				t.Fatalf("stored: %+v", fbs)
			}
			ok, err := engine.WithdrawFeedback(ctx, s, s, "f", inv, "slack:U1", time.Now())
			if err != nil || !ok {
				t.Fatalf("withdraw: %v %v", ok, err)
			}
			if ok, _ := engine.WithdrawFeedback(ctx, s, s, "f", inv, "slack:U1", time.Now()); ok {
				t.Errorf("withdrew twice")
			}
			l, _ = s.Learned(ctx, "f")
			if l["skill:bad-deploy"] != 0 {
				t.Errorf("learned after withdrawal: %v", l)
			}
			entries, _ := s.Journal(ctx, "f", inv)
			var verdicts []string
			for _, e := range entries {
				if e.Type == engine.EntryFeedback {
					verdicts = append(verdicts, e.Actor)
				}
			}
			if len(verdicts) != 3 {
				t.Errorf("%d feedback entries, want 3 (accurate, inaccurate, withdrawn)", len(verdicts))
			}
		})
	}
}
