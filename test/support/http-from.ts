/**
 * HTTP requests from a chosen local address (a client identity in ACL tests: the proxy knows
 * clients by source address), over a keep-alive agent with one connection, so a test can tell
 * whether a request reused the connection.
 */
import { Agent, request } from 'node:http';
import type { AgentOptions } from 'node:http';
import type { TestContext } from 'node:test';

export interface Answer { status: number; body: string; reused: boolean; type: string | undefined }

/** One request to 127.0.0.1:`port` over `agent`; says whether the connection was reused. */
export function call(agent: Agent, port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, reused: req.reusedSocket, type: res.headers['content-type'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A keep-alive agent with one connection from `localAddress`, destroyed after the test. */
export function agentFrom(t: TestContext, localAddress: string): Agent {
  const a = new Agent({ keepAlive: true, maxSockets: 1, localAddress } as AgentOptions);
  t.after(() => a.destroy());
  return a;
}
