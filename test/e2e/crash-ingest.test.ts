/**
 * Crash safety of ingest: spawned CLI runs (local providers) killed with
 * SIGKILL at a random moment, each followed by a normal run. Afterwards the
 * library matches the input exactly and `emomo verify` finds nothing wrong.
 *
 * 20 rounds, as the acceptance asks (about a minute); EMOMO_CRASH_KILLS=N runs another number.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, startCli } from '../helpers/cli.js';
import { writeGeneratedStaging } from '../helpers/generated-images.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';
import { libraryCounts } from '../helpers/library.js';

const KILLS = Number(process.env.EMOMO_CRASH_KILLS ?? 20);
const PER_ROUND = 10;

describe('crash safety', () => {
  let ws: Workspace;
  let lines: string[];
  before(async () => {
    ws = makeWorkspace();
    await writeGeneratedStaging(ws.staging, 'all', KILLS * PER_ROUND);
    lines = fs.readFileSync(path.join(ws.staging, 'all', 'manifest.jsonl'), 'utf8').split('\n').filter(Boolean);
  });
  after(() => ws.cleanup());

  /** Staging set `r<round>`: the round's own 10 images. */
  function stageRound(round: number): string {
    const id = `r${round}`;
    const dir = path.join(ws.staging, id);
    fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
    const chosen = lines.slice(round * PER_ROUND, (round + 1) * PER_ROUND);
    for (const line of chosen) {
      const { filename } = JSON.parse(line) as { filename: string };
      fs.copyFileSync(path.join(ws.staging, 'all', 'images', filename), path.join(dir, 'images', filename));
    }
    fs.writeFileSync(path.join(dir, 'manifest.jsonl'), chosen.join('\n') + '\n');
    return `staging:${id}`;
  }

  test(`${KILLS} ingests killed with SIGKILL, each followed by a normal run: exact counts, verify clean`, async () => {
    const landed: number[] = [];
    for (let round = 0; round < KILLS; round++) {
      const source = stageRound(round);
      const args = ['--config', ws.config, 'ingest', '--source', source, '--workers', '2'];
      const victim = startCli(args);
      const delay = 300 + Math.floor(Math.random() * 2200);
      await new Promise((r) => setTimeout(r, delay));
      victim.child.kill('SIGKILL');
      await victim.done;
      landed.push(delay);

      const normal = await runCli(args);
      assert.equal(normal.code, 0, `round ${round} (killed after ${delay} ms): ${normal.stderr}`);
    }

    const total = KILLS * PER_ROUND;
    const c = libraryCounts(ws, ['memes', 'md5s', 'sources', 'vectors', 'vec', 'descriptions', 'fts', 'openJobs', 'objects']);
    assert.deepEqual(c, {
      memes: total,
      md5s: total,
      sources: total,
      vectors: total,
      vec: total,
      descriptions: total,
      fts: total,
      openJobs: 0,
      objects: total,
    });

    const verify = await runCli(['--config', ws.config, '--json', 'verify']);
    const report = JSON.parse(verify.stdout) as { consistent: boolean; found: number; issues: unknown[] };
    assert.equal(report.found, 0, JSON.stringify(report.issues));
    assert.equal(verify.code, 0);
  });
});
