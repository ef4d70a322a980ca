//! Receipts waiting to be settled, on disk: a worker killed between answering and settling
//! loses none, and never sends one twice.
//!
//! ## Layout of `--settle-dir`
//!
//! One directory per chain, named by its genesis hash (hex), holding:
//!
//! | path | what |
//! | --- | --- |
//! | `pending/<user>-<request id>.receipt` | an answered request's receipt (SCALE), written and synced before the answer leaves |
//! | `inflight.tx` | the one settlement transaction sent and not yet final: its bytes, its receipts, its last valid block |
//! | `rejected/<user>-<request id>.json` | a receipt the chain refused for good, with the reason (kept for the operator) |
//!
//! Every file is written to a temporary name, synced and renamed, and the directory synced, so
//! a crash leaves the old file or the new one, never a torn one. A pending receipt is removed
//! only once a finalized block shows its voucher spent.

use super::ChainError;
use codec::{Decode, Encode};
use provena_primitives::ContentHash;
use provena_runtime::{AccountId, Balance, BlockNumber, Runtime};
use std::{
    fs::{self, File},
    io::Write,
    path::{Path, PathBuf},
};

/// A receipt as `submit_receipts` takes it.
pub type ReceiptInput = pallet_attribution::ReceiptInput<Runtime>;

/// The key of a receipt: its user and the voucher's request id (spent once on chain).
pub type Key = (AccountId, ContentHash);

/// An answered request's receipt, waiting to be settled.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Pending {
    /// What `submit_receipts` gets.
    pub input: ReceiptInput,
    /// The fee it charges (price × tokens at admission).
    pub fee: Balance,
    /// When it was answered (Unix seconds).
    pub answered_at: u64,
}

impl Pending {
    /// Decodes a stored receipt: the current layout, or the one workers wrote up to runtime
    /// spec 114, whose receipts always carried a signature (then a prepaid voucher's was
    /// ignored; such a receipt now settles as signed, charged to the free balance). Either
    /// layout must use every byte.
    fn decode_stored(bytes: &[u8]) -> Result<Self, codec::Error> {
        use codec::DecodeAll;
        Self::decode_all(&mut &bytes[..]).or_else(|e| {
            legacy::Pending::decode_all(&mut &bytes[..]).map(Into::into).map_err(|_| e)
        })
    }

    /// Its key.
    pub fn key(&self) -> Key {
        (self.input.user.clone(), self.input.voucher.request_id)
    }
}

/// The pending receipt layout of workers up to runtime spec 114.
mod legacy {
    use super::*;
    use pallet_attribution::VoucherOf;
    use polkadot_sdk::sp_runtime::MultiSignature;
    use provena_primitives::{
        attribution::WeightPpm, ContributionId, DatanetId, ModelId, SnapshotVersion,
    };

    #[derive(Decode)]
    pub struct Input {
        voucher: VoucherOf<Runtime>,
        user: AccountId,
        signature: MultiSignature,
        model: ModelId,
        input_tokens: u32,
        output_tokens: u32,
        attribution: Vec<(ContributionId, WeightPpm)>,
        pool: Option<(DatanetId, WeightPpm)>,
        retrieved_from: Option<(DatanetId, SnapshotVersion)>,
        evidence_hash: ContentHash,
    }

    #[derive(Decode)]
    pub struct Pending {
        input: Input,
        fee: Balance,
        answered_at: u64,
    }

    impl From<Pending> for super::Pending {
        fn from(p: Pending) -> Self {
            let i = p.input;
            super::Pending {
                input: ReceiptInput {
                    voucher: i.voucher,
                    user: i.user,
                    signature: Some(i.signature),
                    model: i.model,
                    input_tokens: i.input_tokens,
                    output_tokens: i.output_tokens,
                    attribution: i.attribution,
                    pool: i.pool,
                    retrieved_from: i.retrieved_from,
                    evidence_hash: i.evidence_hash,
                },
                fee: p.fee,
                answered_at: p.answered_at,
            }
        }
    }
}

/// The settlement transaction in flight.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Inflight {
    /// The signed extrinsic, as sent.
    pub xt: Vec<u8>,
    /// The receipts it carries.
    pub keys: Vec<Key>,
    /// Its nonce: once the operator's finalized nonce is past it, it was included (or another
    /// transaction took its nonce) and will never be.
    pub nonce: provena_runtime::Nonce,
    /// Its era's last block: it can be included in no later block.
    pub valid_until: BlockNumber,
}

/// The settle directory.
pub struct Ledger {
    dir: PathBuf,
}

const INFLIGHT: &str = "inflight.tx";

impl Ledger {
    /// Opens (creating) the directory; removes temporary files a crash left.
    pub fn open(dir: &Path) -> Result<Self, ChainError> {
        for sub in ["pending", "rejected"] {
            fs::create_dir_all(dir.join(sub)).map_err(|e| io(dir, e))?;
        }
        for sub in [dir.to_path_buf(), dir.join("pending"), dir.join("rejected")] {
            for entry in fs::read_dir(&sub).map_err(|e| io(&sub, e))?.flatten() {
                if entry.file_name().to_string_lossy().ends_with(".tmp") {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        Ok(Ledger { dir: dir.to_path_buf() })
    }

    fn name(key: &Key) -> String {
        format!(
            "{}-{}",
            hex::encode(<AccountId as AsRef<[u8]>>::as_ref(&key.0)),
            hex::encode(key.1)
        )
    }

    fn pending_path(&self, key: &Key) -> PathBuf {
        self.dir.join("pending").join(format!("{}.receipt", Self::name(key)))
    }

    /// Records a receipt, durably. Refused if one with its key is already recorded.
    pub fn put(&self, p: &Pending) -> Result<(), ChainError> {
        let path = self.pending_path(&p.key());
        if path.exists() {
            return Err(ChainError::Ledger(format!("{} exists", path.display())));
        }
        write_atomic(&path, &p.encode())
    }

    /// Every pending receipt, oldest first. A file that does not decode is moved to
    /// `rejected/` with the reason.
    pub fn pending(&self) -> Result<Vec<Pending>, ChainError> {
        let dir = self.dir.join("pending");
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| io(&dir, e))?.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("receipt") {
                continue;
            }
            let bytes = fs::read(&path).map_err(|e| io(&path, e))?;
            match Pending::decode_stored(&bytes) {
                Ok(p) => out.push(p),
                Err(e) => {
                    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
                    let target = self
                        .dir
                        .join("rejected")
                        .join(format!("{}.undecodable", stem.unwrap_or_else(|| "unnamed".into())));
                    log::warn!(
                        "{}: does not decode ({e}); moved to {}",
                        path.display(),
                        target.display()
                    );
                    fs::rename(&path, &target).map_err(|e| io(&path, e))?;
                }
            }
        }
        out.sort_by(|a, b| a.answered_at.cmp(&b.answered_at).then(a.key().cmp(&b.key())));
        Ok(out)
    }

    /// Forgets a settled receipt.
    pub fn settled(&self, key: &Key) -> Result<(), ChainError> {
        let path = self.pending_path(key);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.dir.join("pending")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&path, e)),
        }
    }

    /// Moves a receipt the chain refused for good to `rejected/`, with the reason.
    pub fn reject(&self, p: &Pending, reason: &str) -> Result<(), ChainError> {
        let key = p.key();
        let record = serde_json::json!({
            "user": key.0.to_string(),
            "requestId": format!("{:?}", key.1),
            "model": p.input.model,
            "fee": p.fee.to_string(),
            "answeredAt": p.answered_at,
            "reason": reason,
            "receipt": format!("0x{}", hex::encode(p.input.encode())),
        });
        let path = self.dir.join("rejected").join(format!("{}.json", Self::name(&key)));
        write_atomic(&path, record.to_string().as_bytes())?;
        self.settled(&key)
    }

    /// The keys of the receipts under `rejected/` (from their file names).
    pub fn rejected_keys(&self) -> Result<std::collections::HashSet<Key>, ChainError> {
        let dir = self.dir.join("rejected");
        let mut keys = std::collections::HashSet::new();
        for entry in fs::read_dir(&dir).map_err(|e| io(&dir, e))?.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            let Some((user, request)) = stem.split_once('-') else { continue };
            let (Ok(user), Ok(request)) = (hex::decode(user), hex::decode(request)) else {
                continue;
            };
            let (Ok(user), Ok(request)) =
                (<[u8; 32]>::try_from(user.as_slice()), <[u8; 32]>::try_from(request.as_slice()))
            else {
                continue;
            };
            keys.insert((AccountId::from(user), ContentHash::from(request)));
        }
        Ok(keys)
    }

    /// The settlement transaction in flight, if any.
    pub fn inflight(&self) -> Result<Option<Inflight>, ChainError> {
        let path = self.dir.join(INFLIGHT);
        match fs::read(&path) {
            Ok(bytes) => Inflight::decode(&mut &bytes[..])
                .map(Some)
                .map_err(|e| ChainError::Ledger(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path, e)),
        }
    }

    /// Records the transaction about to be sent (before it is sent).
    pub fn set_inflight(&self, t: &Inflight) -> Result<(), ChainError> {
        write_atomic(&self.dir.join(INFLIGHT), &t.encode())
    }

    /// Forgets the transaction in flight (final, or expired unincluded).
    pub fn clear_inflight(&self) -> Result<(), ChainError> {
        let path = self.dir.join(INFLIGHT);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&path, e)),
        }
    }
}

fn io(path: &Path, e: std::io::Error) -> ChainError {
    ChainError::Ledger(format!("{}: {e}", path.display()))
}

/// Writes `bytes` to `path` so that a crash leaves the old content or the new, synced.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ChainError> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(|e| io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| io(&tmp, e))?;
    f.sync_all().map_err(|e| io(&tmp, e))?;
    drop(f);
    fs::rename(&tmp, path).map_err(|e| io(path, e))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

fn sync_dir(dir: &Path) -> Result<(), ChainError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, e))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use polkadot_sdk::{sp_core::H256, sp_keyring::Sr25519Keyring, sp_runtime::MultiSignature};
    use provena_primitives::{attribution::Voucher, ContributionId, ModelId};

    fn pending(user: Sr25519Keyring, rid: u8, at: u64) -> Pending {
        let voucher = Voucher {
            request_id: H256::repeat_byte(rid),
            model: ModelId(0),
            max_fee: 10,
            operator: Sr25519Keyring::Ferdie.to_account_id(),
            expires_at: 100,
        };
        Pending {
            input: ReceiptInput {
                voucher,
                user: user.to_account_id(),
                signature: Some(MultiSignature::Sr25519(Default::default())),
                model: ModelId(0),
                input_tokens: 3,
                output_tokens: 4,
                attribution: vec![(ContributionId(1), 1_000_000)],
                pool: None,
                retrieved_from: None,
                evidence_hash: H256::zero(),
            },
            fee: 7,
            answered_at: at,
        }
    }

    #[test]
    fn receipts_survive_a_reopen_until_settled_or_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path()).unwrap();
        let (a, b, c) = (
            pending(Sr25519Keyring::Dave, 1, 20),
            pending(Sr25519Keyring::Eve, 2, 10),
            pending(Sr25519Keyring::Dave, 3, 30),
        );
        for p in [&a, &b, &c] {
            ledger.put(p).unwrap();
        }
        assert!(ledger.put(&a).is_err(), "a key is recorded once");
        // A torn temporary file and an undecodable receipt from a crash.
        fs::write(dir.path().join("pending/x.tmp"), b"torn").unwrap();
        fs::write(dir.path().join("pending/junk.receipt"), b"\x01").unwrap();
        let ledger = Ledger::open(dir.path()).unwrap();
        assert!(!dir.path().join("pending/x.tmp").exists());
        assert_eq!(ledger.pending().unwrap(), vec![b.clone(), a.clone(), c.clone()]);
        assert!(dir.path().join("rejected/junk.undecodable").exists());
        // A receipt a worker wrote up to spec 114 (a signature, not an optional one) still
        // loads, as a signed receipt.
        let old = pending(Sr25519Keyring::Ferdie, 4, 40);
        let mut bytes = old.input.voucher.encode();
        bytes.extend(old.input.user.encode());
        bytes.extend(old.input.signature.as_ref().unwrap().encode());
        let rest = (old.input.model, old.input.input_tokens, old.input.output_tokens);
        bytes.extend(rest.encode());
        bytes.extend(old.input.attribution.encode());
        bytes.extend((old.input.pool, old.input.retrieved_from, old.input.evidence_hash).encode());
        bytes.extend((old.fee, old.answered_at).encode());
        assert!(Pending::decode(&mut &bytes[..]).map_or(true, |p| p != old));
        assert_eq!(Pending::decode_stored(&bytes).unwrap(), old);
        assert!(Pending::decode_stored(&[bytes.clone(), vec![0]].concat()).is_err());

        ledger.settled(&a.key()).unwrap();
        ledger.reject(&b, "Attribution::VoucherExpired").unwrap();
        assert_eq!(ledger.pending().unwrap(), vec![c.clone()]);
        // A rejected receipt's key is known after a restart.
        let keys = Ledger::open(dir.path()).unwrap().rejected_keys().unwrap();
        assert_eq!(keys, [b.key()].into_iter().collect());
        let rejected = fs::read_dir(dir.path().join("rejected"))
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension().unwrap() == "json")
            .map(|e| fs::read_to_string(e.path()).unwrap())
            .collect::<Vec<_>>();
        assert_eq!(rejected.len(), 1);
        assert!(rejected[0].contains("VoucherExpired"), "{}", rejected[0]);
    }

    #[test]
    fn the_inflight_transaction_is_kept_until_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path()).unwrap();
        assert_eq!(ledger.inflight().unwrap(), None);
        let t = Inflight {
            xt: vec![1, 2, 3],
            keys: vec![pending(Sr25519Keyring::Dave, 1, 0).key()],
            nonce: 5,
            valid_until: 77,
        };
        ledger.set_inflight(&t).unwrap();
        assert_eq!(Ledger::open(dir.path()).unwrap().inflight().unwrap(), Some(t));
        ledger.clear_inflight().unwrap();
        assert_eq!(ledger.inflight().unwrap(), None);
    }
}
