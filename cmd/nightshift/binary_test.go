package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-ops/nightshift/bot/teams/teamstest"
)

// The built binary, as a user runs it: `nightshift serve --config F` with
// Slack's api_url and Teams' endpoints pointed at the local fakes. A webhook
// alert opens a thread on both, /devops help is answered in Slack and
// "@Nightshift help" in Teams.
func TestBinaryServesSlackAndTeams(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	e := newTeamsEnv(t, true)
	bin := filepath.Join(t.TempDir(), "nightshift")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--config", e.cfg)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrs := make(chan string, 1)
	logs := &syncBuffer{}
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`msg=listening bound=(\S+)`)
		for sc.Scan() {
			logs.Write([]byte(sc.Text() + "\n"))
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrs <- m[1]
			}
		}
	}()
	defer func() {
		cancel()
		_ = cmd.Wait()
	}()
	var addr string
	select {
	case addr = <-addrs:
	case <-time.After(60 * time.Second):
		t.Fatalf("the binary did not start\n%s", logs)
	}
	if !e.slack.WaitConnections(1, 10*time.Second) {
		t.Fatalf("no Socket Mode connection\n%s", logs)
	}
	code, hr, _ := post(t, "http://"+addr+"/hooks/retail-prod/alertmanager",
		amAlert("OrdersOOM", "eks/retail/orders/deployment/orders", "orders"), map[string]string{"Authorization": "Bearer am"})
	if code != 200 {
		t.Fatalf("intake: %d %+v", code, hr)
	}
	if !e.fake.Wait(20*time.Second, func() bool { return len(e.fake.Conversations()) == 1 }) {
		t.Errorf("no Teams thread\n%s", logs)
	}
	waitFor(t, 20*time.Second, "a Slack parent message", func() bool { return len(posts(e.slack, "C0INCIDENT", "")) == 1 })

	if err := e.slack.Send(e.slack.SlashEnvelope("bin-1", map[string]string{"user_id": "U0ALICE", "channel_id": "C0INCIDENT", "text": "help"})); err != nil {
		t.Fatal(err)
	}
	if rs, ok := e.slack.WaitResponses(1, 10*time.Second); !ok || !strings.Contains(fmt.Sprint(rs[0].Body), "/devops ask") {
		t.Errorf("/devops help: %v\n%s", rs, logs)
	}
	help := e.fake.MessageActivity(teamstest.MessageOptions{Text: "help", From: e.alice})
	if code, body, err := e.fake.Deliver(context.Background(), "http://"+addr+"/api/messages", help); err != nil || code != http.StatusOK {
		t.Fatalf("teams help: %d %s %v", code, body, err)
	}
	if _, ok := e.fake.WaitThread(teamstest.DefaultChannelID+";messageid="+help["id"].(string), 10*time.Second, func(as []teamstest.Activity) bool {
		for _, a := range as {
			if strings.Contains(cardText(a), "/devops ask") {
				return true
			}
		}
		return false
	}); !ok {
		t.Errorf("no Teams help answer\n%s", logs)
	}
}
