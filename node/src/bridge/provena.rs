//! The relayer's Provena side: the bridge's runtime API at finalized blocks and signed
//! transactions, over a node's JSON-RPC (WebSocket).

use super::Error;
use codec::{Decode, Encode};
use jsonrpsee::{
    core::client::ClientT,
    rpc_params,
    ws_client::{WsClient, WsClientBuilder},
};
use polkadot_sdk::{
    sp_core::{sr25519, Pair, H256},
    sp_runtime::generic::Era,
};
use provena_primitives::{
    bridge::{BridgeEpoch, BridgeRotation, BridgeStatus},
    merkle::MerkleProof,
    AccountId, Balance,
};
use provena_runtime::{
    client::{sign, SigningContext},
    RuntimeCall,
};
use serde_json::Value;
use std::time::Duration;

/// A Provena node and the account that pays the relayer's transactions.
pub struct Provena {
    client: WsClient,
    key: sr25519::Pair,
}

fn h256(v: &Value) -> Result<H256, Error> {
    serde_json::from_value(v.clone()).map_err(|e| Error::Provena(format!("not a hash: {v}: {e}")))
}

impl Provena {
    pub async fn connect(url: &str, key: sr25519::Pair) -> Result<Self, Error> {
        let client = WsClientBuilder::default()
            .request_timeout(Duration::from_secs(60))
            .build(url)
            .await
            .map_err(|e| Error::Provena(format!("cannot connect to {url}: {e}")))?;
        Ok(Self { client, key })
    }

    /// The account paying the relayer's transactions.
    pub fn account(&self) -> AccountId {
        self.key.public().into()
    }

    /// The latest finalized block.
    pub async fn finalized(&self) -> Result<H256, Error> {
        let head: Value = self.client.request("chain_getFinalizedHead", rpc_params![]).await?;
        h256(&head)
    }

    /// Calls `BridgeApi_<method>` with `args` at block `at`.
    async fn api<R: Decode>(&self, method: &str, args: impl Encode, at: H256) -> Result<R, Error> {
        let data = format!("0x{}", hex::encode(args.encode()));
        let out: String = self
            .client
            .request("state_call", rpc_params![format!("BridgeApi_{method}"), data, at])
            .await?;
        let bytes = hex::decode(out.trim_start_matches("0x"))
            .map_err(|e| Error::Provena(format!("BridgeApi_{method}: bad hex: {e}")))?;
        R::decode(&mut &bytes[..])
            .map_err(|e| Error::Provena(format!("BridgeApi_{method}: cannot decode: {e}")))
    }

    pub async fn status(&self, at: H256) -> Result<BridgeStatus<Balance>, Error> {
        self.api("status", (), at).await
    }

    pub async fn epoch(&self, epoch: u64, at: H256) -> Result<Option<BridgeEpoch>, Error> {
        self.api("epoch", epoch, at).await
    }

    pub async fn transfer_proof(
        &self,
        nonce: u64,
        at: H256,
    ) -> Result<Option<(u64, MerkleProof)>, Error> {
        self.api("transfer_proof", nonce, at).await
    }

    pub async fn attribution_proof(
        &self,
        epoch: u64,
        at: H256,
    ) -> Result<Option<(u64, MerkleProof)>, Error> {
        self.api("attribution_proof", epoch, at).await
    }

    pub async fn rotation(&self, to: u32, at: H256) -> Result<Option<BridgeRotation>, Error> {
        self.api("rotation", to, at).await
    }

    pub async fn inbound_digest(
        &self,
        nonce: u64,
        recipient: &AccountId,
        amount: Balance,
        at: H256,
    ) -> Result<Option<H256>, Error> {
        self.api("inbound_digest", (nonce, recipient, amount), at).await
    }

    pub async fn approvals(
        &self,
        nonce: u64,
        at: H256,
    ) -> Result<Vec<(H256, Vec<polkadot_sdk::sp_core::H160>)>, Error> {
        self.api("approvals", nonce, at).await
    }

    /// Signs `call` with the next nonce (the pool's pending ones counted) and submits it; the
    /// relayer sees its effect once finalized. Returns the extrinsic's hash.
    pub async fn submit(&self, call: RuntimeCall) -> Result<H256, Error> {
        let who = self.account();
        let nonce: u32 =
            self.client.request("system_accountNextIndex", rpc_params![who.to_string()]).await?;
        let version: Value = self.client.request("state_getRuntimeVersion", rpc_params![]).await?;
        let genesis: Value = self.client.request("chain_getBlockHash", rpc_params![0]).await?;
        let number = |k: &str| {
            version[k]
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| Error::Provena(format!("no {k} in the runtime version")))
        };
        let ctx = SigningContext {
            genesis: h256(&genesis)?,
            spec_version: number("specVersion")?,
            transaction_version: number("transactionVersion")?,
        };
        if !ctx.encodes_for_this_build() {
            return Err(Error::Provena(
                "the chain's runtime encodes transactions differently from this build: upgrade \
                 the relayer"
                    .into(),
            ));
        }
        let xt = sign(&self.key, call, nonce, Era::Immortal, ctx.genesis, 0, &ctx);
        let hash: Value = self
            .client
            .request(
                "author_submitExtrinsic",
                rpc_params![format!("0x{}", hex::encode(xt.encode()))],
            )
            .await?;
        h256(&hash)
    }
}
