package etcdstore

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// TestZapToSlog_B162: entries at the minimum level or above reach the slog
// logger with their fields (With's first, then the entry's, each sorted)
// and slog's level; entries below it do not.
func TestZapToSlog_B162(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
	z := ZapToSlog(l.With("component", "etcd"), zapcore.WarnLevel).With(zap.String("member", "m1"))
	z.Info("ignored", zap.Int("n", 1))
	z.Debug("ignored too")
	z.Warn("slow fdatasync", zap.Duration("took", 1500e6), zap.String("b", "x"))
	z.Error("failed", zap.Error(errors.New("boom")))
	want := `level=WARN msg="slow fdatasync" component=etcd member=m1 b=x took=1.5s
level=ERROR msg=failed component=etcd member=m1 error=boom
`
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if strings.Contains(buf.String(), "ignored") {
		t.Error("an entry below warn was written")
	}
}
