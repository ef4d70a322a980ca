// What the EVM tests share: the well-known dev keys and the contracts compiled offline by solc-js.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";

const here = path.dirname(fileURLToPath(import.meta.url));

// The well-known development keys (funded in the `development` preset; see the README).
export const KEYS = {
  alith: "0x5fb92d6e98884f76de468fa3f6278f8807c48bebc13595d45af5bdc4da702133",
  baltathar: "0x8075991ce870b93a8870eca0c0f91913d12f47948ca0fd25b49c6fa7cdbeee8b",
  charleth: "0x0b6e18cafb6ed99687ec547bd28139cafdd2bffe70e6b688025de6b445aa5c5b",
  dorothy: "0x39539ab1876910bbf3a223d84a29e28f1cb4e2e456503e7e91ed39b2e7223d68",
  ethan: "0x7dce9bc8babb68fec1409be38c8e1a52650206a7ed90ff956ae8a6d15eeaaef4",
};
export const ADDRESSES = {
  alith: "0xf24FF3a9CF04c71Dbc94D0b566f7A27B94566cac",
  baltathar: "0x3Cd0A705a2DC65e5b1E1205896BaA2be8A07c6e0",
  charleth: "0x798d4Ba9baf0064Ec19eB4F0a1a45785ae9D6DFc",
  dorothy: "0x773539d4Ac0e786233D90A233654ccEE26a613D9",
  ethan: "0xFf64d3F6efE2317EE2807d223a0Bdc4c0c49dfDB",
};

// The test contracts and the precompiles' interfaces, compiled (ABI and creation bytecode).
export function compile() {
  const read = (p) => ({ content: fs.readFileSync(p, "utf8") });
  const input = {
    language: "Solidity",
    sources: {
      "OpenToken.sol": read(path.join(here, "contracts/OpenToken.sol")),
      "InferenceClient.sol": read(path.join(here, "contracts/InferenceClient.sol")),
      "IProvena.sol": read(path.join(here, "../../../runtime/src/precompiles/IProvena.sol")),
      "IGovernance.sol": read(path.join(here, "../../../runtime/src/precompiles/IGovernance.sol")),
      "IAgents.sol": read(path.join(here, "../../../runtime/src/precompiles/IAgents.sol")),
    },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "cancun",
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
    },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (out.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join("\n"));
  const get = (file, name) => ({
    abi: out.contracts[file][name].abi,
    bytecode: "0x" + out.contracts[file][name].evm.bytecode.object,
  });
  return {
    token: get("OpenToken.sol", "OpenToken"),
    client: get("InferenceClient.sol", "InferenceClient"),
    iprovena: get("IProvena.sol", "IProvena"),
    igovernance: get("IGovernance.sol", "IGovernance"),
    iagents: get("IAgents.sol", "IAgents"),
  };
}

