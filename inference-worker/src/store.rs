//! The content-addressed adapter store and its memory tiers.
//!
//! # Tiers
//! - **disk**: `<root>/<id>/adapter_config.json` and `adapter_model.safetensors`, where `id` is
//!   [`crate::lora::adapter_id`] of the two files. Nothing on disk is trusted: every read from
//!   disk re-hashes the bytes and refuses the adapter if they are not what the id names. Once
//!   this process has verified an adapter's files against their id (at import, or at their
//!   first read), it keeps a BLAKE3 check digest of them in memory, and later reads are
//!   checked against that (1.35 ms instead of 6.2 for a rank-16 q/k/v/o adapter of SmolLM2):
//!   the same bytes pass, any other bytes fail, as with the id.
//! - **host**: the verified file bytes, an LRU bounded in bytes (a re-promotion skips the disk
//!   read and the hash).
//! - **device**: adapters prepared for the engine ([`LoraWeights`]: scaled, transposed, permuted
//!   to the base's layout, on the compute device), an LRU bounded in slots.
//!
//! Pinned adapters are never evicted. Eviction only drops the cache's reference: a sequence
//! that is generating with an adapter holds its own `Arc`, so unloading an adapter that is
//! serving never disturbs the requests in flight (they finish; the next request reloads it).
//! Concurrent cold loads of the same id wait on one per-id lock and load once.

use crate::{
    error::{Error, Result},
    lora::{adapter_id, check_digest, LoraWeights, CONFIG_FILE, WEIGHTS_FILE},
    metrics::Metrics,
    model::{Config, Layout},
};
use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard},
    time::Instant,
};

/// Sizes of the memory tiers.
#[derive(Clone, Debug)]
pub struct StoreLimits {
    /// Bytes of verified adapter files kept in host memory.
    pub host_bytes: usize,
    /// Prepared adapters kept ready for the engine.
    pub device_slots: usize,
}

/// Where an adapter currently is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Disk,
    Host,
    Device,
}

/// One adapter as `/v1/adapters` lists it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AdapterStatus {
    pub id: String,
    pub tier: Tier,
    pub pinned: bool,
    /// Bytes of the files on disk.
    pub file_bytes: u64,
    /// Rank, when prepared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<usize>,
}

struct Files {
    config: Vec<u8>,
    weights: Vec<u8>,
}

impl Files {
    fn bytes(&self) -> usize {
        self.config.len().saturating_add(self.weights.len())
    }
}

#[derive(Default)]
struct Tiers {
    clock: u64,
    host: HashMap<String, (Arc<Files>, u64)>,
    host_bytes: usize,
    device: HashMap<String, (Arc<LoraWeights>, u64)>,
    pinned: HashSet<String>,
}

impl Tiers {
    fn tick(&mut self) -> u64 {
        self.clock = self.clock.saturating_add(1);
        self.clock
    }
}

/// The adapter store (see the module docs).
pub struct AdapterStore {
    root: PathBuf,
    config: Config,
    layout: Layout,
    limits: StoreLimits,
    tiers: Mutex<Tiers>,
    load_locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// Check digests of verified files, by id (see the module docs); at most [`MAX_CHECKS`].
    checks: Mutex<HashMap<[u8; 32], [u8; 32]>>,
    metrics: Arc<Metrics>,
}

/// Check digests kept (64 bytes each and the map's overhead: under 20 MiB). Past it, adapters
/// without one are verified against their id at every read, as before.
const MAX_CHECKS: usize = 1 << 18;

/// Whether `id` has the shape of an adapter id (64 lowercase hex digits).
pub fn is_adapter_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The least recently used entry that is neither pinned nor `keep`.
fn lru_victim<V>(
    tier: &HashMap<String, (V, u64)>,
    pinned: &HashSet<String>,
    keep: &str,
) -> Option<String> {
    tier.iter()
        .filter(|(k, _)| !pinned.contains(*k) && k.as_str() != keep)
        .min_by_key(|(_, (_, used))| *used)
        .map(|(k, _)| k.clone())
}

/// An adapter id's 32 bytes.
fn id_key(id: &str) -> Option<[u8; 32]> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(id, &mut key).ok()?;
    Some(key)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain maps behind: still consistent.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl AdapterStore {
    /// A store rooted at `root` (created if missing) for a base with `config` and `layout`.
    pub fn open(
        root: &Path,
        config: Config,
        layout: Layout,
        limits: StoreLimits,
        metrics: Arc<Metrics>,
    ) -> Result<Self> {
        std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
        Ok(Self {
            root: root.to_path_buf(),
            config,
            layout,
            limits,
            tiers: Mutex::new(Tiers::default()),
            load_locks: Mutex::new(HashMap::new()),
            checks: Mutex::new(HashMap::new()),
            metrics,
        })
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn dir(&self, id: &str) -> Result<PathBuf> {
        if !is_adapter_id(id) {
            return Err(Error::invalid(
                "model",
                format!("{id:?} is not an adapter id (64 hex digits)"),
            ));
        }
        Ok(self.root.join(id))
    }

    /// Whether the store has `id` on disk.
    pub fn contains(&self, id: &str) -> bool {
        self.dir(id).map(|d| d.join(WEIGHTS_FILE).is_file()).unwrap_or(false)
    }

    /// Copies the PEFT adapter in `src` into the store after checking that it parses for this
    /// base, and returns its id. Importing the same files twice is a no-op.
    pub fn import(&self, src: &Path) -> Result<String> {
        let read = |name: &str| -> Result<Vec<u8>> {
            let p = src.join(name);
            std::fs::read(&p).map_err(|e| Error::io(&p, e))
        };
        let files = Files { config: read(CONFIG_FILE)?, weights: read(WEIGHTS_FILE)? };
        let id = adapter_id(&files.config, &files.weights);
        LoraWeights::from_peft(&files.config, &files.weights, &self.config, self.layout)
            .map_err(|reason| Error::AdapterRefused { id: id.clone(), reason })?;
        let dir = self.dir(&id)?;
        // These bytes hash to the id: whatever is (or will be) on disk must be them.
        self.remember_check(&id, check_digest(&files.config, &files.weights));
        if !dir.join(WEIGHTS_FILE).is_file() {
            let tmp = self.root.join(format!(".import-{id}"));
            std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
            for (name, bytes) in [(CONFIG_FILE, &files.config), (WEIGHTS_FILE, &files.weights)] {
                let p = tmp.join(name);
                std::fs::write(&p, bytes).map_err(|e| Error::io(&p, e))?;
            }
            // Appears complete or not at all.
            if let Err(e) = std::fs::rename(&tmp, &dir) {
                let _ = std::fs::remove_dir_all(&tmp);
                if !dir.join(WEIGHTS_FILE).is_file() {
                    return Err(Error::io(&dir, e));
                }
            }
        }
        Ok(id)
    }

    /// The prepared adapter `id`, loading it through the tiers if needed.
    pub fn get(&self, id: &str) -> Result<Arc<LoraWeights>> {
        if let Some(w) = self.device_hit(id) {
            self.metrics.adapter_cache.with_label_values(&["device_hit"]).inc();
            return Ok(w);
        }
        let dir = self.dir(id)?;
        let gate = {
            let mut locks = lock(&self.load_locks);
            locks.entry(id.to_string()).or_default().clone()
        };
        let _loading = lock(&gate);
        // Someone else may have finished loading it while we waited.
        if let Some(w) = self.device_hit(id) {
            self.metrics.adapter_cache.with_label_values(&["device_hit"]).inc();
            return Ok(w);
        }
        let started = Instant::now();
        let host = {
            let mut tiers = lock(&self.tiers);
            let now = tiers.tick();
            tiers.host.get_mut(id).map(|(f, used)| {
                *used = now;
                f.clone()
            })
        };
        let files = match host {
            Some(files) => {
                self.metrics.adapter_cache.with_label_values(&["host_hit"]).inc();
                files
            }
            None => {
                self.metrics.adapter_cache.with_label_values(&["miss"]).inc();
                let files = Arc::new(self.read_verified(id, &dir)?);
                self.insert_host(id, files.clone());
                files
            }
        };
        let weights =
            LoraWeights::from_peft(&files.config, &files.weights, &self.config, self.layout)
                .map_err(|reason| Error::AdapterRefused { id: id.to_string(), reason })?;
        let weights = Arc::new(weights);
        self.insert_device(id, weights.clone());
        self.metrics.adapter_load_seconds.observe(started.elapsed().as_secs_f64());
        Ok(weights)
    }

    fn device_hit(&self, id: &str) -> Option<Arc<LoraWeights>> {
        let mut tiers = lock(&self.tiers);
        let now = tiers.tick();
        tiers.device.get_mut(id).map(|(w, used)| {
            *used = now;
            w.clone()
        })
    }

    fn read_verified(&self, id: &str, dir: &Path) -> Result<Files> {
        if !dir.join(WEIGHTS_FILE).is_file() {
            return Err(Error::NotFound { what: "adapter", id: id.to_string() });
        }
        let read = |name: &str| -> Result<Vec<u8>> {
            let p = dir.join(name);
            std::fs::read(&p).map_err(|e| Error::AdapterRefused {
                id: id.to_string(),
                reason: format!("cannot read {name}: {e}"),
            })
        };
        let files = Files { config: read(CONFIG_FILE)?, weights: read(WEIGHTS_FILE)? };
        let known = id_key(id).and_then(|key| lock(&self.checks).get(&key).copied());
        let verified = match known {
            Some(digest) => check_digest(&files.config, &files.weights) == digest,
            None => adapter_id(&files.config, &files.weights) == id,
        };
        if !verified {
            let actual = adapter_id(&files.config, &files.weights);
            return Err(Error::AdapterRefused {
                id: id.to_string(),
                reason: format!("the files on disk hash to {actual}: corrupt or replaced"),
            });
        }
        if known.is_none() {
            self.remember_check(id, check_digest(&files.config, &files.weights));
        }
        Ok(files)
    }

    /// Records the check digest of files verified against `id` (while there is room).
    fn remember_check(&self, id: &str, digest: [u8; 32]) {
        let Some(key) = id_key(id) else { return };
        let mut checks = lock(&self.checks);
        if checks.len() < MAX_CHECKS || checks.contains_key(&key) {
            checks.insert(key, digest);
        }
    }

    fn insert_host(&self, id: &str, files: Arc<Files>) {
        let mut tiers = lock(&self.tiers);
        let now = tiers.tick();
        let size = files.bytes();
        if let Some((old, _)) = tiers.host.insert(id.to_string(), (files, now)) {
            tiers.host_bytes = tiers.host_bytes.saturating_sub(old.bytes());
        }
        tiers.host_bytes = tiers.host_bytes.saturating_add(size);
        while tiers.host_bytes > self.limits.host_bytes {
            let Some(victim) = lru_victim(&tiers.host, &tiers.pinned, id) else { break };
            if let Some((f, _)) = tiers.host.remove(&victim) {
                tiers.host_bytes = tiers.host_bytes.saturating_sub(f.bytes());
                self.metrics.adapter_evictions.with_label_values(&["host"]).inc();
            }
        }
    }

    fn insert_device(&self, id: &str, weights: Arc<LoraWeights>) {
        let mut tiers = lock(&self.tiers);
        let now = tiers.tick();
        tiers.device.insert(id.to_string(), (weights, now));
        while tiers.device.len() > self.limits.device_slots.max(1) {
            let Some(victim) = lru_victim(&tiers.device, &tiers.pinned, id) else { break };
            tiers.device.remove(&victim);
            self.metrics.adapter_evictions.with_label_values(&["device"]).inc();
        }
        self.metrics.adapters_resident.set(tiers.device.len() as i64);
    }

    /// Loads `id` into the device tier (`pin` keeps it there). Pins are bounded, so that
    /// pinning never grows a tier past its bound: at most `device_slots − 1` adapters (one slot
    /// stays for the rest), whose files fit in the host tier's bytes.
    pub fn load(&self, id: &str, pin: bool) -> Result<AdapterStatus> {
        self.get(id)?;
        if pin {
            let mut tiers = lock(&self.tiers);
            if !tiers.pinned.contains(id) {
                let slots = self.limits.device_slots.max(1);
                let bytes: usize = tiers
                    .pinned
                    .iter()
                    .map(String::as_str)
                    .chain([id])
                    .filter_map(|p| tiers.host.get(p).map(|(f, _)| f.bytes()))
                    .sum();
                if tiers.pinned.len().saturating_add(1) >= slots || bytes > self.limits.host_bytes {
                    return Err(Error::invalid(
                        "pin",
                        format!(
                            "at most {} adapters can be pinned (one device slot stays free), \
                             within the host tier's bytes: unpin one first",
                            slots.saturating_sub(1)
                        ),
                    ));
                }
                tiers.pinned.insert(id.to_string());
            }
        }
        self.status(id)
    }

    /// Lets `id` be evicted again.
    pub fn unpin(&self, id: &str) -> Result<AdapterStatus> {
        lock(&self.tiers).pinned.remove(id);
        self.status(id)
    }

    /// Drops `id` from the memory tiers (it stays on disk; requests in flight keep it).
    pub fn unload(&self, id: &str) -> Result<AdapterStatus> {
        {
            let mut tiers = lock(&self.tiers);
            tiers.pinned.remove(id);
            tiers.device.remove(id);
            if let Some((f, _)) = tiers.host.remove(id) {
                tiers.host_bytes = tiers.host_bytes.saturating_sub(f.bytes());
            }
            self.metrics.adapters_resident.set(tiers.device.len() as i64);
        }
        self.status(id)
    }

    /// Where `id` is.
    pub fn status(&self, id: &str) -> Result<AdapterStatus> {
        let dir = self.dir(id)?;
        let file_bytes = [CONFIG_FILE, WEIGHTS_FILE]
            .iter()
            .filter_map(|n| std::fs::metadata(dir.join(n)).ok())
            .map(|m| m.len())
            .sum();
        let tiers = lock(&self.tiers);
        let (tier, rank) = if let Some((w, _)) = tiers.device.get(id) {
            (Tier::Device, Some(w.rank))
        } else if tiers.host.contains_key(id) {
            (Tier::Host, None)
        } else if dir.join(WEIGHTS_FILE).is_file() {
            (Tier::Disk, None)
        } else {
            return Err(Error::NotFound { what: "adapter", id: id.to_string() });
        };
        Ok(AdapterStatus {
            id: id.to_string(),
            tier,
            pinned: tiers.pinned.contains(id),
            file_bytes,
            rank,
        })
    }

    /// Every adapter on disk.
    pub fn list(&self) -> Result<Vec<AdapterStatus>> {
        let mut ids: Vec<String> = std::fs::read_dir(&self.root)
            .map_err(|e| Error::io(&self.root, e))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| is_adapter_id(n))
            .collect();
        ids.sort();
        Ok(ids.iter().filter_map(|id| self.status(id).ok()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        lora::{write_synthetic, SynthSpec},
        model::Target,
    };

    fn store_with(dir: &Path, host_bytes: usize) -> AdapterStore {
        let limits = StoreLimits { host_bytes, device_slots: 1 };
        let metrics = Arc::new(Metrics::new().unwrap());
        AdapterStore::open(dir, Config::small_for_tests(64), Layout::Hf, limits, metrics).unwrap()
    }

    fn synthetic(dir: &Path, seed: u64) -> PathBuf {
        let src = dir.join(format!("src-{seed}"));
        let spec = SynthSpec { rank: 4, alpha: 8.0, targets: vec![Target::Q], seed, b_std: 0.1 };
        write_synthetic(&src, &Config::small_for_tests(64), "tiny", &spec).unwrap();
        src
    }

    fn flip_a_byte(store: &Path, id: &str) {
        let path = store.join(id).join(WEIGHTS_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
    }

    fn refusal(store: &AdapterStore, id: &str) -> String {
        match store.get(id) {
            Err(Error::AdapterRefused { reason, .. }) => reason,
            other => panic!("expected a refusal, got {:?}", other.map(|w| w.rank)),
        }
    }

    /// Files changed on disk after their check digest was recorded (at import, or at the first
    /// read of files this process did not import) are refused, as they are without one.
    #[test]
    fn reads_checked_by_digest_refuse_changed_files() {
        let tmp = tempfile::tempdir().unwrap();
        // No host tier: every load reads the disk.
        let store = store_with(&tmp.path().join("store"), 0);
        let (a, b) = (synthetic(tmp.path(), 1), synthetic(tmp.path(), 2));
        let (id_a, id_b) = (store.import(&a).unwrap(), store.import(&b).unwrap());
        assert!(lock(&store.checks).contains_key(&id_key(&id_a).unwrap()), "recorded at import");
        // Loads pass and evict each other (one device slot).
        for id in [&id_a, &id_b, &id_a] {
            assert_eq!(store.get(id).unwrap().rank, 4);
        }
        flip_a_byte(store.root(), &id_a);
        store.unload(&id_a).unwrap();
        assert!(refusal(&store, &id_a).contains("corrupt or replaced"));

        // A store opened over files already on disk verifies them against their id first.
        let reopened = store_with(store.root(), 0);
        assert!(lock(&reopened.checks).is_empty());
        assert!(refusal(&reopened, &id_a).contains("corrupt or replaced"));
        assert_eq!(reopened.get(&id_b).unwrap().rank, 4);
        assert!(lock(&reopened.checks).contains_key(&id_key(&id_b).unwrap()));
        // Then by digest: a change after that first read is refused too.
        let _ = reopened.import(&a).unwrap(); // the directory exists: only the digest is new
        flip_a_byte(reopened.root(), &id_b);
        reopened.unload(&id_b).unwrap();
        assert!(refusal(&reopened, &id_b).contains("corrupt or replaced"));
    }

    #[test]
    fn check_digests_are_bounded() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store_with(tmp.path(), 0);
        for i in 0..MAX_CHECKS + 10 {
            store.remember_check(&format!("{i:064x}"), [0; 32]);
        }
        assert_eq!(lock(&store.checks).len(), MAX_CHECKS);
        // An id already held is still updated.
        store.remember_check(&format!("{:064x}", 3), [1; 32]);
        assert_eq!(
            lock(&store.checks).get(&id_key(&format!("{:064x}", 3)).unwrap()),
            Some(&[1; 32])
        );
    }
}
