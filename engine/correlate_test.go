package engine_test

import (
	"testing"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/engine/topology"
)

// shopGraph is a small call graph:
//
//	alb → frontend → checkout → payments → payments-db
//	                  checkout → orders-db
//	ledger (no edges)
func shopGraph() engine.GraphNeighbourer {
	g := topology.New()
	for _, e := range [][2]string{
		{"aws/elb/shop-alb", "k8s/shop/deployment/frontend"},
		{"k8s/shop/deployment/frontend", "k8s/shop/deployment/checkout"},
		{"k8s/shop/deployment/checkout", "k8s/shop/deployment/payments"},
		{"k8s/shop/deployment/payments", "aws/rds/payments-db"},
		{"k8s/shop/deployment/checkout", "aws/rds/orders-db"},
	} {
		g.AddEdge(e[0], e[1])
	}
	g.AddNode(topology.Node{ID: "k8s/finance/deployment/ledger"})
	return engine.GraphNeighbourer{G: g}
}

func TestScore(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 2, 10, 0, 0, time.UTC)
	cfg := engine.CorrelationConfig{} // defaults: 20 min window, threshold 0.6
	topo := shopGraph()
	inv := func(res []string, svcs []string, account, region string) engine.Investigation {
		return engine.Investigation{ID: "inv_1", Resources: res, Services: svcs, Account: account, Region: region, LastAlertAt: t0}
	}
	alert := func(res []string, svc, account, region string, after time.Duration) engine.Alert {
		return engine.Alert{Resources: res, Service: svc, Account: account, Region: region, ReceivedAt: t0.Add(after)}
	}
	checkout := []string{"k8s/shop/deployment/checkout"}

	tests := []struct {
		name        string
		a           engine.Alert
		inv         engine.Investigation
		topo        engine.Neighbourer
		want        float64
		wantReasons string
	}{
		{"same resource, same instant",
			alert(checkout, "", "", "", 0), inv(checkout, nil, "", ""), nil,
			1, "same resource, 0 s apart"},
		{"same resource among several",
			alert([]string{"aws/rds/orders-db", "k8s/shop/deployment/checkout"}, "", "", "", 30*time.Second),
			inv([]string{"k8s/shop/deployment/frontend", "k8s/shop/deployment/checkout"}, nil, "", ""), nil,
			0.99, "same resource, 30 s apart"},
		{"same resource wins over same service",
			alert(checkout, "checkout", "", "", 0), inv(checkout, []string{"checkout"}, "", ""), nil,
			1, "same resource, 0 s apart"},
		{"same service, case-insensitive",
			alert([]string{"aws/elb/checkout-alb"}, "Checkout", "", "", 0), inv(checkout, []string{"checkout"}, "", ""), nil,
			0.85, "same service, 0 s apart"},
		{"same service, account and region named",
			alert([]string{"aws/elb/checkout-alb"}, "checkout", "123456789012", "eu-west-1", 8*time.Minute),
			inv(checkout, []string{"checkout"}, "123456789012", "eu-west-1"), nil,
			0.68, "same service and account and region, 8 min apart"},
		{"topology neighbour, 1 hop (callee)",
			alert([]string{"k8s/shop/deployment/payments"}, "", "", "", 0), inv(checkout, nil, "", ""), topo,
			0.8, "topology neighbours, 0 s apart"},
		{"topology neighbour, 1 hop (caller)",
			alert([]string{"k8s/shop/deployment/frontend"}, "", "", "", 0), inv(checkout, nil, "", ""), topo,
			0.8, "topology neighbours, 0 s apart"},
		{"topology neighbour, 2 hops",
			alert([]string{"aws/rds/payments-db"}, "", "", "", 0), inv(checkout, nil, "", ""), topo,
			0.65, "topology neighbours (2 hops), 0 s apart"},
		{"shared callee is 2 hops",
			alert([]string{"aws/rds/orders-db"}, "", "", "", 0), inv([]string{"k8s/shop/deployment/payments"}, nil, "", ""), topo,
			0.65, "topology neighbours (2 hops), 0 s apart"},
		{"3 hops is not a neighbour",
			alert([]string{"aws/rds/payments-db"}, "", "", "", 0), inv([]string{"k8s/shop/deployment/frontend"}, nil, "", ""), topo,
			0, "nothing in common"},
		{"unconnected resource",
			alert([]string{"k8s/finance/deployment/ledger"}, "", "", "", 0), inv(checkout, nil, "", ""), topo,
			0, "nothing in common"},
		{"neighbours but no topology",
			alert([]string{"k8s/shop/deployment/payments"}, "", "", "", 0), inv(checkout, nil, "", ""), nil,
			0, "nothing in common"},
		{"resource unknown to the topology",
			alert([]string{"gcp/cloudsql/orders"}, "", "", "", 0), inv(checkout, nil, "", ""), topo,
			0, "nothing in common"},
		{"same resource, different region",
			alert(checkout, "", "", "us-east-1", 0), inv(checkout, nil, "", "eu-west-1"), nil,
			0, "different region"},
		{"same resource, different account",
			alert(checkout, "", "210987654321", "eu-west-1", 0), inv(checkout, nil, "123456789012", "eu-west-1"), nil,
			0, "different account"},
		{"region known on one side only still matches",
			alert(checkout, "", "", "eu-west-1", 0), inv(checkout, nil, "", ""), nil,
			1, "same resource, 0 s apart"},
		{"outside the window",
			alert(checkout, "", "", "", 20*time.Minute+time.Second), inv(checkout, nil, "", ""), nil,
			0, "outside the window"},
		{"alert dated before the investigation's last alert",
			alert(checkout, "", "", "", -8*time.Minute), inv(checkout, nil, "", ""), nil,
			0.8, "same resource, 8 min apart"},
		{"titles are never compared",
			engine.Alert{Title: "High latency", Resources: []string{"k8s/finance/deployment/ledger"}, ReceivedAt: t0},
			engine.Investigation{Title: "High latency", Resources: checkout, LastAlertAt: t0}, topo,
			0, "nothing in common"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := engine.Score(&tt.a, &tt.inv, cfg, tt.topo)
			if got != tt.want || why != tt.wantReasons {
				t.Errorf("Score = %v, %q; want %v, %q", got, why, tt.want, tt.wantReasons)
			}
		})
	}
}

func TestScoreTimeDecay(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 2, 10, 0, 0, time.UTC)
	inv := engine.Investigation{Resources: []string{"aws/rds/orders-db"}, LastAlertAt: t0}
	tests := []struct {
		window time.Duration
		dt     time.Duration
		want   float64
		why    string
	}{
		// Linear to half the weight at the window's edge, zero beyond.
		{0, 0, 1, "same resource, 0 s apart"},
		{0, 4 * time.Minute, 0.9, "same resource, 4 min apart"},
		{0, 8 * time.Minute, 0.8, "same resource, 8 min apart"},
		{0, 16 * time.Minute, 0.6, "same resource, 16 min apart"},
		{0, 20 * time.Minute, 0.5, "same resource, 20 min apart"},
		{0, 21 * time.Minute, 0, "outside the window"},
		{time.Hour, 30 * time.Minute, 0.75, "same resource, 30 min apart"},
		{time.Hour, 59 * time.Minute, 0.51, "same resource, 59 min apart"},
		{2 * time.Hour, 90 * time.Minute, 0.63, "same resource, 1.5 h apart"},
		{5 * time.Minute, 6 * time.Minute, 0, "outside the window"},
	}
	prev := 2.0
	for _, tt := range tests {
		a := engine.Alert{Resources: []string{"aws/rds/orders-db"}, ReceivedAt: t0.Add(tt.dt)}
		got, why := engine.Score(&a, &inv, engine.CorrelationConfig{Window: tt.window}, nil)
		if got != tt.want || why != tt.why {
			t.Errorf("window %v, %v apart: Score = %v, %q; want %v, %q", tt.window, tt.dt, got, why, tt.want, tt.why)
		}
		if tt.window == 0 {
			if got > prev {
				t.Errorf("score rose from %v to %v as alerts drifted apart", prev, got)
			}
			prev = got
		}
	}
}

func TestScoreWeightsOrder(t *testing.T) {
	// Whatever the exact weights, a shared resource ties tighter than a
	// shared service, which ties tighter than a direct neighbour, which
	// ties tighter than a neighbour two hops away; all four link at the
	// default threshold when fresh.
	t0 := time.Date(2026, 3, 14, 2, 10, 0, 0, time.UTC)
	topo := shopGraph()
	inv := engine.Investigation{Resources: []string{"k8s/shop/deployment/checkout"}, Services: []string{"checkout"}, LastAlertAt: t0}
	score := func(res, svc string) float64 {
		a := engine.Alert{Resources: []string{res}, Service: svc, ReceivedAt: t0}
		s, _ := engine.Score(&a, &inv, engine.CorrelationConfig{}, topo)
		return s
	}
	same := score("k8s/shop/deployment/checkout", "")
	svc := score("aws/elb/checkout-alb", "checkout")
	hop1 := score("k8s/shop/deployment/payments", "")
	hop2 := score("aws/rds/payments-db", "")
	if !(same > svc && svc > hop1 && hop1 > hop2) {
		t.Errorf("scores same=%v service=%v 1hop=%v 2hops=%v, want strictly decreasing", same, svc, hop1, hop2)
	}
	if hop2 < engine.DefaultCorrelationThreshold {
		t.Errorf("a fresh 2-hop neighbour scores %v, below the default threshold %v", hop2, engine.DefaultCorrelationThreshold)
	}
}

func TestCorrelationConfig(t *testing.T) {
	d := engine.CorrelationConfig{}.WithDefaults()
	if d.Window != engine.DefaultCorrelationWindow || d.Threshold != engine.DefaultCorrelationThreshold {
		t.Errorf("WithDefaults() = %+v", d)
	}
	keep := engine.CorrelationConfig{Window: time.Hour, Threshold: 0.9}.WithDefaults()
	if keep.Window != time.Hour || keep.Threshold != 0.9 {
		t.Errorf("WithDefaults() changed set fields: %+v", keep)
	}
	for _, c := range []engine.CorrelationConfig{{Window: -time.Second}, {Threshold: -0.1}, {Threshold: 1.5}} {
		if c.Validate() == nil {
			t.Errorf("Validate(%+v) = nil, want an error", c)
		}
	}
	if err := (engine.CorrelationConfig{Window: time.Hour, Threshold: 1}).Validate(); err != nil {
		t.Errorf("Validate of a good config: %v", err)
	}
}

func TestGraphNeighbourer(t *testing.T) {
	n := shopGraph()
	if h, ok := n.Hops("k8s/shop/deployment/checkout", "aws/rds/payments-db"); !ok || h != 2 {
		t.Errorf("Hops(checkout, payments-db) = %d, %v; want 2, true", h, ok)
	}
	if _, ok := n.Hops("aws/elb/shop-alb", "aws/rds/payments-db"); ok {
		t.Error("Hops beyond the correlation limit reported ok")
	}
	near := n.Near("k8s/shop/deployment/checkout", 1)
	want := map[string]bool{"k8s/shop/deployment/frontend": true, "k8s/shop/deployment/payments": true, "aws/rds/orders-db": true}
	if len(near) != len(want) {
		t.Errorf("Near(checkout, 1) = %v, want %v", near, want)
	}
	for _, r := range near {
		if !want[r] {
			t.Errorf("Near(checkout, 1) has %q", r)
		}
	}
}
