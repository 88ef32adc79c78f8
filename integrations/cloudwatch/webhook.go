// Package cloudwatch is the alert source for Amazon CloudWatch alarms that
// reach Nightshift through an Amazon SNS HTTPS subscription (or a Lambda
// function that forwards its SNS event as is).
//
// Every SNS message is authenticated before anything in it is believed: its
// signature is verified against the signing certificate it names, which must
// come over https from an SNS host, and only the topics a space lists are
// accepted. Subscription confirmations for those topics are confirmed by a
// GET on the SubscribeURL that SNS sent; that GET and the certificate fetch
// are the only requests this package makes, and it never calls an AWS API.
package cloudwatch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/internal/hook"
)

var _ engine.AlertSource = (*Webhook)(nil)

// Doer sends an HTTP request; *http.Client is one. The webhook uses it to
// confirm SNS subscriptions.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Option changes a Webhook's defaults.
type Option func(*Webhook)

// WithCertFetcher replaces the default HTTPCertFetcher, for instance to
// share one certificate cache between spaces, or in tests.
func WithCertFetcher(f CertFetcher) Option {
	return func(w *Webhook) { w.certs = f }
}

// WithDoer replaces the HTTP client that confirms subscriptions. The
// default has a 10-second timeout and follows no redirects.
func WithDoer(d Doer) Option {
	return func(w *Webhook) { w.doer = d }
}

// WithLogger sets where subscription events are logged; by default they
// are discarded.
func WithLogger(l *slog.Logger) Option {
	return func(w *Webhook) { w.log = l }
}

// Webhook authenticates and parses the SNS deliveries of one space. It is
// immutable once built and safe for concurrent use.
type Webhook struct {
	topics map[string]bool
	hosts  *regexp.Regexp
	certs  CertFetcher
	doer   Doer
	log    *slog.Logger
}

// NewWebhook validates cfg and returns the webhook for it.
func NewWebhook(cfg Config, opts ...Option) (*Webhook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cloudwatch: %w", err)
	}
	hosts, err := cfg.hostPattern()
	if err != nil {
		return nil, fmt.Errorf("cloudwatch: cert_host_pattern: %w", err)
	}
	w := &Webhook{
		topics: make(map[string]bool, len(cfg.TopicARNs)),
		hosts:  hosts,
		log:    slog.New(slog.DiscardHandler),
	}
	for _, arn := range cfg.TopicARNs {
		w.topics[arn] = true
	}
	for _, o := range opts {
		o(w)
	}
	if w.certs == nil {
		w.certs = NewHTTPCertFetcher(nil)
	}
	if w.doer == nil {
		w.doer = &http.Client{Timeout: 10 * time.Second, CheckRedirect: noRedirects}
	}
	return w, nil
}

// lambdaEvent is the event SNS hands a Lambda function, forwarded as is:
// the same signed SNS messages, in Records[].Sns.
type lambdaEvent struct {
	Records []struct {
		Sns snsMessage `json:"Sns"`
	} `json:"Records"`
}

// Parse authenticates d and returns the alarm it carries: one alert for an
// SNS Notification (one per record for a Lambda event), none for a
// subscription or unsubscription confirmation.
func (w *Webhook) Parse(ctx context.Context, d engine.Delivery) ([]engine.Alert, error) {
	var m snsMessage
	if err := hook.DecodeObject(d.Body, &m); err != nil {
		return nil, err
	}
	raw := json.RawMessage(bytes.Clone(d.Body))
	if m.Type == "" {
		var ev lambdaEvent
		if err := hook.DecodeObject(d.Body, &ev); err != nil {
			return nil, err
		}
		if ev.Records != nil {
			return w.parseRecords(ctx, &ev, raw, d.Received)
		}
	}
	if err := w.authenticate(ctx, &m, "", d.Received); err != nil {
		return nil, err
	}
	switch m.Type {
	case typeSubscriptionConfirmation:
		return nil, w.confirm(ctx, &m)
	case typeUnsubscribeConfirmation:
		// Nothing to do, but alarms of this topic stop arriving from now on,
		// which an operator should hear about.
		w.log.WarnContext(ctx, "sns subscription ended",
			"topic", m.TopicARN, "message_id", m.MessageID)
		return nil, nil
	}
	a, err := alertFrom(&m, "", raw)
	if err != nil {
		return nil, err
	}
	return []engine.Alert{a}, nil
}

// parseRecords handles a Lambda SNS event. Each record is a complete signed
// SNS message, so each is authenticated on its own, and all of them before
// any is read.
func (w *Webhook) parseRecords(ctx context.Context, b *lambdaEvent, raw json.RawMessage, now time.Time) ([]engine.Alert, error) {
	if len(b.Records) == 0 {
		return nil, engine.Invalid("Records", "empty")
	}
	for i := range b.Records {
		m := &b.Records[i].Sns
		prefix := "Records[" + strconv.Itoa(i) + "].Sns."
		// Lambda never sees subscription handshakes; one here is not from SNS.
		if m.Type != typeNotification {
			return nil, engine.Invalid(prefix+"Type", "want Notification, got %q", m.Type)
		}
		if err := w.authenticate(ctx, m, prefix, now); err != nil {
			return nil, err
		}
	}
	alerts := make([]engine.Alert, 0, len(b.Records))
	for i := range b.Records {
		a, err := alertFrom(&b.Records[i].Sns, "Records["+strconv.Itoa(i)+"].Sns.", raw)
		if err != nil {
			return nil, err
		}
		alerts = append(alerts, a)
	}
	return alerts, nil
}

// confirm completes the subscription handshake: SNS sends nothing else to
// an endpoint until someone GETs the SubscribeURL. authenticate has already
// checked the topic, so only the space's own topics get subscribed.
func (w *Webhook) confirm(ctx context.Context, m *snsMessage) error {
	u, reason := w.snsURL(m.SubscribeURL, "subscribe")
	if u == nil {
		// Signed by SNS yet pointing elsewhere: malformed rather than forged.
		return engine.Invalid("SubscribeURL", "%s", reason)
	}
	w.log.InfoContext(ctx, "sns subscription confirmation received",
		"topic", m.TopicARN, "message_id", m.MessageID, "subscribe_host", u.Host)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return engine.Invalid("SubscribeURL", "not a URL")
	}
	resp, err := w.doer.Do(req)
	if err != nil {
		// 503 makes SNS deliver the confirmation again.
		return engine.Unavailable("SNS subscription confirmation", redactURL(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return engine.Unavailable("SNS subscription confirmation",
			fmt.Errorf("confirm subscription to %s: status %s", m.TopicARN, resp.Status))
	}
	w.log.InfoContext(ctx, "sns subscription confirmed", "topic", m.TopicARN, "message_id", m.MessageID)
	return nil
}

// redactURL drops the URL from a client error: a SubscribeURL carries the
// subscription token, and the error ends up in logs.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s subscribe URL: %w", ue.Op, ue.Err)
	}
	return err
}

// alarm is the CloudWatch alarm state-change notification in an SNS Message.
// Only the fields the alert needs are decoded, so that the many optional
// and oddly typed ones (Threshold, Unit: null, TreatMissingData) cannot
// make a real alarm unreadable.
type alarm struct {
	AlarmName        string `json:"AlarmName"`
	AlarmDescription string `json:"AlarmDescription"` // often null
	AWSAccountID     string `json:"AWSAccountId"`
	NewStateValue    string `json:"NewStateValue"`
	NewStateReason   string `json:"NewStateReason"`
	StateChangeTime  string `json:"StateChangeTime"`
	AlarmARN         string `json:"AlarmArn"`
	Trigger          struct {
		MetricName string      `json:"MetricName"`
		Namespace  string      `json:"Namespace"`
		Dimensions []dimension `json:"Dimensions"`
		// Metrics replaces the three fields above in metric-math and
		// anomaly-detection alarms.
		Metrics []struct {
			MetricStat *struct {
				Metric metric `json:"Metric"`
			} `json:"MetricStat"`
		} `json:"Metrics"`
	} `json:"Trigger"`
}

type metric struct {
	MetricName string      `json:"MetricName"`
	Namespace  string      `json:"Namespace"`
	Dimensions []dimension `json:"Dimensions"`
}

type dimension struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// metrics returns the metrics the alarm watches, in the order given.
func (a *alarm) metrics() []metric {
	t := &a.Trigger
	if t.MetricName != "" || t.Namespace != "" || len(t.Dimensions) > 0 {
		return []metric{{MetricName: t.MetricName, Namespace: t.Namespace, Dimensions: t.Dimensions}}
	}
	var ms []metric
	for _, q := range t.Metrics {
		if q.MetricStat != nil {
			ms = append(ms, q.MetricStat.Metric)
		}
	}
	return ms
}

// CloudWatch alarm states (NewStateValue).
const (
	stateAlarm            = "ALARM"
	stateOK               = "OK"
	stateInsufficientData = "INSUFFICIENT_DATA"
)

// alertFrom maps an authenticated Notification onto an alert. prefix is the
// JSON path of m in the body.
func alertFrom(m *snsMessage, prefix string, raw json.RawMessage) (engine.Alert, error) {
	field := func(name string) string { return prefix + name }
	if m.MessageID == "" {
		return engine.Alert{}, engine.Invalid(field("MessageId"), "missing")
	}
	var al alarm
	if err := json.Unmarshal([]byte(m.Message), &al); err != nil {
		e := engine.Invalid(field("Message"), "not a CloudWatch alarm")
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			e = engine.Invalid(field("Message."+te.Field), "expected %s, got JSON %s", te.Type, te.Value)
		}
		e.Err = err
		return engine.Alert{}, e
	}
	if al.AlarmName == "" && al.NewStateValue == "" {
		return engine.Alert{}, engine.Invalid(field("Message"), "not a CloudWatch alarm")
	}
	if al.AlarmName == "" {
		return engine.Alert{}, engine.Invalid(field("Message.AlarmName"), "missing")
	}

	a := engine.Alert{
		Source:     engine.SourceCloudWatch,
		DeliveryID: m.MessageID,
		Title:      al.AlarmName,
		Raw:        raw,
	}
	switch al.NewStateValue {
	case stateAlarm:
		a.Status, a.Severity = engine.AlertFiring, engine.SeverityCritical
	case stateInsufficientData:
		// The metric stopped reporting: often the thing is down, but it
		// may be a quiet night.
		a.Status, a.Severity = engine.AlertFiring, engine.SeverityWarning
	case stateOK:
		a.Status, a.Severity = engine.AlertResolved, engine.SeverityInfo
	case "":
		return engine.Alert{}, engine.Invalid(field("Message.NewStateValue"), "missing")
	default:
		return engine.Alert{}, engine.Invalid(field("Message.NewStateValue"), "unknown alarm state %q", al.NewStateValue)
	}

	changed, err := alarmTime(al.StateChangeTime, m.Timestamp)
	if err != nil {
		return engine.Alert{}, engine.Invalid(field("Message.StateChangeTime"), "not a time")
	}
	a.StartsAt = changed
	if a.Status == engine.AlertResolved {
		a.EndsAt = changed
	}

	// The author's description says what the alarm means, the reason what
	// the metric did; on-call wants both.
	var desc []string
	for _, s := range []string{al.AlarmDescription, al.NewStateReason} {
		if s = strings.TrimSpace(s); s != "" {
			desc = append(desc, s)
		}
	}
	a.Description = strings.Join(desc, "\n\n")

	alarmARN := splitARN(al.AlarmARN)
	a.Account = al.AWSAccountID
	if a.Account == "" && alarmARN != nil {
		a.Account = alarmARN.account
	}
	// The alarm's Region field is a display name ("US East (N. Virginia)"),
	// which no API takes; the code comes from an ARN.
	if alarmARN != nil && regionCode.MatchString(alarmARN.region) {
		a.Region = alarmARN.region
	} else if t := splitARN(m.TopicARN); t != nil && regionCode.MatchString(t.region) {
		a.Region = t.region
	}

	if alarmARN != nil {
		a.Fingerprint = "cloudwatch:" + al.AlarmARN
	} else {
		a.Fingerprint = "cloudwatch:" + a.Account + "/" + a.Region + "/" + al.AlarmName
	}

	ms := al.metrics()
	a.Labels = labels(ms)
	a.Resources = resources(ms)
	a.Service = service(ms)
	if a.Region != "" {
		a.Links = []engine.Link{{Text: "CloudWatch alarm", URL: consoleURL(a.Region, al.AlarmName)}}
	}
	return a, nil
}

// alarmTime parses StateChangeTime, which CloudWatch writes with a
// colon-less zone offset ("2021-06-23T08:41:06.622+0000"); an alarm without
// one is dated by its SNS message.
func alarmTime(changed, snsTimestamp string) (time.Time, error) {
	if changed == "" {
		changed = snsTimestamp
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999Z0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, changed); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("parse time %q", changed)
}

type arn struct{ region, account string }

// splitARN reads arn:partition:service:region:account:resource, or returns
// nil for anything else.
func splitARN(s string) *arn {
	p := strings.SplitN(s, ":", 6)
	if len(p) != 6 || p[0] != "arn" {
		return nil
	}
	return &arn{region: p[3], account: p[4]}
}

var regionCode = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)

// consoleURL links to the alarm in the console of the region's partition.
func consoleURL(region, alarmName string) string {
	host := region + ".console.aws.amazon.com"
	switch {
	case strings.HasPrefix(region, "cn-"):
		host = "console.amazonaws.cn"
	case strings.HasPrefix(region, "us-gov-"):
		host = "console.amazonaws-us-gov.com"
	}
	return "https://" + host + "/cloudwatch/home?region=" + region + "#alarmsV2:alarm/" + url.PathEscape(alarmName)
}

// labels keeps what identifies the metric: its namespace and name (of the
// first metric, for metric math) and every dimension as dim_<Name>.
func labels(ms []metric) map[string]string {
	l := make(map[string]string)
	for _, m := range ms {
		setOnce(l, "namespace", m.Namespace)
		setOnce(l, "metric_name", m.MetricName)
		for _, d := range m.Dimensions {
			setOnce(l, "dim_"+d.Name, d.Value)
		}
	}
	if len(l) == 0 {
		return nil
	}
	return l
}

func setOnce(m map[string]string, k, v string) {
	if _, ok := m[k]; !ok && v != "" && k != "dim_" {
		m[k] = v
	}
}

// resources names what the alarm is about. A dimension named Resource (or
// resource) is the alarm author saying so and wins verbatim; otherwise the well-known
// dimensions of AWS namespaces map onto the resource paths every Nightshift
// source shares, so that alarms about one thing from different sources
// correlate.
func resources(ms []metric) []string {
	var explicit, mapped []string
	for _, m := range ms {
		dims := make(map[string]string, len(m.Dimensions))
		for _, d := range m.Dimensions {
			if _, ok := dims[d.Name]; !ok && d.Value != "" {
				dims[d.Name] = d.Value
			}
		}
		if r := firstOf(dims, "Resource", "resource"); r != "" {
			explicit = appendNew(explicit, r)
		}
		for _, r := range wellKnown(m.Namespace, dims) {
			mapped = appendNew(mapped, r)
		}
	}
	if len(explicit) > 0 {
		return explicit
	}
	return mapped
}

func appendNew(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

func wellKnown(namespace string, d map[string]string) []string {
	var rs []string
	add := func(prefix, dim string) {
		if v := d[dim]; v != "" {
			rs = append(rs, prefix+v)
		}
	}
	switch namespace {
	case "AWS/EC2", "CWAgent": // the agent reports per instance too
		add("aws/ec2/", "InstanceId")
	case "AWS/RDS":
		add("aws/rds/", "DBInstanceIdentifier")
	case "AWS/DynamoDB":
		add("aws/dynamodb/", "TableName")
	case "AWS/Lambda":
		add("aws/lambda/", "FunctionName")
	case "AWS/SQS":
		add("aws/sqs/", "QueueName")
	case "AWS/ApplicationELB":
		add("aws/elb/", "LoadBalancer")
	case "AWS/ApiGateway":
		add("aws/apigateway/", "ApiName")
	case "ContainerInsights": // EKS and Kubernetes on EC2
		// k8s/<cluster>/<namespace>/<kind>/<name>, as for every source.
		// PodName is the pod's name without its generated suffix; the
		// workload kind behind it is not in the metric.
		if c := d["ClusterName"]; c != "" {
			p := "k8s/" + c
			if ns := d["Namespace"]; ns != "" {
				p += "/" + ns
				if svc := d["Service"]; svc != "" {
					p += "/service/" + svc
				} else if pod := firstOf(d, "FullPodName", "PodName"); pod != "" {
					p += "/pod/" + pod
				}
			}
			rs = append(rs, p)
		}
	case "AWS/ECS", "ECS/ContainerInsights":
		if c := d["ClusterName"]; c != "" {
			p := "aws/ecs/" + c
			if s := d["ServiceName"]; s != "" {
				p += "/" + s
			}
			rs = append(rs, p)
		}
	}
	// Auto Scaling groups appear in several namespaces (EC2, AutoScaling,
	// CWAgent) and mean the same group in each.
	add("aws/autoscaling/", "AutoScalingGroupName")
	return rs
}

func service(ms []metric) string {
	for _, m := range ms {
		for _, d := range m.Dimensions {
			if (d.Name == "ServiceName" || d.Name == "Service") && d.Value != "" {
				return d.Value
			}
		}
	}
	return ""
}

func firstOf(d map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := d[k]; v != "" {
			return v
		}
	}
	return ""
}
