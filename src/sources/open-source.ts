/**
 * Turns the `--source` argument into a Source. Only the shape of the spec and
 * the existence of a `dir:` folder are checked here; a staging source checks
 * its own folder when iteration starts, so its error can list what exists.
 */
import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { Source } from '../ports.js';
import { ChineseBqbSource } from './chinesebqb-source.js';
import { DirSource } from './dir-source.js';
import { StagingSource, stagingIdProblem } from './staging-source.js';

const FORMS = '--source takes staging:<id> (a folder under the staging path), chinesebqb, or dir:<path>';

export function openSource(spec: string, paths: { stagingPath: string; chinesebqbPath: string }): Source {
  const s = spec.trim();
  if (s.toLowerCase() === 'chinesebqb') return new ChineseBqbSource(paths.chinesebqbPath);
  if (s.startsWith('staging:')) {
    const id = s.slice('staging:'.length);
    const problem = stagingIdProblem(id);
    if (problem) throw usage(problem);
    return new StagingSource(paths.stagingPath, id);
  }
  if (s.startsWith('dir:')) {
    const dir = expandHome(s.slice('dir:'.length));
    if (!dir) throw usage('dir: needs a folder path');
    const stat = statSync(dir, { throwIfNoEntry: false });
    if (stat && !stat.isDirectory()) throw usage(`${path.resolve(dir)} is a file; dir: takes the folder that holds the images`);
    if (!stat) throw usage(`folder not found: ${path.resolve(dir)}`);
    return new DirSource(dir);
  }
  // `--source fabiaoqing` is the likely slip: suggest the staging form.
  const hint = s && !stagingIdProblem(s) && !s.includes(':') ? ` (did you mean staging:${s}?)` : '';
  throw usage(`unknown source "${spec}"${hint}`);
}

/**
 * The name a source is recorded under, from what a user types: `dir:../few`
 * and `dir:~/few` become `dir:/abs/few`, `ChineseBQB` becomes `chinesebqb`.
 * Filters and purge use it so they find what ingest recorded; a name exactly
 * as recorded (one of `recorded`) is taken as it is.
 */
export function sourceName(spec: string, recorded: readonly string[] = []): string {
  const s = spec.trim();
  if (recorded.includes(s)) return s;
  if (s.toLowerCase() === 'chinesebqb') return 'chinesebqb';
  if (s.startsWith('dir:') && s.length > 'dir:'.length) return `dir:${path.resolve(expandHome(s.slice('dir:'.length)))}`;
  return s;
}

function usage(problem: string): UsageError {
  return new UsageError(`${problem}. ${FORMS}.`);
}

/** The shell does not expand `~` after `dir:`, so we do. */
function expandHome(p: string): string {
  if (p === '~') return os.homedir();
  return p.startsWith('~/') ? path.join(os.homedir(), p.slice(2)) : p;
}
