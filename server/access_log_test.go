package server

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// accessLine is one access-log line as the JSON handler writes it.
type accessLine struct {
	Msg      string `json:"msg"`
	Level    string `json:"level"`
	Verb     string `json:"verb"`
	Path     string `json:"path"`
	User     string `json:"user"`
	Code     int    `json:"code"`
	Duration int64  `json:"duration"` // nanoseconds
	Bytes    int64  `json:"bytes"`
}

// accessLines are the access-log lines in logs, in order.
func accessLines(t *testing.T, logs *syncBuffer) []accessLine {
	t.Helper()
	var out []accessLine
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var a accessLine
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if a.Msg == "http request" {
			out = append(out, a)
		}
	}
	return out
}

// checkAccess compares a line with want, duration apart (it must be
// positive and under the test's few seconds).
func checkAccess(t *testing.T, got, want accessLine) {
	t.Helper()
	if got.Duration <= 0 || got.Duration > int64(10*time.Second) {
		t.Errorf("%s %s: duration %dns", got.Verb, got.Path, got.Duration)
	}
	got.Duration, want.Duration = 0, 0
	want.Msg, want.Level = "http request", "DEBUG"
	if got != want {
		t.Errorf("access line\n got %+v\nwant %+v", got, want)
	}
}

// TestB161_AccessLog: at debug level each HTTP request logs one line
// when answered (verb, path without query, user, code, duration, body
// bytes), a watch when its stream ends; no token, header or query.
func TestB161_AccessLog(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	var last Attributes
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFixture(t, withAliceInA(&last), func(c *Config) { c.Logger = log })
	add(t, f.pods, "a", "p1", nil)
	auth := []string{"Authorization", "Bearer " + tokenAlice}
	list := f.do(t, "GET", "/api/v1/namespaces/a/pods?limit=5&labelSelector=s3cret-in-query", "", auth...)
	forbidden := f.do(t, "GET", "/api/v1/namespaces/b/pods/p1", "", auth...)
	unauth := f.do(t, "DELETE", "/api/v1/namespaces/a/pods/p1", "", "Authorization", "Bearer wrong-t0ken")
	notFound := f.do(t, "GET", "/no-such-path", "", auth...)

	// A watch is logged when it ends, with the bytes of its stream.
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "GET", f.ts.URL+"/api/v1/namespaces/a/pods?watch=1", nil)
	req.Header.Set(auth[0], auth[1])
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	event, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.Contains(event, `"type":"ADDED"`) {
		t.Fatalf("watch event %q: %v", event, err)
	}
	if n := len(accessLines(t, &logs)); n != 4 {
		t.Fatalf("%d lines before the watch ended, want 4", n)
	}
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for len(accessLines(t, &logs)) < 5 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling the log with a deadline
	}
	lines := accessLines(t, &logs)
	if len(lines) != 5 {
		t.Fatalf("%d access lines, want 5:\n%s", len(lines), logs.String())
	}
	checkAccess(t, lines[0], accessLine{Verb: "list", Path: "/api/v1/namespaces/a/pods", User: "alice", Code: 200, Bytes: int64(len(list.body))})
	checkAccess(t, lines[1], accessLine{Verb: "get", Path: "/api/v1/namespaces/b/pods/p1", User: "alice", Code: 403, Bytes: int64(len(forbidden.body))})
	checkAccess(t, lines[2], accessLine{Verb: "delete", Path: "/api/v1/namespaces/a/pods/p1", User: "", Code: 401, Bytes: int64(len(unauth.body))})
	checkAccess(t, lines[3], accessLine{Verb: "get", Path: "/no-such-path", User: "alice", Code: 404, Bytes: int64(len(notFound.body))})
	checkAccess(t, lines[4], accessLine{Verb: "watch", Path: "/api/v1/namespaces/a/pods", User: "alice", Code: 200, Bytes: int64(len(event))})
	for _, secret := range []string{tokenAlice, "wrong-t0ken", "Bearer", "s3cret-in-query", "limit="} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log holds %q:\n%s", secret, logs.String())
		}
	}
}

// TestB161_AccessLogOffAboveDebug: at info level nothing is logged for a
// request that succeeds.
func TestB161_AccessLogOffAboveDebug(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	f := newFixture(t, func(c *Config) { c.Logger = log })
	f.do(t, "GET", "/api/v1/namespaces/a/pods", "").expectCode(t, http.StatusOK)
	if out := logs.String(); out != "" {
		t.Errorf("logged at info level:\n%s", out)
	}
}
