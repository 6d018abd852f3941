#!/bin/sh
# The cluster tier (`sh test/cluster/run.sh`; not in npm test nor .ci/run yet). Builds the components first, with the network
# (Go modules), then runs the scenarios in a network namespace of their own: the apiserver
# refuses loopback addresses in EndpointSlices, so the backends stand at a pod-like address,
# POD_IP, that exists only on that namespace's loopback interface. Nothing the tier starts is
# reachable from, or clashes with ports of, the rest of the machine.
set -eu
cd "$(dirname "$0")/../.."
POD_IP=192.0.2.10
if ! node test/cluster/build.ts >/dev/null; then
  exit 1
fi
# A pid namespace too: whatever the tier started dies with it, even if the runner is killed.
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null && unshare --net --pid --fork --kill-child true 2>/dev/null; then
  exec unshare --net --pid --fork --kill-child -- sh -c "ip link set lo up && ip addr add $POD_IP/32 dev lo && HOSTMESH_CLUSTER_POD_IP=$POD_IP exec node --test --test-concurrency=1 --test-timeout=1200000 test/cluster/*.cluster.ts"
fi
# No namespace to be had: the test file skips, saying why.
exec node --test --test-concurrency=1 --test-timeout=1200000 test/cluster/*.cluster.ts
