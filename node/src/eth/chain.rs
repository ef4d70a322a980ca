//! Reading the Ethereum view out of the chain: the Ethereum transactions of a block's
//! extrinsics, their receipts and logs from the block's events, blocks in Ethereum's shape,
//! transaction lookups through the index, and the pending nonce.

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

    /// The events of block `hash` (none if they do not decode, e.g. an older runtime's).
    pub(super) fn events(&self, hash: H256) -> RpcResult<Vec<EventRecord>> {
        let key = [twox_128(b"System"), twox_128(b"Events")].concat();
        let Some(raw) = self.client.storage(hash, &StorageKey(key)).map_err(internal)? else {
            return Ok(Vec::new());
        };
        Ok(Vec::<EventRecord>::decode(&mut &raw.0[..]).unwrap_or_else(|e| {
            log::debug!(target: "eth-rpc", "events of {hash:?} do not decode: {e}");
            Vec::new()
        }))
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
    #[allow(deprecated)]
    pub(super) fn receipts(&self, hash: H256) -> RpcResult<Vec<(EthTx, Receipt)>> {
        let txs = self.eth_txs(hash)?;
        if txs.is_empty() {
            return Ok(Vec::new());
        }
        let number = self.number_of(hash)?;
        let gas = self.client.runtime_api().eth_receipt_data(hash).map_err(internal)?;
        if gas.len() != txs.len() {
            return Err(internal(format!(
                "block {hash:?} has {} Ethereum transactions but {} receipt records",
                txs.len(),
                gas.len()
            )));
        }
        let events = self.events(hash)?;
        let mut log_index = 0u64;
        let mut cumulative = U256::zero();
        let mut out = Vec::with_capacity(txs.len());
        for (position, (tx, gas)) in txs.into_iter().zip(gas).enumerate() {
            let mut failed = false;
            let mut logs = Vec::new();
            for record in events
                .iter()
                .filter(|r| r.phase == frame_system::Phase::ApplyExtrinsic(tx.extrinsic_index))
            {
                match &record.event {
                    RuntimeEvent::Revive(pallet_revive::Event::ContractEmitted {
                        contract,
                        data,
                        topics,
                    }) => {
                        logs.push(Log {
                            address: *contract,
                            topics: topics.clone(),
                            data: Bytes(data.clone()),
                            block_hash: hash,
                            block_number: number.into(),
                            transaction_hash: tx.hash,
                            transaction_index: position.into(),
                            log_index: log_index.into(),
                            removed: false,
                        });
                        log_index = log_index.saturating_add(1);
                    }
                    RuntimeEvent::Revive(pallet_revive::Event::EthExtrinsicRevert {
                        dispatch_error,
                    }) if !is_benchmark_marker(dispatch_error) => {
                        failed = true;
                    }
                    RuntimeEvent::System(frame_system::Event::ExtrinsicFailed { .. }) => {
                        failed = true;
                    }
                    _ => {}
                }
            }
            if failed {
                // A failed transaction's state changes, logs included, are rolled back.
                logs.clear();
            }
            cumulative = cumulative.saturating_add(gas.gas_used);
            let generic =
                GenericTransaction::from_signed(tx.signed.clone(), gas.effective_gas_price, None);
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
                effective_gas_price: gas.effective_gas_price,
                from: tx.from,
                gas_used: gas.gas_used,
                logs_bloom: Bytes(types::logs_bloom(&logs).to_vec()),
                logs,
                status: if failed { U256::zero() } else { U256::one() },
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
        let candidates = self
            .index
            .lock()
            .map_err(|_| internal("transaction index poisoned"))?
            .by_hash
            .get(&hash)
            .cloned()
            .unwrap_or_default();
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
    #[allow(deprecated)]
    pub(super) fn block(&self, hash: H256, full: bool) -> RpcResult<Option<BlockV1>> {
        let Some(header) = self.client.header(hash).map_err(internal)? else { return Ok(None) };
        let mut block = self.client.runtime_api().eth_block(hash).map_err(internal)?;
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
