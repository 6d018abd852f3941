/**
 * Proxy sizing from the container's limits: how many worker threads fit the CPU and memory the
 * cgroup grants, and the V8 old-generation limit each worker gets, so a proxy under a memory
 * limit runs out of heap (a worker crash, replaced) before the kernel OOM-kills the pod.
 *
 * Measured idle RSS (`hostmesh proxy`, Node 24, no table; README "Proxy memory"): one thread
 * 115 MB; a pool is about 116 MB for the main thread plus 38 MB per worker (2 workers 191 MB,
 * 4 workers 266 MB). The budgets below add headroom for traffic on top of those figures.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
/** Memory the main thread (supervisor, admin, DNS, config client) is budgeted, MiB. */
export const MAIN_THREAD_MB = 128;
/** Memory one worker is budgeted at least (38 MB idle plus room for connections), MiB. */
export const WORKER_MB = 64;
/** The smallest old-generation limit a worker is given, MiB. */
export const MIN_WORKER_HEAP_MB = 32;
function readText(path) {
    try {
        return readFileSync(path, 'utf8').trim();
    }
    catch {
        return undefined;
    }
}
/** Numbers above this are cgroup v1's way of saying "no limit". */
const V1_UNLIMITED = 2 ** 60;
/**
 * The limits of the cgroup this process runs in, from cgroup v2 (`cpu.max`, `memory.max`) or
 * v1 (`cpu/cpu.cfs_quota_us`, `memory/memory.limit_in_bytes`) under `root`. Absent or
 * unreadable files mean no limit.
 */
export function readContainerLimits(root = '/sys/fs/cgroup') {
    let cpus;
    let memoryBytes;
    const cpuMax = readText(join(root, 'cpu.max'));
    if (cpuMax !== undefined) {
        const [quota, period] = cpuMax.split(/\s+/);
        if (quota !== 'max' && Number(quota) > 0 && Number(period) > 0)
            cpus = Number(quota) / Number(period);
    }
    else {
        const quota = Number(readText(join(root, 'cpu', 'cpu.cfs_quota_us')) ?? -1);
        const period = Number(readText(join(root, 'cpu', 'cpu.cfs_period_us')) ?? 0);
        if (quota > 0 && period > 0)
            cpus = quota / period;
    }
    const memMax = readText(join(root, 'memory.max'));
    if (memMax !== undefined) {
        if (memMax !== 'max' && Number(memMax) > 0)
            memoryBytes = Number(memMax);
    }
    else {
        const v1 = Number(readText(join(root, 'memory', 'memory.limit_in_bytes')) ?? 0);
        if (v1 > 0 && v1 < V1_UNLIMITED)
            memoryBytes = v1;
    }
    return { cpus, memoryBytes };
}
/**
 * Workers and heap limits for `requested` (a count or `auto`) under `limits` on a host with
 * `cores` cores. `auto`: one per whole CPU of the limit (at least 1; every core without a CPU
 * limit), then no more than the memory limit holds at MAIN_THREAD_MB + WORKER_MB each. A given
 * count is kept as asked. With a memory limit, each worker's old generation gets its share of
 * what the main thread leaves, less 16 MiB for the young generation and code.
 */
export function planWorkers(requested, limits, cores) {
    const memMb = limits.memoryBytes === undefined ? undefined : Math.floor(limits.memoryBytes / 1024 / 1024);
    let workers;
    let reason;
    if (requested === 'auto') {
        workers = Math.max(1, cores);
        reason = `${cores} cores`;
        if (limits.cpus !== undefined) {
            const byCpu = Math.max(1, Math.floor(limits.cpus));
            if (byCpu < workers) {
                workers = byCpu;
                reason = `CPU limit ${limits.cpus}`;
            }
        }
        if (memMb !== undefined) {
            const byMemory = Math.max(1, Math.floor((memMb - MAIN_THREAD_MB) / WORKER_MB));
            if (byMemory < workers) {
                workers = byMemory;
                reason = `memory limit ${memMb} MiB (${MAIN_THREAD_MB} MiB main thread + ${WORKER_MB} MiB per worker)`;
            }
        }
    }
    else {
        workers = requested;
        reason = 'asked for';
    }
    const heapMb = memMb === undefined || workers === 1
        ? undefined
        : Math.max(MIN_WORKER_HEAP_MB, Math.floor((memMb - MAIN_THREAD_MB) / workers) - 16);
    return { workers, heapMb, reason };
}
