package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/nightshift-ops/nightshift/bot"
	"github.com/nightshift-ops/nightshift/bot/console"
	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/llm"
)

// defaultDemoScenario is the scenario the demo plays when none is named: a
// root cause nobody would look at first (a sidecar's own CPU limit).
const defaultDemoScenario = "catalog-sidecar-throttling"

func demoCmd(e env) *cobra.Command {
	var scenario string
	var once bool
	var pace time.Duration
	var lf llmFlags
	c := &cobra.Command{
		Use:   "demo",
		Short: "The whole product in a minute: a simulated incident investigated in a terminal chat thread",
		Long: `Runs everything embedded — store, simulated retail store on a simulated cloud
account and Kubernetes cluster, evidence reasoner — and renders the incident
channel and the investigation thread in the terminal as they stream.

Without --once it stays interactive: ask follow-up questions in the thread
("why?", "what changed?", "what should we do?", "what else could it be?"),
react with :+1: or :-1:, or type "quit".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("pace") && once {
				pace = 0
			}
			lc, err := lf.resolve(llm.Config{}, e.getenv)
			if err != nil {
				return err
			}
			return runDemo(cmd.Context(), e, os.Stdin, scenario, once, pace, lc)
		},
	}
	c.Flags().StringVar(&scenario, "scenario", defaultDemoScenario, "built-in scenario name or scenario file")
	c.Flags().BoolVar(&once, "once", false, "play the scenario and exit (no interactive thread)")
	c.Flags().DurationVar(&pace, "pace", 150*time.Millisecond, "pause between streamed updates, so a person can follow them")
	lf.add(c)
	return c
}

// pacedPoster slows a poster down so that streaming is visible.
type pacedPoster struct {
	bot.Poster
	pace time.Duration
}

func (p pacedPoster) Post(ctx context.Context, ch, th string, m bot.Message) (bot.Ref, error) {
	time.Sleep(p.pace)
	return p.Poster.Post(ctx, ch, th, m)
}

func (p pacedPoster) Update(ctx context.Context, ref bot.Ref, m bot.Message) error {
	time.Sleep(p.pace)
	return p.Poster.Update(ctx, ref, m)
}

func runDemo(ctx context.Context, e env, in io.Reader, scenario string, once bool, pace time.Duration, lc llm.Config) error {
	l, err := loadScenario(scenario)
	if err != nil {
		return err
	}
	w, err := newWorld(l, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer w.Close()
	if w.model, err = modelOf(ctx, lc); err != nil {
		return err
	}
	w.llm = lc
	const channel = "C-INCIDENTS"
	con := console.New(e.stdout, map[string]string{channel: "#incidents"})
	con.Say("Nightshift demo · scenario %q · %s", l.Scenario.Name, l.Scenario.Summary)
	con.Say("Simulated space %q: retail store on EKS with RDS, DynamoDB, ElastiCache, SQS, Lambda. Everything runs in this process.", w.space.Name)
	threads := bot.NewThreads(bot.ThreadsOptions{
		Poster:  pacedPoster{con, pace},
		Channel: func(string) string { return channel },
	})
	outs, opened, err := w.deliver(ctx, nil)
	if err != nil {
		return err
	}
	_ = outs
	rep, err := w.investigate(ctx, opened[0], threads)
	if err != nil {
		return err
	}
	threads.Flush(ctx)
	if once {
		return nil
	}
	thread, _ := threads.ThreadOf(opened[0])
	con.Say("\nAsk in the thread (why? / what changed? / what should we do? / what else?), react with :+1: or :-1:, or type quit.")
	sc := bufio.NewScanner(in)
	var mu sync.Mutex
	for {
		fmt.Fprint(e.stdout, "you › ")
		if !sc.Scan() {
			fmt.Fprintln(e.stdout)
			return sc.Err()
		}
		text := strings.TrimSpace(sc.Text())
		mu.Lock()
		switch {
		case text == "":
		case text == "quit" || text == "exit":
			mu.Unlock()
			return nil
		case text == ":+1:" || text == "+1" || text == "👍" || text == ":-1:" || text == "-1" || text == "👎":
			verdict := engine.VerdictAccurate
			if strings.Contains(text, "-") || text == "👎" {
				verdict = engine.VerdictInaccurate
			}
			err := engine.AppendEntry(ctx, w.store, w.space.Name, opened[0], engine.EntryFeedback, "console:you",
				map[string]any{"verdict": verdict, "root_cause": rep.Top().Resource}, time.Now())
			msg := fmt.Sprintf("Thanks — recorded the root cause as *%s* in the investigation's journal.", verdict)
			if err != nil {
				msg = "Could not record the feedback: " + err.Error()
			}
			con.Post(ctx, channel, thread.ID, bot.Message{Text: msg})
		default:
			if w.model == nil {
				con.Post(ctx, channel, thread.ID, bot.FollowUp(rep, text))
				break
			}
			// With a model, follow-ups are answered with the tools and the
			// thread's memory, as in Slack or Teams.
			reg := engine.NewRegistry()
			_ = reg.Add(w.env.Tools()...)
			task := engine.NewTask(w.space.Name, engine.Investigation{ID: opened[0]}, nil, reg, w.store, nil)
			summary, turns, _ := w.store.Conversation(ctx, w.space.Name, opened[0])
			asker := &engine.Asker{Model: w.model, ModelName: lc.Model, MaxSteps: lc.MaxSteps}
			ans, err := asker.Ask(ctx, engine.AskContext{Task: task, Report: rep, Summary: summary, History: turns, Question: text})
			if err != nil {
				ans.Text = "Could not answer: " + err.Error()
			}
			_ = w.store.AddTurns(ctx, w.space.Name, opened[0], engine.Turn{Role: "user", Who: "you", Text: text, At: time.Now()},
				engine.Turn{Role: "assistant", Text: ans.Text, At: time.Now()})
			con.Post(ctx, channel, thread.ID, bot.Message{Text: ans.Text})
		}
		mu.Unlock()
	}
}
