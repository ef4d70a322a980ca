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
//!
//!   Beside them, `prepared-<key>.safetensors`: the adapter as the engine holds it
//!   ([`LoraWeights::to_prepared`], its 8-bit integers and scales; `key` names the base,
//!   [`prepared_key`]). The store writes it when it has prepared an adapter from files it
//!   verified (at import, or at their first load) and keeps a BLAKE3 digest of the bytes it
//!   wrote; a later cold load reads that file instead, checked against the digest (a rank-16
//!   q/k/v/o adapter of SmolLM2: 1.9 MB read, checked and rebuilt in 2.3–3.3 ms instead of
//!   7.4 MB read, checked, parsed and quantized in 5.1–5.6 ms). A prepared file without a digest in this process
//!   (one written before a restart, or past [`MAX_CHECKS`]) is never read; one that fails its
//!   digest or does not parse is passed over for the verified files. It costs ~25% more disk
//!   for an f32 adapter, one file per base the store has served it for, removed with the
//!   adapter's directory.
//! - **host**: the verified file bytes of adapters loaded from them, an LRU bounded in bytes (a
//!   re-promotion skips the disk read and the hash).
//! - **device**: adapters prepared for the engine ([`LoraWeights`]: scaled, transposed, permuted
//!   to the base's layout, on the compute device), an LRU bounded in slots.
//!
//! Pinned adapters are never evicted. Eviction only drops the cache's reference: a sequence
//! that is generating with an adapter holds its own `Arc`, so unloading an adapter that is
//! serving never disturbs the requests in flight (they finish; the next request reloads it).
//! Concurrent cold loads of the same id wait on one per-id lock and load once.

use crate::{
    error::{Error, Result},
    lora::{adapter_id, check_digest, prepared_key, LoraWeights, CONFIG_FILE, WEIGHTS_FILE},
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
    /// Check digests of verified files and of the prepared forms written from them, by id (see
    /// the module docs); at most [`MAX_CHECKS`].
    checks: Mutex<HashMap<[u8; 32], Checks>>,
    /// The file name of this base's prepared forms (`prepared-<key>.safetensors`).
    prepared_name: String,
    metrics: Arc<Metrics>,
}

/// One adapter's check digests.
#[derive(Clone, Copy, Default)]
struct Checks {
    /// Of its verified files.
    files: Option<[u8; 32]>,
    /// Of the prepared form this process wrote.
    prepared: Option<[u8; 32]>,
}

/// Adapters with check digests (~130 bytes each with the map's overhead: under 40 MiB). Past
/// it, adapters without one are verified against their id at every read, as before, and have
/// no prepared form read back.
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
        let prepared_name = format!("prepared-{}.safetensors", prepared_key(&config, layout));
        Ok(Self {
            root: root.to_path_buf(),
            config,
            layout,
            limits,
            tiers: Mutex::new(Tiers::default()),
            load_locks: Mutex::new(HashMap::new()),
            checks: Mutex::new(HashMap::new()),
            prepared_name,
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
        let weights =
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
        self.ensure_prepared(&id, &dir, &weights);
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
        if let Some(weights) = self.read_prepared(id, &dir) {
            self.metrics.adapter_cache.with_label_values(&["miss"]).inc();
            let weights = Arc::new(weights);
            self.insert_device(id, weights.clone());
            self.metrics.adapter_load_seconds.observe(started.elapsed().as_secs_f64());
            return Ok(weights);
        }
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
        self.ensure_prepared(id, &dir, &weights);
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
        let known = id_key(id).and_then(|key| lock(&self.checks).get(&key).and_then(|c| c.files));
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
        self.update_checks(id, |c| c.files = Some(digest));
    }

    /// Applies `f` to `id`'s digests (a new entry while there is room).
    fn update_checks(&self, id: &str, f: impl FnOnce(&mut Checks)) {
        let Some(key) = id_key(id) else { return };
        let mut checks = lock(&self.checks);
        if checks.len() < MAX_CHECKS || checks.contains_key(&key) {
            f(checks.entry(key).or_default());
        }
    }

    /// The digest of the prepared form this process wrote for `id`, if any.
    fn prepared_digest(&self, id: &str) -> Option<[u8; 32]> {
        id_key(id).and_then(|key| lock(&self.checks).get(&key).and_then(|c| c.prepared))
    }

    /// Writes `weights`' prepared form into `dir` (whole or not at all) and records its digest,
    /// unless this process already wrote one or there is no room for its digest. A failure is
    /// logged and only costs later loads their speed.
    fn ensure_prepared(&self, id: &str, dir: &Path, weights: &LoraWeights) {
        if self.prepared_digest(id).is_some() {
            return;
        }
        // Only where its digest can be kept (an adapter with digests, or room for a new one).
        let Some(key) = id_key(id) else { return };
        {
            let checks = lock(&self.checks);
            if checks.len() >= MAX_CHECKS && !checks.contains_key(&key) {
                return;
            }
        }
        let bytes = match weights.to_prepared() {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(adapter = id, error = %e, "cannot write the prepared form");
                return;
            }
        };
        let path = dir.join(&self.prepared_name);
        // A name no other writer uses, in this process or another.
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dir.join(format!(".{}.{}.{n}", self.prepared_name, std::process::id()));
        let written = std::fs::write(&tmp, &bytes).and_then(|()| std::fs::rename(&tmp, &path));
        match written {
            Ok(()) => {
                let digest = *blake3::hash(&bytes).as_bytes();
                self.update_checks(id, |c| c.prepared = Some(digest));
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                tracing::warn!(adapter = id, error = %e, "cannot write the prepared form");
            }
        }
    }

    /// `id` from the prepared form this process wrote, if it has one and the file on disk is
    /// still exactly what it wrote (anything else is logged and passed over).
    fn read_prepared(&self, id: &str, dir: &Path) -> Option<LoraWeights> {
        let digest = self.prepared_digest(id)?;
        let bytes = std::fs::read(dir.join(&self.prepared_name)).ok()?;
        if *blake3::hash(&bytes).as_bytes() != digest {
            tracing::warn!(adapter = id, "the prepared form on disk changed: reading the files");
            self.update_checks(id, |c| c.prepared = None);
            return None;
        }
        LoraWeights::from_prepared(&bytes, &self.config)
            .map_err(|e| {
                tracing::warn!(adapter = id, error = %e, "unreadable prepared form");
                self.update_checks(id, |c| c.prepared = None);
            })
            .ok()
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
        // Without a prepared form (see the next test), changed files are refused.
        flip_a_byte(store.root(), &id_a);
        std::fs::remove_file(store.root().join(&id_a).join(&store.prepared_name)).unwrap();
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
        std::fs::remove_file(reopened.root().join(&id_b).join(&reopened.prepared_name)).unwrap();
        reopened.unload(&id_b).unwrap();
        assert!(refusal(&reopened, &id_b).contains("corrupt or replaced"));
    }

    #[test]
    fn check_digests_are_bounded() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store_with(&tmp.path().join("store"), 0);
        let early = store.import(&synthetic(tmp.path(), 2)).unwrap();
        for i in 0..MAX_CHECKS + 10 {
            store.remember_check(&format!("{i:064x}"), [0; 32]);
        }
        assert_eq!(lock(&store.checks).len(), MAX_CHECKS);
        // An id already held is still updated.
        store.remember_check(&format!("{:064x}", 3), [1; 32]);
        assert_eq!(
            lock(&store.checks).get(&id_key(&format!("{:064x}", 3)).unwrap()).and_then(|c| c.files),
            Some([1; 32])
        );
        // Full: a new adapter gets no prepared form (nothing could check it).
        let id = store.import(&synthetic(tmp.path(), 1)).unwrap();
        assert!(store.prepared_digest(&id).is_none());
        assert!(!store.root().join(&id).join(&store.prepared_name).exists());
        assert_eq!(store.get(&id).unwrap().rank, 4);
        // An adapter that already has digests still gets its prepared form (re)written.
        let early_prepared = store.root().join(&early).join(&store.prepared_name);
        std::fs::remove_file(&early_prepared).unwrap();
        store.update_checks(&early, |c| c.prepared = None);
        store.unload(&early).unwrap();
        assert_eq!(store.get(&early).unwrap().rank, 4);
        assert!(early_prepared.is_file() && store.prepared_digest(&early).is_some());
    }

    /// After an adapter's first preparation from verified files, a cold load reads the
    /// prepared form the store wrote, checked against the digest of what it wrote: the same
    /// adapter (the same integers and scales), without reading the files. A prepared form that
    /// changed on disk is passed over for the files (and refused with them if they changed
    /// too); one this process did not write is never read, and is written anew.
    #[test]
    fn cold_loads_read_the_prepared_form_checked_by_digest() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store_with(&tmp.path().join("store"), 0);
        let src = synthetic(tmp.path(), 1);
        let id = store.import(&src).unwrap();
        let prepared = store.root().join(&id).join(&store.prepared_name);
        assert!(prepared.is_file() && store.prepared_digest(&id).is_some(), "written at import");
        let c = std::fs::read(src.join(CONFIG_FILE)).unwrap();
        let w = std::fs::read(src.join(WEIGHTS_FILE)).unwrap();
        let cfg = Config::small_for_tests(64);
        let reference = LoraWeights::from_peft(&c, &w, &cfg, Layout::Hf).unwrap();
        let same = |w: &LoraWeights| w.to_prepared().unwrap() == reference.to_prepared().unwrap();
        // The files are not read: a change to them does not reach a load from the prepared form.
        flip_a_byte(store.root(), &id);
        assert!(same(&store.get(&id).unwrap()));
        // A changed prepared form: passed over for the files, which changed too.
        let mut bytes = std::fs::read(&prepared).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&prepared, &bytes).unwrap();
        store.unload(&id).unwrap();
        assert!(refusal(&store, &id).contains("corrupt or replaced"));
        assert!(store.prepared_digest(&id).is_none());
        flip_a_byte(store.root(), &id); // the files as they were
        assert!(same(&store.get(&id).unwrap()));
        assert_eq!(
            std::fs::read(&prepared).unwrap(),
            reference.to_prepared().unwrap(),
            "rewritten"
        );

        // A store opened over it: the prepared form on disk is not trusted (replaced here by
        // one that parses but is another adapter's); the files are verified and it is rewritten.
        let other = store.import(&synthetic(tmp.path(), 2)).unwrap();
        let other_prepared = store.root().join(&other).join(&store.prepared_name);
        std::fs::copy(&other_prepared, &prepared).unwrap();
        let reopened = store_with(store.root(), 0);
        assert!(same(&reopened.get(&id).unwrap()));
        assert_eq!(std::fs::read(&prepared).unwrap(), reference.to_prepared().unwrap());
        reopened.unload(&id).unwrap();
        assert!(same(&reopened.get(&id).unwrap()));
        // No temporary file is left behind.
        let names: Vec<String> = std::fs::read_dir(store.root().join(&id))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
    }
}
