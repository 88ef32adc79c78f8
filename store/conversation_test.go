package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
)

// A thread keeps its last turns verbatim and folds older questions into a
// bounded summary.
func TestConversationBoundedAndSummarised(t *testing.T) {
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			for i := range 30 {
				err := s.AddTurns(ctx, "c", "th1",
					engine.Turn{Role: "user", Who: "U1", Text: fmt.Sprintf("question %d", i), At: time.Now()},
					engine.Turn{Role: "assistant", Text: fmt.Sprintf("answer %d", i), At: time.Now()})
				if err != nil {
					t.Fatal(err)
				}
			}
			sum, turns, err := s.Conversation(ctx, "c", "th1")
			if err != nil {
				t.Fatal(err)
			}
			if len(turns) != keepTurns {
				t.Fatalf("%d turns kept, want %d", len(turns), keepTurns)
			}
			if turns[len(turns)-1].Text != "answer 29" || turns[0].Text != "question 20" {
				t.Fatalf("kept turns %q … %q", turns[0].Text, turns[len(turns)-1].Text)
			}
			if !strings.Contains(sum, "asked: question 0") || !strings.Contains(sum, "question 19") || strings.Contains(sum, "answer") {
				t.Fatalf("summary %q", sum)
			}
			if sum2, turns2, _ := s.Conversation(ctx, "c", "other"); sum2 != "" || len(turns2) != 0 {
				t.Fatal("threads are not separate")
			}
			if _, turns3, _ := s.Conversation(ctx, "other-space", "th1"); len(turns3) != 0 {
				t.Fatal("spaces are not separate")
			}
		})
	}
}
