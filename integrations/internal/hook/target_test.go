package hook

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nightshift-ops/nightshift/engine"
)

func TestTargetFromLabels(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		want   Target
	}{
		{"nothing", nil, Target{}},
		{
			"explicit resource wins, alone",
			map[string]string{"resource": " db/orders ", "namespace": "shop", "pod": "p", "host": "h"},
			Target{Resources: []string{"db/orders"}},
		},
		{
			"kubernetes workload, most stable first",
			map[string]string{"namespace": "shop", "pod": "checkout-1", "deployment": "checkout", "instance": "10.0.0.9:8080"},
			Target{Resources: []string{"k8s/shop/deployment/checkout", "k8s/shop/pod/checkout-1"}},
		},
		{
			"cluster prefix",
			map[string]string{"cluster": "prod-eu", "namespace": "data", "statefulset": "kafka"},
			Target{Resources: []string{"k8s/prod-eu/data/statefulset/kafka"}},
		},
		{
			"kind without namespace is not a k8s path",
			map[string]string{"daemonset": "node-exporter", "instance": "node-1:9100"},
			Target{Resources: []string{"host/node-1:9100"}},
		},
		{
			"host and instance",
			map[string]string{"host": "db-7", "instance": "db-7:9100"},
			Target{Resources: []string{"host/db-7", "host/db-7:9100"}},
		},
		{
			"explicit host kept beside a workload",
			map[string]string{"namespace": "shop", "daemonset": "agent", "host": "node-3"},
			Target{Resources: []string{"k8s/shop/daemonset/agent", "host/node-3"}},
		},
		{
			"ARNs in any label, sorted by label, give region and account",
			map[string]string{
				"queue_arn": "arn:aws:sqs:eu-west-1:111122223333:orders",
				"db_arn":    "arn:aws:rds:us-east-1:444455556666:db:main",
				"not_arn":   "arn:nope",
			},
			Target{
				Resources: []string{"arn:aws:rds:us-east-1:444455556666:db:main", "arn:aws:sqs:eu-west-1:111122223333:orders"},
				Region:    "us-east-1", Account: "444455556666",
			},
		},
		{
			"labels beat the ARN for region and account",
			map[string]string{"resource": "arn:aws:s3:::logs-bucket", "region": "eu-north-1", "aws_account_id": "999988887777"},
			Target{Resources: []string{"arn:aws:s3:::logs-bucket"}, Region: "eu-north-1", Account: "999988887777"},
		},
		{
			"service, component, region, account by preference",
			map[string]string{
				"app": "web", "app_kubernetes_io_name": "web-ui", "k8s_app": "x", "component": "frontend",
				"topology_kubernetes_io_region": "ap-south-1", "account_id": "123",
			},
			Target{Service: "web", Component: "frontend", Region: "ap-south-1", Account: "123"},
		},
		{
			"empty values are absent",
			map[string]string{"service": " ", "app": "api", "resource": "", "host": ""},
			Target{Service: "api"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(TargetFromLabels(tc.labels), tc.want); diff != "" {
				t.Errorf("TargetFromLabels() mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

func TestAppendLink(t *testing.T) {
	var links []engine.Link
	for _, u := range []string{
		"https://grafana.example/d/abc", "http://prom:9090/graph?g0.expr=up", "https://grafana.example/d/abc",
		"javascript:alert(1)", "/relative", "$LINK", "", "https://", "ftp://files.example/x",
	} {
		links = AppendLink(links, "L", u)
	}
	want := []engine.Link{{Text: "L", URL: "https://grafana.example/d/abc"}, {Text: "L", URL: "http://prom:9090/graph?g0.expr=up"}}
	if diff := cmp.Diff(links, want); diff != "" {
		t.Errorf("AppendLink() mismatch (-got +want):\n%s", diff)
	}
}

func TestDecodeObjectAt(t *testing.T) {
	type el struct {
		Labels   map[string]string `json:"labels"`
		StartsAt string            `json:"startsAt"`
	}
	tests := []struct {
		path, raw, wantField string
	}{
		{"", "", "body"},
		{"", "[]", "body"},
		{"", "{", "body"},
		{"", `{"startsAt":1}`, "startsAt"},
		{"alerts[2]", `null`, "alerts[2]"},
		{"alerts[2]", `"x"`, "alerts[2]"},
		{"alerts[2]", `{"startsAt":1}`, "alerts[2].startsAt"},
		{"alerts[0]", `{"labels":{"a":1}}`, "alerts[0].labels"},
	}
	for _, tc := range tests {
		var v el
		err := DecodeObjectAt(tc.path, []byte(tc.raw), &v)
		var e *engine.Error
		if !errors.As(err, &e) || e.Code != engine.CodeInvalid || e.Field != tc.wantField {
			t.Errorf("DecodeObjectAt(%q, %q) = %v, want invalid %s", tc.path, tc.raw, err, tc.wantField)
		}
	}
	var v el
	if err := DecodeObject([]byte(` {"startsAt":"x"} `), &v); err != nil || v.StartsAt != "x" {
		t.Errorf("DecodeObject() = %v, %+v", err, v)
	}
}
