import assert from 'node:assert/strict';
import { test } from 'node:test';
import { displayWidth, truncateToWidth } from '../../src/cli/table.js';

test('truncation counts CJK as two columns and never exceeds the width', () => {
  assert.equal(truncateToWidth('我太难了', 8), '我太难了');
  assert.equal(truncateToWidth('我太难了呀', 8), '我太难…');
  assert.equal(displayWidth(truncateToWidth('我太难了呀', 8)), 7);
  assert.equal(truncateToWidth('我太难了呀', 7), '我太难…');
  assert.equal(truncateToWidth('abcdef', 4), 'abc…');
  assert.equal(truncateToWidth('ab开心', 4), 'ab…');
  assert.equal(truncateToWidth('第一行\n第二行', 14), '第一行 第二行');
  for (let w = 1; w <= 12; w++) assert.ok(displayWidth(truncateToWidth('表情包emo了OK', w)) <= w, String(w));
});
