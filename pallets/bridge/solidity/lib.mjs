// The bridge contracts' tooling, shared by their tests and the node's bridge test: compiling with
// solc-js (offline, OpenZeppelin from node_modules), a real anvil node, deployment, committee
// signatures and the Merkle tree of `provena_primitives::merkle`.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";
import { ethers } from "ethers";

const here = path.dirname(fileURLToPath(import.meta.url));

/** Compiles the contracts; returns { ProvenaBridge, WrappedOpen } with abi and bytecode. */
export function compile() {
  const sources = {};
  for (const name of ["ProvenaBridge.sol", "WrappedOpen.sol"]) {
    sources[`contracts/${name}`] = { content: readFileSync(path.join(here, "contracts", name), "utf8") };
  }
  const input = {
    language: "Solidity",
    sources,
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "cancun",
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
    },
  };
  const findImports = (p) => {
    const base = p.startsWith("contracts/") ? here : path.join(here, "node_modules");
    try {
      return { contents: readFileSync(path.join(base, p), "utf8") };
    } catch (e) {
      return { error: `not found: ${p}` };
    }
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (out.errors || []).filter((e) => e.severity === "error");
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join("\n"));
  const pick = (file, name) => {
    const c = out.contracts[file][name];
    return { abi: c.abi, bytecode: "0x" + c.evm.bytecode.object };
  };
  return {
    ProvenaBridge: pick("contracts/ProvenaBridge.sol", "ProvenaBridge"),
    WrappedOpen: pick("contracts/WrappedOpen.sol", "WrappedOpen"),
  };
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/**
 * Starts a real anvil node (npm `@foundry-rs/anvil`) on a free port, mining a block per
 * transaction. Returns { url, port, provider, stop }.
 */
export async function startAnvil({ chainId = 31337 } = {}) {
  const port = await freePort();
  // The platform package's binary itself (the package's `bin.mjs` is a node wrapper that
  // would outlive a kill).
  const arch = { x64: "amd64", arm64: "arm64" }[process.arch] ?? process.arch;
  const bin = path.join(here, "node_modules", "@foundry-rs", `anvil-${process.platform}-${arch}`, "bin", "anvil");
  const child = spawn(bin, ["--port", String(port), "--chain-id", String(chainId), "--silent"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const url = `http://127.0.0.1:${port}`;
  const provider = new ethers.JsonRpcProvider(url, chainId, { staticNetwork: true, cacheTimeout: -1 });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await provider.getBlockNumber();
      break;
    } catch (e) {
      if (child.exitCode !== null) throw new Error(`anvil exited: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`anvil did not answer on ${url}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const stop = () => {
    provider.destroy();
    child.kill("SIGKILL");
  };
  return { url, port, provider, stop };
}

/** Anvil's well-known funded development keys (mnemonic "test test … junk"). */
export const ANVIL_KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f78f6aafad3ad4de3f4b9ff5a84ec3b9e8",
];

/** Deploys ProvenaBridge (which deploys wrapped OPEN); returns { bridge, token }. */
export async function deploy(artifacts, signer, { provenaChainId, minBurn, guardian, committeeId, members, threshold }) {
  const factory = new ethers.ContractFactory(artifacts.ProvenaBridge.abi, artifacts.ProvenaBridge.bytecode, signer);
  const bridge = await factory.deploy(provenaChainId, minBurn, guardian, committeeId, members, threshold);
  await bridge.waitForDeployment();
  const token = new ethers.Contract(await bridge.token(), artifacts.WrappedOpen.abi, signer);
  return { bridge, token };
}

/** A committee member's signature over a raw 32-byte digest: r ‖ s ‖ v (v 27/28). */
export function sign(key, digest) {
  return new ethers.SigningKey(key).sign(digest).serialized;
}

/** The root digest as `pallet_bridge::message::Domain::root_digest` builds it. */
export function rootDigest({ provenaChainId, ethChainId, contract }, committee, epoch, root) {
  return ethers.solidityPackedKeccak256(
    ["string", "uint64", "uint64", "address", "uint32", "uint64", "bytes32"],
    ["provena-bridge/root", provenaChainId, ethChainId, contract, committee, epoch, root],
  );
}

/** The rotation digest as `pallet_bridge::message::Domain::rotation_digest` builds it. */
export function rotationDigest({ provenaChainId, ethChainId, contract }, oldId, newId, threshold, members) {
  return ethers.solidityPackedKeccak256(
    ["string", "uint64", "uint64", "address", "uint32", "uint32", "uint32", "address[]"],
    ["provena-bridge/rotate", provenaChainId, ethChainId, contract, oldId, newId, threshold, members],
  );
}

/** A transfer-out leaf: `uint8(1) ‖ uint64 nonce ‖ address ‖ uint256 amount`. */
export function transferLeaf(nonce, recipient, amount) {
  return ethers.solidityPacked(["uint8", "uint64", "address", "uint256"], [1, nonce, recipient, amount]);
}

/** A settled attribution epoch leaf: `uint8(2) ‖ uint64 epoch ‖ bytes32 root ‖ uint32 receipts`. */
export function attributionLeaf(epoch, root, receipts) {
  return ethers.solidityPacked(["uint8", "uint64", "bytes32", "uint32"], [2, epoch, root, receipts]);
}

/**
 * The tree of `provena_primitives::merkle` over `leaves` (hex byte strings): { root, proof(i) }.
 * Leaves are hashed; pairs hashed in order; an odd level's last node is promoted.
 */
export function merkleTree(leaves) {
  const levels = [leaves.map((l) => ethers.keccak256(l))];
  while (levels[levels.length - 1].length > 1) {
    const row = levels[levels.length - 1];
    const next = [];
    for (let i = 0; i < row.length; i += 2) {
      next.push(i + 1 < row.length ? ethers.keccak256(ethers.concat([row[i], row[i + 1]])) : row[i]);
    }
    levels.push(next);
  }
  const top = levels[levels.length - 1];
  const root = top.length ? top[0] : ethers.ZeroHash;
  const proof = (index) => {
    const siblings = [];
    let pos = index;
    for (let l = 0; l < levels.length - 1; l++) {
      const row = levels[l];
      const sib = pos % 2 === 1 ? pos - 1 : pos + 1;
      if (sib < row.length) siblings.push(row[sib]);
      pos = Math.floor(pos / 2);
    }
    return siblings;
  };
  return { root, proof };
}
