package anomaly

import (
	"testing"
	"time"
)

func BenchmarkDetect(b *testing.B) {
	cases := []struct {
		name   string
		points []Point
	}{
		{"1m_x_150", gen{seed: 1, from: -2 * time.Hour, to: 30*time.Minute - time.Minute, step: time.Minute, baseline: 1500, noise: 0.05,
			events: []event{{at: -12 * time.Minute, shape: "ramp", to: 9000, over: 5 * time.Minute}}}.points()},
		{"1s_x_7200", gen{seed: 2, from: -2 * time.Hour, to: -time.Second, step: time.Second, baseline: 100, noise: 0.05,
			events: []event{{at: -10 * time.Minute, shape: "step", to: 150}}}.points()},
		{"1s_x_7200_noise", gen{seed: 3, from: -2 * time.Hour, to: -time.Second, step: time.Second, baseline: 100, noise: 0.05}.points()},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			opt := Options{Incident: t0}
			b.ReportAllocs()
			for b.Loop() {
				Detect(c.points, opt)
			}
		})
	}
}
