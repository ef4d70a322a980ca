//! Registering models, versions, price, ownership and deprecation.

use super::*;
use polkadot_sdk::frame_support::{assert_noop, traits::fungible::Inspect};
use provena_primitives::models::ModelView;
use provena_primitives::ModelId;

#[test]
fn register_base_and_adapter_with_provenance() {
    ExtBuilder::default().build_and_execute(|| {
        let datanet = snapshot_of(DATA_OWNER, Visibility::Public, 1);
        let base = register_base(DEV, 1, vec![]);
        let adapter = NextModelId::<Test>::get();
        assert_ok!(ModelsPallet::register_model(
            RuntimeOrigin::signed(ALICE),
            adapter_of(base),
            hash(2),
            hash(3),
            vec![(datanet, 1)],
            2_000,
            Permill::from_percent(30),
            b"ipfs://adapter".to_vec(),
            None,
        ));
        assert_eq!(deposit_held(DEV), MODEL_DEPOSIT);
        assert_eq!(deposit_held(ALICE), MODEL_DEPOSIT);
        assert_eq!(ModelByWeights::<Test>::get(hash(2)), Some(adapter));
        let view = <ModelsPallet as ModelInspect<_, _>>::model(adapter).unwrap();
        assert_eq!(
            view,
            ModelView {
                developer: ALICE,
                status: ModelStatus::Active,
                base: Some(base),
                weights_hash: hash(2),
                price_per_1k_tokens: 2_000,
                developer_share: Permill::from_percent(30),
                trained_on: vec![(datanet, 1)],
            }
        );
        assert!(<ModelsPallet as ModelInspect<_, _>>::is_active(adapter));
        assert_eq!(<ModelsPallet as ModelInspect<_, _>>::base(adapter), Some(base));
        assert_eq!(<ModelsPallet as ModelInspect<_, _>>::price_per_1k_tokens(base), Some(1_000));
        let info = ModelsPallet::api_model(adapter).unwrap();
        assert_eq!(info.version, 1);
        assert!(matches!(
            info.kind,
            ModelKindInfo::Adapter { base: b, rank: 8, alpha: 16, ref target_modules }
                if b == base && target_modules == &["q_proj".to_string(), "v_proj".to_string()]
        ));
        assert_eq!(
            model_events().last(),
            Some(&Event::ModelRegistered {
                model: adapter,
                owner: ALICE,
                base: Some(base),
                weights_hash: hash(2),
                trained_on: vec![(datanet, 1)],
                predecessor: None,
                version: 1,
            })
        );
    });
}

#[test]
fn new_versions_link_to_their_predecessor() {
    ExtBuilder::default().build_and_execute(|| {
        let v1 = register_base(DEV, 1, vec![]);
        let v2 = NextModelId::<Test>::get();
        assert_ok!(ModelsPallet::register_model(
            RuntimeOrigin::signed(DEV),
            ModelKindArg::Base,
            hash(2),
            hash(9),
            vec![],
            1_000,
            Permill::one(),
            vec![],
            Some(v1),
        ));
        let info = ModelsPallet::api_model(v2).unwrap();
        assert_eq!((info.predecessor, info.version), (Some(v1), 2));
        // Someone else cannot claim to be the next version.
        assert_noop!(
            ModelsPallet::register_model(
                RuntimeOrigin::signed(ALICE),
                ModelKindArg::Base,
                hash(3),
                hash(9),
                vec![],
                1_000,
                Permill::one(),
                vec![],
                Some(v2),
            ),
            Error::<Test>::NotOwner
        );
    });
}

/// Registers with everything valid except what `f` changes, expecting `error`.
fn refused(who: AccountId, f: impl FnOnce(&mut RegisterArgs), error: Error<Test>) {
    let mut args = RegisterArgs {
        kind: ModelKindArg::Base,
        weights: hash(50),
        trained_on: vec![],
        uri: b"ipfs://card".to_vec(),
        predecessor: None,
    };
    f(&mut args);
    assert_noop!(
        ModelsPallet::register_model(
            RuntimeOrigin::signed(who),
            args.kind,
            args.weights,
            hash(200),
            args.trained_on,
            1_000,
            Permill::from_percent(50),
            args.uri,
            args.predecessor,
        ),
        error
    );
}

struct RegisterArgs {
    kind: ModelKindArg,
    weights: H256,
    trained_on: Vec<TrainedOn>,
    uri: Vec<u8>,
    predecessor: Option<ModelId>,
}

#[test]
fn bad_registrations_fail_cleanly() {
    ExtBuilder::default().build_and_execute(|| {
        let public = snapshot_of(DATA_OWNER, Visibility::Public, 1);
        let private = snapshot_of(DATA_OWNER, Visibility::Private, 2);
        let base = register_base(DEV, 1, vec![]);
        let adapter = NextModelId::<Test>::get();
        assert_ok!(ModelsPallet::register_model(
            RuntimeOrigin::signed(DEV),
            adapter_of(base),
            hash(2),
            hash(3),
            vec![],
            1,
            Permill::zero(),
            vec![],
            None,
        ));
        // Snapshots.
        refused(ALICE, |a| a.trained_on = vec![(99, 1)], Error::<Test>::UnknownDatanet);
        refused(ALICE, |a| a.trained_on = vec![(public, 2)], Error::<Test>::SnapshotNotFound);
        refused(ALICE, |a| a.trained_on = vec![(private, 1)], Error::<Test>::NoSnapshotAccess);
        refused(
            ALICE,
            |a| a.trained_on = vec![(public, 1), (public, 1)],
            Error::<Test>::DuplicateSnapshot,
        );
        // Weights already registered (first registration wins).
        refused(ALICE, |a| a.weights = hash(1), Error::<Test>::WeightsAlreadyRegistered);
        refused(ALICE, |a| a.uri = vec![b'x'; 65], Error::<Test>::UriTooLong);
        refused(ALICE, |a| a.predecessor = Some(ModelId(77)), Error::<Test>::UnknownPredecessor);
        refused(ALICE, |a| a.predecessor = Some(base), Error::<Test>::NotOwner);
        // Adapter shape.
        let kind = |rank, alpha, modules: Vec<&[u8]>, base| ModelKindArg::Adapter {
            base,
            rank,
            alpha,
            target_modules: modules.into_iter().map(|m| m.to_vec()).collect(),
        };
        refused(ALICE, |a| a.kind = kind(0, 16, vec![b"q_proj"], base), Error::<Test>::InvalidRank);
        refused(
            ALICE,
            |a| a.kind = kind(257, 16, vec![b"q_proj"], base),
            Error::<Test>::InvalidRank,
        );
        refused(ALICE, |a| a.kind = kind(8, 0, vec![b"q_proj"], base), Error::<Test>::InvalidAlpha);
        refused(ALICE, |a| a.kind = kind(8, 16, vec![], base), Error::<Test>::NoTargetModules);
        refused(
            ALICE,
            |a| a.kind = kind(8, 16, vec![b"a", b"b", b"c", b"d", b"e"], base),
            Error::<Test>::TooManyTargetModules,
        );
        refused(ALICE, |a| a.kind = kind(8, 16, vec![b""], base), Error::<Test>::InvalidModuleName);
        refused(
            ALICE,
            |a| a.kind = kind(8, 16, vec![&[b'm'; 17]], base),
            Error::<Test>::InvalidModuleName,
        );
        refused(
            ALICE,
            |a| a.kind = kind(8, 16, vec![b"q_proj", b"q_proj"], base),
            Error::<Test>::DuplicateTargetModule,
        );
        refused(
            ALICE,
            |a| a.kind = kind(8, 16, vec![b"q_proj"], ModelId(42)),
            Error::<Test>::UnknownBase,
        );
        refused(
            ALICE,
            |a| a.kind = kind(8, 16, vec![b"q_proj"], adapter),
            Error::<Test>::BaseIsAdapter,
        );
        // Too poor for the deposit: the balances error, and nothing registered.
        assert_noop!(
            ModelsPallet::register_model(
                RuntimeOrigin::signed(POOR),
                ModelKindArg::Base,
                hash(60),
                hash(0),
                vec![],
                1,
                Permill::one(),
                vec![],
                None,
            ),
            polkadot_sdk::sp_runtime::TokenError::FundsUnavailable
        );
        // A deprecated base takes no new adapters.
        assert_ok!(ModelsPallet::deprecate(RuntimeOrigin::signed(DEV), base));
        refused(
            ALICE,
            |a| a.kind = kind(8, 16, vec![b"q_proj"], base),
            Error::<Test>::BaseNotActive,
        );
    });
}

#[test]
fn too_many_snapshots_is_refused() {
    ExtBuilder::default().build_and_execute(|| {
        let datanet = snapshot_of(DATA_OWNER, Visibility::Public, 1);
        for n in 2..6 {
            next_snapshot(DATA_OWNER, datanet, n);
        }
        let five: Vec<_> = (1..=5).map(|v| (datanet, v)).collect();
        refused(ALICE, |a| a.trained_on = five, Error::<Test>::TooManySnapshots);
        let four: Vec<_> = (1..=4).map(|v| (datanet, v)).collect();
        register_base(ALICE, 9, four);
    });
}

#[test]
fn private_snapshots_need_an_access_grant() {
    ExtBuilder::default().build_and_execute(|| {
        let private = snapshot_of(DATA_OWNER, Visibility::Private, 1);
        refused(ALICE, |a| a.trained_on = vec![(private, 1)], Error::<Test>::NoSnapshotAccess);
        // The owner may train on its own private data.
        register_base(DATA_OWNER, 3, vec![(private, 1)]);
        assert_ok!(Datanets::request_access(RuntimeOrigin::signed(ALICE), private, vec![]));
        assert_ok!(Datanets::grant_access(RuntimeOrigin::signed(DATA_OWNER), private, ALICE));
        register_base(ALICE, 4, vec![(private, 1)]);
    });
}

#[test]
fn price_ownership_and_deprecation() {
    ExtBuilder::default().build_and_execute(|| {
        let model = register_base(DEV, 1, vec![]);
        assert_noop!(
            ModelsPallet::update_price(RuntimeOrigin::signed(ALICE), model, 5),
            Error::<Test>::NotOwner
        );
        assert_noop!(
            ModelsPallet::update_price(RuntimeOrigin::signed(DEV), ModelId(9), 5),
            Error::<Test>::UnknownModel
        );
        assert_ok!(ModelsPallet::update_price(RuntimeOrigin::signed(DEV), model, 5));
        assert_eq!(Models::<Test>::get(model).unwrap().price_per_1k_tokens, 5);

        assert_noop!(
            ModelsPallet::transfer_ownership(RuntimeOrigin::signed(DEV), model, DEV),
            Error::<Test>::AlreadyOwner
        );
        assert_noop!(
            ModelsPallet::transfer_ownership(RuntimeOrigin::signed(ALICE), model, BOB),
            Error::<Test>::NotOwner
        );
        assert_ok!(ModelsPallet::transfer_ownership(RuntimeOrigin::signed(DEV), model, ALICE));
        assert_eq!((deposit_held(DEV), deposit_held(ALICE)), (0, MODEL_DEPOSIT));
        assert_eq!(<ModelsPallet as ModelInspect<_, _>>::developer(model), Some(ALICE));

        assert_noop!(
            ModelsPallet::deprecate(RuntimeOrigin::signed(DEV), model),
            Error::<Test>::NotOwner
        );
        let free = Balances::balance(&ALICE);
        assert_ok!(ModelsPallet::deprecate(RuntimeOrigin::signed(ALICE), model));
        // Still stored, so the deposit stays held until the model is removed.
        assert_eq!(Balances::balance(&ALICE), free);
        assert_eq!(deposit_held(ALICE), MODEL_DEPOSIT);
        assert_eq!(model_events().last(), Some(&Event::ModelDeprecated { model }));
        assert!(!<ModelsPallet as ModelInspect<_, _>>::is_active(model));
        assert_noop!(
            ModelsPallet::deprecate(RuntimeOrigin::signed(ALICE), model),
            Error::<Test>::ModelNotActive
        );
        assert_noop!(
            ModelsPallet::update_price(RuntimeOrigin::signed(ALICE), model, 7),
            Error::<Test>::ModelNotActive
        );
        assert_noop!(
            ModelsPallet::launch_token(RuntimeOrigin::signed(ALICE), model),
            Error::<Test>::ModelNotActive
        );
        // A deprecated model can still change hands, with its deposit.
        assert_ok!(ModelsPallet::transfer_ownership(RuntimeOrigin::signed(ALICE), model, BOB));
        assert!(matches!(
            model_events().last(),
            Some(Event::OwnershipTransferred { from: ALICE, to: BOB, .. })
        ));
        assert_eq!((deposit_held(ALICE), deposit_held(BOB)), (0, MODEL_DEPOSIT));
    });
}

/// A deprecated model leaves the state (and its deposit comes back) once nothing depends on
/// it: not while active, not with adapters over it, not with a launched token.
#[test]
fn removing_a_model_returns_its_deposit_only_when_its_storage_goes() {
    ExtBuilder::default().build_and_execute(|| {
        let datanet = snapshot_of(DATA_OWNER, Visibility::Public, 1);
        let base = register_base(DEV, 1, vec![(datanet, 1)]);
        let adapter = NextModelId::<Test>::get();
        assert_ok!(ModelsPallet::register_model(
            RuntimeOrigin::signed(ALICE),
            adapter_of(base),
            hash(2),
            hash(200),
            vec![],
            1_000,
            Permill::from_percent(50),
            vec![],
            None,
        ));
        assert_eq!(AdapterCount::<Test>::get(base), 1);
        let remove = |who, m| ModelsPallet::remove_model(RuntimeOrigin::signed(who), m);
        assert_noop!(remove(ALICE, base), Error::<Test>::NotOwner);
        assert_noop!(remove(DEV, base), Error::<Test>::NotDeprecated);
        assert_ok!(ModelsPallet::deprecate(RuntimeOrigin::signed(DEV), base));
        assert_noop!(remove(DEV, base), Error::<Test>::HasAdapters);
        // The adapter goes first; then its base can.
        assert_ok!(ModelsPallet::deprecate(RuntimeOrigin::signed(ALICE), adapter));
        assert_ok!(remove(ALICE, adapter));
        assert_eq!(AdapterCount::<Test>::get(base), 0);
        assert_eq!(pallet_datanets::SnapshotUsage::<Test>::get(datanet), 1);
        let free = Balances::balance(&DEV);
        assert_ok!(remove(DEV, base));
        assert_eq!(Balances::balance(&DEV), free + MODEL_DEPOSIT);
        assert_eq!(deposit_held(DEV), 0);
        assert_eq!(
            model_events().last(),
            Some(&Event::ModelRemoved { model: base, owner: DEV, deposit_released: MODEL_DEPOSIT })
        );
        assert!(!Models::<Test>::contains_key(base));
        assert!(!ModelByWeights::<Test>::contains_key(hash(1)));
        // The datanet no longer counts it: it may be destroyed now.
        assert_eq!(pallet_datanets::SnapshotUsage::<Test>::get(datanet), 0);
        assert_ok!(Datanets::start_destroy(RuntimeOrigin::signed(DATA_OWNER), datanet));
        // Its weights hash is free again.
        register_base(BOB, 1, vec![]);
        assert_noop!(remove(DEV, base), Error::<Test>::UnknownModel);

        // A model whose token was launched stays: its holders own it.
        let tokened = register_base(DEV, 3, vec![]);
        assert_ok!(ModelsPallet::launch_token(RuntimeOrigin::signed(DEV), tokened));
        assert_ok!(ModelsPallet::deprecate(RuntimeOrigin::signed(DEV), tokened));
        assert_noop!(remove(DEV, tokened), Error::<Test>::HasToken);
    });
}

#[test]
fn unsigned_origins_are_refused() {
    ExtBuilder::default().build_and_execute(|| {
        assert_noop!(
            ModelsPallet::update_price(RuntimeOrigin::none(), ModelId(0), 1),
            polkadot_sdk::sp_runtime::DispatchError::BadOrigin
        );
        assert_noop!(
            ModelsPallet::buy(RuntimeOrigin::root(), ModelId(0), 1, 1, 1),
            polkadot_sdk::sp_runtime::DispatchError::BadOrigin
        );
    });
}

#[test]
fn genesis_registers_base_models_with_deposits() {
    ExtBuilder::default().with_genesis_base(DEV, 7, 123).build_and_execute(|| {
        assert_eq!(ModelByWeights::<Test>::get(hash(7)), Some(ModelId(0)));
        assert_eq!(Models::<Test>::get(ModelId(0)).unwrap().price_per_1k_tokens, 123);
        assert_eq!(deposit_held(DEV), MODEL_DEPOSIT);
        assert_eq!(NextModelId::<Test>::get(), ModelId(1));
    });
}

/// A model's provenance keeps the datanets it was trained on from being destroyed: registering
/// counts each distinct datanet once, and the datanets pallet refuses to start destroying one in
/// use. The v1 migration counts the models registered before.
#[test]
fn registered_models_keep_their_training_datanets_from_being_destroyed() {
    use polkadot_sdk::frame_support::traits::{
        GetStorageVersion, OnRuntimeUpgrade, StorageVersion,
    };
    ExtBuilder::default().build_and_execute(|| {
        let used = snapshot_of(DATA_OWNER, Visibility::Public, 1);
        next_snapshot(DATA_OWNER, used, 2);
        let free = snapshot_of(DATA_OWNER, Visibility::Public, 3);
        register_base(ALICE, 9, vec![(used, 1), (used, 2)]);
        assert_eq!(pallet_datanets::SnapshotUsage::<Test>::get(used), 1, "once per datanet");
        assert_eq!(pallet_datanets::SnapshotUsage::<Test>::get(free), 0);
        assert_noop!(
            Datanets::start_destroy(RuntimeOrigin::signed(DATA_OWNER), used),
            pallet_datanets::Error::<Test>::SnapshotsInUse
        );
        assert_ok!(Datanets::start_destroy(RuntimeOrigin::signed(DATA_OWNER), free));

        // A chain at v0 had no count: the migration makes it.
        register_base(BOB, 10, vec![(used, 2)]);
        pallet_datanets::SnapshotUsage::<Test>::remove(used);
        StorageVersion::new(0).put::<ModelsPallet>();
        crate::migrations::v1::MigrateToV1::<Test>::on_runtime_upgrade();
        assert_eq!(ModelsPallet::on_chain_storage_version(), 1);
        assert_eq!(pallet_datanets::SnapshotUsage::<Test>::get(used), 2);
        crate::migrations::v1::MigrateToV1::<Test>::on_runtime_upgrade();
        assert_eq!(pallet_datanets::SnapshotUsage::<Test>::get(used), 2, "it runs once");
    });
}

/// Registers `hash(n)` as `who` with a revealed commitment (made earlier with `SALT`).
fn register_committed(who: AccountId, n: u8, price: Balance) -> DispatchResult {
    ModelsPallet::register_model_committed(
        RuntimeOrigin::signed(who),
        ModelKindArg::Base,
        hash(n),
        hash(200),
        vec![],
        price,
        Permill::from_percent(70),
        b"ipfs://mine".to_vec(),
        None,
        SALT,
    )
}

const SALT: ContentHash = ContentHash::repeat_byte(0x5a);

fn commit_weights(who: AccountId, n: u8) {
    let c = provena_primitives::commit::commitment(&hash(n), &who, &SALT);
    assert_ok!(Datanets::commit(RuntimeOrigin::signed(who), c));
}

/// A watcher copies the weights hash from Alice's reveal and registers it first: Alice's older
/// commitment wins, and the copy (nothing depends on it yet) leaves the state.
#[test]
fn the_first_committer_of_weights_displaces_a_front_runner() {
    ExtBuilder::default().build_and_execute(|| {
        commit_weights(ALICE, 1);
        assert_noop!(
            register_committed(ALICE, 1, 5),
            pallet_datanets::Error::<Test>::CommitmentTooRecent
        );
        System::set_block_number(System::block_number() + 1);
        let copy = register_base(BOB, 1, vec![]);
        assert_eq!(deposit_held(BOB), MODEL_DEPOSIT);
        assert_ok!(register_committed(ALICE, 1, 5));
        assert!(!Models::<Test>::contains_key(copy));
        assert_eq!(deposit_held(BOB), 0, "the copy's deposit went back");
        let mine = ModelByWeights::<Test>::get(hash(1)).unwrap();
        let m = Models::<Test>::get(mine).unwrap();
        assert_eq!((m.owner, m.price_per_1k_tokens), (ALICE, 5));
        assert!(model_events().contains(&Event::ModelDisplaced {
            model: copy,
            owner: BOB,
            by: ALICE
        }));
        // A later commitment loses to a registration that came first.
        commit_weights(BOB, 1);
        System::set_block_number(System::block_number() + 1);
        assert_noop!(register_committed(BOB, 1, 1), Error::<Test>::WeightsAlreadyRegistered);
    });
}

/// The front-runner launched a token on the copy before Alice's reveal landed: the holders keep
/// their model, and it passes to Alice with her terms.
#[test]
fn the_first_committer_takes_over_a_copy_that_has_a_token() {
    ExtBuilder::default().build_and_execute(|| {
        commit_weights(ALICE, 1);
        System::set_block_number(System::block_number() + 1);
        let copy = register_base(BOB, 1, vec![]);
        assert_ok!(ModelsPallet::launch_token(RuntimeOrigin::signed(BOB), copy));
        buy(CAROL, copy, 100_000);
        assert_ok!(register_committed(ALICE, 1, 5));
        let m = Models::<Test>::get(copy).unwrap();
        assert_eq!(
            (m.owner, m.price_per_1k_tokens, m.developer_share),
            (ALICE, 5, Permill::from_percent(70))
        );
        assert_eq!(m.metadata_uri.to_vec(), b"ipfs://mine".to_vec());
        assert_eq!((deposit_held(BOB), deposit_held(ALICE)), (0, MODEL_DEPOSIT));
        assert_eq!(ModelByWeights::<Test>::get(hash(1)), Some(copy));
        assert_eq!(Holdings::<Test>::get(copy, CAROL).unwrap().balance, 100_000);
        assert_eq!(
            model_events().last(),
            Some(&Event::ModelTakenOver { model: copy, from: BOB, to: ALICE })
        );
    });
}
