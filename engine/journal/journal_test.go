package journal

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func chain(t *testing.T, n int) []Entry {
	t.Helper()
	var out []Entry
	head := Head{}
	for i := 0; i < n; i++ {
		e, h, err := Seal(head, Entry{
			Time:  time.Date(2026, 11, 1, 2, 0, i, 123456789, time.UTC),
			Type:  "tool_call",
			Actor: "reasoner",
			Data:  json.RawMessage(`{"z":1,"a":{"y":"<b>","x":[1,2.50,3e2]}}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
		head = h
	}
	return out
}

func TestVerifyIntact(t *testing.T) {
	if err := Verify(nil); err != nil {
		t.Fatalf("empty journal: %v", err)
	}
	es := chain(t, 5)
	if err := Verify(es); err != nil {
		t.Fatalf("intact journal: %v", err)
	}
	// Round trip through JSON (what the store does) keeps it intact.
	b, _ := json.Marshal(es)
	var back []Entry
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := Verify(back); err != nil {
		t.Fatalf("after JSON round trip: %v", err)
	}
}

func TestVerifyDetects(t *testing.T) {
	tests := []struct {
		name    string
		tamper  func([]Entry) []Entry
		wantSeq int64
	}{
		{"edited data", func(es []Entry) []Entry { es[2].Data = json.RawMessage(`{"z":2}`); return es }, 3},
		{"edited actor", func(es []Entry) []Entry { es[0].Actor = "mallory"; return es }, 1},
		{"edited time", func(es []Entry) []Entry { es[4].Time = es[4].Time.Add(time.Second); return es }, 5},
		{"removed entry", func(es []Entry) []Entry { return append(es[:1], es[2:]...) }, 3},
		{"swapped entries", func(es []Entry) []Entry { es[1], es[2] = es[2], es[1]; return es }, 3},
		{"rehashed edit", func(es []Entry) []Entry {
			es[1].Type = "finding"
			es[1].Hash, _ = Hash(es[1]) // attacker recomputes this hash; the next link breaks
			return es
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.tamper(chain(t, 5)))
			var be *BrokenError
			if !errors.As(err, &be) {
				t.Fatalf("Verify = %v, want *BrokenError", err)
			}
			if be.Seq != tt.wantSeq {
				t.Errorf("broken at %d, want %d (%v)", be.Seq, tt.wantSeq, err)
			}
		})
	}
}

func TestCanonicalKeyOrderAndNumbers(t *testing.T) {
	a := Entry{Seq: 1, Time: time.Unix(0, 0), Type: "t", Actor: "a", Data: json.RawMessage(`{"b":1.50,"a":"<&>"}`)}
	b := a
	b.Data = json.RawMessage(`{ "a" : "<&>", "b" : 1.50 }`)
	ca, err := Canonical(a)
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := Canonical(b)
	if string(ca) != string(cb) {
		t.Fatalf("canonical forms differ:\n%s\n%s", ca, cb)
	}
	want := `{"actor":"a","data":{"a":"<&>","b":1.50},"seq":1,"time":"1970-01-01T00:00:00Z","type":"t"}`
	if string(ca) != want {
		t.Fatalf("got  %s\nwant %s", ca, want)
	}
}

func TestHeadRoundTrip(t *testing.T) {
	for _, h := range []Head{{}, {Seq: 7, Hash: "abc"}} {
		got, err := ParseHead(h.String())
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != h.Seq || got.PrevHash() != h.PrevHash() {
			t.Errorf("ParseHead(%q) = %+v, want %+v", h.String(), got, h)
		}
	}
	if _, err := ParseHead("nonsense"); err == nil {
		t.Error("ParseHead(nonsense) succeeded")
	}
}
