package e2e

import (
	"context"
	"log/slog"
	"testing"

	"github.com/watchcached/watchcached/api"
	"github.com/watchcached/watchcached/cmd/watchcached/app"
)

// TestUpstream_B179_DiscoveryDecides: the upstream's discovery decides the
// kind and scope of each configured resource (a wrong kind or scope in the
// configuration is corrected), and a configured resource the upstream
// does not serve stops the start with an error naming it.
func TestUpstream_B179_DiscoveryDecides(t *testing.T) {
	up := startEnv(t)
	f := startFollower(t, up.url, func(c *app.Config) {
		c.Resources = []*api.Resource{{Group: "example.com", Version: "v1", Resource: "widgets", Kind: "Gadget", Namespaced: false}}
	})
	code, _, body := f.do(t, "GET", "/apis/example.com/v1/namespaces/d/widgets", "")
	want := `{"kind":"WidgetList","apiVersion":"example.com/v1","metadata":{"resourceVersion":"` + rvOf(t, body) + `"},"items":[]}` + "\n"
	if code != 200 || body != want {
		t.Errorf("namespaced list of widgets: %d %s, want 200 %s", code, body, want)
	}

	for _, tc := range []struct {
		res  *api.Resource
		want string
	}{
		{&api.Resource{Group: "example.com", Version: "v1", Resource: "gadgets", Kind: "Gadget", Namespaced: true},
			"upstream discovery: resource gadgets.example.com is not served by the upstream (group version example.com/v1)"},
		{&api.Resource{Group: "nowhere.io", Version: "v1", Resource: "things", Kind: "Thing", Namespaced: true},
			"upstream discovery: resource things.nowhere.io: the upstream serves no group version nowhere.io/v1"},
	} {
		cfg := app.DefaultConfig()
		cfg.Listen, cfg.GRPCListen, cfg.DataDir = "127.0.0.1:0", "", ""
		cfg.Logger = slog.New(slog.DiscardHandler)
		cfg.UpstreamKubeconfig = writeKubeconfig(t, up.url)
		cfg.Resources = []*api.Resource{{Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true}, tc.res}
		d, err := app.Start(context.Background(), cfg)
		if err == nil {
			_ = d.Close(context.Background())
		}
		if err == nil || err.Error() != tc.want {
			t.Errorf("start with %s: %v, want %s", tc.res.GroupResource(), err, tc.want)
		}
	}
}
