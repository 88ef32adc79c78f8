package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/store"
)

// journal verify exits 0 on an intact chain, and 2 naming the first bad
// entry after an entry is edited directly in Redis; export writes JSON lines.
func TestJournalVerifyCLI(t *testing.T) {
	url := testRedisURL(t)
	if url == "" {
		t.Skip("journal verify reads a real Redis")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "cli:" + hex.EncodeToString(b[:]) + ":"
	cfgPath := filepath.Join(t.TempDir(), "n.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf("redis: {url: %q, prefix: %q}\nspaces: [{name: ops}]\n", url, prefix)), 0o600)

	st, err := store.Open(store.Config{URL: url, Prefix: prefix}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	defer cleanup(context.Background(), st.Client(), prefix)
	ctx := context.Background()
	in := engine.NewIntake(st, nil, nil)
	sp := engine.Space{Name: "ops"}
	o, err := in.Receive(ctx, sp, engine.Alert{Source: "generic", DeliveryID: "d1", Fingerprint: "f1", Title: "disk full", Service: "db"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Receive(ctx, sp, engine.Alert{Source: "generic", DeliveryID: "d2", Fingerprint: "f2", Title: "slow", Service: "db"}); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(ctx, args, func(string) string { return "" }, &out, &errb)
		return code, out.String(), errb.String()
	}
	base := []string{"--config", cfgPath, "--space", "ops", "--investigation", o.Investigation}
	code, out, errOut := cli(append([]string{"journal", "verify"}, base...)...)
	if code != 0 || !strings.Contains(out, "intact: 5 entries") {
		t.Fatalf("verify intact: %d %q %q", code, out, errOut)
	}
	code, out, _ = cli(append([]string{"journal", "export"}, base...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 5 {
		t.Fatalf("export: %d, %d lines", code, len(lines))
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first["type"] != "alert_received" {
		t.Fatalf("first exported line: %s", lines[0])
	}

	// Edit entry 4 in place: rewrite the stream with the same ids.
	key := st.Key("ops", "journal:"+o.Investigation)
	rdb := st.Client()
	msgs, _ := rdb.XRange(ctx, key, "-", "+").Result()
	rdb.Del(ctx, key)
	for i, m := range msgs {
		v := m.Values["e"].(string)
		if i == 3 {
			v = strings.Replace(v, `"actor":"intake"`, `"actor":"mallory"`, 1)
		}
		rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, ID: m.ID, Values: map[string]any{"e": v}})
	}
	code, _, errOut = cli(append([]string{"journal", "verify"}, base...)...)
	if code != 2 || !strings.Contains(errOut, "entry 4") {
		t.Fatalf("verify tampered: %d %q", code, errOut)
	}
	code, _, errOut = cli("journal", "verify", "--config", cfgPath)
	if code == 0 || !strings.Contains(errOut, "--space") {
		t.Fatalf("verify without flags: %d %q", code, errOut)
	}
}
