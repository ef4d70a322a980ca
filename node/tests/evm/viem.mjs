// A second client library against a running Provena dev node, driven by `node/tests/e2e/evm.rs`
// after `evm.mjs`: viem deploys the ERC-20 test contract, writes to it, reads its events, and
// watches blocks and events over HTTP (filters) and WebSocket (subscriptions). Every check that
// fails throws (exit code 1); the last line of stdout is a JSON report.
//
// Input (environment): ETH_URL (the node's Ethereum endpoint over HTTP; WebSocket on the same
// port).

import assert from "node:assert/strict";
import { createPublicClient, createWalletClient, defineChain, http, parseEther, webSocket } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { compile, KEYS, ADDRESSES } from "./contracts.mjs";

const url = process.env.ETH_URL;
if (!url) throw new Error("missing environment variable ETH_URL");
const wsUrl = url.replace(/^http/, "ws");
const log = (...args) => console.error("[viem]", ...args);

const provena = defineChain({
  id: 0x50524f,
  name: "Provena dev",
  nativeCurrency: { name: "OPEN", symbol: "OPEN", decimals: 18 },
  rpcUrls: { default: { http: [url], webSocket: [wsUrl] } },
});

// Waits for `ok()` with a deadline (no fixed sleeps).
async function until(what, ok, ms = 60_000) {
  const end = Date.now() + ms;
  while (!ok()) {
    assert.ok(Date.now() < end, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main() {
  const report = {};
  const { abi, bytecode } = compile().token;
  const account = privateKeyToAccount(KEYS.ethan);
  assert.equal(account.address, ADDRESSES.ethan);
  const client = createPublicClient({ chain: provena, transport: http(url), pollingInterval: 250 });
  const ws = createPublicClient({ chain: provena, transport: webSocket(wsUrl) });
  const wallet = createWalletClient({ account, chain: provena, transport: http(url) });
  assert.equal(await client.getChainId(), 0x50524f);

  // Deploy.
  const supply = parseEther("1000");
  const deployHash = await wallet.deployContract({ abi, bytecode, args: ["Viem Test Token", "VTT", supply] });
  const deployed = await client.waitForTransactionReceipt({ hash: deployHash });
  assert.equal(deployed.status, "success");
  const address = deployed.contractAddress;
  assert.equal(await client.readContract({ address, abi, functionName: "symbol" }), "VTT");
  assert.equal(await client.readContract({ address, abi, functionName: "balanceOf", args: [account.address] }), supply);
  report.deployed = { address, block: Number(deployed.blockNumber) };
  log("deployed", report.deployed);

  // Watch before writing: events over HTTP (eth_newFilter polled) and WebSocket (a `logs`
  // subscription), blocks over WebSocket (`newHeads`) and by polling the block number.
  const seen = { http: [], ws: [], heads: [], numbers: [] };
  const unwatch = [
    client.watchContractEvent({ address, abi, eventName: "Transfer", onLogs: (logs) => seen.http.push(...logs) }),
    ws.watchContractEvent({ address, abi, eventName: "Transfer", onLogs: (logs) => seen.ws.push(...logs) }),
    ws.watchBlocks({ onBlock: (b) => seen.heads.push(b.number) }),
    client.watchBlockNumber({ onBlockNumber: (n) => seen.numbers.push(n) }),
  ];
  // viem sets its filters up asynchronously: give the first poll a block to see.
  const start = await client.getBlockNumber();
  await until("a block after the watchers started", () => seen.numbers.some((n) => n > start));

  // Write: simulate, send, wait.
  const to = ADDRESSES.charleth;
  const { request } = await client.simulateContract({ account, address, abi, functionName: "transfer", args: [to, 5n] });
  const hash = await wallet.writeContract(request);
  const receipt = await client.waitForTransactionReceipt({ hash });
  assert.equal(receipt.status, "success");
  assert.equal(await client.readContract({ address, abi, functionName: "balanceOf", args: [to] }), 5n);

  // Events: read back, and as the watchers saw them.
  const events = await client.getContractEvents({ address, abi, eventName: "Transfer", fromBlock: deployed.blockNumber });
  assert.deepEqual(events.map((e) => e.transactionHash), [deployHash, hash]);
  assert.deepEqual([events[1].args.from, events[1].args.to, events[1].args.value], [account.address, to, 5n]);
  await until("watchContractEvent over HTTP", () => seen.http.some((l) => l.transactionHash === hash));
  await until("watchContractEvent over WebSocket", () => seen.ws.some((l) => l.transactionHash === hash));
  await until("watchBlocks over WebSocket", () => seen.heads.some((n) => n >= receipt.blockNumber));
  const fromWs = seen.ws.find((l) => l.transactionHash === hash);
  assert.equal(fromWs.args.value, 5n);
  for (const stop of unwatch) stop();
  report.write = { hash, block: Number(receipt.blockNumber) };
  report.watched = { http: seen.http.length, ws: seen.ws.length, heads: seen.heads.length };
  log("write and watch", report.write, report.watched);
  console.log(JSON.stringify(report));
}

// The WebSocket stays open after the watchers stop: exit when done.
main().then(() => process.exit(0)).catch((e) => {
  console.error(e);
  process.exit(1);
});
