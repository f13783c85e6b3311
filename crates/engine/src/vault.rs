//! Sensitive parameter values at rest. The store never holds one in clear (nor, so, its WAL or
//! a backup of it): each is sealed with ChaCha20-Poly1305 under a 256-bit key that lives in
//! `vault.key` in the data directory (mode 0600, made from the OS CSPRNG on first use), with a
//! fresh random nonce per value. Values are opened only to run a script.
//!
//! Anyone who can read the data directory can read the key too: this protects a copied
//! database, a leaked backup or WAL, and keeps secrets out of answers and logs; it is not a
//! defence against root on the engine's host.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use cocpit_api::model::order::ScriptExecuteParam;
use cocpit_api::model::script::ScriptParamDefine;

/// How a sealed value starts in the store.
const SEALED: &str = "sealed:v1:";
const KEY_FILE: &str = "vault.key";

pub struct Vault {
    cipher: ChaCha20Poly1305,
}

/// A sealed value that does not open: the key is not the one it was sealed with.
#[derive(Debug, thiserror::Error)]
#[error("a sensitive value in the store cannot be opened with {KEY_FILE} (was the key replaced?)")]
pub struct Unreadable;

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the operating system's random source");
    b
}

impl Vault {
    /// The vault of a data directory: its key, made on first use.
    pub fn of_dir(dir: &Path) -> std::io::Result<Vault> {
        let path = dir.join(KEY_FILE);
        let key = match std::fs::read(&path) {
            Ok(k) if k.len() == 32 => k,
            Ok(k) => {
                return Err(std::io::Error::other(format!(
                    "{} holds {} bytes, not a 32-byte key",
                    path.display(),
                    k.len()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let k = random::<32>();
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)?;
                f.write_all(&k)?;
                f.sync_all()?;
                k.to_vec()
            }
            Err(e) => return Err(e),
        };
        Ok(Vault {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
        })
    }

    /// A vault whose key lives only as long as the process (an in-memory store).
    pub fn ephemeral() -> Vault {
        Vault {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&random::<32>())),
        }
    }

    pub fn seal(&self, value: &str) -> String {
        if value.starts_with(SEALED) {
            return value.to_string();
        }
        let nonce = random::<12>();
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), value.as_bytes())
            .expect("sealing never fails for a short value");
        let mut all = nonce.to_vec();
        all.extend(sealed);
        format!(
            "{SEALED}{}",
            base64::engine::general_purpose::STANDARD.encode(all)
        )
    }

    /// The clear value; a value stored before sealing existed comes back as it is.
    pub fn open(&self, value: &str) -> Result<String, Unreadable> {
        let Some(b64) = value.strip_prefix(SEALED) else {
            return Ok(value.to_string());
        };
        let all = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| Unreadable)?;
        if all.len() < 12 {
            return Err(Unreadable);
        }
        let clear = self
            .cipher
            .decrypt(Nonce::from_slice(&all[..12]), &all[12..])
            .map_err(|_| Unreadable)?;
        String::from_utf8(clear).map_err(|_| Unreadable)
    }

    /// Seals (or opens) the values of the sensitive parameters among `declared`.
    pub fn seal_params(&self, declared: &mut [ScriptParamDefine]) {
        for p in declared.iter_mut().filter(|p| p.sensitive) {
            p.param_value = self.seal(&p.param_value);
        }
    }

    pub fn open_params(&self, declared: &mut [ScriptParamDefine]) -> Result<(), Unreadable> {
        for p in declared.iter_mut().filter(|p| p.sensitive) {
            p.param_value = self.open(&p.param_value)?;
        }
        Ok(())
    }

    /// Seals the values an execution gives to parameters `declared` sensitive.
    pub fn seal_given(&self, given: &mut ScriptExecuteParam, declared: &[ScriptParamDefine]) {
        for p in &mut given.script_params {
            if is_sensitive(declared, &p.param_name) {
                p.param_value = self.seal(&p.param_value);
            }
        }
    }

    pub fn open_given(
        &self,
        given: &mut ScriptExecuteParam,
        declared: &[ScriptParamDefine],
    ) -> Result<(), Unreadable> {
        for p in &mut given.script_params {
            if is_sensitive(declared, &p.param_name) {
                p.param_value = self.open(&p.param_value)?;
            }
        }
        Ok(())
    }
}

fn is_sensitive(declared: &[ScriptParamDefine], name: &str) -> bool {
    declared.iter().any(|d| d.param_name == name && d.sensitive)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_with_its_key_only_and_never_shows() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::of_dir(dir.path()).unwrap();
        let sealed = v.seal("hunter22");
        assert!(sealed.starts_with(SEALED) && !sealed.contains("hunter22"));
        assert_ne!(sealed, v.seal("hunter22"), "a fresh nonce every time");
        assert_eq!(v.open(&sealed).unwrap(), "hunter22");
        // The same directory, the same key; another key cannot open it.
        assert_eq!(
            Vault::of_dir(dir.path()).unwrap().open(&sealed).unwrap(),
            "hunter22"
        );
        assert!(Vault::ephemeral().open(&sealed).is_err());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(v.open("plain").unwrap(), "plain");
    }
}
