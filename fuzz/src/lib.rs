//! Shared set-up of the fuzz targets: one configuration with every step, fakes for the I/O
//! ports that answer at once, and a runtime to drive the async triggers.

use std::sync::OnceLock;

use custom_auth::Config;
use custom_auth::passkey::{Added, Discovered, Holder, PasskeyStore, StoredPasskey};
use custom_auth::passkey::api::ApiConfig;
use custom_auth::ports::{
    CaptchaVerifier, CodeMessage, CodeSender, DependencyError, JwksFetcher, Mailer, TokenCheck,
    TokenStatus,
};
use custom_auth::store::devices::{DeviceStore, Remembered, StoredDevice};
use custom_auth::store::{Admission, Failures, Limits, OneTime, SendGate, StateStore};

/// The HS256 secret the `signed-token` step trusts in the fuzz configuration.
pub const HS_SECRET: &str = "fuzz-hs256-secret-of-32-bytes-or-more!!";

/// The key that signs magic links in the fuzz configuration.
pub const LINK_SECRET: &str = "fuzz-magic-link-secret-0123456789abcdef";

/// Every step kind, so that any `step` named in a session or private parameter is live.
pub fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        Config::from_lookup(|k| {
            match k {
                "AUTH_FLOW" => {
                    Some("password,captcha,email-otp,sms-otp,select-account,signed-token,magic-link,passkey,device")
                }
                "AUTH_MAX_ATTEMPTS" => Some("3"),
                "OTP_EMAIL_FROM" => Some("no-reply@example.com"),
                "CAPTCHA_SITE_KEY" => Some("site"),
                "CAPTCHA_SECRET" => Some("captcha-secret"),
                "CAPTCHA_VERIFY_URL" => Some("http://127.0.0.1:9/siteverify"),
                "SIGNED_TOKEN_SECRET" => Some(HS_SECRET),
                "AUTH_STATE_TABLE" => Some("fuzz-state"),
                "AUTH_STATE_KEY" => Some("fuzz-state-key-0123456789abcdef-32b"),
                "MAGIC_LINK_URLS" => Some("https://app.example.com/signin"),
                "MAGIC_LINK_SECRET" => Some(LINK_SECRET),
                "PASSKEY_RP_ID" => Some("localhost"),
                "PASSKEY_ORIGINS" => Some("http://localhost:4700"),
                "SIGN_IN_METHODS_CLAIM" => Some("signin_amr"),
                _ => None,
            }
            .map(str::to_owned)
        })
        .unwrap_or_else(|e| panic!("fuzz configuration: {e}"))
    })
}

/// The account API's configuration (passkeys and remembered devices), beside the triggers' one.
pub fn api_config() -> &'static ApiConfig {
    static CONFIG: OnceLock<ApiConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        ApiConfig::from_lookup(|k| {
            match k {
                "AUTH_STATE_TABLE" => Some("fuzz-state"),
                "AUTH_STATE_KEY" => Some("fuzz-state-key-0123456789abcdef-32b"),
                "PASSKEY_RP_ID" => Some("localhost"),
                "PASSKEY_ORIGINS" => Some("http://localhost:4700"),
                "OTP_EMAIL_FROM" => Some("no-reply@example.com"),
                "DEVICE_TTL_DAYS" => Some("30"),
                "SIGN_IN_METHODS_CLAIM" => Some("signin_amr"),
                _ => None,
            }
            .map(str::to_owned)
        })
        .unwrap_or_else(|e| panic!("fuzz API configuration: {e}"))
    })
}

/// The pool's word on every token: live (with an address), or refused.
pub struct Pool(pub bool);

impl TokenCheck for Pool {
    async fn check(&self, _: &str) -> Result<TokenStatus, DependencyError> {
        Ok(if self.0 {
            TokenStatus::Live {
                email: Some("jane@example.com".into()),
            }
        } else {
            TokenStatus::Refused
        })
    }
}

impl Mailer for Sender {
    async fn mail(&self, _: &CodeMessage) -> Result<(), DependencyError> {
        if self.0 { Ok(()) } else { Err(DependencyError::Failed) }
    }
}

/// Drives an async trigger to completion on one reused current-thread runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap_or_else(|e| panic!("runtime: {e}"))
        })
        .block_on(future)
}

/// Accepts every message at once (or refuses every one, to reach the error path).
pub struct Sender(pub bool);

impl CodeSender for Sender {
    async fn send(&self, _message: &CodeMessage) -> Result<(), DependencyError> {
        if self.0 {
            Ok(())
        } else {
            Err(DependencyError::Failed)
        }
    }
    async fn imitate_send(&self) {}
}

/// A CAPTCHA provider that accepts exactly the token `"solved"`.
pub struct Captcha;

impl CaptchaVerifier for Captcha {
    async fn siteverify(&self, token: &str) -> Result<bool, DependencyError> {
        Ok(token == "solved")
    }
}

/// A JWKS endpoint that is always down.
pub struct Down;

impl JwksFetcher for Down {
    async fn fetch(&self) -> Result<Vec<u8>, DependencyError> {
        Err(DependencyError::Failed)
    }
}

/// A state store that allows and admits everything (`Gate(false)`), or holds every user
/// locked (`Gate(true)`): under the locked one no code may go out and no answer may pass.
pub struct Gate(pub bool);

impl StateStore for Gate {
    async fn record_send(&self, _: &str, _: u64, _: &Limits) -> Result<SendGate, DependencyError> {
        Ok(if self.0 { SendGate::Locked } else { SendGate::Allowed })
    }
    async fn record_link(
        &self,
        _: &str,
        _: u64,
        _: &Limits,
        _: u64,
        _: u64,
    ) -> Result<SendGate, DependencyError> {
        Ok(if self.0 { SendGate::Locked } else { SendGate::Allowed })
    }
    async fn record_failure(&self, _: &str, _: u64, _: &Limits) -> Result<Failures, DependencyError> {
        Ok(Failures::default())
    }
    async fn admit(
        &self,
        _: &str,
        _: &[OneTime],
        _: u64,
        _: &Limits,
    ) -> Result<Admission, DependencyError> {
        Ok(if self.0 { Admission::Locked } else { Admission::Admitted })
    }
    async fn take(&self, _: &str, _: u64) -> Result<Option<String>, DependencyError> {
        Ok(None)
    }
}

/// No passkeys are stored (Create offers decoys); every write goes through, except under the
/// locked gate, where every passkey write fails as a store would that is down.
impl PasskeyStore for Gate {
    async fn passkeys(&self, _: &str) -> Result<Vec<StoredPasskey>, DependencyError> {
        Ok(Vec::new())
    }
    async fn add_passkey(
        &self,
        _: &str,
        _: &StoredPasskey,
        _: &Holder,
        _: usize,
    ) -> Result<Added, DependencyError> {
        if self.0 { Err(DependencyError::Failed) } else { Ok(Added::Added) }
    }
    async fn discover(&self, _: &[u8]) -> Result<Option<Discovered>, DependencyError> {
        if self.0 { Err(DependencyError::Failed) } else { Ok(None) }
    }
    async fn remove_passkey(&self, _: &str, _: &[u8]) -> Result<bool, DependencyError> {
        Ok(!self.0)
    }
    async fn begin_registration(&self, _: &str, _: &str, _: u64) -> Result<(), DependencyError> {
        if self.0 { Err(DependencyError::Failed) } else { Ok(()) }
    }
    async fn take_registration(&self, _: &str, _: u64) -> Result<Option<String>, DependencyError> {
        Ok(None)
    }
}

/// No devices are remembered (Create offers a challenge, which no answer passes); every write
/// goes through, except under the locked gate, where every device write fails as a store
/// would that is down.
impl DeviceStore for Gate {
    async fn devices(&self, _: &str) -> Result<Vec<StoredDevice>, DependencyError> {
        if self.0 { Err(DependencyError::Failed) } else { Ok(Vec::new()) }
    }
    async fn remember(
        &self,
        _: &str,
        _: &StoredDevice,
        _: usize,
    ) -> Result<Remembered, DependencyError> {
        if self.0 { Err(DependencyError::Failed) } else { Ok(Remembered::Added) }
    }
    async fn rename_device(&self, _: &str, _: &[u8], _: &str) -> Result<bool, DependencyError> {
        Ok(!self.0)
    }
    async fn forget_device(&self, _: &str, _: &[u8]) -> Result<bool, DependencyError> {
        Ok(!self.0)
    }
    async fn forget_devices(&self, _: &str) -> Result<(), DependencyError> {
        if self.0 { Err(DependencyError::Failed) } else { Ok(()) }
    }
}
