//! Genesis and hooks: a section of the pallet module, imported into it.

use polkadot_sdk::frame_support::pallet_macros::pallet_section;

#[pallet_section]
mod genesis_and_hooks {
    /// Datanets to create at genesis: (owner, name, domain, license, visibility, stake, max bytes).
    #[pallet::genesis_config]
    #[derive(polkadot_sdk::frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        /// The datanets to create; each owner's deposit is held as for `create_datanet`.
        pub datanets: Vec<(T::AccountId, Vec<u8>, Vec<u8>, Vec<u8>, Visibility, BalanceOf<T>, u64)>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            // The pallet account keeps reward pools; it must never be reaped.
            frame_system::Pallet::<T>::inc_providers(&Pallet::<T>::account_id());
            for (owner, name, domain, license, visibility, stake, max_bytes) in &self.datanets {
                let result = Pallet::<T>::do_create_datanet(
                    owner.clone(),
                    bounded(name.clone(), Error::<T>::NameTooLong),
                    BoundedVec::default(),
                    bounded(domain.clone(), Error::<T>::TagTooLong),
                    bounded(license.clone(), Error::<T>::TagTooLong),
                    *visibility,
                    *stake,
                    *max_bytes,
                );
                assert!(result.is_ok(), "genesis datanet {name:?} is invalid: {result:?}");
            }
        }
    }

    /// Converts genesis bytes to a bounded text, panicking (at genesis only) with `error`.
    fn bounded<S: Get<u32>, T: Config>(bytes: Vec<u8>, error: Error<T>) -> BoundedText<S> {
        match BoundedVec::try_from(bytes) {
            Ok(b) => b,
            Err(_) => panic!("genesis datanet field too long: {error:?}"),
        }
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn integrity_test() {
            assert!(
                T::MinContributionStake::get() >= T::Currency::minimum_balance(),
                "MinContributionStake must be at least the existential deposit"
            );
            assert!(T::MaxAcceptedPerDatanet::get() > 0, "MaxAcceptedPerDatanet must be positive");
        }

        #[cfg(feature = "try-runtime")]
        fn try_state(
            _n: BlockNumberFor<T>,
        ) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }
}
