package etcdstore_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/etcdstore"
	"github.com/watchcached/watchcached/internal/testkit"
)

// B92: a decode that panics is one more undecodable value (ErrUndecodable
// naming the key and the panic), logged once with its stack; a decode
// that does not panic is returned as it is.
func TestDecodeRecovered_B92_PanicIsUndecodable(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	s := etcdstore.CodecOnly(testkit.Pods())
	const key = "/registry/pods/default/a"
	boom := func(string, []byte, int64) (*api.Object, error) { panic("index out of range") }
	obj, err := etcdstore.DecodeRecovered(s, log, boom, key, []byte(`{}`), 5)
	if obj != nil || !errors.Is(err, etcdstore.ErrUndecodable) ||
		err.Error() != etcdstore.ErrUndecodable.Error()+": "+key+": decoding panicked: index out of range" {
		t.Fatalf("got %v, %v", obj, err)
	}
	out := logs.String()
	if strings.Count(out, "decoding a value panicked") != 1 || !strings.Contains(out, "decode_panic_test.go") {
		t.Fatalf("want one log line with the stack, got:\n%s", out)
	}
	want := &api.Object{Name: "a"}
	ok := func(string, []byte, int64) (*api.Object, error) { return want, nil }
	if got, err := etcdstore.DecodeRecovered(s, log, ok, key, nil, 5); got != want || err != nil {
		t.Fatalf("no panic: %v, %v", got, err)
	}
}
