package chatalert

import (
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/internal/hook"
)

var (
	// AWS Chatbot's headline: "CloudWatch Alarm | <name> | <region> | Account: <id>".
	cwHeader = regexp.MustCompile(`(?i)CloudWatch Alarm\s*\|\s*([^|\n]+?)\s*\|\s*([a-z]{2}(?:-[a-z]+)+-\d{1,2})(?:\s*\|\s*Account:\s*(\d{12}))?`)
	// The SNS e-mail body, which AWS Chatbot and e-mail-to-channel relays show.
	cwEmail = regexp.MustCompile(`(?i)Amazon CloudWatch Alarm\s+["“](.+?)["”]\s+in the\s+(.+?)\s+region has (?:entered|transitioned to) (?:the\s+)?(ALARM|OK|INSUFFICIENT_DATA) state`)
	// The SNS subject: ALARM: "name" in US East (N. Virginia).
	cwSubject = regexp.MustCompile(`^(ALARM|OK|INSUFFICIENT_DATA):\s*["“](.+?)["”]\s+in\s+(.+)$`)
	// "The alarm <name> changed state to ALARM" (Amazon Q Developer's wording).
	cwChanged = regexp.MustCompile(`(?i)\balarm\s+["“]?([^"”\n]+?)["”]?\s+(?:has\s+)?changed state (?:from \w+ )?to\s+(ALARM|OK|INSUFFICIENT_DATA)\b`)
	cwState   = regexp.MustCompile(`(?i)\b(?:changed state to|state changed to|new state|current state|state)\s*:?\s*\**\s*(ALARM|OK|INSUFFICIENT_DATA)\b`)
	// https://<region>.console.aws.amazon.com/cloudwatch/home?region=<region>#alarmsV2:alarm/<name>
	cwConsole  = regexp.MustCompile(`^https://(?:[a-z0-9-]+\.)?console\.(?:aws\.amazon\.com|amazonaws\.cn|amazonaws-us-gov\.com)/cloudwatch/(?:home|deeplink\.js)\?(?:[^#]*&)?region=([a-z0-9-]+)[^#]*#alarmsV2:alarm/([^?]+)`)
	cwAlarmARN = regexp.MustCompile(`\barn:aws[a-z-]*:cloudwatch:([a-z0-9-]+):(\d{12}):alarm:([^\s]+)`)
	regionCode = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	dimPair    = regexp.MustCompile(`([A-Za-z][\w.\-]*)\s*=\s*([^\],\[]+)`)
	// State changes such as "OK -> ALARM".
	cwTransition = regexp.MustCompile(`(ALARM|OK|INSUFFICIENT_DATA)\s*-\s*>\s*(ALARM|OK|INSUFFICIENT_DATA)`)
)

// CloudWatch alarm states.
const (
	stateAlarm  = "ALARM"
	stateOK     = "OK"
	stateNoData = "INSUFFICIENT_DATA"
)

// Dimension names that name a resource in any namespace, for messages that
// do not say the namespace.
var dimensionResources = []struct{ dim, prefix string }{
	{"InstanceId", "aws/ec2/"},
	{"DBInstanceIdentifier", "aws/rds/"},
	{"TableName", "aws/dynamodb/"},
	{"FunctionName", "aws/lambda/"},
	{"QueueName", "aws/sqs/"},
	{"LoadBalancer", "aws/elb/"},
	{"ApiName", "aws/apigateway/"},
	{"AutoScalingGroupName", "aws/autoscaling/"},
}

// parseAWS reads CloudWatch alarm notifications posted by AWS Chatbot
// (Amazon Q Developer in chat applications), or relayed from SNS e-mail.
func parseAWS(d *doc) []draft {
	var (
		name, region, account, state, reason, description string
		namespace, metric                                 string
		header                                            bool
	)
	dims := map[string]string{}
	marked := awsAuthor.MatchString(d.m.Author)

	if m := cwHeader.FindStringSubmatch(d.all); m != nil {
		name, region, account, header, marked = strings.TrimSpace(m[1]), m[2], m[3], true, true
	}
	if m := cwEmail.FindStringSubmatch(d.all); m != nil {
		name = firstNonEmpty(name, m[1])
		region = firstNonEmpty(region, regionFromName(m[2]))
		state, marked = strings.ToUpper(m[3]), true
	}
	if m := cwSubject.FindStringSubmatch(d.headline); m != nil {
		name = firstNonEmpty(name, m[2])
		region = firstNonEmpty(region, regionFromName(m[3]))
		state = firstNonEmpty(state, m[1])
		marked = true
	}
	if m := cwChanged.FindStringSubmatch(d.all); m != nil {
		name = firstNonEmpty(name, strings.Trim(m[1], "*_`"))
		state = firstNonEmpty(state, strings.ToUpper(m[2]))
		marked = true
	}
	var links []engine.Link
	if l, m := d.linkMatching(cwConsole); m != nil {
		region = firstNonEmpty(region, m[1])
		if n, err := url.PathUnescape(strings.TrimRight(m[2], "?")); err == nil {
			name = firstNonEmpty(name, n)
		}
		links = hook.AppendLink(links, "CloudWatch alarm", l.URL)
		marked = true
	}
	if m := cwAlarmARN.FindStringSubmatch(d.all); m != nil {
		region = firstNonEmpty(region, m[1])
		account = firstNonEmpty(account, m[2])
		name = firstNonEmpty(name, m[3])
		marked = true
	}
	if !marked {
		return nil
	}

	// "key: value" lines and fields: the e-mail's Alarm Details and
	// Monitored Metric lists, and the fields of Chatbot's attachments.
	kv := map[string]string{}
	for _, ln := range d.lines {
		if k, v, ok := keyValue(ln); ok {
			k = strings.ToLower(k)
			if _, seen := kv[k]; !seen {
				kv[k] = v
			}
			for _, r := range dimensionResources {
				if strings.EqualFold(k, r.dim) && v != "" {
					dims[r.dim] = v
				}
			}
		}
	}
	name = firstNonEmpty(name, kv["alarm name"], kv["alarmname"], kv["name"])
	if m := cwTransition.FindStringSubmatch(kv["state change"]); m != nil {
		state = firstNonEmpty(state, m[2])
	}
	for _, k := range []string{"state", "new state", "current state", "newstatevalue"} {
		if v := strings.ToUpper(kv[k]); v == stateAlarm || v == stateOK || v == stateNoData {
			state = firstNonEmpty(state, v)
		}
	}
	if state == "" {
		if m := cwState.FindStringSubmatch(d.all); m != nil {
			state = strings.ToUpper(m[1])
		}
	}
	if state == "" && header {
		state = stateAlarm
		if looksGreen(d) {
			state = stateOK
		}
	}
	name = strings.TrimSpace(name)
	if name == "" || state == "" {
		return nil
	}

	account = firstNonEmpty(account, digits12(kv["aws account"]), digits12(kv["account"]), digits12(kv["account id"]))
	if r := kv["region"]; region == "" && r != "" {
		region = firstNonEmpty(regionFromName(r))
	}
	reason = firstNonEmpty(kv["reason for state change"], kv["reason"], kv["threshold crossed"])
	if v := kv["threshold crossed"]; reason == v && v != "" {
		reason = "Threshold Crossed: " + v
	}
	description = kv["description"]
	if description == "" || strings.EqualFold(description, "null") {
		description = kv["alarm description"]
	}
	namespace = firstNonEmpty(kv["metricnamespace"], kv["namespace"])
	metric = firstNonEmpty(kv["metricname"], kv["metric name"], kv["metric"])
	for _, m := range dimPair.FindAllStringSubmatch(kv["dimensions"], 20) {
		dims[m[1]] = strings.TrimSpace(m[2])
	}

	dr := draft{
		rule:        name,
		title:       name,
		description: joinNonEmpty("\n\n", description, reason),
		region:      region,
		account:     account,
		resources:   awsResources(namespace, dims),
		labels: map[string]string{
			"alarm_name":  name,
			"alarm_state": state,
			"namespace":   namespace,
			"metric_name": metric,
		},
		ident: map[string]string{"account": account, "region": region},
	}
	for k, v := range dims {
		dr.labels["dim_"+k] = v
	}
	for _, k := range []string{"ServiceName", "Service"} {
		if v := dims[k]; v != "" && dr.service == "" {
			dr.service = v
		}
	}
	stated := engine.ParseSeverity(firstNonEmpty(kv["severity"], kv["priority"]))
	if stated == engine.SeverityUnknown {
		stated = severityWord(name)
	}
	switch state {
	case stateAlarm:
		dr.status, dr.severity = engine.AlertFiring, engine.SeverityError
	case stateNoData:
		dr.status, dr.severity = engine.AlertFiring, engine.SeverityWarning
	default:
		dr.status, dr.severity = engine.AlertResolved, engine.SeverityInfo
	}
	if stated != engine.SeverityUnknown && dr.status == engine.AlertFiring {
		dr.severity = stated
	}
	if len(links) == 0 && regionCode.MatchString(region) {
		links = hook.AppendLink(links, "CloudWatch alarm", consoleURL(region, name))
	}
	dr.links = d.linksOn(0, len(d.lines), links)
	return []draft{dr}
}

// awsResources maps an alarm's dimensions onto the resource paths the
// cloudwatch webhook source uses, so that the two correlate. A dimension
// named Resource wins verbatim.
func awsResources(namespace string, dims map[string]string) []string {
	if r := firstNonEmpty(dims["Resource"], dims["resource"]); r != "" {
		return []string{r}
	}
	var rs []string
	add := func(r string) {
		if !slices.Contains(rs, r) {
			rs = append(rs, r)
		}
	}
	switch namespace {
	case "ContainerInsights":
		if c := dims["ClusterName"]; c != "" {
			p := "k8s/" + c
			if ns := dims["Namespace"]; ns != "" {
				p += "/" + ns
				if svc := dims["Service"]; svc != "" {
					p += "/service/" + svc
				} else if pod := firstNonEmpty(dims["FullPodName"], dims["PodName"]); pod != "" {
					p += "/pod/" + pod
				}
			}
			add(p)
		}
	case "AWS/ECS", "ECS/ContainerInsights":
		if c := dims["ClusterName"]; c != "" {
			p := "aws/ecs/" + c
			if s := dims["ServiceName"]; s != "" {
				p += "/" + s
			}
			add(p)
		}
	}
	for _, r := range dimensionResources {
		if v := strings.TrimSpace(dims[r.dim]); v != "" {
			add(r.prefix + v)
		}
	}
	return rs
}

// looksGreen reports whether the message is dressed as a recovery: a green
// check or circle in its first line, or a green attachment.
func looksGreen(d *doc) bool {
	raw := d.m.Text
	if len(d.m.Attachments) > 0 {
		raw = d.m.Attachments[0].Title + "\n" + d.m.Attachments[0].Pretext + "\n" + raw
	}
	first, _, _ := strings.Cut(strings.TrimSpace(raw), "\n")
	for _, g := range []string{"✅", "🟢", "✔", ":white_check_mark:", ":large_green_circle:", ":heavy_check_mark:", ":green_circle:"} {
		if strings.Contains(first, g) {
			return true
		}
	}
	for _, c := range d.colors {
		if c == "good" || c == "#36a64f" || c == "#2eb886" || c == "#2eb67d" {
			return true
		}
	}
	return false
}

// Region display names as CloudWatch writes them in e-mails and SNS subjects.
var regionNames = map[string]string{
	"us east n virginia": "us-east-1", "us east ohio": "us-east-2",
	"us west n california": "us-west-1", "us west oregon": "us-west-2",
	"eu ireland": "eu-west-1", "eu london": "eu-west-2", "eu paris": "eu-west-3",
	"eu frankfurt": "eu-central-1", "eu zurich": "eu-central-2", "eu stockholm": "eu-north-1",
	"eu milan": "eu-south-1", "eu spain": "eu-south-2",
	"asia pacific tokyo": "ap-northeast-1", "asia pacific seoul": "ap-northeast-2",
	"asia pacific osaka": "ap-northeast-3", "asia pacific singapore": "ap-southeast-1",
	"asia pacific sydney": "ap-southeast-2", "asia pacific jakarta": "ap-southeast-3",
	"asia pacific mumbai": "ap-south-1", "asia pacific hong kong": "ap-east-1",
	"canada central": "ca-central-1", "south america sao paulo": "sa-east-1",
	"south america são paulo": "sa-east-1", "middle east bahrain": "me-south-1",
	"africa cape town": "af-south-1", "aws govcloud us west": "us-gov-west-1",
	"aws govcloud us east": "us-gov-east-1",
}

// regionFromName returns the region code for a code or a display name
// ("US East (N. Virginia)", "Europe (Ireland)", "EU - Ireland"), or "".
func regionFromName(s string) string {
	s = strings.TrimSpace(s)
	if regionCode.MatchString(s) {
		return s
	}
	n := strings.ToLower(s)
	n = strings.NewReplacer("(", " ", ")", " ", ".", " ", "-", " ", ",", " ").Replace(n)
	n = strings.Join(strings.Fields(n), " ")
	n = strings.Replace(n, "europe ", "eu ", 1)
	return regionNames[n]
}

func digits12(s string) string {
	s = strings.TrimSpace(s)
	if len(s) != 12 {
		return ""
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return s
}

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

func joinNonEmpty(sep string, ss ...string) string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, sep)
}
