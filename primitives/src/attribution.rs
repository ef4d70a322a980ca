//! Proof of Attribution types shared by the attribution pallet, the runtime API, the node's RPC
//! and off-chain signers: vouchers, payees, the exact fee split, and the `AttributionApi`.
//!
//! ## The split
//!
//! A receipt's fee is divided among the protocol treasury, the operator that served the
//! request, the model (its developer and its token holders, by the model's developer share),
//! and the data contributors the output is attributed to (by their weights). Every party's
//! exact share is a fraction `nᵢ / D` of the fee with `Σ nᵢ = D`; each gets `⌊fee·nᵢ/D⌋`, and
//! the few base units left over go one each to the largest fractional remainders
//! ([`largest_remainder`]). So the parts always sum to the fee exactly, and every part is
//! within one base unit of its exact proportional value.

use crate::{
    merkle::MerkleProof, serde_helpers, Balance, ContentHash, ContributionId, DatanetId, ModelId,
    SnapshotVersion,
};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{sp_core::U256, sp_runtime::Permill};
use scale_info::TypeInfo;

/// Identifies a receipt. Assigned sequentially from 0.
pub type ReceiptId = u64;

/// Identifies an epoch: receipts submitted in blocks `[e·L, (e+1)·L)` for epoch length `L`.
pub type EpochIndex = u32;

/// An attribution weight in parts per million; a receipt's weights sum to exactly
/// [`PPM`].
pub type WeightPpm = u32;

/// One million: the whole of an attribution.
pub const PPM: WeightPpm = 1_000_000;

/// The domain tag signed in front of every voucher. v2 (spec 108) added the anchor hash; a v1
/// signature (genesis hash only) verifies under no v2 payload.
pub const VOUCHER_DOMAIN: &[u8] = b"provena:voucher:v2";

/// A user's authorization for one inference request, signed off-chain.
#[derive(
    Clone,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct Voucher<AccountId, BlockNumber> {
    /// The request id the user picked; a voucher is spent once per (user, request id).
    pub request_id: ContentHash,
    /// The model the user agreed to pay for.
    pub model: ModelId,
    /// The most the user agrees to pay, in OPEN base units.
    #[serde(with = "serde_helpers::amount")]
    pub max_fee: Balance,
    /// The only operator that may redeem it.
    pub operator: AccountId,
    /// The last block in which it may be redeemed.
    pub expires_at: BlockNumber,
}

/// The block a voucher that expires at `expires_at` is anchored to, on a chain whose vouchers
/// expire at most `max_lifetime` blocks after the block that redeems them:
/// `expires_at − max_lifetime − 1`, or the genesis block (0) while the chain is younger. Its
/// hash is signed with the voucher ([`voucher_payload`]). Every block that may redeem the
/// voucher (`n ≥ expires_at − max_lifetime`) comes after its anchor, so it knows the anchor's
/// hash.
///
/// The anchor binds a voucher to one branch of a chain, not only to its genesis: if the chain
/// splits after block `s` (two networks from one genesis, or a fork that both sides keep), a
/// voucher anchored after `s` verifies on one side only, and one anchored at or before `s`
/// expires by `s + max_lifetime`. So from `max_lifetime` blocks after a split on, no voucher is
/// good on both sides. Signers anchor on a block they have seen, best a finalized one: a
/// voucher whose anchor is then reorganized away verifies nowhere and must be signed again.
pub fn voucher_anchor<BlockNumber>(
    expires_at: BlockNumber,
    max_lifetime: BlockNumber,
) -> BlockNumber
where
    BlockNumber:
        polkadot_sdk::sp_runtime::traits::Saturating + polkadot_sdk::sp_runtime::traits::One,
{
    expires_at.saturating_sub(max_lifetime).saturating_sub(BlockNumber::one())
}

/// The bytes a user signs for `voucher` on the chain with genesis hash `genesis` whose block
/// [`voucher_anchor`] has hash `anchor`: `SCALE(VOUCHER_DOMAIN, genesis, anchor, voucher)`. The
/// domain keeps a voucher from being replayed as any other signed message, the genesis hash on
/// another chain, the anchor on another branch of this one.
pub fn voucher_payload<AccountId: Encode, BlockNumber: Encode>(
    genesis: &ContentHash,
    anchor: &ContentHash,
    voucher: &Voucher<AccountId, BlockNumber>,
) -> Vec<u8> {
    (VOUCHER_DOMAIN, genesis, anchor, voucher).encode()
}

/// Who a share of a fee is owed to.
#[derive(
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum Payee<AccountId> {
    /// An account: the treasury, a model developer (and an operator, before operators were
    /// agents).
    Account(AccountId),
    /// A datanet contribution; paid to its contributor.
    Contribution(ContributionId),
    /// The token holders of a model; paid through the models pallet (to the developer if the
    /// model has no holders when paid).
    ModelHolders(ModelId),
    /// A datanet's reward pool: the attribution credit beyond the contributions a receipt
    /// names (the engine's top k); paid into the pool the datanets pallet keeps for it.
    DatanetPool(DatanetId),
    /// An operator that is an agent: its share is paid through the agents pallet (its
    /// commission to it, the rest to its stakers, its own bond included); to the account
    /// itself if it is no longer an agent when paid.
    Agent(AccountId),
}

/// The runtime's split parameters: shares of each fee, summing to 100%.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
)]
pub struct SplitShares {
    /// The protocol treasury.
    pub treasury: Permill,
    /// The operator that served the request.
    pub operator: Permill,
    /// The model: its developer and token holders, divided by the model's developer share.
    pub model: Permill,
    /// The data contributors, by attribution weight. With no attribution it goes to the
    /// treasury.
    pub contributors: Permill,
}

impl SplitShares {
    /// Whether the shares sum to exactly 100%.
    pub fn is_complete(&self) -> bool {
        [self.treasury, self.operator, self.model, self.contributors]
            .iter()
            .map(|p| u64::from(p.deconstruct()))
            .sum::<u64>()
            == u64::from(PPM)
    }
}

/// A fee divided among its parties.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Split {
    /// The protocol treasury's part (including the contributor part when there is no
    /// attribution).
    pub treasury: Balance,
    /// The operator's part.
    pub operator: Balance,
    /// The model developer's part.
    pub developer: Balance,
    /// The model-token holders' part.
    pub holders: Balance,
    /// Each attributed contribution's part, in the order of the weights given.
    pub contributors: Vec<Balance>,
}

impl Split {
    /// The sum of all parts (equal to the fee by construction).
    pub fn total(&self) -> Option<Balance> {
        [self.treasury, self.operator, self.developer, self.holders]
            .into_iter()
            .chain(self.contributors.iter().copied())
            .try_fold(0u128, |acc, p| acc.checked_add(p))
    }
}

/// Why a split has no answer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SplitError {
    /// The runtime's shares do not sum to 100%.
    IncompleteShares,
    /// The weights are not all positive or do not sum to exactly [`PPM`].
    WeightsNotNormalized,
}

/// Divides `total` into parts proportional to `numerators`, which must sum to `denominator`
/// (non-zero): each part is `⌊total·nᵢ/D⌋`, and the units left over go one each to the parts
/// with the largest remainders `total·nᵢ mod D` (ties to the earlier part). The parts sum to
/// `total` exactly and each is within one unit of `total·nᵢ/D`. Returns `None` if the
/// numerators do not sum to the denominator.
pub fn largest_remainder(
    total: Balance,
    numerators: &[u128],
    denominator: u128,
) -> Option<Vec<Balance>> {
    if denominator == 0 {
        return None;
    }
    let sum = numerators.iter().try_fold(0u128, |acc, n| acc.checked_add(*n))?;
    if sum != denominator {
        return None;
    }
    let d = U256::from(denominator);
    let mut parts = Vec::with_capacity(numerators.len());
    let mut remainders = Vec::with_capacity(numerators.len());
    let mut given: Balance = 0;
    for (i, n) in numerators.iter().enumerate() {
        // total·n < 2^256, and the quotient is at most total because n ≤ D.
        let product = U256::from(total).saturating_mul(U256::from(*n));
        let q = product.checked_div(d)?;
        let r = product.saturating_sub(q.saturating_mul(d));
        let q = Balance::try_from(q).ok()?;
        given = given.checked_add(q)?;
        parts.push(q);
        remainders.push((r, i));
    }
    // Fewer left-over units than parts: each of the floors lost less than one.
    let left = total.checked_sub(given)?;
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders.into_iter().take(usize::try_from(left).ok()?) {
        let p = parts.get_mut(i)?;
        *p = p.checked_add(1)?;
    }
    Some(parts)
}

/// Splits `fee` by `shares`, the model's `developer_share` of the model part, and the
/// contributors' `weights` (parts per million, each positive, summing to exactly [`PPM`]; or
/// empty, when the contributor part goes to the treasury).
pub fn split_fee(
    fee: Balance,
    shares: &SplitShares,
    developer_share: Permill,
    weights: &[WeightPpm],
) -> Result<Split, SplitError> {
    if !shares.is_complete() {
        return Err(SplitError::IncompleteShares);
    }
    if !weights.is_empty() {
        let sum: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        if sum != u64::from(PPM) || weights.contains(&0) {
            return Err(SplitError::WeightsNotNormalized);
        }
    }
    // Every party's share as a numerator over D = 10^12.
    let million = u128::from(PPM);
    let part = |p: Permill| u128::from(p.deconstruct());
    let model = part(shares.model);
    let dev = part(developer_share);
    let contributors = part(shares.contributors);
    let mut treasury = part(shares.treasury).saturating_mul(million);
    if weights.is_empty() {
        treasury = treasury.saturating_add(contributors.saturating_mul(million));
    }
    let mut numerators = alloc::vec![
        treasury,
        part(shares.operator).saturating_mul(million),
        model.saturating_mul(dev),
        model.saturating_mul(million.saturating_sub(dev)),
    ];
    numerators.extend(weights.iter().map(|w| contributors.saturating_mul(u128::from(*w))));
    let parts = largest_remainder(fee, &numerators, million.saturating_mul(million))
        .ok_or(SplitError::WeightsNotNormalized)?;
    let mut it = parts.into_iter();
    let mut next = || it.next().unwrap_or(0);
    let (treasury, operator, developer, holders) = (next(), next(), next(), next());
    let contributors = weights.iter().map(|_| next()).collect();
    Ok(Split { treasury, operator, developer, holders, contributors })
}

/// The largest `keep` weights (entries of one contribution summed first), scaled to sum to
/// exactly [`PPM`] by largest remainders, in contribution order; empty when there is no positive
/// weight.
pub fn normalize_weights(
    weights: &mut Vec<(ContributionId, u128)>,
    keep: usize,
) -> Vec<(ContributionId, WeightPpm)> {
    normalize_with_pool(weights, None, keep).0
}

/// A datanet reward pool's part of an attribution: the datanet and its weight.
pub type PoolPart = Option<(DatanetId, WeightPpm)>;

/// [`normalize_weights`] with a datanet pool's part: the contributions' largest `keep` and the
/// pool (whatever its rank) are scaled together to sum to exactly [`PPM`]. The pool is `None`
/// when its scaled part is zero; nothing at all (empty, `None`) when there is no positive weight
/// or the parts cannot sum to [`PPM`].
pub fn normalize_with_pool(
    weights: &mut Vec<(ContributionId, u128)>,
    pool: Option<(DatanetId, u128)>,
    keep: usize,
) -> (Vec<(ContributionId, WeightPpm)>, PoolPart) {
    // Entries naming the same contribution are one entry with their summed weight.
    let mut merged: alloc::collections::BTreeMap<ContributionId, u128> = Default::default();
    for (c, w) in weights.drain(..) {
        let e = merged.entry(c).or_default();
        *e = e.saturating_add(w);
    }
    weights.extend(merged);
    weights.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    weights.truncate(keep);
    let pool = pool.filter(|(_, w)| *w > 0);
    let mut numerators = weights.iter().map(|(_, w)| *w).collect::<Vec<_>>();
    numerators.extend(pool.map(|(_, w)| w));
    let total = numerators.iter().try_fold(0u128, |acc, w| acc.checked_add(*w));
    let nothing = (Vec::new(), None);
    let Some(total) = total.filter(|t| *t > 0) else { return nothing };
    let Some(parts) = largest_remainder(u128::from(PPM), &numerators, total) else {
        return nothing;
    };
    let ppm = |p: &u128| WeightPpm::try_from(*p).ok();
    let mut out: Vec<(ContributionId, WeightPpm)> = weights
        .iter()
        .zip(&parts)
        .filter_map(|((c, _), p)| Some((*c, ppm(p)?)))
        .filter(|(_, p)| *p > 0)
        .collect();
    out.sort_by_key(|(c, _)| *c);
    let pool =
        pool.and_then(|(d, _)| Some((d, ppm(parts.get(weights.len())?)?))).filter(|(_, p)| *p > 0);
    // Parts of zero (impossible when scaling up, possible when more than a million entries
    // share) would leave the sum short: then attribute nothing rather than something wrong.
    let sum = out
        .iter()
        .map(|(_, p)| u64::from(*p))
        .chain(pool.map(|(_, p)| u64::from(p)))
        .fold(0u64, u64::saturating_add);
    if sum != u64::from(PPM) {
        return nothing;
    }
    (out, pool)
}

/// The fee for `tokens` tokens at `price_per_1k` per 1,000 tokens, rounded up to the base
/// unit (what `pallet-attribution` charges); `None` on overflow.
pub fn fee_for(price_per_1k: Balance, tokens: u128) -> Option<Balance> {
    price_per_1k.checked_mul(tokens)?.checked_add(999).map(|p| p / 1_000)
}

/// A receipt's status.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum ReceiptStatus {
    /// Paid out after the challenge window unless challenged before.
    Pending,
    /// Challenged; its payouts are frozen until the challenge is resolved.
    Challenged,
    /// A challenge was upheld: the user was refunded and no one is paid.
    Reversed,
}

/// A receipt as the runtime API and RPC return it.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
#[serde(bound(
    serialize = "AccountId: serde::Serialize, BlockNumber: serde::Serialize",
    deserialize = "AccountId: serde::Deserialize<'de>, BlockNumber: serde::Deserialize<'de>"
))]
pub struct ReceiptInfo<AccountId, BlockNumber> {
    /// Its id.
    pub id: ReceiptId,
    /// The user who paid.
    pub user: AccountId,
    /// The operator who served and submitted it.
    pub operator: AccountId,
    /// The model used.
    pub model: ModelId,
    /// The voucher's request id.
    pub request_id: ContentHash,
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Generated tokens.
    pub output_tokens: u32,
    /// The fee charged, in OPEN base units.
    #[serde(with = "serde_helpers::amount")]
    pub fee: Balance,
    /// Attributed contributions and their weights (ppm).
    pub attribution: Vec<(ContributionId, WeightPpm)>,
    /// The snapshot retrieved from, for a retrieval-augmented answer.
    pub retrieved_from: Option<(DatanetId, SnapshotVersion)>,
    /// The hash of the attribution evidence.
    pub evidence_hash: ContentHash,
    /// Each payee's part.
    pub payouts: Vec<(Payee<AccountId>, PayoutAmount)>,
    /// Its epoch.
    pub epoch: EpochIndex,
    /// When it was submitted.
    pub submitted_at: BlockNumber,
    /// When its payouts become claimable (unless challenged).
    pub claimable_at: BlockNumber,
    /// Pending, challenged or reversed.
    pub status: ReceiptStatus,
}

/// An amount of OPEN, serialized as a decimal string.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct PayoutAmount(#[serde(with = "serde_helpers::amount")] pub Balance);

/// What a payee has earned.
#[derive(
    Clone,
    Default,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    TypeInfo,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct RewardInfo {
    /// Everything credited and not reversed, in OPEN base units.
    #[serde(with = "serde_helpers::amount")]
    pub earned: Balance,
    /// Paid out so far.
    #[serde(with = "serde_helpers::amount")]
    pub claimed: Balance,
    /// Claimable now.
    #[serde(with = "serde_helpers::amount")]
    pub claimable: Balance,
    /// Still in a challenge window.
    #[serde(with = "serde_helpers::amount")]
    pub pending: Balance,
    /// Frozen by open challenges.
    #[serde(with = "serde_helpers::amount")]
    pub frozen: Balance,
}

/// An epoch's commitment.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct EpochInfo<BlockNumber> {
    /// Its index.
    pub epoch: EpochIndex,
    /// The Merkle root over its receipt leaves (see the pallet docs), once closed.
    pub root: Option<ContentHash>,
    /// Receipts in it.
    pub receipts: u32,
    /// When it closed.
    pub closed_at: Option<BlockNumber>,
}

/// A receipt's inclusion proof in its epoch's root.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptProof {
    /// The epoch.
    pub epoch: EpochIndex,
    /// The proof; its `leaf` is the receipt's 32-byte leaf hash.
    pub proof: MerkleProof,
}

polkadot_sdk::sp_api::decl_runtime_apis! {
    /// Read access to Proof of Attribution for clients and the node's `attribution_*` RPC.
    pub trait AttributionApi<AccountId, BlockNumber>
    where
        AccountId: codec::Codec,
        BlockNumber: codec::Codec,
    {
        /// A receipt.
        fn receipt(id: ReceiptId) -> Option<ReceiptInfo<AccountId, BlockNumber>>;
        /// Up to `limit` (at most 1,000) receipts of a model, from its `start`-th.
        fn receipts_by_model(model: ModelId, start: u32, limit: u32) -> Vec<ReceiptInfo<AccountId, BlockNumber>>;
        /// Receipts attributing to `contribution` among receipt ids `from..from+scan` (`scan` at
        /// most 10,000), at most `limit` of them; the caller continues from `from + scan`.
        fn receipts_by_contribution(contribution: ContributionId, from: ReceiptId, scan: u32, limit: u32)
            -> Vec<ReceiptInfo<AccountId, BlockNumber>>;
        /// What a payee has earned.
        fn rewards(payee: Payee<AccountId>) -> RewardInfo;
        /// What an account has earned: as a payee itself and through each of its contributions
        /// (contribution id → rewards).
        fn account_rewards(who: AccountId) -> (RewardInfo, Vec<(ContributionId, RewardInfo)>);
        /// An epoch's commitment.
        fn epoch(epoch: EpochIndex) -> Option<EpochInfo<BlockNumber>>;
        /// A receipt's inclusion proof, once its epoch closed.
        fn receipt_proof(id: ReceiptId) -> Option<ReceiptProof>;
        /// The bytes a user signs for `voucher` on this chain.
        fn voucher_payload(voucher: Voucher<AccountId, BlockNumber>) -> Vec<u8>;
    }
}

/// The attribution epochs whose receipt roots are settled (closed) on chain, which the bridge
/// carries to Ethereum so a contract there can check that a receipt was settled.
pub trait SettledEpochs {
    /// The Merkle root and receipt count of epoch `epoch`, once it is closed; `None` for an
    /// epoch still open, or closed without receipts (such an epoch has no root).
    fn settled_root(epoch: EpochIndex) -> Option<(polkadot_sdk::sp_core::H256, u32)>;
    /// The epoch still open: every earlier one is closed.
    fn first_open() -> EpochIndex;
}

impl SettledEpochs for () {
    fn settled_root(_: EpochIndex) -> Option<(polkadot_sdk::sp_core::H256, u32)> {
        None
    }
    fn first_open() -> EpochIndex {
        0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::arithmetic_side_effects, clippy::indexing_slicing)]
mod tests {
    #[test]
    fn a_voucher_is_anchored_before_every_block_that_may_redeem_it() {
        let lifetime = 600u32;
        // A young chain anchors on the genesis.
        assert_eq!(voucher_anchor(0u32, lifetime), 0);
        assert_eq!(voucher_anchor(lifetime + 1, lifetime), 0);
        for expires_at in [lifetime + 2, 10_000, u32::MAX] {
            let anchor = voucher_anchor(expires_at, lifetime);
            // The earliest block that may redeem it: expires_at ≤ n + lifetime.
            assert_eq!(anchor + 1 + lifetime, expires_at);
            assert!(anchor < expires_at - lifetime);
        }
    }

    use super::*;
    use proptest::prelude::*;

    fn shares() -> SplitShares {
        SplitShares {
            treasury: Permill::from_percent(5),
            operator: Permill::from_percent(15),
            model: Permill::from_percent(30),
            contributors: Permill::from_percent(50),
        }
    }

    /// Weights summing to PPM, from arbitrary positive seeds.
    fn weights() -> impl Strategy<Value = Vec<WeightPpm>> {
        proptest::collection::vec(1..=1_000u32, 1..=32).prop_map(|seeds| {
            let total: u64 = seeds.iter().map(|s| u64::from(*s)).sum();
            let mut w: Vec<WeightPpm> = seeds
                .iter()
                .map(|s| (u64::from(*s) * u64::from(PPM) / total).max(1) as u32)
                .collect();
            let sum: u64 = w.iter().map(|x| u64::from(*x)).sum();
            // Fix the rounding on the largest weight.
            let i = (0..w.len()).max_by_key(|i| w[*i]).unwrap();
            w[i] = (i64::from(w[i]) + i64::from(PPM) - sum as i64) as u32;
            w
        })
    }

    #[test]
    fn hand_computed_split() {
        // 1,000,003 over 5/15/30(40% dev)/50 with weights 3/4 and 1/4.
        let s = split_fee(1_000_003, &shares(), Permill::from_percent(40), &[750_000, 250_000])
            .unwrap();
        assert_eq!(s.total(), Some(1_000_003));
        // Exact: 50,000.15 / 150,000.45 / 120,000.36 / 180,000.54 / 375,001.125 / 125,000.375;
        // the floors leave 2 units, which go to the two largest remainders (.54 and .45).
        assert_eq!(s.treasury, 50_000);
        assert_eq!(s.operator, 150_001);
        assert_eq!(s.developer, 120_000);
        assert_eq!(s.holders, 180_001);
        assert_eq!(s.contributors, vec![375_001, 125_000]);
    }

    #[test]
    fn the_pool_is_scaled_with_the_contributions_and_always_kept() {
        // Keep 1: contribution 1 (450) and the pool (250), as 450/700 and 250/700.
        let (w, p) = normalize_with_pool(
            &mut vec![(ContributionId(1), 450), (ContributionId(2), 300)],
            Some((7, 250)),
            1,
        );
        assert_eq!(w, vec![(ContributionId(1), 642_857)]);
        assert_eq!(p, Some((7, 357_143)));
        let (w, p) = normalize_with_pool(&mut vec![(ContributionId(1), 3)], Some((7, 0)), 4);
        assert_eq!((w, p), (vec![(ContributionId(1), 1_000_000)], None));
        let (w, p) = normalize_with_pool(&mut vec![], Some((7, 5)), 4);
        assert_eq!((w, p), (vec![], Some((7, 1_000_000))));
        assert_eq!(normalize_with_pool(&mut vec![], None, 4), (vec![], None));
    }

    #[test]
    fn no_attribution_sends_the_contributor_part_to_the_treasury() {
        let s = split_fee(1_000, &shares(), Permill::one(), &[]).unwrap();
        assert_eq!((s.treasury, s.operator, s.developer, s.holders), (550, 150, 300, 0));
        assert!(s.contributors.is_empty());
    }

    #[test]
    fn bad_weights_and_shares_are_refused() {
        let d = Permill::one();
        assert_eq!(split_fee(1, &shares(), d, &[500_000]), Err(SplitError::WeightsNotNormalized));
        assert_eq!(
            split_fee(1, &shares(), d, &[1_000_000, 0]),
            Err(SplitError::WeightsNotNormalized)
        );
        let mut bad = shares();
        bad.operator = Permill::from_percent(16);
        assert_eq!(split_fee(1, &bad, d, &[PPM]), Err(SplitError::IncompleteShares));
        assert_eq!(largest_remainder(10, &[1, 2], 4), None);
        assert_eq!(largest_remainder(10, &[], 0), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3_000))]

        /// The parts sum to the fee exactly, for any fee and any weights.
        #[test]
        fn parts_sum_to_the_fee(fee in any::<u128>(), dev in 0..=PPM, w in weights()) {
            let s = split_fee(fee, &shares(), Permill::from_parts(dev), &w).unwrap();
            prop_assert_eq!(s.total(), Some(fee));
            prop_assert_eq!(s.contributors.len(), w.len());
        }

        /// Each part is within one base unit of its exact share (so none is over-paid by more
        /// than the unavoidable unit, and none is negative by construction).
        #[test]
        fn parts_are_proportional(fee in any::<u128>(), dev in 0..=PPM, w in weights()) {
            let dev = Permill::from_parts(dev);
            let s = split_fee(fee, &shares(), dev, &w).unwrap();
            let exact = |num: u128| -> (U256, U256) {
                let p = U256::from(fee) * U256::from(num);
                let d = U256::from(10u128.pow(12));
                (p / d, p % d)
            };
            let within = |got: Balance, num: u128| {
                let (q, r) = exact(num);
                let got = U256::from(got);
                got == q || (got == q + 1 && !r.is_zero())
            };
            let m = u128::from(shares().model.deconstruct());
            let d = u128::from(dev.deconstruct());
            prop_assert!(within(s.treasury, 50_000 * 1_000_000));
            prop_assert!(within(s.operator, 150_000 * 1_000_000));
            prop_assert!(within(s.developer, m * d));
            prop_assert!(within(s.holders, m * (1_000_000 - d)));
            for (part, weight) in s.contributors.iter().zip(&w) {
                prop_assert!(within(*part, 500_000 * u128::from(*weight)));
            }
            // A larger weight never earns less.
            for i in 0..w.len() {
                for j in 0..w.len() {
                    if w[i] > w[j] {
                        prop_assert!(s.contributors[i] >= s.contributors[j]);
                    }
                }
            }
        }

        /// The generic division is exact for any numerators that sum to the denominator.
        #[test]
        fn largest_remainder_is_exact(
            total in any::<u128>(),
            nums in proptest::collection::vec(0..=u64::MAX as u128, 1..40),
        ) {
            let d: u128 = nums.iter().sum();
            prop_assume!(d > 0);
            let parts = largest_remainder(total, &nums, d).unwrap();
            let sum = parts.iter().try_fold(0u128, |a, p| a.checked_add(*p));
            prop_assert_eq!(sum, Some(total));
            for (p, n) in parts.iter().zip(&nums) {
                let exact = U256::from(total) * U256::from(*n) / U256::from(d);
                prop_assert!(U256::from(*p) == exact || U256::from(*p) == exact + 1);
            }
        }
    }
}
