//! This machine as a remembered device: a P-256 key in a file only its owner may read.
//!
//! `--device-key FILE` names the file. When it holds a key, a choice that offers `device` is
//! answered `device`, and the `DEVICE` round with the key's signature of the round's challenge
//! (what the page does with its WebCrypto key). `--remember-device NAME --account-api URL`
//! makes the key after a sign-in that used none: the public half goes to the account API
//! with the new access token, the private half into FILE (created with mode 0600; an existing
//! file is never overwritten).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::EncodePublicKey as _;
use serde_json::json;

use crate::CliError;

/// A device key as the file keeps it.
pub struct DeviceKey {
    /// The id the account API gave the device (base64url).
    pub id: String,
    key: SigningKey,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl DeviceKey {
    /// The key in `path`, or `None` when there is no such file. A file that is not a key, or
    /// that others may read, is an error: the key must stay this user's.
    pub fn load(path: &Path) -> Result<Option<DeviceKey>, CliError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(CliError::Input(format!(
                    "cannot read --device-key {}: {e}",
                    path.display()
                )));
            }
        };
        owner_only(path)?;
        let bad = || {
            CliError::Input(format!(
                "--device-key {} is not a device key",
                path.display()
            ))
        };
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|_| bad())?;
        let id = value["id"].as_str().ok_or_else(bad)?.to_owned();
        let secret = value["privateKey"]
            .as_str()
            .and_then(|k| URL_SAFE_NO_PAD.decode(k).ok())
            .ok_or_else(bad)?;
        let key = SigningKey::from_slice(&secret).map_err(|_| bad())?;
        Ok(Some(DeviceKey { id, key }))
    }

    /// The `DEVICE` round's answer for the challenge `nonce`.
    pub fn answer(&self, nonce: &str) -> String {
        let message = format!("cognito custom-auth device v1:{nonce}");
        let signature: Signature = self.key.sign(message.as_bytes());
        json!({ "device": self.id, "signature": b64(&signature.to_bytes()) }).to_string()
    }
}

#[cfg(unix)]
fn owner_only(path: &Path) -> Result<(), CliError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)
        .map_err(|e| CliError::Input(format!("cannot read --device-key {}: {e}", path.display())))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(CliError::Input(format!(
            "--device-key {} may be read by others (mode {:o}): chmod 600 it",
            path.display(),
            mode & 0o777
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn owner_only(_: &Path) -> Result<(), CliError> {
    Ok(())
}

/// What remembering needs.
pub struct Remember {
    /// The device's name.
    pub name: String,
    /// The account API's base URL.
    pub api: String,
    /// Where the key goes.
    pub path: PathBuf,
}

/// Remembers this machine: a new key, its public half to the account API (with the access
/// token of the sign-in that just passed), the private half into the file. Returns the
/// device's name and expiry as the API answered.
pub async fn remember(remember: &Remember, access_token: &str) -> Result<String, CliError> {
    if remember.path.exists() {
        return Err(CliError::Input(format!(
            "--device-key {} exists already: this machine holds a device key",
            remember.path.display()
        )));
    }
    let key = new_key()?;
    let spki = key
        .verifying_key()
        .to_public_key_der()
        .map_err(|_| CliError::Input("cannot encode the device key".into()))?;
    let url = format!("{}/devices", remember.api.trim_end_matches('/'));
    let body = json!({ "publicKey": b64(spki.as_bytes()), "name": remember.name }).to_string();
    let web = aws_io::WebClient::new(std::env::var_os("SSL_CERT_FILE").map(PathBuf::from));
    let (status, answer) = web
        .post_json(&url, access_token, &body, 64 * 1024)
        .await
        .map_err(|e| CliError::Cognito(format!("the account API did not answer: {e}")))?;
    let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
    if status != 201 {
        return Err(CliError::Cognito(format!(
            "the device was not remembered: {}",
            answer["error"]
                .as_str()
                .unwrap_or("the account API refused it")
        )));
    }
    let id = answer["id"]
        .as_str()
        .ok_or_else(|| CliError::Cognito("the account API gave no device id".into()))?;
    let file = json!({ "id": id, "privateKey": b64(&key.to_bytes()) }).to_string();
    write_owner_only(&remember.path, file.as_bytes())?;
    Ok(format!(
        "this machine is remembered as {:?} until {} (Unix time); its key is in {}",
        answer["name"].as_str().unwrap_or_default(),
        answer["expiresAt"],
        remember.path.display()
    ))
}

/// A new key from the system's randomness (a scalar out of range, about 2^-128 likely, is
/// drawn again).
fn new_key() -> Result<SigningKey, CliError> {
    use rand::{RngCore as _, SeedableRng as _};
    let mut rng = rand::rngs::StdRng::try_from_os_rng()
        .map_err(|_| CliError::Input("no randomness from the system".into()))?;
    for _ in 0..4 {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        if let Ok(key) = SigningKey::from_slice(&bytes) {
            return Ok(key);
        }
    }
    Err(CliError::Input("no device key could be made".into()))
}

/// Creates `path` (never replacing a file) readable and writable by its owner alone.
fn write_owner_only(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        CliError::Input(format!(
            "cannot create --device-key {}: {e}",
            path.display()
        ))
    })?;
    file.write_all(bytes)
        .map_err(|e| CliError::Input(format!("cannot write --device-key {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_read_only_when_only_its_owner_may() {
        let dir =
            std::env::temp_dir().join(format!("cognito-signin-device-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key.json");
        let _ = std::fs::remove_file(&path);
        assert!(DeviceKey::load(&path).unwrap().is_none(), "no file, no key");
        let key = SigningKey::from_slice(&[7; 32]).unwrap();
        let text = json!({ "id": "AAAA", "privateKey": b64(&key.to_bytes()) }).to_string();
        write_owner_only(&path, text.as_bytes()).unwrap();
        assert!(write_owner_only(&path, b"x").is_err(), "never overwritten");
        let loaded = DeviceKey::load(&path).unwrap().unwrap();
        assert_eq!(loaded.id, "AAAA");
        let answer: serde_json::Value = serde_json::from_str(&loaded.answer("n0nce")).unwrap();
        assert_eq!(answer["device"], "AAAA");
        let signature = URL_SAFE_NO_PAD
            .decode(answer["signature"].as_str().unwrap())
            .unwrap();
        assert_eq!(signature.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = DeviceKey::load(&path).err().unwrap().to_string();
            assert!(err.contains("chmod 600"), "{err}");
        }
        std::fs::write(dir.join("bad.json"), "{}").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir.join("bad.json"), std::fs::Permissions::from_mode(0o600))
                .unwrap();
        }
        assert!(DeviceKey::load(&dir.join("bad.json")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
