package teams

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

type staticToken string

func (s staticToken) Token(context.Context) (string, error) { return string(s), nil }

func TestGroupsMemberOf(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer graph-token" {
			http.Error(w, `{"error":{"code":"InvalidAuthenticationToken"}}`, http.StatusUnauthorized)
			return
		}
		if !strings.HasSuffix(r.URL.Path, "/checkMemberGroups") {
			http.NotFound(w, r)
			return
		}
		var in struct {
			GroupIDs []string `json:"groupIds"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		var out []string
		if strings.Contains(r.URL.Path, "/users/alice/") {
			out = in.GroupIDs // alice is in every group
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"value": out})
	}))
	defer srv.Close()
	g := NewGroups(staticToken("graph-token"), srv.URL+"/v1.0", nil)
	ctx := context.Background()
	if ok, err := g.MemberOf(ctx, "g-oncall", "alice"); err != nil || !ok {
		t.Fatalf("alice: %v %v", ok, err)
	}
	if ok, err := g.MemberOf(ctx, "g-oncall", "bob"); err != nil || ok {
		t.Fatalf("bob: %v %v", ok, err)
	}
	g.MemberOf(ctx, "g-oncall", "alice")
	if n := calls.Load(); n != 2 {
		t.Errorf("%d Graph calls, want 2 (answers are cached)", n)
	}
	bad := NewGroups(staticToken("wrong"), srv.URL+"/v1.0/", nil)
	if _, err := bad.MemberOf(ctx, "g", "alice"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("unauthorized: %v", err)
	}
}
