package engine_test

import (
	"testing"

	"github.com/nightshift-ops/nightshift/engine"
)

// Metric names as the systems that emit them spell them. Each entry notes its
// origin; the expected signal is what the metric measures.
var signalCases = []struct {
	origin string
	name   string
	unit   string
	want   engine.Signal
}{
	// Prometheus: cAdvisor, kube-state-metrics, node_exporter, client libraries.
	{"cAdvisor", "container_cpu_cfs_throttled_periods_total", "", engine.SignalThrottling},
	{"cAdvisor", "container_cpu_cfs_throttled_seconds_total", "", engine.SignalThrottling},
	{"cAdvisor", "container_cpu_usage_seconds_total", "", engine.SignalCPU},
	{"cAdvisor", "container_memory_working_set_bytes", "", engine.SignalMemory},
	{"cAdvisor", "container_network_receive_bytes_total", "", engine.SignalNetwork},
	{"kube-state-metrics", "kube_pod_container_status_restarts_total", "", engine.SignalRestarts},
	{"kube-state-metrics", "kube_pod_container_status_last_terminated_reason", "", engine.SignalRestarts},
	{"kube-state-metrics", "kube_deployment_status_replicas_available", "", engine.SignalCapacity},
	{"node_exporter", "node_filesystem_avail_bytes", "", engine.SignalDisk},
	{"node_exporter", "node_disk_io_time_seconds_total", "", engine.SignalIO},
	{"prometheus client_golang", "http_request_duration_seconds_bucket", "", engine.SignalLatency},
	{"prometheus client_golang", "http_requests_total", "", engine.SignalTraffic},
	{"Spring Boot Micrometer", "http_server_requests_seconds_count", "", engine.SignalTraffic},
	{"mysqld_exporter", "mysql_global_status_threads_connected", "", engine.SignalConnections},
	{"ingress-nginx", "nginx_ingress_controller_request_duration_seconds", "", engine.SignalLatency},
	{"HikariCP Micrometer", "hikaricp_connections_pending", "", engine.SignalConnections},

	// CloudWatch (names are PascalCase, units separate).
	{"CloudWatch EC2", "CPUUtilization", "Percent", engine.SignalCPU},
	{"CloudWatch EC2", "CPUCreditBalance", "Count", engine.SignalCPU},
	{"CloudWatch EC2", "NetworkIn", "Bytes", engine.SignalNetwork},
	{"CloudWatch EC2", "StatusCheckFailed", "Count", engine.SignalErrors},
	{"CloudWatch RDS", "FreeStorageSpace", "Bytes", engine.SignalDisk},
	{"CloudWatch RDS", "FreeableMemory", "Bytes", engine.SignalMemory},
	{"CloudWatch RDS", "DatabaseConnections", "Count", engine.SignalConnections},
	{"CloudWatch RDS", "BurstBalance", "Percent", engine.SignalIO},
	{"CloudWatch RDS", "DiskQueueDepth", "Count", engine.SignalIO},
	{"CloudWatch RDS", "ReadIOPS", "Count/Second", engine.SignalIO},
	{"CloudWatch RDS", "ReplicaLag", "Seconds", engine.SignalQueue},
	{"CloudWatch SQS", "ApproximateAgeOfOldestMessage", "Seconds", engine.SignalQueue},
	{"CloudWatch SQS", "ApproximateNumberOfMessagesVisible", "Count", engine.SignalQueue},
	{"CloudWatch DynamoDB", "ThrottledRequests", "Count", engine.SignalThrottling},
	{"CloudWatch DynamoDB", "ConsumedReadCapacityUnits", "Count", engine.SignalCapacity},
	{"CloudWatch Lambda", "Throttles", "Count", engine.SignalThrottling},
	{"CloudWatch Lambda", "Errors", "Count", engine.SignalErrors},
	{"CloudWatch Lambda", "Invocations", "Count", engine.SignalTraffic},
	{"CloudWatch Lambda", "ConcurrentExecutions", "Count", engine.SignalCapacity},
	{"CloudWatch ALB", "TargetResponseTime", "Seconds", engine.SignalLatency},
	{"CloudWatch ALB", "HTTPCode_Target_5XX_Count", "Count", engine.SignalErrors},
	{"CloudWatch ALB", "RequestCount", "Count", engine.SignalTraffic},
	{"CloudWatch ALB", "HealthyHostCount", "Count", engine.SignalSuccess},
	{"CloudWatch ElastiCache", "CurrConnections", "Count", engine.SignalConnections},

	// Datadog (dotted, lower case).
	{"Datadog AWS", "aws.lambda.errors", "", engine.SignalErrors},
	{"Datadog AWS", "aws.lambda.duration", "millisecond", engine.SignalLatency},
	{"Datadog AWS", "aws.sqs.approximate_age_of_oldest_message", "", engine.SignalQueue},
	{"Datadog AWS", "aws.elb.httpcode_elb_5xx", "", engine.SignalErrors},
	{"Datadog APM", "trace.http.request.duration", "", engine.SignalLatency},
	{"Datadog APM", "trace.http.request.errors", "", engine.SignalErrors},
	{"Datadog APM", "trace.http.request.hits", "", engine.SignalTraffic},
	{"Datadog agent", "system.cpu.user", "percent", engine.SignalCPU},
	{"Datadog agent", "system.disk.in_use", "fraction", engine.SignalDisk},
	{"Datadog Kubernetes", "kubernetes.cpu.usage.total", "nanocore", engine.SignalCPU},
	{"Datadog Kubernetes", "kubernetes.memory.usage", "byte", engine.SignalMemory},
	{"Datadog Kubernetes", "kubernetes_state.container.restarts", "", engine.SignalRestarts},
	{"Datadog Docker", "docker.mem.rss", "byte", engine.SignalMemory},
	{"Datadog Postgres", "postgresql.percent_usage_connections", "fraction", engine.SignalConnections},

	// OpenTelemetry semantic conventions (dotted; units in UCUM).
	{"OTel HTTP", "http.server.request.duration", "s", engine.SignalLatency},
	{"OTel HTTP", "http.client.request.duration", "s", engine.SignalLatency},
	{"OTel RPC", "rpc.server.duration", "ms", engine.SignalLatency},
	{"OTel DB", "db.client.connections.usage", "{connection}", engine.SignalConnections},
	{"OTel JVM", "jvm.memory.used", "By", engine.SignalMemory},
	{"OTel k8s", "k8s.pod.cpu.utilization", "1", engine.SignalCPU},
	{"OTel k8s", "k8s.container.restarts", "{restart}", engine.SignalRestarts},
	{"OTel system", "system.filesystem.usage", "By", engine.SignalDisk},
	{"OTel system", "system.network.io", "By", engine.SignalNetwork},

	// Only the unit says what it is.
	{"custom gauge", "checkout_step", "ms", engine.SignalLatency},
	{"custom gauge", "checkout_step", "", engine.SignalOther},
}

func TestClassifySignal(t *testing.T) {
	for _, tt := range signalCases {
		t.Run(tt.origin+"/"+tt.name, func(t *testing.T) {
			if got := engine.ClassifySignal(tt.name, tt.unit); got != tt.want {
				t.Errorf("ClassifySignal(%q, %q) = %q, want %q", tt.name, tt.unit, got, tt.want)
			}
		})
	}
}

// TestClassifySignalKnownMisses are real names the classifier gets wrong.
func TestClassifySignalKnownMisses(t *testing.T) {
	tests := []struct {
		origin, name, unit string
		want               engine.Signal
		bug                string
	}{
		{"CloudWatch ALB", "UnHealthyHostCount", "Count", engine.SignalErrors,
			"the success rule's healthy_?host matches inside \"unhealthyhost\" before the errors rule's \"unhealthy\" is tried, so a rise in unhealthy hosts reads as a rise in success (BadDirection -1: a rise looks benign)"},
		{"Spring Boot Micrometer", "http_server_requests_seconds", "", engine.SignalLatency,
			"a Prometheus name ending in the base unit _seconds is a duration, but \"request\" matches the traffic rule first and the latency rule only knows _seconds_p"},
		{"Spring Boot Micrometer", "http_server_requests_seconds_max", "", engine.SignalLatency,
			"the max of a timer is a duration; \"request\" makes it traffic"},
		{"node_exporter", "node_load1", "", engine.SignalCPU,
			"node_exporter's load average is node_load1/5/15; the CPU rule only knows load_?avg, so it falls through to other"},
		{"kafka_exporter", "kafka_consumergroup_lag", "", engine.SignalQueue,
			"the queue rule knows consumer_?lag but not kafka_exporter's consumergroup_lag"},
	}
	for _, tt := range tests {
		t.Run(tt.origin+"/"+tt.name, func(t *testing.T) {
			got := engine.ClassifySignal(tt.name, tt.unit)
			if got == tt.want {
				return // fixed
			}
			t.Errorf("ClassifySignal(%q) = %q, want %q: %s", tt.name, got, tt.want, tt.bug)
		})
	}
}

func TestClassifySeries(t *testing.T) {
	tests := []struct {
		name   string
		series engine.Series
		want   engine.Signal
	}{
		{"prometheus 5xx by code", engine.Series{Name: "http_requests_total", Labels: map[string]string{"code": "500"}}, engine.SignalErrors},
		{"prometheus 503 by code", engine.Series{Name: "http_requests_total", Labels: map[string]string{"code": "503", "handler": "/api/cart"}}, engine.SignalErrors},
		{"prometheus 200 by code", engine.Series{Name: "http_requests_total", Labels: map[string]string{"code": "200"}}, engine.SignalTraffic},
		{"micrometer outcome SERVER_ERROR", engine.Series{Name: "http_server_requests_seconds_count",
			Labels: map[string]string{"outcome": "SERVER_ERROR", "status": "500", "uri": "/orders"}}, engine.SignalErrors},
		{"micrometer outcome SUCCESS", engine.Series{Name: "http_server_requests_seconds_count",
			Labels: map[string]string{"outcome": "SUCCESS", "status": "200"}}, engine.SignalTraffic},
		{"istio response_code", engine.Series{Name: "istio_requests_total",
			Labels: map[string]string{"response_code": "503", "destination_service": "cart.shop.svc.cluster.local"}}, engine.SignalErrors},
		{"otel status code attribute", engine.Series{Name: "http.server.request.count",
			Labels: map[string]string{"http.response.status_code": "502"}}, engine.SignalErrors},
		{"status class 5xx", engine.Series{Name: "traefik_service_requests_total", Labels: map[string]string{"status_class": "5xx"}}, engine.SignalErrors},
		{"grpc result label error", engine.Series{Name: "grpc_client_handled_total", Labels: map[string]string{"result": "error"}}, engine.SignalErrors},
		{"no outcome label: by name", engine.Series{Name: "container_cpu_cfs_throttled_periods_total",
			Labels: map[string]string{"container": "istio-proxy", "pod": "payments-7d9c6b5f4-x2klm"}}, engine.SignalThrottling},
		{"4xx is not an error of the server", engine.Series{Name: "http_requests_total", Labels: map[string]string{"code": "404"}}, engine.SignalTraffic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := engine.ClassifySeries(tt.series); got != tt.want {
				t.Errorf("ClassifySeries(%s%v) = %q, want %q", tt.series.Name, tt.series.Labels, got, tt.want)
			}
		})
	}
}

func TestClassifySeriesDurationWithStatusLabel(t *testing.T) {
	// OpenTelemetry records http.server.request.duration with the
	// http.response.status_code attribute on every data point, and
	// Prometheus histograms are often split by code: the series still
	// measures latency.
	s := engine.Series{Name: "http.server.request.duration", Unit: "s",
		Labels: map[string]string{"http.response.status_code": "200", "http.route": "/checkout"}}
	got := engine.ClassifySeries(s)
	if got == engine.SignalLatency {
		return
	}
	t.Errorf("ClassifySeries(%s{http.response.status_code=200}) = %q, want latency: outcome labels decide before the name, so every OTel duration series of successful requests reads as traffic (and of failed ones as errors)", s.Name, got)
}

func TestSignalDirectionAndCausality(t *testing.T) {
	tests := []struct {
		s      engine.Signal
		bad    int
		causal bool
	}{
		{engine.SignalLatency, 1, false},
		{engine.SignalErrors, 1, false},
		{engine.SignalSuccess, -1, false},
		{engine.SignalTraffic, 0, false},
		{engine.SignalCPU, 1, true},
		{engine.SignalThrottling, 1, true},
		{engine.SignalMemory, 1, true},
		{engine.SignalRestarts, 1, true},
		{engine.SignalConnections, 1, true},
		{engine.SignalQueue, 1, true},
		{engine.SignalDisk, 1, true},
		{engine.SignalIO, 1, true},
		{engine.SignalNetwork, 0, false},
		{engine.SignalCapacity, 0, true},
		{engine.SignalSaturation, 1, true},
		{engine.SignalOther, 0, false},
	}
	for _, tt := range tests {
		if got := tt.s.BadDirection(); got != tt.bad {
			t.Errorf("%s.BadDirection() = %d, want %d", tt.s, got, tt.bad)
		}
		if got := tt.s.Causal(); got != tt.causal {
			t.Errorf("%s.Causal() = %v, want %v", tt.s, got, tt.causal)
		}
	}
}
