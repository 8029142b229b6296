// CoreDNS, built from the upstream github.com/coredns/coredns module with
// only the plugins a kubeadm Corefile uses (plus log). Upstream's main
// imports core/plugin, which pulls in every plugin (route53, azure, clouddns,
// etcd, geoip, ...) and hundreds of modules; this one imports the few below
// and makes them the only directives, in upstream's order
// (core/dnsserver/zdirectives.go, generated from plugin.cfg). A Corefile
// naming any other plugin is refused at startup. Otherwise coremain.Run is
// upstream's command line: -conf, -dns.port, -plugins, -version, ...
// (-plugins also lists debug, dnstap, metadata and transfer, which the
// packages below register as they import them; not being directives here,
// no Corefile can use them.)
//
// To add a plugin: import its package and put its directive name in
// directives at its place in upstream's zdirectives.go.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics" // the prometheus directive
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

// The subset of upstream's dnsserver.Directives, in the same (execution)
// order; the order in a Corefile does not matter.
var directives = []string{
	"reload",
	"ready",
	"health",
	"prometheus",
	"errors",
	"log",
	"loadbalance",
	"cache",
	"kubernetes",
	"loop",
	"forward",
}

func main() {
	if err := dnsserver.SetDirectives(directives); err != nil {
		panic(err)
	}
	coremain.Run()
}
