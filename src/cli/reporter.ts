/**
 * Everything a command prints goes through here. Human output and logs go to
 * stderr; stdout carries results only (`--json` prints exactly one object).
 * On a TTY a progress bar shows rate, ETA and counts; otherwise (cron) each
 * notable event is one structured log line.
 */
import { createRequire } from 'node:module';
import type CliProgress from 'cli-progress';
import { parseDuration } from '../config/duration.js';

/** Loaded with the first bar: commands that never show one (recall, stats, --help) skip it. */
const loadCliProgress = (): typeof CliProgress => createRequire(import.meta.url)('cli-progress') as typeof CliProgress;

/** How often a run without a TTY logs a progress line (env EMOMO_PROGRESS_INTERVAL, e.g. 10s). */
export function progressIntervalFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.EMOMO_PROGRESS_INTERVAL?.trim();
  if (!text) return 30_000;
  try {
    return parseDuration(text);
  } catch {
    return 30_000;
  }
}
import { terminalText, terminalValue } from './terminal-text.js';

export interface GlobalFlags {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
}

type Fields = Record<string, string | number | boolean | undefined>;

/** Longest value of a log field, and of a log message, in characters. */
const FIELD_MAX = 1000;
const MESSAGE_MAX = 4000;

/** `key=value` pairs, values escaped and bounded (a server writes thousands of these a second: a plain loop). */
function formatFields(fields: Fields): string {
  let out = '';
  for (const k in fields) {
    const v = fields[k];
    if (v === undefined) continue;
    if (out) out += ' ';
    if (typeof v !== 'string') {
      out += `${k}=${String(v)}`;
      continue;
    }
    const safe = terminalValue(v, FIELD_MAX);
    out += `${k}=${/[\s="]/.test(safe) ? JSON.stringify(safe) : safe}`;
  }
  return out;
}

/** The time of a log line, made once per millisecond. */
let stampMs = 0;
let stamp = '';
function timestamp(): string {
  const now = Date.now();
  if (now !== stampMs) {
    stampMs = now;
    stamp = new Date(now).toISOString();
  }
  return stamp;
}

/** The part of a stream the reporter needs (tests pass a buffer). */
export interface OutStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export class Reporter {
  readonly tty: boolean;
  /** Results go to a terminal (not a pipe or file): links and narrower columns are fine. */
  readonly stdoutTty: boolean;
  private bar?: CliProgress.SingleBar;
  private readonly progressIntervalMs = progressIntervalFromEnv();

  constructor(
    readonly flags: GlobalFlags,
    private readonly stderr: OutStream = process.stderr,
    private readonly stdout: OutStream = process.stdout,
  ) {
    this.tty = !!stderr.isTTY && !flags.quiet;
    this.stdoutTty = !!stdout.isTTY;
  }

  /** A structured log line (suppressed by --quiet; debug needs --verbose). */
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields: Fields = {}): void {
    if (level === 'debug' && !this.flags.verbose) return;
    if (this.flags.quiet && level !== 'error') return;
    // Messages and values may carry data (file names, captions, provider errors): escaped, bounded.
    const text = msg.length > MESSAGE_MAX ? `${msg.slice(0, MESSAGE_MAX - 1)}…` : msg;
    const line = this.tty
      ? `${level === 'info' || level === 'debug' ? '' : `${level}: `}${terminalText(text, { multiline: true })}${Object.keys(fields).length ? `  ${formatFields(fields)}` : ''}`
      : `time=${timestamp()} level=${level} msg=${terminalText(JSON.stringify(text))} ${formatFields(fields)}`.trimEnd();
    if (this.batch && !this.bar) return this.batched(`${line}\n`, level === 'warn' || level === 'error');
    if (this.bar) this.bar.stop();
    this.stderr.write(`${line}\n`);
    if (this.bar) this.bar.start(this.bar.getTotal(), this.progressValue, { rate: '0.0', counts: '', ...this.payload });
  }

  /** Log lines not yet written (batchLines): written together once per turn of the event loop. */
  private batch: string[] | undefined;
  private maxWrite = Infinity;

  /**
   * From now on, info and debug lines logged in one turn of the event loop go
   * out in one write at its end (a server logs a line per request, thousands a
   * second: one write each would cost more than answering). A warning or an
   * error goes out at once, after the lines before it; what is left is
   * written when the process exits.
   */
  batchLines(maxWriteBytes = Infinity): void {
    if (this.batch) return;
    this.batch = [];
    this.maxWrite = maxWriteBytes;
    process.once('exit', () => this.writeBatch());
  }

  private batched(line: string, now: boolean): void {
    const batch = this.batch!;
    if (batch.push(line) === 1 && !now) setImmediate(() => this.writeBatch());
    if (now) this.writeBatch();
  }

  private writeBatch(): void {
    if (!this.batch?.length) return;
    const lines = this.batch;
    this.batch = [];
    if (this.maxWrite === Infinity) return void this.stderr.write(lines.join(''));
    // Whole lines per write, none longer than maxWrite unless a single line is.
    let text = '';
    let bytes = 0;
    for (const line of lines) {
      const size = Buffer.byteLength(line);
      if (bytes > 0 && bytes + size > this.maxWrite) {
        this.stderr.write(text);
        text = '';
        bytes = 0;
      }
      text += line;
      bytes += size;
    }
    this.stderr.write(text);
  }

  private progressValue = 0;
  private payload: Fields = {};
  private progressLabel = '';
  private progressTotal: number | undefined;
  private lastProgressLine = 0;

  /**
   * A bar when the total is known, a counter with rate when it is not (a
   * folder is not walked twice just to count it). Without a TTY (cron), one
   * progress log line every `progressIntervalMs` (env EMOMO_PROGRESS_INTERVAL).
   */
  startProgress(total: number | undefined, label: string): void {
    this.progressLabel = label;
    this.progressTotal = total && total > 0 ? total : undefined;
    this.progressValue = 0;
    this.lastProgressLine = Date.now();
    if (!this.tty) return;
    const columns = (this.stderr as { columns?: number }).columns ?? 80;
    const head = this.progressTotal === undefined ? `${label} {value} done` : `${label} [{bar}] {value}/{total} | ETA {eta_formatted}`;
    const cliProgress = loadCliProgress();
    this.bar = new cliProgress.SingleBar(
      {
        format: `${head} | {rate}/s | {counts}`,
        stream: this.stderr as NodeJS.WritableStream,
        hideCursor: true,
        barsize: Math.max(10, Math.min(30, columns - 70)),
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(this.progressTotal ?? 1, 0, { rate: '0.0', counts: '' });
  }

  progress(value: number, payload: Fields): void {
    this.progressValue = value;
    this.payload = payload;
    if (!this.bar) {
      this.progressLine();
      return;
    }
    if (this.progressTotal !== undefined && value > this.bar.getTotal()) this.bar.setTotal(value);
    this.bar.update(value, payload);
  }

  private progressLine(): void {
    if (this.tty || !this.progressLabel) return;
    const now = Date.now();
    if (now - this.lastProgressLine < this.progressIntervalMs) return;
    this.lastProgressLine = now;
    const { counts, ...rest } = this.payload;
    this.log('info', `${this.progressLabel} progress`, { done: this.progressValue, total: this.progressTotal, ...rest, counts });
  }

  stopProgress(): void {
    this.bar?.stop();
    this.bar = undefined;
    this.progressLabel = '';
  }

  /** Human-readable text on stderr (not with --quiet); nothing in it can drive the terminal. */
  say(text: string): void {
    if (!this.flags.quiet) this.stderr.write(`${terminalText(text, { multiline: true })}\n`);
  }

  /** Human-readable results a command was asked for (recall hits, stats tables): stdout, even with --quiet. */
  result(text: string): void {
    this.stdout.write(`${terminalText(text, { multiline: true })}\n`);
  }

  /** The one machine-readable result of a --json run. */
  json(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value)}\n`);
  }
}
