/**
 * Describes an image with any OpenAI-compatible chat endpoint that accepts
 * image input (OpenAI, OpenRouter, SiliconFlow, vLLM, Ollama...): one chat call
 * per image, pictures as base64 data URLs, a JSON reply. The frames of an
 * animation go in the same message, in playing order (`multi`), or tiled into
 * one picture for models that take a single image (`contact_sheet`). An
 * unreadable reply is asked for once more, then the item fails with the reply
 * quoted. Retries, timeouts, pauses and rate limits are the ProviderGate's job, so the
 * client's own retries are off.
 */
import OpenAI from 'openai';
import type { ChatCompletionContentPart, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { AnimatedFrames } from '../../config/types.js';
import { ItemError } from '../../errors.js';
import { contactSheet } from '../../images/contact-sheet.js';
import type { DescribeInput, Describer, Description } from '../../ports.js';
import type { ProviderGate } from '../../resilience/provider-gate.js';
import { SYSTEM_PROMPT, promptVersion, userPrompt, type PictureLayout } from './prompt.js';
import { parseDescriptionReply } from './reply-parser.js';

export interface OpenAIDescriberOptions {
  model: string;
  baseURL: string;
  apiKey: string;
  gate: ProviderGate;
  /** How an animation's frames are sent (default first: the first frame only). */
  animatedFrames?: AnimatedFrames;
  /** At most this many frames of an animation (ignored for first). */
  maxFrames?: number;
  /** Longest side of a contact sheet (default 768). */
  maxSide?: number;
}

/** The pictures of one request and how the prompt should speak of them. */
interface Pictures {
  jpegs: Buffer[];
  layout: PictureLayout;
}

/** Attempts at getting a readable reply for one image. */
const READABLE_REPLY_ATTEMPTS = 2;
const QUOTE_CHARS = 300;

export class OpenAIDescriber implements Describer {
  readonly model: string;
  readonly promptVersion: string;
  readonly maxFrames: number;
  private readonly client: OpenAI;
  private readonly gate: ProviderGate;
  private readonly mode: AnimatedFrames;
  private readonly maxSide: number;
  /** Cleared when the endpoint refuses `response_format` (some vLLM / OpenRouter models do). */
  private jsonMode = true;

  constructor(opts: OpenAIDescriberOptions) {
    this.model = opts.model;
    this.gate = opts.gate;
    this.mode = opts.animatedFrames ?? 'first';
    this.maxFrames = this.mode === 'first' ? 1 : (opts.maxFrames ?? 4);
    this.promptVersion = promptVersion(this.mode, this.maxFrames);
    this.maxSide = opts.maxSide ?? 768;
    // baseURL and apiKey explicitly: otherwise the package reads OPENAI_BASE_URL on its own.
    this.client = new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseURL, maxRetries: 0 });
  }

  async describe(input: DescribeInput): Promise<Description> {
    const usage = { promptTokens: 0, completionTokens: 0 };
    const pictures = await this.pictures(input.frames);
    let last = { problem: '', reply: '' };
    for (let attempt = 0; attempt < READABLE_REPLY_ATTEMPTS; attempt++) {
      const reply = await this.complete(input, pictures, usage);
      const parsed = parseDescriptionReply(reply);
      if (parsed.ok) return { ...parsed.description, usage };
      last = { problem: parsed.problem, reply };
    }
    const quoted = last.reply.length > QUOTE_CHARS ? `${last.reply.slice(0, QUOTE_CHARS)}…` : last.reply;
    throw new ItemError(
      'describe',
      `${this.gate.label} gave no usable JSON in ${READABLE_REPLY_ATTEMPTS} replies (${last.problem}); last reply: ${JSON.stringify(quoted)}`,
      false,
    );
  }

  /** The frames as this describer sends them: as they are, or tiled into one sheet. */
  private async pictures(frames: Buffer[]): Promise<Pictures> {
    if (frames.length <= 1) return { jpegs: frames, layout: { kind: 'still' } };
    if (this.mode === 'contact_sheet') {
      return { jpegs: [await contactSheet(frames, this.maxSide)], layout: { kind: 'sheet', frames: frames.length } };
    }
    return { jpegs: frames, layout: { kind: 'frames', frames: frames.length } };
  }

  /** One chat call; returns the reply text and adds its token usage. */
  private async complete(input: DescribeInput, pictures: Pictures, usage: { promptTokens: number; completionTokens: number }): Promise<string> {
    const response = await this.gate.run(async (signal) => {
      const body = this.request(input, pictures);
      try {
        return await this.client.chat.completions.create(body, { signal });
      } catch (err) {
        // Some endpoints refuse JSON mode: drop it for good and ask again within the same call, so the
        // refusal is never counted as a failed call (several lanes may have asked with it at once).
        if (!body.response_format || !refusesJsonMode(err)) throw err;
        this.jsonMode = false;
        return await this.client.chat.completions.create(this.request(input, pictures), { signal });
      }
    }, input.signal);
    usage.promptTokens += response.usage?.prompt_tokens ?? 0;
    usage.completionTokens += response.usage?.completion_tokens ?? 0;
    return response.choices[0]?.message?.content ?? '';
  }

  private request(input: DescribeInput, pictures: Pictures): ChatCompletionCreateParamsNonStreaming {
    const images = pictures.jpegs.map(
      (jpeg): ChatCompletionContentPart => ({ type: 'image_url', image_url: { url: `data:image/jpeg;base64,${jpeg.toString('base64')}` } }),
    );
    return {
      model: this.model,
      temperature: 0.2,
      ...(this.jsonMode ? { response_format: { type: 'json_object' as const } } : {}),
      messages: [
        { role: 'system', content: SYSTEM_PROMPT },
        {
          role: 'user',
          content: [{ type: 'text', text: userPrompt(input.category, input.tags, pictures.layout) }, ...images],
        },
      ],
    };
  }
}

function refusesJsonMode(err: unknown): boolean {
  const e = err as { status?: unknown; message?: unknown } | null;
  return e?.status === 400 && typeof e.message === 'string' && /response_format|json_object|json mode/i.test(e.message);
}
