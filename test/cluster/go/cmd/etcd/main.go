// etcd for the cluster test tier: a single member embedded from
// go.etcd.io/etcd/server/v3/embed, the same etcd release that the
// kube-apiserver's own go.mod pins, listening on loopback only.
package main

import (
	"flag"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"go.etcd.io/etcd/server/v3/embed"
)

func main() {
	dir := flag.String("data-dir", "", "data directory (required)")
	client := flag.String("client-url", "http://127.0.0.1:2379", "client URL to listen on and advertise")
	peer := flag.String("peer-url", "http://127.0.0.1:2380", "peer URL to listen on and advertise")
	flag.Parse()
	if *dir == "" {
		log.Fatal("etcd: -data-dir is required")
	}
	clientURL, err := url.Parse(*client)
	if err != nil {
		log.Fatalf("etcd: -client-url %q: %v", *client, err)
	}
	peerURL, err := url.Parse(*peer)
	if err != nil {
		log.Fatalf("etcd: -peer-url %q: %v", *peer, err)
	}

	cfg := embed.NewConfig()
	cfg.Dir = *dir
	cfg.ListenClientUrls = []url.URL{*clientURL}
	cfg.AdvertiseClientUrls = []url.URL{*clientURL}
	cfg.ListenPeerUrls = []url.URL{*peerURL}
	cfg.AdvertisePeerUrls = []url.URL{*peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	// A test cluster that is thrown away after the run: no fsync.
	cfg.UnsafeNoFsync = true
	// Its per-request "request stats" warnings would drown the lines that explain a failure.
	cfg.LogLevel = "error"

	server, err := embed.StartEtcd(cfg)
	if err != nil {
		log.Fatalf("etcd: start: %v", err)
	}
	defer server.Close()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-server.Server.ReadyNotify():
		log.Printf("etcd: ready on %s", clientURL)
	case err := <-server.Err():
		log.Fatalf("etcd: %v", err)
	case <-stop:
		return
	}
	select {
	case err := <-server.Err():
		log.Fatalf("etcd: %v", err)
	case <-stop:
	}
}
