//! `agents_*` JSON-RPC methods: agents, members' stakes (with the rewards `claimRewards` would
//! pay now) and performance per era, read through the runtime's `AgentsApi` at the best block
//! or a given one.

use std::sync::Arc;

use jsonrpsee::{core::RpcResult, proc_macros::rpc};
use polkadot_sdk::{
    sp_api::ProvideRuntimeApi, sp_blockchain::HeaderBackend, sp_runtime::traits::Block as BlockT,
};
use provena_primitives::agents::{
    AgentInfo, AgentsApi as AgentsRuntimeApi, DelegationInfo, EraIndex, EraPerformance,
};
use provena_runtime::AccountId;

use super::{block_or_best, check_range, runtime_error};

/// Pages larger than this are refused (the runtime enforces the same bound).
pub const MAX_PAGE: u32 = 1_000;

/// The `agents_*` RPC methods.
#[rpc(server)]
pub trait AgentsApi<BlockHash> {
    /// An agent (`null` if the account is not one).
    #[method(name = "agents_getAgent")]
    fn agent(
        &self,
        agent: AccountId,
        at: Option<BlockHash>,
    ) -> RpcResult<Option<AgentInfo<AccountId>>>;

    /// Up to `limit` agents in storage order, after `startAfter`.
    #[method(name = "agents_getAgents")]
    fn agents(
        &self,
        start_after: Option<AccountId>,
        limit: u32,
        at: Option<BlockHash>,
    ) -> RpcResult<Vec<AgentInfo<AccountId>>>;

    /// A member's stake in an agent: its value, its unbonding chunks and its pending rewards.
    #[method(name = "agents_getDelegation")]
    fn delegation(
        &self,
        agent: AccountId,
        member: AccountId,
        at: Option<BlockHash>,
    ) -> RpcResult<Option<DelegationInfo<AccountId>>>;

    /// Up to `limit` members of an agent (its own bond included), after `startAfter`.
    #[method(name = "agents_getDelegations")]
    fn delegations(
        &self,
        agent: AccountId,
        start_after: Option<AccountId>,
        limit: u32,
        at: Option<BlockHash>,
    ) -> RpcResult<Vec<DelegationInfo<AccountId>>>;

    /// An agent's performance in each era still kept, oldest first.
    #[method(name = "agents_getPerformance")]
    fn performance(
        &self,
        agent: AccountId,
        at: Option<BlockHash>,
    ) -> RpcResult<Vec<(EraIndex, EraPerformance)>>;
}

/// Serves `agents_*` from a client.
pub struct Agents<C, B> {
    client: Arc<C>,
    _block: std::marker::PhantomData<B>,
}

impl<C, B> Agents<C, B> {
    /// Serves the methods from `client`.
    pub fn new(client: Arc<C>) -> Self {
        Self { client, _block: Default::default() }
    }
}

impl<C, B> AgentsApiServer<B::Hash> for Agents<C, B>
where
    B: BlockT,
    C: ProvideRuntimeApi<B> + HeaderBackend<B> + Send + Sync + 'static,
    C::Api: AgentsRuntimeApi<B, AccountId>,
{
    fn agent(
        &self,
        agent: AccountId,
        at: Option<B::Hash>,
    ) -> RpcResult<Option<AgentInfo<AccountId>>> {
        let at = block_or_best(&*self.client, at);
        self.client.runtime_api().agent(at, agent).map_err(runtime_error)
    }

    fn agents(
        &self,
        start_after: Option<AccountId>,
        limit: u32,
        at: Option<B::Hash>,
    ) -> RpcResult<Vec<AgentInfo<AccountId>>> {
        check_range("limit", limit, MAX_PAGE)?;
        let at = block_or_best(&*self.client, at);
        self.client.runtime_api().agents(at, start_after, limit).map_err(runtime_error)
    }

    fn delegation(
        &self,
        agent: AccountId,
        member: AccountId,
        at: Option<B::Hash>,
    ) -> RpcResult<Option<DelegationInfo<AccountId>>> {
        let at = block_or_best(&*self.client, at);
        self.client.runtime_api().delegation(at, agent, member).map_err(runtime_error)
    }

    fn delegations(
        &self,
        agent: AccountId,
        start_after: Option<AccountId>,
        limit: u32,
        at: Option<B::Hash>,
    ) -> RpcResult<Vec<DelegationInfo<AccountId>>> {
        check_range("limit", limit, MAX_PAGE)?;
        let at = block_or_best(&*self.client, at);
        self.client.runtime_api().delegations(at, agent, start_after, limit).map_err(runtime_error)
    }

    fn performance(
        &self,
        agent: AccountId,
        at: Option<B::Hash>,
    ) -> RpcResult<Vec<(EraIndex, EraPerformance)>> {
        let at = block_or_best(&*self.client, at);
        self.client.runtime_api().performance(at, agent).map_err(runtime_error)
    }
}
