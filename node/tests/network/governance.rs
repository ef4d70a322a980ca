//! The network test's governance scenario: items the upgrade must keep, and a root referendum
//! the development accounts pass.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{
    self, batch, contribute, create_public_datanet, open_referenda, sign, submit_and_wait_in_block,
    succeeded,
};
use jsonrpsee::ws_client::WsClient;
use polkadot_sdk::{frame_system::RawOrigin, sp_keyring::Sr25519Keyring};
use provena_primitives::{currency::OPEN, ContributionId, ModelId};
use provena_runtime::{OriginCaller, Runtime, RuntimeCall, RuntimeEvent};

/// The storage keys of a datanet and a model created before the upgrade, with their encoded
/// values then.
pub struct Items(Vec<(Vec<u8>, Vec<u8>)>);

/// Creates, as `owner`, a datanet with an accepted contribution in snapshot 1 and a base model
/// trained on it; returns them as stored.
pub async fn items_before_upgrade(c: &WsClient, owner: Sr25519Keyring) -> Items {
    let dn = |call| RuntimeCall::Datanets(call);
    let create = batch(vec![create_public_datanet("Before the upgrade"), contribute(0, 0x5a)]);
    let block = submit_and_wait_in_block(c, &sign(c, owner, create).await).await;
    let evs = succeeded(c, block).await;
    let datanet = evs
        .iter()
        .find_map(|e| match e {
            RuntimeEvent::Datanets(pallet_datanets::Event::DatanetCreated { datanet, .. }) => {
                Some(*datanet)
            }
            _ => None,
        })
        .expect("DatanetCreated");
    assert_eq!(datanet, 0, "the network test's first datanet");
    let publish = batch(vec![
        dn(pallet_datanets::Call::review {
            contribution: ContributionId(0),
            verdict: pallet_datanets::Verdict::Accept { quality: 70 },
        }),
        dn(pallet_datanets::Call::publish_snapshot { datanet }),
        common::register_base_model(),
    ]);
    succeeded(c, submit_and_wait_in_block(c, &sign(c, owner, publish).await).await).await;
    let keys = [
        pallet_datanets::Datanets::<Runtime>::hashed_key_for(datanet),
        pallet_datanets::Contributions::<Runtime>::hashed_key_for(ContributionId(0)),
        pallet_models::Models::<Runtime>::hashed_key_for(ModelId(0)),
    ];
    let mut items = Vec::new();
    for key in keys {
        let value = raw(c, &key).await.expect("created before the upgrade");
        items.push((key, value));
    }
    Items(items)
}

/// Reads the items back after the upgrade: the same values under the same keys.
pub async fn items_after_upgrade(c: &WsClient, items: &Items) {
    for (key, before) in &items.0 {
        assert_eq!(raw(c, key).await.as_ref(), Some(before), "kept across the upgrade");
    }
}

async fn raw(c: &WsClient, key: &[u8]) -> Option<Vec<u8>> {
    use jsonrpsee::{core::client::ClientT, rpc_params};
    let v: Option<String> =
        c.request("state_getStorage", rpc_params![common::to_hex(key)]).await.unwrap();
    v.map(|hex| common::from_hex(&hex))
}

/// Opens a root referendum on `call` (Alice proposes) and has the twelve well-known development
/// accounts vote aye with 900,000 OPEN each: more than half of the OPEN that can vote on the
/// local testnet, so it passes as soon as it is decided.
pub async fn pass_root_referendum(c: &WsClient, call: RuntimeCall) -> u32 {
    let voters: Vec<Sr25519Keyring> = Sr25519Keyring::well_known().collect();
    let origin = OriginCaller::system(RawOrigin::Root);
    open_referenda(c, Sr25519Keyring::Alice, vec![(origin, call)], &voters, 900_000 * OPEN).await[0]
}
