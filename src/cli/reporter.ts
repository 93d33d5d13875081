/**
 * Everything a command prints goes through here. Human output and logs go to
 * stderr; stdout carries results only (`--json` prints exactly one object).
 * On a TTY a progress bar shows rate, ETA and counts; otherwise (cron) each
 * notable event is one structured log line.
 */
import cliProgress from 'cli-progress';

export interface GlobalFlags {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
}

type Fields = Record<string, string | number | boolean | undefined>;

function formatFields(fields: Fields): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' && /[\s="]/.test(v) ? JSON.stringify(v) : String(v)}`)
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
    const line = this.tty
      ? `${level === 'info' || level === 'debug' ? '' : `${level}: `}${msg}${Object.keys(fields).length ? `  ${formatFields(fields)}` : ''}`
      : `time=${new Date().toISOString()} level=${level} msg=${JSON.stringify(msg)} ${formatFields(fields)}`.trimEnd();
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

  /** Human-readable text on stderr (not with --quiet). */
  say(text: string): void {
    if (!this.flags.quiet) this.stderr.write(`${text}\n`);
  }

  /** Human-readable results a command was asked for (recall hits, stats tables): stdout, even with --quiet. */
  result(text: string): void {
    this.stdout.write(`${text}\n`);
  }

  /** The one machine-readable result of a --json run. */
  json(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value)}\n`);
  }
}
