//! Reading the Ethereum view out of the chain: the Ethereum transactions of a block's
//! extrinsics, their receipts and logs (from the index, or from the block's state and events),
//! blocks in Ethereum's shape, transaction lookups through the index, and the pending nonce.

use super::*;

/// Whether a revert event is the marker a `runtime-benchmarks` runtime deposits after every
/// *successful* Ethereum transaction (`pallet_revive` does so to benchmark the event's cost).
/// Production runtimes are built without benchmarks and never emit it.
#[cfg(feature = "runtime-benchmarks")]
pub(super) fn is_benchmark_marker(e: &polkadot_sdk::sp_runtime::DispatchError) -> bool {
    *e == pallet_revive::Error::<provena_runtime::Runtime>::BenchmarkingError.into()
}

#[cfg(not(feature = "runtime-benchmarks"))]
pub(super) fn is_benchmark_marker(_: &polkadot_sdk::sp_runtime::DispatchError) -> bool {
    false
}

/// An Ethereum transaction found in a block.
pub(super) struct EthTx {
    /// Its position among the block's extrinsics.
    pub(super) extrinsic_index: u32,
    /// keccak256 of its signed RLP.
    pub(super) hash: H256,
    pub(super) signed: TransactionSigned,
    pub(super) from: H160,
}

impl Eth {
    pub(super) fn best(&self) -> H256 {
        self.client.info().best_hash
    }

    /// The hash of the block `r` names, if it exists.
    pub(super) fn resolve(&self, r: BlockRef) -> RpcResult<Option<H256>> {
        let info = self.client.info();
        Ok(match r {
            BlockRef::Latest | BlockRef::Pending => Some(info.best_hash),
            BlockRef::Finalized => Some(info.finalized_hash),
            BlockRef::Earliest => Some(info.genesis_hash),
            BlockRef::Number(n) => self.client.hash(n).map_err(internal)?,
            BlockRef::Hash(h) => self.client.number(h).map_err(internal)?.map(|_| h),
        })
    }

    /// Like [`Self::resolve`], but an unknown block is an error (for state queries).
    pub(super) fn state_at(&self, r: Option<BlockRef>) -> RpcResult<H256> {
        self.resolve(r.unwrap_or_default())?
            .ok_or_else(|| invalid_params("header not found: unknown block"))
    }

    pub(super) fn number_of(&self, hash: H256) -> RpcResult<BlockNumber> {
        self.client
            .number(hash)
            .map_err(internal)?
            .ok_or_else(|| internal("block number not found"))
    }

    /// The Ethereum transactions in block `hash`, in order.
    pub(super) fn eth_txs(&self, hash: H256) -> RpcResult<Vec<EthTx>> {
        let body = self.client.block_body(hash).map_err(internal)?.unwrap_or_default();
        Ok(eth_txs_of(&body))
    }

    /// What the Ethereum view of block `hash` needs from its state: from the index, or from
    /// the state itself for a block the index does not hold.
    pub(super) fn record(&self, hash: H256) -> RpcResult<store::BlockRecord> {
        if let Some(record) = self.store.block(hash).map_err(internal)? {
            return Ok(record);
        }
        index::record_from_state(&self.client, hash).map_err(|e| {
            internal(format!(
                "block {hash:?} is not in the Ethereum index and its state is unavailable \
                 (pruned?): {e}"
            ))
        })
    }

    /// The logs of block `hash` that `filter` passes.
    pub(super) fn block_logs(&self, hash: H256, filter: &Filter) -> RpcResult<Vec<Log>> {
        Ok(self
            .receipts(hash)?
            .into_iter()
            .flat_map(|(_, r)| r.logs)
            .filter(|l| filter.matches(l))
            .collect())
    }

    /// The receipts of the Ethereum transactions in block `hash`.
    pub(super) fn receipts(&self, hash: H256) -> RpcResult<Vec<(EthTx, Receipt)>> {
        let txs = self.eth_txs(hash)?;
        if txs.is_empty() {
            return Ok(Vec::new());
        }
        let number = self.number_of(hash)?;
        let record = self.record(hash)?;
        if record.txs.len() != txs.len()
            || record.txs.iter().zip(&txs).any(|(r, t)| r.hash != t.hash)
        {
            return Err(internal(format!(
                "block {hash:?}: its Ethereum transactions and its index record disagree"
            )));
        }
        let mut log_index = 0u64;
        let mut cumulative = U256::zero();
        let mut out = Vec::with_capacity(txs.len());
        for (position, (tx, rec)) in txs.into_iter().zip(record.txs).enumerate() {
            let logs: Vec<Log> = rec
                .logs
                .into_iter()
                .map(|l| {
                    let log = Log {
                        address: l.address,
                        topics: l.topics,
                        data: Bytes(l.data),
                        block_hash: hash,
                        block_number: number.into(),
                        transaction_hash: tx.hash,
                        transaction_index: position.into(),
                        log_index: log_index.into(),
                        removed: false,
                    };
                    log_index = log_index.saturating_add(1);
                    log
                })
                .collect();
            cumulative = cumulative.saturating_add(rec.gas.gas_used);
            let price = rec.gas.effective_gas_price;
            let generic = GenericTransaction::from_signed(tx.signed.clone(), price, None);
            let contract_address = match generic.to {
                Some(_) => None,
                None => {
                    let nonce = u64::try_from(generic.nonce.unwrap_or_default()).unwrap_or(0);
                    Some(pallet_revive::create1(&tx.from, nonce))
                }
            };
            let receipt = Receipt {
                block_hash: hash,
                block_number: number.into(),
                contract_address,
                cumulative_gas_used: cumulative,
                effective_gas_price: price,
                from: tx.from,
                gas_used: rec.gas.gas_used,
                logs_bloom: Bytes(types::logs_bloom(&logs).to_vec()),
                logs,
                status: if rec.failed { U256::zero() } else { U256::one() },
                to: generic.to,
                transaction_hash: tx.hash,
                transaction_index: position.into(),
                tx_type: U256::from(generic.r#type.map(|b| b.0).unwrap_or_default()),
            };
            out.push((tx, receipt));
        }
        Ok(out)
    }

    /// Where transaction `hash` is on the best chain: (block hash, number).
    pub(super) fn locate(&self, hash: H256) -> RpcResult<Option<(H256, BlockNumber)>> {
        let candidates = self.store.blocks_of(hash).map_err(internal)?;
        for (number, block) in candidates {
            if self.client.hash(number).map_err(internal)? == Some(block) {
                return Ok(Some((block, number)));
            }
        }
        Ok(None)
    }

    pub(super) fn tx_info(
        &self,
        block: H256,
        number: BlockNumber,
        position: usize,
        tx: EthTx,
    ) -> TransactionInfoV1 {
        TransactionInfoV1 {
            block_hash: block,
            block_number: number.into(),
            from: tx.from,
            hash: tx.hash,
            transaction_index: position.into(),
            transaction_signed: tx.signed.into(),
        }
    }

    /// The Ethereum view of block `hash`.
    pub(super) fn block(&self, hash: H256, full: bool) -> RpcResult<Option<BlockV1>> {
        let Some(header) = self.client.header(hash).map_err(internal)? else { return Ok(None) };
        let mut block = self.record(hash)?.eth_block;
        let number = *header.number();
        block.hash = hash;
        block.parent_hash = *header.parent_hash();
        block.number = number.into();
        let txs = self.eth_txs(hash)?;
        block.transactions = if full {
            HashesOrTransactionInfosV1::TransactionInfos(
                txs.into_iter()
                    .enumerate()
                    .map(|(i, tx)| self.tx_info(hash, number, i, tx))
                    .collect(),
            )
        } else {
            HashesOrTransactionInfosV1::Hashes(txs.iter().map(|t| t.hash).collect())
        };
        Ok(Some(block))
    }

    /// Runs `tx` against the state of `block` without keeping its effects (`eth_call`,
    /// `eth_estimateGas`).
    #[allow(deprecated)]
    pub(super) fn dry_run(
        &self,
        tx: GenericTransactionV1,
        block: Option<BlockRef>,
    ) -> RpcResult<EthTransactInfoV1<provena_runtime::Balance>> {
        let at = self.state_at(block)?;
        self.client.runtime_api().eth_transact(at, tx).map_err(internal)?.map_err(dry_run_error)
    }

    /// Ethereum transaction `hash` while it waits in the pool (ready, or waiting for an earlier
    /// nonce).
    pub(super) fn pending_tx(&self, hash: H256) -> Option<EthTx> {
        let pool_hash = self.filters.lock().ok()?.pool_hashes.get(&hash);
        let ready = pool_hash
            .and_then(|h| self.pool.ready_transaction(&h))
            .and_then(|tx| eth_tx_of(tx.data()))
            .filter(|t| t.hash == hash);
        ready.or_else(|| {
            self.pool
                .futures()
                .iter()
                .find_map(|tx| eth_tx_of(tx.data()).filter(|t| t.hash == hash))
        })
    }

    /// The next nonce of `address`, counting its transactions in the pool.
    #[allow(deprecated)]
    pub(super) fn pending_nonce(&self, address: H160) -> RpcResult<Nonce> {
        let best = self.best();
        let api = self.client.runtime_api();
        let mut nonce = api.nonce(best, address).map_err(internal)?;
        let who: AccountId = api.account_id(best, address).map_err(internal)?;
        // Every transaction of the pool, ready or waiting for an earlier nonce (future): the
        // sender's chain of nonces from the one on chain counts them all.
        let mut provides: std::collections::HashSet<Vec<u8>> =
            self.pool.ready().flat_map(|tx| tx.provides().to_vec()).collect();
        provides.extend(self.pool.futures().iter().flat_map(|tx| tx.provides().to_vec()));
        while provides.contains(&(who.clone(), nonce).encode()) {
            nonce = nonce.saturating_add(1);
        }
        Ok(nonce)
    }
}

/// The Ethereum transaction an extrinsic carries, if it carries one.
pub(super) fn eth_tx_of(xt: &<Block as BlockT>::Extrinsic) -> Option<EthTx> {
    eth_txs_of(std::slice::from_ref(xt)).pop()
}

/// The Ethereum transactions (`Revive::eth_transact`) among a block's extrinsics.
pub(super) fn eth_txs_of(body: &[<Block as BlockT>::Extrinsic]) -> Vec<EthTx> {
    let mut out = Vec::new();
    for (i, opaque) in body.iter().enumerate() {
        let Ok(xt) = UncheckedExtrinsic::decode(&mut &opaque.encode()[..]) else { continue };
        let RuntimeCall::Revive(pallet_revive::Call::eth_transact { payload }) = &xt.0.function
        else {
            continue;
        };
        let Ok(signed) = TransactionSigned::decode(payload) else { continue };
        let Ok(from) = signed.recover_eth_address() else { continue };
        let Ok(extrinsic_index) = u32::try_from(i) else { continue };
        out.push(EthTx { extrinsic_index, hash: H256(keccak_256(payload)), signed, from });
    }
    out
}
