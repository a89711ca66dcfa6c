package authz

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/watchcached/watchcached/server"
)

// fixed is an authorizer with one answer that counts its calls.
type fixed struct {
	d      server.Decision
	reason string
	err    error
	calls  *int
}

func (f fixed) Authorize(context.Context, server.Attributes) (server.Decision, string, error) {
	*f.calls++
	return f.d, f.reason, f.err
}

// TestB152_UnionSemantics: kube-apiserver's union authorizer: the first
// Allow or Deny answers with its own reason and error and stops the
// chain; NoOpinion asks the next; when nobody has an opinion, every
// reason is named after its authorizer and every error is kept.
func TestB152_UnionSemantics(t *testing.T) {
	boom := errors.New("boom")
	for _, c := range []struct {
		name     string
		chain    []fixed
		decision server.Decision
		reason   string
		err      string
		calls    []int
	}{
		{"allow wins", []fixed{{d: server.DecisionNoOpinion, reason: "r1"}, {d: server.DecisionAllow, reason: "ok"}, {d: server.DecisionDeny}},
			server.DecisionAllow, "ok", "", []int{1, 1, 0}},
		{"deny stops", []fixed{{d: server.DecisionDeny, reason: "no"}, {d: server.DecisionAllow}},
			server.DecisionDeny, "no", "", []int{1, 0}},
		{"allow despite an earlier error", []fixed{{err: boom}, {d: server.DecisionAllow}},
			server.DecisionAllow, "", "", []int{1, 1}},
		{"no opinion", []fixed{{reason: "r1"}, {err: boom}, {reason: "r3", err: errors.New("bang")}},
			server.DecisionNoOpinion, "a0: r1\na2: r3", "[boom, bang]", []int{1, 1, 1}},
		{"nothing", []fixed{{}, {}}, server.DecisionNoOpinion, "", "", []int{1, 1}},
	} {
		calls := make([]int, len(c.chain))
		var u Union
		for i, f := range c.chain {
			f.calls = &calls[i]
			u = append(u, Named{Name: "a" + string(rune('0'+i)), Authorizer: f})
		}
		d, reason, err := u.Authorize(t.Context(), server.Attributes{})
		got := ""
		if err != nil {
			got = err.Error()
		}
		if d != c.decision || reason != c.reason || got != c.err || !slices.Equal(calls, c.calls) {
			t.Errorf("%s: %v %q %q calls %v, want %v %q %q calls %v", c.name, d, reason, got, calls, c.decision, c.reason, c.err, c.calls)
		}
	}
}
