/**
 * The body of one OCR worker thread (started by pool.ts), in one of three
 * roles: `detect` (JPEG → detector picture and text boxes), `recognize`
 * (picture and boxes → lines) or `read` (both, for a pool of one thread).
 * It loads only the models its role needs, then answers one request at a
 * time (protocol in worker-lane.ts).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { parentPort, workerData, type TransferListItem } from 'node:worker_threads';
import { errorMessage, isPermanent } from '../../../errors.js';
import { Detector, Recognizer, type Detected, type OcrEngineOptions } from './engine.js';
import type { LaneReply } from './worker-lane.js';

export type OcrRole = 'detect' | 'recognize' | 'read';
export type OcrWorkerData = OcrEngineOptions & { role: OcrRole };

/** Buffers arrive as Uint8Array views: turn a JPEG back into a Buffer without copying. */
const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

async function handlerFor({ role, ...engine }: OcrWorkerData): Promise<(request: never) => Promise<unknown>> {
  if (role === 'detect') {
    const detector = await Detector.load(engine);
    return (jpeg: Uint8Array) => detector.detect(asBuffer(jpeg));
  }
  if (role === 'recognize') {
    const recognizer = await Recognizer.load(engine);
    return (detected: Detected) => recognizer.recognize(detected);
  }
  const [detector, recognizer] = await Promise.all([Detector.load(engine), Recognizer.load(engine)]);
  return async (jpeg: Uint8Array) => recognizer.recognize(await detector.detect(asBuffer(jpeg)));
}

/**
 * Every image leaves a few MB of typed arrays behind (model inputs and
 * outputs, pixels), memory V8 does not see as pressure on this small heap, so
 * it piled up to tens of MB per thread before a collection. Measured on the
 * real memes and images: collecting once it passes this lowers peak RSS by
 * 10 to 40 MB, at a few milliseconds per collection.
 */
const GARBAGE_LIMIT_BYTES = 8 * 1024 * 1024;
let fullGc: (() => void) | undefined;

function collectGarbage(): void {
  if (v8.getHeapStatistics().external_memory < GARBAGE_LIMIT_BYTES) return;
  if (!fullGc) {
    v8.setFlagsFromString('--expose-gc');
    fullGc = vm.runInNewContext('gc') as () => void;
  }
  fullGc();
}

const port = parentPort;
if (port) {
  const reply = (message: LaneReply<unknown>, transfer: TransferListItem[] = []): void => port.postMessage(message, transfer);
  try {
    const handle = await handlerFor(workerData as OcrWorkerData);
    port.on('message', async ({ id, request }: { id: number; request: never }) => {
      try {
        const result = await handle(request);
        // A detector's picture goes back to the pool without a copy.
        const picture = (result as Partial<Detected>).picture;
        reply({ id, result }, picture ? [picture.data.buffer as ArrayBuffer] : []);
      } catch (err) {
        reply({ id, error: { message: errorMessage(err), permanent: isPermanent(err) } });
      }
      collectGarbage();
    });
    reply({ ready: true });
  } catch (err) {
    reply({ loadError: errorMessage(err) });
  }
}
