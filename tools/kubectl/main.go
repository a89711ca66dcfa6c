// Command kubectl is a current kubectl built from the k8s.io/kubectl
// library at the version go.mod pins, for watchcached's end-to-end tests
// (test/e2e builds it once and caches the binary). It is its own module so
// that kubectl's many dependencies stay out of watchcached's go.mod.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
)

func main() { os.Exit(cli.Run(cmd.NewDefaultKubectlCommand())) }
