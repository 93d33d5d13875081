/**
 * The body of one OCR worker thread (started by pool.ts): loads its own
 * engine, then reads one JPEG per message. Protocol, all plain data:
 *   in:  { id, jpeg: Uint8Array }
 *   out: { ready: true } | { loadError } once, then per job
 *        { id, lines } | { id, error: { message, permanent } }
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage, isPermanent } from '../../../errors.js';
import { OcrEngine, type OcrEngineOptions } from './engine.js';

export type WorkerRequest = { id: number; jpeg: Uint8Array };
export type WorkerReply =
  | { ready: true }
  | { loadError: string }
  | { id: number; lines: import('../local-description.js').OcrLine[] }
  | { id: number; error: { message: string; permanent: boolean } };

const port = parentPort;
if (port) {
  const reply = (message: WorkerReply): void => port.postMessage(message);
  try {
    const engine = await OcrEngine.load(workerData as OcrEngineOptions);
    port.on('message', async ({ id, jpeg }: WorkerRequest) => {
      try {
        reply({ id, lines: await engine.read(Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength)) });
      } catch (err) {
        reply({ id, error: { message: errorMessage(err), permanent: isPermanent(err) } });
      }
    });
    reply({ ready: true });
  } catch (err) {
    reply({ loadError: errorMessage(err) });
  }
}
