//! JSON forms for RPC types: byte strings as UTF-8 text, amounts as decimal strings (a `u128`
//! does not fit a JavaScript number).

/// `Vec<u8>` as a string (lossy UTF-8 out; the string's bytes in).
pub mod text {
    use alloc::{string::String, vec::Vec};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes bytes as (lossy) UTF-8 text.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(bytes))
    }

    /// Deserializes text into its bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        String::deserialize(d).map(String::into_bytes)
    }
}

/// An amount as a decimal string.
pub mod amount {
    use alloc::string::{String, ToString};
    use core::{fmt::Display, str::FromStr};
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    /// Serializes an amount as a decimal string.
    pub fn serialize<T: Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    /// Deserializes an amount from a decimal string.
    pub fn deserialize<'de, T: FromStr, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|_| D::Error::custom("expected a decimal amount"))
    }
}

/// `Vec<u8>` as `0x`-prefixed lowercase hex.
pub mod hex {
    use alloc::{string::String, vec::Vec};
    use core::fmt::Write;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    /// Serializes bytes as `0x`-hex.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        let mut out = String::with_capacity(bytes.len().saturating_mul(2).saturating_add(2));
        out.push_str("0x");
        for b in bytes {
            let _ = write!(out, "{b:02x}");
        }
        s.serialize_str(&out)
    }

    /// Deserializes `0x`-hex (the prefix is optional) into bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        let digits = s.strip_prefix("0x").unwrap_or(&s).as_bytes();
        if digits.len() % 2 != 0 {
            return Err(D::Error::custom("odd number of hex digits"));
        }
        digits
            .chunks(2)
            .map(|pair| {
                let text = core::str::from_utf8(pair).map_err(D::Error::custom)?;
                u8::from_str_radix(text, 16).map_err(D::Error::custom)
            })
            .collect()
    }
}
