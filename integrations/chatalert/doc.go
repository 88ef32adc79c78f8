// Package chatalert turns a message that another app posted in an alert
// channel (Slack now, Microsoft Teams later) into engine.Alerts, so that an
// alert seen only in chat goes through the same intake, correlation and
// deduplication as one delivered by webhook.
//
// The input is a platform-neutral Message: the chat surface (bot/slack,
// bot/teams) flattens what the platform delivered (Slack text, legacy
// attachments, Block Kit; Teams text, connector cards, Adaptive Cards) into
// text, attachments with title, link, text and fields, and the plain text of
// any blocks. Parse never calls the platform or the sender: a message is
// judged by what it carries.
//
// # What is recognised
//
// Recognisers are tried in a fixed order, those whose author pattern matches
// the message's Author first; the first that recognises the message wins.
//
//   - aws-chatbot: CloudWatch alarm notifications of AWS Chatbot (Amazon Q
//     Developer in chat applications): the "CloudWatch Alarm | name | region
//     | Account: id" headline, the SNS e-mail body ("You are receiving this
//     email because your Amazon CloudWatch Alarm ..." with its "Alarm
//     Details" and "Monitored Metric" lists), SNS subjects ("ALARM: "name" in
//     region") and CloudWatch console alarm links. ALARM fires (severity
//     error unless the message states one), INSUFFICIENT_DATA fires as a
//     warning, OK resolves.
//   - grafana: Grafana Alerting's default Slack notification ("[FIRING:2,
//     RESOLVED:1] group (labels)" title, "**Firing**" / "**Resolved**"
//     sections of "Value: / Labels: / Annotations:" blocks), one alert per
//     block; and legacy dashboard alerts ("[Alerting] name", "[OK] name").
//   - alertmanager: Prometheus Alertmanager slack_config, whose default title
//     is "[FIRING:2] group (labels)" and whose widely used text template
//     lists "*Alert:* … *Description:* … *Details:* • label: value" per
//     alert, one alert per "*Alert:*" block.
//   - pagerduty: the PagerDuty Slack app's incident messages ("Triggered
//     #1234 …", "Resolved", with Service, Urgency and Priority), identified
//     by the incident's number or its link.
//   - datadog: Datadog monitor notifications ("Triggered: [P1] title",
//     "Recovered: …", "Warn: …", or the event form "[Triggered on {host:a}]
//     title"), identified by the monitor link and its alerting group, with
//     tags such as service:x host:y.
//   - generic: a conservative fallback for app-posted text that is clearly
//     alert-shaped: a status word (ALARM, FIRING, CRITICAL, Triggered,
//     RESOLVED, ...) in the headline and a resource-like token (an ARN, a
//     k8s/ path, key=value, a host name with digits).
//
// Messages written by people (no app or bot id), questions, and Nightshift's
// own messages ("🔎 Finding …", "Root cause and
// mitigation plan", status lines) are ErrNotAlert.
//
// # What comes out
//
// Every alert has Source engine.SourceChat, a "chat_app" label naming the
// recogniser and a "chat_platform" label, DeliveryID platform:channel:id (":index" appended when a message
// carries several alerts), StartsAt the message's time, Raw a small JSON copy
// of the message, and a Fingerprint from engine.StructuredFingerprint over
// "chat:<app>", the rule (alert name, alarm name, monitor or incident) and
// the identifying labels and resources only, never free text, so that the
// FIRING message and the later RESOLVED message about the same rule and
// target share a fingerprint and Intake resolves the first with the second.
//
// # Adding a recogniser
//
// Write func(d *doc) []draft in a file of its own: return nil when the
// message is not yours (the next recogniser is tried), or one draft per alert
// the message lists. doc gives the message cleaned of chat markup: the
// headline, the lines with the URLs on each, the attachment fields and
// footers, and every link. Fill draft.rule and draft.ident with what
// identifies the condition and stays the same between the firing and the
// resolved message (never free text such as a description or a value); put
// everything else in draft.labels. Add an author pattern for the app and an
// entry in recognisers (before generic), a constant for its chat_app name,
// fixtures under testdata/ with their origin in testdata/README.md, and rows
// in the tables of chatalert_test.go, with a firing/resolved pair.
package chatalert
