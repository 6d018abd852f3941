/**
 * A headless Debian Chromium driven over the DevTools protocol with Node's own WebSocket: no
 * browser-automation dependency. `launchChromium` returns undefined when /usr/bin/chromium
 * (or $CHROMIUM) is absent, so a test can skip with one line.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (apt-get install chromium)`;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** One page (tab) of the browser. */
export class Page {
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, Pending>();
  #seq = 0;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener('message', (m) => {
      const msg = JSON.parse(String(m.data)) as { id?: number; result?: unknown; error?: { message: string } };
      if (msg.id === undefined) return;
      const p = this.#pending.get(msg.id);
      if (p === undefined) return;
      this.#pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`DevTools: ${msg.error.message}`));
      else p.resolve(msg.result);
    });
  }

  static async open(url: string): Promise<Page> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('error', () => reject(new Error(`cannot open DevTools socket ${url}`)), { once: true });
    });
    return new Page(ws);
  }

  send<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.#seq;
    const p = new Promise<T>((resolve, reject) => this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject }));
    this.#ws.send(JSON.stringify({ id, method, params }));
    return p;
  }

  /** Evaluates an expression in the page; returns its value (awaited when a promise). */
  async eval<T = unknown>(expression: string): Promise<T> {
    const r = await this.send<{ result: { value?: T }; exceptionDetails?: { text: string; exception?: { description?: string } } }>('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value as T;
  }

  async navigate(url: string): Promise<void> {
    await this.send('Page.navigate', { url });
  }

  async screenshot(): Promise<Buffer> {
    const r = await this.send<{ data: string }>('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
    return Buffer.from(r.data, 'base64');
  }

  close(): void {
    this.#ws.close();
  }
}

export interface Browser {
  page: Page;
  close(): Promise<void>;
}

/** Starts headless Chromium with a fresh profile; undefined when it is not installed. */
export async function launchChromium(width = 1366, height = 900): Promise<Browser | undefined> {
  if (chromiumMissing() !== undefined) return undefined;
  const profile = mkdtempSync(join(tmpdir(), 'hostmesh-chromium-'));
  const child: ChildProcess = spawn(CHROMIUM, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-dev-shm-usage', `--window-size=${width},${height}`,
    `--user-data-dir=${profile}`, '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0', 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  const cleanup = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    const browserUrl = await new Promise<string>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`chromium did not start: ${text.slice(-500)}`)), 30_000);
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (d: string) => {
        text += d;
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(text);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`chromium exited with ${code}: ${text.slice(-500)}`));
      });
    });
    const http = browserUrl.replace(/^ws:\/\/([^/]+)\/.*$/, 'http://$1');
    const targets = await (await fetch(`${http}/json/list`)).json() as { type: string; webSocketDebuggerUrl: string }[];
    const target = targets.find((t) => t.type === 'page');
    if (!target) throw new Error('chromium has no page target');
    const page = await Page.open(target.webSocketDebuggerUrl);
    await page.send('Page.enable');
    await page.send('Runtime.enable');
    return {
      page,
      close: async () => {
        page.close();
        await cleanup();
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
