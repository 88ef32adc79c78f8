package skills

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBuiltinLintsClean(t *testing.T) {
	for _, p := range Lint(BuiltinFS(), ".") {
		t.Error(p)
	}
}

func TestBuiltinSet(t *testing.T) {
	set := Builtin()
	var got []string
	for _, s := range set {
		got = append(got, s.Name)
		lines := strings.Count(strings.TrimSpace(s.Body), "\n") + 1
		if lines < 20 || lines > 60 {
			t.Errorf("%s: body has %d lines, want 20 to 60", s.Name, lines)
		}
		if !strings.HasPrefix(s.Description, "Use when ") {
			t.Errorf("%s: description should say when it applies: %q", s.Name, s.Description)
		}
		if s.Path != s.Name+"/"+FileName {
			t.Errorf("%s: path %q, want the folder named after the skill", s.Name, s.Path)
		}
	}
	want := append(Categories(), "mitigation-plan", "triage-correlation")
	slices.Sort(want)
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("built-in skills (-got +want)\n%s", diff)
	}
	// Builtin parses anew each time: callers own what they get.
	set[0].Agents[0] = "changed"
	if Builtin()[0].Agents[0] == "changed" {
		t.Error("Builtin shares state between calls")
	}
}

func TestBuiltinChecks(t *testing.T) {
	set := Builtin()
	metric := func(name string, v float64, labels map[string]string) Observation {
		return Observation{Kind: KindMetric, Resource: "r", Name: name, Value: v, Labels: labels}
	}
	logLine := func(text string) Observation { return Observation{Kind: KindLog, Resource: "r", Text: text} }
	change := func(kind, summary string) Observation {
		return Observation{Kind: KindChange, Resource: "r", Name: kind, Text: summary}
	}
	tests := []struct {
		name string
		o    Observation
		want []string // skill/check
	}{
		{"sidecar throttled ratio", metric("container_cpu_throttled_ratio", 0.85, map[string]string{"container": "log-shipper"}),
			[]string{"resource-limits/container-cpu-throttled-ratio"}},
		{"throttled percent", metric("container_cpu_throttled_percent", 60, map[string]string{"container": "envoy"}),
			[]string{"resource-limits/container-cpu-throttled-percent"}},
		{"pod-level throttling has no container", metric("pod_cpu_throttled_ratio", 0.9, nil), nil},
		{"little throttling", metric("container_cpu_throttled_ratio", 0.02, map[string]string{"container": "app"}), nil},
		{"oom event", logLine("Container catalog was OOMKilled (exit code 137)"), []string{"memory-leak/oom-killed-log"}},
		{"java oom", logLine("java.lang.OutOfMemoryError: Java heap space"), []string{"memory-leak/oom-killed-log"}},
		{"oom termination metric", metric("kube_pod_container_status_last_terminated_reason", 1, map[string]string{"reason": "OOMKilled", "container": "app"}),
			[]string{"memory-leak/oom-killed-termination"}},
		{"other termination reason", metric("kube_pod_container_status_last_terminated_reason", 1, map[string]string{"reason": "Error"}), nil},
		{"expired cert", logLine(`Get "https://api.example.com": x509: certificate has expired or is not yet valid`),
			[]string{"certificate/tls-verification-error"}},
		{"acm expiry", metric("DaysToExpiry", 3, nil), []string{"certificate/certificate-expiring"}},
		{"acm fine", metric("DaysToExpiry", 60, nil), nil},
		{"pg too many clients", logLine("FATAL: sorry, too many clients already"), []string{"database/connection-exhaustion"}},
		{"hikari", logLine("HikariPool-1 - Connection is not available, request timed out after 30000ms."), []string{"database/connection-exhaustion"}},
		{"mysql too many connections", logLine("ERROR 1040 (HY000): Too many connections"), []string{"database/connection-exhaustion"}},
		{"deadlock", logLine("ERROR: deadlock detected"), []string{"database/lock-contention"}},
		{"replica lag", metric("ReplicaLag", 120, nil), []string{"database/replication-lag"}},
		{"dynamodb throttled", metric("ThrottledRequests", 42, nil), []string{"capacity/dynamodb-throttled"}},
		{"dynamodb write throttle", metric("WriteThrottleEvents", 7, nil), []string{"capacity/dynamodb-throttled"}},
		{"dynamodb sdk error", logLine("ProvisionedThroughputExceededException: The level of configured provisioned throughput for the table was exceeded"),
			[]string{"capacity/provisioned-throughput-exceeded"}},
		{"pending pods", logLine("0/12 nodes are available: 12 Insufficient cpu."), []string{"capacity/pods-unschedulable"}},
		{"aws throttling", logLine("ThrottlingException: Rate exceeded"), []string{"quota/api-throttled"}},
		{"lambda throttles", metric("Throttles", 15, nil), []string{"quota/function-throttled"}},
		{"service quota", logLine("ServiceQuotaExceededException: You have reached the maximum"), []string{"quota/quota-exceeded"}},
		{"disk full", logLine("write /var/lib/data/wal: no space left on device"), []string{"disk-full/no-space-left"}},
		{"disk percent", metric("disk_used_percent", 97, nil), []string{"disk-full/disk-used-percent"}},
		{"disk fine", metric("disk_used_percent", 40, nil), nil},
		{"dns", logLine("dial tcp: lookup orders.internal on 10.0.0.2:53: no such host"), []string{"network/dns-resolution-failure"}},
		{"sg change", change("infrastructure", "RevokeSecurityGroupIngress on sg-0abc tcp/5432"), []string{"network/network-rule-change"}},
		{"nacl change", change("infrastructure", "ReplaceNetworkAclEntry rule 100 deny"), []string{"network/network-rule-change"}},
		{"ena allowance", metric("pps_allowance_exceeded", 1200, nil), []string{"network/ena-allowance-exceeded"}},
		{"refused", logLine("dial tcp 10.0.3.4:6379: connect: connection refused"), []string{"dependency/dependency-unavailable"}},
		{"envoy", logLine("upstream connect error or disconnect/reset before headers. reset reason: connection failure"),
			[]string{"dependency/dependency-unavailable"}},
		{"deploy", change("deployment", "catalog v2.14.0"), []string{"bad-deploy/deployment-change"}},
		{"image pull", logLine("Failed to pull image: ErrImagePull manifest unknown"), []string{"bad-deploy/image-cannot-start"}},
		{"config change", change("config", "ConfigMap catalog-env updated"), []string{"config-change/config-change"}},
		{"missing key", logLine("Error: couldn't find key DB_HOST in ConfigMap shop/catalog-env"), []string{"config-change/container-config-error"}},
		{"iam denied", logLine("AccessDeniedException: User: arn:aws:sts::1:assumed-role/x is not authorized to perform: dynamodb:GetItem"),
			[]string{"config-change/access-denied"}},
		{"flag", change("feature-flag", "new-checkout enabled for 50%"), []string{"feature-flag/feature-flag-change"}},
		{"scaling change", change("scaling", "desired 3 -> 6"), nil},
		{"harmless log", logLine("GET /healthz 200 1ms"), nil},
		{"scary but harmless", logLine("WARN retrying request to payments (attempt 1/3)"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range Evaluate(set, []Observation{tt.o}) {
				got = append(got, f.Skill+"/"+f.Check)
				if strings.Contains(f.Message, "?") && !strings.Contains(tt.o.Text, "?") {
					t.Errorf("finding has an unfilled placeholder: %q", f.Message)
				}
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("(-got +want)\n%s", diff)
			}
		})
	}
}

func TestBuiltinSelection(t *testing.T) {
	ix := NewIndex(Builtin())
	tests := []struct {
		query string
		agent string
		want  string
	}{
		{"catalog p99 latency above 5 s; container log-shipper CPU throttled 85% (sidecar limit 100m)", AgentRCA, "resource-limits"},
		{"cart pods restarting: OOMKilled, memory working set grows until restart", AgentRCA, "memory-leak"},
		{"orders API 5xx: x509: certificate has expired or is not yet valid", AgentRCA, "certificate"},
		{"checkout errors: HikariPool connection is not available, too many connections on RDS", AgentRCA, "database"},
		{"carts table ThrottledRequests high, ProvisionedThroughputExceededException, DynamoDB", AgentRCA, "capacity"},
		{"ThrottlingException Rate exceeded from AWS API; service quota reached", AgentRCA, "quota"},
		{"No space left on device on /var/lib/postgresql; disk full", AgentRCA, "disk-full"},
		{"timeouts to orders after security group rule revoked; NACL change", AgentRCA, "network"},
		{"errors began right after the rollout of v2.3.1; new pods crash, old pods fine", AgentRCA, "bad-deploy"},
		{"feature flag new-checkout switched to 100% rollout, errors in flagged cohort", AgentRCA, "feature-flag"},
		{"ConfigMap updated, parameter changed in SSM, no release", AgentRCA, "config-change"},
		{"upstream connect error, no healthy upstream; retries amplify load on the payments dependency", AgentRCA, "dependency"},
		{"new alert: orders latency; open investigation on orders-db CPU, same region, 3 minutes apart", AgentTriage, "triage-correlation"},
		{"write the mitigation plan: rollback, validate, risk", AgentMitigation, "mitigation-plan"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := ix.Select(tt.query, tt.agent, 3)
			if len(got) == 0 || got[0].Skill.Name != tt.want {
				t.Errorf("Select(%q) = %v, want %s first", tt.query, names(got), tt.want)
			}
		})
	}
	// The triage skill is for the triage agent only.
	for _, m := range ix.Select("new alert open investigation correlation", AgentRCA, 0) {
		if m.Skill.Name == "triage-correlation" {
			t.Error("triage-correlation selected for rca")
		}
	}
}
