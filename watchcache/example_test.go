package watchcache_test

import (
	"fmt"
	"time"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/watchcache"
	"k8s.io/apimachinery/pkg/fields"
)

func pod(name, node string, rv uint64) *api.Object {
	return &api.Object{Key: "/registry/pods/default/" + name, Namespace: "default", Name: name, RV: rv,
		Fields: fields.Set{"metadata.name": name, "metadata.namespace": "default", "spec.nodeName": node}}
}

// The writer relists, then applies events; readers take the state at any
// RV still in the window.
func ExampleWatchCache() {
	wc, err := watchcache.New(watchcache.Config{IndexedFields: []string{"spec.nodeName"}})
	if err != nil {
		panic(err)
	}
	now := time.Now()
	wc.Replace([]*api.Object{pod("a", "n1", 5)}, 10, now)
	_ = wc.Append(&api.Event{Type: api.Added, Object: pod("b", "n2", 11), RV: 11}, now)
	_ = wc.Append(&api.Event{Type: api.Modified, Object: pod("a", "n2", 12), RV: 12}, now)

	s11, _ := wc.Snapshot(11)
	s11.AscendIndex("spec.nodeName", "n2", "/registry/pods/", "", func(o *api.Object) bool {
		fmt.Println("at 11 on n2:", o.Name)
		return true
	})
	fmt.Println("latest:", wc.Latest().RV(), wc.Latest().Len(), "objects")
	_, err = wc.Snapshot(9)
	fmt.Println(err)
	// Output:
	// at 11 on n2: b
	// latest: 12 2 objects
	// too old resource version: 9 (10)
}
