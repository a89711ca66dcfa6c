package watchcachedtest_test

import "github.com/go-logr/logr"

// logrDiscard silences controller-runtime's logger.
func logrDiscard() logr.Logger { return logr.Discard() }
