package app

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/watchcached/watchcached/server"
)

// AddWriteFlags registers --write-mode and --forward-kubeconfig on fs,
// filling c when fs is parsed.
func (c *Config) AddWriteFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.WriteMode, "write-mode", c.WriteMode,
		"what becomes of writes: etcd (carry them out), reject (405) or forward (proxy them to kube-apiserver, see --forward-kubeconfig) "+
			"(default reject with --resources kube, else etcd)")
	fs.StringVar(&c.ForwardKubeconfig, "forward-kubeconfig", c.ForwardKubeconfig,
		"kubeconfig of the kube-apiserver that --write-mode=forward sends writes to (its server, TLS and credentials)")
}

// EffectiveWriteMode is the write mode in effect: the configured one,
// else reject in front of a real cluster (--resources kube: watchcached
// must never write behind kube-apiserver's back), else etcd.
func (c *Config) EffectiveWriteMode() string {
	switch {
	case c.WriteMode != "":
		return c.WriteMode
	case c.UpstreamMode():
		return server.WriteModeForward
	case c.ResourcesFile == KubeCatalogue:
		return server.WriteModeReject
	}
	return server.WriteModeEtcd
}

// validateWrites checks the write mode and that forward has a kubeconfig
// (and only forward).
func (c *Config) validateWrites() error {
	if c.UpstreamMode() {
		return nil // validateUpstream
	}
	switch mode := c.EffectiveWriteMode(); {
	case mode != server.WriteModeEtcd && mode != server.WriteModeReject && mode != server.WriteModeForward:
		return fmt.Errorf("--write-mode %q: must be etcd, reject or forward", mode)
	case mode == server.WriteModeForward && c.ForwardKubeconfig == "":
		return fmt.Errorf("--write-mode=forward: needs --forward-kubeconfig")
	case mode != server.WriteModeForward && c.ForwardKubeconfig != "":
		return fmt.Errorf("--forward-kubeconfig: only applies with --write-mode=forward (the write mode is %s)", mode)
	case c.ForwardKubeconfig != "":
		if _, err := os.Stat(c.ForwardKubeconfig); err != nil {
			return fmt.Errorf("--forward-kubeconfig: %w", err)
		}
	}
	return nil
}

// writePolicy loads the kubeconfig of forward mode (its server URL, TLS
// and credentials, as client-go reads them) and builds the server's
// write policy.
func (c *Config) writePolicy() (server.WritePolicy, error) {
	p := server.WritePolicy{Mode: c.EffectiveWriteMode()}
	if p.Mode != server.WriteModeForward {
		return p, nil
	}
	rc, err := clientcmd.BuildConfigFromFlags("", c.ForwardKubeconfig)
	if err != nil {
		return p, fmt.Errorf("--forward-kubeconfig: %w", err)
	}
	if p.ForwardURL, _, err = rest.DefaultServerUrlFor(rc); err != nil {
		return p, fmt.Errorf("--forward-kubeconfig: %w", err)
	}
	if p.ForwardTransport, err = rest.TransportFor(rc); err != nil {
		return p, fmt.Errorf("--forward-kubeconfig: %w", err)
	}
	return p, nil
}
