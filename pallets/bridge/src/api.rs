//! What the runtime API (`provena_primitives::bridge::BridgeApi`) answers.

use crate::{
    BalanceOf, Config, CurrentCommittee, Epochs, InboundApprovals, InboundTransfer,
    NextAttributionEpoch, NextEpoch, NextInboundNonce, NextOutboundNonce, Pallet, Paused,
    Rotations, Target, TotalLocked,
};
use alloc::vec::Vec;
use polkadot_sdk::{
    frame_support::pallet_prelude::Get,
    sp_core::{H160, H256},
};
use provena_primitives::bridge::{BridgeEpoch, BridgeRotation, BridgeStatus};

impl<T: Config> Pallet<T> {
    /// Where the bridge stands.
    pub fn status() -> BridgeStatus<BalanceOf<T>> {
        BridgeStatus {
            target: Target::<T>::get(),
            committee: CurrentCommittee::<T>::get()
                .map(|c| (c.id, c.members.to_vec(), c.threshold)),
            paused: Paused::<T>::get(),
            provena_chain_id: T::ProvenaChainId::get(),
            next_outbound_nonce: NextOutboundNonce::<T>::get(),
            next_inbound_nonce: NextInboundNonce::<T>::get(),
            next_epoch: NextEpoch::<T>::get(),
            epoch_retention: T::EpochRetention::get(),
            next_attribution_epoch: NextAttributionEpoch::<T>::get(),
            total_locked: TotalLocked::<T>::get(),
        }
    }

    /// A retained closed epoch.
    pub fn epoch_info(epoch: u64) -> Option<BridgeEpoch> {
        Epochs::<T>::get(epoch).map(|e| BridgeEpoch {
            root: e.root,
            leaf_count: e.leaf_count,
            committee: e.committee,
            signatures: e.signatures.to_vec(),
            signed: e.signed,
        })
    }

    /// A kept committee handover.
    pub fn rotation_info(to: u32) -> Option<BridgeRotation> {
        Rotations::<T>::get(to).map(|r| BridgeRotation {
            from: r.from.id,
            from_members: r.from.members.to_vec(),
            from_threshold: r.from.threshold,
            to: r.to.id,
            members: r.to.members.to_vec(),
            threshold: r.to.threshold,
            signatures: r.signatures.to_vec(),
            signed: r.signed,
        })
    }

    /// The digest the current committee signs for a burn with `nonce` (see `BridgeApi`).
    pub fn inbound_digest_for(
        nonce: u64,
        recipient: T::AccountId,
        amount: BalanceOf<T>,
    ) -> Option<H256> {
        let (source_chain_id, contract) = Target::<T>::get()?;
        let transfer = InboundTransfer { source_chain_id, contract, nonce, recipient, amount };
        Self::inbound_digest(&transfer).ok()
    }

    /// The approvals of nonce `nonce`: digest and signers.
    pub fn approvals(nonce: u64) -> Vec<(H256, Vec<H160>)> {
        InboundApprovals::<T>::iter_prefix(nonce)
            .map(|(d, a)| (d, a.signatures.iter().map(|(m, _)| *m).collect()))
            .collect()
    }
}
