/**
 * The DNS patch: golden plans for the cluster DNS shapes of each distribution (fixtures under
 * test/golden/corefile/<case>/: observed.yaml, optional params.json, expected plan.golden;
 * regenerate with HOSTMESH_UPDATE_GOLDEN=1), round trips (patch, re-plan, clean up, compare
 * byte for byte), and properties of the Corefile edit itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { isHostmeshError } from '../../src/common/errors.ts';
import { outlineCorefile, patchCorefile, unpatchCorefile } from '../../src/controller/dns/corefile.ts';
import { findCorefileConfigMap } from '../../src/controller/dns/deployment.ts';
import { planDnsCleanup, planDnsPatch } from '../../src/controller/dns/plan.ts';
import type { DnsObserved, DnsPlan } from '../../src/controller/dns/plan.ts';
import { patchStubDomains, removeStubDomains } from '../../src/controller/dns/stub-domains.ts';
import { checkTarget } from '../../src/controller/dns/types.ts';
import type { ConfigMapObject, DeploymentObject } from '../../src/controller/dns/types.ts';

const goldenDir = new URL('../golden/corefile/', import.meta.url).pathname;
const update = process.env.HOSTMESH_UPDATE_GOLDEN === '1';

interface Case {
  name: string;
  observed: DnsObserved;
  ip: string | string[];
  zones: string[];
}

function loadCase(name: string): Case {
  const dir = join(goldenDir, name);
  const docs = parseAllDocuments(readFileSync(join(dir, 'observed.yaml'), 'utf8')).map((d) => d.toJS() as { kind: string });
  const params = existsSync(join(dir, 'params.json'))
    ? JSON.parse(readFileSync(join(dir, 'params.json'), 'utf8')) as { dnsServiceIP?: string | string[]; zones?: string[] }
    : {};
  return {
    name,
    observed: {
      deployment: docs.find((d) => d.kind === 'Deployment') as DeploymentObject | undefined,
      configMaps: docs.filter((d) => d.kind === 'ConfigMap') as ConfigMapObject[],
    },
    ip: params.dnsServiceIP ?? '10.96.0.53',
    zones: params.zones ?? ['hostmesh'],
  };
}

/** A plan as a reviewer wants to read it: changed keys in full, the others by name. */
function render(plan: DnsPlan, observed: DnsObserved): string {
  const out = [`strategy: ${plan.strategy ?? 'none'}`];
  if (plan.restart) {
    const annotations = Object.entries(plan.restart.annotations).map(([k, v]) => `${k}=${v}`).join(' ');
    out.push(`restart: Deployment ${plan.restart.namespace}/${plan.restart.name} pod-template annotations ${annotations}`);
  } else {
    out.push('restart: none');
  }
  out.push('notes:', ...plan.notes.map((n) => `- ${n}`));
  if (plan.writes.length === 0) out.push('writes: none');
  for (const w of plan.writes) {
    const before = observed.configMaps.find((cm) => cm.metadata.name === w.name)?.data ?? {};
    out.push(`=== ${w.action} ConfigMap ${w.namespace}/${w.name}${w.resourceVersion ? ` (resourceVersion ${w.resourceVersion})` : ''}`);
    for (const key of [...new Set([...Object.keys(before), ...Object.keys(w.data)])].toSorted()) {
      if (!(key in w.data)) out.push(`--- ${key} (removed)`);
      else if (before[key] === w.data[key]) out.push(`--- ${key} (unchanged)`);
      else out.push(`--- ${key}${key in before ? '' : ' (added)'}`, w.data[key]!.replace(/\n$/, ''), '--- end');
    }
  }
  return `${out.join('\n')}\n`;
}

/** What the API server holds after the plan is carried out. */
function apply(observed: DnsObserved, plan: DnsPlan): DnsObserved {
  const configMaps = observed.configMaps.map((cm) => structuredClone(cm));
  for (const w of plan.writes) {
    const existing = configMaps.find((cm) => cm.metadata.name === w.name);
    if (w.action === 'update') {
      assert.ok(existing, `update of missing ${w.name}`);
      assert.equal(w.resourceVersion, existing.metadata.resourceVersion);
      existing.data = structuredClone(w.data);
      existing.metadata.resourceVersion = String(Number(existing.metadata.resourceVersion) + 1);
    } else {
      assert.equal(existing, undefined, `create of existing ${w.name}`);
      configMaps.push({ metadata: { name: w.name, namespace: w.namespace, resourceVersion: '1' }, data: structuredClone(w.data) });
    }
  }
  const deployment = observed.deployment && structuredClone(observed.deployment);
  if (plan.restart && deployment) {
    const template = deployment.spec!.template!;
    template.metadata = { ...template.metadata, annotations: { ...template.metadata?.annotations, ...plan.restart.annotations } };
  }
  return { deployment, configMaps };
}

function dataOf(observed: DnsObserved, name: string): Record<string, string> | undefined {
  const cm = observed.configMaps.find((c) => c.metadata.name === name);
  if (!cm) return undefined;
  const data = { ...cm.data };
  // stubDomains is JSON in a string: compared by meaning, not by spacing.
  if (data.stubDomains !== undefined) data.stubDomains = JSON.stringify(JSON.parse(data.stubDomains));
  return data;
}

for (const name of readdirSync(goldenDir).toSorted()) {
  test(`DNS plan golden: ${name}`, () => {
    const c = loadCase(name);
    const goldenFile = join(goldenDir, name, 'plan.golden');
    let plan: DnsPlan | undefined;
    let actual: string;
    try {
      plan = planDnsPatch(c.observed, c.ip, c.zones);
      actual = render(plan, c.observed);
    } catch (e) {
      if (!isHostmeshError(e)) throw e;
      actual = `error: ${e.code}\n${e.message}\n`;
    }
    if (update) writeFileSync(goldenFile, actual);
    assert.equal(actual, readFileSync(goldenFile, 'utf8'), `golden ${goldenFile} (HOSTMESH_UPDATE_GOLDEN=1 regenerates)`);
    if (!plan) return;

    // Carried out, the plan leaves nothing to do: no second write, no second restart.
    const patched = apply(c.observed, plan);
    const again = planDnsPatch(patched, c.ip, c.zones);
    assert.deepEqual([again.writes, again.restart], [[], undefined], 'planning again after applying plans nothing');

    // Cleanup restores every ConfigMap (the Corefile byte for byte); created ones end up empty.
    const cleanup = planDnsCleanup(patched, c.zones);
    const cleaned = apply(patched, cleanup);
    for (const cm of cleaned.configMaps) {
      const original = dataOf(c.observed, cm.metadata.name) ?? {};
      // What hostmesh had put there before this run goes too.
      const expected = Object.fromEntries(Object.entries(original)
        .filter(([k]) => k !== 'hostmesh.server')
        .map(([k, v]) => [k, v.includes('# hostmesh begin') ? unpatchCorefile(v).text : v]));
      assert.deepEqual(dataOf(cleaned, cm.metadata.name), expected, `ConfigMap ${cm.metadata.name} after cleanup`);
    }
    assert.deepEqual(planDnsCleanup(cleaned, c.zones).writes, [], 'cleaning up twice writes nothing');
  });
}

test('findCorefileConfigMap follows -conf through volume mounts, items, subPath and defaults', () => {
  const dep = (container: object, volumes: object[]): DeploymentObject => ({
    metadata: { name: 'dns', namespace: 'kube-system' },
    spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'busybox' }, { name: 'dns', ...container }], volumes: volumes as never } } },
  });
  assert.deepEqual(
    findCorefileConfigMap(dep({ args: ['-conf=/cfg/dns/Core'], volumeMounts: [{ name: 'v', mountPath: '/cfg' }] }, [{ name: 'v', configMap: { name: 'my-dns', items: [{ key: 'main', path: 'dns/Core' }] } }])),
    { namespace: 'kube-system', name: 'my-dns', key: 'main', path: '/cfg/dns/Core' },
  );
  assert.deepEqual(
    findCorefileConfigMap(dep({ image: 'coredns/coredns:1.3.1', volumeMounts: [{ name: 'v', mountPath: '/etc/coredns/Corefile', subPath: 'cf' }] }, [{ name: 'v', configMap: { name: 'dns' } }])),
    { namespace: 'kube-system', name: 'dns', key: 'cf', path: '/etc/coredns/Corefile' },
    'no -conf: the default path; a subPath mount names the key',
  );
  assert.equal(findCorefileConfigMap(dep({ args: ['--conf', '/etc/coredns/Corefile'], volumeMounts: [{ name: 'v', mountPath: '/etc/coredns' }] }, [{ name: 'v' }])), undefined, 'not from a ConfigMap');
});

test('planDnsPatch refuses bad input and unknown shapes with stable codes', () => {
  const kubeadm = loadCase('kubeadm').observed;
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      if (isHostmeshError(e)) return e.code;
      throw e;
    }
    return 'no error';
  };
  assert.equal(code(() => planDnsPatch(kubeadm, '10.96.0.300', ['hostmesh'])), 'DNS_BAD_IP');
  assert.equal(code(() => planDnsPatch(kubeadm, '10.96.0.53', ['bad zone'])), 'DNS_BAD_ZONE');
  assert.equal(code(() => planDnsPatch(kubeadm, '10.96.0.53', [])), 'DNS_BAD_ZONE');
  assert.equal(code(() => planDnsPatch({ configMaps: [] }, '10.96.0.53', ['hostmesh'])), 'DNS_NOT_FOUND');
  assert.equal(code(() => planDnsPatch({ deployment: kubeadm.deployment, configMaps: [] }, '10.96.0.53', ['hostmesh'])), 'DNS_COREFILE_MISSING');
  const broken = { ...kubeadm, configMaps: [{ metadata: { name: 'coredns', namespace: 'kube-system' }, data: { Corefile: '.:53 {\n  errors\n' } }] };
  assert.equal(code(() => planDnsPatch(broken, '10.96.0.53', ['hostmesh'])), 'DNS_COREFILE_UNPARSABLE');
  const unbalanced = { ...kubeadm, configMaps: [{ metadata: { name: 'coredns', namespace: 'kube-system' }, data: { Corefile: '# hostmesh begin\n.:53 {\n}\n' } }] };
  assert.equal(code(() => planDnsPatch(unbalanced, '10.96.0.53', ['hostmesh'])), 'DNS_MARKERS_UNBALANCED');
  assert.equal(code(() => patchStubDomains('{"a": "not a list"}', checkTarget('10.0.0.1', ['hostmesh']), 'kube-dns')), 'DNS_STUBDOMAINS_INVALID');
  assert.deepEqual(planDnsCleanup({ configMaps: [] }, ['hostmesh']).writes, []);
});

test('stub domains: merged with the others, unchanged text when already there, removed on cleanup', () => {
  const target = checkTarget('10.96.0.53', ['hostmesh']);
  const first = patchStubDomains('{"acme.local": ["10.0.0.5"]}', target, 'kube-dns');
  assert.deepEqual(JSON.parse(first.value), { 'acme.local': ['10.0.0.5'], hostmesh: ['10.96.0.53'] });
  assert.deepEqual(patchStubDomains(first.value, target, 'kube-dns'), { value: first.value, changed: false });
  assert.deepEqual(removeStubDomains(first.value, ['hostmesh'], 'kube-dns'), { value: '{"acme.local":["10.0.0.5"]}', changed: true });
  assert.deepEqual(removeStubDomains('{"hostmesh":["1.1.1.1"]}', ['hostmesh'], 'kube-dns'), { value: undefined, changed: true });
});

/** Corefile-like text: real lines, blank lines, comments, nested blocks; no hostmesh markers. */
const corefileArb = fc.array(fc.oneof(
  fc.constantFrom('.:53 {', '}', '    errors', '    reload', '    forward . /etc/resolv.conf', 'example.org:53 {', '    health {', '       lameduck 5s', '    }', '', '# a comment', 'import /etc/coredns/custom/*.server'),
  fc.string({ maxLength: 20 }).filter((s) => !s.includes('\n') && !s.includes('hostmesh')),
), { maxLength: 30 }).chain((lines) => fc.record({
  lines: fc.constant(lines),
  eol: fc.constantFrom('\n', '\r\n'),
  finalEol: fc.boolean(),
})).map(({ lines, eol, finalEol }) => lines.join(eol) + (finalEol && lines.length > 0 ? eol : ''));

test('Corefile edit properties: unpatch(patch(x)) is x byte for byte; patching is idempotent and replaces an older address', () => {
  const a = checkTarget('10.96.0.53', ['hostmesh', 'traefik.mesh']);
  const b = checkTarget(['10.96.0.99'], ['hostmesh']);
  fc.assert(fc.property(corefileArb, (text) => {
    let patched: string;
    try {
      patched = patchCorefile(text, a).text;
    } catch (e) {
      // Text CoreDNS itself could not load (unbalanced braces, a mesh zone already served) is refused, never mangled.
      assert.ok(isHostmeshError(e, 'DNS_COREFILE_UNPARSABLE') || isHostmeshError(e, 'DNS_ZONE_CONFLICT'), String(e));
      return;
    }
    assert.equal(unpatchCorefile(patched).text, text);
    assert.deepEqual(patchCorefile(patched, a), { text: patched, changed: false });
    const other = patchCorefile(patched, b).text;
    assert.equal(unpatchCorefile(other).text, text);
    assert.equal(patchCorefile(other, a).text, patched);
    assert.equal((patched.match(/# hostmesh begin/g) ?? []).length, 1);
    outlineCorefile(patched);
  }), { numRuns: 1500 });
});
