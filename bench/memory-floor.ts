/**
 * The memory floor bench/memory.ts compares the proxy with: Node plus exactly the packages and
 * builtins the proxy's own sources imported (argv: a JSON list of specifiers), nothing of ours.
 * Runs with the probe preloaded, like the proxy, and answers the same report.
 */
const specifiers = JSON.parse(process.argv[2] ?? '[]') as string[];
for (const s of specifiers) await import(s);
process.send?.({ ready: true });
