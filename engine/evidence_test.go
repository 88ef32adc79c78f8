package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/engine/enginetest"
	"github.com/nightshift-ops/nightshift/engine/journal"
	"github.com/nightshift-ops/nightshift/engine/skills"
)

// Incidents for the evidence reasoner, built from telemetry as real systems
// name it (cAdvisor and kube-state-metrics series, CloudWatch metrics,
// Kubernetes specs and events, application log lines), each with a trap a
// naive reasoner falls into.

var incidentT0 = time.Date(2026, 5, 19, 3, 40, 0, 0, time.UTC)

type incident struct {
	name         string
	tools        *enginetest.Static
	alerts       []engine.Alert
	wantResource string
	wantCategory string
	// mention lists text the top hypothesis' statement or evidence must
	// contain; never lists text none of them may contain; plan lists text
	// the first plan step must contain.
	mention, never, plan []string
	// victims maps a resource to the one that went bad before it and so
	// explains its anomalies: its hypothesis must say so.
	victims map[string]string
}

func alertOn(id, title, resource string, at time.Time) engine.Alert {
	return engine.Alert{ID: id, Source: engine.SourceAlertmanager, Title: title, Severity: engine.SeverityCritical,
		Status: engine.AlertFiring, Resources: []string{resource}, Labels: labels("alertname", strings.SplitN(title, ":", 2)[0]),
		StartsAt: at, ReceivedAt: at}
}

// k8sDeployment is a Deployment as `kubectl get deployment -o json` returns
// its spec: containers under spec.template.spec, limits under resources.
func k8sDeployment(replicas int, containers ...map[string]any) map[string]any {
	list := make([]any, len(containers))
	for i, c := range containers {
		list[i] = c
	}
	return map[string]any{"replicas": replicas, "selector": map[string]any{"matchLabels": map[string]any{"app": "x"}},
		"template": map[string]any{"spec": map[string]any{"containers": list}}}
}

func k8sContainer(name, image string, requests, limits map[string]any) map[string]any {
	res := map[string]any{}
	if requests != nil {
		res["requests"] = requests
	}
	if limits != nil {
		res["limits"] = limits
	}
	return map[string]any{"name": name, "image": image, "resources": res}
}

// flatContainer is a container in the provider-neutral layout the engine
// documents (cpu_limit beside the name).
func flatContainer(name, cpuLimit, memLimit string) map[string]any {
	c := map[string]any{"name": name}
	if cpuLimit != "" {
		c["cpu_limit"] = cpuLimit
	}
	if memLimit != "" {
		c["memory_limit"] = memLimit
	}
	return c
}

// sidecarThrottled: the istio-proxy sidecar of payments-api hits its own
// 200m CPU limit; the pod's total CPU and the application container look
// fine. spec chooses the layout the describe tool returns.
func sidecarThrottled(spec map[string]any) incident {
	t0 := incidentT0
	const (
		payments = "k8s/payments/deployment/payments-api"
		checkout = "k8s/shop/deployment/checkout"
		frontend = "k8s/shop/deployment/frontend"
	)
	on := t0.Add(-12 * time.Minute)
	proxy := labels("container", "istio-proxy", "namespace", "payments", "pod", "payments-api-6f7c9d8b5-q7xkz")
	app := labels("container", "payments-api", "namespace", "payments", "pod", "payments-api-6f7c9d8b5-q7xkz")
	p99 := labels("quantile", "0.99")
	st := &enginetest.Static{
		Resources: []engine.ResourceInfo{
			{ID: frontend, Type: "k8s.deployment", Name: "frontend", DependsOn: []string{checkout}},
			{ID: checkout, Type: "k8s.deployment", Name: "checkout", DependsOn: []string{payments}},
			{ID: payments, Type: "k8s.deployment", Name: "payments-api", Labels: labels("app", "payments-api"), Spec: spec},
		},
		Series: []engine.Series{
			// rate(container_cpu_cfs_throttled_periods_total[1m]) out of 10 periods a second.
			synth(t0, payments, "container_cpu_cfs_throttled_periods_total", step(0.3, 8.6, on), seriesOpt{labels: proxy, noise: 0.08}),
			synth(t0, payments, "container_cpu_cfs_periods_total", flat(10), seriesOpt{labels: proxy, exact: true}),
			synth(t0, payments, "container_cpu_usage_seconds_total", ramp(0.09, 0.199, on.Add(-time.Minute), on.Add(time.Minute)), seriesOpt{labels: proxy, noise: 0.03}),
			synth(t0, payments, "container_cpu_usage_seconds_total", step(0.62, 0.48, on), seriesOpt{labels: app, noise: 0.05}),
			synth(t0, payments, "container_memory_working_set_bytes", flat(7.4e8), seriesOpt{labels: app, noise: 0.01}),
			synth(t0, payments, "http_request_duration_seconds", step(0.12, 1.45, on.Add(time.Minute)), seriesOpt{labels: p99, unit: "s", noise: 0.05}),
			synth(t0, payments, "http_requests_total", flat(95), seriesOpt{labels: labels("code", "200"), noise: 0.04}),
			synth(t0, checkout, "http_request_duration_seconds", step(0.31, 1.9, on.Add(2*time.Minute)), seriesOpt{labels: p99, unit: "s", noise: 0.05}),
			synth(t0, frontend, "http_request_duration_seconds", step(0.4, 2.2, on.Add(2*time.Minute)), seriesOpt{labels: p99, unit: "s", noise: 0.05}),
		},
		Changes: []engine.Change{
			// Long before: not a cause.
			{T: t0.Add(-4 * time.Hour), Resource: frontend, Kind: "config", Actor: "flux", Summary: "ConfigMap frontend-config: BANNER_TEXT changed"},
		},
	}
	st.Logs = logsEvery(payments, "warn", "envoy upstream request timeout: x-envoy-upstream-service-time exceeded 1000ms",
		on.Add(90*time.Second), t0.Add(15*time.Minute), 30*time.Second)
	return incident{name: "sidecar throttled at its own CPU limit", tools: st,
		alerts:       []engine.Alert{alertOn("al_payments", "PaymentsAPILatencyHigh: p99 above 1s", payments, t0)},
		wantResource: payments, wantCategory: "resource-limits",
		mention: []string{"istio-proxy", "200m"}, never: []string{"no CPU limit"}, plan: []string{"istio-proxy"}}
}

// noisyNeighbour: a batch worker without a CPU limit picks up a heavy job
// and takes every core of the node it shares with catalog and search; the
// node saturates, their latency rises, and catalog alerts.
func noisyNeighbour(workerSpec, victimSpec map[string]any) incident {
	t0 := incidentT0
	const (
		node    = "k8s/node/ip-10-0-3-17.eu-west-1.compute.internal"
		worker  = "k8s/analytics/deployment/report-worker"
		catalog = "k8s/shop/deployment/catalog"
		search  = "k8s/shop/deployment/search"
	)
	job := t0.Add(-15 * time.Minute)
	p99 := labels("quantile", "0.99")
	st := &enginetest.Static{
		Resources: []engine.ResourceInfo{
			{ID: node, Type: "k8s.node", Name: "ip-10-0-3-17.eu-west-1.compute.internal",
				Labels: labels("node.kubernetes.io/instance-type", "m6i.xlarge", "topology.kubernetes.io/zone", "eu-west-1a")},
			{ID: worker, Type: "k8s.deployment", Name: "report-worker", DependsOn: []string{node}, Spec: workerSpec},
			{ID: catalog, Type: "k8s.deployment", Name: "catalog", DependsOn: []string{node}, Spec: victimSpec},
			{ID: search, Type: "k8s.deployment", Name: "search", DependsOn: []string{node}, Spec: victimSpec},
		},
		Series: []engine.Series{
			// Container Insights node metric, percent of allocatable CPU.
			synth(t0, node, "node_cpu_utilization", ramp(36, 98.5, job, job.Add(2*time.Minute)), seriesOpt{unit: "Percent", noise: 0.03}),
			synth(t0, node, "node_memory_utilization", flat(61), seriesOpt{unit: "Percent", noise: 0.01}),
			synth(t0, worker, "container_cpu_usage_seconds_total", ramp(0.05, 3.55, job.Add(-time.Minute), job.Add(time.Minute)),
				seriesOpt{labels: labels("container", "report-worker", "namespace", "analytics"), noise: 0.03}),
			synth(t0, catalog, "container_cpu_usage_seconds_total", flat(0.7), seriesOpt{labels: labels("container", "catalog"), noise: 0.04}),
			synth(t0, catalog, "http_request_duration_seconds", step(0.08, 0.95, job.Add(3*time.Minute)), seriesOpt{labels: p99, unit: "s", noise: 0.05}),
			synth(t0, catalog, "http_requests_total", flat(320), seriesOpt{labels: labels("code", "200"), noise: 0.03}),
			synth(t0, search, "container_cpu_usage_seconds_total", flat(0.5), seriesOpt{labels: labels("container", "search"), noise: 0.04}),
			synth(t0, search, "http_request_duration_seconds", step(0.14, 1.2, job.Add(3*time.Minute)), seriesOpt{labels: p99, unit: "s", noise: 0.05}),
		},
	}
	st.Logs = logsEvery(worker, "info", "starting job monthly-revenue-report partition=2026-04", job, job.Add(time.Second), time.Minute)
	return incident{name: "noisy neighbour without a CPU limit", tools: st,
		alerts:       []engine.Alert{alertOn("al_catalog", "CatalogLatencyHigh: p99 above 500ms", catalog, t0)},
		wantResource: worker, wantCategory: "resource-limits",
		mention: []string{"no CPU limit", node}, plan: []string{"CPU limit"},
		victims: map[string]string{node: worker, catalog: node, search: node}}
}

// badDeploy: cart is rolled out and starts answering 500 with a nil-pointer
// panic; frontend sees 502s, and the DynamoDB table behind cart gets fewer
// reads (the drop is an effect, not a cause).
func badDeploy() incident {
	t0 := incidentT0
	const (
		frontend = "k8s/shop/deployment/frontend"
		cart     = "k8s/shop/deployment/cart"
		table    = "aws/dynamodb/cart-items"
	)
	deploy := t0.Add(-14 * time.Minute)
	bad := deploy.Add(2 * time.Minute)
	st := &enginetest.Static{
		Resources: []engine.ResourceInfo{
			{ID: frontend, Type: "k8s.deployment", Name: "frontend", DependsOn: []string{cart}},
			{ID: cart, Type: "k8s.deployment", Name: "cart", DependsOn: []string{table},
				Spec: k8sDeployment(3, k8sContainer("cart", "ghcr.io/acme/cart:4.2.0",
					map[string]any{"cpu": "250m", "memory": "256Mi"}, map[string]any{"cpu": "1", "memory": "512Mi"}))},
			{ID: table, Type: "aws.dynamodb.table", Name: "cart-items",
				Spec: map[string]any{"TableName": "cart-items", "BillingModeSummary": map[string]any{"BillingMode": "PAY_PER_REQUEST"}}},
		},
		Series: []engine.Series{
			synth(t0, cart, "http_requests_total", step(0.2, 41, bad), seriesOpt{labels: labels("code", "500", "handler", "/cart/items"), noise: 0.1}),
			synth(t0, cart, "http_requests_total", step(212, 171, bad), seriesOpt{labels: labels("code", "200", "handler", "/cart/items"), noise: 0.03}),
			synth(t0, cart, "http_request_duration_seconds", flat(0.045), seriesOpt{labels: labels("quantile", "0.99"), unit: "s", noise: 0.05}),
			synth(t0, cart, "container_cpu_usage_seconds_total", flat(0.3), seriesOpt{labels: labels("container", "cart"), noise: 0.05}),
			synth(t0, frontend, "http_requests_total", step(0.1, 39, bad.Add(time.Minute)), seriesOpt{labels: labels("code", "502"), noise: 0.1}),
			synth(t0, frontend, "http_requests_total", step(640, 600, bad.Add(time.Minute)), seriesOpt{labels: labels("code", "200"), noise: 0.03}),
			synth(t0, table, "ConsumedReadCapacityUnits", step(180, 38, bad), seriesOpt{unit: "Count", noise: 0.05}),
			synth(t0, table, "SuccessfulRequestLatency", flat(4.1), seriesOpt{labels: labels("Operation", "GetItem"), unit: "Milliseconds", noise: 0.05}),
		},
		Changes: []engine.Change{
			{T: deploy, Resource: cart, Kind: "deployment", Actor: "argo-rollouts",
				Summary: "cart rolled out image ghcr.io/acme/cart:4.2.0 (was 4.1.3)"},
		},
	}
	st.Logs = logsEvery(cart, "error",
		`panic: runtime error: invalid memory address or nil pointer dereference [signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x9c1f2a]`,
		bad, t0.Add(15*time.Minute), 20*time.Second)
	return incident{name: "bad deploy", tools: st,
		alerts:       []engine.Alert{alertOn("al_cart", "CartHighErrorRate: 5xx above 5%", cart, t0)},
		wantResource: cart, wantCategory: "bad-deploy",
		mention: []string{"ghcr.io/acme/cart:4.2.0", "nil pointer dereference"}, plan: []string{"Revert the deployment", "cart:4.2.0"}}
}

// memoryLeak: recommendations' working set grows for an hour and a half
// until the kernel OOM-kills it at its 1Gi limit; the pods restart and
// frontend's calls to it fail meanwhile.
func memoryLeak() incident {
	t0 := incidentT0
	const (
		frontend = "k8s/shop/deployment/frontend"
		recs     = "k8s/shop/deployment/recommendations"
	)
	oom := t0.Add(-6 * time.Minute)
	ctr := labels("container", "recommendations", "namespace", "shop", "pod", "recommendations-5b8f7d9c4-2mzql")
	mem := func(t time.Time) float64 {
		switch {
		case t.Before(t0.Add(-110 * time.Minute)):
			return 4.1e8
		case t.Before(oom):
			return ramp(4.1e8, 1.07e9, t0.Add(-110*time.Minute), oom)(t)
		}
		return ramp(4.1e8, 6.2e8, oom, t0.Add(15*time.Minute))(t)
	}
	st := &enginetest.Static{
		Resources: []engine.ResourceInfo{
			{ID: frontend, Type: "k8s.deployment", Name: "frontend", DependsOn: []string{recs}},
			{ID: recs, Type: "k8s.deployment", Name: "recommendations",
				Spec: k8sDeployment(2, k8sContainer("recommendations", "ghcr.io/acme/recommendations:2.9.1",
					map[string]any{"cpu": "500m", "memory": "768Mi"}, map[string]any{"cpu": "1", "memory": "1Gi"}))},
		},
		Series: []engine.Series{
			synth(t0, recs, "container_memory_working_set_bytes", mem, seriesOpt{labels: ctr, unit: "By", noise: 0.005}),
			synth(t0, recs, "kube_pod_container_status_restarts_total", counterSteps(0, oom, oom.Add(4*time.Minute)), seriesOpt{labels: ctr, exact: true}),
			synth(t0, recs, "kube_pod_container_status_last_terminated_reason", step(0, 1, oom),
				seriesOpt{labels: labels("container", "recommendations", "reason", "OOMKilled"), exact: true}),
			synth(t0, recs, "container_cpu_usage_seconds_total", flat(0.35), seriesOpt{labels: ctr, noise: 0.05}),
			synth(t0, frontend, "http_requests_total", step(0.3, 24, oom), seriesOpt{labels: labels("code", "503"), noise: 0.1}),
			synth(t0, frontend, "http_request_duration_seconds", step(0.25, 0.9, oom), seriesOpt{labels: labels("quantile", "0.99"), unit: "s", noise: 0.05}),
		},
	}
	st.Logs = append(st.Logs, logsEvery(recs, "warn", "Memory cgroup out of memory: Killed process 28211 (java) total-vm:4567812kB, anon-rss:1046528kB",
		oom, oom.Add(time.Second), time.Minute)...)
	st.Logs = append(st.Logs, logsEvery(recs, "error", "Exception in thread \"grpc-default-executor-7\" java.lang.OutOfMemoryError: Java heap space",
		oom.Add(-2*time.Minute), oom, 20*time.Second)...)
	st.Logs = append(st.Logs, logsEvery(recs, "warn", "Back-off restarting failed container recommendations in pod recommendations-5b8f7d9c4-2mzql_shop",
		oom.Add(time.Minute), t0.Add(15*time.Minute), time.Minute)...)
	return incident{name: "memory leak with restarts", tools: st,
		alerts:       []engine.Alert{alertOn("al_recs", "KubePodCrashLooping: recommendations is restarting", recs, t0)},
		wantResource: recs, wantCategory: "memory-leak",
		mention: []string{"OOMKilled", "container_memory_working_set_bytes"}, plan: []string{"Restart the pods"}}
}

// callerAlarmsFirst: inventory-api's latency alert is the first to fire, but
// the DynamoDB table it reads had been throttling for twenty minutes: the
// SDK's retries hid it until they ran out. The table's own alarm fires
// later still.
func callerAlarmsFirst() incident {
	t0 := incidentT0
	const (
		api   = "k8s/shop/deployment/inventory-api"
		table = "aws/dynamodb/inventory"
	)
	hot := t0.Add(-22 * time.Minute)
	st := &enginetest.Static{
		Resources: []engine.ResourceInfo{
			{ID: api, Type: "k8s.deployment", Name: "inventory-api", DependsOn: []string{table}},
			{ID: table, Type: "aws.dynamodb.table", Name: "inventory",
				Spec: map[string]any{"TableName": "inventory", "ProvisionedThroughput": map[string]any{"ReadCapacityUnits": 500, "WriteCapacityUnits": 100}}},
		},
		Series: []engine.Series{
			synth(t0, table, "ConsumedReadCapacityUnits", ramp(310, 500, hot.Add(-3*time.Minute), hot), seriesOpt{unit: "Count", noise: 0.02}),
			synth(t0, table, "ProvisionedReadCapacityUnits", flat(500), seriesOpt{unit: "Count", exact: true}),
			synth(t0, table, "ReadThrottleEvents", step(0, 140, hot), seriesOpt{unit: "Count", noise: 0.1}),
			synth(t0, table, "ThrottledRequests", step(0, 96, hot), seriesOpt{labels: labels("Operation", "GetItem"), unit: "Count", noise: 0.1}),
			synth(t0, api, "http_request_duration_seconds", step(0.05, 0.92, t0.Add(-6*time.Minute)), seriesOpt{labels: labels("quantile", "0.99"), unit: "s", noise: 0.05}),
			synth(t0, api, "http_requests_total", step(0.1, 12, t0.Add(-5*time.Minute)), seriesOpt{labels: labels("code", "500"), noise: 0.1}),
			synth(t0, api, "http_requests_total", flat(260), seriesOpt{labels: labels("code", "200"), noise: 0.03}),
		},
		Alarms: []engine.AlarmInfo{
			{Name: "InventoryAPILatencyHigh", Resource: api, Severity: engine.SeverityCritical, State: "firing", Since: t0, Source: "alertmanager"},
			{Name: "inventory-ReadThrottleEvents", Resource: table, Severity: engine.SeverityWarning, State: "firing", Since: t0.Add(4 * time.Minute), Source: "cloudwatch"},
		},
	}
	st.Logs = logsEvery(api, "warn",
		"ProvisionedThroughputExceededException: The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API. (Table: inventory) retry 3/3",
		hot.Add(time.Minute), t0.Add(15*time.Minute), 30*time.Second)
	return incident{name: "caller alarms first, callee degraded earlier", tools: st,
		alerts:       []engine.Alert{alertOn("al_inventory", "InventoryAPILatencyHigh: p99 above 500ms", api, t0)},
		wantResource: table, wantCategory: "capacity",
		mention: []string{"ThrottledRequests"}, plan: []string{table},
		victims: map[string]string{api: table}}
}

func incidents() []incident {
	sidecarK8s := k8sDeployment(3,
		k8sContainer("payments-api", "ghcr.io/acme/payments-api:7.3.0", map[string]any{"cpu": "500m"}, map[string]any{"cpu": "2", "memory": "2Gi"}),
		k8sContainer("istio-proxy", "docker.io/istio/proxyv2:1.20.3", map[string]any{"cpu": "100m"}, map[string]any{"cpu": "200m", "memory": "256Mi"}))
	sidecarFlat := map[string]any{"replicas": 3, "containers": []any{
		flatContainer("payments-api", "2", "2Gi"), flatContainer("istio-proxy", "200m", "256Mi")}}
	workerK8s := k8sDeployment(1, k8sContainer("report-worker", "ghcr.io/acme/report-worker:1.4.0",
		map[string]any{"cpu": "100m", "memory": "1Gi"}, map[string]any{"memory": "4Gi"}))
	victimK8s := k8sDeployment(4, k8sContainer("app", "ghcr.io/acme/app:1.0.0", map[string]any{"cpu": "500m"}, map[string]any{"cpu": "1", "memory": "1Gi"}))
	workerFlat := map[string]any{"containers": []any{flatContainer("report-worker", "", "4Gi")}}
	victimFlat := map[string]any{"containers": []any{flatContainer("app", "1", "1Gi")}}
	return []incident{
		sidecarThrottled(sidecarK8s),
		renamed(sidecarThrottled(sidecarFlat), " (provider-neutral spec)"),
		noisyNeighbour(workerK8s, victimK8s),
		renamed(noisyNeighbour(workerFlat, victimFlat), " (provider-neutral spec)"),
		badDeploy(),
		memoryLeak(),
		callerAlarmsFirst(),
	}
}

func renamed(in incident, suffix string) incident {
	in.name += suffix
	return in
}

// reason runs the evidence reasoner on one incident through a task over the
// fake store and static tools.
func reason(t *testing.T, in incident) (*engine.Report, *enginetest.Store, *enginetest.Recorder) {
	t.Helper()
	store := enginetest.NewStore()
	inv := store.Open("shop", engine.Investigation{ID: "inv_" + in.alerts[0].ID, Title: in.alerts[0].Title,
		OpenedAt: in.alerts[0].StartsAt}, in.alerts...)
	rec := &enginetest.Recorder{}
	task := engine.NewTask("shop", inv, in.alerts, in.tools.Registry(), store, rec)
	r := &engine.EvidenceReasoner{Checks: skills.Builtin()}
	rep, err := r.Reason(context.Background(), task)
	if err != nil {
		t.Fatalf("Reason: %v", err)
	}
	return rep, store, rec
}

func TestEvidenceReasonerIncidents(t *testing.T) {
	for _, in := range incidents() {
		t.Run(in.name, func(t *testing.T) {
			rep, store, rec := reason(t, in)
			top := rep.Top()
			if top == nil {
				t.Fatalf("no hypothesis; gaps %q", rep.Gaps)
			}
			var problems []string
			if top.Resource != in.wantResource || top.Category != in.wantCategory {
				problems = append(problems, fmt.Sprintf("top hypothesis = %s (%s), want %s (%s)", top.Resource, top.Category, in.wantResource, in.wantCategory))
			}
			text := top.Statement
			for _, ev := range top.Evidence {
				if ev.Weight > 0 {
					text += "\n" + ev.Summary
				}
			}
			for _, m := range in.mention {
				if !strings.Contains(text, m) {
					problems = append(problems, fmt.Sprintf("the top hypothesis does not mention %q", m))
				}
			}
			for _, m := range in.never {
				if strings.Contains(text, m) {
					problems = append(problems, fmt.Sprintf("the top hypothesis says %q", m))
				}
			}
			if len(rep.Plan) == 0 {
				problems = append(problems, "no plan")
			} else {
				for _, m := range in.plan {
					if !strings.Contains(rep.Plan[0].Action, m) {
						problems = append(problems, fmt.Sprintf("first plan step %q does not mention %q", rep.Plan[0].Action, m))
					}
				}
			}
			for victim, cause := range in.victims {
				found := false
				for _, h := range rep.Hypotheses {
					if h.Resource != victim {
						continue
					}
					found = true
					blamed := false
					for _, ev := range h.Evidence {
						if ev.Kind == "topology" && ev.Weight < 0 && strings.Contains(ev.Summary, cause) {
							blamed = true
						}
					}
					if !blamed {
						problems = append(problems, fmt.Sprintf("hypothesis %s does not say that %s went bad first", victim, cause))
					}
				}
				if !found {
					problems = append(problems, fmt.Sprintf("victim %s is not among the hypotheses", victim))
				}
			}
			if len(problems) > 0 {
				msg := strings.Join(problems, "\n") + "\n" + describeReport(rep) + "evidence:\n" + text
				t.Error(msg)
			}
			if top.Confidence <= 0 || top.Confidence > 1 {
				t.Errorf("top confidence %v outside (0, 1]", top.Confidence)
			}
			if !strings.Contains(top.Statement, top.Resource) {
				t.Errorf("statement %q does not name %s", top.Statement, top.Resource)
			}
			if !strings.Contains(rep.Summary, top.Resource) {
				t.Errorf("summary does not name the cause: %q", rep.Summary)
			}
			for i := 1; i < len(rep.Hypotheses); i++ {
				if rep.Hypotheses[i].Resource == top.Resource {
					t.Errorf("%s ranked twice", top.Resource)
				}
			}
			cited := false
			for _, ev := range top.Evidence {
				if ev.Call != "" {
					cited = true
				}
			}
			if !cited {
				t.Error("no evidence of the top hypothesis cites a tool call")
			}
			if n := countKind(rec.Events(), engine.EventFinding); n == 0 {
				t.Error("no finding streamed")
			}
			entries, _ := store.Journal(context.Background(), "shop", "inv_"+in.alerts[0].ID)
			if err := journal.Verify(entries); err != nil {
				t.Errorf("journal: %v", err)
			}
		})
	}
}

func countKind(evs []engine.Event, k engine.EventKind) int {
	n := 0
	for _, e := range evs {
		if e.Kind == k {
			n++
		}
	}
	return n
}

func TestEvidenceReasonerGaps(t *testing.T) {
	t0 := incidentT0
	alert := alertOn("al_1", "CheckoutLatencyHigh: p99 above 1s", checkout, t0)
	calm := &enginetest.Static{
		Resources: []engine.ResourceInfo{{ID: checkout, Type: "k8s.deployment", DependsOn: []string{ordersDB}}, {ID: ordersDB, Type: "aws.rds.instance"}},
		Series: []engine.Series{
			synth(t0, checkout, "http_request_duration_seconds", flat(0.2), seriesOpt{labels: labels("quantile", "0.99"), noise: 0.05}),
			synth(t0, ordersDB, "DatabaseConnections", flat(120), seriesOpt{noise: 0.03}),
		},
	}
	failing := &enginetest.Static{
		Resources: calm.Resources, Series: calm.Series,
		Fail: map[string]error{enginetest.ToolTopology: errors.New("kube-apiserver: connection refused"),
			enginetest.ToolChanges: errors.New("CloudTrail LookupEvents: ThrottlingException: Rate exceeded")},
	}
	noTools := envFunc(func(context.Context, engine.Investigation, []engine.Alert) (*engine.Registry, error) {
		return engine.NewRegistry(), nil
	})
	brokenEnv := envFunc(func(context.Context, engine.Investigation, []engine.Alert) (*engine.Registry, error) {
		return nil, errors.New("assume role arn:aws:iam::123456789012:role/nightshift-readonly: AccessDenied")
	})
	tests := []struct {
		name     string
		env      engine.Environment
		wantGaps []string
		never    []string // raw provider errors stay in the log: they can carry account ids and ARNs
	}{
		{"no tools", noTools, []string{"no topology tool", "no metrics tool", "no log tool", "no change history", "nothing anomalous"}, nil},
		{"environment fails", brokenEnv, []string{"no tools for this space: failed", "no metrics tool"}, []string{"arn:aws", "123456789012"}},
		{"nothing anomalous", calm.Env(), []string{"nothing anomalous"}, nil},
		{"failing tools", failing.Env(), []string{"topology of " + checkout + ": failed", "change history: failed"},
			[]string{"kube-apiserver", "ThrottlingException"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := enginetest.NewStore()
			inv := store.Open("shop", engine.Investigation{ID: "inv_1", OpenedAt: t0}, alert)
			runner := engine.NewRunner(engine.RunnerOptions{Store: store,
				Spaces:   []engine.RunSpace{{Name: "shop", Env: tt.env}},
				Reasoner: &engine.EvidenceReasoner{Checks: skills.Builtin()}})
			rep, err := runner.Investigate(context.Background(), "shop", inv.ID, false)
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(rep.Gaps, "\n")
			for _, g := range tt.wantGaps {
				if !strings.Contains(all, g) {
					t.Errorf("no gap mentions %q; gaps:\n%s", g, all)
				}
			}
			for _, g := range tt.never {
				if strings.Contains(all, g) {
					t.Errorf("a gap leaks %q:\n%s", g, all)
				}
			}
			if tt.name != "failing tools" && len(rep.Hypotheses) != 0 {
				t.Errorf("hypotheses from nothing:\n%s", describeReport(rep))
			}
			if len(rep.Hypotheses) == 0 && rep.Summary == "" {
				t.Error("a report without hypotheses has no summary")
			}
		})
	}
}

type envFunc func(context.Context, engine.Investigation, []engine.Alert) (*engine.Registry, error)

func (f envFunc) Tools(ctx context.Context, inv engine.Investigation, alerts []engine.Alert) (*engine.Registry, error) {
	return f(ctx, inv, alerts)
}
