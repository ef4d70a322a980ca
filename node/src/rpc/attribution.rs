//! `attribution_*` JSON-RPC methods: receipts (by id, by model, by contribution), rewards of
//! payees and accounts, epoch roots and receipt inclusion proofs, and the voucher bytes users
//! sign — read through the runtime's `AttributionApi` at the best block or a given one.

use std::sync::Arc;

use jsonrpsee::{core::RpcResult, proc_macros::rpc};
use polkadot_sdk::{
    sp_api::ProvideRuntimeApi, sp_blockchain::HeaderBackend, sp_runtime::traits::Block as BlockT,
};
use provena_primitives::{
    attribution::{
        AttributionApi as AttributionRuntimeApi, EpochIndex, EpochInfo, Payee, ReceiptId,
        ReceiptInfo, ReceiptProof, RewardInfo, Voucher,
    },
    ContributionId, ModelId,
};
use provena_runtime::{AccountId, BlockNumber};
use serde::{Deserialize, Serialize};

use super::{block_or_best, check_range, runtime_error};

/// Receipt pages larger than this are refused.
pub const MAX_PAGE: u32 = 1_000;
/// `receipts_by_contribution` scans at most this many receipt ids per call.
pub const MAX_SCAN: u32 = 10_000;

/// A receipt as returned over RPC.
pub type Receipt = ReceiptInfo<AccountId, BlockNumber>;

/// An account's rewards: as a payee itself, and through each of its contributions.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountRewards {
    /// Rewards paid to the account itself (developer and treasury shares, and an operator's
    /// from before operators were agents).
    pub account: RewardInfo,
    /// Its operator share as an agent: paid to it and its stakers through the agents pallet.
    pub agent: RewardInfo,
    /// Rewards of each of its contributions that has earned anything.
    pub contributions: Vec<ContributionRewards>,
}

/// One contribution's rewards.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContributionRewards {
    /// The contribution.
    pub contribution: ContributionId,
    /// Its rewards.
    #[serde(flatten)]
    pub rewards: RewardInfo,
}

/// The `attribution_*` RPC methods.
#[rpc(server)]
pub trait AttributionApi<BlockHash> {
    /// A receipt by id.
    #[method(name = "attribution_getReceipt")]
    fn receipt(&self, id: ReceiptId, at: Option<BlockHash>) -> RpcResult<Option<Receipt>>;

    /// A page of a model's receipts in submission order.
    #[method(name = "attribution_getReceiptsByModel")]
    fn receipts_by_model(
        &self,
        model: ModelId,
        start: u32,
        limit: u32,
        at: Option<BlockHash>,
    ) -> RpcResult<Vec<Receipt>>;

    /// Receipts attributing to a contribution among ids `from..from+scan`; continue from
    /// `from + scan`.
    #[method(name = "attribution_getReceiptsByContribution")]
    fn receipts_by_contribution(
        &self,
        contribution: ContributionId,
        from: ReceiptId,
        scan: u32,
        limit: u32,
        at: Option<BlockHash>,
    ) -> RpcResult<Vec<Receipt>>;

    /// A payee's rewards (`{"account": ..}`, `{"contribution": id}`, `{"modelHolders": id}`).
    #[method(name = "attribution_getPayeeRewards")]
    fn payee_rewards(
        &self,
        payee: Payee<AccountId>,
        at: Option<BlockHash>,
    ) -> RpcResult<RewardInfo>;

    /// An account's rewards, its own and through its contributions.
    #[method(name = "attribution_getRewards")]
    fn rewards(&self, who: AccountId, at: Option<BlockHash>) -> RpcResult<AccountRewards>;

    /// An epoch's commitment.
    #[method(name = "attribution_getEpoch")]
    fn epoch(
        &self,
        epoch: EpochIndex,
        at: Option<BlockHash>,
    ) -> RpcResult<Option<EpochInfo<BlockNumber>>>;

    /// A receipt's inclusion proof in its closed epoch's root.
    #[method(name = "attribution_getReceiptProof")]
    fn receipt_proof(
        &self,
        id: ReceiptId,
        at: Option<BlockHash>,
    ) -> RpcResult<Option<ReceiptProof>>;

    /// The bytes (`0x`-hex) a user signs for a voucher on this chain: they include the hash of
    /// the voucher's anchor block, so a voucher expiring more than `MaxVoucherLifetime` blocks
    /// after `at` is refused (invalid params).
    #[method(name = "attribution_voucherPayload")]
    fn voucher_payload(
        &self,
        voucher: Voucher<AccountId, BlockNumber>,
        at: Option<BlockHash>,
    ) -> RpcResult<String>;
}

/// Serves `attribution_*` from a client.
pub struct Attribution<C, B> {
    client: Arc<C>,
    _block: std::marker::PhantomData<B>,
}

impl<C, B> Attribution<C, B> {
    /// Serves the methods from `client`.
    pub fn new(client: Arc<C>) -> Self {
        Self { client, _block: Default::default() }
    }
}

impl<C, B> Attribution<C, B>
where
    B: BlockT,
    C: HeaderBackend<B>,
{
    fn at(&self, at: Option<B::Hash>) -> B::Hash {
        block_or_best(&*self.client, at)
    }
}

impl<C, B> AttributionApiServer<B::Hash> for Attribution<C, B>
where
    B: BlockT,
    C: ProvideRuntimeApi<B> + HeaderBackend<B> + Send + Sync + 'static,
    C::Api: AttributionRuntimeApi<B, AccountId, BlockNumber>,
{
    fn receipt(&self, id: ReceiptId, at: Option<B::Hash>) -> RpcResult<Option<Receipt>> {
        self.client.runtime_api().receipt(self.at(at), id).map_err(runtime_error)
    }

    fn receipts_by_model(
        &self,
        model: ModelId,
        start: u32,
        limit: u32,
        at: Option<B::Hash>,
    ) -> RpcResult<Vec<Receipt>> {
        check_range("limit", limit, MAX_PAGE)?;
        self.client
            .runtime_api()
            .receipts_by_model(self.at(at), model, start, limit)
            .map_err(runtime_error)
    }

    fn receipts_by_contribution(
        &self,
        contribution: ContributionId,
        from: ReceiptId,
        scan: u32,
        limit: u32,
        at: Option<B::Hash>,
    ) -> RpcResult<Vec<Receipt>> {
        check_range("limit", limit, MAX_PAGE)?;
        check_range("scan", scan, MAX_SCAN)?;
        self.client
            .runtime_api()
            .receipts_by_contribution(self.at(at), contribution, from, scan, limit)
            .map_err(runtime_error)
    }

    fn payee_rewards(&self, payee: Payee<AccountId>, at: Option<B::Hash>) -> RpcResult<RewardInfo> {
        self.client.runtime_api().rewards(self.at(at), payee).map_err(runtime_error)
    }

    fn rewards(&self, who: AccountId, at: Option<B::Hash>) -> RpcResult<AccountRewards> {
        let agent = self.payee_rewards(Payee::Agent(who.clone()), at)?;
        let (account, contributions) =
            self.client.runtime_api().account_rewards(self.at(at), who).map_err(runtime_error)?;
        Ok(AccountRewards {
            account,
            agent,
            contributions: contributions
                .into_iter()
                .map(|(contribution, rewards)| ContributionRewards { contribution, rewards })
                .collect(),
        })
    }

    fn epoch(
        &self,
        epoch: EpochIndex,
        at: Option<B::Hash>,
    ) -> RpcResult<Option<EpochInfo<BlockNumber>>> {
        self.client.runtime_api().epoch(self.at(at), epoch).map_err(runtime_error)
    }

    fn receipt_proof(&self, id: ReceiptId, at: Option<B::Hash>) -> RpcResult<Option<ReceiptProof>> {
        self.client.runtime_api().receipt_proof(self.at(at), id).map_err(runtime_error)
    }

    fn voucher_payload(
        &self,
        voucher: Voucher<AccountId, BlockNumber>,
        at: Option<B::Hash>,
    ) -> RpcResult<String> {
        let bytes = self
            .client
            .runtime_api()
            .voucher_payload(self.at(at), voucher)
            .map_err(runtime_error)?;
        if bytes.is_empty() {
            return Err(jsonrpsee::types::ErrorObject::owned(
                super::INVALID_PARAMS,
                "the voucher expires more than MaxVoucherLifetime blocks after this block, so its \
                 anchor block (expiresAt - MaxVoucherLifetime - 1) is not before it: sign it at a \
                 later block or let it expire sooner",
                None::<()>,
            ));
        }
        Ok(format!("0x{}", hex::encode(bytes)))
    }
}
