//! The Ethereum index on disk: what the endpoint needs to answer for a block once the chain's
//! state at that block is pruned.
//!
//! ## What it holds
//!
//! A ParityDb database of its own, `<chain directory>/eth-index`, next to the chain's database:
//!
//! - per block hash, a [`BlockRecord`]: the runtime's Ethereum block header (`eth_block`), and
//!   for each Ethereum transaction its hash, gas used, effective gas price, success and logs;
//! - per Ethereum transaction hash, the blocks (number, hash) that include it: fork blocks too,
//!   a lookup keeps the one on the best chain;
//! - per block number, the block hashes recorded at that number (for pruning);
//! - the genesis hash it was built for and how far it is pruned.
//!
//! The transactions themselves (their signed payloads, senders and positions) come from the
//! block bodies, which a node keeps for every finalized block by default (`--blocks-pruning
//! archive-canonical`).
//!
//! ## Lifecycle
//!
//! Records are written when a block is imported, whatever imported it (initial sync, warp sync's
//! blocks after the warp point, `import-blocks`, authoring), while its state exists: an import
//! notification pins the block's state until the writer has read it. At start, blocks of the
//! last `depth` that have no record and whose state still exists are filled in. Records of
//! blocks more than `depth` behind the last finalized block are deleted as finality advances.
//! `--eth-index-rebuild` deletes the index and builds it again from the state the node still has
//! (all of it on an archive node, `--state-pruning archive`; the last 256 blocks by default).

use std::{
    collections::{hash_map::Entry, HashMap},
    path::{Path, PathBuf},
    sync::Mutex,
};

use codec::{Decode, Encode};
use pallet_revive::{
    evm::{H160, H256},
    pallet_revive_types::runtime_api::{BlockV1, ReceiptGasInfoV1},
};
use polkadot_sdk::pallet_revive;
use provena_runtime::BlockNumber;

/// Block hash → [`BlockRecord`].
const COL_BLOCKS: u8 = 0;
/// Transaction hash → `Vec<(BlockNumber, H256)>`.
const COL_TXS: u8 = 1;
/// Block number (big endian) → `Vec<H256>`.
const COL_NUMBERS: u8 = 2;
/// `GENESIS`, `PRUNED_BELOW`, `FORMAT`.
const COL_META: u8 = 3;
const COLUMNS: u8 = 4;

const GENESIS: &[u8] = b"genesis";
const PRUNED_BELOW: &[u8] = b"pruned_below";
const FORMAT: &[u8] = b"format";
/// The layout of the records; another value means the index is rebuilt.
const FORMAT_VERSION: u32 = 1;

/// A log a contract emitted in an Ethereum transaction.
#[derive(Clone, Debug, Encode, Decode, PartialEq, Eq)]
pub(super) struct LogRecord {
    pub(super) address: H160,
    pub(super) topics: Vec<H256>,
    pub(super) data: Vec<u8>,
}

/// What a receipt needs besides the transaction itself.
#[derive(Clone, Debug, Encode, Decode, PartialEq, Eq)]
pub(super) struct TxRecord {
    pub(super) hash: H256,
    pub(super) gas: ReceiptGasInfoV1,
    pub(super) failed: bool,
    /// Empty when it failed (a failed transaction's logs are rolled back).
    pub(super) logs: Vec<LogRecord>,
}

/// What the Ethereum view of a block needs from the block's state.
#[derive(Clone, Debug, Encode, Decode, PartialEq, Eq)]
pub(super) struct BlockRecord {
    pub(super) number: BlockNumber,
    /// The runtime's Ethereum block, without its transaction list (the body has it).
    pub(super) eth_block: BlockV1,
    /// The block's Ethereum transactions, in order.
    pub(super) txs: Vec<TxRecord>,
}

/// The index database.
pub struct Store {
    db: parity_db::Db,
    /// Serializes read-modify-write updates of the transaction column.
    write: Mutex<()>,
}

/// Where the index of a chain lives, given the chain's configuration directory.
pub fn path_in(chain_dir: &Path) -> PathBuf {
    chain_dir.join("eth-index")
}

fn db_error(e: parity_db::Error) -> String {
    format!("the Ethereum index database: {e}")
}

impl Store {
    /// Opens (or creates) the index at `path` for the chain with `genesis`. An index of another
    /// chain, of another layout or `rebuild` is deleted first.
    pub(super) fn open(path: &Path, genesis: H256, rebuild: bool) -> Result<Self, String> {
        let mut options = parity_db::Options::with_columns(path, COLUMNS);
        for col in [COL_BLOCKS, COL_TXS] {
            options.columns[usize::from(col)].uniform = true;
        }
        options.columns[usize::from(COL_BLOCKS)].compression = parity_db::CompressionType::Lz4;
        options.compression_threshold.insert(COL_BLOCKS, 128);
        if rebuild && path.exists() {
            log::info!(target: "eth-rpc", "rebuilding the Ethereum index at {}", path.display());
            std::fs::remove_dir_all(path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let store = Self::open_with(&options)?;
        let genesis_ok = store.meta(GENESIS)? == Some(genesis.encode());
        let format_ok = store.meta(FORMAT)? == Some(FORMAT_VERSION.encode());
        let empty = store.meta(GENESIS)?.is_none();
        if empty || (genesis_ok && format_ok) {
            if empty {
                store.commit(vec![
                    (COL_META, GENESIS.to_vec(), Some(genesis.encode())),
                    (COL_META, FORMAT.to_vec(), Some(FORMAT_VERSION.encode())),
                ])?;
            }
            return Ok(store);
        }
        log::warn!(
            target: "eth-rpc",
            "the Ethereum index at {} belongs to another chain or layout: rebuilding it",
            path.display()
        );
        drop(store);
        std::fs::remove_dir_all(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::open(path, genesis, false)
    }

    fn open_with(options: &parity_db::Options) -> Result<Self, String> {
        let db = parity_db::Db::open_or_create(options).map_err(db_error)?;
        Ok(Store { db, write: Mutex::new(()) })
    }

    fn meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        self.db.get(COL_META, key).map_err(db_error)
    }

    fn commit(&self, changes: Vec<(u8, Vec<u8>, Option<Vec<u8>>)>) -> Result<(), String> {
        self.db.commit(changes).map_err(db_error)
    }

    fn get<T: Decode>(&self, col: u8, key: &[u8]) -> Result<Option<T>, String> {
        match self.db.get(col, key).map_err(db_error)? {
            Some(raw) => T::decode(&mut &raw[..])
                .map(Some)
                .map_err(|e| format!("the Ethereum index holds an undecodable value: {e}")),
            None => Ok(None),
        }
    }

    /// The record of block `hash`, if indexed.
    pub(super) fn block(&self, hash: H256) -> Result<Option<BlockRecord>, String> {
        self.get(COL_BLOCKS, hash.as_bytes())
    }

    /// Whether block `hash` is indexed.
    pub(super) fn contains(&self, hash: H256) -> Result<bool, String> {
        Ok(self.db.get_size(COL_BLOCKS, hash.as_bytes()).map_err(db_error)?.is_some())
    }

    /// The indexed blocks that include transaction `tx`.
    pub(super) fn blocks_of(&self, tx: H256) -> Result<Vec<(BlockNumber, H256)>, String> {
        Ok(self.get(COL_TXS, tx.as_bytes())?.unwrap_or_default())
    }

    /// Blocks below this number are pruned.
    pub(super) fn pruned_below(&self) -> Result<BlockNumber, String> {
        Ok(self.get(COL_META, PRUNED_BELOW)?.unwrap_or(0))
    }

    /// Records block `hash` (a block recorded twice is recorded once).
    pub(super) fn insert(&self, hash: H256, record: &BlockRecord) -> Result<(), String> {
        let _guard = self.write.lock().map_err(|_| "the Ethereum index lock is poisoned")?;
        if self.contains(hash)? {
            return Ok(());
        }
        let number = record.number;
        let mut changes = vec![(COL_BLOCKS, hash.as_bytes().to_vec(), Some(record.encode()))];
        let number_key = number.to_be_bytes().to_vec();
        let mut at_number: Vec<H256> = self.get(COL_NUMBERS, &number_key)?.unwrap_or_default();
        at_number.push(hash);
        changes.push((COL_NUMBERS, number_key, Some(at_number.encode())));
        for tx in &record.txs {
            let mut blocks = self.blocks_of(tx.hash)?;
            if !blocks.contains(&(number, hash)) {
                blocks.push((number, hash));
            }
            changes.push((COL_TXS, tx.hash.as_bytes().to_vec(), Some(blocks.encode())));
        }
        self.commit(changes)
    }

    /// Deletes the records of blocks below `keep_from`, at most `max` block numbers at a time
    /// in one commit (called again as finality advances); returns how many numbers it pruned.
    pub(super) fn prune(&self, keep_from: BlockNumber, max: u32) -> Result<u32, String> {
        let _guard = self.write.lock().map_err(|_| "the Ethereum index lock is poisoned")?;
        let from = self.pruned_below()?;
        let to = keep_from.min(from.saturating_add(max));
        if to <= from {
            return Ok(0);
        }
        let mut changes = Vec::new();
        // The transactions' entries as this batch leaves them (one may be in several blocks).
        let mut txs: HashMap<H256, Vec<(BlockNumber, H256)>> = HashMap::new();
        for number in from..to {
            let number_key = number.to_be_bytes().to_vec();
            let Some(hashes) = self.get::<Vec<H256>>(COL_NUMBERS, &number_key)? else { continue };
            changes.push((COL_NUMBERS, number_key, None));
            for hash in hashes {
                if let Some(record) = self.block(hash)? {
                    for tx in record.txs {
                        let blocks = match txs.entry(tx.hash) {
                            Entry::Occupied(e) => e.into_mut(),
                            Entry::Vacant(e) => e.insert(self.blocks_of(tx.hash)?),
                        };
                        blocks.retain(|(n, _)| *n != number);
                    }
                }
                changes.push((COL_BLOCKS, hash.as_bytes().to_vec(), None));
            }
        }
        for (tx, blocks) in txs {
            let value = (!blocks.is_empty()).then(|| blocks.encode());
            changes.push((COL_TXS, tx.as_bytes().to_vec(), value));
        }
        changes.push((COL_META, PRUNED_BELOW.to_vec(), Some(to.encode())));
        self.commit(changes)?;
        Ok(to.saturating_sub(from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(number: BlockNumber, txs: &[H256]) -> BlockRecord {
        BlockRecord {
            number,
            eth_block: BlockV1::default(),
            txs: txs
                .iter()
                .map(|hash| TxRecord {
                    hash: *hash,
                    gas: ReceiptGasInfoV1::default(),
                    failed: false,
                    logs: vec![LogRecord {
                        address: H160::repeat_byte(9),
                        topics: vec![H256::repeat_byte(8)],
                        data: vec![1, 2, 3],
                    }],
                })
                .collect(),
        }
    }

    #[test]
    fn records_survive_reopening_and_are_pruned_by_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(dir.path());
        let genesis = H256::repeat_byte(0x99);
        let (a, b) = (H256::repeat_byte(1), H256::repeat_byte(2));
        let (block1, fork1, fork2, block5) = (
            H256::repeat_byte(0x11),
            H256::repeat_byte(0x12),
            H256::repeat_byte(0x22),
            H256::repeat_byte(0x55),
        );
        {
            let store = Store::open(&path, genesis, false).unwrap();
            store.insert(block1, &record(1, &[a])).unwrap();
            store.insert(fork1, &record(1, &[a])).unwrap();
            // The same transaction again in a fork block at height 2.
            store.insert(fork2, &record(2, &[a])).unwrap();
            store.insert(block5, &record(5, &[b])).unwrap();
            // Recording a block again changes nothing.
            store.insert(block5, &record(5, &[b])).unwrap();
            assert_eq!(store.blocks_of(b).unwrap(), vec![(5, block5)]);
        }
        let store = Store::open(&path, genesis, false).unwrap();
        assert_eq!(store.blocks_of(a).unwrap(), vec![(1, block1), (1, fork1), (2, fork2)]);
        assert_eq!(store.block(block5).unwrap(), Some(record(5, &[b])));
        // Pruning below 3: numbers 0 and 1 first, then 2 with the rest of the batch.
        assert_eq!(store.prune(3, 2).unwrap(), 2);
        assert_eq!(store.pruned_below().unwrap(), 2);
        assert_eq!(store.blocks_of(a).unwrap(), vec![(2, fork2)]);
        assert_eq!(store.prune(3, 100).unwrap(), 1);
        assert_eq!(store.prune(3, 100).unwrap(), 0);
        assert!(store.blocks_of(a).unwrap().is_empty());
        assert!(!store.contains(block1).unwrap() && !store.contains(fork1).unwrap());
        assert!(!store.contains(fork2).unwrap());
        assert!(store.contains(block5).unwrap());
        // One batch over both heights of a transaction leaves nothing behind.
        store.insert(H256::repeat_byte(0x66), &record(6, &[b])).unwrap();
        store.insert(H256::repeat_byte(0x77), &record(7, &[b])).unwrap();
        assert_eq!(store.prune(8, 100).unwrap(), 5);
        assert!(store.blocks_of(b).unwrap().is_empty());
        drop(store);
        // Another chain's index is rebuilt, and so is one asked to be.
        let other = Store::open(&path, H256::repeat_byte(0x77), false).unwrap();
        assert_eq!(other.pruned_below().unwrap(), 0);
        other.insert(block5, &record(5, &[b])).unwrap();
        drop(other);
        let again = Store::open(&path, H256::repeat_byte(0x77), false).unwrap();
        assert!(again.contains(block5).unwrap());
        drop(again);
        let rebuilt = Store::open(&path, H256::repeat_byte(0x77), true).unwrap();
        assert!(!rebuilt.contains(block5).unwrap());
    }
}
