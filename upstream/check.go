package upstream

import "github.com/watchcached/watchcached/api"

var (
	_ api.Storage           = (*Source)(nil)
	_ api.CorruptDeleter    = (*Source)(nil)
	_ api.CollectionDeleter = (*Source)(nil)
)
