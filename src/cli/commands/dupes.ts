/** `emomo dupes [--merge]`: duplicates (one copy kept) and template variants (linked, never merged). */
import type { Command } from 'commander';
import type { App } from '../../app.js';
import { ExitCode } from '../../errors.js';
import type { DupesResult } from '../../pipeline/dupes-service.js';
import type { PictureFacts } from '../../store/ports.js';
import type { CommandContext } from '../context.js';
import { positiveInt } from '../parse.js';
import type { Reporter } from '../reporter.js';
import { formatTable, truncateToWidth } from '../table.js';

export interface DupesFlags {
  merge: boolean;
  force: boolean;
  examples: number;
}

export function registerDupes(program: Command, context: CommandContext): void {
  program
    .command('dupes')
    .description('find copies of one meme (same picture and caption) and template variants (same picture, another caption)')
    .option('--merge', 'keep the best copy of each duplicate group (largest, then lossless, then oldest), fold the others into it, link variants', false)
    .option('--force', 'merge even when more than 20% of the library (or 100 memes) would be merged away', false)
    .option('--examples <n>', 'groups shown in the table, and failures named', positiveInt, 10)
    .addHelpText(
      'after',
      `
Memes without a perceptual hash yet (ingested before hashes existed) are hashed
first from their stored objects: no provider is called. A merge folds each
copy's sources and tags into the meme kept, removes the copy's rows, vectors
and object (its description stays), and remembers its md5 so ingest does not
add it again. Each group is merged in one transaction; objects are deleted
after, as purge does. Variants are only linked. See docs/dupes.md.

Examples:
  emomo dupes
  emomo dupes --json | jq '.duplicate_groups[] | {kept: .kept.id, copies: [.copies[].id]}'
  emomo dupes --merge && emomo verify

Exit codes: 0 done, 1 some objects could not be read or deleted, 2 usage or config error,
or a merge the share guard refused (nothing changed).`,
    )
    .action((flags: DupesFlags) => context.run((app, reporter, signal) => dupes(flags, app, reporter, signal), 'update'));
}

export async function dupes(flags: DupesFlags, app: App, reporter: Reporter, signal?: AbortSignal): Promise<number> {
  // Loaded here: hashing needs sharp, which --help and other commands never load.
  const { findDuplicates } = await import('../../pipeline/dupes-service.js');
  reporter.startProgress(undefined, 'dupes');
  const result = await findDuplicates(
    { store: app.store, storage: app.storage, limits: { maxPixels: app.config.ingest.maxPixels }, redact: app.redact },
    {
      merge: flags.merge,
      force: flags.force,
      examples: flags.examples,
      signal,
      onProgress: (stage, done) => reporter.progress(done, { rate: '-', counts: stage === 'hash' ? `hashed ${done}` : `merged ${done}` }),
    },
  );
  reporter.stopProgress();
  if (reporter.flags.json) reporter.json(dupesJson(result));
  else printDupes(reporter, result, flags.examples);
  if (result.refused) {
    reporter.log('error', `merge refused: ${result.refused}`);
    return ExitCode.usage;
  }
  return result.hashes.failed > 0 || (result.merge?.objects.failed ?? 0) > 0 ? ExitCode.partial : ExitCode.ok;
}

const meme = (m: PictureFacts) => ({
  id: m.id,
  md5: m.md5,
  caption: m.caption,
  width: m.width,
  height: m.height,
  format: m.format,
  file_size: m.fileSize,
  is_animated: m.isAnimated,
  created_at: m.createdAt,
  sources: m.sources,
});

/** The --json shape (documented in docs/dupes.md). */
export function dupesJson(r: DupesResult) {
  return {
    memes: r.memes,
    hashed: { added: r.hashes.hashed, failed: r.hashes.failed, failures: r.hashes.failures },
    counts: {
      duplicate_groups: r.duplicates.length,
      duplicates: r.duplicates.reduce((n, g) => n + g.copies.length, 0),
      variant_groups: r.variants.length,
      variants: r.variants.reduce((n, g) => n + g.members.length, 0),
    },
    duplicate_groups: r.duplicates.map((g) => ({ kept: { ...meme(g.kept), reason: g.reason }, copies: g.copies.map((c) => ({ ...meme(c), distance: c.distance })) })),
    variant_groups: r.variants.map((g) => ({ template: meme(g.members[0]!), members: g.members.slice(1).map(meme) })),
    merge: r.merge
      ? {
          merged: r.merge.merged,
          skipped: r.merge.skipped,
          sources_moved: r.merge.sourcesMoved,
          tags_added: r.merge.tagsAdded,
          vectors: r.merge.vectors,
          variants_linked: r.merge.variantsLinked,
          objects_deleted: r.merge.objects.deleted,
          objects_failed: r.merge.objects.failed,
          objects_waiting: r.merge.objects.waiting,
          object_failures: r.merge.objects.failures,
        }
      : null,
    refused: r.refused ?? null,
    duration_ms: r.durationMs,
  };
}

const label = (m: PictureFacts) => `#${m.id} ${truncateToWidth(m.caption || '(no caption)', 16)}`;
const size = (m: PictureFacts) => `${m.width}×${m.height} ${m.format}`;

function printDupes(reporter: Reporter, r: DupesResult, examples: number): void {
  if (r.hashes.hashed + r.hashes.failed > 0) {
    reporter.say(`hashed ${r.hashes.hashed} memes that had no perceptual hash${r.hashes.failed ? `; ${r.hashes.failed} could not be read:` : ''}`);
    for (const f of r.hashes.failures) reporter.say(`  ${f}`);
  }
  const copies = r.duplicates.reduce((n, g) => n + g.copies.length, 0);
  reporter.result(`duplicates: ${r.duplicates.length} group(s), ${copies} copies among ${r.memes} memes${r.merge ? '' : ' (dupes --merge keeps one of each)'}`);
  const rows = r.duplicates.slice(0, examples).map((g) => [label(g.kept), size(g.kept), g.copies.length, g.copies.map((c) => `#${c.id}`).join(' '), g.reason]);
  if (rows.length > 0) reporter.result(formatTable(['kept', 'size', 'copies', 'ids', 'why kept'], rows));
  const variants = r.variants.reduce((n, g) => n + g.members.length, 0);
  reporter.result(`template variants: ${r.variants.length} group(s), ${variants} memes (same picture, another caption: linked, never merged)`);
  const vrows = r.variants.slice(0, examples).map((g) => [label(g.members[0]!), g.members.length, g.members.slice(1, 6).map(label).join(', ') + (g.members.length > 6 ? ', …' : '')]);
  if (vrows.length > 0) reporter.result(formatTable(['template', 'memes', 'variants'], vrows));
  if (r.duplicates.length > examples || r.variants.length > examples) reporter.say(`(first ${examples} groups shown; --examples N or --json for all)`);
  const m = r.merge;
  if (m) {
    reporter.result(
      `merged ${m.merged} copies: ${m.sourcesMoved} source links moved, ${m.tagsAdded} tags added, ${m.vectors} vectors and ${m.objects.deleted} objects removed; ${m.variantsLinked} variants linked`,
    );
    for (const s of m.skipped.slice(0, examples)) reporter.say(`  left #${s.id}: ${s.reason}`);
    if (m.objects.waiting > 0) reporter.say(`${m.objects.waiting} object deletes wait for a running ingest: the next purge or \`emomo verify --repair\` finishes them`);
    for (const f of m.objects.failures) reporter.say(`  could not delete ${f}`);
  }
}
