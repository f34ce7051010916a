// The page's Content-Security-Policy (a meta tag in www/index.html) is in force: eval, new Function, inline
// scripts, inline handlers and scripts from another origin are blocked, each with a violation event; WebAssembly
// still compiles; and the page's own use (the example model, its views) causes no violation at all. (Every
// e2e test counts violations as errors: helpers.mjs.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, openBrowser, serveModels } from './helpers.mjs';

export const POLICY = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
  + "connect-src 'self' http: https:; img-src 'self' data:; style-src 'self'; font-src 'self'; object-src 'none'; "
  + "frame-src 'none'; base-uri 'none'; form-action 'none'";

let b;
let other;
before(async () => {
  b = await openBrowser();
  other = await serveModels({});
});
after(async () => {
  await b?.close();
  other?.close();
});

test('www/index.html states the policy in a meta tag before any script or stylesheet', () => {
  const html = readFileSync(join(ROOT, 'www/index.html'), 'utf8');
  const meta = html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/);
  assert.ok(meta, 'no CSP meta tag');
  assert.equal(meta[1], POLICY);
  assert.ok(meta.index < html.indexOf('<link rel="stylesheet"') && meta.index < html.indexOf('<script'));
  assert.doesNotMatch(html, /\sstyle\s*=|<style/i, 'inline styles are blocked by style-src \'self\'');
});

test('eval, inline and foreign scripts are blocked; WebAssembly compiles; normal use violates nothing', { timeout: 60_000 }, async () => {
  const { page, errors } = b;
  await b.open();
  await page.waitForLoadState('networkidle');
  // Code that DevTools evaluates is exempt from the policy: eval is tried by a script of the page's own
  // origin (served here by a route), as the page's code would.
  await page.route(`${b.url}csp-probe.js`, (route) => route.fulfill({
    contentType: 'text/javascript',
    body: `const attempt = (f) => { try { f(); return 'ran'; } catch (e) { return e.name; } };
      window.cspProbe = { eval: attempt(() => eval('1')), newFunction: attempt(() => new Function('return 1')()) };`,
  }));
  const blocked = await page.evaluate(async (foreign) => {
    const probe = document.createElement('script');
    probe.src = 'csp-probe.js';
    await new Promise((ok) => { probe.onload = ok; probe.onerror = ok; document.body.append(probe); });
    const out = { ...window.cspProbe };
    probe.remove();
    // setTimeout with a string: blocked silently (a violation is reported).
    setTimeout('window.__pwned = "timeout"', 0);
    const script = document.createElement('script');
    script.textContent = 'window.__pwned = "inline"';
    document.body.append(script);
    const button = document.createElement('button');
    button.setAttribute('onclick', 'window.__pwned = "handler"');
    document.body.append(button);
    button.click();
    const link = document.createElement('a');
    link.href = 'javascript:window.__pwned="link"';
    document.body.append(link);
    link.click();
    out.foreignScript = await new Promise((ok) => {
      const s = document.createElement('script');
      s.src = `${foreign}cors/x.js`;
      s.onload = () => ok('loaded');
      s.onerror = () => ok('blocked');
      document.body.append(s);
    });
    out.foreignImage = await new Promise((ok) => {
      const img = new Image();
      img.onload = () => ok('loaded');
      img.onerror = () => ok('blocked');
      img.src = `${foreign}cors/x.png`;
    });
    // The smallest module: WebAssembly compiles ('wasm-unsafe-eval').
    out.wasm = await WebAssembly.compile(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])).then(() => 'compiled', (e) => e.name);
    await new Promise((ok) => setTimeout(ok, 200));
    for (const e of [script, button, link]) e.remove();
    return { ...out, pwned: globalThis.__pwned ?? null, violations: globalThis.cspViolations.splice(0) };
  }, other.url);
  console.log(blocked);
  assert.equal(blocked.eval, 'EvalError');
  assert.equal(blocked.newFunction, 'EvalError');
  assert.equal(blocked.foreignScript, 'blocked');
  assert.equal(blocked.foreignImage, 'blocked');
  assert.equal(blocked.wasm, 'compiled');
  assert.equal(blocked.pwned, null, 'injected script ran');
  const directives = new Set(blocked.violations.map((v) => v.split(' ')[2]));
  for (const d of ['script-src', 'script-src-elem', 'script-src-attr', 'img-src']) assert.ok(directives.has(d), `no ${d} violation: ${blocked.violations}`);
  assert.deepEqual(other.requests, [], 'the foreign script and image were never requested');
  assert.ok(errors.every((e) => /CSP violation|Content Security Policy/.test(e)), errors.join('\n'));
  errors.length = 0;

  // Normal use: the example (LeNet, its digits and snapshots), a layer's maps, Grad-CAM.
  await page.click('#example-btn');
  await page.waitForFunction(() => document.querySelectorAll('#results tr[data-done]').length === 10, null, { timeout: 30_000 });
  await page.click('#layers tr[data-layer="conv1"]');
  await page.waitForSelector('#activation-canvas[data-layer="conv1"]');
  await page.click('#results tbody tr details summary');
  await page.click('#results tbody tr li:first-child button');
  await page.waitForSelector('#gradcam[data-class]');
  assert.deepEqual(await page.evaluate(() => globalThis.cspViolations), []);
  assert.deepEqual(errors, []);
});
