/** A raw watch stream read line by line with fetch, to check the wire protocol itself. */

export interface RawWatchEvent {
  type: string;
  object: { kind?: string; code?: number; reason?: string; metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> } };
}

export interface RawWatch {
  status: number;
  /** The next event, or undefined once the server has ended the stream. */
  next(): Promise<RawWatchEvent | undefined>;
  close(): void;
}

export async function rawWatch(url: string, token?: string): Promise<RawWatch> {
  const abort = new AbortController();
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const res = await fetch(url, { signal: abort.signal, headers });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let ended = false;
  return {
    status: res.status,
    async next() {
      for (;;) {
        const nl = buffer.indexOf('\n');
        if (nl >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.trim() !== '') return JSON.parse(line) as RawWatchEvent;
          continue;
        }
        if (ended) return undefined;
        const chunk = await reader.read();
        if (chunk.done) ended = true;
        else buffer += decoder.decode(chunk.value, { stream: true });
      }
    },
    close() {
      abort.abort();
    },
  };
}
