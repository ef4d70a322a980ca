//! The node, over its JSON-RPC (WebSocket): what the worker reads from the chain and how it
//! sends transactions. The connection is re-opened on the next call after it drops, so a node
//! restart costs the calls made while it was down, nothing more.

use super::ChainError;
use codec::{Decode, Encode};
use jsonrpsee::{
    core::{client::ClientT, params::ArrayParams},
    rpc_params,
    ws_client::{WsClient, WsClientBuilder},
};
use polkadot_sdk::{
    frame_system, pallet_balances,
    sp_core::H256,
    sp_runtime::{transaction_validity::TransactionValidityError, ApplyExtrinsicResult},
};
use provena_primitives::{
    attribution::Voucher,
    datanets::{ContributionInfo, DatanetInfo, SnapshotInfo},
    models::ModelInfo,
    ContentHash, ContributionId, DatanetId, ModelId, SnapshotVersion,
};
use provena_runtime::{
    client::SigningContext, AccountId, Balance, BlockNumber, Header, Nonce, Runtime,
    UncheckedExtrinsic,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::{sync::Arc, time::Duration};
use tokio::sync::Mutex;

/// How long one RPC call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A model as the node's `models_getModel` returns it.
pub type Model = ModelInfo<AccountId, Balance, BlockNumber>;

/// A datanet as the node's `datanets_getDatanet` returns it.
pub type Datanet = DatanetInfo<AccountId, Balance, BlockNumber>;
/// A contribution as the node's `datanets_getContribution` returns it.
pub type Contribution = ContributionInfo<AccountId, Balance, BlockNumber>;
/// A snapshot as the node's `datanets_getSnapshot` returns it.
pub type Snapshot = SnapshotInfo<AccountId, BlockNumber>;

/// A block: its number and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub number: BlockNumber,
    pub hash: H256,
}

/// A connection to a node.
pub struct Node {
    url: String,
    client: Mutex<Option<Arc<WsClient>>>,
    /// The chain's genesis hash, read once: a node of another chain is refused.
    pub genesis: H256,
}

impl Node {
    /// Connects to the node at `url` (`ws://` or `wss://`) and reads the chain's identity.
    /// Addresses are shown in Provena's SS58 format from then on (generic ones are read too).
    pub async fn connect(url: &str) -> Result<Self, ChainError> {
        polkadot_sdk::sp_core::crypto::set_default_ss58_version(
            polkadot_sdk::sp_core::crypto::Ss58AddressFormat::custom(
                provena_primitives::SS58_PREFIX,
            ),
        );
        let mut node =
            Node { url: url.to_string(), client: Mutex::new(None), genesis: H256::zero() };
        let genesis: H256 = node.request("chain_getBlockHash", rpc_params![0]).await?;
        node.genesis = genesis;
        Ok(node)
    }

    /// [`Node::connect`], retried every second for up to `wait` while the node is unreachable.
    pub async fn connect_within(url: &str, wait: Duration) -> Result<Self, ChainError> {
        let deadline =
            tokio::time::Instant::now().checked_add(wait).unwrap_or_else(tokio::time::Instant::now);
        loop {
            match Self::connect(url).await {
                Err(ChainError::Unavailable(e)) if tokio::time::Instant::now() < deadline => {
                    log::info!("waiting for the node: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                other => return other,
            }
        }
    }

    async fn client(&self) -> Result<Arc<WsClient>, ChainError> {
        let mut slot = self.client.lock().await;
        if let Some(c) = slot.as_ref().filter(|c| c.is_connected()) {
            return Ok(c.clone());
        }
        let c = WsClientBuilder::default()
            .request_timeout(CALL_TIMEOUT)
            .connection_timeout(CALL_TIMEOUT)
            .max_response_size(64 << 20)
            .build(&self.url)
            .await
            .map_err(|e| ChainError::Unavailable(format!("{}: {e}", self.url)))?;
        let c = Arc::new(c);
        *slot = Some(c.clone());
        Ok(c)
    }

    async fn request<R: DeserializeOwned>(
        &self,
        method: &str,
        params: ArrayParams,
    ) -> Result<R, ChainError> {
        let client = self.client().await?;
        client.request(method, params).await.map_err(|e| match e {
            jsonrpsee::core::ClientError::Call(call) => {
                ChainError::Refused(format!("{method}: {}", call.message()))
            }
            other => ChainError::Unavailable(format!("{method}: {other}")),
        })
    }

    /// What transactions are signed for now (the runtime's versions may change with an
    /// upgrade); refused when this build encodes calls differently from the node's runtime.
    pub async fn signing_context(&self) -> Result<SigningContext, ChainError> {
        let v: Value = self.request("state_getRuntimeVersion", rpc_params![]).await?;
        let field = |k: &str| {
            v.get(k)
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| ChainError::Decode(format!("runtime version without {k}: {v}")))
        };
        let ctx = SigningContext {
            genesis: self.genesis,
            spec_version: field("specVersion")?,
            transaction_version: field("transactionVersion")?,
        };
        if v.get("specName").and_then(Value::as_str) != Some("provena") {
            return Err(ChainError::Incompatible(format!("the node runs {v}, not Provena")));
        }
        if !ctx.encodes_for_this_build() {
            return Err(ChainError::Incompatible(format!(
                "the node's runtime has transaction version {}, this worker was built for {}; \
                 upgrade the worker",
                ctx.transaction_version,
                provena_runtime::VERSION.transaction_version
            )));
        }
        Ok(ctx)
    }

    async fn header(&self, hash: Option<H256>) -> Result<Block, ChainError> {
        let header: Header = self.request("chain_getHeader", rpc_params![hash]).await?;
        Ok(Block { number: header.number, hash: header.hash() })
    }

    /// The best block.
    pub async fn best(&self) -> Result<Block, ChainError> {
        self.header(None).await
    }

    /// The finalized block.
    pub async fn finalized(&self) -> Result<Block, ChainError> {
        let hash: H256 = self.request("chain_getFinalizedHead", rpc_params![]).await?;
        self.header(Some(hash)).await
    }

    /// The hash of block `n` on the best chain.
    pub async fn block_hash(&self, n: BlockNumber) -> Result<H256, ChainError> {
        let hash: Option<H256> = self.request("chain_getBlockHash", rpc_params![n]).await?;
        hash.ok_or_else(|| ChainError::Refused(format!("no block #{n}")))
    }

    /// A storage value at a block, decoded.
    async fn storage<T: Decode>(&self, key: Vec<u8>, at: H256) -> Result<Option<T>, ChainError> {
        let raw: Option<String> =
            self.request("state_getStorage", rpc_params![hex_of(&key), at]).await?;
        raw.map(|hex| {
            let bytes = bytes_of(&hex)?;
            T::decode(&mut &bytes[..]).map_err(|e| ChainError::Decode(e.to_string()))
        })
        .transpose()
    }

    /// A model, if registered.
    pub async fn model(&self, id: ModelId, at: H256) -> Result<Option<Model>, ChainError> {
        self.request("models_getModel", rpc_params![id, at]).await
    }

    /// The model registered with `weights_hash`, if any.
    pub async fn model_by_weights(
        &self,
        weights_hash: ContentHash,
        at: H256,
    ) -> Result<Option<ModelId>, ChainError> {
        self.request("models_getModelByWeights", rpc_params![weights_hash, at]).await
    }

    /// A contribution, if stored.
    pub async fn contribution(
        &self,
        id: ContributionId,
        at: H256,
    ) -> Result<Option<Contribution>, ChainError> {
        self.request("datanets_getContribution", rpc_params![id, at]).await
    }

    /// Whether a contribution may earn now (accepted); `false` for one the chain does not know.
    pub async fn contribution_earning(&self, id: u64, at: H256) -> Result<bool, ChainError> {
        let c = self.contribution(ContributionId(id), at).await?;
        Ok(c.is_some_and(|c| c.status.is_earning()))
    }

    /// A datanet, if stored.
    pub async fn datanet(&self, id: DatanetId, at: H256) -> Result<Option<Datanet>, ChainError> {
        self.request("datanets_getDatanet", rpc_params![id, at]).await
    }

    /// A published snapshot with its members, if stored.
    pub async fn snapshot(
        &self,
        datanet: DatanetId,
        version: SnapshotVersion,
        at: H256,
    ) -> Result<Option<Snapshot>, ChainError> {
        self.request("datanets_getSnapshot", rpc_params![datanet, version, at]).await
    }

    /// Whether `who` holds an access grant to the (private) datanet `datanet`.
    pub async fn has_access_grant(
        &self,
        datanet: DatanetId,
        who: &AccountId,
        at: H256,
    ) -> Result<bool, ChainError> {
        let key = pallet_datanets::AccessGrants::<Runtime>::hashed_key_for(datanet, who);
        let raw: Option<String> =
            self.request("state_getStorage", rpc_params![hex_of(&key), at]).await?;
        Ok(raw.is_some())
    }

    /// Whether `user` spent the voucher `request_id` (a receipt redeemed it).
    pub async fn voucher_used(
        &self,
        user: &AccountId,
        request_id: ContentHash,
        at: H256,
    ) -> Result<bool, ChainError> {
        let key = pallet_attribution::UsedVouchers::<Runtime>::hashed_key_for(user, request_id);
        Ok(self.storage::<BlockNumber>(key, at).await?.is_some())
    }

    /// The prepaid voucher `user` holds funds for under `request_id`, if any.
    pub async fn prepaid(
        &self,
        user: &AccountId,
        request_id: ContentHash,
        at: H256,
    ) -> Result<Option<Voucher<AccountId, BlockNumber>>, ChainError> {
        let key = pallet_attribution::PrepaidVouchers::<Runtime>::hashed_key_for(user, request_id);
        self.storage(key, at).await
    }

    /// Whether `who` is an operator: an active agent (it may still not serve every model).
    pub async fn is_operator(&self, who: &AccountId, at: H256) -> Result<bool, ChainError> {
        let key = pallet_agents::Agents::<Runtime>::hashed_key_for(who);
        let agent = self.storage::<pallet_agents::Agent<Runtime>>(key, at).await?;
        Ok(agent.is_some_and(|a| a.status == provena_primitives::agents::AgentStatus::Active))
    }

    async fn account(
        &self,
        who: &AccountId,
        at: H256,
    ) -> Result<frame_system::AccountInfo<Nonce, pallet_balances::AccountData<Balance>>, ChainError>
    {
        let key = frame_system::Account::<Runtime>::hashed_key_for(who);
        Ok(self.storage(key, at).await?.unwrap_or_default())
    }

    /// An account's free balance.
    pub async fn free_balance(&self, who: &AccountId, at: H256) -> Result<Balance, ChainError> {
        Ok(self.account(who, at).await?.data.free)
    }

    /// An account's nonce in a block's state.
    pub async fn nonce_at(&self, who: &AccountId, at: H256) -> Result<Nonce, ChainError> {
        Ok(self.account(who, at).await?.nonce)
    }

    /// An account's next nonce, counting its transactions in the node's pool.
    pub async fn next_nonce(&self, who: &AccountId) -> Result<Nonce, ChainError> {
        // The node reads account ids in the generic SS58 format (42), whatever this process shows.
        use polkadot_sdk::sp_core::crypto::{Ss58AddressFormatRegistry, Ss58Codec};
        let address =
            who.to_ss58check_with_version(Ss58AddressFormatRegistry::SubstrateAccount.into());
        self.request("system_accountNextIndex", rpc_params![address]).await
    }

    /// Applies `xt` to the state of block `at` without keeping anything (the runtime's
    /// `BlockBuilder_apply_extrinsic` through `state_call`): `Err` if the transaction is
    /// invalid there, `Ok(Err)` if it would be included and fail.
    pub async fn dry_run(
        &self,
        xt: &UncheckedExtrinsic,
        at: H256,
    ) -> Result<
        Result<Result<(), polkadot_sdk::sp_runtime::DispatchError>, TransactionValidityError>,
        ChainError,
    > {
        let raw: String = self
            .request(
                "state_call",
                rpc_params!["BlockBuilder_apply_extrinsic", hex_of(&xt.encode()), at],
            )
            .await?;
        let bytes = bytes_of(&raw)?;
        let result = ApplyExtrinsicResult::decode(&mut &bytes[..])
            .map_err(|e| ChainError::Decode(format!("apply_extrinsic result: {e}")))?;
        Ok(result.map(|outcome| outcome.map(|_| ())))
    }

    /// Sends a signed transaction to the node's pool. A transaction the pool already holds is
    /// not an error.
    pub async fn submit(&self, xt: &[u8]) -> Result<(), ChainError> {
        match self.request::<H256>("author_submitExtrinsic", rpc_params![hex_of(xt)]).await {
            Ok(_) => Ok(()),
            Err(ChainError::Refused(m)) if m.contains("already imported") => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// `0x`-hex.
pub fn hex_of(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn bytes_of(s: &str) -> Result<Vec<u8>, ChainError> {
    hex::decode(s.trim_start_matches("0x")).map_err(|e| ChainError::Decode(e.to_string()))
}
