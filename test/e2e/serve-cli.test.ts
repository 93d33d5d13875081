/**
 * `emomo serve` as an operator runs it: a process of its own. Loopback by
 * default; another address needs a token, which every API and image request
 * must then carry (the page and /healthz hold no library data); `--public`
 * serves without one when that is meant. SIGTERM lets a request in flight
 * finish, then the process exits 0. A missing library is refused.
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { recallPath, request, servedLibraryForSuite, startServeCli, stopWithRecallInFlight } from '../helpers/serve.js';

const TOKEN = 'serve-test-token-0123456789abcdef';

/** An IPv4 address of this machine that is not loopback (eth0), or undefined on a machine without one. */
function outsideAddress(): string | undefined {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

describe('emomo serve, the process', () => {
  const lib = servedLibraryForSuite('sk-test-serve-cli');

  test('another address without a token or --public is refused (exit 2) with what to do', async () => {
    const run = await runCli(['serve', '--config', lib.ws.config, '--host', '0.0.0.0', '--port', '0'], { env: lib.env });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /--host 0\.0\.0\.0 lets other machines reach the library: give a token .*--token or EMOMO_SERVE_TOKEN.*--public/);
    const short = await runCli(['serve', '--config', lib.ws.config, '--host', '0.0.0.0', '--token', 'abc'], { env: lib.env });
    assert.equal(short.code, 2);
    assert.match(short.stderr, /the token is 3 characters; use at least 16/);
  });

  test('bound to a non-loopback address with a token: API and images need it, the page and /healthz do not', async (t) => {
    const host = outsideAddress() ?? '0.0.0.0';
    const serve = await startServeCli(['--config', lib.ws.config, '--host', host], { env: { ...lib.env, EMOMO_SERVE_TOKEN: TOKEN } });
    t.after(() => void serve.child.kill('SIGKILL'));
    const base = serve.url.replace('0.0.0.0', '127.0.0.1');
    assert.ok(!base.includes('127.0.0.1') || host === '0.0.0.0', `listening on ${serve.url}`);
    const path = recallPath({ q: '开心', mode: 'keyword', top_k: 2 });

    const anonymous = await request(base, path);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers['www-authenticate'], 'Bearer realm="emomo"');
    assert.match(anonymous.json.error.message, /a token is required: send "Authorization: Bearer <token>"/);
    const wrong = await request(base, path, { headers: { authorization: 'Bearer not-the-token-at-all' } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.json.error.message, 'wrong token');

    const allowed = await request(base, path, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(allowed.status, 200, allowed.text);
    const [first] = allowed.json.results;
    assert.ok(first);
    const repeated = await request(base, path);
    assert.equal(repeated.status, 401, 'a cached answer needs the token too');
    assert.equal((await request(base, path, { headers: { authorization: 'Bearer not-the-token-at-all' } })).status, 401, 'the right one');
    assert.equal((await request(base, path, { headers: { cookie: 'emomo_token=not-the-token-at-all' } })).status, 401);
    assert.equal((await request(base, path, { headers: { authorization: `Bearer ${TOKEN}` } })).headers['x-emomo-cache'], 'hit');
    const image = `/objects/${first.storage_key}`;
    assert.equal((await request(base, image)).status, 401, 'images need the token too');
    const withCookie = await request(base, image, { headers: { cookie: `theme=dark; emomo_token=${encodeURIComponent(TOKEN)}` } });
    assert.equal(withCookie.status, 200, 'the page sends it as a cookie');
    assert.equal(withCookie.headers['cache-control'], 'private, max-age=31536000, immutable');
    assert.equal((await request(base, `/api/memes/${first.md5}`)).status, 401);
    assert.equal((await request(base, '/api/stats')).status, 401);

    assert.equal((await request(base, '/')).status, 200);
    assert.equal((await request(base, '/healthz')).status, 200);
    assert.equal((await request(base, '/api/openapi.json')).json.components.securitySchemes.bearer.scheme, 'bearer');

    const log = serve.output().stderr;
    assert.ok(!log.includes(TOKEN), 'the token is never logged');
    assert.match(log, /msg="serving" url=\S+ library=\S+ memes=8 token=true/);
  });

  test('--public serves another address without a token', async (t) => {
    const serve = await startServeCli(['--config', lib.ws.config, '--host', '0.0.0.0', '--public'], { env: lib.env });
    t.after(() => void serve.child.kill('SIGKILL'));
    const port = new URL(serve.url).port;
    const answer = await request(`http://127.0.0.1:${port}`, recallPath({ q: '开心', mode: 'keyword' }));
    assert.equal(answer.status, 200);
  });

  test('SIGTERM: the request in flight is answered, new connections are refused, exit 0', async () => {
    const serve = await startServeCli(['--config', lib.ws.config], { env: lib.env });
    const { answer, code, stderr, ms } = await stopWithRecallInFlight(serve, lib);
    assert.equal(code, 0, stderr);
    assert.equal(answer.headers.connection, 'close', 'its connection closes with the answer');
    // The 2 s recall budget plus a shutdown that waits for nothing else (keep-alive sockets are closed, not awaited); wide for a loaded machine.
    assert.ok(ms < 8000, `stopped after ${ms.toFixed(0)} ms`);
    assert.match(stderr, /msg="stopping: answering the requests in flight" searches=1/);
    assert.match(stderr, /msg="stopped"/);
    await assert.rejects(request(serve.url, '/healthz'), /ECONNREFUSED/);
  });

  test('a missing library is refused before listening (exit 2)', async () => {
    const run = await runCli(['serve', '--config', lib.ws.config, '--db', path.join(lib.ws.dir, 'nothing.db')], { env: lib.env });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /no library at .*nothing\.db/);
  });
});
