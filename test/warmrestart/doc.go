// Package warmrestart kills a daemon process with SIGKILL during writes and
// restarts it on the same data directory: the caches start from their last
// periodic snapshot (docs/scaling.md, "Warm restart"). The test binary
// serves as the daemon (see TestMain); there is no production code here.
package warmrestart
