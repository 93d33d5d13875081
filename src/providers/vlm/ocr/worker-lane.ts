/**
 * A few identical worker threads sharing one queue: a request goes to the
 * first idle worker, one request per worker at a time. A worker that dies is
 * replaced (its request fails, as a retryable item error). An idle worker does
 * not keep the process alive; a busy one does, so a caller that forgets
 * `close()` never hangs the process and never loses a request in flight.
 *
 * Protocol with the worker, plain data: it first sends { ready: true } or
 * { loadError }, then answers each { id, request } with { id, result } or
 * { id, error: { message, permanent } }.
 */
import type { TransferListItem, Worker } from 'node:worker_threads';
import { AbortedError, EmomoError, ItemError } from '../../../errors.js';

export type LaneReply<R> =
  | { ready: true }
  | { loadError: string }
  | { id: number; result: R }
  | { id: number; error: { message: string; permanent: boolean } };

interface Job<Q, R> {
  id: number;
  request: Q;
  transfer: TransferListItem[];
  signal?: AbortSignal;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

interface Slot<Q, R> {
  worker: Worker;
  job?: Job<Q, R>;
}

export class WorkerLane<Q, R> {
  private readonly slots: Array<Slot<Q, R>> = [];
  private readonly queue: Array<Job<Q, R>> = [];
  private nextId = 1;
  private closed = false;
  private drained?: () => void;

  private constructor(
    private readonly spawn: () => Worker,
    /** What the workers are, for error messages ("OCR detection"). */
    private readonly what: string,
  ) {}

  /** Starts `size` workers and waits until every one is ready. */
  static async start<Q, R>(size: number, spawn: () => Worker, what: string): Promise<WorkerLane<Q, R>> {
    const lane = new WorkerLane<Q, R>(spawn, what);
    const started = await Promise.allSettled(Array.from({ length: size }, () => lane.startWorker()));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.terminate() : undefined)));
      throw failed.reason;
    }
    for (const s of started) if (s.status === 'fulfilled') lane.adopt(s.value);
    return lane;
  }

  /** Runs one request on the next idle worker; `transfer` lists buffers handed over, not copied. */
  run(request: Q, transfer: TransferListItem[] = [], signal?: AbortSignal): Promise<R> {
    if (this.closed) return Promise.reject(new Error(`${this.what} workers are closed`));
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, request, transfer, ...(signal ? { signal } : {}), resolve, reject });
      this.dispatch();
    });
  }

  /** Lets queued requests finish, then stops the workers; later requests are refused. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.queue.length > 0 || this.slots.some((s) => s.job)) await new Promise<void>((resolve) => (this.drained = resolve));
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }

  private adopt(worker: Worker): void {
    const slot: Slot<Q, R> = { worker };
    this.slots.push(slot);
    worker.on('message', (reply: LaneReply<R>) => this.settle(slot, reply));
    // An uncaught error inside the worker ends it: fail its request, replace it.
    worker.on('error', (err) => this.lose(slot, err));
    worker.on('exit', (code) => this.lose(slot, new Error(`exited with code ${code}`)));
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
      slot.worker.postMessage({ id: job.id, request: job.request }, job.transfer);
    }
    if (this.drained && this.queue.length === 0 && this.slots.every((s) => !s.job)) this.drained();
  }

  /** The next queued job whose caller still wants it. */
  private nextJob(): Job<Q, R> | undefined {
    for (let job = this.queue.shift(); job; job = this.queue.shift()) {
      if (!job.signal?.aborted) return job;
      job.reject(job.signal.reason ?? new AbortedError('aborted'));
    }
    return undefined;
  }

  private settle(slot: Slot<Q, R>, reply: LaneReply<R>): void {
    const job = slot.job;
    if (!job || !('id' in reply) || reply.id !== job.id) return;
    slot.job = undefined;
    slot.worker.unref();
    if ('result' in reply) job.resolve(reply.result);
    else job.reject(new ItemError('describe', reply.error.message, reply.error.permanent));
    this.dispatch();
  }

  private lose(slot: Slot<Q, R>, err: unknown): void {
    const index = this.slots.indexOf(slot);
    if (index === -1) return; // already handled (an error is followed by an exit)
    this.slots.splice(index, 1);
    const reason = err instanceof Error ? err.message : String(err);
    slot.job?.reject(new ItemError('describe', `${this.what} worker failed: ${reason}`, false, { cause: err }));
    if (this.closed) return this.dispatch();
    this.startWorker().then(
      (worker) => (this.closed ? void worker.terminate() : this.adopt(worker)),
      (cause) => {
        // No worker can be started any more: nothing queued can ever run.
        if (this.slots.length > 0) return this.dispatch();
        for (let job = this.queue.shift(); job; job = this.queue.shift()) job.reject(cause);
        this.dispatch();
      },
    );
  }

  /** Starts one worker and resolves once it reports ready. */
  private startWorker(): Promise<Worker> {
    const worker = this.spawn();
    return new Promise((resolve, reject) => {
      const onMessage = (reply: LaneReply<R>) => {
        stopListening();
        if ('ready' in reply) resolve(worker);
        else fail('loadError' in reply ? reply.loadError : 'unexpected first message');
      };
      const onError = (err: Error) => fail(err.message);
      const onExit = (code: number) => fail(`exited with code ${code}`);
      // Only our own listeners: removeAllListeners() would also drop the ones Node keeps on a Worker.
      const stopListening = () => void worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      const fail = (reason: string) => {
        stopListening();
        void worker.terminate();
        reject(new EmomoError(`${this.what} worker did not start: ${reason}`));
      };
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
  }
}
