/**
 * Local object writes are durable before `put` returns: observed from the
 * system calls of a real process (strace), since no test here can cut the
 * power. The object's bytes are fsynced before it is linked into place, and
 * its folder (and, the first time, the folders above it) after.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../helpers/workspace.js';

const strace = spawnSync('strace', ['-o', '/dev/null', 'true']);
const skip = strace.error || strace.status !== 0 ? 'strace is not available here' : false;

test('put fsyncs the file before linking it and the folders after, before it returns', { skip }, () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-fsync-')));
  try {
    const root = path.join(dir, 'lib', 'objects');
    const trace = path.join(dir, 'trace');
    const md5 = (c: string) => c.repeat(32);
    const script = `
      import { LocalStorage } from ${JSON.stringify(path.join(projectRoot, 'src/storage/local-storage.ts'))};
      const storage = new LocalStorage(${JSON.stringify(root)});
      await storage.put('ab/${md5('a')}.png', Buffer.from('first'));
      process.stderr.write('MARK first returned\\n');
      await storage.put('ab/${md5('b')}.png', Buffer.from('second'));
      process.stderr.write('MARK second returned\\n');
    `;
    const run = spawnSync(
      'strace',
      ['-f', '-y', '-qq', '-e', 'trace=fsync,fdatasync,link,linkat,write', '-e', 'signal=none', '-o', trace, process.execPath, '--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: projectRoot, encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
    // One event per call, as it starts (a call another thread interrupts is split into an
    // "<unfinished ...>" line and a "resumed" one; a failed call would have failed the script):
    // fsync(<path>), link(<from> -> <to>), or the marks written on stderr.
    const events = fs
      .readFileSync(trace, 'utf8')
      .split('\n')
      .flatMap((line) => {
        const sync = /\b(?:fsync|fdatasync)\(\d+<([^>]*)>/.exec(line);
        if (sync) return [`fsync ${path.relative(dir, sync[1]!) || '.'}`];
        const link = /\blink(?:at)?\(.*?"([^"]+)".*?"([^"]+)"/.exec(line);
        if (link) return [`link ${path.basename(link[2]!)}`];
        const mark = /MARK ([a-z ]+)/.exec(line);
        return mark && /^\d+ +write\(2/.test(line) ? [mark[1]!] : [];
      });
    const tmp = (e: string) => /^fsync lib\/objects\/ab\/\.tmp-/.test(e);
    const a = `link ${md5('a')}.png`;
    const b = `link ${md5('b')}.png`;
    const first = events.slice(0, events.indexOf('first returned'));
    const second = events.slice(events.indexOf('first returned') + 1, events.indexOf('second returned'));
    // First write: file, link, then its folder and every folder it created, up to the one that existed.
    assert.ok(tmp(first[0]!) && first[1] === a, events.join('\n'));
    assert.deepEqual(first.slice(2), ['fsync lib/objects/ab', 'fsync lib/objects', 'fsync lib', 'fsync .']);
    // Second write into the same folder: file, link, folder.
    assert.ok(tmp(second[0]!) && second[1] === b, events.join('\n'));
    assert.deepEqual(second.slice(2), ['fsync lib/objects/ab']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
