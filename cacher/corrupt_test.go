package cacher

import (
	"context"
	"fmt"
	"testing"

	"github.com/watchcached/watchcached/api"
)

// B62: the cache holds no corrupt value, yet a Get of its key through the
// cache answers the store's 500 naming the key (not 404), at every RV,
// whether the value was there at the initial list or written later; after
// DeleteCorrupt through the cache the key is NotFound.
func TestGet_B62_CorruptKey(t *testing.T) {
	e := newEnv(t, false, nil)
	ctx := context.Background()
	msg := func(key string, rev uint64) string {
		return fmt.Sprintf("Internal error occurred: StorageError: corrupt object, Code: 7, Key: %s, ResourceVersion: 0, AdditionalErrorMsg: object not decodable revision=%d: not JSON: invalid JSON", key, rev)
	}
	const early, late = "/registry/pods/default/early", "/registry/pods/default/late"
	earlyRev := e.put(early, "{")
	e.start()
	for _, rv := range []string{"0", "", api.FormatRV(earlyRev)} {
		_, err := e.c.Get(ctx, "default", "early", api.GetOptions{ResourceVersion: rv})
		errIs(t, err, api.ErrCorrupt, msg(early, earlyRev))
	}

	lateRev := e.put(late, "{")
	_, err := e.c.Get(ctx, "default", "late", api.GetOptions{}) // waits for the cache to pass lateRev
	errIs(t, err, api.ErrCorrupt, msg(late, lateRev))
	_, err = e.c.Get(ctx, "default", "late", api.GetOptions{ResourceVersion: "0"})
	errIs(t, err, api.ErrCorrupt, msg(late, lateRev))
	_, err = e.c.Get(ctx, "default", "never", api.GetOptions{ResourceVersion: "0"})
	errIs(t, err, api.ErrNotFound, `pods "never" not found`)
	if l, err := e.c.List(ctx, api.ListOptions{}); err != nil || len(l.Items) != 0 {
		t.Fatalf("list: %v %v", l, err)
	}

	if err := e.c.DeleteCorrupt(ctx, "default", "late"); err != nil {
		t.Fatal(err)
	}
	for _, rv := range []string{"", "0"} {
		_, err = e.c.Get(ctx, "default", "late", api.GetOptions{ResourceVersion: rv})
		errIs(t, err, api.ErrNotFound, `pods "late" not found`)
	}
	// The name is free again, and the cache serves the new object.
	o := e.create("default", "late", "n1")
	got, err := e.c.Get(ctx, "default", "late", api.GetOptions{})
	if err != nil || got.RV != o.RV {
		t.Fatalf("get of the recreated object: %v %v", got, err)
	}
}
