// Package journal defines Nightshift's tamper-evident journal format: an
// append-only sequence of entries, each sealed with
//
//	hash = hex(SHA-256(prev_hash || canonical JSON of {seq, time, type, actor, data}))
//
// so that changing, removing or reordering any entry breaks every hash after
// it. The package is pure: it seals and verifies entries; where they are kept
// (a Redis Stream per investigation) is the store's business. It imports no
// other package of the project.
package journal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Genesis is the prev_hash of the first entry of every journal.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Entry is one journal entry.
type Entry struct {
	Seq      int64           `json:"seq"` // 1, 2, 3, ... without gaps
	Time     time.Time       `json:"time"`
	Type     string          `json:"type"`  // alert_received, correlated, tool_call, ...
	Actor    string          `json:"actor"` // "intake", "reasoner", "slack:U123", ...
	Data     json.RawMessage `json:"data"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// Head identifies the last entry of a journal: what the next entry chains to.
// The zero Head is an empty journal.
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// PrevHash is the hash the next entry must carry as prev_hash.
func (h Head) PrevHash() string {
	if h.Hash == "" {
		return Genesis
	}
	return h.Hash
}

// String encodes a head as "seq:hash" (the form stores keep).
func (h Head) String() string { return fmt.Sprintf("%d:%s", h.Seq, h.PrevHash()) }

// ParseHead reverses Head.String. The empty string is the empty journal.
func ParseHead(s string) (Head, error) {
	if s == "" {
		return Head{}, nil
	}
	var h Head
	i := bytes.IndexByte([]byte(s), ':')
	if i < 0 {
		return Head{}, fmt.Errorf("journal head %q: want seq:hash", s)
	}
	if _, err := fmt.Sscanf(s[:i], "%d", &h.Seq); err != nil {
		return Head{}, fmt.Errorf("journal head %q: %w", s, err)
	}
	h.Hash = s[i+1:]
	if h.Seq == 0 {
		h.Hash = ""
	}
	return h, nil
}

// Seal fills e's Seq, PrevHash and Hash so that it follows head, and returns
// the sealed entry and the new head. e.Time is truncated to microseconds and
// put in UTC so that it survives every encoding unchanged.
func Seal(head Head, e Entry) (Entry, Head, error) {
	e.Seq = head.Seq + 1
	e.PrevHash = head.PrevHash()
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	if len(e.Data) == 0 {
		e.Data = json.RawMessage("{}")
	}
	h, err := Hash(e)
	if err != nil {
		return Entry{}, head, err
	}
	e.Hash = h
	return e, Head{Seq: e.Seq, Hash: h}, nil
}

// Hash computes the hash an entry must carry, from its prev_hash and content.
func Hash(e Entry) (string, error) {
	body, err := Canonical(e)
	if err != nil {
		return "", err
	}
	sum := sha256.New()
	sum.Write([]byte(e.PrevHash))
	sum.Write(body)
	return hex.EncodeToString(sum.Sum(nil)), nil
}

// Canonical returns the canonical JSON of the hashed part of an entry:
// {"actor","data","seq","time","type"} with object keys sorted at every depth,
// no insignificant white space, HTML characters unescaped, numbers kept as
// written, and time in RFC 3339 with nanoseconds in UTC.
func Canonical(e Entry) ([]byte, error) {
	data := []byte("null")
	if len(e.Data) > 0 {
		d, rest, err := canonicalValue(make([]byte, 0, len(e.Data)), e.Data)
		if err != nil {
			return nil, fmt.Errorf("journal entry %d data: %w", e.Seq, err)
		}
		if len(skipSpace(rest)) > 0 {
			return nil, fmt.Errorf("journal entry %d data: trailing bytes after JSON", e.Seq)
		}
		data = d
	}
	return appendCanonical(make([]byte, 0, len(data)+128), e, data), nil
}

// BrokenError says where a journal stops being intact.
type BrokenError struct {
	Seq    int64  // the first bad entry
	Reason string // "hash mismatch", "prev_hash does not match entry 4", "sequence gap"
}

func (e *BrokenError) Error() string {
	return fmt.Sprintf("journal broken at entry %d: %s", e.Seq, e.Reason)
}

// Verify checks a whole journal, oldest entry first. It returns nil for an
// intact chain (including the empty one) and a *BrokenError naming the first
// bad entry otherwise.
func Verify(entries []Entry) error {
	head := Head{}
	for i, e := range entries {
		want := int64(i + 1)
		if e.Seq != want {
			return &BrokenError{Seq: e.Seq, Reason: fmt.Sprintf("sequence: want %d", want)}
		}
		if e.PrevHash != head.PrevHash() {
			return &BrokenError{Seq: e.Seq, Reason: fmt.Sprintf("prev_hash does not match the hash of entry %d", head.Seq)}
		}
		h, err := Hash(e)
		if err != nil {
			return &BrokenError{Seq: e.Seq, Reason: err.Error()}
		}
		if h != e.Hash {
			return &BrokenError{Seq: e.Seq, Reason: "content does not match its hash"}
		}
		head = Head{Seq: e.Seq, Hash: e.Hash}
	}
	return nil
}
