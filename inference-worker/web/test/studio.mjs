// The Studio in a real browser (Debian's Chromium, driven by puppeteer-core) against a real dev
// node and inference worker, started by `node/tests/studio.rs`, which runs this script twice:
//
//   node test/studio.mjs build   — create a datanet, contribute a file, accept it, publish a
//                                  snapshot, register the worker's model (each step asserted on
//                                  the page and against the chain); prints what it did as JSON.
//   node test/studio.mjs use     — (after the operator indexed the snapshot) ask the chat, see
//                                  the citation and the credited amount, launch the token, the
//                                  errors a user can make, claim the reward; page load times,
//                                  375 px layouts and accessible names of every page.
//
// Environment: STUDIO_URL (the worker serving the app), STUDIO_RPC (the node's WebSocket RPC),
// STUDIO_SHOTS (where screenshots go), STUDIO_FILE (the file to contribute), CHROMIUM.
import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { ApiPromise, WsProvider, Keyring } from '@polkadot/api';
import { blake2AsHex, cryptoWaitReady, encodeAddress } from '@polkadot/util-crypto';
import { createPublicClient, createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

const phase = process.argv[2];
const URL_ = process.env.STUDIO_URL;
const RPC = process.env.STUDIO_RPC;
const SHOTS = process.env.STUDIO_SHOTS;
const FILE = process.env.STUDIO_FILE;
const ETH = process.env.STUDIO_ETH;
for (const [k, v] of Object.entries({ STUDIO_URL: URL_, STUDIO_RPC: RPC, STUDIO_SHOTS: SHOTS, STUDIO_FILE: FILE, STUDIO_ETH: ETH })) {
  if (!v) throw new Error(`${k} is not set`);
}
mkdirSync(SHOTS, { recursive: true });
// The Ethereum dev key Baltathar (README, Ethereum), held by the test's EIP-1193 wallet.
const BALTATHAR = privateKeyToAccount('0x8075991ce870b93a8870eca0c0f91913d12f47948ca0fd25b49c6fa7cdbeee8b');

await cryptoWaitReady();
const provider = new WsProvider(RPC);
const api = await ApiPromise.create({ provider, noInitWarn: true });
const keyring = new Keyring({ type: 'sr25519', ss58Format: 4044 });
const dev = (n) => keyring.addFromUri(`//${n}`);
const generic = (a) => encodeAddress(a, 42);
const rpc = (m, p) => provider.send(m, p);
const log = (...a) => console.error('[studio]', ...a);

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});
const out = {};
try {
  if (phase === 'build') await build();
  else if (phase === 'use') await use();
  else throw new Error(`unknown phase ${phase}`);
} catch (e) {
  // What each page showed when it failed: a screenshot and its text.
  let n = 0;
  for (const p of await browser.pages()) {
    await p.screenshot({ path: join(SHOTS, `failure-${phase}-${n++}.png`), fullPage: true }).catch(() => undefined);
    log(`page ${p.url()}:`, await p.evaluate(() => document.body.innerText).catch(() => '?'));
  }
  throw e;
} finally {
  await browser.close();
  await api.disconnect();
}
console.log(JSON.stringify(out));

/** A page on `route` (e.g. `#/datanets`) at `width`, with the test wallet injected. */
async function open(route, { width = 1280, rpcUrl = RPC } = {}) {
  const page = await browser.newPage();
  await page.setViewport({ width, height: 900 });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.errors = errors;
  await injectTestWallet(page);
  await injectTestEthereum(page);
  const started = Date.now();
  await page.goto(`${URL_}/?rpc=${encodeURIComponent(rpcUrl)}${route}`, { waitUntil: 'load' });
  page.loadedIn = Date.now() - started;
  return page;
}

/** The signed-in account, by its name in the account menu. */
async function as(page, name) {
  // Accounts from a wallet extension join the menu after it answers, so wait for this one by name.
  const value = await page
    .waitForFunction(
      (n) => [...document.querySelectorAll('[data-testid=account] option')].find((o) => o.textContent.startsWith(n + ' '))?.value,
      { timeout: 30_000 },
      name,
    )
    .then((h) => h.jsonValue())
    .catch(() => undefined);
  assert.ok(value, `no account ${name} in the menu`);
  await page.select('[data-testid=account]', value);
}

async function go(page, route) {
  await page.evaluate((r) => (location.hash = r), route);
}

async function type(page, testId, text) {
  const el = await page.waitForSelector(`[data-testid=${testId}]`);
  await el.click({ clickCount: 3 });
  await el.evaluate((e) => {
    e.value = '';
  });
  await el.type(text);
}

/** Clicks an action and waits for its outcome; returns the text, asserting ok or error. */
async function act(page, testId, expect = 'ok', timeout = 120_000) {
  await page.click(`[data-testid=${testId}]`);
  const el = await page.waitForSelector(`[data-testid=${testId}-result]`, { timeout });
  const [cls, text] = await el.evaluate((e) => [e.className, e.textContent]);
  assert.equal(cls, expect, `${testId}: expected ${expect}, got "${text}"`);
  return text;
}

async function text(page, selector, timeout = 60_000) {
  const el = await page.waitForSelector(selector, { timeout });
  return el.evaluate((e) => e.textContent);
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/**
 * A Substrate wallet extension as Polkadot.js injects one (`window.injectedWeb3`), whose keys
 * live in this test: "Broke" (a fresh, empty account) and "Eve" (the dev account) sign;
 * "Refuser" rejects every request as a user pressing Cancel does.
 */
async function injectTestWallet(page) {
  const broke = keyring.addFromUri('//StudioBroke');
  const refuser = keyring.addFromUri('//StudioRefuser');
  const eve = dev('Eve');
  await page.exposeFunction('__testWalletSign', (payload) => {
    const pair = [broke, eve].find((k) => generic(k.address) === generic(payload.address));
    if (!pair) throw new Error('Cancelled');
    const p = api.registry.createType('ExtrinsicPayload', payload, { version: payload.version });
    return p.sign(pair).signature;
  }).catch(() => undefined);
  await page.evaluateOnNewDocument(
    (accounts) => {
      const signer = {
        signPayload: async (payload) => ({ id: 1, signature: await window.__testWalletSign(payload) }),
        signRaw: async () => {
          throw new Error('Cancelled');
        },
      };
      window.injectedWeb3 = {
        'test-wallet': {
          version: '1.0.0',
          enable: async () => ({
            accounts: { get: async () => accounts, subscribe: (cb) => (cb(accounts), () => undefined) },
            signer,
          }),
        },
      };
    },
    [
      { address: broke.address, name: 'Broke', type: 'sr25519' },
      { address: refuser.address, name: 'Refuser', type: 'sr25519' },
      { address: eve.address, name: 'Eve', type: 'sr25519' },
    ],
  );
}

/**
 * An Ethereum wallet as MetaMask injects one (EIP-1193 `window.ethereum`), holding the dev key
 * Baltathar in this test: it answers `eth_requestAccounts`, signs and sends
 * `eth_sendTransaction` to the node's Ethereum RPC, and forwards every other call there.
 */
async function injectTestEthereum(page) {
  const transport = http(ETH);
  const reader = createPublicClient({ transport });
  const signer = createWalletClient({ account: BALTATHAR, transport });
  await page
    .exposeFunction('__testEth', async (method, params) => {
      if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [BALTATHAR.address];
      if (method === 'eth_sendTransaction') {
        const [tx] = params;
        return signer.sendTransaction({ chain: null, to: tx.to, data: tx.data, value: tx.value ? BigInt(tx.value) : undefined });
      }
      return reader.request({ method, params });
    })
    .catch(() => undefined);
  await page.evaluateOnNewDocument(() => {
    window.ethereum = {
      isMetaMask: true,
      request: async ({ method, params }) => window.__testEth(method, params ?? []),
      on: () => undefined,
      removeListener: () => undefined,
    };
  });
}

async function build() {
  const page = await open('#/datanets');
  await page.waitForSelector('[data-testid=dn-create]');
  assert.deepEqual(page.errors, []);
  await shot(page, '01-datanets-empty');

  // Alice creates a datanet.
  await as(page, 'Alice');
  await type(page, 'dn-name', 'Geography');
  await type(page, 'dn-domain', 'geography');
  assert.match(await act(page, 'dn-create'), /Datanet 0 created/);
  const dn = await rpc('datanets_getDatanet', [0]);
  assert.equal(dn.name, 'Geography');
  assert.equal(dn.owner, generic(dev('Alice').address));
  await page.waitForFunction(() => document.querySelector('[data-testid=datanet-list]')?.textContent.includes('Geography'));
  // Search by domain.
  await type(page, 'datanet-search', 'nothing-like-this');
  await page.waitForFunction(() => !document.querySelector('[data-testid=datanet-list]'));
  await type(page, 'datanet-search', 'geo');
  await page.waitForSelector('[data-testid=datanet-list]');

  // Bob contributes the file: hashed in the browser, the same hash the chain records.
  await as(page, 'Bob');
  await go(page, '#/contribute/0');
  const input = await page.waitForSelector('[data-testid=contribute-files]');
  await input.uploadFile(FILE);
  const hash = await text(page, '[data-testid=hash-0]');
  assert.equal(hash, blake2AsHex(readFileSync(FILE), 256));
  await shot(page, '02-contribute');
  assert.match(await act(page, 'contribute-submit'), /contribution 0/);
  const c0 = await rpc('datanets_getContribution', [0]);
  assert.equal(c0.contentHash, hash);
  assert.equal(c0.contributor, generic(dev('Bob').address));
  assert.equal(c0.status, 'Pending');
  out.contentHash = hash;

  // Alice accepts it and publishes a snapshot.
  await as(page, 'Alice');
  await go(page, '#/curate');
  await page.waitForSelector('[data-testid=accept-0]');
  await shot(page, '03-curate');
  assert.match(await act(page, 'accept-0'), /Contribution 0 accepted/);
  assert.deepEqual((await rpc('datanets_getContribution', [0])).status, { Accepted: { quality: 90 } });
  assert.match(await act(page, 'curate-publish-0'), /Snapshot 1 published/);
  const snap = await rpc('datanets_getSnapshot', [0, 1]);
  assert.deepEqual(snap.members, [0]);
  await go(page, '#/datanets/0');
  assert.equal(await text(page, '[data-testid=snapshot-root-1]'), snap.root);
  await shot(page, '04-datanet');

  // Charlie registers the worker's base model as trained on that snapshot.
  await as(page, 'Charlie');
  await go(page, '#/models');
  await type(page, 'model-snapshots', '0:1');
  assert.match(await act(page, 'model-register'), /model 0/);
  const health = await (await fetch(`${URL_}/health`)).json();
  const m0 = await rpc('models_getModel', [0]);
  assert.equal(m0.weightsHash.replace(/^0x/, ''), health.base_hash.replace(/^0x/, ''));
  assert.deepEqual(m0.trainedOn, [[0, 1]]);
  assert.equal(m0.owner, generic(dev('Charlie').address));
  await page.waitForSelector('[data-testid=model-list]');
  await shot(page, '05-models');
  assert.deepEqual(page.errors, []);
  out.snapshotRoot = snap.root;
}

async function use() {
  const page = await open('#/chat');
  // Dave asks; the worker answers from the contributed text and credits it.
  await as(page, 'Dave');
  await page.waitForSelector('[data-testid=chat-model]');
  await type(page, 'chat-question', 'Tell me the capital of France.');
  assert.match(await act(page, 'chat-ask'), /fee/);
  const answer = await text(page, '[data-testid=answer-0]');
  assert.match(answer, /Paris/);
  await page.waitForSelector('[data-testid=credit-0]');
  const paidText = await text(page, '[data-testid=credit-paid-0]', 150_000);
  const receipts = await rpc('attribution_getReceiptsByModel', [0, 0, 100]);
  assert.equal(receipts.length, 1);
  const [receipt] = receipts;
  assert.deepEqual(receipt.attribution, [[0, 1_000_000]]);
  const paid = receipt.payouts.filter(([p]) => p.contribution === 0).reduce((a, [, v]) => a + BigInt(v), 0n);
  assert.ok(paid > 0n);
  assert.equal(paidText.replace(/^earned /, ''), fmtOpen(paid));
  out.answer = answer;
  out.credited = paid.toString();
  await shot(page, '06-chat');

  // The model's provenance, then its token: launched by Charlie, a buy refused for slippage.
  await go(page, '#/models/0');
  await page.waitForSelector('[data-testid=provenance]');
  assert.match(await text(page, '[data-testid=provenance] figcaption'), /#0/);
  await as(page, 'Charlie');
  assert.match(await act(page, 'token-launch'), /launched/);
  await page.waitForSelector('[data-testid=curve-plot]');
  await as(page, 'Dave');
  await type(page, 'token-amount', '100000');
  await type(page, 'token-slippage', '0');
  assert.match(await act(page, 'token-quote'), /costs/);
  // Someone else buys first; the quote Dave saw is gone.
  await sendAs(api.tx.models.buy(0, 10n ** 24n, 10n ** 30n, 1_000_000), dev('Eve'));
  assert.match(await act(page, 'token-buy', 'error'), /price moved more than 0%/);
  await shot(page, '07-model');

  // A rejected signature and an account without funds, through a wallet extension.
  await go(page, '#/datanets');
  await page.click('header button');
  await as(page, 'Refuser (test-wallet)');
  await type(page, 'dn-name', 'Refused');
  await type(page, 'dn-domain', 'none');
  assert.match(await act(page, 'dn-create', 'error'), /rejected the signature/);
  await as(page, 'Broke (test-wallet)');
  assert.match(await act(page, 'dn-create', 'error'), /Insufficient balance/);
  await shot(page, '08-errors');
  assert.equal((await api.query.datanets.nextDatanetId()).toNumber(), 1, 'nothing was created');

  // The node down: a clear message, no endless spinner.
  const down = await open('#/datanets', { rpcUrl: 'ws://127.0.0.1:9' });
  assert.match(await text(down, '[data-testid=node-error]', 15_000), /Cannot reach the Provena node/);
  await shot(down, '09-node-down');
  await down.close();

  // Governance: a referendum on the disputes track; Dave votes aye from the page with his
  // Substrate key, Baltathar with an Ethereum wallet through the IGovernance precompile.
  const referendum = (await api.query.referenda.referendumCount()).toNumber();
  const proposal = api.tx.system.remark('0x73747564696f').method.toHex();
  await sendAs(api.tx.referenda.submit({ Origins: 'DisputeResolver' }, { Inline: proposal }, { After: 1 }), dev('Alice'));
  await sendAs(api.tx.referenda.placeDecisionDeposit(referendum), dev('Alice'));
  await as(page, 'Dave');
  await go(page, '#/governance');
  await page.waitForSelector(`[data-testid=aye-${referendum}]`);
  assert.match(await act(page, `aye-${referendum}`), /Voted aye with 1 OPEN/);
  const tally = async () => (await api.query.referenda.referendumInfoFor(referendum)).unwrap().asOngoing.tally.toJSON();
  const afterDave = await tally();
  assert.ok(BigInt(afterDave.ayes) > 0n, JSON.stringify(afterDave));
  const daveVote = await api.query.convictionVoting.votingFor(dev('Dave').address, 4);
  assert.ok(daveVote.isCasting && daveVote.asCasting.votes.length === 1, daveVote.toString());
  assert.match(await act(page, `eth-aye-${referendum}`), new RegExp(`Voted aye from ${BALTATHAR.address}`, 'i'));
  const afterEth = await tally();
  assert.ok(BigInt(afterEth.ayes) > BigInt(afterDave.ayes), `${JSON.stringify(afterDave)} → ${JSON.stringify(afterEth)}`);
  const mapped = new Uint8Array([...Buffer.from(BALTATHAR.address.slice(2), 'hex'), ...new Array(12).fill(0xee)]);
  const ethVote = await api.query.convictionVoting.votingFor(mapped, 4);
  assert.ok(ethVote.isCasting && ethVote.asCasting.votes.length === 1, ethVote.toString());
  await page.waitForFunction((i) => document.querySelector(`[data-testid=referendum-${i}]`)?.textContent.includes('aye)'), {}, referendum);
  await shot(page, '11-governance');

  // Bob claims his contribution's reward once the receipt's challenge window is over.
  const best = async () => (await api.rpc.chain.getHeader()).number.toNumber();
  const deadline = Date.now() + 240_000;
  while ((await best()) < receipt.claimableAt) {
    assert.ok(Date.now() < deadline, 'the receipt never became claimable');
    await new Promise((r) => setTimeout(r, 2_000));
  }
  await as(page, 'Bob');
  await go(page, '#/rewards');
  await page.waitForSelector('[data-testid=reward-0]');
  assert.equal(await text(page, '[data-testid=claimable-total]'), fmtOpen(paid));
  const before = (await rpc('attribution_getRewards', [generic(dev('Bob').address)])).contributions[0];
  assert.equal(BigInt(before.claimable), paid);
  assert.match(await act(page, 'claim'), new RegExp(`Claimed ${fmtOpen(paid).replace(/[.]/g, '\\.')}`));
  const after = (await rpc('attribution_getRewards', [generic(dev('Bob').address)])).contributions[0];
  assert.equal(BigInt(after.claimed), paid);
  assert.equal(BigInt(after.claimable), 0n);
  await page.waitForSelector('[data-testid=earnings-plot]');
  assert.match(await text(page, '[data-testid=rewards-by-model]'), new RegExp(`Model 01${fmtOpen(paid).replace(/[.]/g, '\\.')}`));
  await shot(page, '10-rewards');

  // An extension account asks on chain: its transaction holds the max fee, the node's
  // off-chain worker has the worker answer, and the job's receipt credits the contribution.
  await go(page, '#/chat');
  await page.click('header button');
  await as(page, 'Eve (test-wallet)');
  await page.waitForFunction(() => document.querySelector('[data-testid=chat-payment]')?.textContent.includes('pays on chain'));
  await type(page, 'chat-question', 'Tell me the capital of France.');
  assert.match(await act(page, 'chat-ask', 'ok', 200_000), /Answered on chain \(job 0\)/);
  assert.match(await text(page, '[data-testid=answer-0]'), /Paris/);
  const job = await rpc('inference_getJob', [0]);
  assert.equal(job.status, 'Completed');
  const onChain = await rpc('attribution_getReceipt', [job.receipt[0]]);
  assert.deepEqual(onChain.attribution, [[0, 1_000_000]]);
  assert.equal(onChain.user, generic(dev('Eve').address));
  const earned = onChain.payouts.filter(([p]) => p.contribution === 0).reduce((a, [, v]) => a + BigInt(v), 0n);
  assert.equal((await text(page, '[data-testid=credit-paid-0]')).replace(/^earned /, ''), fmtOpen(earned));
  await shot(page, '12-chat-on-chain');
  assert.deepEqual(page.errors, []);
  await page.close();

  // Every page: loaded and showing its content within 2 s, no horizontal scrolling at 375 px,
  // and a name on every control.
  out.pages = {};
  for (const [route, ready] of [
    ['#/datanets', '[data-testid=datanet-list]'],
    ['#/datanets/0', '[data-testid=snapshot-list]'],
    ['#/contribute/0', '[data-testid=contribute-files]'],
    ['#/curate', '[data-testid=curate-0]'],
    ['#/models', '[data-testid=model-list]'],
    ['#/models/0', '[data-testid=curve-plot]'],
    ['#/factory', 'main h1'],
    ['#/chat', '[data-testid=chat-question]'],
    ['#/rewards', '[data-testid=claim]'],
    ['#/governance', '[data-testid^=referendum-]'],
  ]) {
    for (const width of [1280, 375]) {
      const started = Date.now();
      const p = await open(route, { width });
      await p.waitForSelector(ready, { timeout: 10_000 });
      const ms = Date.now() - started;
      assert.ok(ms < 2_000, `${route} took ${ms} ms to show its content`);
      const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${route} at ${width} px scrolls sideways by ${overflow} px`);
      const unnamed = await unnamedControls(p);
      assert.deepEqual(unnamed, [], `${route}: controls without an accessible name`);
      const name = route.replace(/[#/]+/g, '-').replace(/^-|-$/g, '');
      await shot(p, `page-${name}-${width}`);
      assert.deepEqual(p.errors, [], `${route}: page errors`);
      out.pages[`${route}@${width}`] = ms;
      log(`${route} at ${width} px: content in ${ms} ms`);
      await p.close();
    }
  }
}

/** Signs and sends `tx` as `pair`; resolves when it is in a block without error. */
function sendAs(tx, pair) {
  return new Promise((res, rej) =>
    tx.signAndSend(pair, ({ status, dispatchError }) => {
      if (dispatchError) rej(new Error(dispatchError.toString()));
      if (status.isInBlock) res();
    }),
  );
}

/** Buttons, links and form fields the accessibility tree gives no name. */
async function unnamedControls(page) {
  const tree = await page.accessibility.snapshot({ interestingOnly: false });
  const roles = new Set(['button', 'link', 'textbox', 'combobox', 'checkbox', 'radio', 'slider', 'spinbutton', 'searchbox', 'listbox']);
  const bad = [];
  const walk = (n) => {
    if (!n) return;
    if (roles.has(n.role) && !(n.name ?? '').trim()) bad.push(`${n.role}`);
    for (const c of n.children ?? []) walk(c);
  };
  walk(tree);
  return bad;
}

/** As the app formats OPEN (4 decimals at most, trailing zeros dropped). */
function fmtOpen(x) {
  const UNIT = 10n ** 18n;
  const whole = x / UNIT;
  const frac = (x % UNIT).toString().padStart(18, '0').slice(0, 4).replace(/0+$/, '');
  return `${whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${frac ? '.' + frac : ''} OPEN`;
}
