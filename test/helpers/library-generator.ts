/**
 * Writes a synthetic but consistent library straight into a database and a
 * local object folder: memes, source links, descriptions, vector rows, vec0
 * rows, FTS rows and tiny objects. Much faster than ingest, for tests and
 * benchmarks that need tens of thousands of memes.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { indexTerms } from '../../src/store/fts-terms.js';
import { ensureVectorTable, insertVector } from '../../src/store/sqlite/vector-tables.js';
import { objectKey } from '../../src/storage/object-key.js';

export interface GeneratedLibrary {
  db: string;
  objects: string;
  memes: number;
  /** md5 of meme i (1-based, equal to its memes.id). */
  md5(i: number): string;
}

const LINKS_PER_FILE = 20_000;

export function generatedMd5(i: number): string {
  return createHash('md5').update(`meme-${i}`).digest('hex');
}

export function generateLibrary(options: {
  db: string;
  objects: string;
  memes: number;
  dims?: number;
  collection?: string;
  source?: string;
  batch?: number;
  /** Meme i's caption, description and tags (default: 文字{i}, "{category} 表情包 {i}", [category]). */
  text?: (i: number, category: string) => { ocr: string; description: string; tags: string[] };
  /** Meme i's vector from its caption and description (default: a fixed pattern), and the model it stands for. */
  embed?: { model: string; vector: (text: string) => Float32Array };
  /** Each object holds bytes of its own (`meme-{i}`, whose md5 is meme i's), so `verify --deep` finds it sound; one file written per meme. */
  ownBytes?: boolean;
}): GeneratedLibrary {
  const { memes, dims = 16, collection = 'generated', source = 'staging:generated', batch = 5000 } = options;
  const db = openDatabase(options.db);
  const model = options.embed?.model ?? 'gen-embed';
  const coll = ensureVectorTable(db, collection, dims, model);
  const insMeme = db.prepare(
    `INSERT INTO memes (id, md5, source_type, source_id, storage_key, width, height, format, is_animated, file_size, category, tags)
     VALUES (?, ?, ?, ?, ?, 100, 100, 'png', ?, 4, ?, ?)`,
  );
  const insSource = db.prepare('INSERT INTO meme_sources (source_type, source_id, meme_id) VALUES (?, ?, ?)');
  const insDesc = db.prepare(
    `INSERT INTO meme_descriptions (md5, vlm_model, prompt_version, description, ocr_text) VALUES (?, 'gen-vlm', 'gen-1', ?, ?)`,
  );
  const insVec = db.prepare(
    `INSERT INTO meme_vectors (meme_id, md5, collection, model, dims, vlm_model, prompt_version)
     VALUES (?, ?, ?, ?, ?, 'gen-vlm', 'gen-1')`,
  );
  const insFts = db.prepare('INSERT INTO memes_fts (rowid, ocr_text, description, tags) VALUES (?, ?, ?, ?)');
  const vector = new Float32Array(dims);
  // Objects are hard links to a few seed files (unless `ownBytes`): creating 100k files one by one is the slow part.
  for (let s = 0; s < 256; s++) fs.mkdirSync(path.join(options.objects, s.toString(16).padStart(2, '0')), { recursive: true });
  const seed = (i: number) => path.join(options.objects, `seed-${Math.floor((i - 1) / LINKS_PER_FILE)}`);
  for (let start = 1; start <= memes; start += batch) {
    const end = Math.min(memes, start + batch - 1);
    db.transaction(() => {
      for (let i = start; i <= end; i++) {
        const md5 = generatedMd5(i);
        const key = objectKey(md5, 'png');
        const category = `类别${i % 10}`;
        const text = options.text?.(i, category) ?? { ocr: `文字${i}`, description: `${category} 表情包 ${i}`, tags: [category] };
        insMeme.run(i, md5, source, `g${i}`, key, i % 7 === 0 ? 1 : 0, category, JSON.stringify(text.tags));
        insSource.run(source, `g${i}`, i);
        insDesc.run(md5, text.description, text.ocr);
        insVec.run(i, md5, collection, model, dims);
        if (options.embed) vector.set(options.embed.vector(`${text.ocr}\n${text.description}`));
        else for (let d = 0; d < dims; d++) vector[d] = Math.sin(i * (d + 1));
        insertVector(db, coll, i, vector, { category, isAnimated: i % 7 === 0, source });
        insFts.run(i, indexTerms(text.ocr), indexTerms(text.description), indexTerms(text.tags.join(' ')));
        if (options.ownBytes) fs.writeFileSync(path.join(options.objects, key), `meme-${i}`);
        else {
          if ((i - 1) % LINKS_PER_FILE === 0) fs.writeFileSync(seed(i), 'meme');
          fs.linkSync(seed(i), path.join(options.objects, key));
        }
      }
    })();
  }
  if (!options.ownBytes) for (let i = 1; i <= memes; i += LINKS_PER_FILE) fs.rmSync(seed(i));
  db.close();
  return { db: options.db, objects: options.objects, memes, md5: generatedMd5 };
}
