// Package gen generates synthetic traces from named profiles, each
// reproducing a workload others defined so that results compare with
// theirs:
//
//   - k8s-robustness: etcd's robustness-test Kubernetes traffic, pods under
//     /registry/pods/default/, 75% updates, 15% deletes, 10% creates, each
//     conditional on the object's last revision, at a rate drawn every
//     second between 200 and 1,000 ops/s;
//   - kep2340: KEP-2340's consistent-read benchmark, 300,000 configmaps of
//     about 1 KB (times the scale factor) and one LIST per second whose
//     label selector matches nothing;
//   - pods-on-nodes: N namespaces of M pods spread over K nodes (upstream's
//     shapes 50×3000 on 5,000 nodes and 100×1,100 on 1,000 nodes), churned
//     at a given rate.
//
// Generation is deterministic: the same profile, parameters and seed give
// byte-identical traces (one math/rand/v2 PCG stream, no map iteration in
// the output path). It is not a model of any real cluster's traffic beyond
// what these profiles state.
package gen
