module hostmesh.dev/bench/openloop

go 1.22
