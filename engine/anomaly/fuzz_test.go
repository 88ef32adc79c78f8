package anomaly

import (
	"encoding/binary"
	"math"
	"testing"
	"time"
)

// FuzzDetect feeds arbitrary series: any length, any values (NaN and ±Inf
// included), times that repeat, go backwards or jump. Detect must not panic
// and must return a consistent Result.
func FuzzDetect(f *testing.F) {
	f.Add([]byte{}, int64(0), uint8(0))
	f.Add([]byte("0123456789abcdef0123456789abcdef0123456789abcdef"), int64(30), uint8(4))
	seed := make([]byte, 0, 16*200)
	for i := range 200 {
		v := 100.0
		if i > 150 {
			v = 300
		}
		seed = binary.LittleEndian.AppendUint64(seed, math.Float64bits(v))
		seed = binary.LittleEndian.AppendUint64(seed, 60)
	}
	f.Add(seed, int64(180*60), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, incident int64, minScore uint8) {
		var pts []Point
		tm := time.Unix(1_700_000_000, 0)
		for len(data) >= 16 {
			v := math.Float64frombits(binary.LittleEndian.Uint64(data))
			step := int64(binary.LittleEndian.Uint64(data[8:])) % 7200
			data = data[16:]
			tm = tm.Add(time.Duration(step) * time.Second)
			pts = append(pts, Point{T: tm, V: v})
		}
		opt := Options{Incident: time.Unix(1_700_000_000+incident%(1<<40), 0), MinScore: float64(minScore)}
		r := Detect(pts, opt)
		if math.IsNaN(r.Score) || r.Score < 0 || r.Score > maxScore {
			t.Fatalf("Score = %v", r.Score)
		}
		if r.Anomalous {
			if r.Onset.IsZero() || r.Direction == 0 || r.Kind == "" {
				t.Fatalf("anomalous result without onset, direction or kind: %+v", r)
			}
			if !r.End.IsZero() && r.End.Before(r.Onset) {
				t.Fatalf("End %v before Onset %v", r.End, r.Onset)
			}
			if math.IsNaN(r.Before) || math.IsNaN(r.After) {
				t.Fatalf("NaN level: %+v", r)
			}
		}
		Rank([]Series{{ID: "a", Points: pts}, {ID: "b", Points: pts}}, opt)
	})
}
