//! The index's fixed-width arrays, held in memory or mapped from files, and suffix-array
//! construction for each token and position width.

use anyhow::{anyhow, ensure, Context, Result};
use std::{fs, path::Path};

/// An unsigned integer stored little-endian in an index file.
pub(crate) trait Width: bytemuck::Pod + Ord + Send + Sync + 'static {
    /// Bytes per entry.
    const BYTES: usize;
    /// The file extension naming the width (`u16` ...).
    const NAME: &'static str;
    /// The largest value (a token array's separator).
    const MAX: Self;
    fn to_u64(self) -> u64;
    fn from_u64(v: u64) -> Option<Self>;
}

macro_rules! width {
    ($t:ty, $name:literal) => {
        impl Width for $t {
            const BYTES: usize = std::mem::size_of::<$t>();
            const NAME: &'static str = $name;
            const MAX: Self = <$t>::MAX;
            fn to_u64(self) -> u64 {
                u64::from(self)
            }
            fn from_u64(v: u64) -> Option<Self> {
                <$t>::try_from(v).ok()
            }
        }
    };
}
width!(u16, "u16");
width!(u32, "u32");
width!(u64, "u64");

/// An array held in memory or mapped from a file.
pub(crate) enum Store<T: bytemuck::Pod> {
    Owned(Vec<T>),
    Mapped(memmap2::Mmap),
}

impl<T: bytemuck::Pod> Store<T> {
    pub(crate) fn as_slice(&self) -> &[T] {
        match self {
            Store::Owned(v) => v,
            // Checked aligned and sized when mapped.
            Store::Mapped(m) => bytemuck::try_cast_slice(m).unwrap_or(&[]),
        }
    }

    /// Maps `path`, checking that it holds exactly `len` entries.
    pub(crate) fn open(path: &Path, len: u64, what: &str) -> Result<Self> {
        let map = map(path)?;
        let size = std::mem::size_of::<T>() as u64;
        ensure!(
            map.len() as u64 == len.saturating_mul(size),
            "corrupt index: {what} has {} bytes, the manifest says {len} entries of {size} bytes",
            map.len()
        );
        ensure!(
            bytemuck::try_cast_slice::<u8, T>(&map).is_ok(),
            "corrupt index: {what} is misaligned"
        );
        Ok(Store::Mapped(map))
    }

    /// Writes the array to `path`.
    pub(crate) fn write(&self, path: &Path) -> Result<()> {
        fs::write(path, bytemuck::cast_slice::<T, u8>(self.as_slice()))
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

/// Maps a file read-only.
#[allow(unsafe_code)]
fn map(path: &Path) -> Result<memmap2::Mmap> {
    let file = fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    // SAFETY: index files are written once (a shard is never modified after its manifest entry
    // is written) and not modified while an index is loaded; a concurrent writer would be a
    // misuse documented in the README.
    unsafe { memmap2::Mmap::map(&file) }.with_context(|| format!("cannot map {}", path.display()))
}

/// The most tokens a shard with 32-bit suffix-array entries holds: libsais's 32-bit
/// construction takes texts shorter than 2^31 − 1.
pub const NARROW_SA_LIMIT: u64 = (i32::MAX as u64) - 1;

/// The suffix array of a token array, in the width the shard stores.
pub(crate) trait SuffixArray<P: Width>: Width {
    fn suffix_array(tokens: &[Self]) -> Result<Vec<P>>;
}

fn positions<O: Copy, P: Width>(sa: Vec<O>, to_u64: impl Fn(O) -> Option<u64>) -> Result<Vec<P>> {
    sa.into_iter()
        .map(|p| {
            to_u64(p)
                .and_then(P::from_u64)
                .ok_or_else(|| anyhow!("suffix-array entry out of range"))
        })
        .collect()
}

fn failed(e: impl std::fmt::Debug) -> anyhow::Error {
    anyhow!("suffix array construction failed: {e:?}")
}

/// Runs libsais (`$ctor`: `for_text` or, for integer alphabets, `for_text_mut`) into an owned
/// buffer of the output width (`$buffer`), single-threaded.
macro_rules! sais {
    ($ctor:ident, $text:expr, $buffer:ident) => {
        libsais::SuffixArrayConstruction::$ctor($text)
            .$buffer()
            .single_threaded()
            .run()
            .map_err(failed)?
            .into_vec()
    };
}

impl SuffixArray<u32> for u16 {
    fn suffix_array(tokens: &[u16]) -> Result<Vec<u32>> {
        ensure!((tokens.len() as u64) < NARROW_SA_LIMIT, "too many tokens for 32-bit positions");
        positions(sais!(for_text, tokens, in_owned_buffer32), |p| u64::try_from(p).ok())
    }
}

impl SuffixArray<u64> for u16 {
    fn suffix_array(tokens: &[u16]) -> Result<Vec<u64>> {
        positions(sais!(for_text, tokens, in_owned_buffer64), |p| u64::try_from(p).ok())
    }
}

/// A 32-bit token array as libsais's integer alphabet: tokens keep their values, the separator
/// becomes the largest token + 1 (the order is unchanged, the alphabet stays dense).
fn integer_text<I: TryFrom<u32>>(tokens: &[u32]) -> Result<Vec<I>> {
    let top = tokens.iter().copied().filter(|t| *t != u32::MAX).max().unwrap_or(0);
    let separator =
        top.checked_add(1).filter(|s| *s < (i32::MAX as u32).saturating_sub(1)).ok_or_else(
            || anyhow!("token id {top} is too large for the index (ids must be below 2^31 − 2)"),
        )?;
    tokens
        .iter()
        .map(|t| {
            let v = if *t == u32::MAX { separator } else { *t };
            I::try_from(v).map_err(|_| anyhow!("token id {v} does not fit"))
        })
        .collect()
}

impl SuffixArray<u32> for u32 {
    fn suffix_array(tokens: &[u32]) -> Result<Vec<u32>> {
        ensure!((tokens.len() as u64) < NARROW_SA_LIMIT, "too many tokens for 32-bit positions");
        let mut text: Vec<i32> = integer_text(tokens)?;
        positions(sais!(for_text_mut, &mut text, in_owned_buffer32), |p| u64::try_from(p).ok())
    }
}

impl SuffixArray<u64> for u32 {
    fn suffix_array(tokens: &[u32]) -> Result<Vec<u64>> {
        let mut text: Vec<i64> = integer_text(tokens)?;
        positions(sais!(for_text_mut, &mut text, in_owned_buffer64), |p| u64::try_from(p).ok())
    }
}
