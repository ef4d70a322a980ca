// ProvenaBridge against a real anvil node: settlement with committee signatures, claims with
// Merkle proofs, burns, attribution roots, rotations, the pause, and every refusal leaving
// balances and state as they were. Run with `npm test` (in CI: `.ci/run`).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ethers } from "ethers";
import {
  ANVIL_KEYS,
  attributionLeaf,
  compile,
  deploy,
  merkleTree,
  rootDigest,
  rotationDigest,
  sign,
  startAnvil,
  transferLeaf,
} from "../lib.mjs";

const PROVENA_CHAIN_ID = 4_200_420n;
const OPEN = 10n ** 18n;
const MIN_BURN = OPEN;
// Committee keys: any secp256k1 keys (they never send Ethereum transactions).
const MEMBER_KEYS = [1, 2, 3, 4, 5, 6].map((i) => ethers.zeroPadValue(ethers.toBeHex(0x1000 + i), 32));
const member = (i) => ethers.computeAddress(MEMBER_KEYS[i]);

let anvil, artifacts, deployer, guardian, alice;

before(async () => {
  artifacts = compile();
  anvil = await startAnvil();
  // Plain wallets: each transaction is mined before the next is sent (anvil mines one block
  // per transaction), so the pending nonce is always right, also after a refused call.
  deployer = new ethers.Wallet(ANVIL_KEYS[0], anvil.provider);
  guardian = new ethers.Wallet(ANVIL_KEYS[1], anvil.provider);
  alice = new ethers.Wallet(ANVIL_KEYS[2], anvil.provider);
});

after(() => anvil?.stop());

/** A fresh deployment with committee 0 = members 0..2, threshold 2. */
async function fresh() {
  const members = [member(0), member(1), member(2)];
  const { bridge, token } = await deploy(artifacts, deployer, {
    provenaChainId: PROVENA_CHAIN_ID,
    minBurn: MIN_BURN,
    guardian: await guardian.getAddress(),
    committeeId: 0,
    members,
    threshold: 2,
  });
  const domain = { provenaChainId: PROVENA_CHAIN_ID, ethChainId: 31337n, contract: await bridge.getAddress() };
  return { bridge, token, domain };
}

/** Signs `digest` with members `who`. */
const sigs = (who, digest) => who.map((i) => sign(MEMBER_KEYS[i], digest));

/** Reverts with custom error `name` (and nothing changes: a reverted transaction). */
async function refused(promise, bridge, name) {
  await assert.rejects(promise, (e) => {
    const decoded = e.data ? bridge.interface.parseError(e.data) : null;
    assert.equal(decoded?.name ?? e.shortMessage, name, `expected ${name}, got ${e.shortMessage}`);
    return true;
  });
}

/** Everything a refusal must leave as it was. */
async function snapshot(bridge, token) {
  return {
    supply: await token.totalSupply(),
    alice: await token.balanceOf(await alice.getAddress()),
    burnNonce: await bridge.nextBurnNonce(),
    committee: await bridge.committeeId(),
  };
}

/** An epoch with transfers to alice (nonces from `first`) and one attribution root. */
async function epochWith(first, amounts, attribution) {
  const to = await alice.getAddress();
  const leaves = amounts.map((a, i) => transferLeaf(first + BigInt(i), to, a));
  if (attribution) leaves.push(attributionLeaf(attribution.epoch, attribution.root, attribution.receipts));
  return { leaves, tree: merkleTree(leaves), to };
}

describe("ProvenaBridge", () => {
  it("pins the same Merkle roots as provena_primitives::merkle", () => {
    // The vectors of `roots_match_the_ethereum_side` in primitives/src/merkle.rs.
    const expected = {
      1: "0x99ff0d9125e1fc9531a11262e15aeb2c60509a078c4cc4c64cefdfb06ff68647",
      2: "0xfc48644f7203cb99e79dc6d3299d229e15684355981f9dd4fae33dd1addf9949",
      3: "0xdb753c0105585b799a7856f0e6c06f4c6480b6fcce8e21787185743152001dcf",
      5: "0x2a732505867901f0d8ce7cb69dc072f2557acab24d48ece556f307059c282139",
      7: "0xe2c82c3b17fcd503d7c00a74430de4de2d605300f71d0533bf83069e09358265",
    };
    for (const [n, root] of Object.entries(expected)) {
      const leaves = Array.from({ length: Number(n) }, (_, i) => ethers.hexlify(new Uint8Array([i, i, i])));
      assert.equal(merkleTree(leaves).root, root, `${n} leaves`);
    }
  });

  it("verifies every leaf of every small tree and nothing else", async () => {
    const { bridge } = await fresh();
    for (let n = 1; n <= 9; n++) {
      const leaves = Array.from({ length: n }, (_, i) => ethers.hexlify(new Uint8Array([7, i])));
      const t = merkleTree(leaves);
      for (let i = 0; i < n; i++) {
        const h = ethers.keccak256(leaves[i]);
        assert.equal(await bridge.verify(t.root, h, t.proof(i), i, n), true, `n=${n} i=${i}`);
        assert.equal(await bridge.verify(t.root, h, t.proof(i), (i + 1) % n, n), n === 1, `moved n=${n} i=${i}`);
        assert.equal(await bridge.verify(t.root, h, [...t.proof(i), ethers.ZeroHash], i, n), false);
        assert.equal(await bridge.verify(t.root, h, t.proof(i), i + n, n), false);
      }
    }
  });

  it("settles a root, claims with proofs once, burns back, settles attribution", async () => {
    const { bridge, token, domain } = await fresh();
    const receipts = merkleTree([ethers.id("receipt 0"), ethers.id("receipt 1"), ethers.id("receipt 2")]);
    const attribution = { epoch: 3n, root: receipts.root, receipts: 3 };
    const { leaves, tree, to } = await epochWith(0n, [5n * OPEN, 7n * OPEN], attribution);
    // Two of three members; a non-member's and a repeated signature are not counted.
    const digest = rootDigest(domain, 0, 0, tree.root);
    await (await bridge.submitRoot(0, tree.root, 0, [sign(MEMBER_KEYS[5], digest), ...sigs([0, 0, 2], digest)])).wait();
    assert.equal(await bridge.epochRoots(0), tree.root);

    for (const [i, amount] of [5n * OPEN, 7n * OPEN].entries()) {
      await (await bridge.connect(deployer).claim(0, i, to, amount, tree.proof(i), i, leaves.length)).wait();
    }
    assert.equal(await token.balanceOf(to), 12n * OPEN);
    assert.equal(await token.totalSupply(), 12n * OPEN);
    // A claim replayed, in the same epoch or with another's proof, moves nothing.
    const before = await snapshot(bridge, token);
    await refused(bridge.claim(0, 0, to, 5n * OPEN, tree.proof(0), 0, leaves.length), bridge, "AlreadyClaimed");
    await refused(bridge.claim(0, 9, to, 5n * OPEN, tree.proof(0), 0, leaves.length), bridge, "InvalidProof");
    await refused(bridge.claim(1, 9, to, 5n * OPEN, tree.proof(0), 0, leaves.length), bridge, "UnknownEpoch");
    // The same root again.
    await refused(bridge.submitRoot(0, tree.root, 0, sigs([0, 1], digest)), bridge, "AlreadySubmitted");
    assert.deepEqual(await snapshot(bridge, token), before);

    // The attribution epoch, proven from the bridge epoch; then a receipt against it.
    const ai = leaves.length - 1;
    await (await bridge.settleAttribution(0, 3, receipts.root, 3, tree.proof(ai), ai, leaves.length)).wait();
    assert.equal(await bridge.attributionRoots(3), receipts.root);
    assert.equal(await bridge.attributionReceipts(3), 3n);
    for (let i = 0; i < 3; i++) {
      const leafHash = ethers.id(`receipt ${i}`);
      assert.equal(await bridge.verifyReceipt(3, leafHash, receipts.proof(i), i, 3), true);
      assert.equal(await bridge.verifyReceipt(4, leafHash, receipts.proof(i), i, 3), false);
    }
    assert.equal(await bridge.verifyReceipt(3, ethers.id("receipt 9"), receipts.proof(0), 0, 3), false);
    await refused(bridge.settleAttribution(0, 3, receipts.root, 3, tree.proof(ai), ai, leaves.length), bridge, "AlreadySettled");
    await refused(bridge.settleAttribution(0, 4, receipts.root, 3, tree.proof(ai), ai, leaves.length), bridge, "InvalidProof");

    // Burning back: nonces in order, at least the minimum, only one's own tokens.
    const recipient = ethers.id("a Provena account");
    const tx = await bridge.connect(alice).burn(recipient, 2n * OPEN);
    const log = (await tx.wait()).logs.map((l) => bridge.interface.parseLog(l)).find((l) => l?.name === "Burned");
    assert.deepEqual([log.args.nonce, log.args.sender, log.args.recipient, log.args.amount], [0n, to, recipient, 2n * OPEN]);
    await (await bridge.connect(alice).burn(recipient, OPEN)).wait();
    assert.equal(await bridge.nextBurnNonce(), 2n);
    assert.equal(await token.totalSupply(), 9n * OPEN);
    const b = await snapshot(bridge, token);
    await refused(bridge.connect(alice).burn(recipient, OPEN - 1n), bridge, "BelowMinimum");
    await assert.rejects(bridge.connect(alice).burn(recipient, 100n * OPEN)); // more than alice holds
    await assert.rejects(token.connect(alice).burn(to, OPEN)); // only the bridge burns
    await assert.rejects(token.connect(alice).mint(to, OPEN)); // only the bridge mints
    assert.deepEqual(await snapshot(bridge, token), b);
  });

  it("refuses M-1 signatures, forgeries and signatures for another chain, contract or purpose", async () => {
    const { bridge, token, domain } = await fresh();
    const { tree } = await epochWith(0n, [OPEN], null);
    const good = rootDigest(domain, 0, 0, tree.root);
    const before = await snapshot(bridge, token);
    const cases = [
      ["M-1 signatures", sigs([1], good)],
      ["one member twice", sigs([1, 1], good)],
      ["non-members", sigs([3, 4], good)],
      ["another Provena chain", sigs([0, 1], rootDigest({ ...domain, provenaChainId: 1n }, 0, 0, tree.root))],
      ["another Ethereum chain", sigs([0, 1], rootDigest({ ...domain, ethChainId: 1n }, 0, 0, tree.root))],
      ["another contract", sigs([0, 1], rootDigest({ ...domain, contract: member(5) }, 0, 0, tree.root))],
      ["another epoch", sigs([0, 1], rootDigest(domain, 0, 1, tree.root))],
      ["another root", sigs([0, 1], rootDigest(domain, 0, 0, ethers.id("x")))],
      ["a rotation digest", sigs([0, 1], rotationDigest(domain, 0, 1, 1, [member(0)]))],
    ];
    for (const [what, s] of cases) {
      await refused(bridge.submitRoot(0, tree.root, 0, s), bridge, "NotEnoughSignatures").catch((e) => {
        throw new Error(`${what}: ${e.message}`);
      });
    }
    // A forged signature: a member's, with one byte changed.
    const forged = sigs([0, 1], good);
    forged[1] = forged[1].slice(0, 10) + (forged[1][10] === "0" ? "1" : "0") + forged[1].slice(11);
    await refused(bridge.submitRoot(0, tree.root, 0, forged), bridge, "NotEnoughSignatures");
    // The malleable twin of a valid signature (high s) is not counted either.
    const sig = ethers.Signature.from(sigs([0], good)[0]);
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const twin = ethers.concat([sig.r, ethers.toBeHex(n - BigInt(sig.s), 32), sig.v === 27 ? "0x1c" : "0x1b"]);
    await refused(bridge.submitRoot(0, tree.root, 0, [twin, sigs([0], good)[0]]), bridge, "NotEnoughSignatures");
    await refused(bridge.submitRoot(0, ethers.ZeroHash, 0, sigs([0, 1], rootDigest(domain, 0, 0, ethers.ZeroHash))), bridge, "ZeroRoot");
    assert.equal(await bridge.epochRoots(0), ethers.ZeroHash);
    assert.deepEqual(await snapshot(bridge, token), before);
  });

  it("follows a rotation signed by the old committee and refuses the rotated-out one", async () => {
    const { bridge, token, domain } = await fresh();
    const next = [member(3), member(4), member(5)];
    const digest = rotationDigest(domain, 0, 1, 2, next);
    const before = await snapshot(bridge, token);
    // Signed by the incoming committee, by too few, for another id, or another member list.
    await refused(bridge.rotate(1, next, 2, sigs([3, 4], digest)), bridge, "NotEnoughSignatures");
    await refused(bridge.rotate(1, next, 2, sigs([0], digest)), bridge, "NotEnoughSignatures");
    await refused(bridge.rotate(2, next, 2, sigs([0, 1], rotationDigest(domain, 0, 2, 2, next))), bridge, "UnexpectedCommittee");
    await refused(bridge.rotate(1, [...next, member(0)], 2, sigs([0, 1], digest)), bridge, "NotEnoughSignatures");
    // A committee without a majority threshold, or with a member twice, is refused even if signed.
    const weak = rotationDigest(domain, 0, 1, 1, next);
    await refused(bridge.rotate(1, next, 1, sigs([0, 1], weak)), bridge, "BadCommittee");
    const twice = [member(3), member(3), member(4)];
    await refused(bridge.rotate(1, twice, 2, sigs([0, 1], rotationDigest(domain, 0, 1, 2, twice))), bridge, "BadCommittee");
    assert.deepEqual(await snapshot(bridge, token), before);

    await (await bridge.rotate(1, next, 2, sigs([0, 2], digest))).wait();
    assert.equal(await bridge.committeeId(), 1n);
    assert.deepEqual([...(await bridge.committee())], next);
    // Replaying the rotation does nothing.
    await refused(bridge.rotate(1, next, 2, sigs([0, 2], digest)), bridge, "UnexpectedCommittee");

    const { tree } = await epochWith(0n, [OPEN], null);
    // The old committee, under its own id or the new one, no longer settles anything.
    await refused(bridge.submitRoot(0, tree.root, 0, sigs([0, 1], rootDigest(domain, 0, 0, tree.root))), bridge, "RotatedOut");
    await refused(bridge.submitRoot(0, tree.root, 1, sigs([0, 1, 2], rootDigest(domain, 1, 0, tree.root))), bridge, "NotEnoughSignatures");
    await (await bridge.submitRoot(0, tree.root, 1, sigs([4, 5], rootDigest(domain, 1, 0, tree.root)))).wait();
    assert.equal(await bridge.epochRoots(0), tree.root);
  });

  it("refuses everything but views and rotations while paused, by the guardian only", async () => {
    const { bridge, token, domain } = await fresh();
    const { leaves, tree, to } = await epochWith(0n, [3n * OPEN, 3n * OPEN], null);
    await (await bridge.submitRoot(0, tree.root, 0, sigs([0, 1], rootDigest(domain, 0, 0, tree.root)))).wait();
    await (await bridge.claim(0, 0, to, 3n * OPEN, tree.proof(0), 0, leaves.length)).wait();

    await refused(bridge.connect(alice).setPaused(true), bridge, "OnlyGuardian");
    await (await bridge.connect(guardian).setPaused(true)).wait();
    const before = await snapshot(bridge, token);
    const { tree: t2 } = await epochWith(2n, [OPEN], null);
    await refused(bridge.submitRoot(1, t2.root, 0, sigs([0, 1], rootDigest(domain, 0, 1, t2.root))), bridge, "Paused");
    await refused(bridge.claim(0, 1, to, 3n * OPEN, tree.proof(1), 1, leaves.length), bridge, "Paused");
    await refused(bridge.connect(alice).burn(ethers.id("x"), OPEN), bridge, "Paused");
    await refused(bridge.settleAttribution(0, 0, ethers.id("r"), 1, [], 0, 1), bridge, "Paused");
    assert.deepEqual(await snapshot(bridge, token), before);
    assert.equal(await bridge.verify(tree.root, ethers.keccak256(leaves[1]), tree.proof(1), 1, 2), true);

    await (await bridge.connect(guardian).setPaused(false)).wait();
    await (await bridge.claim(0, 1, to, 3n * OPEN, tree.proof(1), 1, leaves.length)).wait();
    assert.equal(await token.balanceOf(to), 6n * OPEN);
  });
});
