// Compiles and deploys ProvenaBridge (and its wrapped OPEN) to an Ethereum node; used by the
// node's bridge test and by operators. Arguments come from the environment:
//   ETH_RPC (URL), DEPLOYER_KEY (hex), PROVENA_CHAIN_ID, MIN_BURN (base units), GUARDIAN (address),
//   COMMITTEE_ID, MEMBERS (comma-separated addresses), THRESHOLD.
// Prints one JSON line: { "bridge": address, "token": address, "block": number }.
import { ethers } from "ethers";
import { compile, deploy } from "./lib.mjs";

const env = (k) => {
  const v = process.env[k];
  if (v === undefined || v === "") throw new Error(`${k} is not set`);
  return v;
};
const provider = new ethers.JsonRpcProvider(env("ETH_RPC"));
const signer = new ethers.Wallet(env("DEPLOYER_KEY"), provider);
const { bridge, token } = await deploy(compile(), signer, {
  provenaChainId: BigInt(env("PROVENA_CHAIN_ID")),
  minBurn: BigInt(env("MIN_BURN")),
  guardian: env("GUARDIAN"),
  committeeId: Number(env("COMMITTEE_ID")),
  members: env("MEMBERS").split(","),
  threshold: Number(env("THRESHOLD")),
});
const receipt = await bridge.deploymentTransaction().wait();
console.log(JSON.stringify({ bridge: await bridge.getAddress(), token: await token.getAddress(), block: receipt.blockNumber }));
provider.destroy();
