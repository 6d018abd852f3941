import { diagnostic } from '../diagnostics.js';
import { accessPolicy } from './access.js';
import { indexPods, readSmi, smiObject } from './read.js';
import { applyTrafficSplits } from './split.js';
export function smiTranslation(state, acl, lookup, diagnostics) {
    const index = readSmi(state.smi ?? [], diagnostics);
    // Routes of one Service meet the same objects: each problem is told once.
    const told = new Set();
    const sink = {
        push: (...ds) => {
            for (const d of ds) {
                const key = JSON.stringify(d);
                if (told.has(key))
                    continue;
                told.add(key);
                diagnostics.push(d);
            }
            return diagnostics.length;
        },
    };
    const pods = acl ? indexPods(state.pods) : undefined;
    const usedSplits = new Set();
    if (!acl) {
        for (const t of index.targets) {
            diagnostics.push(diagnostic('info', 'acl-off', smiObject(t), `TrafficTarget ${t.namespace}/${t.name}: ACL mode is off, so TrafficTargets are ignored and every client may reach every Service (start the controller with --acl)`));
        }
    }
    return {
        route(svc, port, route) {
            for (const s of applyTrafficSplits(svc, port, route, index, lookup, sink))
                usedSplits.add(s);
            if (pods)
                route.access = accessPolicy(svc, port, index, pods, sink);
        },
        finish() {
            for (const s of index.splits) {
                if (usedSplits.has(s))
                    continue;
                const t = lookup(s.namespace, s.service);
                const why = t === 'missing' ? 'does not exist' : t === 'not-meshed' ? 'is not in the mesh' : 'has no routed port';
                sink.push(diagnostic('warning', 'smi-reference-missing', smiObject(s), `TrafficSplit ${s.namespace}/${s.name}: its root Service ${s.namespace}/${s.service} ${why}, so the split does nothing`));
            }
        },
    };
}
