/**
 * Test-only instrumentation of the process's fetch (the openai package and
 * the Jina client both use it): every request gets a sequence number in an
 * `x-emomo-test-seq` header, so a provider fake can name it, and the client
 * side of its life is recorded — when it was handed to fetch, and when the
 * client had read its answer (the moment the code under test can act on it).
 * Install before the app is built: the openai client captures fetch then.
 */
export const SEQ_HEADER = 'x-emomo-test-seq';

export interface ClientRequest {
  seq: number;
  url: string;
  /** Epoch ms when fetch was called. */
  sentAt: number;
  status?: number;
  /** Epoch ms when the body of the answer had been read. */
  readAt?: number;
}

const now = () => performance.timeOrigin + performance.now();

export function recordFetch(): { requests: Map<number, ClientRequest>; restore(): void } {
  const real = globalThis.fetch;
  const requests = new Map<number, ClientRequest>();
  let next = 1;
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    const record: ClientRequest = { seq: next++, url, sentAt: now() };
    requests.set(record.seq, record);
    const headers = new Headers(init?.headers);
    headers.set(SEQ_HEADER, String(record.seq));
    const response = await real(input, { ...init, headers });
    record.status = response.status;
    for (const method of ['text', 'json', 'arrayBuffer'] as const) {
      const read = response[method].bind(response) as () => Promise<unknown>;
      Object.defineProperty(response, method, {
        value: () => read().finally(() => (record.readAt ??= now())),
      });
    }
    return response;
  }) as typeof fetch;
  return { requests, restore: () => void (globalThis.fetch = real) };
}
