//! `datanets_*` JSON-RPC methods: datanets, contributions (paged), snapshots and Merkle proofs,
//! read through the runtime's `DatanetsApi` at the best block or a given one.

use std::sync::Arc;

use jsonrpsee::{core::RpcResult, proc_macros::rpc};
use polkadot_sdk::{
    sp_api::ProvideRuntimeApi, sp_blockchain::HeaderBackend, sp_runtime::traits::Block as BlockT,
};
use provena_primitives::{
    datanets::{ContributionInfo, DatanetInfo, DatanetsApi as DatanetsRuntimeApi, SnapshotInfo},
    merkle::MerkleProof,
    ContributionId, DatanetId, SnapshotVersion,
};
use provena_runtime::{AccountId, Balance, BlockNumber};

/// Contribution pages larger than this are cut to it (the runtime enforces the same bound).
pub const MAX_PAGE: u32 = 1_000;

/// A contribution as returned over RPC.
pub type Contribution = ContributionInfo<AccountId, Balance, BlockNumber>;

/// The `datanets_*` RPC methods.
#[rpc(server)]
pub trait DatanetsApi<BlockHash> {
    /// A datanet by id.
    #[method(name = "datanets_getDatanet")]
    fn datanet(
        &self,
        id: DatanetId,
        at: Option<BlockHash>,
    ) -> RpcResult<Option<DatanetInfo<AccountId, Balance, BlockNumber>>>;

    /// A contribution by id.
    #[method(name = "datanets_getContribution")]
    fn contribution(
        &self,
        id: ContributionId,
        at: Option<BlockHash>,
    ) -> RpcResult<Option<Contribution>>;

    /// A page of a datanet's contributions in submission order: indices `start..start+limit`.
    #[method(name = "datanets_getContributions")]
    fn contributions(
        &self,
        datanet: DatanetId,
        start: u32,
        limit: u32,
        at: Option<BlockHash>,
    ) -> RpcResult<Vec<Contribution>>;

    /// A page of an account's contributions.
    #[method(name = "datanets_getContributionsOf")]
    fn contributions_of(
        &self,
        who: AccountId,
        start: u32,
        limit: u32,
        at: Option<BlockHash>,
    ) -> RpcResult<Vec<Contribution>>;

    /// A snapshot by datanet and version.
    #[method(name = "datanets_getSnapshot")]
    fn snapshot(
        &self,
        datanet: DatanetId,
        version: SnapshotVersion,
        at: Option<BlockHash>,
    ) -> RpcResult<Option<SnapshotInfo<AccountId, BlockNumber>>>;

    /// The Merkle proof that a contribution is in a snapshot.
    #[method(name = "datanets_getSnapshotProof")]
    fn snapshot_proof(
        &self,
        datanet: DatanetId,
        version: SnapshotVersion,
        contribution: ContributionId,
        at: Option<BlockHash>,
    ) -> RpcResult<Option<MerkleProof>>;
}

/// Serves `datanets_*` from a client.
pub struct Datanets<C, B> {
    client: Arc<C>,
    _block: std::marker::PhantomData<B>,
}

impl<C, B> Datanets<C, B> {
    /// Serves the methods from `client`.
    pub fn new(client: Arc<C>) -> Self {
        Self { client, _block: Default::default() }
    }
}

use super::{block_or_best, check_range, runtime_error};

impl<C, B> Datanets<C, B>
where
    B: BlockT,
    C: HeaderBackend<B>,
{
    fn at(&self, at: Option<B::Hash>) -> B::Hash {
        block_or_best(&*self.client, at)
    }
}

impl<C, B> DatanetsApiServer<B::Hash> for Datanets<C, B>
where
    B: BlockT,
    C: ProvideRuntimeApi<B> + HeaderBackend<B> + Send + Sync + 'static,
    C::Api: DatanetsRuntimeApi<B, AccountId, Balance, BlockNumber>,
{
    fn datanet(
        &self,
        id: DatanetId,
        at: Option<B::Hash>,
    ) -> RpcResult<Option<DatanetInfo<AccountId, Balance, BlockNumber>>> {
        self.client.runtime_api().datanet(self.at(at), id).map_err(runtime_error)
    }

    fn contribution(
        &self,
        id: ContributionId,
        at: Option<B::Hash>,
    ) -> RpcResult<Option<Contribution>> {
        self.client.runtime_api().contribution(self.at(at), id).map_err(runtime_error)
    }

    fn contributions(
        &self,
        datanet: DatanetId,
        start: u32,
        limit: u32,
        at: Option<B::Hash>,
    ) -> RpcResult<Vec<Contribution>> {
        check_range("limit", limit, MAX_PAGE)?;
        self.client
            .runtime_api()
            .datanet_contributions(self.at(at), datanet, start, limit)
            .map_err(runtime_error)
    }

    fn contributions_of(
        &self,
        who: AccountId,
        start: u32,
        limit: u32,
        at: Option<B::Hash>,
    ) -> RpcResult<Vec<Contribution>> {
        check_range("limit", limit, MAX_PAGE)?;
        self.client
            .runtime_api()
            .contributor_contributions(self.at(at), who, start, limit)
            .map_err(runtime_error)
    }

    fn snapshot(
        &self,
        datanet: DatanetId,
        version: SnapshotVersion,
        at: Option<B::Hash>,
    ) -> RpcResult<Option<SnapshotInfo<AccountId, BlockNumber>>> {
        self.client.runtime_api().snapshot(self.at(at), datanet, version).map_err(runtime_error)
    }

    fn snapshot_proof(
        &self,
        datanet: DatanetId,
        version: SnapshotVersion,
        contribution: ContributionId,
        at: Option<B::Hash>,
    ) -> RpcResult<Option<MerkleProof>> {
        self.client
            .runtime_api()
            .snapshot_proof(self.at(at), datanet, version, contribution)
            .map_err(runtime_error)
    }
}
