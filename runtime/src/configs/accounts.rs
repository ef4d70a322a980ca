//! Account tools: batching (Utility), shared accounts (Multisig) and delegation (Proxy).

use crate::{Balance, Balances, OriginCaller, Runtime, RuntimeCall, RuntimeEvent, System};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{
    frame_support::{
        parameter_types,
        traits::{ConstU32, InstanceFilter},
    },
    pallet_multisig, pallet_proxy, pallet_utility,
    sp_runtime::traits::BlakeTwo256,
};
use provena_primitives::currency::deposit;
use scale_info::TypeInfo;

impl pallet_utility::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type RuntimeCall = RuntimeCall;
    type PalletsOrigin = OriginCaller;
    type WeightInfo = crate::weights::pallet_utility::WeightInfo<Runtime>;
}

parameter_types! {
    /// Deposit for a pending multisig operation: one item plus its 88-byte record.
    pub const MultisigDepositBase: Balance = deposit(1, 88);
    /// Extra deposit per signatory (an account id).
    pub const MultisigDepositFactor: Balance = deposit(0, 32);
    /// Deposit for having any proxy: one storage item.
    pub const ProxyDepositBase: Balance = deposit(1, 8);
    /// Extra deposit per proxy: an account id and a proxy type.
    pub const ProxyDepositFactor: Balance = deposit(0, 33);
    /// Deposit for announcing a time-delayed proxy call.
    pub const AnnouncementDepositBase: Balance = deposit(1, 8);
    /// Extra deposit per announcement: an account id, a hash and a block number.
    pub const AnnouncementDepositFactor: Balance = deposit(0, 68);
}

impl pallet_multisig::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type RuntimeCall = RuntimeCall;
    type Currency = Balances;
    type DepositBase = MultisigDepositBase;
    type DepositFactor = MultisigDepositFactor;
    type MaxSignatories = ConstU32<100>;
    type WeightInfo = crate::weights::pallet_multisig::WeightInfo<Runtime>;
    type BlockNumberProvider = System;
}

/// What a proxy may do on behalf of its delegator.
#[derive(
    Copy,
    Clone,
    Eq,
    PartialEq,
    Ord,
    PartialOrd,
    Encode,
    Decode,
    DecodeWithMemTracking,
    Debug,
    MaxEncodedLen,
    TypeInfo,
    Default,
)]
pub enum ProxyType {
    /// Any call.
    #[default]
    Any,
    /// Any call that cannot move funds.
    NonTransfer,
    /// Only proxy management and batching of such calls (e.g. for a cold wallet's hot key).
    CancelProxy,
}

impl InstanceFilter<RuntimeCall> for ProxyType {
    fn filter(&self, call: &RuntimeCall) -> bool {
        match self {
            ProxyType::Any => true,
            ProxyType::NonTransfer => !matches!(call, RuntimeCall::Balances(..)),
            ProxyType::CancelProxy => matches!(
                call,
                RuntimeCall::Proxy(pallet_proxy::Call::reject_announcement { .. })
                    | RuntimeCall::Utility(..)
                    | RuntimeCall::Multisig(..)
            ),
        }
    }

    fn is_superset(&self, other: &Self) -> bool {
        match (self, other) {
            (x, y) if x == y => true,
            (ProxyType::Any, _) => true,
            (_, ProxyType::Any) => false,
            (ProxyType::NonTransfer, _) => true,
            _ => false,
        }
    }
}

impl pallet_proxy::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type RuntimeCall = RuntimeCall;
    type Currency = Balances;
    type ProxyType = ProxyType;
    type ProxyDepositBase = ProxyDepositBase;
    type ProxyDepositFactor = ProxyDepositFactor;
    type MaxProxies = ConstU32<32>;
    type WeightInfo = crate::weights::pallet_proxy::WeightInfo<Runtime>;
    type MaxPending = ConstU32<32>;
    type CallHasher = BlakeTwo256;
    type AnnouncementDepositBase = AnnouncementDepositBase;
    type AnnouncementDepositFactor = AnnouncementDepositFactor;
    type BlockNumberProvider = System;
}
