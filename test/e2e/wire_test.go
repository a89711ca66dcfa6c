package e2e

import (
	"bufio"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestWire_B30_B40_WatchStreamFraming: a watch as curl sees it: status 200,
// Content-Type application/json, Transfer-Encoding chunked, one JSON object
// per line, each flushed as it happens: the synthetic ADDED of the existing
// object (B30), then MODIFIED and DELETED whose objects are byte for byte
// what the write answered.
func TestWire_B30_B40_WatchStreamFraming(t *testing.T) {
	e := startEnv(t)
	const obj = "/api/v1/namespaces/e2e/configmaps/x"
	if code, _, body := e.do(t, http.MethodPost, "/api/v1/namespaces/e2e/configmaps", `{"metadata":{"name":"x"},"data":{"a":"1"}}`); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	_, _, current := e.do(t, http.MethodGet, obj, "")

	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/api/v1/namespaces/e2e/configmaps?watch=1&resourceVersion=0", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" ||
		!slices.Equal(resp.TransferEncoding, []string{"chunked"}) || resp.ContentLength != -1 {
		t.Fatalf("watch response: %d %v transfer-encoding %v length %d", resp.StatusCode, resp.Header, resp.TransferEncoding, resp.ContentLength)
	}
	lines := bufio.NewReader(resp.Body)
	expectLine := func(want string) {
		t.Helper()
		got, err := lines.ReadString('\n')
		if err != nil || got != want+"\n" {
			t.Fatalf("line %q (%v)\nwant %q", got, err, want)
		}
	}
	expectLine(`{"type":"ADDED","object":` + current + `}`)
	code, _, patched := e.do(t, http.MethodPatch, obj, `{"data":{"a":"2"}}`, "Content-Type", "application/merge-patch+json")
	if code != http.StatusOK {
		t.Fatalf("patch: %d %s", code, patched)
	}
	expectLine(`{"type":"MODIFIED","object":` + patched + `}`)
	code, _, deleted := e.do(t, http.MethodDelete, obj, "")
	if code != http.StatusOK {
		t.Fatalf("delete: %d %s", code, deleted)
	}
	expectLine(`{"type":"DELETED","object":` + deleted + `}`)
}

// statusBody is the exact Status body the server writes.
func statusBody(code, reason, message, details string) string {
	s := `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"` + message + `","reason":"` + reason + `"`
	if details != "" {
		s += `,"details":` + details
	}
	return s + `,"code":` + code + `}`
}

// TestWire_StatusBodies: errors are Status objects with kube-apiserver's
// codes, reasons and messages: 404 for an absent object (B5) and an
// unknown resource, 400 for bad parameters (B6, B24), 422 for a bad option
// combination (B16), 409 for a create of an existing name (B50), and 410
// for an exact list at a compacted revision (B13) and, in-stream, for a
// watch from an RV the ring has overwritten (B32).
func TestWire_StatusBodies(t *testing.T) {
	e := startEnv(t)
	const cms = "/api/v1/namespaces/e2e/configmaps"
	if code, _, body := e.do(t, http.MethodPost, cms, `{"metadata":{"name":"x"}}`); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	for _, c := range []struct{ name, method, path, body, code, want string }{
		{"B5_NotFound", http.MethodGet, cms + "/missing", "", "404",
			statusBody("404", "NotFound", `configmaps \"missing\" not found`, `{"name":"missing","kind":"configmaps"}`)},
		{"UnknownResource", http.MethodGet, "/api/v1/nope", "", "404",
			statusBody("404", "NotFound", "the server could not find the requested resource", "")},
		{"B6_BadRV", http.MethodGet, "/api/v1/pods?resourceVersion=abc", "", "400",
			statusBody("400", "BadRequest", `invalid resourceVersion: \"abc\" is not a non-negative integer`, "")},
		{"BadLimit", http.MethodGet, "/api/v1/pods?limit=-1", "", "400",
			statusBody("400", "BadRequest", "invalid limit: -1 must not be negative", "")},
		{"B24_UnsupportedField", http.MethodGet, "/api/v1/pods?fieldSelector=spec.foo%3Dx", "", "400",
			statusBody("400", "BadRequest", "field label not supported: spec.foo", "")},
		{"B16_RVMWithoutRV", http.MethodGet, "/api/v1/pods?resourceVersionMatch=NotOlderThan", "", "422",
			statusBody("422", "Invalid", "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
				`{"causes":[{"reason":"FieldValueForbidden","message":"Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided","field":"resourceVersionMatch"}]}`)},
		{"B50_AlreadyExists", http.MethodPost, cms, `{"metadata":{"name":"x"}}`, "409",
			statusBody("409", "AlreadyExists", `configmaps \"x\" already exists`, `{"kind":"configmaps"}`)},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, h, body := e.do(t, c.method, c.path, c.body)
			if itoa(code) != c.code || strings.TrimSuffix(body, "\n") != c.want || h.Get("Content-Type") != "application/json" {
				t.Errorf("got %d %s %s\nwant %s %s", code, h.Get("Content-Type"), body, c.code, c.want)
			}
		})
	}

	t.Run("B13_B32_Gone", func(t *testing.T) {
		e := startSmallRing(t)
		p := createPod(t, e.cs, "e2e", "a", "node-1")
		last := churnPod(t, e, p, 3*ringSize)
		code, _, body := e.do(t, http.MethodGet, "/api/v1/pods?resourceVersionMatch=Exact&resourceVersion="+p.ResourceVersion, "")
		want := statusBody("410", "Expired", "The resourceVersion for the provided list is too old.", `{"kind":"pods"}`)
		if code != http.StatusGone || strings.TrimSuffix(body, "\n") != want {
			t.Errorf("exact list at a compacted RV: %d %s\nwant 410 %s", code, body, want)
		}
		// The watch starts (200), then one ERROR event ends the stream.
		code, _, body = e.do(t, http.MethodGet, "/api/v1/pods?watch=1&resourceVersion="+p.ResourceVersion, "")
		want = `{"type":"ERROR","object":` + statusBody("410", "Expired",
			"too old resource version: "+p.ResourceVersion+" ("+itoa(int(mustRV(t, last.ResourceVersion)-ringSize))+")", `{"kind":"pods"}`) + "}\n"
		if code != http.StatusOK || body != want {
			t.Errorf("watch from an overwritten RV: %d %q\nwant 200 %q", code, body, want)
		}
	})
}

func itoa(n int) string { return strconv.Itoa(n) }
