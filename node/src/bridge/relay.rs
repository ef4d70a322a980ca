//! One relayer round: what the committee member signs, what goes to Ethereum, what comes back.

use super::{
    ethereum::{self, Ethereum},
    provena::Provena,
    Error, LOG,
};
use pallet_bridge::{message::Domain, InboundTransfer};
use polkadot_sdk::sp_core::{ecdsa, H160, H256};
use provena_primitives::{bridge::BridgeStatus, AccountId, Balance};
use provena_runtime::RuntimeCall;
use serde::{Deserialize, Serialize};
use std::{
    collections::HashMap,
    path::PathBuf,
    time::{Duration, Instant},
};

/// How long a submitted Provena transaction is given to be finalized before it is sent again.
const IN_FLIGHT: Duration = Duration::from_secs(60);
/// Handovers kept on Provena (`RotationRetention`): the most the contract can be behind.
const ROTATIONS_KEPT: u32 = 8;
/// Nonces past the next that members may approve (`InboundWindow`).
const INBOUND_WINDOW: u64 = 16;

/// The relayer's cursors: everything before them is done on both chains.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cursors {
    /// Transfers out with lower nonces are claimed on Ethereum.
    pub next_claim_nonce: u64,
    /// Attribution epochs before it are settled on Ethereum.
    pub next_attribution_epoch: u64,
    /// Burns in blocks before it are released on Provena.
    pub burn_scan_from: u64,
}

pub struct Relayer {
    provena: Provena,
    eth: Ethereum,
    member: Option<(ecdsa::Pair, H160)>,
    state_file: PathBuf,
    cursors: Cursors,
    confirmations: u64,
    /// Provena transactions sent and not yet seen finalized, by what they do.
    in_flight: HashMap<String, Instant>,
}

/// The Ethereum address of a secp256k1 key.
fn address_of(pair: &ecdsa::Pair) -> Option<H160> {
    let digest = [0x11u8; 32];
    pallet_bridge::message::signer(&digest, &pair.sign_prehashed(&digest).0)
}

impl Relayer {
    pub fn new(
        provena: Provena,
        eth: Ethereum,
        committee_key: Option<ecdsa::Pair>,
        state_file: PathBuf,
        confirmations: u64,
    ) -> Result<Self, Error> {
        let member = match committee_key {
            Some(k) => {
                let a = address_of(&k)
                    .ok_or_else(|| Error::Config("the committee key signs nothing".into()))?;
                Some((k, a))
            }
            None => None,
        };
        let cursors = match std::fs::read(&state_file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::Config(format!("{}: not a relayer state: {e}", state_file.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Cursors::default(),
            Err(e) => return Err(Error::Config(format!("{}: {e}", state_file.display()))),
        };
        log::info!(target: LOG, "starting from {cursors:?}");
        Ok(Self {
            provena,
            eth,
            member,
            state_file,
            cursors,
            confirmations,
            in_flight: HashMap::new(),
        })
    }

    pub fn eth_chain_id(&self) -> u64 {
        self.eth.chain_id
    }

    /// Writes the cursors (a new file renamed over the old, so a kill leaves one or the other).
    fn save(&self) -> Result<(), Error> {
        let tmp = self.state_file.with_extension("json.new");
        let bytes = serde_json::to_vec_pretty(&self.cursors)
            .map_err(|e| Error::Config(format!("cannot encode the state: {e}")))?;
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, &self.state_file))
            .map_err(|e| Error::Config(format!("{}: {e}", self.state_file.display())))
    }

    /// Submits `call` unless the same action was submitted less than [`IN_FLIGHT`] ago.
    async fn submit_once(&mut self, action: String, call: RuntimeCall) -> Result<(), Error> {
        if self.in_flight.get(&action).is_some_and(|at| at.elapsed() < IN_FLIGHT) {
            return Ok(());
        }
        match self.provena.submit(call).await {
            Ok(hash) => {
                log::info!(target: LOG, "Provena: {action} in {hash:?}");
                self.in_flight.insert(action, Instant::now());
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// One round: Provena's finalized state and Ethereum's, and whatever either lacks.
    pub async fn round(&mut self) -> Result<(), Error> {
        self.in_flight.retain(|_, at| at.elapsed() < IN_FLIGHT);
        let at = self.provena.finalized().await?;
        let status = self.provena.status(at).await?;
        let Some((target_chain, target_contract)) = status.target else {
            log::debug!(target: LOG, "the bridge has no target yet");
            return Ok(());
        };
        if (target_chain, target_contract) != (self.eth.chain_id, self.eth.contract) {
            return Err(Error::Config(format!(
                "Provena's bridge targets contract {target_contract:?} on chain {target_chain}, \
                 not {:?} on chain {}",
                self.eth.contract, self.eth.chain_id
            )));
        }
        let domain = Domain {
            provena_chain_id: status.provena_chain_id,
            eth_chain_id: target_chain,
            contract: target_contract,
        };
        if status.paused {
            log::info!(target: LOG, "the bridge is paused on Provena");
            return Ok(());
        }
        self.sign(&status, &domain, at).await?;
        if self.eth.sender().is_some() && !self.eth.view(ethereum::pausedCall {}).await? {
            // Roots the contract's committee signed go before a handover makes them stale.
            self.relay_roots(&status, at).await?;
            self.relay_rotations(&status, at).await?;
            self.relay_roots(&status, at).await?;
            self.relay_claims(&status, at).await?;
            self.relay_attribution(&status, at).await?;
        }
        self.relay_burns(&status, &domain, at).await?;
        self.save()
    }

    /// As a committee member: signs open epoch roots and owed handovers.
    async fn sign(
        &mut self,
        status: &BridgeStatus<Balance>,
        domain: &Domain,
        at: H256,
    ) -> Result<(), Error> {
        let Some((key, me)) = self.member.clone() else { return Ok(()) };
        let Some((committee, members, _)) = status.committee.clone() else { return Ok(()) };
        if members.contains(&me) {
            for epoch in status.next_epoch.saturating_sub(status.epoch_retention)..status.next_epoch
            {
                let Some(e) = self.provena.epoch(epoch, at).await? else { continue };
                // Signed by this committee, or by this member: done. (A root an earlier committee
                // signed is signed again, in case it did not reach the contract before the
                // rotation did.)
                if e.committee == committee
                    && (e.signed || e.signatures.iter().any(|(m, _)| *m == me))
                {
                    continue;
                }
                if e.committee != committee
                    && !self.eth.view(ethereum::epochRootsCall { epoch }).await?.is_zero()
                {
                    continue;
                }
                let signature =
                    key.sign_prehashed(&domain.root_digest(committee, epoch, &e.root)).0;
                let call =
                    RuntimeCall::Bridge(pallet_bridge::Call::submit_signature { epoch, signature });
                self.submit_once(format!("sign root {epoch}"), call).await?;
            }
        }
        for to in committee.saturating_sub(ROTATIONS_KEPT - 1).max(1)..=committee {
            let Some(r) = self.provena.rotation(to, at).await? else { continue };
            if r.signed
                || !r.from_members.contains(&me)
                || r.signatures.iter().any(|(m, _)| *m == me)
            {
                continue;
            }
            let digest = domain.rotation_digest(r.from, r.to, r.threshold, &r.members);
            let call = RuntimeCall::Bridge(pallet_bridge::Call::sign_rotation {
                to,
                signature: key.sign_prehashed(&digest).0,
            });
            self.submit_once(format!("sign handover {to}"), call).await?;
        }
        Ok(())
    }

    /// Carries signed handovers to the contract, in order.
    async fn relay_rotations(&self, status: &BridgeStatus<Balance>, at: H256) -> Result<(), Error> {
        let Some((current, _, _)) = status.committee else { return Ok(()) };
        let mut on_eth = self.eth.view(ethereum::committeeIdCall {}).await?;
        while on_eth < current {
            let Some(r) = self.provena.rotation(on_eth + 1, at).await? else {
                log::error!(
                    target: LOG,
                    "the contract follows committee {on_eth}, but Provena no longer keeps the \
                     handover to {}: it cannot follow by itself",
                    on_eth + 1
                );
                return Ok(());
            };
            if !r.signed {
                return Ok(());
            }
            let call = ethereum::rotateCall {
                newId: r.to,
                newMembers: r.members.iter().map(ethereum::address).collect(),
                newThreshold: r.threshold,
                signatures: r.signatures.iter().map(|(_, s)| ethereum::signature(s)).collect(),
            };
            if !self.eth.send(call).await? {
                return Ok(());
            }
            on_eth += 1;
        }
        Ok(())
    }

    /// Carries signed epoch roots of the contract's committee.
    async fn relay_roots(&self, status: &BridgeStatus<Balance>, at: H256) -> Result<(), Error> {
        let committee = self.eth.view(ethereum::committeeIdCall {}).await?;
        for epoch in status.next_epoch.saturating_sub(status.epoch_retention)..status.next_epoch {
            let Some(e) = self.provena.epoch(epoch, at).await? else { continue };
            if !e.signed || e.committee != committee {
                continue;
            }
            if !self.eth.view(ethereum::epochRootsCall { epoch }).await?.is_zero() {
                continue;
            }
            let call = ethereum::submitRootCall {
                epoch,
                root: ethereum::word(&e.root),
                committee_: e.committee,
                signatures: e.signatures.iter().map(|(_, s)| ethereum::signature(s)).collect(),
            };
            self.eth.send(call).await?;
        }
        Ok(())
    }

    /// Claims transfers out, in nonce order, for their recipients.
    async fn relay_claims(
        &mut self,
        status: &BridgeStatus<Balance>,
        at: H256,
    ) -> Result<(), Error> {
        while self.cursors.next_claim_nonce < status.next_outbound_nonce {
            let nonce = self.cursors.next_claim_nonce;
            if self.eth.view(ethereum::claimedCall { nonce }).await? {
                self.cursors.next_claim_nonce += 1;
                continue;
            }
            // Not yet in a closed epoch, or its root not yet on Ethereum: later.
            let Some((epoch, proof)) = self.provena.transfer_proof(nonce, at).await? else {
                return Ok(());
            };
            if self.eth.view(ethereum::epochRootsCall { epoch }).await?.is_zero() {
                return Ok(());
            }
            // The leaf: uint8(1) ‖ uint64 nonce ‖ address ‖ uint256 amount.
            let (Some(recipient), Some(amount)) = (proof.leaf.get(9..29), proof.leaf.get(29..61))
            else {
                return Err(Error::Provena(format!("transfer {nonce}: a malformed leaf")));
            };
            let call = ethereum::claimCall {
                epoch,
                nonce,
                recipient: alloy_core::primitives::Address::from_slice(recipient),
                amount: alloy_core::primitives::U256::from_be_slice(amount),
                proof: proof.siblings.iter().map(ethereum::word).collect(),
                index: proof.leaf_index,
                count: proof.leaf_count,
            };
            if !self.eth.send(call).await?
                && !self.eth.view(ethereum::claimedCall { nonce }).await?
            {
                return Err(Error::Ethereum(format!("the claim of transfer {nonce} would revert")));
            }
            self.cursors.next_claim_nonce += 1;
            self.save()?;
        }
        Ok(())
    }

    /// Settles attribution epoch roots, in order.
    async fn relay_attribution(
        &mut self,
        status: &BridgeStatus<Balance>,
        at: H256,
    ) -> Result<(), Error> {
        while self.cursors.next_attribution_epoch < u64::from(status.next_attribution_epoch) {
            let a = self.cursors.next_attribution_epoch;
            // Passed over by the bridge: closed without receipts (or its bridge epoch is no
            // longer kept, which a relayer that keeps up never sees).
            let Some((epoch, proof)) = self.provena.attribution_proof(a, at).await? else {
                self.cursors.next_attribution_epoch += 1;
                continue;
            };
            if self.eth.view(ethereum::epochRootsCall { epoch }).await?.is_zero() {
                return Ok(());
            }
            if self.eth.view(ethereum::attributionRootsCall { epoch: a }).await?.is_zero() {
                // The leaf: uint8(2) ‖ uint64 epoch ‖ bytes32 root ‖ uint32 receipts.
                let (Some(root), Some(receipts)) = (proof.leaf.get(9..41), proof.leaf.get(41..45))
                else {
                    return Err(Error::Provena(format!("attribution epoch {a}: a malformed leaf")));
                };
                let mut count = [0u8; 4];
                count.copy_from_slice(receipts);
                let call = ethereum::settleAttributionCall {
                    epoch,
                    attributionEpoch: a,
                    receiptsRoot: alloy_core::primitives::B256::from_slice(root),
                    receipts: u32::from_be_bytes(count),
                    proof: proof.siblings.iter().map(ethereum::word).collect(),
                    index: proof.leaf_index,
                    count: proof.leaf_count,
                };
                self.eth.send(call).await?;
            }
            self.cursors.next_attribution_epoch += 1;
            self.save()?;
        }
        Ok(())
    }

    /// Approves confirmed burns (as a member) and releases the next one at the threshold.
    async fn relay_burns(
        &mut self,
        status: &BridgeStatus<Balance>,
        domain: &Domain,
        at: H256,
    ) -> Result<(), Error> {
        let Some((committee, members, threshold)) = status.committee.clone() else {
            return Ok(());
        };
        let safe = self.eth.head().await?.saturating_sub(self.confirmations);
        if safe < self.cursors.burn_scan_from {
            return Ok(());
        }
        let mut burns = self.eth.burns(self.cursors.burn_scan_from, safe).await?;
        burns.retain(|b| b.nonce >= status.next_inbound_nonce);
        burns.sort_by_key(|b| b.nonce);
        for burn in &burns {
            if burn.nonce >= status.next_inbound_nonce.saturating_add(INBOUND_WINDOW) {
                break;
            }
            let recipient = AccountId::from(burn.recipient);
            let transfer = InboundTransfer {
                source_chain_id: domain.eth_chain_id,
                contract: domain.contract,
                nonce: burn.nonce,
                recipient: recipient.clone(),
                amount: burn.amount,
            };
            let Some(digest) =
                self.provena.inbound_digest(burn.nonce, &recipient, burn.amount, at).await?
            else {
                return Ok(());
            };
            let approvals = self.provena.approvals(burn.nonce, at).await?;
            let signers = approvals.iter().find(|(d, _)| *d == digest).map(|(_, s)| s.clone());
            let signers = signers.unwrap_or_default();
            if let Some((key, me)) = self.member.clone() {
                let voted = approvals.iter().any(|(_, s)| s.contains(&me));
                if members.contains(&me) && !voted {
                    let signature = key.sign_prehashed(&digest.0).0;
                    let call = RuntimeCall::Bridge(pallet_bridge::Call::approve_in {
                        transfer: transfer.clone(),
                        signature,
                    });
                    self.submit_once(format!("approve burn {} ({committee})", burn.nonce), call)
                        .await?;
                }
            }
            if burn.nonce == status.next_inbound_nonce && signers.len() as u32 >= threshold {
                let call = RuntimeCall::Bridge(pallet_bridge::Call::release_in {
                    nonce: burn.nonce,
                    digest,
                });
                self.submit_once(format!("release burn {}", burn.nonce), call).await?;
            }
        }
        // Burns before the earliest one not yet released are done.
        self.cursors.burn_scan_from = burns.first().map_or(safe.saturating_add(1), |b| b.block);
        Ok(())
    }
}
