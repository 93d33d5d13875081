/** Pure parts of the remote adapters: lenient reply parsing, query prefixes, the batching decorator. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Embedder, EmbedMode } from '../../src/ports.js';
import { BatchingEmbedder } from '../../src/providers/embedding/batching-embedder.js';
import { textForModel } from '../../src/providers/embedding/query-instructions.js';
import { EMOTION_CHOICES, PROMPT_VERSION, SYSTEM_PROMPT } from '../../src/providers/vlm/prompt.js';
import { extractJsonObject, parseDescriptionReply } from '../../src/providers/vlm/reply-parser.js';

describe('VLM reply parsing', () => {
  const json = '{"ocr_text":"我太难了\\n真的","description":"熊猫头表情包，{无奈}地低头","emotions":["无奈","不存在的词"]}';
  test('plain JSON, code fences, prose before and after, braces inside strings', () => {
    for (const reply of [json, '```json\n' + json + '\n```', `好的，结果如下：\n${json}\n希望有帮助 {not json}`]) {
      const parsed = parseDescriptionReply(reply);
      assert.ok(parsed.ok, reply);
      assert.deepEqual(parsed.description, { ocrText: '我太难了\n真的', description: '熊猫头表情包，{无奈}地低头', emotions: ['无奈'] });
    }
  });
  test('lenient shapes: null ocr_text, emotions as a string, a stray brace before the object', () => {
    const parsed = parseDescriptionReply('{oops} {"ocr_text":null,"description":"柴犬","emotions":"开心、 搞笑"}');
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.description, { ocrText: '', description: '柴犬', emotions: ['开心', '搞笑'] });
  });
  test('unusable replies say why', () => {
    assert.deepEqual(parseDescriptionReply('I cannot help with that.'), { ok: false, problem: 'no JSON object in the reply' });
    const empty = parseDescriptionReply('{"ocr_text":"x","description":"  "}');
    assert.ok(!empty.ok && /description/.test(empty.problem));
    assert.equal(extractJsonObject('{"a": "unterminated'), undefined);
  });
  test('the prompt offers exactly the shared emotion list and has a version', () => {
    assert.ok(PROMPT_VERSION.length > 0);
    assert.ok(EMOTION_CHOICES.includes('无奈'));
    for (const word of EMOTION_CHOICES) assert.ok(SYSTEM_PROMPT.includes(word));
  });
});

test('Qwen3-Embedding queries get the instruction prefix; documents and other models do not', () => {
  const prefix = 'Instruct: Given a search query about a meme, retrieve memes that match\nQuery: ';
  assert.equal(textForModel('Qwen/Qwen3-Embedding-8B', '无语', 'query'), `${prefix}无语`);
  assert.equal(textForModel('Qwen/Qwen3-Embedding-8B', '无语', 'document'), '无语');
  assert.equal(textForModel('text-embedding-3-small', '无语', 'query'), '无语');
});

/** An in-process inner embedder: records each request; vectors encode the text's number. */
class RecordingEmbedder implements Embedder {
  readonly model = 'rec';
  readonly dimensions = 3;
  requests: string[][] = [];
  failWhen?: (texts: string[]) => boolean;
  badFor?: string;
  async embed(texts: string[], _mode: EmbedMode): Promise<Float32Array[]> {
    this.requests.push(texts);
    await new Promise((r) => setTimeout(r, 5));
    if (this.failWhen?.(texts)) throw new Error('request failed');
    return texts.map((t) => (t === this.badFor ? new Float32Array([1, Number.NaN, 0]) : new Float32Array([Number(t), 0, 0])));
  }
}

describe('BatchingEmbedder', () => {
  test('concurrent callers share requests of up to batchSize; each gets its own vector', async () => {
    const inner = new RecordingEmbedder();
    const batching = new BatchingEmbedder(inner, { batchSize: 8, windowMs: 20, label: 'test' });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => batching.embed([String(i)], 'document')));
    results.forEach((vectors, i) => assert.equal(vectors[0]![0], i));
    assert.deepEqual(inner.requests.map((r) => r.length), [8, 8, 4]);
  });
  test('a failed request fails only its callers; a bad vector fails only its owner', async () => {
    const inner = new RecordingEmbedder();
    inner.failWhen = (texts) => texts.includes('3');
    inner.badFor = '10';
    const batching = new BatchingEmbedder(inner, { batchSize: 4, windowMs: 20, label: 'embedding "x" (model rec)' });
    const settled = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => batching.embed([String(i)], 'document')));
    const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [i] : []));
    assert.deepEqual(failed, [0, 1, 2, 3, 10]);
    const bad = settled[10] as PromiseRejectedResult;
    assert.match(String(bad.reason.message), /embedding "x" \(model rec\): embedding contains a non-finite value at index 1/);
  });
  test('a lone text goes out after the window; queries and big calls are not held back', async () => {
    const inner = new RecordingEmbedder();
    // A wide window, so a loaded machine's lag cannot pass for it (nor hide a query held back by it).
    const batching = new BatchingEmbedder(inner, { batchSize: 4, windowMs: 400, label: 'test' });
    const t0 = performance.now();
    await batching.embed(['1'], 'document');
    assert.ok(performance.now() - t0 >= 390);
    const t1 = performance.now();
    await batching.embed(['2'], 'query');
    assert.ok(performance.now() - t1 < 200);
    const many = await batching.embed(Array.from({ length: 10 }, (_, i) => String(i)), 'document');
    assert.deepEqual(many.map((v) => v[0]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(inner.requests.slice(2).map((r) => r.length), [4, 4, 2]);
  });
});
