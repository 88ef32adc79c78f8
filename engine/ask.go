package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/tmc/langchaingo/llms"

	"github.com/nightshift-ops/nightshift/engine/guard"
)

// Answer is the reply to an on-demand question.
type Answer struct {
	Text      string   `json:"text"`
	Intent    string   `json:"intent"`    // changes, alarms, config, topology, history, followup, llm, help
	Citations []string `json:"citations"` // the tool calls the answer rests on
}

// Turn is one message of a conversation (a thread).
type Turn struct {
	Role string    `json:"role"` // "user" or "assistant"
	Who  string    `json:"who,omitempty"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// Conversations keeps the turns of chat threads, bounded and summarised
// when long (store.Store implements it in Redis).
type Conversations interface {
	Conversation(ctx context.Context, space, thread string) (summary string, turns []Turn, err error)
	AddTurns(ctx context.Context, space, thread string, turns ...Turn) error
}

// Asker answers on-demand SRE questions ("/devops ask"): with no model a
// deterministic intent router answers the common questions from the tools;
// with a model, any question is answered by the model calling the same
// read-only tools, citing the calls it used. Answers are redacted.
type Asker struct {
	Model     llms.Model // nil: the intent router only
	ModelName string
	MaxSteps  int
	Log       *slog.Logger
	Now       func() time.Time
}

// AskContext is what a question is asked about.
type AskContext struct {
	Task     *Task   // the space's tools (and, for a follow-up, the investigation)
	Report   *Report // the investigation's report, for follow-ups; nil otherwise
	Summary  string  // earlier conversation, summarised
	History  []Turn  // recent turns of the thread
	Question string
}

// Ask answers one question.
func (a *Asker) Ask(ctx context.Context, ac AskContext) (Answer, error) {
	var ans Answer
	var err error
	if a.Model != nil {
		ans, err = a.askModel(ctx, ac)
	} else {
		ans, err = a.route(ctx, ac)
	}
	if err != nil {
		return Answer{}, err
	}
	ans.Text, _ = guard.Redact(ans.Text)
	return ans, nil
}

func (a *Asker) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

var (
	intentChanges  = regexp.MustCompile(`(?i)\b(deploy\w*|changes?|changed|releases?|rollouts?|what changed|config changes?|flags?)\b`)
	intentAlarms   = regexp.MustCompile(`(?i)\b(alarms?|alerts?|firing|paging|pages)\b`)
	intentTopology = regexp.MustCompile(`(?i)\b(depends?|dependen\w*|upstream|downstream|topology|calls|callers?|blast radius|neighbou?r\w*|talks to|uses)\b`)
	intentConfig   = regexp.MustCompile(`(?i)\b(config\w*|spec|limits?|requests|replicas|containers?|describe|settings?|sized?|resources? of)\b`)
	intentHistory  = regexp.MustCompile(`(?i)\b(incidents?|history|before|patterns?|last time|how often|recurr\w*|again|previous\w*|past)\b`)
	intentFollowUp = regexp.MustCompile(`(?i)\b(why|root cause|evidence|plan|fix|mitigat\w*|roll ?back|alternatives?|else|gaps?|sure|confiden\w*)\b`)
)

// route is the deterministic intent router.
func (a *Asker) route(ctx context.Context, ac AskContext) (Answer, error) {
	q := ac.Question
	t := ac.Task
	if ac.Report != nil && (intentFollowUp.MatchString(q) || !intentAlarms.MatchString(q) && !intentTopology.MatchString(q) && !intentHistory.MatchString(q)) {
		text, intent := FollowUpAnswer(ac.Report, q)
		return Answer{Text: text, Intent: "followup:" + intent}, nil
	}
	res, resName := a.resolveResource(ctx, t, q)
	now := a.now()
	switch {
	case intentTopology.MatchString(q) && res != "":
		return a.topology(ctx, t, res, q)
	case intentHistory.MatchString(q):
		return a.history(ctx, t, res, now)
	case intentChanges.MatchString(q) && !strings.Contains(strings.ToLower(q), "config of"):
		return a.changes(ctx, t, res, now)
	case intentAlarms.MatchString(q):
		return a.alarms(ctx, t, res, now)
	case intentConfig.MatchString(q) && res != "":
		return a.describe(ctx, t, res)
	case res != "":
		return a.describe(ctx, t, res)
	}
	_ = resName
	return Answer{Intent: "help", Text: "I can answer, from this space's tools: what changed or was deployed recently, which alarms are firing, " +
		"how a resource is configured, what depends on a resource (or what it depends on), and what incidents happened before. " +
		"Name the resource as it appears in the topology, e.g. \"what depends on orders-db?\"."}, nil
}

// resolveResource finds the resource a question names: an id, or a name
// (the last element of an id, or the display name) appearing in it.
func (a *Asker) resolveResource(ctx context.Context, t *Task, q string) (string, string) {
	tool := firstTool(t, CategoryResources)
	if tool == "" {
		return "", ""
	}
	res, _, err := t.Call(ctx, tool, ResourceQuery{})
	if err != nil {
		return "", ""
	}
	var rr ResourcesResult
	if json.Unmarshal(res.Data, &rr) != nil {
		return "", ""
	}
	lower := strings.ToLower(q)
	best, bestName, bestRank := "", "", 0
	for _, r := range rr.Resources {
		// An id names a resource better than the last element of an id,
		// which names it better than a display name several resources may
		// share (a security group called after its database).
		for rank, name := range []string{r.Name, lastElem(r.ID), r.ID} {
			n := strings.ToLower(name)
			if len(n) < 3 || !containsWord(lower, n) {
				continue
			}
			if len(n) > len(bestName) || len(n) == len(bestName) && rank+1 > bestRank {
				best, bestName, bestRank = r.ID, n, rank+1
			}
		}
	}
	return best, bestName
}

func containsWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || !isWordByte(s[j-1])
		after := j+len(w) == len(s) || !isWordByte(s[j+len(w)])
		if before && after {
			return true
		}
		i = j + 1
	}
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '/'
}

func (a *Asker) changes(ctx context.Context, t *Task, resource string, now time.Time) (Answer, error) {
	tool := firstTool(t, CategoryChanges)
	if tool == "" {
		return Answer{Intent: "changes", Text: "This space has no change history tool."}, nil
	}
	res, ref, err := t.Call(ctx, tool, ChangeQuery{Resource: resource, Start: now.Add(-24 * time.Hour), End: now})
	if err != nil {
		return Answer{}, err
	}
	var cr ChangesResult
	if err := json.Unmarshal(res.Data, &cr); err != nil {
		return Answer{}, fmt.Errorf("read changes: %w", err)
	}
	sort.Slice(cr.Changes, func(i, j int) bool { return cr.Changes[i].T.After(cr.Changes[j].T) })
	scope := "this space"
	if resource != "" {
		scope = resource
	}
	if len(cr.Changes) == 0 {
		return Answer{Intent: "changes", Citations: []string{ref}, Text: fmt.Sprintf("No changes in %s in the last 24 hours _(%s)_.", scope, ref)}, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%d changes in %s in the last 24 hours* _(%s)_\n", len(cr.Changes), scope, ref)
	for i, c := range cr.Changes {
		if i == 15 {
			fmt.Fprintf(&b, "… and %d more\n", len(cr.Changes)-15)
			break
		}
		fmt.Fprintf(&b, "- %s %s `%s` by %s: %s\n", c.T.UTC().Format("Jan 02 15:04"), c.Kind, c.Resource, orDash(c.Actor), c.Summary)
	}
	return Answer{Intent: "changes", Citations: []string{ref}, Text: strings.TrimRight(b.String(), "\n")}, nil
}

func (a *Asker) alarms(ctx context.Context, t *Task, resource string, now time.Time) (Answer, error) {
	tool := firstTool(t, CategoryAlarms)
	if tool == "" {
		return Answer{Intent: "alarms", Text: "This space has no alarms tool."}, nil
	}
	res, ref, err := t.Call(ctx, tool, AlarmQuery{Resource: resource, Start: now.Add(-6 * time.Hour), End: now})
	if err != nil {
		return Answer{}, err
	}
	var ar AlarmsResult
	if err := json.Unmarshal(res.Data, &ar); err != nil {
		return Answer{}, fmt.Errorf("read alarms: %w", err)
	}
	var firing []AlarmInfo
	for _, al := range ar.Alarms {
		if al.State != "resolved" {
			firing = append(firing, al)
		}
	}
	if len(firing) == 0 {
		return Answer{Intent: "alarms", Citations: []string{ref}, Text: fmt.Sprintf("No alarm is firing _(%s)_.", ref)}, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%d alarms firing* _(%s)_\n", len(firing), ref)
	for _, al := range firing {
		fmt.Fprintf(&b, "- %s %s on `%s` since %s (%s)\n", icon(al.Severity), al.Name, orDash(al.Resource), al.Since.UTC().Format("15:04"), orDash(al.Source))
	}
	return Answer{Intent: "alarms", Citations: []string{ref}, Text: strings.TrimRight(b.String(), "\n")}, nil
}

func icon(s Severity) string {
	switch s {
	case SeverityCritical:
		return "🔴"
	case SeverityError:
		return "🟠"
	case SeverityWarning:
		return "🟡"
	}
	return "⚪"
}

func (a *Asker) describe(ctx context.Context, t *Task, resource string) (Answer, error) {
	tool := firstTool(t, CategoryDescribe)
	if tool == "" {
		return Answer{Intent: "config", Text: "This space has no tool to describe resources."}, nil
	}
	res, ref, err := t.Call(ctx, tool, DescribeQuery{Resource: resource})
	if err != nil {
		return Answer{}, err
	}
	var ri ResourceInfo
	if err := json.Unmarshal(res.Data, &ri); err != nil {
		return Answer{}, fmt.Errorf("read resource: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%s* (%s) _(%s)_\n", ri.ID, ri.Type, ref)
	for _, c := range containersOf(map[string]any(ri.Spec)) {
		role := ""
		if c.sidecar {
			role = " (sidecar)"
		}
		fmt.Fprintf(&b, "- container %s%s: CPU limit %s, memory limit %s\n", c.name, role, orDash(c.cpuLimit), orDash(c.memLimit))
	}
	if len(ri.DependsOn) > 0 {
		fmt.Fprintf(&b, "- depends on: %s\n", strings.Join(ri.DependsOn, ", "))
	}
	if len(ri.Labels) > 0 {
		var kv []string
		for _, k := range sortedKeys(ri.Labels) {
			kv = append(kv, k+"="+ri.Labels[k])
		}
		fmt.Fprintf(&b, "- labels: %s\n", strings.Join(kv, ", "))
	}
	spec, _ := json.MarshalIndent(ri.Spec, "", "  ")
	if len(spec) > 0 && string(spec) != "null" {
		if len(spec) > 1500 {
			spec = append(spec[:1500], "\n…"...)
		}
		fmt.Fprintf(&b, "```\n%s\n```", spec)
	}
	return Answer{Intent: "config", Citations: []string{ref}, Text: strings.TrimRight(b.String(), "\n")}, nil
}

func (a *Asker) topology(ctx context.Context, t *Task, resource, q string) (Answer, error) {
	tool := firstTool(t, CategoryTopology)
	if tool == "" {
		return Answer{Intent: "topology", Text: "This space has no topology tool."}, nil
	}
	res, ref, err := t.Call(ctx, tool, TopologyQuery{Resource: resource, Depth: 3})
	if err != nil {
		return Answer{}, err
	}
	var tr TopologyResult
	if err := json.Unmarshal(res.Data, &tr); err != nil {
		return Answer{}, fmt.Errorf("read topology: %w", err)
	}
	callers, callees := map[string][]string{}, map[string][]string{}
	for _, e := range tr.Edges {
		callees[e.From] = append(callees[e.From], e.To)
		callers[e.To] = append(callers[e.To], e.From)
	}
	walk := func(next map[string][]string) []string {
		seen := map[string]bool{resource: true}
		frontier, out := []string{resource}, []string(nil)
		for len(frontier) > 0 {
			var nf []string
			for _, x := range frontier {
				for _, y := range next[x] {
					if !seen[y] {
						seen[y] = true
						out = append(out, y)
						nf = append(nf, y)
					}
				}
			}
			frontier = nf
		}
		return out
	}
	up, down := walk(callers), walk(callees)
	lower := strings.ToLower(q)
	var b strings.Builder
	asksDependents := strings.Contains(lower, "depends on "+lastElem(strings.ToLower(resource))) || strings.Contains(lower, "what depends") ||
		strings.Contains(lower, "who depends") || strings.Contains(lower, "blast") || strings.Contains(lower, "callers") || strings.Contains(lower, "uses ")
	if asksDependents || !strings.Contains(lower, "does") {
		fmt.Fprintf(&b, "*What depends on %s* (its blast radius, within 3 hops) _(%s)_\n", resource, ref)
		writeList(&b, up)
	}
	if !asksDependents || strings.Contains(lower, "and") {
		fmt.Fprintf(&b, "*What %s depends on* _(%s)_\n", resource, ref)
		writeList(&b, down)
	}
	return Answer{Intent: "topology", Citations: []string{ref}, Text: strings.TrimRight(b.String(), "\n")}, nil
}

func writeList(b *strings.Builder, ids []string) {
	if len(ids) == 0 {
		b.WriteString("- nothing\n")
		return
	}
	for _, id := range ids {
		fmt.Fprintf(b, "- `%s`\n", id)
	}
}

func (a *Asker) history(ctx context.Context, t *Task, resource string, now time.Time) (Answer, error) {
	tool := firstTool(t, CategoryHistory)
	if tool == "" {
		return Answer{Intent: "history", Text: "This space keeps no incident history yet."}, nil
	}
	res, ref, err := t.Call(ctx, tool, HistoryQuery{Resource: resource, Start: now.Add(-90 * 24 * time.Hour), End: now, Limit: 50})
	if err != nil {
		return Answer{}, err
	}
	var hr HistoryResult
	if err := json.Unmarshal(res.Data, &hr); err != nil {
		return Answer{}, fmt.Errorf("read history: %w", err)
	}
	if len(hr.Incidents) == 0 {
		return Answer{Intent: "history", Citations: []string{ref}, Text: fmt.Sprintf("No past investigations in the last 90 days _(%s)_.", ref)}, nil
	}
	byCat, byRes := map[string]int{}, map[string]int{}
	for _, in := range hr.Incidents {
		if in.Category != "" {
			byCat[in.Category]++
		}
		if in.RootCause != "" {
			byRes[in.RootCause]++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%d investigations in the last 90 days* _(%s)_\n", len(hr.Incidents), ref)
	if len(byCat) > 0 {
		b.WriteString("Patterns: " + topCounts(byCat) + "\n")
	}
	if len(byRes) > 0 {
		b.WriteString("Most frequent root causes: " + topCounts(byRes) + "\n")
	}
	for i, in := range hr.Incidents {
		if i == 10 {
			break
		}
		fmt.Fprintf(&b, "- %s %s — %s (%s)\n", in.OpenedAt.UTC().Format("Jan 02 15:04"), in.Title, orDash(in.RootCause), orDash(in.Category))
	}
	return Answer{Intent: "history", Citations: []string{ref}, Text: strings.TrimRight(b.String(), "\n")}, nil
}

func topCounts(m map[string]int) string {
	keys := sortedKeys(m)
	sort.SliceStable(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	var parts []string
	for i, k := range keys {
		if i == 5 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

const askSystemPrompt = `You are Nightshift, an on-call site reliability engineer answering a colleague's question in chat.
Answer from the space's read-only tools: call them to look things up (deployment and change history, active alarms,
resource configuration, topology, incident history), then answer concisely in Markdown. Cite every fact with the tool
call it comes from, e.g. "(list_changes#2)". If the tools cannot answer, say what is missing. Never claim to have changed anything.

`

// askModel answers with the model calling tools.
func (a *Asker) askModel(ctx context.Context, ac AskContext) (Answer, error) {
	t := ac.Task
	tools := modelTools(t)
	var ctxText strings.Builder
	if ac.Report != nil {
		ctxText.WriteString("This question is asked in the thread of an investigation. Its report:\n")
		ctxText.WriteString(guard.Fence("report", ac.Report.Investigation, ac.Report.Summary) + "\n")
	}
	if ac.Summary != "" {
		ctxText.WriteString("Earlier in this thread (summarised):\n" + guard.Fence("chat", "summary", ac.Summary) + "\n")
	}
	for i, turn := range ac.History {
		ctxText.WriteString(guard.Fence("chat:"+turn.Role, fmt.Sprintf("turn-%d", i+1), turn.Text) + "\n")
	}
	msgs := []llms.MessageContent{
		llms.TextParts(llms.ChatMessageTypeSystem, askSystemPrompt+guard.FenceInstructions),
		llms.TextParts(llms.ChatMessageTypeHuman, ctxText.String()+"Question:\n"+guard.Fence("chat:user", "question", ac.Question)),
	}
	steps := a.MaxSteps
	if steps <= 0 {
		steps = 8
	}
	var cites []string
	for step := 1; step <= steps; step++ {
		resp, err := a.Model.GenerateContent(ctx, msgs, llms.WithTools(tools))
		if err != nil {
			return Answer{}, fmt.Errorf("ask the model: %s", SafeError(err))
		}
		choice, calls := merge(resp)
		p, c := usageOf(choice)
		t.ModelUsage(p + c)
		if len(calls) == 0 {
			return Answer{Intent: "llm", Text: choice.Content, Citations: cites}, nil
		}
		msgs = append(msgs, aiMessage(choice, calls))
		for _, call := range calls {
			reply, ref := callForModel(ctx, t, call.FunctionCall.Name, call.FunctionCall.Arguments)
			if ref != "" {
				cites = append(cites, ref)
			}
			msgs = append(msgs, toolMessage(call.ID, call.FunctionCall.Name, reply))
		}
	}
	return Answer{Intent: "llm", Text: "I could not finish looking this up within my step budget.", Citations: cites}, nil
}

// HistorySource is what the history tool reads (the store).
type HistorySource interface {
	Investigations(ctx context.Context, space string, status InvestigationStatus, limit int) ([]Investigation, error)
	Report(ctx context.Context, space, id string) (*Report, error)
}

// HistoryTool is the incident-history tool of a space: past investigations
// with their root causes, newest first.
func HistoryTool(src HistorySource, space string) Tool {
	return Tool{
		Name:     "incident_history",
		Category: CategoryHistory,
		Description: "Past investigations of this space, newest first, with their root cause and category. " +
			"Filter by resource to see whether it failed before; use it to spot recurring incidents.",
		Parameters: json.RawMessage(`{"type":"object","properties":{"resource":{"type":"string"},"start":{"type":"string","format":"date-time"},` +
			`"end":{"type":"string","format":"date-time"},"limit":{"type":"integer","minimum":1,"maximum":200}},"additionalProperties":false}`),
		ReadOnly: true,
		Call: func(ctx context.Context, args json.RawMessage) (Result, error) {
			var q HistoryQuery
			if len(args) > 0 {
				if err := json.Unmarshal(args, &q); err != nil {
					return Result{}, Invalid("args", "%v", err)
				}
			}
			if q.Limit <= 0 || q.Limit > 200 {
				q.Limit = 50
			}
			invs, err := src.Investigations(ctx, space, "", 500)
			if err != nil {
				return Result{}, err
			}
			var out HistoryResult
			for _, inv := range invs {
				if !q.Start.IsZero() && inv.OpenedAt.Before(q.Start) || !q.End.IsZero() && inv.OpenedAt.After(q.End) {
					continue
				}
				pi := PastIncident{ID: inv.ID, Title: inv.Title, OpenedAt: inv.OpenedAt, Resources: inv.Resources}
				if inv.Status == StatusResolved {
					pi.Resolution = "resolved " + inv.ResolvedAt.UTC().Format(time.RFC3339)
				}
				if rep, err := src.Report(ctx, space, inv.ID); err == nil && rep != nil {
					if top := rep.Top(); top != nil {
						pi.RootCause, pi.Category = top.Resource, top.Category
					}
				}
				if q.Resource != "" && pi.RootCause != q.Resource && !contains(inv.Resources, q.Resource) {
					continue
				}
				out.Incidents = append(out.Incidents, pi)
				if len(out.Incidents) == q.Limit {
					break
				}
			}
			return NewResult(fmt.Sprintf("%d past investigations", len(out.Incidents)), out)
		},
	}
}
