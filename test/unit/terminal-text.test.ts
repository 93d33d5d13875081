import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Reporter } from '../../src/cli/reporter.js';
import { printRunSummary } from '../../src/cli/summary-output.js';
import { formatTable } from '../../src/cli/table.js';
import { terminalText, terminalValue } from '../../src/cli/terminal-text.js';
import { Capture } from '../helpers/run-ingest.js';

/** Anything a terminal would act on rather than show. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const HOSTILE = '猫\x1b[31m红\x1b[0m\x1b]0;pwned\x07\r覆盖\u009b2J\u202egnp.exe\t|';

describe('terminalText', () => {
  it('escapes ESC, CSI, OSC, CR, C1 and bidi controls into visible text; keeps CJK and emoji', () => {
    assert.equal(terminalText(HOSTILE), '猫\\x1b[31m红\\x1b[0m\\x1b]0;pwned\\x07\\r覆盖\\x9b2J\\u202egnp.exe\\t|');
    assert.equal(terminalText('第一行\n第二行'), '第一行\\n第二行');
    assert.equal(terminalText('第一行\n第二行', { multiline: true }), '第一行\n第二行');
    assert.equal(terminalText('👨‍👩‍👧 滑稽'), '👨‍👩‍👧 滑稽', 'zero-width joiners of emoji stay');
    assert.equal(terminalText(terminalText(HOSTILE)), terminalText(HOSTILE), 'idempotent');
  });

  it('bounds a value to whole characters', () => {
    assert.equal(terminalValue('表情包'.repeat(10), 5), '表情包表…');
    assert.equal(terminalValue('短', 5), '短');
  });
});

describe('human output never carries control characters from data', () => {
  it('log lines (with and without a TTY), tables and the failure list', () => {
    for (const tty of [false, true]) {
      const err = Object.assign(new Capture(), { isTTY: tty });
      const out = new Capture();
      const reporter = new Reporter({ json: false, quiet: false, verbose: false }, err, out);
      reporter.log('warn', `item failed: ${HOSTILE}`, { source_id: HOSTILE, reason: 'x'.repeat(5000) });
      reporter.result(formatTable(['category', 'caption'], [[HOSTILE, `第一行\n第二行${'长'.repeat(300)}`]]));
      printRunSummary(reporter, {
        added: 0, reused: 0, skipped: 0, failed: 1, duration_ms: 1,
        failures: [{ source_id: `bad\nfake line ${HOSTILE}`, stage: 'decode', reason: `corrupt\r${HOSTILE}` }],
      });
      assert.doesNotMatch(err.text, CONTROL, `stderr, tty=${tty}`);
      assert.doesNotMatch(out.text, CONTROL, `stdout, tty=${tty}`);
      assert.match(err.text, /\\x1b\]0;pwned\\x07/);
      assert.ok(err.text.length < 3000, 'long values are bounded');
      const table = out.text.trimEnd().split('\n');
      assert.equal(table.length, 3, 'a cell never spans lines');
      assert.ok(table[2]!.length < 200, 'a long cell is cut');
      assert.equal(err.text.split('\n').filter((l) => /\bdecode\b/.test(l)).length, 1, 'one failure, one line');
      assert.match(err.text, /bad\\nfake line .*decode +corrupt\\r/);
    }
  });

  it('JSON output stays exact', () => {
    const out = new Capture();
    new Reporter({ json: true, quiet: false, verbose: false }, new Capture(), out).json({ category: HOSTILE });
    assert.equal((JSON.parse(out.text) as { category: string }).category, HOSTILE);
  });
});
