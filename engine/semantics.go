package engine

import (
	"regexp"
	"strings"
)

// Signal is what a metric measures, recognised from its name and unit the
// way real ecosystems spell them (Prometheus and cAdvisor, CloudWatch,
// Datadog, OpenTelemetry). The reasoner uses it to know which direction is
// bad and whether a change looks like a cause or a symptom.
type Signal string

// Signals.
const (
	SignalLatency     Signal = "latency"     // request duration, response time, p99
	SignalErrors      Signal = "errors"      // 5xx, error rate, failures, exceptions
	SignalSuccess     Signal = "success"     // success rate, availability (down is bad)
	SignalTraffic     Signal = "traffic"     // requests per second, throughput, invocations
	SignalCPU         Signal = "cpu"         // CPU usage, utilisation, load
	SignalThrottling  Signal = "throttling"  // CFS throttling, throttled requests, rate limits
	SignalMemory      Signal = "memory"      // memory usage, RSS, heap, working set
	SignalRestarts    Signal = "restarts"    // container restarts, OOM kills, crash loops
	SignalConnections Signal = "connections" // DB connections, pool usage, sockets
	SignalQueue       Signal = "queue"       // queue depth, age of oldest message, backlog, lag
	SignalDisk        Signal = "disk"        // disk or storage space: used, free, inodes
	SignalIO          Signal = "io"          // storage I/O: IOPS, burst balance, queue depth, I/O wait
	SignalNetwork     Signal = "network"     // bytes in/out, packets, drops, retransmits
	SignalCapacity    Signal = "capacity"    // replicas, consumed vs provisioned capacity, concurrency
	SignalSaturation  Signal = "saturation"  // generic utilisation / percent-of-limit
	SignalOther       Signal = "other"
)

type signalRule struct {
	re     *regexp.Regexp
	signal Signal
}

// Order matters: the first rule that matches wins, so specific spellings
// come before generic ones ("throttled" before "cpu", "free storage" before
// "storage").
var signalRules = []signalRule{
	{regexp.MustCompile(`oom|restart|crash|killed|evict|terminat`), SignalRestarts},
	{regexp.MustCompile(`throttl|ratelimit|rate_limit|toomanyrequests|provisionedthroughputexceeded|throttles$|_throttles|\bthrottles\b`), SignalThrottling},
	{regexp.MustCompile(`unhealthy`), SignalErrors},
	{regexp.MustCompile(`success|availability|apdex|uptime|healthy_?host`), SignalSuccess},
	{regexp.MustCompile(`iops|burst_?balance|disk_?queue|queue_?depth|io_?wait|iowait|(read|write)_?latency|(read|write)_?throughput|io_time|volume_?(read|write)|ebs(read|write)`), SignalIO},
	{regexp.MustCompile(`5xx|4xx|error|errors|fail|exception|fault|reject|timeout|unhealthy|refused|dropped_requests|deadlock`), SignalErrors},
	{regexp.MustCompile(`latenc|duration|response_?time|responsetime|elapsed|_seconds_p|_seconds$|_seconds_max$|_seconds_bucket$|_seconds_sum$|p50|p90|p95|p99|_ms$|wait_?time|targetresponsetime|iteratorage`), SignalLatency},
	{regexp.MustCompile(`connection|conn_|_conns|pool|socket|sessions|threads_connected|databaseconnections`), SignalConnections},
	{regexp.MustCompile(`queue|backlog|ageofoldest|age_of_oldest|messages_visible|numberofmessages|consumer_?(group_?)?lag|replica_?lag|replicalag|pending`), SignalQueue},
	{regexp.MustCompile(`disk|storage|volume|inode|filesystem|fs_|ebs`), SignalDisk},
	{regexp.MustCompile(`memory|mem_|_mem|heap|rss|working_set|swap|freeablememory|mebibytes|_bytes_used`), SignalMemory},
	{regexp.MustCompile(`cpu|load_?avg|loadavg|node_load\d+|system_load|millicores|cpuutilization|cpucredit`), SignalCPU},
	{regexp.MustCompile(`capacity|concurren|replicas|instances_?in_?service|desired|provisioned|consumed`), SignalCapacity},
	{regexp.MustCompile(`network|bytes_?in|bytes_?out|networkin|networkout|receive|transmit|packet|retransmit|tcp_|bandwidth|_bytes_total`), SignalNetwork},
	{regexp.MustCompile(`request|rps|qps|throughput|invocation|count$|_total$|ops|workload|traffic|hits`), SignalTraffic},
	{regexp.MustCompile(`utili[sz]ation|percent|ratio|usage`), SignalSaturation},
}

// ClassifySignal recognises what a metric measures from its name and unit.
func ClassifySignal(name, unit string) Signal {
	n := strings.ToLower(name)
	n = strings.NewReplacer(".", "_", "-", "_", " ", "_").Replace(n)
	for _, r := range signalRules {
		if r.re.MatchString(n) {
			return r.signal
		}
	}
	u := strings.ToLower(unit)
	switch {
	case u == "ms" || u == "s" || u == "seconds" || u == "milliseconds" || u == "us":
		return SignalLatency
	case strings.Contains(u, "byte") || u == "mib" || u == "gib":
		return SignalMemory
	case u == "percent" || u == "%":
		return SignalSaturation
	}
	return SignalOther
}

// BadDirection is the direction of change that hurts for a signal: +1 when
// an increase is bad, -1 when a decrease is, 0 when either may be (traffic:
// a drop is an outage, a surge is an overload).
func (s Signal) BadDirection() int {
	switch s {
	case SignalSuccess:
		return -1
	case SignalTraffic, SignalNetwork, SignalCapacity, SignalOther:
		return 0
	}
	return 1
}

// Causal reports whether a signal usually describes a cause (a resource
// running out of something) rather than a symptom felt by callers (latency,
// errors, traffic).
func (s Signal) Causal() bool {
	switch s {
	case SignalCPU, SignalThrottling, SignalMemory, SignalRestarts, SignalConnections,
		SignalQueue, SignalDisk, SignalIO, SignalCapacity, SignalSaturation:
		return true
	}
	return false
}

// outcomeLabels are the label names that split a request series by outcome.
var outcomeLabels = []string{"code", "status", "status_code", "status_class", "http_status", "http.response.status_class",
	"http.response.status_code", "http_response_status_code", "response_code", "outcome", "result"}

// ClassifySeries is ClassifySignal that also reads outcome labels: a request
// counter labelled code="5xx" or outcome="SERVER_ERROR" counts errors.
func ClassifySeries(s Series) Signal {
	byName := ClassifySignal(s.Name, s.Unit)
	if byName == SignalLatency {
		return byName // a duration split by status code still measures time
	}
	for _, k := range outcomeLabels {
		v := strings.ToLower(s.Labels[k])
		if v == "" {
			continue
		}
		switch {
		case strings.HasPrefix(v, "5") || strings.Contains(v, "error") || strings.Contains(v, "fail") ||
			strings.Contains(v, "exception") || strings.Contains(v, "fault"):
			return SignalErrors
		case strings.HasPrefix(v, "2") || v == "success" || v == "ok" || v == "succeeded":
			return SignalTraffic
		}
	}
	return byName
}
