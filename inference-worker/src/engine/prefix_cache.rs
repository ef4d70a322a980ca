//! Prefix caching: the K/V of finished and preempted sequences, reused by prompts that start
//! the same way (a shared system prompt, a RAG passage, the earlier turns of a conversation).
//!
//! - **What is kept**: when a sequence finishes (or is preempted), its cache is moved here —
//!   no copy — under the tokens it holds (prompt, then what was generated), cut to whole
//!   blocks of [`BLOCK`] positions. An entry that is a prefix of a newer one (the previous turn
//!   of the same conversation) is dropped.
//! - **Matching**: every block boundary of an entry is indexed by a hash chained over the
//!   tokens so far, the weights that computed them (the base model or one adapter: K/V
//!   depend on the adapter) and the request's `cache_salt` (vLLM's extension): requests with
//!   different salts never share K/V, so a tenant given its own salt cannot learn from
//!   time-to-first-token whether another tenant sent a prompt (the prefix-cache timing
//!   channel). A new prompt's boundaries are hashed the same way, longest
//!   first; a hit is confirmed token by token (a hash collision costs a comparison, never a
//!   wrong K/V). At most `prompt − 1` tokens are reused: the last prompt token is always fed,
//!   for its logits.
//! - **Running sequences** share too: a new prompt that starts like a running sequence's
//!   tokens (a burst of requests with one system prompt, none finished yet) copies the K/V of
//!   the longest common prefix from it (the scheduler checks them beside this cache).
//! - **Reuse**: the matched positions are copied into the new sequence's cache, which starts
//!   with them in and feeds only the rest of the prompt. K/V at a position depend only on the
//!   tokens up to it, so the result equals a full prefill.
//! - **Bounds**: the entries hold at most `budget` bytes (`--prefix-cache-bytes`, apart from
//!   the running sequences' K/V budget); the least recently used entry goes first. Entries
//!   name an adapter by its preparation number, not a reference: an unloaded adapter's memory
//!   is freed (its entries simply stop matching). A budget of 0 disables the cache.
//!
//! Entries are whole caches, not shared pages: two prompts that share a system prompt but
//! continue differently hold the system prompt twice.

use crate::{lora::LoraWeights, model::KvCache};
use std::{
    collections::HashMap,
    hash::{DefaultHasher, Hash, Hasher},
    sync::Arc,
};

/// Positions per matching block.
pub const BLOCK: usize = 16;

/// Who may share a K/V: the weights that computed it (0 for the base, else the adapter
/// preparation's [`LoraWeights::instance`], never reused, so an entry need not keep an unloaded
/// adapter's memory alive) and the request's cache salt.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Owner {
    weights: u64,
    salt: Option<String>,
}

impl Owner {
    pub(super) fn new(lora: Option<&Arc<LoraWeights>>, salt: Option<&str>) -> Self {
        Self { weights: lora.map_or(0, |a| a.instance()), salt: salt.map(str::to_owned) }
    }
}

/// The chained hash at each block boundary of `tokens` (the first `blocks` blocks).
fn boundary_hashes(owner: &Owner, tokens: &[u32], blocks: usize) -> Vec<u64> {
    let mut h = DefaultHasher::new();
    owner.hash(&mut h);
    tokens
        .chunks_exact(BLOCK)
        .take(blocks)
        .map(|block| {
            block.hash(&mut h);
            h.finish()
        })
        .collect()
}

struct Entry {
    owner: Owner,
    /// Whole blocks.
    tokens: Vec<u32>,
    cache: KvCache,
    hashes: Vec<u64>,
    last_used: u64,
}

/// A match: the entry and the positions it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Hit {
    entry: u64,
    /// Positions to reuse (whole blocks).
    pub positions: usize,
}

/// The prefix cache (see the module docs).
pub(super) struct PrefixCache {
    budget: usize,
    used: usize,
    next_id: u64,
    clock: u64,
    entries: HashMap<u64, Entry>,
    /// Boundary hash → the entries with that prefix.
    index: HashMap<u64, Vec<u64>>,
}

impl PrefixCache {
    pub(super) fn new(budget: usize) -> Self {
        Self {
            budget,
            used: 0,
            next_id: 0,
            clock: 0,
            entries: HashMap::new(),
            index: HashMap::new(),
        }
    }

    /// Bytes held.
    pub(super) fn bytes(&self) -> usize {
        self.used
    }

    /// Entries held.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The longest reusable prefix of `prompt` computed for `owner` (weights and salt).
    pub(super) fn lookup(&self, owner: &Owner, prompt: &[u32]) -> Option<Hit> {
        if self.budget == 0 {
            return None;
        }
        let blocks = prompt.len().saturating_sub(1) / BLOCK;
        let hashes = boundary_hashes(owner, prompt, blocks);
        for (b, h) in hashes.iter().enumerate().rev() {
            let positions = b.saturating_add(1).saturating_mul(BLOCK);
            for id in self.index.get(h).into_iter().flatten() {
                let Some(e) = self.entries.get(id) else { continue };
                if e.owner == *owner && e.tokens.get(..positions) == prompt.get(..positions) {
                    return Some(Hit { entry: *id, positions });
                }
            }
        }
        None
    }

    /// A copy of the K/V of `hit` (marks the entry used).
    pub(super) fn take_copy(&mut self, hit: Hit) -> Option<KvCache> {
        self.clock = self.clock.saturating_add(1);
        let e = self.entries.get_mut(&hit.entry)?;
        e.last_used = self.clock;
        Some(e.cache.prefix(hit.positions))
    }

    /// Keeps `cache`, which holds the K/V of `tokens[..cache.len()]` computed by `lora`.
    pub(super) fn insert(
        &mut self,
        lora: Option<&Arc<LoraWeights>>,
        salt: Option<&str>,
        tokens: &[u32],
        mut cache: KvCache,
    ) {
        let blocks = tokens.len().min(cache.len()) / BLOCK;
        if self.budget == 0 || blocks == 0 {
            return;
        }
        let positions = blocks.saturating_mul(BLOCK);
        let owner = Owner::new(lora, salt);
        let hashes = boundary_hashes(&owner, tokens, blocks);
        let tokens = tokens.get(..positions).unwrap_or_default();
        self.clock = self.clock.saturating_add(1);
        // Already held (the same prompt again): keep the older copy, mark it used.
        let same = hashes.last().and_then(|h| self.index.get(h)).and_then(|ids| {
            ids.iter().copied().find(|id| {
                self.entries
                    .get(id)
                    .is_some_and(|e| e.owner == owner && e.tokens.get(..positions) == Some(tokens))
            })
        });
        if let Some(id) = same {
            if let Some(e) = self.entries.get_mut(&id) {
                e.last_used = self.clock;
            }
            return;
        }
        cache.truncate(positions);
        let bytes = cache.bytes();
        if bytes > self.budget {
            return;
        }
        // Entries this one extends (an earlier turn of the conversation) are redundant.
        let mut extended = Vec::new();
        for (b, h) in hashes.iter().enumerate() {
            let upto = b.saturating_add(1).saturating_mul(BLOCK);
            for id in self.index.get(h).into_iter().flatten() {
                let redundant = self.entries.get(id).is_some_and(|e| {
                    e.tokens.len() == upto
                        && e.owner == owner
                        && e.tokens.as_slice() == tokens.get(..upto).unwrap_or_default()
                });
                if redundant {
                    extended.push(*id);
                }
            }
        }
        for id in extended {
            self.remove(id);
        }
        while self.used.saturating_add(bytes) > self.budget {
            let Some(oldest) =
                self.entries.iter().min_by_key(|(_, e)| e.last_used).map(|(id, _)| *id)
            else {
                break;
            };
            self.remove(oldest);
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        for h in &hashes {
            self.index.entry(*h).or_default().push(id);
        }
        self.used = self.used.saturating_add(bytes);
        self.entries.insert(
            id,
            Entry { owner, tokens: tokens.to_vec(), cache, hashes, last_used: self.clock },
        );
    }

    fn remove(&mut self, id: u64) {
        let Some(e) = self.entries.remove(&id) else { return };
        self.used = self.used.saturating_sub(e.cache.bytes());
        for h in &e.hashes {
            if let Some(ids) = self.index.get_mut(h) {
                ids.retain(|x| *x != id);
                if ids.is_empty() {
                    self.index.remove(h);
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::model::Config;

    fn config() -> Config {
        Config::small_for_tests(4096)
    }

    /// A cache holding `n` positions whose values identify (position, layer).
    fn filled(n: usize) -> KvCache {
        KvCache::synthetic(&config(), n)
    }

    #[test]
    fn the_longest_whole_block_prefix_is_found_and_copied() {
        let base = Owner::new(None, None);
        let mut pc = PrefixCache::new(1 << 30);
        let system: Vec<u32> = (0..40).collect();
        let mut first = system.clone();
        first.extend([900, 901, 902]);
        pc.insert(None, None, &first, filled(first.len()));
        assert_eq!((pc.len(), pc.bytes() > 0), (1, true));
        // A prompt sharing the 40-token system prompt reuses its two whole blocks (32).
        let mut second = system.clone();
        second.extend([500, 501]);
        let hit = pc.lookup(&base, &second).unwrap();
        assert_eq!(hit.positions, 32);
        let copy = pc.take_copy(hit).unwrap();
        assert_eq!(copy, filled(first.len()).prefix(32));
        // Another adapter's K/V never match; nor does a prompt differing in the first block.
        let lora = Some(Arc::new(LoraWeights::empty_for_tests()));
        assert_eq!(pc.lookup(&Owner::new(lora.as_ref(), None), &second), None);
        // Nor does a request with another cache salt.
        assert_eq!(pc.lookup(&Owner::new(None, Some("tenant-b")), &second), None);
        let mut other = second.clone();
        other[3] = 77;
        assert_eq!(pc.lookup(&base, &other), None);
        // The last token is always fed: a prompt of exactly 32 reuses 16.
        assert_eq!(pc.lookup(&base, &system[..32]).unwrap().positions, 16);
    }

    #[test]
    fn a_later_turn_replaces_the_earlier_and_the_budget_evicts_the_oldest() {
        let base = Owner::new(None, None);
        let one = KvCache::bytes_for(&config(), 32);
        let mut pc = PrefixCache::new(3 * one);
        let turn1: Vec<u32> = (0..32).collect();
        let turn2: Vec<u32> = (0..48).collect();
        pc.insert(None, None, &turn1, filled(32));
        pc.insert(None, None, &turn2, filled(48));
        assert_eq!(pc.len(), 1, "the first turn is a prefix of the second");
        assert_eq!(pc.lookup(&base, &(0..100).collect::<Vec<u32>>()).unwrap().positions, 48);
        // Two more 32-position entries: the budget (3 x 32 positions) evicts the oldest.
        pc.insert(None, None, &(1000..1032).collect::<Vec<u32>>(), filled(32));
        pc.insert(None, None, &(2000..2032).collect::<Vec<u32>>(), filled(32));
        assert!(pc.bytes() <= 3 * one, "{} > {}", pc.bytes(), 3 * one);
        assert_eq!(pc.lookup(&base, &(0..100).collect::<Vec<u32>>()), None, "evicted");
        assert!(pc.lookup(&base, &(2000..2040).collect::<Vec<u32>>()).is_some());
        // A disabled cache keeps nothing.
        let mut off = PrefixCache::new(0);
        off.insert(None, None, &turn1, filled(32));
        assert_eq!((off.len(), off.lookup(&base, &turn2)), (0, None));
    }
}
