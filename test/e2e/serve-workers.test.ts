/**
 * `emomo serve --workers N` as an operator runs it: N processes answer on one
 * port (each new connection goes to the next), the URL is printed once all
 * listen, a worker killed with -9 is replaced while the others go on
 * answering (a connection handed to it as it died is lost with it), SIGTERM to the server lets every request in flight finish and
 * leaves no process behind (exit 0), and a port that is taken stops them all
 * with exit 2 and the reason (with --json, one error object, not one per worker).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import { runCli, waitFor } from '../helpers/cli.js';
import { recallPath, request, servedLibraryForSuite, startServeCli, stopWithRecallInFlight } from '../helpers/serve.js';

const CLOSE = { headers: { connection: 'close' } }; // a new connection per request: the next worker's turn

/** Worker id → pid, from the workers' `serving` lines. */
function workerPids(stderr: string): Map<number, number> {
  const pids = new Map<number, number>();
  for (const m of stderr.matchAll(/msg="serving" .*worker=(\d+) pid=(\d+)/g)) pids.set(Number(m[1]), Number(m[2]));
  return pids;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('emomo serve --workers', () => {
  const lib = servedLibraryForSuite('sk-test-serve-workers');

  test('two processes answer on one port; SIGTERM lets the request in flight finish and stops both, exit 0', async () => {
    const serve = await startServeCli(['--config', lib.ws.config, '--workers', '2'], { env: lib.env });
    const pids = workerPids(serve.output().stderr);
    assert.deepEqual([...pids.keys()].sort(), [1, 2], 'the URL is printed once both listen');
    assert.equal(serve.output().stdout.trim().split('\n').length, 1, 'one URL line, from the server, not one per worker');

    const queries = ['开心', '无语', '我太难了', '好的', '谢谢', '哈哈', '累了', '摸鱼'];
    const answers = await Promise.all(queries.map((q) => request(serve.url, recallPath({ q, mode: 'keyword' }), CLOSE)));
    assert.deepEqual(answers.map((a) => a.status), queries.map(() => 200));
    const workers = new Set([...serve.output().stderr.matchAll(/msg="request" .*worker=(\d+)/g)].map((m) => m[1]));
    assert.deepEqual([...workers].sort(), ['1', '2'], 'both processes answered');

    const { code, stderr } = await stopWithRecallInFlight(serve, lib, CLOSE.headers);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /msg="stopping: answering the requests in flight" searches=1 waiting=0 worker=\d/);
    assert.match(stderr, /msg="stopped" workers=2/);
    for (const pid of pids.values()) assert.ok(!alive(pid), `worker ${pid} is gone`);
  });

  test('a worker killed with -9 is replaced; the other answers meanwhile', async (t) => {
    const serve = await startServeCli(['--config', lib.ws.config, '--workers', '2'], { env: lib.env });
    t.after(() => void serve.child.kill('SIGKILL'));
    const first = workerPids(serve.output().stderr);
    process.kill(first.get(1)!, 'SIGKILL');
    // A connection handed to a worker the moment it dies is lost with it; once the server has noticed, none is.
    await waitFor(() => /msg="a server process died; starting another" worker=1 exit=SIGKILL/.test(serve.output().stderr), 30_000, 'the death noticed');
    for (let i = 0; i < 6; i++) {
      const answer = await request(serve.url, recallPath({ q: `开心${i}`, mode: 'keyword' }), CLOSE);
      assert.equal(answer.status, 200, 'the other worker answers while one is replaced');
    }
    await waitFor(() => workerPids(serve.output().stderr).has(3), 30_000, 'a third worker to start');
    const third = workerPids(serve.output().stderr).get(3)!;
    const answers = await Promise.all([0, 1, 2, 3].map((i) => request(serve.url, recallPath({ q: `无语${i}`, mode: 'keyword' }), CLOSE)));
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200]);
    serve.child.kill('SIGTERM');
    assert.equal((await serve.done).code, 0);
    assert.ok(!alive(third) && !alive(first.get(2)!), 'no worker left');
  });

  test('a taken port: the server exits 2 with the reason (one error object with --json)', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const run = await runCli(['serve', '--config', lib.ws.config, '--port', String(port), '--workers', '2'], { env: lib.env });
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is taken`));
      assert.equal(run.stdout, '', 'no URL printed');
      const json = await runCli(['serve', '--config', lib.ws.config, '--port', String(port), '--workers', '2', '--json'], { env: lib.env });
      assert.equal(json.code, 2, json.stderr);
      const lines = json.stdout.trim().split('\n');
      assert.equal(lines.length, 1, `one JSON object on stdout, not one per worker: ${json.stdout}`);
      assert.deepEqual(JSON.parse(lines[0]!).error.code, 'usage');
      assert.match(JSON.parse(lines[0]!).error.message, /is taken/);
    } finally {
      taken.close();
    }
  });
});
