// Entry point for running from source: `node src/main.ts <command>` (what `npm start` uses).
import { main } from './cli.js';
process.exitCode = await main(process.argv.slice(2));
