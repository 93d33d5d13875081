/**
 * A small library where two staging sources share images: source "a" offers
 * sample items 1-6, source "b" items 4-8 (so 4-6 are in both). "a" is also
 * embedded into the second collection. Used by the purge and stats tests.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FakeDescriber, FakeEmbedder } from './fakes.js';
import { runIngest } from './run-ingest.js';
import { sampleDir, type Workspace } from './workspace.js';

export interface SampleLine {
  id: string;
  filename: string;
  is_animated: boolean;
}

export function sampleLines(): SampleLine[] {
  return fs
    .readFileSync(path.join(sampleDir, 'manifest.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SampleLine);
}

function stage(ws: Workspace, id: string, from: number, to: number): SampleLine[] {
  const lines = fs.readFileSync(path.join(sampleDir, 'manifest.jsonl'), 'utf8').split('\n').filter(Boolean).slice(from - 1, to);
  const dir = path.join(ws.staging, id);
  fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
  for (const line of lines) {
    const { filename } = JSON.parse(line) as SampleLine;
    fs.copyFileSync(path.join(sampleDir, 'images', filename), path.join(dir, 'images', filename));
  }
  fs.writeFileSync(path.join(dir, 'manifest.jsonl'), lines.join('\n') + '\n');
  return lines.map((l) => JSON.parse(l) as SampleLine);
}

export async function buildTwoSources(ws: Workspace): Promise<{ a: SampleLine[]; b: SampleLine[] }> {
  const a = stage(ws, 'a', 1, 6);
  const b = stage(ws, 'b', 4, 8);
  const describer = new FakeDescriber();
  const first = new FakeEmbedder(256);
  const second = new FakeEmbedder(128);
  const overrides = { describer, embedder: (e: { name: string }) => (e.name === 'second' ? second : first) };
  for (const run of [
    { source: 'staging:a' },
    { source: 'staging:a', embedding: 'second' },
    { source: 'staging:b' },
  ]) {
    const { code, log } = await runIngest(ws, run, overrides);
    if (code !== 0) throw new Error(`ingest ${run.source} failed: ${log}`);
  }
  return { a, b };
}
