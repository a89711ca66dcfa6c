package replicas

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
)

// objects is how many configmaps the writer keeps updating: lists stay
// small, so reads are cheap on a loaded machine.
const objects = 10

const collection = "/api/v1/namespaces/default/configmaps"

// writer patches configmaps through one replica's HTTP API until its
// context ends; acked is the RV of its newest acknowledged write.
type writer struct {
	hc    *http.Client
	base  string
	acked atomic.Uint64
	n     atomic.Int64 // writes acknowledged
}

// create makes the configmaps the writer updates.
func (w *writer) create(t *testing.T) {
	t.Helper()
	for i := range objects {
		body := fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-%d"},"data":{"n":"0"}}`, i)
		r, err := call(context.Background(), w.hc, http.MethodPost, w.base+collection, "application/json", body)
		if err != nil || r.code != http.StatusCreated {
			t.Fatalf("create cm-%d: %d %s %v", i, r.code, r.body, err)
		}
		w.ack(t, r.body)
	}
}

// run patches the configmaps round robin until ctx ends; errors are
// reported through t (the writer's replica is never stopped).
func (w *writer) run(ctx context.Context, t *testing.T) {
	for i := 0; ctx.Err() == nil; i++ {
		url := fmt.Sprintf("%s%s/cm-%d", w.base, collection, i%objects)
		r, err := call(ctx, w.hc, http.MethodPatch, url, "application/merge-patch+json", fmt.Sprintf(`{"data":{"n":"%d"}}`, i))
		if ctx.Err() != nil {
			return
		}
		if err != nil || r.code != http.StatusOK {
			t.Errorf("writer: patch: %d %s %v", r.code, r.body, err)
			return
		}
		w.ack(t, r.body)
	}
}

func (w *writer) ack(t *testing.T, body []byte) {
	rv, err := resourceVersion(body)
	if err != nil {
		t.Errorf("writer: %v in %s", err, body)
		return
	}
	w.acked.Store(max(w.acked.Load(), rv)) // one writer goroutine: no race on the max
	w.n.Add(1)
}
