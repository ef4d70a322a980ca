//! The state's lifecycle: receipts, spent-voucher marks, model-index entries and epoch leaves
//! leave the state once their challenge window and their vouchers' lifetime are over.

use super::*;
use polkadot_sdk::{
    frame_support::{assert_noop, traits::Hooks, weights::Weight},
    sp_io,
};
use provena_primitives::attribution::ReceiptStatus;

/// Runs blocks up to `n` with `on_initialize` and a generous `on_idle` (pruning).
pub(super) fn run_idle_to(n: u64) {
    while System::block_number() < n {
        System::reset_events();
        run_to_block(System::block_number() + 1);
        Attribution::on_idle(System::block_number(), Weight::MAX);
    }
}

/// A receipt of `user()` for request `request` (any 32 bytes), fee 100, expiring 100 blocks
/// from now.
pub(super) fn small(f: &Fixture, request: u32) -> ReceiptInput<Test> {
    small_for(f, f.model, request)
}

/// Like [`small`], for `model` (trained on the fixture's snapshot).
pub(super) fn small_for(f: &Fixture, model: ModelId, request: u32) -> ReceiptInput<Test> {
    let mut r = receipt_by(&pair("User"), model, 0, vec![(f.c0, 500_000), (f.c1, 500_000)], |v| {
        let mut id = [0u8; 32];
        id[..4].copy_from_slice(&request.to_be_bytes());
        v.request_id = H256(id);
        v.expires_at = System::block_number() + 100;
    });
    r.input_tokens = 60;
    r.output_tokens = 40;
    r
}

/// The bytes (keys and values) under each of the pallet's storage items, by item name.
fn state_bytes() -> BTreeMap<&'static str, (u32, u64)> {
    use polkadot_sdk::frame_support::traits::PalletInfoAccess;
    let prefix = sp_io::hashing::twox_128(Attribution::name().as_bytes());
    let items = [
        "Operators",
        "ChallengeWindow",
        "NextReceiptId",
        "Receipts",
        "UsedVouchers",
        "PrepaidVouchers",
        "ModelIndex",
        "ModelReceipts",
        "Rewards",
        "EpochLeaves",
        "EpochRoots",
        "Challenges",
        "OperatorEpochUsage",
        "FeeTotals",
        "PruneCursor",
        ":__STORAGE_VERSION__:",
    ];
    let mut out = BTreeMap::new();
    let mut key = prefix.to_vec();
    while let Some(next) = sp_io::storage::next_key(&key) {
        if !next.starts_with(&prefix) {
            break;
        }
        let value = sp_io::storage::get(&next).map(|v| v.len()).unwrap_or(0);
        let item = items
            .iter()
            .find(|i| next[16..].starts_with(&sp_io::hashing::twox_128(i.as_bytes())))
            .copied()
            .unwrap_or("unknown");
        let e = out.entry(item).or_insert((0u32, 0u64));
        e.0 += 1;
        e.1 += (next.len() + value) as u64;
        key = next;
    }
    // Contributions' reward records live in their datanet records (v4): their encoded bytes.
    let default = RewardRecord::<Test>::default();
    for (_, c) in pallet_datanets::Contributions::<Test>::iter() {
        if c.reward != default {
            let e = out.entry("ContributionRewards").or_insert((0u32, 0u64));
            e.0 += 1;
            e.1 += c.reward.encoded_size() as u64;
        }
    }
    out
}

#[test]
fn receipts_leave_the_state_after_their_window_and_vouchers() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        submit(vec![small(&f, 1), small(&f, 2)]);
        let r = Receipts::<Test>::get(0).unwrap();
        let due = Attribution::prunable_at(&r);
        // The window ends at block 10 + 20; the vouchers of epoch 0 expire by 10 + 200.
        assert_eq!(due, 210);
        run_idle_to(due - 1);
        assert!(Receipts::<Test>::contains_key(0), "kept while a voucher of its epoch lives");
        assert!(UsedVouchers::<Test>::contains_key(user(), r.request_id));
        // Its rewards matured long ago and are claimed before and after pruning alike.
        let before = free(&data_owner());
        claim(vec![Payee::Contribution(f.c0)]);
        assert_eq!(free(&data_owner()), before + 50);
        run_idle_to(due);
        System::assert_has_event(Event::<Test>::ReceiptsPruned { from: 0, to: 2 }.into());
        assert!(Receipts::<Test>::iter().next().is_none());
        assert!(UsedVouchers::<Test>::iter().next().is_none());
        assert!(ModelReceipts::<Test>::iter().next().is_none());
        assert!(EpochLeaves::<Test>::iter().next().is_none());
        let info = ModelIndex::<Test>::get(f.model);
        assert_eq!(
            (info.receipts, info.pruned_receipts, info.runs, info.pruned_runs),
            (2, 2, 1, 1)
        );
        assert!(Attribution::api_receipt(0).is_none());
        // The record stays: the epoch's root and every payee's totals; the root is what the
        // bridge settles on Ethereum, and an epoch not closed has none.
        let root = EpochRoots::<Test>::get(0).unwrap();
        assert_eq!(root.receipts, 2);
        use provena_primitives::attribution::SettledEpochs;
        assert_eq!(Attribution::settled_root(0), Some((root.root, 2)));
        let open = Attribution::epoch_of(System::block_number());
        assert_eq!(Attribution::settled_root(open), None);
        let before = free(&contributor());
        claim(vec![Payee::Contribution(f.c1)]);
        assert_eq!(free(&contributor()), before + 50);
        assert_eq!(Attribution::api_rewards(Payee::Contribution(f.c0)).earned, 50);
        assert_eq!(Attribution::api_rewards(Payee::Contribution(f.c0)).claimed, 50);
    });
}

#[test]
fn a_pruned_voucher_cannot_be_replayed() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        let replay = small(&f, 7);
        submit(vec![replay.clone()]);
        run_idle_to(Attribution::prunable_at(&Receipts::<Test>::get(0).unwrap()));
        assert!(!UsedVouchers::<Test>::contains_key(user(), replay.voucher.request_id));
        // The mark is gone, but the voucher expired before it went.
        assert_noop!(
            Attribution::submit_receipts(RuntimeOrigin::signed(operator()), vec![replay]),
            Error::<Test>::VoucherExpired
        );
    });
}

#[test]
fn vouchers_longer_than_the_lifetime_are_refused() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        // Block 1, lifetime 200: block 201 is the latest expiry.
        let long = receipt_by(&pair("User"), f.model, 1, vec![], |v| v.expires_at = 202);
        assert_noop!(
            Attribution::submit_receipts(RuntimeOrigin::signed(operator()), vec![long.clone()]),
            Error::<Test>::VoucherTooLong
        );
        assert_noop!(
            Attribution::prepay_voucher(RuntimeOrigin::signed(user()), long.voucher),
            Error::<Test>::VoucherTooLong
        );
        submit(vec![receipt_by(&pair("User"), f.model, 2, vec![], |v| v.expires_at = 201)]);
    });
}

#[test]
fn each_block_prunes_a_bounded_number_first_and_more_when_idle() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        for _ in 0..2 {
            submit((0..8).map(|i| small(&f, i + 8 * System::block_number() as u32)).collect());
            run_to_block(System::block_number() + 1);
        }
        let due = Attribution::prunable_at(&Receipts::<Test>::get(15).unwrap());
        // Blocks with no spare weight: `on_initialize` alone prunes, 8 receipts a block.
        run_to_block(due);
        assert_eq!(PruneCursor::<Test>::get().next, 8);
        assert_eq!(Receipts::<Test>::iter().count(), 8);
        run_to_block(due + 1);
        assert_eq!(PruneCursor::<Test>::get().next, 16);
        // New receipts are not due: pruning stops at them, and spare weight finds nothing.
        submit(vec![small(&f, 99)]);
        run_idle_to(due + 3);
        assert_eq!(PruneCursor::<Test>::get().next, 16);
        assert_eq!(Receipts::<Test>::iter().count(), 1);
        // On a chain with a backlog, spare weight prunes beyond the per-block bound.
        let r = Receipts::<Test>::get(16).unwrap();
        let now = Attribution::prunable_at(&r);
        run_to_block(now - 1);
        System::set_block_number(now);
        assert_eq!(
            Attribution::on_idle(now, Weight::MAX),
            <Test as Config>::WeightInfo::prune_receipts(1)
        );
        assert!(Receipts::<Test>::iter().next().is_none());
    });
}

#[test]
fn a_receipt_under_challenge_outlives_pruning_until_resolved() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        submit(vec![small(&f, 1), small(&f, 2)]);
        assert_ok!(Attribution::challenge_receipt(RuntimeOrigin::signed(challenger()), 0));
        run_idle_to(Attribution::prunable_at(&Receipts::<Test>::get(1).unwrap()));
        assert_eq!(PruneCursor::<Test>::get().next, 2);
        // The challenged one stays for its resolution; the other, its leaves and marks went.
        assert_eq!(Receipts::<Test>::get(0).unwrap().status, ReceiptStatus::Challenged);
        assert!(!Receipts::<Test>::contains_key(1));
        assert!(EpochLeaves::<Test>::iter().next().is_none());
        assert!(UsedVouchers::<Test>::iter().next().is_none());
        let user_before = free(&user());
        assert_ok!(Attribution::resolve_challenge(RuntimeOrigin::root(), 0, true));
        assert_eq!(free(&user()), user_before + 100);
        assert!(Receipts::<Test>::iter().next().is_none());
    });
}

/// The state-size figure: 10,000 receipts over 625 epochs (the mock's operator may submit 16
/// per epoch), pruned as they go; prints the pallet's state at its peak and after the last
/// receipt's retention, and checks that only aggregates are left.
/// `cargo test --release -p pallet-attribution state_per_10000 -- --nocapture`.
#[test]
fn state_per_10000_receipts_is_only_the_aggregates() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        let start = state_bytes();
        // The largest state seen (at the end of an epoch's submissions) and how many receipts
        // were alive then.
        let mut peak: (u64, u64) = (0, 0);
        let mut request = 0u32;
        while request < 10_000 {
            for _ in 0..2 {
                submit((request..request + 8).map(|i| small(&f, i)).collect());
                request += 8;
            }
            let bytes = state_bytes().values().map(|(_, b)| b).sum();
            if bytes > peak.0 {
                peak = (bytes, Receipts::<Test>::iter().count() as u64);
            }
            run_idle_to(System::block_number() + EPOCH);
        }
        let last = Receipts::<Test>::get(9_999).unwrap();
        run_idle_to(Attribution::prunable_at(&last));
        let end = state_bytes();
        let total: u64 = end.values().map(|(_, b)| b).sum();
        let grown: u64 = total - start.values().map(|(_, b)| b).sum::<u64>();
        println!("attribution state: start {start:?}");
        println!("peak: {} bytes with {} receipts alive", peak.0, peak.1);
        println!("after retention: {end:?}");
        println!("10,000 receipts left {grown} bytes: {} per receipt", grown as f64 / 10_000.0);
        // What is left: one root per epoch that had receipts (625), one record per payee (the
        // operator, developer and treasury here; the two contributions' in their own records in
        // the datanets pallet, counted too), and one entry of each singleton,
        // per-model and per-operator item.
        for (item, (count, _)) in &end {
            match *item {
                "EpochRoots" => assert_eq!(*count, 625),
                "Rewards" => assert_eq!(*count, 3),
                "ContributionRewards" => assert_eq!(*count, 2),
                "ChallengeWindow" | "FeeTotals" | "ModelIndex" | "NextReceiptId"
                | "OperatorEpochUsage" | "Operators" | "PruneCursor" => {
                    assert_eq!(*count, 1, "{item}")
                }
                other => panic!("{other} left after retention"),
            }
        }
        assert_eq!(FeeTotals::<Test>::get().charged, 10_000 * 100);
    });
}

#[test]
fn a_mark_from_before_the_lifetime_rule_outlives_its_receipt() {
    ExtBuilder.build_and_execute(|| {
        let f = fixture();
        let r = small(&f, 5);
        submit(vec![r.clone()]);
        // As a spec-104 chain left it: a voucher valid far beyond an hour.
        UsedVouchers::<Test>::insert(user(), r.voucher.request_id, 1_000);
        run_idle_to(Attribution::prunable_at(&Receipts::<Test>::get(0).unwrap()));
        assert!(!Receipts::<Test>::contains_key(0));
        // Its voucher could still be redeemed: the mark stays, counted.
        assert!(UsedVouchers::<Test>::contains_key(user(), r.voucher.request_id));
        assert_eq!(LegacyVoucherMarks::<Test>::get(), 1);
        run_idle_to(1_001);
    });
}
