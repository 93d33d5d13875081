/**
 * Query sets and generated libraries made of real meme words, shared by the
 * recall benchmarks (bench:lexical, bench:serve). Queries: the
 * recall-quality fixture's plus the sample captions. Captions of generated
 * memes: one to three real words (the sample's and the fixture's captions,
 * the slang table), skewed so a few are everywhere, sometimes a particle.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LocalEmbedder } from '../src/providers/embedding/local-embedder.js';
import { generateLibrary } from '../test/helpers/library-generator.js';
import { seededRandom } from '../test/helpers/seeded-random.js';
import { projectRoot, sampleDir, type Workspace } from '../test/helpers/workspace.js';

const captions = fs
  .readFileSync(path.join(sampleDir, 'manifest.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => (JSON.parse(l) as { caption: string }).caption);
const fixture = JSON.parse(fs.readFileSync(path.join(projectRoot, 'test/fixtures/recall-paraphrases.json'), 'utf8')) as {
  queries: Array<{ query: string; kind: string }>;
};

/** The benchmark queries: paraphrases, slang, single characters and captions, each once. */
export const benchQueries: readonly string[] = [...new Set([...fixture.queries.map((q) => q.query), ...captions])];

/** Captions from real meme words: one to three of them (common words more often), sometimes a particle. */
export function captionMaker(): () => string {
  const table = JSON.parse(fs.readFileSync(path.join(projectRoot, 'configs/slang.json'), 'utf8')) as Record<string, Record<string, string[]>>;
  const words = [
    ...new Set([
      ...captions,
      ...fixture.queries.filter((q) => q.kind === 'caption' || q.kind === 'two-char').map((q) => q.query),
      ...Object.entries({ ...table.slang, ...table.synonyms }).flat(2),
    ]),
  ];
  const random = seededRandom(0x5eed);
  const particles = ['了', '啊', '吧', '呢', '吗', '哦', '我', '你'];
  const pick = () => words[Math.floor(words.length * random() ** 2)]!; // skewed: a few words are everywhere
  return () => {
    const count = 1 + Math.floor(random() * 3);
    let caption = Array.from({ length: count }, pick).join('');
    if (random() < 0.4) caption += particles[Math.floor(random() * particles.length)];
    return caption;
  };
}

/** `n` generated memes with word captions and local lexical vectors in a workspace's library (collection emomo-local). */
export function generateWordLibrary(ws: Workspace, n: number, dims: number): void {
  const caption = captionMaker();
  const embedder = new LocalEmbedder({ dimensions: dims });
  generateLibrary({
    db: ws.db,
    objects: ws.objects,
    memes: n,
    dims,
    collection: 'emomo-local',
    text: (_, category) => {
      const ocr = caption();
      return { ocr, description: `${category}表情包，配文「${ocr}」，标签：${category}`, tags: [category] };
    },
    embed: { model: embedder.model, vector: (text) => embedder.embedText(text) },
  });
}
