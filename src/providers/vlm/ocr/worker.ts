/**
 * The body of one OCR worker thread (started by pool.ts), in one of three
 * roles: `detect` (JPEG → detector picture and text boxes), `recognize`
 * (picture and boxes → lines) or `read` (both, for a pool of one thread).
 * It loads only the models its role needs, then answers one request at a
 * time (protocol in worker-lane.ts).
 */
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
    });
    reply({ ready: true });
  } catch (err) {
    reply({ loadError: errorMessage(err) });
  }
}
