//! Referenda tracks: one per origin, each with its deposit, periods and passing curves.
//!
//! | id | track | origin | decided at once | decision deposit | prepare | decide | confirm | min. enactment | approval (start → end of decision) | support (start → end) |
//! | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
//! | 0 | `root` | root: runtime upgrades (`authorize_upgrade`), anything | 1 | 100,000 OPEN | 2 h | 14 d | 1 d | 1 d | 100% → 50% | 50% → 0.5% |
//! | 1 | `treasurer` | treasury and reward-pool spends up to 1,000,000 OPEN each | 10 | 10,000 OPEN | 2 h | 14 d | 1 d | 1 d | 100% → 50% | 25% → 0.25% |
//! | 2 | `parameters` | protocol parameters | 5 | 10,000 OPEN | 2 h | 7 d | 1 d | 1 d | 100% → 50% | 25% → 0.25% |
//! | 3 | `admission` | agents (inference operators) serving | 10 | 1,000 OPEN | 1 h | 7 d | 6 h | 1 h | 100% → 50% | 10% → 0.1% |
//! | 4 | `disputes` | attribution challenges; agent slashes and their cancellation | 50 | 100 OPEN | 10 min | 3 d | 1 h | 10 min | 100% → 50% | 5% → 0.05% |
//!
//! Both curves fall linearly over the whole decision period. **Approval** is the share of aye
//! votes among aye and nay votes (conviction-weighted OPEN plus contribution power);
//! **support** is the aye OPEN (without conviction) plus aye contribution power, as a share of
//! everything that can vote: the OPEN outside the genesis buckets plus all contribution power
//! at the referendum's snapshot. A referendum passes once both hold for the whole confirm
//! period.
//!
//! Durations are the documented ones divided by the chain's governance timescale
//! ([`pallet_governance::Pallet::scaled`], at least one block): 1 on public networks; the
//! development and local presets use [`DEV_TIMESCALE`], which makes a day one block.
//!
//! A dispute is decided within about three days, well inside attribution's challenge deadline
//! (seven days); a challenge nobody resolved by then is ended by anyone with
//! `expire_challenge`: the receipt stands and the challenger's bond comes back (attribution's
//! documented default), so frozen credits never wait longer than the deadline.

use super::origins::Origin;
use crate::{Balance, BlockNumber, ConvictionVoting, OriginCaller};
use alloc::borrow::Cow;
use polkadot_sdk::{
    frame_support::traits::Get,
    frame_system::RawOrigin,
    pallet_referenda::{Curve, Track, TrackInfo, TracksInfo},
    sp_runtime::{str_array as name, Perbill},
};
use provena_primitives::{
    currency::OPEN,
    time::{DAYS, HOURS, MINUTES},
};

/// The timescale of the development and local presets: a day passes in one block.
pub const DEV_TIMESCALE: u32 = DAYS;

/// How long a referendum may wait for its decision deposit (or to be prepared) before it times
/// out: 14 days, scaled.
pub struct UndecidingTimeout;
impl Get<BlockNumber> for UndecidingTimeout {
    fn get() -> BlockNumber {
        ConvictionVoting::scaled(14 * DAYS)
    }
}

/// A track's parameters in documented (unscaled) blocks.
struct Spec {
    id: u16,
    name: &'static str,
    max_deciding: u32,
    decision_deposit: Balance,
    prepare: BlockNumber,
    decision: BlockNumber,
    confirm: BlockNumber,
    enactment: BlockNumber,
    /// Support at the start and at the end of the decision period.
    support: (Perbill, Perbill),
}

/// The tracks as documented in the module docs.
const SPECS: [Spec; 5] = [
    Spec {
        id: 0,
        name: "root",
        max_deciding: 1,
        decision_deposit: 100_000 * OPEN,
        prepare: 2 * HOURS,
        decision: 14 * DAYS,
        confirm: DAYS,
        enactment: DAYS,
        support: (Perbill::from_percent(50), Perbill::from_parts(5_000_000)),
    },
    Spec {
        id: 1,
        name: "treasurer",
        max_deciding: 10,
        decision_deposit: 10_000 * OPEN,
        prepare: 2 * HOURS,
        decision: 14 * DAYS,
        confirm: DAYS,
        enactment: DAYS,
        support: (Perbill::from_percent(25), Perbill::from_parts(2_500_000)),
    },
    Spec {
        id: 2,
        name: "parameters",
        max_deciding: 5,
        decision_deposit: 10_000 * OPEN,
        prepare: 2 * HOURS,
        decision: 7 * DAYS,
        confirm: DAYS,
        enactment: DAYS,
        support: (Perbill::from_percent(25), Perbill::from_parts(2_500_000)),
    },
    Spec {
        id: 3,
        name: "admission",
        max_deciding: 10,
        decision_deposit: 1_000 * OPEN,
        prepare: HOURS,
        decision: 7 * DAYS,
        confirm: 6 * HOURS,
        enactment: HOURS,
        support: (Perbill::from_percent(10), Perbill::from_parts(1_000_000)),
    },
    Spec {
        id: 4,
        name: "disputes",
        max_deciding: 50,
        decision_deposit: 100 * OPEN,
        prepare: 10 * MINUTES,
        decision: 3 * DAYS,
        confirm: HOURS,
        enactment: 10 * MINUTES,
        support: (Perbill::from_percent(5), Perbill::from_parts(500_000)),
    },
];

/// A curve falling linearly from `ceil` to `floor` over the whole decision period.
fn linear(ceil: Perbill, floor: Perbill) -> Curve {
    Curve::LinearDecreasing { length: Perbill::one(), floor, ceil }
}

/// Provena's referenda tracks.
pub struct Tracks;
impl TracksInfo<Balance, BlockNumber> for Tracks {
    type Id = u16;
    type RuntimeOrigin = OriginCaller;

    fn tracks() -> impl Iterator<Item = Cow<'static, Track<u16, Balance, BlockNumber>>> {
        let scaled = ConvictionVoting::scaled;
        SPECS.iter().map(move |s| {
            Cow::Owned(Track {
                id: s.id,
                info: TrackInfo {
                    name: name(s.name),
                    max_deciding: s.max_deciding,
                    decision_deposit: s.decision_deposit,
                    prepare_period: scaled(s.prepare),
                    decision_period: scaled(s.decision),
                    confirm_period: scaled(s.confirm),
                    min_enactment_period: scaled(s.enactment),
                    min_approval: linear(Perbill::one(), Perbill::from_percent(50)),
                    min_support: linear(s.support.0, s.support.1),
                },
            })
        })
    }

    fn track_for(origin: &OriginCaller) -> Result<u16, ()> {
        match origin {
            OriginCaller::system(RawOrigin::Root) => Ok(0),
            OriginCaller::Origins(Origin::Treasurer) => Ok(1),
            OriginCaller::Origins(Origin::ParameterAdmin) => Ok(2),
            OriginCaller::Origins(Origin::AdmissionAdmin) => Ok(3),
            OriginCaller::Origins(Origin::DisputeResolver) => Ok(4),
            _ => Err(()),
        }
    }
}

/// The longest a referendum lives in documented blocks once it is decided (not counting a wait
/// in its track's queue): waiting for its decision until the timeout, then its decision and
/// confirm periods.
pub fn longest_referendum() -> BlockNumber {
    SPECS
        .iter()
        .map(|s| (14 * DAYS).saturating_add(s.decision).saturating_add(s.confirm))
        .max()
        .unwrap_or_default()
}
