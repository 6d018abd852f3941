/**
 * A local OTLP/HTTP trace receiver for tests: decodes every POST /v1/traces (JSON encoding) it
 * gets into spans and resource attributes; `hold` leaves the requests unanswered (a stuck
 * collector). Closed after the test.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TestContext } from 'node:test';
import { closeServer, LOOPBACK } from '../proxy/helpers.ts';

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: { stringValue?: string; intValue?: string } }[];
  status: { code?: number };
}

/** An OTLP/HTTP receiver: decodes each POST /v1/traces; `hold` leaves requests unanswered. */
export async function receiver(t: TestContext, opts: { hold?: boolean } = {}) {
  const spans: OtlpSpan[] = [];
  const resources: Record<string, string>[] = [];
  const held: ServerResponse[] = [];
  /** Spans per export request. */
  const batches: number[] = [];
  let requests = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      assert.equal(req.method, 'POST');
      assert.equal(req.url, '/v1/traces');
      assert.equal(req.headers['content-type'], 'application/json');
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { resourceSpans: { resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: { scope: { name: string }; spans: OtlpSpan[] }[] }[] };
      batches.push(body.resourceSpans.reduce((n, rs) => n + rs.scopeSpans.reduce((m, ss) => m + ss.spans.length, 0), 0));
      for (const rs of body.resourceSpans) {
        resources.push(Object.fromEntries(rs.resource.attributes.map((a) => [a.key, a.value.stringValue ?? a.value.intValue ?? ''])));
        for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      if (opts.hold) {
        held.push(res);
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  t.after(() => {
    for (const r of held) r.destroy();
    server.closeAllConnections();
    return closeServer(server);
  });
  return { url: `http://${LOOPBACK}:${(server.address() as { port: number }).port}`, spans, resources, batches, get requests() { return requests; } };
}

export function attrs(s: OtlpSpan): Record<string, string> {
  return Object.fromEntries(s.attributes.map((a) => [a.key, a.value.stringValue ?? a.value.intValue ?? '']));
}

