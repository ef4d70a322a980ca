//! Ids of the chain's items as distinct types, so that one kind of id cannot be passed where
//! another is meant (a model's id as a contribution's: both were plain `u64`s).
//!
//! Each is a transparent wrapper: its SCALE encoding, its `MaxEncodedLen` and its JSON (a bare
//! number) are those of the integer it wraps, so storage, runtime APIs and RPCs read the same
//! bytes as when ids were plain integers (no migration).

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(
            Clone,
            Copy,
            PartialEq,
            Eq,
            PartialOrd,
            Ord,
            Hash,
            Default,
            Debug,
            Encode,
            Decode,
            DecodeWithMemTracking,
            MaxEncodedLen,
            TypeInfo,
            serde::Serialize,
            serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl $name {
            /// The id as its integer.
            pub const fn get(self) -> $inner {
                self.0
            }

            /// The id after this one, if there is one (ids are assigned in order).
            pub fn checked_next(self) -> Option<Self> {
                self.0.checked_add(1).map(Self)
            }
        }

        impl From<$inner> for $name {
            fn from(id: $inner) -> Self {
                Self(id)
            }
        }

        impl From<$name> for $inner {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type! {
    /// Identifies a contribution, unique across all datanets. Assigned sequentially from 0.
    ContributionId(u64)
}

id_type! {
    /// Identifies a registered model. Assigned sequentially from 0.
    ModelId(u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_encodes_as_its_integer() {
        assert_eq!(ModelId(7).encode(), 7u64.encode());
        assert_eq!(ContributionId::decode(&mut &9u64.encode()[..]), Ok(ContributionId(9)));
        assert_eq!(ModelId::max_encoded_len(), u64::max_encoded_len());
        assert_eq!(serde_json::to_string(&ModelId(5)).ok().as_deref(), Some("5"));
        assert_eq!(serde_json::from_str::<ContributionId>("12").ok(), Some(ContributionId(12)));
        assert_eq!(ModelId(u64::MAX).checked_next(), None);
        assert_eq!(ModelId(1).checked_next(), Some(ModelId(2)));
    }
}
