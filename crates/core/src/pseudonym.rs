//! Pseudonymous customer ids: each id replaced by its keyed hash, HMAC-SHA256 (RFC 2104 over
//! FIPS 180-4) under a secret key, written as 64 lowercase hex digits. The same key gives the
//! same pseudonym in every run, so outputs join across runs and a key holder can hash their own
//! lists to join with them; without the key, nothing maps back to an id.

use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{CoreError, CustomerId, FeatureTable};

/// The shortest key accepted: 32 bytes, the hash's own size (RFC 2104 § 3 advises keys no
/// shorter than the output).
pub const MIN_KEY_BYTES: usize = 32;

/// What the provenance of a pseudonymized table or model records: the method and the key's
/// fingerprint, never the key.
pub const PSEUDONYM_METHOD: &str = "hmac-sha256";

/// A keyed hash of customer ids.
#[derive(Clone)]
pub struct Pseudonymizer {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pseudonymizer(key {})", self.fingerprint())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Pseudonymizer {
    /// A pseudonymizer with `key` (at least [`MIN_KEY_BYTES`] bytes).
    pub fn new(key: &[u8]) -> Result<Pseudonymizer, String> {
        if key.len() < MIN_KEY_BYTES {
            return Err(format!(
                "the key has {} bytes; a key needs at least {MIN_KEY_BYTES} (e.g. `head -c 32 /dev/urandom > key`, or `openssl rand -hex 32 > key`)",
                key.len()
            ));
        }
        let mac = Hmac::<Sha256>::new_from_slice(key).map_err(|e| e.to_string())?;
        Ok(Pseudonymizer { mac })
    }

    /// The key of a key file: its bytes as they are (a binary key, `head -c 32 /dev/urandom`),
    /// or, for a text key (printable ASCII, e.g. `openssl rand -hex 32`), its text without the
    /// trailing line break an editor or `echo` adds.
    pub fn from_key_file(path: &Path) -> Result<Pseudonymizer, CoreError> {
        let bytes = std::fs::read(path).map_err(|source| CoreError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let text_end = bytes
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        let text = bytes[..text_end]
            .iter()
            .all(|b| b.is_ascii_graphic() || *b == b' ');
        let key = if text { &bytes[..text_end] } else { &bytes[..] };
        Pseudonymizer::new(key).map_err(|message| CoreError::KeyFile {
            path: path.to_path_buf(),
            message,
        })
    }

    /// The pseudonym of `id`: HMAC-SHA256(key, id's UTF-8 bytes) in lowercase hex.
    ///
    /// ```
    /// // RFC 4231, test case 2 (a short key is accepted by HMAC itself; this type asks for
    /// // 32 bytes, so the example pads it the way HMAC does).
    /// let mut key = b"Jefe".to_vec();
    /// key.resize(32, 0);
    /// let p = lookalike_core::Pseudonymizer::new(&key).unwrap();
    /// assert_eq!(
    ///     p.pseudonym("what do ya want for nothing?"),
    ///     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    /// );
    /// ```
    pub fn pseudonym(&self, id: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(id.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// A short name of the key, recorded with pseudonymized outputs so that a run with
    /// another key (or none) is refused: the first 16 hex digits of the keyed hash of a fixed
    /// text, which says nothing of the key or of any id.
    pub fn fingerprint(&self) -> String {
        self.pseudonym("lookalike key fingerprint")[..16].to_string()
    }

    /// What a table's schema or a model's manifest records of this key: `{"method":
    /// "hmac-sha256", "key_fingerprint": …}`.
    pub fn record(&self) -> serde_json::Value {
        serde_json::json!({ "method": PSEUDONYM_METHOD, "key_fingerprint": self.fingerprint() })
    }

    /// The table with every id replaced by its pseudonym (rows and values unchanged).
    pub fn table(&self, table: FeatureTable) -> Result<FeatureTable, CoreError> {
        let (ids, columns, values) = table.into_parts();
        let ids = ids
            .iter()
            .map(|id| CustomerId::from(self.pseudonym(id.as_str())))
            .collect();
        FeatureTable::new(ids, columns, values)
    }
}

/// The key fingerprint a schema's provenance or a manifest records under `pseudonymized`
/// (None: the ids are not pseudonymized).
pub fn pseudonym_fingerprint(record: &serde_json::Map<String, serde_json::Value>) -> Option<&str> {
    record
        .get("pseudonymized")?
        .get("key_fingerprint")?
        .as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_keyed_stable_and_hex() {
        let a = Pseudonymizer::new(&[7u8; 32]).unwrap();
        let b = Pseudonymizer::new(&[8u8; 32]).unwrap();
        let id = "C00000042";
        assert_eq!(a.pseudonym(id), a.pseudonym(id));
        assert_ne!(a.pseudonym(id), b.pseudonym(id));
        assert_ne!(a.pseudonym(id), a.pseudonym("C00000043"));
        assert_eq!(a.pseudonym(id).len(), 64);
        assert!(
            a.pseudonym(id)
                .bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert!(!a.pseudonym(id).contains(&a.fingerprint()));
        // RFC 4231 test case 1: key 0x0b × 20 is too short here; × 32 is checked against
        // the same construction computed by Python's hmac module:
        // hmac.new(b"\x0b" * 32, b"Hi There", hashlib.sha256).hexdigest()
        let rfc = Pseudonymizer::new(&[0x0b; 32]).unwrap();
        assert_eq!(
            rfc.pseudonym("Hi There"),
            "198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7"
        );
    }

    #[test]
    fn short_keys_are_refused_and_key_files_trimmed() {
        assert!(
            Pseudonymizer::new(&[1u8; 31])
                .unwrap_err()
                .contains("31 bytes")
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, format!("{}\n", "ab".repeat(32))).unwrap();
        let from_file = Pseudonymizer::from_key_file(&path).unwrap();
        let direct = Pseudonymizer::new("ab".repeat(32).as_bytes()).unwrap();
        assert_eq!(from_file.pseudonym("x"), direct.pseudonym("x"));
        // A binary key is taken as it is, a trailing 0x0a included.
        let mut binary = vec![0x80u8; 31];
        binary.push(b'\n');
        std::fs::write(&path, &binary).unwrap();
        let from_file = Pseudonymizer::from_key_file(&path).unwrap();
        assert_eq!(
            from_file.pseudonym("x"),
            Pseudonymizer::new(&binary).unwrap().pseudonym("x")
        );
        std::fs::write(&path, "short\n").unwrap();
        let error = Pseudonymizer::from_key_file(&path).unwrap_err().to_string();
        assert!(
            error.contains("key") && error.contains("5 bytes"),
            "{error}"
        );
    }
}
