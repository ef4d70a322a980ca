//! The Model Factory on chain: a fine-tuning job's data read from datanet snapshots, and the
//! trained adapter's registration with that provenance.
//!
//! ## Data from a snapshot
//! A job names snapshots (`datanet`, `version`). Their members and each member's content hash
//! are read from the chain ([`snapshot`]); the files come from a directory the job names, laid
//! out as the attribution corpus is (`contributions.json` mapping contribution ids to files), so
//! one directory serves the attribution index and training. Every member must have a file, and
//! each file is checked against the *chain's* hash before anything is trained (a mismatch fails
//! the job, naming the contribution); files beyond the snapshot are not read. Members train in
//! snapshot order (ascending contribution id), so the configuration hash can be recomputed
//! from the chain.
//!
//! ## Access
//! A private datanet's snapshot is trained on only for an owner (the account that will register
//! the adapter) that owns the datanet or holds its access grant: the rule `register_model`
//! applies, checked when the job is created. The chain checks again when the registration is
//! submitted, so a grant revoked meanwhile registers nothing.
//!
//! ## Registration
//! A job that trained on snapshots ends with `Models::register_model` prepared for its owner to
//! sign ([`prepare`]): an adapter over the base model the chain registered under the served
//! base's content hash, with the trained rank, alpha and target modules, the adapter id as the
//! weights hash, the configuration hash, the snapshots as `trained_on`, and the price and
//! developer share given (the base's by default). It is the SCALE-encoded call (`0x`-hex, what
//! Polkadot.js's "submit the following extrinsic → decode" and `api.tx(call)` take) and its
//! BLAKE2b-256 hash. The worker holds no developer key: nothing is on chain until the owner signs,
//! so a job that fails or is cancelled registers nothing.

use super::{rpc::Node, ChainError};
use crate::train::Hyper;
use codec::Encode;
use polkadot_sdk::{
    sp_core::{crypto::Ss58Codec, H256},
    sp_runtime::Permill,
};
use provena_primitives::{
    datanets::Visibility, models::ModelStatus, ContributionId, DatanetId, ModelId, SnapshotVersion,
};
use provena_runtime::{AccountId, Runtime, RuntimeCall};
use serde::{Deserialize, Serialize};

/// The most files a job may read from its snapshots together.
pub const MAX_SNAPSHOT_FILES: usize = 4096;

/// Why a job's chain part is refused.
#[derive(Debug, thiserror::Error)]
pub enum FactoryError {
    /// Something the job names does not exist on chain (404).
    #[error("{message}")]
    NotFound { param: &'static str, message: String },
    /// The owner may not train on a private datanet (403).
    #[error("{0}")]
    NoAccess(String),
    /// A field the chain cannot take (422).
    #[error("{message}")]
    Invalid { param: &'static str, message: String },
    /// The chain could not be asked (503).
    #[error(transparent)]
    Chain(#[from] ChainError),
}

fn invalid(param: &'static str, message: impl Into<String>) -> FactoryError {
    FactoryError::Invalid { param, message: message.into() }
}

/// What a job registers when it succeeds (kept in its record).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Registration {
    /// The account that signs `register_model` (SS58).
    pub owner: String,
    /// The base model's id on chain.
    pub base_model: u64,
    /// The snapshots trained on, `(datanet, version)`.
    pub trained_on: Vec<(DatanetId, SnapshotVersion)>,
    /// Price per 1,000 tokens, in base units.
    #[serde(with = "provena_primitives::serde_helpers::amount")]
    pub price_per_1k_tokens: u128,
    /// The developer's share of revenue, parts per million.
    pub developer_share_ppm: u32,
    /// Where the model card lives.
    pub metadata_uri: String,
}

/// A registration ready to sign.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prepared {
    /// Who must sign it (the datanet access was checked for this account).
    pub signer: String,
    /// `RuntimeCall::Models(register_model { … })`, SCALE-encoded, `0x`-hex.
    pub call: String,
    /// BLAKE2b-256 of `call`.
    pub call_hash: String,
    /// The weights hash it registers: the adapter id.
    pub weights_hash: String,
    /// The training configuration hash it records.
    pub training_config_hash: String,
    pub base_model: u64,
    pub trained_on: Vec<(DatanetId, SnapshotVersion)>,
}

/// The owner the job names, parsed.
pub fn owner_account(owner: &str) -> Result<AccountId, FactoryError> {
    AccountId::from_ss58check(owner)
        .map_err(|e| invalid("owner", format!("{owner} is not an SS58 account ({e:?})")))
}

/// The LoRA alpha as the chain records it: a whole number from 1 to 65,535.
pub fn chain_alpha(hyper: &Hyper) -> Result<u16, FactoryError> {
    let a = hyper.alpha;
    if a.fract() != 0.0 || !(1.0..=f32::from(u16::MAX)).contains(&a) {
        return Err(invalid(
            "alpha",
            format!("{a}: an adapter registered on chain needs a whole alpha from 1 to 65535"),
        ));
    }
    // Checked above: a whole number in range.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let alpha = a as u16;
    Ok(alpha)
}

/// The chain's id of the base model served as `base_hash` (hex), which must be an active base.
pub async fn base_model(
    node: &Node,
    base_hash: &str,
    at: H256,
) -> Result<(ModelId, super::rpc::Model), FactoryError> {
    let bytes = hex::decode(base_hash.trim_start_matches("0x"))
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| invalid("model", format!("{base_hash} is not a content hash")))?;
    let not_registered = || FactoryError::NotFound {
        param: "model",
        message: format!(
            "the base model 0x{} is not registered on chain: register it (models.registerModel) \
             before training an adapter to register over it",
            base_hash.trim_start_matches("0x")
        ),
    };
    let id = node.model_by_weights(H256(bytes), at).await?.ok_or_else(not_registered)?;
    let model = node.model(id, at).await?.ok_or_else(not_registered)?;
    if model.kind != provena_primitives::models::ModelKindInfo::Base {
        return Err(invalid("model", format!("model {} is an adapter, not a base", id.0)));
    }
    if model.status != ModelStatus::Active {
        return Err(invalid("model", format!("the base model {} is deprecated", id.0)));
    }
    Ok((id, model))
}

/// A snapshot's members and their content hashes, in leaf order.
pub struct SnapshotData {
    pub datanet: DatanetId,
    pub version: SnapshotVersion,
    pub members: Vec<(ContributionId, [u8; 32])>,
}

/// Reads snapshot `version` of `datanet` for `owner`, who must be allowed to train on it.
pub async fn snapshot(
    node: &Node,
    owner: &AccountId,
    datanet: DatanetId,
    version: SnapshotVersion,
    at: H256,
) -> Result<SnapshotData, FactoryError> {
    let d = node.datanet(datanet, at).await?.ok_or_else(|| FactoryError::NotFound {
        param: "snapshots",
        message: format!("datanet {datanet} does not exist"),
    })?;
    let s = node.snapshot(datanet, version, at).await?.ok_or_else(|| FactoryError::NotFound {
        param: "snapshots",
        message: format!(
            "datanet {datanet} has no snapshot {version} (it published {})",
            d.snapshot_count
        ),
    })?;
    if d.visibility == Visibility::Private
        && d.owner != *owner
        && !node.has_access_grant(datanet, owner, at).await?
    {
        return Err(FactoryError::NoAccess(format!(
            "datanet {datanet} is private and {owner} holds no access grant to it: request one \
             (datanets.requestAccess) and have its owner grant it"
        )));
    }
    if s.members.len() > MAX_SNAPSHOT_FILES {
        return Err(invalid(
            "snapshots",
            format!(
                "snapshot {version} of datanet {datanet} has more than {MAX_SNAPSHOT_FILES} files"
            ),
        ));
    }
    let mut members = Vec::with_capacity(s.members.len());
    for id in s.members {
        let c = node.contribution(id, at).await?.ok_or_else(|| FactoryError::NotFound {
            param: "snapshots",
            message: format!("contribution {} of snapshot {version} is gone", id.0),
        })?;
        members.push((id, c.content_hash.0));
    }
    Ok(SnapshotData { datanet, version, members })
}

fn hash_of(hex_str: &str, what: &str) -> Result<H256, String> {
    hex::decode(hex_str.trim_start_matches("0x"))
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(H256)
        .ok_or_else(|| format!("the {what} {hex_str} is not a content hash"))
}

/// `register_model` for the adapter `adapter_id` trained with `hyper` (configuration hash
/// `config_hash`), under `reg`'s terms.
pub fn prepare(
    reg: &Registration,
    hyper: &Hyper,
    adapter_id: &str,
    config_hash: &str,
) -> Result<Prepared, String> {
    let weights_hash = hash_of(adapter_id, "adapter id")?;
    let training_config_hash = hash_of(config_hash, "configuration hash")?;
    let alpha = chain_alpha(hyper).map_err(|e| e.to_string())?;
    let rank =
        u16::try_from(hyper.rank).map_err(|_| format!("rank {} is too large", hyper.rank))?;
    let call = RuntimeCall::Models(pallet_models::Call::<Runtime>::register_model {
        kind: pallet_models::ModelKindArg::Adapter {
            base: ModelId(reg.base_model),
            rank,
            alpha,
            target_modules: hyper.target_modules.iter().map(|m| m.as_bytes().to_vec()).collect(),
        },
        weights_hash,
        training_config_hash,
        trained_on: reg.trained_on.clone(),
        price_per_1k_tokens: reg.price_per_1k_tokens,
        developer_share: Permill::from_parts(reg.developer_share_ppm),
        metadata_uri: reg.metadata_uri.as_bytes().to_vec(),
        predecessor: None,
    });
    let encoded = call.encode();
    Ok(Prepared {
        signer: reg.owner.clone(),
        call: super::rpc::hex_of(&encoded),
        call_hash: super::rpc::hex_of(&provena_primitives::content_hash(&encoded).0),
        weights_hash: format!("{weights_hash:?}"),
        training_config_hash: format!("{training_config_hash:?}"),
        base_model: reg.base_model,
        trained_on: reg.trained_on.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use codec::Decode;

    #[test]
    fn the_prepared_call_decodes_to_the_registration() {
        let reg = Registration {
            owner: AccountId::from([7u8; 32]).to_ss58check(),
            base_model: 3,
            trained_on: vec![(1, 2), (4, 1)],
            price_per_1k_tokens: 5_000,
            developer_share_ppm: 250_000,
            metadata_uri: "ipfs://card".into(),
        };
        let hyper = Hyper { rank: 8, alpha: 16.0, ..Hyper::default() };
        let adapter = "ab".repeat(32);
        let config = format!("0x{}", "cd".repeat(32));
        let p = prepare(&reg, &hyper, &adapter, &config).expect("prepared");
        let bytes = hex::decode(p.call.trim_start_matches("0x")).expect("hex");
        let call = RuntimeCall::decode(&mut &bytes[..]).expect("a runtime call");
        let RuntimeCall::Models(pallet_models::Call::register_model {
            kind,
            weights_hash,
            training_config_hash,
            trained_on,
            price_per_1k_tokens,
            developer_share,
            metadata_uri,
            predecessor,
        }) = call
        else {
            panic!("not register_model: {call:?}");
        };
        assert_eq!(
            kind,
            pallet_models::ModelKindArg::Adapter {
                base: ModelId(3),
                rank: 8,
                alpha: 16,
                target_modules: hyper
                    .target_modules
                    .iter()
                    .map(|m| m.as_bytes().to_vec())
                    .collect(),
            }
        );
        assert_eq!(weights_hash, H256([0xab; 32]));
        assert_eq!(training_config_hash, H256([0xcd; 32]));
        assert_eq!(trained_on, vec![(1, 2), (4, 1)]);
        assert_eq!(price_per_1k_tokens, 5_000);
        assert_eq!(developer_share, Permill::from_percent(25));
        assert_eq!(metadata_uri, b"ipfs://card".to_vec());
        assert_eq!(predecessor, None);
        assert_eq!(p.weights_hash, format!("0x{adapter}"));
    }

    #[test]
    fn only_a_whole_alpha_can_be_registered() {
        for (alpha, ok) in [
            (16.0, true),
            (1.0, true),
            (65535.0, true),
            (0.5, false),
            (16.5, false),
            (70000.0, false),
        ] {
            let hyper = Hyper { alpha, ..Hyper::default() };
            assert_eq!(chain_alpha(&hyper).is_ok(), ok, "{alpha}");
        }
    }
}
