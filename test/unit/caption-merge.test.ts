/** Merging the captions read off several frames: pure, so no model is loaded. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { comparable, editDistance, mergeFrameCaptions } from '../../src/providers/vlm/caption-merge.js';

const lines = (...texts: string[]): string[] => texts;

describe('mergeFrameCaptions', () => {
  it('reads one frame exactly as its lines say, similar lines included', () => {
    assert.equal(mergeFrameCaptions([lines('哈哈', '哈哈哈', 'OK')]), '哈哈\n哈哈哈\nOK');
    assert.equal(mergeFrameCaptions([]), '');
    assert.equal(mergeFrameCaptions([[]]), '');
  });

  it('keeps a caption that changes: the earlier first, the later after it', () => {
    assert.equal(mergeFrameCaptions([lines('我能怎么办'), lines('我能怎么办'), lines('我也很无奈')]), '我能怎么办\n我也很无奈');
    assert.equal(mergeFrameCaptions([lines('美美哒'), [], lines('整理一下发型')]), '美美哒\n整理一下发型');
  });

  it('keeps one reading of a line read several times, the earliest when they agree', () => {
    assert.equal(mergeFrameCaptions([lines('我是小仙女！！'), lines('我是小仙女！'), lines('我是小仙女')]), '我是小仙女！！');
  });

  it('takes the longest of near-identical readings: a caption fading in reads short', () => {
    assert.equal(mergeFrameCaptions([lines('快我小么举'), lines('快4我小公举')]), '快4我小公举');
  });

  it('keeps the earliest of near-identical readings of one length: a caption the first frame reads whole reads as it did', () => {
    assert.equal(mergeFrameCaptions([lines('围视吃蕉群尔'), lines('国观吃蕉群尔'), lines('国观吃蕉群众')]), '围视吃蕉群尔');
    assert.equal(mergeFrameCaptions([lines('别问我，我什心都不知道'), lines('别回我，我什儿都不知道')]), '别问我，我什心都不知道');
  });

  it('takes the complete reading of a caption that fades in, wherever it shows first', () => {
    assert.equal(mergeFrameCaptions([lines('卧'), lines('卧槽')]), '卧槽');
    assert.equal(mergeFrameCaptions([lines('卧槽'), lines('卧')]), '卧槽');
  });

  it('places a new line above a known one when it shows above it', () => {
    assert.equal(mergeFrameCaptions([lines('糖妹'), lines('哇~', '@糖妹')]), '哇~\n糖妹');
    assert.equal(mergeFrameCaptions([lines('超'), lines('超', '帅')]), '超\n帅');
    assert.equal(mergeFrameCaptions([lines('上', '下'), lines('新', '下')]), '上\n新\n下');
  });

  it('does not merge short lines that merely share a character', () => {
    assert.equal(mergeFrameCaptions([lines('哭哭'), lines('笑笑')]), '哭哭\n笑笑');
  });
});

describe('caption comparison', () => {
  it('ignores spaces, punctuation and case', () => {
    assert.equal(comparable('Hello, Mr DJ！'), 'hellomrdj');
    assert.equal(comparable('！！'), '！！');
  });

  it('counts edits in code points', () => {
    assert.equal(editDistance('我能怎么办', '我也很无奈'), 4);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', '𝒳'), 1);
  });
});
