package engine_test

import (
	"fmt"
	"testing"
)

func TestZZDebugIncidents(t *testing.T) {
	for _, in := range incidents() {
		rep, _, rec := reason(t, in)
		fmt.Println("=====", in.name)
		for _, e := range rec.Events() {
			fmt.Println("  ev", e.Kind, e.Text)
		}
		for i, h := range rep.Hypotheses {
			fmt.Printf("  #%d %s %s %.2f %s\n", i, h.Resource, h.Category, h.Confidence, h.Statement)
			if i == 0 {
				for _, e := range h.Evidence {
					fmt.Printf("      - [%s %.2f] %s\n", e.Kind, e.Weight, e.Summary)
				}
			}
		}
		for _, p := range rep.Plan {
			fmt.Println("  plan:", p.Action)
		}
		fmt.Println("  gaps:", rep.Gaps)
	}
}
