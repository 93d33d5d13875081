/** `emomo staging list | stats | clean`: look at the staging area and tidy it. */
import type { Command } from 'commander';
import type { App } from '../../app.js';
import { ExitCode } from '../../errors.js';
import type { SourceStats } from '../../staging/staging-inspect.js';

/** The staging inspector, loaded when a staging command runs (not for --help). */
const inspector = () => import('../../staging/staging-inspect.js');
import type { CommandContext } from '../context.js';
import type { Reporter } from '../reporter.js';

export function registerStaging(program: Command, context: CommandContext): void {
  const staging = program
    .command('staging')
    .description('inspect and clean the staging area the crawler fills (sources.staging.path)');

  staging
    .command('list')
    .description('staging sources with item counts and sizes')
    .action(() => context.run(async (app, reporter) => list(app, reporter)));

  staging
    .command('stats')
    .description('items, bytes, formats, animated share and orphans per source (reports only; "clean --orphans" removes them)')
    .option('--source <id>', 'one staging source (default: all)')
    .action((flags: { source?: string }) => context.run(async (app, reporter) => stats(app, reporter, flags.source)));

  staging
    .command('clean')
    .description('delete what a source has staged (manifest, images, skip list; the crawl cursor stays)')
    .requiredOption('--source <id>', 'staging source to clean')
    .option('--orphans', 'delete only image files without a manifest line and unfinished downloads', false)
    .option('--yes', 'really delete (without it, only print what would be deleted)', false)
    .addHelpText('after', '\nExamples:\n  emomo staging clean --source fabiaoqing            # dry run\n  emomo staging clean --source fabiaoqing --yes\n  emomo staging clean --source fabiaoqing --orphans --yes')
    .action((flags: { source: string; orphans: boolean; yes: boolean }) =>
      context.run(async (app, reporter) => clean(app, reporter, flags)),
    );
}

async function list(app: App, reporter: Reporter): Promise<number> {
  const root = app.config.sources.stagingPath;
  const { listStagingIds, sourceStats } = await inspector();
  const all = await Promise.all((await listStagingIds(root)).map((id) => sourceStats(root, id)));
  if (reporter.flags.json) {
    reporter.json({
      root,
      sources: all.map((s) => ({ id: s.id, items: s.items, bytes: s.bytes, cursor: s.cursor, orphans: orphanCount(s) })),
    });
    return ExitCode.ok;
  }
  if (all.length === 0) reporter.result(`no staging sources under ${root} yet (run "emomo crawl --source fabiaoqing")`);
  for (const s of all) {
    reporter.result(`${s.id.padEnd(16)} ${String(s.items).padStart(7)} items  ${mb(s.bytes).padStart(9)}${s.cursor ? `  cursor ${s.cursor}` : ''}${orphanCount(s) ? `  ${orphanCount(s)} orphan(s)` : ''}`);
  }
  return ExitCode.ok;
}

async function stats(app: App, reporter: Reporter, source: string | undefined): Promise<number> {
  const root = app.config.sources.stagingPath;
  const { listStagingIds, sourceStats } = await inspector();
  const ids = source ? [source] : await listStagingIds(root);
  const all: SourceStats[] = [];
  for (const id of ids) all.push(await sourceStats(root, id));
  if (reporter.flags.json) {
    reporter.json({ root, sources: all });
    return ExitCode.ok;
  }
  if (all.length === 0) reporter.result(`no staging sources under ${root} yet`);
  for (const s of all) {
    const formats = Object.entries(s.formats).sort((a, b) => b[1] - a[1]).map(([f, n]) => `${f} ${n}`).join(', ');
    reporter.result(`${s.id}  (${s.dir})`);
    reporter.result(`  items ${s.items}, ${mb(s.bytes)}; formats: ${formats || 'none'}; animated ${(s.animated_share * 100).toFixed(1)}%`);
    if (s.cursor) reporter.result(`  next crawl starts at page ${s.cursor}; ${s.refused} image(s) refused for good`);
    if (s.malformed_lines || s.duplicate_ids) reporter.result(`  manifest: ${s.malformed_lines} malformed line(s), ${s.duplicate_ids} duplicate id(s)`);
    if (s.torn_tail_bytes) reporter.result(`  manifest ends in a torn line (${s.torn_tail_bytes} bytes): the next crawl cuts it off`);
    const o = s.orphans;
    reporter.result(
      `  orphans (reported, not changed): ${o.images_without_line.count} image(s) without a line, ` +
        `${o.lines_without_image.count} line(s) without an image, ${o.temp_files.count} unfinished download(s)`,
    );
    for (const name of [...o.images_without_line.examples, ...o.lines_without_image.examples, ...o.temp_files.examples]) {
      reporter.result(`    ${name}`);
    }
    if (o.images_without_line.count + o.temp_files.count > 0) {
      reporter.result(`  remove them with: emomo staging clean --source ${s.id} --orphans --yes`);
    }
  }
  return ExitCode.ok;
}

async function clean(app: App, reporter: Reporter, flags: { source: string; orphans: boolean; yes: boolean }): Promise<number> {
  const root = app.config.sources.stagingPath;
  const { applyClean, planClean } = await inspector();
  const plan = await planClean(root, flags.source, flags.orphans ? 'orphans' : 'all');
  if (flags.yes) await applyClean(root, plan);
  if (reporter.flags.json) {
    reporter.json({ ...plan, deleted: flags.yes });
    return ExitCode.ok;
  }
  const what = `${plan.files} file(s), ${mb(plan.bytes)} ${plan.scope === 'orphans' ? '(orphans) ' : ''}in ${plan.dir}`;
  if (flags.yes) {
    reporter.say(`deleted ${what}`);
  } else {
    reporter.say(`would delete ${what}:`);
    for (const t of plan.targets.slice(0, 20)) reporter.say(`  ${t}`);
    if (plan.targets.length > 20) reporter.say(`  … and ${plan.targets.length - 20} more`);
    reporter.say('nothing deleted; add --yes to delete');
  }
  return ExitCode.ok;
}

function orphanCount(s: SourceStats): number {
  const o = s.orphans;
  return o.images_without_line.count + o.lines_without_image.count + o.temp_files.count;
}

function mb(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
