package hook

import (
	"net/url"
	"slices"
	"strings"

	"github.com/nightshift-ops/nightshift/engine"
)

// Target is what an alert's labels (or tags, or custom fields) say about the
// thing that is alerting. Correlation compares these values across senders,
// so every parser derives them here, by one set of conventions, rather than
// each in its own dialect.
type Target struct {
	Resources []string // most specific first; nil when the labels name none
	Service   string
	Component string
	Account   string
	Region    string
}

// Label names, in order of preference, for the attributes of a Target. The
// underscore spellings are what Prometheus makes of Kubernetes label names
// (app.kubernetes.io/name becomes app_kubernetes_io_name); the dotted and
// dashed ones are what tag-based senders pass through unchanged.
var (
	serviceLabels   = []string{"service", "app", "app_kubernetes_io_name", "app.kubernetes.io/name", "k8s_app", "k8s-app"}
	componentLabels = []string{"component", "app_kubernetes_io_component", "app.kubernetes.io/component"}
	regionLabels    = []string{"region", "aws_region", "topology_kubernetes_io_region", "topology.kubernetes.io/region"}
	accountLabels   = []string{"account", "account_id", "aws_account_id"}

	// Kubernetes workload kinds, most stable first: a deployment outlives its
	// pods, so when both are named the deployment is the primary resource.
	k8sKinds = []string{"deployment", "statefulset", "daemonset", "pod"}
)

// TargetFromLabels applies the resource-reference conventions shared by all
// alert sources:
//
//   - an explicit "resource" label wins and is used verbatim, alone;
//   - otherwise "namespace" plus "deployment", "statefulset", "daemonset" or
//     "pod" give k8s/<namespace>/<kind>/<name>, or
//     k8s/<cluster>/<namespace>/<kind>/<name> when a "cluster" label exists;
//   - any label value that is an AWS ARN is a resource, verbatim;
//   - "host" gives host/<value>, and so does "instance" when no Kubernetes
//     workload was named (for workload alerts "instance" is the scrape target
//     of an exporter such as kube-state-metrics, shared by every alert it
//     produces, and would make unrelated alerts look related).
//
// Service, component, region and account come from their conventional labels;
// region and account fall back to those of the first ARN. Empty values count
// as absent. labels is not modified.
func TargetFromLabels(labels map[string]string) Target {
	get := func(k string) string { return strings.TrimSpace(labels[k]) }
	first := func(keys []string) string {
		for _, k := range keys {
			if v := get(k); v != "" {
				return v
			}
		}
		return ""
	}

	t := Target{
		Service:   first(serviceLabels),
		Component: first(componentLabels),
		Region:    first(regionLabels),
		Account:   first(accountLabels),
	}

	var arns []string
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys) // map order is random; resources must not be
	for _, k := range keys {
		if v := get(k); isARN(v) && !slices.Contains(arns, v) {
			arns = append(arns, v)
		}
	}
	if len(arns) > 0 {
		// arn:partition:service:region:account-id:resource
		parts := strings.SplitN(arns[0], ":", 6)
		if t.Region == "" {
			t.Region = parts[3]
		}
		if t.Account == "" {
			t.Account = parts[4]
		}
	}

	if r := get("resource"); r != "" {
		t.Resources = []string{r}
		return t
	}

	add := func(r string) {
		if !slices.Contains(t.Resources, r) {
			t.Resources = append(t.Resources, r)
		}
	}
	workload := false
	if ns := get("namespace"); ns != "" {
		prefix := "k8s/" + ns + "/"
		if c := get("cluster"); c != "" {
			prefix = "k8s/" + c + "/" + ns + "/"
		}
		for _, kind := range k8sKinds {
			if name := get(kind); name != "" {
				add(prefix + kind + "/" + name)
				workload = true
			}
		}
	}
	for _, a := range arns {
		add(a)
	}
	if h := get("host"); h != "" {
		add("host/" + h)
	}
	if i := get("instance"); i != "" && !workload {
		add("host/" + i)
	}
	return t
}

// isARN reports whether s looks like an Amazon Resource Name: six
// colon-separated parts, the first "arn", with a partition, a service and a
// resource (region and account may be empty, as for S3 buckets).
func isARN(s string) bool {
	if !strings.HasPrefix(s, "arn:") {
		return false
	}
	p := strings.SplitN(s, ":", 6)
	return len(p) == 6 && p[1] != "" && p[2] != "" && p[5] != ""
}

// AppendLink appends a link to links when rawURL is an absolute http or https
// URL not already present, and returns links unchanged otherwise. Senders'
// URLs end up as buttons in chat; anything else (javascript:, relative paths,
// unrendered template variables) is dropped rather than passed on.
func AppendLink(links []engine.Link, text, rawURL string) []engine.Link {
	rawURL = strings.TrimSpace(rawURL)
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return links
	}
	for _, l := range links {
		if l.URL == rawURL {
			return links
		}
	}
	return append(links, engine.Link{Text: text, URL: rawURL})
}
