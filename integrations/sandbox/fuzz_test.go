package sandbox

import (
	"context"
	"encoding/json"
	"io/fs"
	"testing"
	"time"
)

// FuzzLoad feeds arbitrary bytes to the scenario parser: it must never
// panic, and whatever it accepts must make a working Env. The seeds are
// small on purpose: the fuzzer minimises every new input, which takes
// minutes on a full library scenario.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(okYAML))
	f.Add([]byte(okYAML + recordedYAML))
	f.Add([]byte(toolsYAML))
	f.Add([]byte("name: x\nbase: retail-store\nincident_at: 2026-01-01T00:00:00Z\nresources:\n  - id: eks/retail/catalog/deployment/catalog\n    labels: {team: a}\n    spec: &s {a: [1, 2.5, true, null, 2026-01-01], b: *s}\n"))
	f.Add([]byte("a: &a [1,2]\nb: &b [*a,*a,*a]\nc: [*b,*b,*b]\n"))
	f.Add([]byte("name: x\nincident_at: 2026-01-01T00:00:00Z\n---\nname: y\n"))
	csv := []byte("time,lat\n1767225300,1.5\n1767225360,\n2026-01-01T00:00:00Z,2.5\n")
	readRel := func(name string) ([]byte, error) {
		if name == "data.csv" {
			return csv, nil
		}
		return nil, fs.ErrNotExist
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, tr, err := loadBytes(data, "fuzz.yaml", readRel)
		if err != nil {
			if sc != nil || tr != nil {
				t.Fatal("a scenario returned with an error")
			}
			return
		}
		if _, err := json.Marshal(sc); err != nil {
			t.Fatalf("scenario does not marshal: %v", err)
		}
		e := NewEnv(sc, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		e.Alerts()
		e.Edges()
		tools := e.Tools()
		ctx := context.Background()
		if len(sc.Resources) > 0 {
			args, _ := json.Marshal(map[string]string{"resource": sc.Resources[0].ID})
			for _, i := range []int{0, 3, 4} { // query_metrics, describe_resource, topology_neighbours
				if _, err := tools[i].Call(ctx, args); err != nil {
					t.Fatalf("%s on an accepted scenario: %v", tools[i].Name, err)
				}
			}
		}
		for _, i := range []int{1, 2, 5, 6} { // search_logs, list_changes, list_resources, active_alarms
			if _, err := tools[i].Call(ctx, json.RawMessage(`{}`)); err != nil {
				t.Fatalf("%s on an accepted scenario: %v", tools[i].Name, err)
			}
		}
	})
}
