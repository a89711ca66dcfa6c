package server

// onFreshStack runs f on a short-lived goroutine of its own and waits for
// it, re-raising its panic, if any, on the caller's goroutine.
//
// It keeps a deep call off a goroutine that then parks for long: a
// goroutine's stack grows to fit its deepest call and the collector
// halves it only while less than a quarter is in use. An idle watch's
// handler goroutine parks with about 5 KB in use (net/http's frames and
// ours), which keeps an 8 KB stack; writing the response header (net/http's
// chunkWriter.writeHeader alone has a 2.8 KB frame) on it grew it to 16
// KB, kept for the whole watch. The caller must not use what f uses
// concurrently with it; the channel orders f's effects before the return.
func onFreshStack(f func() error) error {
	type result struct {
		err      error
		panicked bool
		value    any
	}
	done := make(chan result, 1)
	go func() {
		r := result{panicked: true}
		defer func() {
			if r.panicked {
				r.value = recover()
			}
			done <- r
		}()
		r.err = f()
		r.panicked = false
	}()
	r := <-done
	if r.panicked {
		panic(r.value)
	}
	return r.err
}
