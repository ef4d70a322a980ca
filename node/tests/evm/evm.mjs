// Ethereum tooling against a running Provena dev node, driven by `node/tests/e2e/evm.rs`.
//
// solc-js compiles the contracts offline; ethers v6 deploys and calls them through the node's
// Ethereum JSON-RPC endpoint, signs raw transactions with the well-known dev keys, and tries
// the bad inputs a wallet can produce. Every check that fails throws (exit code 1); the last
// line of stdout is a JSON report the Rust test compares with the chain's own RPC.
//
// Inputs (environment): ETH_URL, MODEL, DATANET, CONTRIBUTION, OPERATOR (32-byte hex account
// id), BOB_ACCOUNT (32-byte hex account id), DOROTHY_FREE (decimal, Dorothy's native free
// balance), ED (decimal, the existential deposit), REFERENDUM (an ongoing referendum's index),
// AGENT (32-byte hex account id of an active agent).

import assert from "node:assert/strict";
import { ethers } from "ethers";
import { compile, KEYS, ADDRESSES } from "./contracts.mjs";

const env = (name) => {
  const v = process.env[name];
  if (v === undefined) throw new Error(`missing environment variable ${name}`);
  return v;
};

const CHAIN_ID = 0x50524fn;
const PRECOMPILE = "0x000000000000000000000000000000000b000000";
const GOVERNANCE = "0x000000000000000000000000000000000c000000";
const AGENTS = "0x000000000000000000000000000000000d000000";
const OPEN = 10n ** 18n;

const report = {};
const log = (...args) => console.error("[evm]", ...args);

// A JSON-RPC call that must fail; returns the error message.
async function rejects(provider, method, params, pattern) {
  try {
    await provider.send(method, params);
  } catch (e) {
    const msg = e?.error?.message ?? e?.info?.error?.message ?? e?.shortMessage ?? String(e);
    assert.match(msg, pattern, `${method}: unexpected error ${msg}`);
    return msg;
  }
  throw new Error(`${method} was accepted but should have failed (${pattern})`);
}

async function main() {
  const provider = new ethers.JsonRpcProvider(env("ETH_URL"), undefined, { pollingInterval: 250 });
  const wallets = Object.fromEntries(
    Object.entries(KEYS).map(([name, key]) => [name, new ethers.Wallet(key, provider)]),
  );
  for (const [name, w] of Object.entries(wallets)) {
    assert.equal(w.address, ADDRESSES[name], `${name}'s key derives another address`);
  }
  const { alith, baltathar, charleth, dorothy, ethan } = wallets;

  // Chain identity.
  const chainId = BigInt(await provider.send("eth_chainId", []));
  assert.equal(chainId, CHAIN_ID);
  assert.equal((await provider.getNetwork()).chainId, CHAIN_ID);
  report.chainId = Number(chainId);
  report.gasPrice = (await provider.send("eth_gasPrice", [])).toString();
  // A dev node alone: no peers, nothing to catch up with.
  assert.equal(await provider.send("net_peerCount", []), "0x0");
  assert.equal(await provider.send("eth_syncing", []), false);
  report.alithBalance = (await provider.getBalance(alith.address)).toString();

  // The native → EVM direction: Dorothy was funded by a Substrate transfer before this ran.
  const dorothyEth = await provider.getBalance(dorothy.address);
  assert.equal(dorothyEth, BigInt(env("DOROTHY_FREE")) - BigInt(env("ED")));
  report.dorothyEthBalance = dorothyEth.toString();

  const compiled = compile();

  // Governance from an Ethereum wallet, first (the referendum the test opened waits for its
  // decision deposit only so long): Baltathar votes aye at ×1
  // with 100 OPEN on it; a vote on an unknown referendum reverts with the pallet's error.
  const gov = new ethers.Contract(GOVERNANCE, compiled.igovernance.abi, baltathar);
  const referendum = BigInt(env("REFERENDUM"));
  await assert.rejects(gov.vote.staticCall(999_999n, true, 1, OPEN), /Governance: NotOngoing/);
  await assert.rejects(gov.vote.staticCall(referendum, true, 7, OPEN), /conviction above 6/);
  const voteTx = await gov.vote(referendum, true, 1, 100n * OPEN);
  const voteReceipt = await voteTx.wait();
  assert.equal(voteReceipt.status, 1);
  const power = await gov.contributionPower(ethers.zeroPadBytes(baltathar.address, 32));
  report.governance = { voter: baltathar.address, block: voteReceipt.blockHash, power: power.toString() };
  log("governance vote", report.governance);

  // Agents from an Ethereum wallet: Ethan delegates 20 OPEN to the agent the test registered;
  // delegating to an account that is no agent reverts with the pallet's error.
  const agents = new ethers.Contract(AGENTS, compiled.iagents.abi, ethan);
  const agent = env("AGENT");
  await assert.rejects(agents.delegate.staticCall(ethers.ZeroHash, 20n * OPEN), /Agents: NotAgent/);
  const delegateReceipt = await (await agents.delegate(agent, 20n * OPEN)).wait();
  assert.equal(delegateReceipt.status, 1);
  // Ethan's chain account: his address followed by twelve 0xEE bytes.
  const ethanAccount = ethers.concat([ethan.address, "0x" + "ee".repeat(12)]);
  const [stake, unbonding, pending] = await agents.delegation(agent, ethanAccount);
  assert.equal(stake, 20n * OPEN);
  assert.equal(unbonding, 0n);
  assert.equal(pending, 0n);
  const [agentActive, totalStake] = await agents.agentStake(agent);
  assert.equal(agentActive, true);
  report.agents = { block: delegateReceipt.blockHash, totalStake: totalStake.toString() };
  log("agents delegation", report.agents);

  // ERC-20: deploy, estimate, transfer, read balances and logs.
  const factory = new ethers.ContractFactory(compiled.token.abi, compiled.token.bytecode, alith);
  const supply = 1_000_000n * OPEN;
  const deployGas = await provider.estimateGas(await factory.getDeployTransaction("Open Test", "OTT", supply));
  const token = await factory.deploy("Open Test", "OTT", supply);
  const deployReceipt = await token.deploymentTransaction().wait();
  assert.equal(deployReceipt.status, 1);
  assert.equal(deployReceipt.contractAddress, await token.getAddress());
  assert.ok((await provider.getCode(token.target)).length > 2, "the token has code");
  assert.equal(await token.symbol(), "OTT");
  assert.equal(await token.balanceOf(alith.address), supply);
  log("token at", token.target);

  const amount = 1234n * OPEN;
  const estimate = await token.transfer.estimateGas(baltathar.address, amount);
  const tx = await token.transfer(baltathar.address, amount);
  const r = await tx.wait();
  assert.equal(r.status, 1);
  assert.ok(r.gasUsed <= estimate, `gas used ${r.gasUsed} above the estimate ${estimate}`);
  const rawReceipt = await provider.send("eth_getTransactionReceipt", [tx.hash]);
  assert.equal(rawReceipt.transactionHash, tx.hash);
  assert.equal(rawReceipt.status, "0x1");
  const parsed = token.interface.parseLog(r.logs[0]);
  assert.equal(parsed.name, "Transfer");
  assert.deepEqual([parsed.args[0], parsed.args[1], parsed.args[2]], [alith.address, baltathar.address, amount]);
  assert.equal(await token.balanceOf(baltathar.address), amount);
  // eth_call with raw calldata, as a wallet's `balanceOf` does.
  const data = token.interface.encodeFunctionData("balanceOf", [alith.address]);
  const raw = await provider.send("eth_call", [{ to: token.target, data }, "latest"]);
  assert.equal(BigInt(raw), supply - amount);
  const transferTopic = ethers.id("Transfer(address,address,uint256)");
  const logs = await provider.getLogs({
    address: token.target,
    topics: [transferTopic],
    fromBlock: deployReceipt.blockNumber,
    toBlock: "latest",
  });
  assert.equal(logs.length, 2, "mint and transfer logs");
  assert.equal(logs[1].transactionHash, tx.hash);
  assert.equal(ethers.getAddress("0x" + logs[1].topics[2].slice(26)), baltathar.address);
  // Watching: ethers' `contract.on` over HTTP (eth_newFilter + eth_getFilterChanges), and over
  // WebSocket the `logs`, `newHeads` and `newPendingTransactions` subscriptions; raw filters too.
  const wsProvider = new ethers.WebSocketProvider(env("ETH_URL").replace(/^http/, "ws"));
  const tokenWs = new ethers.Contract(token.target, compiled.token.abi, wsProvider);
  const blockFilter = await provider.send("eth_newBlockFilter", []);
  const pendingFilter = await provider.send("eth_newPendingTransactionFilter", []);
  const logFilter = await provider.send("eth_newFilter", [{ address: token.target, topics: [transferTopic] }]);
  assert.match(logFilter, /^0x[0-9a-f]+$/);
  const seen = { http: null, ws: null, head: null, pending: new Set() };
  await token.on("Transfer", (_from, _to, _value, ev) => { seen.http = ev.log.transactionHash; });
  await tokenWs.on("Transfer", (_from, _to, _value, ev) => { seen.ws = ev.log.transactionHash; });
  await wsProvider.on("block", (n) => { seen.head = n; });
  await wsProvider.on("pending", (h) => { seen.pending.add(h); });
  const watched = await token.transfer(charleth.address, 7n);
  const watchedReceipt = await watched.wait();
  const until = async (what, ok) => {
    const end = Date.now() + 60_000;
    while (!ok()) {
      assert.ok(Date.now() < end, `timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  await until("contract.on over HTTP", () => seen.http === watched.hash);
  await until("contract.on over WebSocket (logs subscription)", () => seen.ws === watched.hash);
  await until("a newHeads notification", () => seen.head !== null && seen.head >= watchedReceipt.blockNumber);
  await until("a newPendingTransactions notification", () => seen.pending.has(watched.hash));
  const blockChanges = await provider.send("eth_getFilterChanges", [blockFilter]);
  assert.ok(blockChanges.includes(watchedReceipt.blockHash), "the block filter missed the block");
  const logChanges = await provider.send("eth_getFilterChanges", [logFilter]);
  assert.deepEqual(logChanges.map((l) => l.transactionHash), [watched.hash]);
  assert.deepEqual(await provider.send("eth_getFilterChanges", [logFilter]), [], "changes are reported once");
  const pendingChanges = await provider.send("eth_getFilterChanges", [pendingFilter]);
  assert.ok(pendingChanges.includes(watched.hash), "the pending filter missed the transaction");
  assert.ok(Array.isArray(await provider.send("eth_getFilterLogs", [logFilter])));
  for (const id of [logFilter, blockFilter, pendingFilter]) {
    assert.equal(await provider.send("eth_uninstallFilter", [id]), true);
    assert.equal(await provider.send("eth_uninstallFilter", [id]), false);
  }
  await rejects(provider, "eth_getFilterChanges", [logFilter], /filter not found/);
  await rejects(wsProvider, "eth_subscribe", ["bogus"], /unknown subscription/);
  await token.removeAllListeners();
  await tokenWs.removeAllListeners();
  await wsProvider.destroy();
  report.watching = { transfer: watched.hash, block: watchedReceipt.blockNumber };
  log("watching", report.watching);

  // Empty address and topic lists mean "any", as in geth.
  const anyLogs = await provider.send("eth_getLogs", [{
    address: [],
    topics: [[], [], [ethers.zeroPadValue(baltathar.address, 32)]],
    fromBlock: ethers.toQuantity(r.blockNumber),
    toBlock: ethers.toQuantity(r.blockNumber),
  }]);
  assert.deepEqual(anyLogs.map((l) => l.transactionHash), [tx.hash]);
  // By block hash and index, as by number.
  const byHash = await provider.send("eth_getTransactionByBlockHashAndIndex", [r.blockHash, ethers.toQuantity(r.index)]);
  assert.equal(byHash.hash, tx.hash);
  assert.equal(byHash.blockHash, r.blockHash);
  // Small methods tools call.
  assert.equal(await provider.send("web3_sha3", ["0x68656c6c6f20776f726c64"]), ethers.id("hello world"));
  assert.equal(await provider.getStorage(ethers.Wallet.createRandom().address, 0), ethers.ZeroHash);
  report.getProofError = await rejects(provider, "eth_getProof", [token.target, [ethers.ZeroHash], "latest"], /not supported/);
  const block = await provider.getBlock(r.blockNumber);
  assert.equal(block.hash, r.blockHash);
  assert.ok(block.transactions.includes(tx.hash));
  const fetched = await provider.getTransaction(tx.hash);
  assert.equal(fetched.from, alith.address);
  assert.equal(fetched.to, token.target);
  report.erc20 = {
    address: token.target,
    deployGasEstimate: deployGas.toString(),
    deployGasUsed: deployReceipt.gasUsed.toString(),
    transferGasEstimate: estimate.toString(),
    transferGasUsed: r.gasUsed.toString(),
    transferFee: (r.gasUsed * r.gasPrice).toString(),
    block: r.blockHash,
  };
  log("erc20 transfer", report.erc20);

  // A plain transfer: value arrives exactly; the sender pays value + gasUsed × price exactly.
  const value = 7n * OPEN;
  const [aBefore, bBefore] = [await provider.getBalance(alith.address), await provider.getBalance(baltathar.address)];
  const plainEstimate = await provider.estimateGas({ from: alith.address, to: baltathar.address, value });
  const ptx = await alith.sendTransaction({ to: baltathar.address, value });
  const pr = await ptx.wait();
  assert.equal(pr.status, 1);
  const [aAfter, bAfter] = [
    await provider.getBalance(alith.address, pr.blockNumber),
    await provider.getBalance(baltathar.address, pr.blockNumber),
  ];
  assert.equal(bAfter - bBefore, value);
  assert.equal(aBefore - aAfter, value + pr.gasUsed * pr.gasPrice);
  report.plainTransfer = {
    gasEstimate: plainEstimate.toString(),
    gasUsed: pr.gasUsed.toString(),
    fee: (pr.gasUsed * pr.gasPrice).toString(),
  };
  log("plain transfer", report.plainTransfer);

  // An EIP-1559 transaction signed offline by a dev key and sent raw.
  const feeData = await provider.getFeeData();
  const nonce = await provider.getTransactionCount(charleth.address, "pending");
  const raw1559 = await charleth.signTransaction({
    type: 2,
    chainId,
    nonce,
    to: dorothy.address,
    value: 12_345n,
    gasLimit: plainEstimate * 2n,
    maxFeePerGas: feeData.gasPrice * 2n,
    maxPriorityFeePerGas: 0n,
  });
  const h1559 = await provider.send("eth_sendRawTransaction", [raw1559]);
  assert.equal(h1559, ethers.keccak256(raw1559));
  const r1559 = await provider.waitForTransaction(h1559);
  assert.equal(r1559.status, 1);
  assert.equal(r1559.type, 2);
  report.eip1559 = { hash: h1559, block: r1559.blockHash };

  // Nonces: two transfers sent back to back without waiting, each signed with the nonce the
  // node reports as `pending`: the second must count the first, still in the pool, and both
  // land. `latest` is the nonce on chain, without the pool. (The nonce is asked with a raw call:
  // ethers' own `getTransactionCount` answers a repeated question from a 250 ms cache, so two
  // `sendTransaction`s within 250 ms reuse one nonce whatever the node says.)
  const pendingNonce = async (w) =>
    Number(await provider.send("eth_getTransactionCount", [w.address, "pending"]));
  const sendNow = async (w, value) => {
    const nonce = await pendingNonce(w);
    const signed = await w.signTransaction({
      type: 2, chainId, nonce, to: dorothy.address, value,
      gasLimit: plainEstimate * 2n, maxFeePerGas: feeData.gasPrice * 2n, maxPriorityFeePerGas: 0n,
    });
    return { nonce, hash: await provider.send("eth_sendRawTransaction", [signed]) };
  };
  const onChain = await provider.getTransactionCount(baltathar.address, "latest");
  const first = await sendNow(baltathar, 1n);
  const latestNow = Number(await provider.send("eth_getTransactionCount", [baltathar.address, "latest"]));
  const firstMined = (await provider.getTransactionReceipt(first.hash)) !== null;
  const second = await sendNow(baltathar, 2n);
  assert.equal(first.nonce, onChain);
  assert.equal(second.nonce, onChain + 1, "the pending nonce did not count a transaction in the pool");
  if (!firstMined) assert.equal(latestNow, onChain, "`latest` counted a transaction still in the pool");
  const [land1, land2] = await Promise.all([provider.waitForTransaction(first.hash), provider.waitForTransaction(second.hash)]);
  assert.equal(land1.status, 1);
  assert.equal(land2.status, 1);
  assert.equal(await provider.getTransactionCount(baltathar.address, "latest"), onChain + 2);
  report.backToBack = { nonces: [first.nonce, second.nonce], firstMinedBeforeLatest: firstMined };
  log("back-to-back", report.backToBack);

  // Fee history over several blocks (wallets and CLIs ask for it before sending).
  const feeHead = await provider.getBlockNumber();
  const history = await provider.send("eth_feeHistory", ["0x4", "latest", [25, 75]]);
  // Four blocks ending at the best one (a block may have come since feeHead).
  assert.ok(Number(BigInt(history.oldestBlock)) >= feeHead - 3, `oldest ${history.oldestBlock}`);
  assert.equal(history.baseFeePerGas.length, 5);
  assert.equal(history.gasUsedRatio.length, 4);
  assert.equal(history.reward.length, 4);
  assert.ok(history.reward.every((r) => r.length === 2));
  report.feeHistory = { blocks: history.gasUsedRatio.length, oldest: Number(BigInt(history.oldestBlock)) };

  // The Provena precompile, directly and from a contract.
  const model = BigInt(env("MODEL"));
  const datanet = BigInt(env("DATANET"));
  const contribution = BigInt(env("CONTRIBUTION"));
  const direct = new ethers.Contract(PRECOMPILE, compiled.iprovena.abi, provider);
  const clientFactory = new ethers.ContractFactory(compiled.client.abi, compiled.client.bytecode, alith);
  const client = await clientFactory.deploy({ value: 10n * OPEN });
  await client.waitForDeployment();
  const [exists, active, per1k] = await client.modelPrice(model);
  assert.deepEqual([exists, active, per1k], Array.from(await direct.modelPrice(model)));
  const dn = await client.datanetSummary(datanet);
  const dnDirect = await direct.datanet(datanet);
  assert.equal(dn[2], dnDirect.name);
  assert.equal(dn[3], dnDirect.acceptedCount);
  const ct = await client.contribution(contribution);
  assert.deepEqual(Array.from(ct), Array.from(await direct.contributionStatus(contribution)));
  const unknown = await client.modelPrice(999_999n);
  assert.deepEqual(Array.from(unknown), [false, false, 0n]);
  const quote = await client.quote(model, 1000n);
  assert.equal(quote, per1k);
  report.precompile = {
    model: { exists, active, pricePer1kTokens: per1k.toString() },
    datanet: { exists: dn[0], owner: dn[1], name: dn[2], accepted: Number(dn[3]), stake: dn[4].toString() },
    contribution: { status: Number(ct[0]), quality: Number(ct[1]), datanet: Number(ct[2]), contributor: ct[3] },
  };

  // Paying for inference from the contract: it prepays a voucher out of its own balance.
  const requestId = ethers.id("provena evm test request");
  const operator = env("OPERATOR");
  const head = await provider.getBlockNumber();
  const expiresAt = head + 500; // a voucher lives at most an hour (600 blocks)
  const maxFee = 2n * OPEN;
  const refusal = await client.tryPay.staticCall(requestId, model, maxFee, ethers.zeroPadValue(baltathar.address, 32), expiresAt);
  assert.equal(refusal, "Provena: NotOperator");
  const before = await provider.getBalance(client.target);
  const pay = await client.payForInference(requestId, model, maxFee, operator, expiresAt);
  const payReceipt = await pay.wait();
  assert.equal(payReceipt.status, 1);
  const paid = client.interface.parseLog(payReceipt.logs.at(-1));
  assert.equal(paid.name, "InferencePaid");
  const held = await client.prepaid(requestId);
  assert.deepEqual(Array.from(held), [true, model, maxFee, BigInt(expiresAt)]);
  assert.equal(before - (await provider.getBalance(client.target)), maxFee, "the max fee is held");
  // Paying twice for one request is refused, and nothing more is held.
  await assert.rejects(client.payForInference.estimateGas(requestId, model, maxFee, operator, expiresAt));
  report.voucher = {
    contract: client.target,
    requestId,
    maxFee: maxFee.toString(),
    expiresAt,
    contractBalance: (await provider.getBalance(client.target)).toString(),
  };

  // EVM → native: Ethan pays Bob's mapped address; Bob's native balance must grow by it.
  const bobAddress = ethers.getAddress(ethers.dataSlice(ethers.keccak256(env("BOB_ACCOUNT")), 12));
  const toBob = 3n * OPEN + 17n;
  const bobTx = await ethan.sendTransaction({ to: bobAddress, value: toBob });
  const bobReceipt = await bobTx.wait();
  assert.equal(bobReceipt.status, 1);
  report.toBob = { address: bobAddress, value: toBob.toString(), block: bobReceipt.blockHash };

  // Bad input: each is a JSON-RPC error, nothing is charged, blocks keep coming.
  const alithBefore = await provider.getBalance(alith.address);
  const startBlock = await provider.getBlockNumber();
  const good = {
    type: 2,
    to: baltathar.address,
    value: 1n,
    gasLimit: plainEstimate * 2n,
    maxFeePerGas: feeData.gasPrice * 2n,
    maxPriorityFeePerGas: 0n,
  };
  const alithNonce = await provider.getTransactionCount(alith.address, "pending");
  const bad = {};
  bad.wrongChainId = await rejects(
    provider,
    "eth_sendRawTransaction",
    [await alith.signTransaction({ ...good, chainId: 1n, nonce: alithNonce })],
    /chain id/,
  );
  const valid = ethers.Transaction.from(await alith.signTransaction({ ...good, chainId, nonce: alithNonce }));
  const unsigned = ethers.getBytes(valid.unsignedSerialized);
  const fields = ethers.decodeRlp(ethers.hexlify(unsigned.slice(1)));
  const zeroSig = ethers.concat(["0x02", ethers.encodeRlp([...fields, "0x", "0x", "0x"])]);
  bad.badSignature = await rejects(provider, "eth_sendRawTransaction", [zeroSig], /signature/);
  const flipped = ethers.getBytes(valid.serialized);
  flipped[flipped.length - 1] ^= 0x01;
  bad.tamperedSignature = await rejects(
    provider,
    "eth_sendRawTransaction",
    [ethers.hexlify(flipped)],
    /signature|insufficient funds|nonce/,
  );
  bad.nonceTooLow = await rejects(
    provider,
    "eth_sendRawTransaction",
    [await alith.signTransaction({ ...good, chainId, nonce: 0 })],
    /nonce too low/,
  );
  const pauper = ethers.Wallet.createRandom();
  bad.insufficientFunds = await rejects(
    provider,
    "eth_sendRawTransaction",
    [await pauper.signTransaction({ ...good, chainId, nonce: 0, value: OPEN })],
    /insufficient funds/i,
  );
  bad.invalidBytecode = await rejects(
    provider,
    "eth_sendRawTransaction",
    [await alith.signTransaction({ ...good, to: null, value: 0n, data: "0xfe", chainId, nonce: alithNonce })],
    /./,
  );
  bad.invalidBytecodeEstimate = await rejects(
    provider,
    "eth_estimateGas",
    [{ from: alith.address, data: "0xfe" }],
    /./,
  );
  bad.malformed = await rejects(provider, "eth_sendRawTransaction", ["0xdeadbeef"], /invalid transaction/);
  bad.unknownBlock = await rejects(provider, "eth_getBalance", [alith.address, "0xffffff"], /unknown block/);
  // Blocks keep coming and nothing was charged.
  const deadline = Date.now() + 60_000;
  while ((await provider.getBlockNumber()) < startBlock + 2) {
    assert.ok(Date.now() < deadline, "no new blocks after the bad transactions");
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(await provider.getBalance(alith.address), alithBefore, "a refused transaction cost something");
  assert.equal(await provider.getTransactionCount(alith.address, "latest"), alithNonce);
  report.badInput = bad;
  log("bad input", bad);

  // A flood of the heaviest log queries (every block, no filter) from 16 clients at once for
  // 20 seconds: they run on the blocking pool, so blocks keep coming.
  const floodStart = await provider.getBlockNumber();
  const floodEnd = Date.now() + 20_000;
  let floodCalls = 0;
  const flooder = async () => {
    while (Date.now() < floodEnd) {
      await provider.send("eth_getLogs", [{ fromBlock: "0x0", toBlock: "latest" }]);
      floodCalls += 1;
    }
  };
  await Promise.all(Array.from({ length: 16 }, flooder));
  const floodBlocks = (await provider.getBlockNumber()) - floodStart;
  assert.ok(floodBlocks >= 2, `only ${floodBlocks} blocks in 20 s under ${floodCalls} eth_getLogs calls`);
  report.flood = { calls: floodCalls, blocks: floodBlocks };
  log("eth_getLogs flood", report.flood);

  console.log(JSON.stringify(report));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
