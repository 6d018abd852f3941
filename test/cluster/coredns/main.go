// CoreDNS for the cluster test tier: the release's own entry point with its
// stock plugin set (core/plugin), so the Corefile the controller patches is
// parsed and served by the real kubernetes, forward and cache plugins.
package main

import (
	_ "github.com/coredns/coredns/core/plugin"
	"github.com/coredns/coredns/coremain"
)

func main() {
	coremain.Run()
}
