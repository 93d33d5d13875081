/**
 * Ctrl+C / SIGTERM stop taking new items; in-flight items finish or are
 * undone and the summary is printed. A second signal exits at once (code 3).
 */
import { ExitCode } from '../errors.js';

export function abortOnSignals(onFirst?: (signal: string) => void): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const handler = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(`\nemomo: ${name} again, stopping now without cleanup\n`);
      process.exit(ExitCode.aborted);
    }
    onFirst?.(name);
    controller.abort(`interrupted by ${name}`);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose: () => {
      // An interrupted run may take a moment to exit after its command returned (workers and handles
      // closing): its handler stays, so a second signal still ends it as aborted (3, terminal restored),
      // never as killed by the signal (130).
      if (controller.signal.aborted) return;
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
