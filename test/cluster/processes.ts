/**
 * Long-running processes of the cluster tier (etcd, kube-apiserver, CoreDNS, the controller, the
 * proxies): output kept line by line so a failure can name the component and show its last
 * lines, and stopped with a signal. Not tied to one test: the cluster outlives each scenario.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

export interface Exit { code: number | null; signal: NodeJS.Signals | null }

export class Component {
  readonly lines: string[] = [];
  readonly exited: Promise<Exit>;
  private readonly child: ChildProcess;
  private done = false;

  readonly name: string;

  constructor(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
    this.name = name;
    this.child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => {
        const parts = (partial + d).split('\n');
        partial = parts.pop()!;
        this.keep(parts);
      });
      stream.on('end', () => { if (partial !== '') this.keep([partial]); });
    }
    this.exited = new Promise((resolve) => {
      this.child.on('error', (e) => { this.keep([`spawn ${command}: ${e.message}`]); });
      this.child.on('close', (code, signal) => {
        this.done = true;
        resolve({ code, signal });
      });
    });
  }

  private keep(lines: string[]): void {
    this.lines.push(...lines);
    // Enough for a readable failure; a chatty apiserver must not grow without bound.
    if (this.lines.length > 4000) this.lines.splice(0, this.lines.length - 2000);
  }

  get running(): boolean {
    return !this.done;
  }

  /** The last `n` output lines, for failure messages. */
  tail(n = 25): string {
    return this.lines.slice(-n).map((l) => `  | ${l}`).join('\n');
  }

  /** An error naming this component, what went wrong and its last log lines. */
  failure(what: string): Error {
    return new Error(`${this.name}: ${what}${this.done ? ` (exited: ${this.child.exitCode ?? this.child.signalCode})` : ''}; its last log lines:\n${this.tail()}`);
  }

  /**
   * Polls `ready` until it is true; fails naming the component if it exits first or the safety
   * net runs out.
   */
  async waitReady(what: string, ready: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw this.failure(`exited before ${what}`);
      try {
        if (await ready()) return;
      } catch {
        // not yet
      }
      if (Date.now() > deadline) throw this.failure(`not ${what} within ${timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    if (this.done) return this.exited;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}
