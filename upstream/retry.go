package upstream

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// retry runs f until it succeeds, fails with an error not worth retrying
// (see retryable), ctx ends, or Config.Retries attempts were made; between
// attempts it waits a jittered, doubling delay (apimachinery's
// wait.Backoff), so many followers of one upstream do not retry in
// lockstep. It returns f's last error.
func (s *Source) retry(ctx context.Context, f func() error) error {
	b := wait.Backoff{Duration: s.cfg.Backoff, Factor: 2, Jitter: 0.5, Steps: s.cfg.Retries, Cap: s.cfg.MaxBackoff}
	for {
		err := f()
		if err == nil || !retryable(err) || ctx.Err() != nil || b.Steps <= 1 {
			return err
		}
		s.log.Debug("upstream request failed; retrying", "err", err)
		t := time.NewTimer(b.Step())
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}
