package table

import (
	"runtime"
	"sync"
	"weak"

	"github.com/watchcached/watchcached/api"
)

// rowCache keeps each object's row template for as long as the object
// lives: objects are immutable (a change is a new *api.Object), so a
// template never goes stale, and the entry is dropped by a cleanup when
// the object is collected (the cache holds the object only weakly). A
// sync.Map: rows are read far more often than built. Safe for concurrent
// use; the zero value is ready.
type rowCache struct {
	m sync.Map // weak.Pointer[api.Object] -> *row
}

// get returns o's template, building it with build the first time.
func (c *rowCache) get(o *api.Object, build func([]byte) (row, error)) *row {
	wp := weak.Make(o)
	if r, ok := c.m.Load(wp); ok {
		return r.(*row)
	}
	built, _ := build(o.Raw)
	r, loaded := c.m.LoadOrStore(wp, &built)
	if !loaded {
		runtime.AddCleanup(o, func(wp weak.Pointer[api.Object]) { c.m.Delete(wp) }, wp)
	}
	return r.(*row)
}
