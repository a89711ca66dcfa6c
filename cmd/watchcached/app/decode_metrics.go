package app

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/watchcached/watchcached/api"
)

// decodeErrorCounter returns the etcdstore.Config.OnDecodeError of res: it
// counts every read of a value under the resource's prefix that does not
// decode (B62), in kube-apiserver's apiserver_storage_decode_errors_total
// under watchcached's prefix. The vector is registered with reg on first
// use and shared by every resource. Safe for concurrent use.
func decodeErrorCounter(reg prometheus.Registerer, res *api.Resource) func(key string, err error) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "watchcached_storage_decode_errors_total",
		Help: "Reads of stored values that do not decode (skipped by lists and watches, 500 to reads of their key).",
	}, []string{"resource"})
	if err := reg.Register(vec); err != nil {
		var dup prometheus.AlreadyRegisteredError
		if !errors.As(err, &dup) {
			panic(err) // a collector of the same name with other labels: a programming error
		}
		vec = dup.ExistingCollector.(*prometheus.CounterVec)
	}
	c := vec.WithLabelValues(res.GroupResource())
	return func(string, error) { c.Inc() }
}
