package interval_test

import (
	"fmt"
	"time"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/interval"
	"github.com/watchcached/watchcached/watchcache"
)

// A watcher from RV 10 drains what is there, then waits on Changed.
func ExampleInterval() {
	wc, _ := watchcache.New(watchcache.Config{})
	wc.Replace(nil, 10, time.Now())
	for rv := uint64(11); rv <= 13; rv++ {
		o := &api.Object{Key: fmt.Sprintf("/registry/pods/default/p%d", rv), RV: rv}
		_ = wc.Append(&api.Event{Type: api.Added, Object: o, RV: rv}, time.Now())
	}
	it, err := interval.New(wc, 11)
	if err != nil {
		panic(err)
	}
	for {
		changed := wc.Changed() // fetch before Next, so no append is missed
		ev, err := it.Next()
		if err != nil {
			fmt.Println("expired:", err)
			return
		}
		if ev == nil {
			select {
			case <-changed: // in a real watcher, also <-ctx.Done()
				continue
			default:
				fmt.Println("caught up")
				return
			}
		}
		fmt.Println(ev.Type, ev.RV)
	}
	// Output:
	// ADDED 12
	// ADDED 13
	// caught up
}
