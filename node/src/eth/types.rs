//! JSON shapes of the Ethereum JSON-RPC API that `pallet_revive` does not define itself: block
//! references, receipts, logs and log filters. Quantities are `0x`-prefixed hex (the
//! `ethereum_types` serde format), field names camelCase as in the Ethereum execution API spec.

use polkadot_sdk::pallet_revive::evm::{Bytes, H160, H256, U256};
use serde::{de::Error as _, Deserialize, Deserializer, Serialize};

/// Which block a call reads: a tag, a number, or a hash (EIP-1898).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BlockRef {
    /// The best block (`latest`).
    #[default]
    Latest,
    /// `pending`: the best block for state (this node builds no pending block), and for
    /// `eth_getTransactionCount` the best block's nonce plus the sender's transactions waiting
    /// in the pool.
    Pending,
    /// The last finalized block (`finalized`, `safe`).
    Finalized,
    /// The genesis block (`earliest`).
    Earliest,
    /// A block number.
    Number(u32),
    /// A block hash.
    Hash(H256),
}

fn parse_number(s: &str) -> Result<u32, String> {
    let hex =
        s.strip_prefix("0x").ok_or_else(|| format!("block number {s:?} is not 0x-prefixed hex"))?;
    u32::from_str_radix(hex, 16).map_err(|_| format!("block number {s:?} is not a valid number"))
}

impl<'de> Deserialize<'de> for BlockRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        match value {
            serde_json::Value::String(s) => match s.as_str() {
                "latest" => Ok(BlockRef::Latest),
                "pending" => Ok(BlockRef::Pending),
                "finalized" | "safe" => Ok(BlockRef::Finalized),
                "earliest" => Ok(BlockRef::Earliest),
                other if other.len() == 66 => {
                    serde_json::from_value(serde_json::Value::String(s.clone()))
                        .map(BlockRef::Hash)
                        .map_err(D::Error::custom)
                }
                other => parse_number(other).map(BlockRef::Number).map_err(D::Error::custom),
            },
            serde_json::Value::Object(map) => {
                if let Some(hash) = map.get("blockHash") {
                    serde_json::from_value(hash.clone())
                        .map(BlockRef::Hash)
                        .map_err(D::Error::custom)
                } else if let Some(serde_json::Value::String(n)) = map.get("blockNumber") {
                    parse_number(n).map(BlockRef::Number).map_err(D::Error::custom)
                } else {
                    Err(D::Error::custom("a block object needs blockHash or blockNumber"))
                }
            }
            other => Err(D::Error::custom(format!("invalid block reference {other}"))),
        }
    }
}

/// An event log of a contract, as part of a receipt or an `eth_getLogs` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Log {
    pub address: H160,
    pub topics: Vec<H256>,
    pub data: Bytes,
    pub block_hash: H256,
    pub block_number: U256,
    pub transaction_hash: H256,
    pub transaction_index: U256,
    pub log_index: U256,
    pub removed: bool,
}

/// A transaction receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    pub block_hash: H256,
    pub block_number: U256,
    pub contract_address: Option<H160>,
    pub cumulative_gas_used: U256,
    pub effective_gas_price: U256,
    pub from: H160,
    pub gas_used: U256,
    pub logs: Vec<Log>,
    pub logs_bloom: Bytes,
    /// 1 success, 0 failure (reverted or failed).
    pub status: U256,
    pub to: Option<H160>,
    pub transaction_hash: H256,
    pub transaction_index: U256,
    #[serde(rename = "type")]
    pub tx_type: U256,
}

/// One address or several (`eth_getLogs` `address`).
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T: PartialEq> OneOrMany<T> {
    /// Whether `item` is (one of) the given value(s); an empty list means "any", as in geth.
    pub fn matches(&self, item: &T) -> bool {
        match self {
            OneOrMany::One(x) => x == item,
            OneOrMany::Many(xs) => xs.is_empty() || xs.contains(item),
        }
    }
}

/// The `eth_getLogs` filter.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Filter {
    pub from_block: Option<BlockRef>,
    pub to_block: Option<BlockRef>,
    pub block_hash: Option<H256>,
    pub address: Option<OneOrMany<H160>>,
    /// Per position: `null` (any), a topic, or a list of alternatives.
    pub topics: Option<Vec<Option<OneOrMany<H256>>>>,
}

impl Filter {
    /// Whether `log` passes the address and topic conditions.
    pub fn matches(&self, log: &Log) -> bool {
        if let Some(address) = &self.address {
            if !address.matches(&log.address) {
                return false;
            }
        }
        if let Some(topics) = &self.topics {
            for (i, wanted) in topics.iter().enumerate() {
                let Some(wanted) = wanted else { continue };
                match log.topics.get(i) {
                    Some(topic) if wanted.matches(topic) => {}
                    _ => return false,
                }
            }
        }
        true
    }
}

/// The answer of `eth_feeHistory`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeeHistory {
    pub oldest_block: U256,
    pub base_fee_per_gas: Vec<U256>,
    pub gas_used_ratio: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reward: Option<Vec<Vec<U256>>>,
}

/// The 2048-bit Ethereum log bloom of `logs` (the yellow paper's M3:2048), by alloy.
pub fn logs_bloom<'a>(logs: impl IntoIterator<Item = &'a Log>) -> [u8; 256] {
    use alloy_core::primitives::{Address, Bloom, B256};
    let mut bloom = Bloom::ZERO;
    for log in logs {
        let topics: Vec<B256> = log.topics.iter().map(|t| B256::from(t.0)).collect();
        bloom.accrue_raw_log(Address::from(log.address.0), &topics);
    }
    bloom.0 .0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log of address `0x01…01` with `topics`.
    fn log_with(topics: Vec<H256>) -> Log {
        Log {
            address: H160::repeat_byte(1),
            topics,
            data: Bytes::default(),
            block_hash: H256::zero(),
            block_number: U256::zero(),
            transaction_hash: H256::zero(),
            transaction_index: U256::zero(),
            log_index: U256::zero(),
            removed: false,
        }
    }

    #[test]
    fn block_refs_parse() {
        let p = |s: &str| serde_json::from_str::<BlockRef>(s);
        assert_eq!(p("\"latest\"").unwrap(), BlockRef::Latest);
        assert_eq!(p("\"pending\"").unwrap(), BlockRef::Pending);
        assert_eq!(p("\"safe\"").unwrap(), BlockRef::Finalized);
        assert_eq!(p("\"earliest\"").unwrap(), BlockRef::Earliest);
        assert_eq!(p("\"0x1f\"").unwrap(), BlockRef::Number(31));
        assert_eq!(p("{\"blockNumber\":\"0x2\"}").unwrap(), BlockRef::Number(2));
        let h = format!("\"0x{}\"", "ab".repeat(32));
        assert_eq!(p(&h).unwrap(), BlockRef::Hash(H256::repeat_byte(0xab)));
        assert!(p("\"12\"").is_err());
        assert!(p("\"0xzz\"").is_err());
        assert!(p("5").is_err());
    }

    #[test]
    fn bloom_of_a_known_log() {
        // The bloom sets three bits (fewer on collision) per item: address and one topic.
        let log = log_with(vec![H256::repeat_byte(2)]);
        let bloom = logs_bloom([&log]);
        let bits: u32 = bloom.iter().map(|b| b.count_ones()).sum();
        assert!((4..=6).contains(&bits), "{bits} bits set");
        assert_eq!(logs_bloom([]), [0u8; 256]);
    }

    #[test]
    fn filters_match_addresses_and_topics() {
        let log = log_with(vec![H256::repeat_byte(2), H256::repeat_byte(3)]);
        let f = |json: &str| serde_json::from_str::<Filter>(json).unwrap();
        let a1 = format!("0x{}", "01".repeat(20));
        let t2 = format!("0x{}", "02".repeat(32));
        let t3 = format!("0x{}", "03".repeat(32));
        let t9 = format!("0x{}", "09".repeat(32));
        assert!(f("{}").matches(&log));
        assert!(f(&format!("{{\"address\":\"{a1}\"}}")).matches(&log));
        assert!(!f(&format!("{{\"address\":[\"0x{}\"]}}", "05".repeat(20))).matches(&log));
        assert!(f(&format!("{{\"topics\":[\"{t2}\"]}}")).matches(&log));
        assert!(f(&format!("{{\"topics\":[null,[\"{t9}\",\"{t3}\"]]}}")).matches(&log));
        assert!(!f(&format!("{{\"topics\":[\"{t3}\"]}}")).matches(&log));
        assert!(!f(&format!("{{\"topics\":[null,null,\"{t2}\"]}}")).matches(&log));
        // Empty lists mean "any" (geth), for the address and for a topic position.
        assert!(f("{\"address\":[]}").matches(&log));
        assert!(f(&format!("{{\"topics\":[[],\"{t3}\"]}}")).matches(&log));
        assert!(!f(&format!("{{\"topics\":[[],\"{t2}\"]}}")).matches(&log));
        assert!(serde_json::from_str::<Filter>("{\"fromBlok\":\"0x1\"}").is_err());
    }
}
