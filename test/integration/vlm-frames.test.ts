/**
 * An animated meme through the real OpenAI describer against the fake
 * server: the chosen frames arrive in playing order in one request (or tiled
 * into one contact sheet, or the first frame alone, as configured), a still
 * arrives as one image with the prompt it always had, and the prompt
 * version stored says which. Each description records the frames read and
 * the prompt tokens the provider reported: what `stats` shows per image.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { chatReply, fakeDescriptionFor, startFakeOpenAI, type FakeOpenAI, type RecordedRequest } from '../helpers/fake-openai-server.js';
import { BLUE, GREEN, RED, meanColour, writeScenesStaging, type Rgb } from '../helpers/generated-images.js';
import { keyEnv, makeRemoteWorkspace } from '../helpers/remote-workspace.js';
import { runIngest } from '../helpers/run-ingest.js';
import type { Workspace } from '../helpers/workspace.js';

const KEY = 'sk-emomo-frames-test';
const YELLOW: Rgb = [240, 220, 40];
const CYAN: Rgb = [40, 220, 220];
const MAGENTA: Rgb = [220, 40, 220];

/** Within JPEG rounding of the expected colour. */
function near(actual: Rgb, expected: Rgb): boolean {
  return actual.every((v, i) => Math.abs(v - expected[i]!) < 24);
}

describe('VLM describer: frames of an animated meme', () => {
  let fake: FakeOpenAI;
  const workspaces: Workspace[] = [];
  before(async () => (fake = await startFakeOpenAI()));
  after(async () => {
    await fake.close();
    for (const ws of workspaces) ws.cleanup();
  });

  /** Ingests the animations and a still in the given mode; returns the chat requests per image and the stored prompt versions. */
  async function ingestWith(animatedFrames: 'multi' | 'contact_sheet' | 'first', animations?: Rgb[][]) {
    const ws = makeRemoteWorkspace(fake, { animatedFrames, provider: 'openai' });
    workspaces.push(ws);
    await writeScenesStaging(ws.staging, 'anim', animations);
    const start = fake.requests.length;
    const run = await runIngest(ws, { source: 'staging:anim' }, {}, undefined, keyEnv(KEY));
    assert.equal(run.code, 0, run.log);
    const chats = fake.requests.slice(start).filter((r) => r.endpoint === 'chat');
    assert.equal(chats.length, (animations?.length ?? 1) + 1);
    const db = new Database(ws.db, { readonly: true });
    const versions = db.prepare('SELECT DISTINCT prompt_version FROM meme_descriptions').pluck().all() as string[];
    const costs = db.prepare('SELECT ocr_text, frames, prompt_tokens FROM meme_descriptions').all() as Array<{ ocr_text: string; frames: number; prompt_tokens: number }>;
    db.close();
    // What each request cost is recorded with its description (stats sums these): the frames sent and the tokens the provider reported.
    for (const chat of chats) {
      const cost = costs.find((c) => c.ocr_text === fakeDescriptionFor(imageUrls(chat).join('')).ocr_text);
      assert.deepEqual(cost && [cost.frames, cost.prompt_tokens], [animatedFrames === 'contact_sheet' && !isStill(chat) ? 3 : chat.images!.length, chatReply(chat.body).usage.prompt_tokens]);
    }
    return { chats, versions };
  }

  /** The text of the user turn (the system prompt is the same for every image). */
  const userText = (r: RecordedRequest): string =>
    r.body.messages
      .filter((m: { role: string }) => m.role === 'user')
      .flatMap((m: { content: Array<{ type: string; text?: string }> }) => m.content.filter((p) => p.type === 'text').map((p) => p.text))
      .join('\n');
  const isStill = (r: RecordedRequest) => userText(r).endsWith('请描述这张表情包。');
  const imageUrls = (r: RecordedRequest): string[] =>
    r.body.messages.flatMap((m: { content: unknown }) => (Array.isArray(m.content) ? m.content : [])).flatMap((p: { image_url?: { url: string } }) => (p.image_url ? [p.image_url.url] : []));

  test('multi: the chosen frames in playing order in one request; a still as one image with the prompt of vlm-json-1', async () => {
    // Five frames, two of them a shade off the one before (too alike to be worth reading), and six distinct frames (more than the cap of 4).
    const shade = ([r, g, b]: Rgb): Rgb => [r - 9, g, b];
    const distinct: Rgb[] = [YELLOW, CYAN, MAGENTA, RED, GREEN, BLUE];
    const { chats, versions } = await ingestWith('multi', [[RED, shade(RED), GREEN, shade(GREEN), BLUE], distinct]);
    const [scenes, many] = await Promise.all(
      [RED, YELLOW].map(async (first) => {
        for (const chat of chats.filter((r) => !isStill(r))) if (near(await meanColour(chat.images![0]!), first)) return chat;
        throw new Error(`no request starts with ${first}`);
      }),
    );
    const colours = await Promise.all(scenes!.images!.map((img) => meanColour(img)));
    assert.equal(colours.length, 3, JSON.stringify(colours));
    assert.ok(near(colours[0]!, RED) && near(colours[1]!, GREEN) && near(colours[2]!, BLUE), JSON.stringify(colours));
    assert.match(userText(scenes!), /3 张图片是同一张动图表情包按播放顺序取出的 3 帧/);
    // At most 4 frames, the first one first, the others in playing order.
    const played = (await Promise.all(many!.images!.map((img) => meanColour(img)))).map((colour) => distinct.findIndex((c) => near(colour, c)));
    assert.equal(played.length, 4);
    assert.equal(played[0], 0);
    assert.deepEqual(played, [...new Set(played)].sort((a, b) => a - b), JSON.stringify(played));
    const still = chats.find(isStill)!;
    assert.equal(still.images?.length, 1);
    assert.equal(userText(still), '来源提供的信息（可能不准确，仅供参考）：分类：熊猫头。请描述这张表情包。');
    assert.deepEqual(versions, ['vlm-json-2-f4']);
  });

  test('contact_sheet: one picture, frames left to right then top to bottom', async () => {
    const { chats, versions } = await ingestWith('contact_sheet');
    const animated = chats.find((r) => !isStill(r))!;
    assert.equal(animated.images?.length, 1);
    assert.match(userText(animated), /3 帧拼成的网格/);
    // 3 frames of 48 px: a 2x2 grid of 48 px cells with 8 px gaps, the fourth cell empty (white).
    const cell = (col: number, row: number) => meanColour(animated.images![0]!, { left: col * 56 + 8, top: row * 56 + 8, width: 32, height: 32 });
    assert.ok(near(await cell(0, 0), RED));
    assert.ok(near(await cell(1, 0), GREEN));
    assert.ok(near(await cell(0, 1), BLUE));
    assert.ok(near(await cell(1, 1), [255, 255, 255]));
    assert.deepEqual(versions, ['vlm-json-2-s4']);
  });

  test('first: the first frame alone, with the prompt and version a still has', async () => {
    const { chats, versions } = await ingestWith('first');
    for (const chat of chats) {
      assert.equal(chat.images?.length, 1);
      assert.ok(isStill(chat));
    }
    const colours = await Promise.all(chats.map((r) => meanColour(r.images![0]!)));
    assert.ok(colours.some((c) => near(c, RED)) && colours.some((c) => near(c, GREEN)), JSON.stringify(colours));
    assert.deepEqual(versions, ['vlm-json-1']);
  });
});
