/**
 * The OCR worker threads. OCR is CPU-bound (onnxruntime runs on the thread
 * calling it), so it runs off the main thread, and on more than one core as
 * two stages: detector threads find the text boxes, recogniser threads read
 * them, each stage with its own queue, so one image is recognised while the
 * next is detected. Splitting by stage instead of giving every thread a whole
 * engine keeps one copy of each model's working memory per stage pair: the
 * detector's (about 45 MB at 512 px) dominates an engine, and two whole
 * engines pushed an offline ingest past its memory budget (BENCHMARKS.md).
 * One thread reads whole images.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { OcrLine } from '../local-description.js';
import type { Detected, OcrEngineOptions } from './engine.js';
import type { OcrRole, OcrWorkerData } from './worker.js';
import { WorkerLane } from './worker-lane.js';

export interface OcrPoolOptions extends OcrEngineOptions {
  /** Worker threads in all (at least 1): half detect, half recognise; one reads whole images. */
  size: number;
}

type Stages =
  | { kind: 'whole'; read: WorkerLane<Uint8Array, OcrLine[]> }
  | { kind: 'split'; detect: WorkerLane<Uint8Array, Detected>; recognize: WorkerLane<Detected, OcrLine[]> };

export class OcrPool {
  private constructor(
    private readonly stages: Stages,
    readonly size: number,
  ) {}

  /** Starts the workers and waits until every one has loaded its model. */
  static async start(options: OcrPoolOptions): Promise<OcrPool> {
    const { size, ...engine } = options;
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`OcrPool: size must be a positive integer, got ${size}`);
    const lane = <Q, R>(role: OcrRole, count: number, what: string) =>
      WorkerLane.start<Q, R>(count, () => spawn({ ...engine, role }), what);
    if (size === 1) return new OcrPool({ kind: 'whole', read: await lane('read', 1, 'OCR') }, size);
    const [detect, recognize] = await Promise.allSettled([
      lane<Uint8Array, Detected>('detect', Math.ceil(size / 2), 'OCR detection'),
      lane<Detected, OcrLine[]>('recognize', Math.floor(size / 2), 'OCR recognition'),
    ]);
    if (detect.status === 'rejected' || recognize.status === 'rejected') {
      await Promise.all([detect, recognize].map((s) => (s.status === 'fulfilled' ? s.value.close() : undefined)));
      throw (detect.status === 'rejected' ? detect : (recognize as PromiseRejectedResult)).reason;
    }
    return new OcrPool({ kind: 'split', detect: detect.value, recognize: recognize.value }, size);
  }

  /** The lines on one JPEG, rows top to bottom. */
  async read(jpeg: Buffer, signal?: AbortSignal): Promise<OcrLine[]> {
    if (this.stages.kind === 'whole') return this.stages.read.run(jpeg, [], signal);
    const detected = await this.stages.detect.run(jpeg, [], signal);
    if (detected.boxes.length === 0) return [];
    return this.stages.recognize.run(detected, [detected.picture.data.buffer as ArrayBuffer], signal);
  }

  /** Lets queued reads finish, then stops the workers; later reads are refused. */
  async close(): Promise<void> {
    if (this.stages.kind === 'whole') return this.stages.read.close();
    // Detection first: what it still finds is recognised before recognition closes.
    await this.stages.detect.close();
    await this.stages.recognize.close();
  }
}

/**
 * The worker module sits next to this one: worker.js when built, .ts when
 * run from source. A worker does not inherit the TypeScript loader the tests
 * run under, so from source it registers tsx before importing.
 */
function spawn(workerData: OcrWorkerData): Worker {
  const here = fileURLToPath(import.meta.url);
  const ext = path.extname(here);
  const entry = path.join(path.dirname(here), `worker${ext}`);
  if (ext !== '.ts') return new Worker(entry, { workerData });
  const url = JSON.stringify(pathToFileURL(entry).href);
  // Resolved here, where the sources are: an eval'd worker resolves bare names from the working folder.
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  return new Worker(`import(${tsx}).then(({ register }) => { register(); return import(${url}); })`, { eval: true, workerData });
}
