/** `emomo serve`: the recall API and search page over HTTP (the server itself loads only here). */
import { InvalidArgumentError, type Command } from 'commander';
import { MAX_SERVE_WORKERS } from '../../config/limits.js';
import type { CommandContext } from '../context.js';
import { positiveIntUpTo } from '../parse.js';

/** Bytes a pipe writes whole (POSIX PIPE_BUF on Linux). */
const PIPE_BUF = 4096;

export interface ServeCommandFlags {
  host?: string;
  port?: number;
  token?: string;
  public?: boolean;
  workers?: number;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`expected a port from 0 to 65535, got "${value}"`);
  return n;
}

export function registerServe(program: Command, context: CommandContext): void {
  program
    .command('serve')
    .description('answer recall over HTTP (/api/recall, the same results as recall --json) and serve a search page at /')
    .option('--host <address>', 'address to listen on (default serve.host, 127.0.0.1); any other address needs --token or --public')
    .option('--port <n>', 'TCP port (default serve.port, 8787; 0 picks a free one)', port)
    .option('--token <token>', 'bearer token every API and image request must carry (env EMOMO_SERVE_TOKEN, which keeps it out of ps)')
    .option('--public', 'serve beyond loopback without a token (anyone who can connect may search)')
    .option('--workers <n>', `server processes sharing the port, each answering one search at a time: up to one per core (at most ${MAX_SERVE_WORKERS})`, positiveIntUpTo(MAX_SERVE_WORKERS), 1)
    .addHelpText(
      'after',
      `
Read-only: it never writes to the library, and an ingest running beside it is
seen without a restart. Stops on SIGTERM / Ctrl+C after answering the requests
in flight. Limits, CORS and the cache are in the config's serve section.
API: docs/serve.md, or GET /api/openapi.json.

Examples:
  emomo serve
  emomo serve --port 9000
  emomo serve --workers 4                     # four processes, one port: four searches at once
  EMOMO_SERVE_TOKEN=$(openssl rand -hex 24) emomo serve --host 0.0.0.0
  curl -s 'http://127.0.0.1:8787/api/recall?q=我太难了&top_k=3' | jq '.results[].url'`,
    )
    .action((flags: ServeCommandFlags) =>
      context.run(async (app, reporter, signal) => {
        const { runServe } = await import('../../serve/run.js');
        // A line per request: written once per turn of the event loop, not once per line. Several processes
        // share stderr with --workers: no write longer than a pipe writes whole, so lines never interleave.
        reporter.batchLines(flags.workers !== undefined && flags.workers > 1 ? PIPE_BUF : undefined);
        const out = {
          log: reporter.log.bind(reporter),
          ready: (url: string, info: object) => (reporter.flags.json ? reporter.json({ url, ...info }) : reporter.result(url)),
        };
        return runServe(app, flags, out, signal);
      }, 'read'),
    );
}
