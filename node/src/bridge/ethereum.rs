//! The relayer's Ethereum side: JSON-RPC over WebSocket to any Ethereum node, the bridge
//! contract's ABI (`pallets/bridge/solidity/contracts/ProvenaBridge.sol`), signed transactions.

use super::Error;
use alloy_core::{
    primitives::{Address, B256},
    sol_types::{SolCall, SolEvent},
};
use jsonrpsee::{
    core::client::ClientT,
    rpc_params,
    ws_client::{WsClient, WsClientBuilder},
};
use polkadot_sdk::{
    pallet_revive::evm::{Account, Bytes, TransactionLegacyUnsigned, U256},
    sp_core::{H160, H256},
};
use serde_json::Value;
use std::time::{Duration, Instant};

alloy_core::sol! {
    interface IProvenaBridge {
        function committeeId() external view returns (uint32);
        function epochRoots(uint64 epoch) external view returns (bytes32);
        function claimed(uint64 nonce) external view returns (bool);
        function attributionRoots(uint64 epoch) external view returns (bytes32);
        function paused() external view returns (bool);
        function provenaChainId() external view returns (uint64);
        function submitRoot(uint64 epoch, bytes32 root, uint32 committee_, bytes[] signatures) external;
        function claim(uint64 epoch, uint64 nonce, address recipient, uint256 amount, bytes32[] proof, uint32 index, uint32 count) external;
        function settleAttribution(uint64 epoch, uint64 attributionEpoch, bytes32 receiptsRoot, uint32 receipts, bytes32[] proof, uint32 index, uint32 count) external;
        function rotate(uint32 newId, address[] newMembers, uint32 newThreshold, bytes[] signatures) external;
        event Burned(uint64 indexed nonce, address indexed sender, bytes32 recipient, uint256 amount);
    }
}

pub use IProvenaBridge::*;

/// A burn on Ethereum: a transfer back to Provena.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Burn {
    pub nonce: u64,
    pub recipient: [u8; 32],
    pub amount: u128,
    /// The Ethereum block it is in.
    pub block: u64,
}

/// An Ethereum endpoint and the bridge contract on it.
pub struct Ethereum {
    client: WsClient,
    pub contract: H160,
    pub chain_id: u64,
    /// Pays the gas of what the relayer sends (none: it only reads).
    account: Option<Account>,
}

fn quantity(v: &Value) -> Result<u128, Error> {
    let s = v.as_str().ok_or_else(|| Error::Ethereum(format!("not a quantity: {v}")))?;
    u128::from_str_radix(s.trim_start_matches("0x"), 16)
        .map_err(|e| Error::Ethereum(format!("bad quantity {s}: {e}")))
}

fn hex_bytes(v: &Value) -> Result<Vec<u8>, Error> {
    let s = v.as_str().ok_or_else(|| Error::Ethereum(format!("not hex: {v}")))?;
    hex::decode(s.trim_start_matches("0x")).map_err(|e| Error::Ethereum(format!("bad hex: {e}")))
}

impl Ethereum {
    /// Connects to `url` (WebSocket) and checks that `contract` has code.
    pub async fn connect(url: &str, contract: H160, key: Option<[u8; 32]>) -> Result<Self, Error> {
        let client = WsClientBuilder::default()
            .request_timeout(Duration::from_secs(60))
            .build(url)
            .await
            .map_err(|e| Error::Ethereum(format!("cannot connect to {url}: {e}")))?;
        let chain_id: Value = client.request("eth_chainId", rpc_params![]).await?;
        let chain_id = u64::try_from(quantity(&chain_id)?)
            .map_err(|_| Error::Ethereum("chain id over u64".into()))?;
        let this = Self { client, contract, chain_id, account: key.map(Account::from_secret_key) };
        let code: Value = this
            .client
            .request("eth_getCode", rpc_params![format!("{contract:?}"), "latest"])
            .await?;
        if hex_bytes(&code)?.is_empty() {
            return Err(Error::Ethereum(format!("no contract at {contract:?}")));
        }
        Ok(this)
    }

    /// The address that pays for transactions, if any.
    pub fn sender(&self) -> Option<H160> {
        self.account.as_ref().map(|a| a.address())
    }

    /// The latest block number.
    pub async fn head(&self) -> Result<u64, Error> {
        let n: Value = self.client.request("eth_blockNumber", rpc_params![]).await?;
        u64::try_from(quantity(&n)?).map_err(|_| Error::Ethereum("block number over u64".into()))
    }

    fn tx_object(&self, input: &[u8]) -> Value {
        let mut call = serde_json::json!({
            "to": format!("{:?}", self.contract),
            "input": format!("0x{}", hex::encode(input)),
        });
        if let Some(from) = self.sender() {
            call["from"] = format!("{from:?}").into();
        }
        call
    }

    /// Calls a view of the contract at the latest block.
    pub async fn view<C: SolCall>(&self, call: C) -> Result<C::Return, Error> {
        let data: Value = self
            .client
            .request("eth_call", rpc_params![self.tx_object(&call.abi_encode()), "latest"])
            .await?;
        C::abi_decode_returns(&hex_bytes(&data)?)
            .map_err(|e| Error::Ethereum(format!("cannot decode {}: {e}", C::SIGNATURE)))
    }

    /// Sends `call` to the contract if it would succeed now, and waits for it to be mined.
    /// `Ok(false)`: it would revert (already done, or not yet possible), nothing sent.
    pub async fn send<C: SolCall>(&self, call: C) -> Result<bool, Error> {
        let account = self.account.as_ref().ok_or(Error::NoEthereumKey)?;
        let input = call.abi_encode();
        let gas: Value =
            match self.client.request("eth_estimateGas", rpc_params![self.tx_object(&input)]).await
            {
                Ok(gas) => gas,
                Err(e) => {
                    log::debug!(target: super::LOG, "{} would revert, not sent: {e}", C::SIGNATURE);
                    return Ok(false);
                }
            };
        let from = format!("{:?}", account.address());
        let nonce: Value =
            self.client.request("eth_getTransactionCount", rpc_params![&from, "pending"]).await?;
        let gas_price: Value = self.client.request("eth_gasPrice", rpc_params![]).await?;
        // A fifth over the estimate: state may move between the estimate and inclusion.
        let gas = quantity(&gas)?.saturating_mul(6) / 5;
        let tx = TransactionLegacyUnsigned {
            chain_id: Some(U256::from(self.chain_id)),
            gas: U256::from(gas),
            gas_price: U256::from(quantity(&gas_price)?),
            input: Bytes(input),
            nonce: U256::from(quantity(&nonce)?),
            to: Some(self.contract),
            value: U256::zero(),
            ..Default::default()
        };
        let raw = account.sign_transaction(tx.into()).signed_payload();
        let hash: Value = self
            .client
            .request("eth_sendRawTransaction", rpc_params![format!("0x{}", hex::encode(&raw))])
            .await?;
        let hash: H256 = serde_json::from_value(hash)
            .map_err(|e| Error::Ethereum(format!("bad transaction hash: {e}")))?;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let receipt: Value =
                self.client.request("eth_getTransactionReceipt", rpc_params![hash]).await?;
            if !receipt.is_null() {
                if quantity(&receipt["status"])? != 1 {
                    return Err(Error::Ethereum(format!("{} {hash:?} reverted", C::SIGNATURE)));
                }
                log::info!(target: super::LOG, "Ethereum: {} in {hash:?}", C::SIGNATURE);
                return Ok(true);
            }
            if Instant::now() > deadline {
                return Err(Error::Ethereum(format!("{hash:?} not mined within 120 s")));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The contract's burns in blocks `from..=to`.
    pub async fn burns(&self, from: u64, to: u64) -> Result<Vec<Burn>, Error> {
        let filter = serde_json::json!({
            "address": format!("{:?}", self.contract),
            "fromBlock": format!("{from:#x}"),
            "toBlock": format!("{to:#x}"),
            "topics": [format!("{:?}", H256(Burned::SIGNATURE_HASH.0))],
        });
        let logs: Vec<Value> = self.client.request("eth_getLogs", rpc_params![filter]).await?;
        let mut burns = Vec::with_capacity(logs.len());
        for log in logs {
            let topics: Vec<B256> = log["topics"]
                .as_array()
                .map(|t| t.iter().filter_map(|t| serde_json::from_value(t.clone()).ok()).collect())
                .unwrap_or_default();
            let data = hex_bytes(&log["data"])?;
            let burn = Burned::decode_raw_log(topics, &data)
                .map_err(|e| Error::Ethereum(format!("bad Burned log: {e}")))?;
            let amount = u128::try_from(burn.amount)
                .map_err(|_| Error::Ethereum("a burn over u128".into()))?;
            let block = u64::try_from(quantity(&log["blockNumber"])?).unwrap_or(u64::MAX);
            burns.push(Burn { nonce: burn.nonce, recipient: burn.recipient.0, amount, block });
        }
        Ok(burns)
    }
}

/// An Ethereum address as the ABI types hold it.
pub fn address(a: &H160) -> Address {
    Address::from(a.0)
}

/// 32 bytes as the ABI types hold them.
pub fn word(h: &H256) -> B256 {
    B256::from(h.0)
}

/// A signature as the contract expects it: `r ‖ s ‖ v` with `v` 27 or 28.
pub fn signature(sig: &[u8; 65]) -> alloy_core::primitives::Bytes {
    let mut s = *sig;
    if s[64] < 27 {
        s[64] = s[64].saturating_add(27);
    }
    alloy_core::primitives::Bytes::from(s.to_vec())
}
