/**
 * A node:test reporter for the conformance report: one JSON object per top-level test (an
 * upstream test's short name) with whether it passed and, when it failed, the failing cases'
 * messages. Used by scripts/conformance-report.ts.
 */
interface TestEventData {
  name: string;
  nesting: number;
  file?: string;
  skip?: boolean | string;
  details?: { duration_ms?: number; error?: { message?: string; cause?: { message?: string } } };
}

export default async function* conformanceReporter(source: AsyncIterable<{ type: string; data: TestEventData }>): AsyncGenerator<string> {
  // The report runs the files one after the other (--test-concurrency=1), so a top-level test's
  // failed cases are the ones reported since the previous top-level test.
  let failures: string[] = [];
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const d = event.data;
    if (d.nesting > 0) {
      if (event.type === 'test:fail') failures.push(`${d.name}: ${d.details?.error?.cause?.message ?? d.details?.error?.message ?? 'failed'}`);
      continue;
    }
    const result = d.skip ? 'skipped' : event.type === 'test:pass' ? 'passed' : 'failed';
    const own = failures.length > 0 ? failures : [d.details?.error?.cause?.message ?? d.details?.error?.message ?? 'failed'];
    failures = [];
    yield `${JSON.stringify({ name: d.name, file: d.file, result, durationMs: d.details?.duration_ms, failures: result === 'failed' ? own : [] })}\n`;
  }
}
