#!/bin/sh
# The cluster tier (`npm run test:cluster`, run by .ci/run after npm test). Builds the
# components first, with the network (Go modules), then runs the scenarios in a network
# namespace of their own: the apiserver refuses loopback addresses in EndpointSlices, so the
# backends stand at a pod-like address, POD_IP, that exists only on that namespace's loopback
# interface. Nothing the tier starts is reachable from, or clashes with ports of, the rest of the
# machine.
set -eu
cd "$(dirname "$0")/../.."
# Node 24 from devDependencies (it runs .ts directly), helm's and kubectl's package alongside.
PATH="$PWD/node_modules/.bin:$PATH"
POD_IP=192.0.2.10
# Client pods of the ACL scenario: one address per client ServiceAccount (the proxy knows a
# client by its source address).
CLIENT_IPS=192.0.2.11,192.0.2.12
# build.ts exits 3 after printing one "cluster tier SKIPPED: ..." line when there is no usable Go.
status=0
node test/cluster/build.ts >/dev/null || status=$?
if [ "$status" = 3 ]; then exit 0; fi
if [ "$status" != 0 ]; then exit "$status"; fi
# A pid namespace too: whatever the tier started dies with it, even if the runner is killed.
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null && unshare --net --pid --fork --kill-child true 2>/dev/null; then
  exec unshare --net --pid --fork --kill-child -- sh -c "ip link set lo up && ip addr add $POD_IP/32 dev lo && for ip in \$(echo $CLIENT_IPS | tr , ' '); do ip addr add \$ip/32 dev lo; done && HOSTMESH_CLUSTER_POD_IP=$POD_IP HOSTMESH_CLUSTER_CLIENT_IPS=$CLIENT_IPS exec node --test --test-concurrency=1 --test-timeout=1200000 test/cluster/*.cluster.ts"
fi
# No namespace to be had: the scenarios skip, saying why (the fake-parity checks still run).
exec node --test --test-concurrency=1 --test-timeout=1200000 test/cluster/*.cluster.ts
