import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LexicalQuery } from '../../src/ports.js';
import { LocalEmbedder } from '../../src/providers/embedding/local-embedder.js';
import { lexicalFeatures, queryFeatures } from '../../src/providers/embedding/lexical-features.js';

const DIMS = 512;
const embedder = new LocalEmbedder({ dimensions: DIMS });

async function vec(text: string, dims = DIMS): Promise<Float32Array> {
  const e = dims === DIMS ? embedder : new LocalEmbedder({ dimensions: dims });
  const [v] = await e.embed([text], 'document');
  assert.ok(v);
  return v;
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

function assertUnit(v: Float32Array): void {
  assert.ok(v.every(Number.isFinite), 'no NaN or Infinity');
  assert.ok(Math.abs(dot(v, v) - 1) < 1e-5, `unit norm, got ${dot(v, v)}`);
}

describe('lexicalFeatures', () => {
  it('yields word segments, Han bigrams and Han characters', () => {
    const f = lexicalFeatures('我太难了');
    assert.ok(f.has('b:太难') && f.has('b:难了') && f.has('b:我太'));
    assert.ok(f.has('c:我') && f.has('c:了'));
    assert.ok([...f.keys()].some((k) => k.startsWith('w:')));
    assert.ok(f.get('c:我')! < f.get('b:太难')!, 'single characters weigh less');
  });

  it('lower-cases and NFKC-folds Latin words, and drops punctuation and spaces', () => {
    const f = lexicalFeatures('ＯＫ Fine！');
    assert.ok(f.has('w:ok') && f.has('w:fine'));
    assert.ok(![...f.keys()].some((k) => /[!！ ]/.test(k)));
  });

  it('gives repeated features a sublinear weight', () => {
    const once = lexicalFeatures('冲').get('c:冲')!;
    const thrice = lexicalFeatures('冲冲冲').get('c:冲')!;
    assert.ok(thrice > once && thrice < 3 * once);
  });

  it('is empty for text without words', () => {
    assert.equal(lexicalFeatures('  \n\t').size, 0);
    assert.equal(lexicalFeatures('。。。！').size, 0);
  });
});

describe('LocalEmbedder', () => {
  it('has a model name and the configured dimension', async () => {
    assert.equal(embedder.model, 'local-lexical-v1');
    assert.equal(new LocalEmbedder({ dimensions: 8, model: 'x' }).model, 'x');
    assert.equal((await vec('我太难了', 64)).length, 64);
    assert.equal((await vec('我太难了', 1024)).length, 1024);
  });

  it('rejects a dimension that is not a positive integer', () => {
    assert.throws(() => new LocalEmbedder({ dimensions: 0 }), RangeError);
    assert.throws(() => new LocalEmbedder({ dimensions: 1.5 }), RangeError);
  });

  it('is deterministic, across instances and across modes', async () => {
    const text = '熊猫头表情包，配文「我太难了」';
    const a = await vec(text);
    const [b] = await new LocalEmbedder({ dimensions: DIMS }).embed([text], 'document');
    const [q] = await embedder.embed([text], 'query');
    assert.deepEqual(b, a);
    assert.deepEqual(q, a);
  });

  it('returns one unit vector per text, in order', async () => {
    const texts = ['我太难了', '今天吃什么', 'hello world', '打工人冲冲冲'];
    const vs = await embedder.embed(texts, 'document');
    assert.equal(vs.length, texts.length);
    for (const [i, v] of vs.entries()) {
      assertUnit(v);
      assert.deepEqual(v, await vec(texts[i]!));
    }
    assert.deepEqual(await embedder.embed([], 'query'), []);
  });

  it('gives empty, whitespace and punctuation-only text a valid unit vector', async () => {
    for (const text of ['', '   ', '\n\t', '。！？']) {
      const v = await vec(text);
      assert.equal(v.length, DIMS);
      assertUnit(v);
    }
    assert.deepEqual(await vec(''), await vec('   '));
  });

  it('scores texts sharing a word higher than unrelated ones', async () => {
    const a = await vec('我太难了');
    const related = dot(a, await vec('太难了吧'));
    const unrelated = dot(a, await vec('今天吃什么'));
    assert.ok(related > 0.3, `related cosine ${related}`);
    assert.ok(related > unrelated + 0.3, `related ${related} vs unrelated ${unrelated}`);
  });

  it('matches a short query inside a longer caption', async () => {
    const q = await vec('我太难了');
    const hit = dot(q, await vec('熊猫头表情包，配文「我太难了」，标签：无奈、搞笑'));
    const miss = dot(q, await vec('柴犬表情包，配文「今天也要加油鸭」，标签：开心'));
    assert.ok(hit > miss + 0.2, `hit ${hit} vs miss ${miss}`);
  });

  it('handles mixed Latin and CJK text', async () => {
    const a = await vec('OK 好的 打工人');
    assertUnit(a);
    const latin = dot(a, await vec('ok fine'));
    const cjk = dot(a, await vec('打工人冲冲冲'));
    const none = dot(a, await vec('今天吃什么'));
    assert.ok(latin > none + 0.1, `latin ${latin} vs none ${none}`);
    assert.ok(cjk > none + 0.1, `cjk ${cjk} vs none ${none}`);
    assert.ok(dot(a, await vec('ok 好的 打工人')) > 0.999, 'case-insensitive');
  });

  it('honours an aborted signal', async () => {
    await assert.rejects(embedder.embed(['x'], 'document', AbortSignal.abort()));
  });
});

describe('LocalEmbedder: the weighed query vector', () => {
  const big = new LocalEmbedder({ dimensions: 4096 }); // few hash collisions: dot products read as feature overlap
  const docVec = async (text: string) => (await big.embed([text], 'document'))[0]!;
  const query = (text: string, frequencies: Record<string, number>, expansions: LexicalQuery['expansions'] = []) =>
    big.embedLexicalQuery({
      text,
      expansions,
      idf: (t) => Math.log(1 + (100 - (frequencies[t] ?? 0) + 0.5) / ((frequencies[t] ?? 0) + 0.5)),
      holds: (t) => (frequencies[t] ?? 0) > 0,
    });

  it('with every term equally rare and held, and no expansion, is the plain query vector', async () => {
    const v = big.embedLexicalQuery({ text: '我太难了', expansions: [], idf: () => 2, holds: () => true });
    assertUnit(v);
    assert.ok(dot(v, await docVec('我太难了')) > 0.9999);
  });

  it('lets the rare character decide: 我饿 finds 饿死 before 我累 when 我 is everywhere', async () => {
    const v = query('我饿', { 我: 90, 饿: 2, 累: 2, 死: 5, 我累: 1, 饿死: 1 });
    const plain = (await big.embed(['我饿'], 'query'))[0]!;
    assert.ok(dot(v, await docVec('饿死')) > dot(v, await docVec('我累')) + 0.1);
    assert.ok(dot(plain, await docVec('饿死')) < dot(plain, await docVec('我累')), 'the plain vector prefers the shared 我');
  });

  it('gives terms no meme holds no weight at all', async () => {
    const v = query('饿了么', { 饿: 3 });
    assert.ok(dot(v, await docVec('了么')) < 0.01);
    assert.ok(dot(v, await docVec('饿')) > 0.5);
  });

  it('adds an expansion at its weight of the word it stands for', async () => {
    const frequencies = { 减: 3, 肥: 3, 减肥: 3, 瘦: 2, 身: 4, 瘦身: 2 };
    const bare = query('瘦身', frequencies);
    const half = query('瘦身', frequencies, [{ term: '减肥', for: '瘦身', weight: 0.5 }]);
    assert.ok(dot(bare, await docVec('减肥')) < 0.01);
    const weighed = queryFeatures({ text: '瘦身', expansions: [{ term: '减肥', for: '瘦身', weight: 0.5 }], idf: () => 1, holds: () => true });
    const own = queryFeatures({ text: '瘦身', expansions: [], idf: () => 1, holds: () => true });
    const length = (m: Map<string, number>, keep: (f: string) => boolean) =>
      Math.sqrt([...m].filter(([f]) => keep(f)).reduce((s, [, w]) => s + w * w, 0));
    const expansionLength = length(weighed, (f) => /[减肥]/.test(f));
    assert.ok(Math.abs(expansionLength - 0.5 * length(own, () => true)) < 1e-9, `${expansionLength}`);
    assert.ok(dot(half, await docVec('减肥')) > 0.2);
    assert.ok(dot(half, await docVec('瘦身')) > dot(half, await docVec('减肥')), 'the word itself still counts most');
  });
});
