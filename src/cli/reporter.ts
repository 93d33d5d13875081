/**
 * Everything a command prints goes through here. Human output and logs go to
 * stderr; stdout carries results only (`--json` prints exactly one object).
 * On a TTY a progress bar shows rate, ETA and counts; otherwise (cron) each
 * notable event is one structured log line.
 */
import cliProgress from 'cli-progress';
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

function formatFields(fields: Fields): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      if (typeof v !== 'string') return `${k}=${String(v)}`;
      const safe = terminalValue(v, FIELD_MAX);
      return `${k}=${/[\s="]/.test(safe) ? JSON.stringify(safe) : safe}`;
    })
    .join(' ');
}

/** The part of a stream the reporter needs (tests pass a buffer). */
export interface OutStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export class Reporter {
  readonly tty: boolean;
  private bar?: cliProgress.SingleBar;

  constructor(
    readonly flags: GlobalFlags,
    private readonly stderr: OutStream = process.stderr,
    private readonly stdout: OutStream = process.stdout,
  ) {
    this.tty = !!stderr.isTTY && !flags.quiet;
  }

  /** A structured log line (suppressed by --quiet; debug needs --verbose). */
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields: Fields = {}): void {
    if (level === 'debug' && !this.flags.verbose) return;
    if (this.flags.quiet && level !== 'error') return;
    // Messages and values may carry data (file names, captions, provider errors): escaped, bounded.
    const text = msg.length > MESSAGE_MAX ? `${msg.slice(0, MESSAGE_MAX - 1)}…` : msg;
    const line = this.tty
      ? `${level === 'info' || level === 'debug' ? '' : `${level}: `}${terminalText(text, { multiline: true })}${Object.keys(fields).length ? `  ${formatFields(fields)}` : ''}`
      : terminalText(`time=${new Date().toISOString()} level=${level} msg=${JSON.stringify(text)} ${formatFields(fields)}`.trimEnd());
    if (this.bar) this.bar.stop();
    this.stderr.write(`${line}\n`);
    if (this.bar) this.bar.start(this.bar.getTotal(), this.progressValue, this.payload);
  }

  private progressValue = 0;
  private payload: Fields = {};

  startProgress(total: number, label: string): void {
    if (!this.tty) return;
    this.bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} | {rate}/s | ETA {eta_formatted} | {counts}`,
        stream: this.stderr as NodeJS.WritableStream,
        hideCursor: true,
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(Math.max(total, 1), 0, { rate: '0.0', counts: '' });
  }

  progress(value: number, payload: Fields): void {
    this.progressValue = value;
    this.payload = payload;
    if (!this.bar) return;
    if (value > this.bar.getTotal()) this.bar.setTotal(value);
    this.bar.update(value, payload);
  }

  stopProgress(): void {
    this.bar?.stop();
    this.bar = undefined;
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
