// Plain HTTP checks of a running `tollgate serve`: health endpoints and the
// static site assets the portal hydrates from.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer } from '../harness.mjs';

describe('health and static assets', () => {
  let server;

  before(async () => {
    server = await startServer('health');
  });

  after(async () => {
    await server?.stop();
  });

  it('GET /health/liveliness answers 200', async () => {
    const res = await fetch(`${server.url}/health/liveliness`);
    assert.equal(res.status, 200);
  });

  it('GET /health/readiness answers 200 with status "ready" and its checks', async () => {
    const res = await fetch(`${server.url}/health/readiness`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = await res.json();
    assert.equal(body.status, 'ready');
    assert.equal(typeof body.checks, 'object');
    assert.ok(body.checks !== null && !Array.isArray(body.checks), 'checks is an object');
  });

  it('serves the site: /pkg/tollgate.{js,wasm,css}', async () => {
    for (const [file, type] of [
      ['tollgate.js', /javascript/],
      ['tollgate.wasm', /^application\/wasm/],
      ['tollgate.css', /^text\/css/],
    ]) {
      const res = await fetch(`${server.url}/pkg/${file}`);
      assert.equal(res.status, 200, `/pkg/${file}`);
      assert.match(res.headers.get('content-type') ?? '', type, `/pkg/${file} content-type`);
      assert.ok((await res.arrayBuffer()).byteLength > 0, `/pkg/${file} is not empty`);
    }
  });

  it('logs a one-time password for the bootstrap admin', () => {
    assert.ok(server.adminPassword, `no "one-time password: ..." line in ${server.logFile}`);
  });
});
