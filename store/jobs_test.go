package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
)

// A new investigation is queued once; a job a replica took and never
// acknowledged (it crashed) is taken over by another, marked resumed; an
// acknowledged job is not handed out again.
func TestJobQueueTakeoverAndAck(t *testing.T) {
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			in := engine.NewIntake(s, nil, nil)
			o, err := in.Receive(ctx, sp("q"), outage("pagerduty", "d1", "f1"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := in.Receive(ctx, sp("q"), outage("grafana", "d2", "f2")); err != nil { // linked: not queued again
				t.Fatal(err)
			}
			j, err := s.NextJob(ctx, "q", "replica-a", 100*time.Millisecond, time.Hour)
			if err != nil || j.Investigation != o.Investigation || j.Resumed {
				t.Fatalf("first take: %+v %v", j, err)
			}
			if _, err := s.NextJob(ctx, "q", "replica-b", 100*time.Millisecond, time.Hour); !errors.Is(err, engine.ErrNoJob) {
				t.Fatalf("second job while one is pending and fresh: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
			j2, err := s.NextJob(ctx, "q", "replica-b", 100*time.Millisecond, 10*time.Millisecond)
			if err != nil || j2.Investigation != o.Investigation || !j2.Resumed {
				t.Fatalf("takeover: %+v %v", j2, err)
			}
			if err := s.AckJob(ctx, j2); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
			if j3, err := s.NextJob(ctx, "q", "replica-c", 100*time.Millisecond, 10*time.Millisecond); !errors.Is(err, engine.ErrNoJob) {
				t.Fatalf("after ack: %+v %v", j3, err)
			}
			// Phase and report live beside the record.
			if err := s.SetPhase(ctx, "q", o.Investigation, engine.PhaseAnalyse); err != nil {
				t.Fatal(err)
			}
			st, _ := s.Investigation(ctx, "q", o.Investigation)
			list, _ := s.Investigations(ctx, "q", engine.StatusActive, 0)
			if st.Phase != engine.PhaseAnalyse || len(list) != 1 || list[0].Phase != engine.PhaseAnalyse {
				t.Fatalf("phase: %s / %+v", st.Phase, list)
			}
			if r, err := s.Report(ctx, "q", o.Investigation); r != nil || err != nil {
				t.Fatalf("report before any: %v %v", r, err)
			}
			rep := &engine.Report{Investigation: o.Investigation, Summary: "s", Hypotheses: []engine.Hypothesis{{Resource: "x", Category: "database"}}}
			if err := s.SaveReport(ctx, "q", o.Investigation, rep); err != nil {
				t.Fatal(err)
			}
			got, err := s.Report(ctx, "q", o.Investigation)
			if err != nil || got.Top().Resource != "x" {
				t.Fatalf("report: %+v %v", got, err)
			}
		})
	}
}
