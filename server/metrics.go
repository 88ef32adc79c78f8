package server

import (
	"net"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

type metrics struct {
	alerts      *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	storeErrors prometheus.Counter
}

func newMetrics(reg *prometheus.Registry, active func() map[string]float64) *metrics {
	m := &metrics{
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nightshift_alerts_total",
			Help: "Alerts taken in, by source and intake decision."}, []string{"source", "decision"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nightshift_requests_rejected_total",
			Help: "Requests answered with an error, by source and HTTP status."}, []string{"source", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "nightshift_intake_duration_seconds",
			Help:    "Time from a webhook's arrival to its durable storage.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, 1}}, []string{"source"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "nightshift_store_errors_total",
			Help: "Store operations that failed."}),
	}
	activeDesc := prometheus.NewDesc("nightshift_active_investigations", "Active investigations per space.", []string{"space"}, nil)
	reg.MustRegister(m.alerts, m.rejected, m.latency, m.storeErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectorFunc{desc: activeDesc, collect: func(ch chan<- prometheus.Metric) {
			for space, n := range active() {
				ch <- prometheus.MustNewConstMetric(activeDesc, prometheus.GaugeValue, n, space)
			}
		}})
	return m
}

// collectorFunc is a prometheus.Collector computed at scrape time.
type collectorFunc struct {
	desc    *prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c collectorFunc) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c collectorFunc) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }

func listen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }
