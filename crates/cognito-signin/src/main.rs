//! Signs a user in to a Cognito user pool with `CUSTOM_AUTH`: SRP first when a password is given,
//! then each custom challenge shown by its kind and answered from flags or the terminal. On
//! success it prints the decoded ID-token claims. The endpoint comes from the standard AWS
//! configuration, so `AWS_ENDPOINT_URL` points it at a local emulator.

mod device;
mod pool;
mod prompt;
mod support;

use std::collections::HashMap;
use std::process::ExitCode;

use aws_cognito_srp::{SrpClient, User};
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, ChallengeNameType};

use crate::prompt::{Answers, after_choice_hint, describe};

const USAGE: &str = "\
usage: cognito-signin --user-pool-id ID --client-id ID --username NAME
                      [--with-password | --password-file FILE] [--answer VALUE]...
                      [--before-prompt COMMAND] [--client-metadata KEY=VALUE]... [--tokens]
                      [--device-key FILE [--remember-device NAME --account-api URL]]

  --with-password   start with Cognito's SRP password check (flows that begin with `password`);
                    the password comes from COGNITO_SIGNIN_PASSWORD when set, else it is asked
                    on the terminal without echo (or read as a line from a standard input that
                    is not a terminal)
  --password-file   the same, with the password in FILE (its first line)
  --password        the same, with the password on the command line: avoid it, since the
                    shell's history and, while the sign-in runs, every local user (ps) see it
  --answer          answer the next challenge with VALUE (repeatable, in order); challenges
                    without one are asked on the terminal
  --before-prompt   run COMMAND (sh -c) before each challenge is asked on the terminal, with
                    CHALLENGE set to its kind (e.g. to show a local mailbox)
  --client-metadata send KEY=VALUE in the ClientMetadata of every answer (repeatable); each
                    sign-in sends a fresh random signInId unless this sets one
  --tokens          print the claims of both tokens, {id: ..., access: ...}, instead of
                    the ID token's alone
  --device-key      this machine's remembered-device key (a file only you may read): when it
                    exists, a choice that offers `device` takes it and its round is signed
  --remember-device after a sign-in that used no device, remember this machine as NAME: a new
                    key, its public half to the account API (--account-api, the stack's
                    PasskeyApiUrl), the private half into --device-key (created, mode 0600)

Support commands for one user (state, unlock, reset sends, remove a passkey, forget devices):
`cognito-signin support` (its own usage). A user pool that already exists: `cognito-signin pool`
(check it, attach our triggers, detach them; its own usage).

The region, credentials and endpoint come from the standard AWS configuration
(AWS_REGION, AWS_ENDPOINT_URL, ...).";

/// Most rounds one sign-in may take, so a misbehaving pool cannot loop the CLI forever.
const MAX_ROUNDS: usize = 32;

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}\n\n{USAGE}")]
    Usage(String),
    #[error("{0}")]
    Cognito(String),
    #[error("sign-in failed: {0}")]
    Rejected(String),
    #[error("{0}")]
    Input(String),
}

/// Where the password comes from.
#[derive(Debug, PartialEq, Eq)]
enum Password {
    /// `COGNITO_SIGNIN_PASSWORD`, else the terminal without echo.
    Ask,
    /// The first line of this file.
    File(String),
    /// On the command line (discouraged).
    Given(String),
}

/// The variable `--with-password` reads the password from.
const PASSWORD_VARIABLE: &str = "COGNITO_SIGNIN_PASSWORD";

impl Password {
    /// The password itself.
    fn read(self) -> Result<String, CliError> {
        match self {
            Password::Given(password) => {
                eprintln!(
                    "warning: --password shows the password to every local user while this runs; use --with-password or --password-file"
                );
                Ok(password)
            }
            Password::File(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    CliError::Input(format!("cannot read --password-file {path}: {e}"))
                })?;
                Ok(text.lines().next().unwrap_or_default().to_owned())
            }
            Password::Ask => {
                if let Some(password) = std::env::var(PASSWORD_VARIABLE)
                    .ok()
                    .filter(|p| !p.is_empty())
                {
                    return Ok(password);
                }
                use std::io::IsTerminal;
                if std::io::stdin().is_terminal() {
                    rpassword::prompt_password("password: ")
                        .map_err(|e| CliError::Input(format!("cannot read the password: {e}")))
                } else {
                    let mut line = String::new();
                    std::io::BufRead::read_line(&mut std::io::stdin().lock(), &mut line)
                        .map_err(|e| CliError::Input(format!("cannot read the password: {e}")))?;
                    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
                }
            }
        }
    }
}

struct Args {
    pool_id: String,
    client_id: String,
    username: String,
    password: Option<Password>,
    answers: Vec<String>,
    before_prompt: Option<String>,
    client_metadata: HashMap<String, String>,
    print_both_tokens: bool,
    device_key: Option<String>,
    remember: Option<(String, String)>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, CliError> {
    let mut flags: HashMap<&str, Option<String>> = HashMap::new();
    let mut answers = Vec::new();
    let mut client_metadata = HashMap::new();
    let mut print_both_tokens = false;
    let mut password = None;
    while let Some(flag) = args.next() {
        let name = match flag.as_str() {
            "--user-pool-id" | "--client-id" | "--username" | "--password" | "--answer"
            | "--before-prompt" | "--client-metadata" | "--password-file" | "--device-key"
            | "--remember-device" | "--account-api" => flag,
            "--tokens" => {
                print_both_tokens = true;
                continue;
            }
            "--with-password" => {
                password = Some(Password::Ask);
                continue;
            }
            "-h" | "--help" => return Err(CliError::Usage("help".into())),
            other => return Err(CliError::Usage(format!("unknown argument {other:?}"))),
        };
        let value = args
            .next()
            .ok_or_else(|| CliError::Usage(format!("{name} needs a value")))?;
        match name.as_str() {
            "--answer" => answers.push(value),
            "--client-metadata" => {
                let (key, value) = value.split_once('=').ok_or_else(|| {
                    CliError::Usage(format!("--client-metadata {value:?} is not KEY=VALUE"))
                })?;
                client_metadata.insert(key.to_owned(), value.to_owned());
            }
            "--user-pool-id" => drop(flags.insert("pool", Some(value))),
            "--client-id" => drop(flags.insert("client", Some(value))),
            "--username" => drop(flags.insert("user", Some(value))),
            "--password" => password = Some(Password::Given(value)),
            "--password-file" => password = Some(Password::File(value)),
            "--device-key" => drop(flags.insert("device", Some(value))),
            "--remember-device" => drop(flags.insert("remember", Some(value))),
            "--account-api" => drop(flags.insert("api", Some(value))),
            _ => drop(flags.insert("before", Some(value))),
        }
    }
    let mut take = |k: &str, flag: &str| {
        flags
            .remove(k)
            .flatten()
            .ok_or_else(|| CliError::Usage(format!("{flag} is required")))
    };
    let device_key = take("device", "").ok();
    let remember = match (take("remember", "").ok(), take("api", "").ok()) {
        (Some(name), Some(api)) if device_key.is_some() => Some((name, api)),
        (None, None) => None,
        _ => {
            return Err(CliError::Usage(
                "--remember-device needs --account-api and --device-key".into(),
            ));
        }
    };
    Ok(Args {
        device_key,
        remember,
        pool_id: take("pool", "--user-pool-id")?,
        client_id: take("client", "--client-id")?,
        username: take("user", "--username")?,
        password,
        before_prompt: take("before", "").ok(),
        answers,
        client_metadata,
        print_both_tokens,
    })
}

/// A fresh sign-in id: 128 random bits in hex. It names this sign-in to the pool's triggers
/// (the account selected in it reaches its tokens), and is no secret.
fn new_sign_in_id() -> Result<String, CliError> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::try_from_os_rng()
        .map_err(|_| CliError::Input("no randomness from the system".into()))?;
    let bits: u128 = rng.random();
    Ok(format!("{bits:032x}"))
}

fn cognito_error<E: ProvideErrorMetadata>(e: E) -> CliError {
    let code = e.code().unwrap_or("Error").to_owned();
    let message = e.message().unwrap_or("").to_owned();
    if code == "NotAuthorizedException" {
        CliError::Rejected(message)
    } else {
        CliError::Cognito(format!("{code}: {message}"))
    }
}

async fn sign_in(mut args: Args) -> Result<String, CliError> {
    // Read before the first request: a prompt belongs before anything is sent.
    let password = args.password.take().map(Password::read).transpose()?;
    let sdk = aws_config::load_from_env().await;
    let client = Client::new(&sdk);
    let device_path = args.device_key.as_ref().map(std::path::PathBuf::from);
    let held = match &device_path {
        Some(path) => device::DeviceKey::load(path)?,
        None => None,
    };
    let mut used_device = false;
    let mut answers = Answers::new(args.answers, args.before_prompt);
    let mut chose = false;
    let mut metadata = args.client_metadata.clone();
    if !metadata.contains_key("signInId") {
        metadata.insert("signInId".into(), new_sign_in_id()?);
    }

    let mut init = client
        .initiate_auth()
        .client_id(&args.client_id)
        .auth_flow(AuthFlowType::CustomAuth)
        .auth_parameters("USERNAME", &args.username);
    let srp = password.as_ref().map(|password| {
        SrpClient::new(
            User::new(&args.pool_id, &args.username, password),
            &args.client_id,
            None,
        )
    });
    if let Some(srp) = &srp {
        let params = srp.get_auth_parameters();
        init = init
            .auth_parameters("CHALLENGE_NAME", "SRP_A")
            .auth_parameters("SRP_A", params.a);
    }
    let mut step = init.send().await.map_err(cognito_error)?;
    let mut username = args.username.clone();

    for _ in 0..MAX_ROUNDS {
        if let Some(result) = step.authentication_result() {
            let id_token = result
                .id_token()
                .ok_or_else(|| CliError::Cognito("no ID token in the result".into()))?;
            if let (Some((name, api)), Some(path)) = (&args.remember, &device_path) {
                if used_device {
                    eprintln!("not remembered: this sign-in used a remembered device already");
                } else {
                    let token = result.access_token().unwrap_or_default();
                    let remember = device::Remember {
                        name: name.clone(),
                        api: api.clone(),
                        path: path.clone(),
                    };
                    eprintln!("{}", device::remember(&remember, token).await?);
                }
            }
            if !args.print_both_tokens {
                return decode_claims(id_token).and_then(pretty);
            }
            let access_token = result
                .access_token()
                .ok_or_else(|| CliError::Cognito("no access token in the result".into()))?;
            let both = serde_json::json!({
                "id": decode_claims(id_token)?,
                "access": decode_claims(access_token)?,
            });
            return pretty(both);
        }
        let params = step.challenge_parameters().cloned().unwrap_or_default();
        let session = step.session().map(str::to_owned);
        let mut respond = client
            .respond_to_auth_challenge()
            .client_id(&args.client_id)
            .set_session(session)
            .set_client_metadata(Some(metadata.clone()));
        match step.challenge_name() {
            Some(ChallengeNameType::PasswordVerifier) => {
                let srp = srp.as_ref().ok_or_else(|| {
                    CliError::Input("the pool asks for a password: pass --with-password".into())
                })?;
                let get = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
                let user_id = get("USER_ID_FOR_SRP");
                let proof = srp
                    .verify(get("SECRET_BLOCK"), user_id, get("SALT"), get("SRP_B"))
                    .map_err(|e| CliError::Cognito(format!("SRP: {e}")))?;
                username = user_id.to_owned();
                eprintln!("password: proof sent");
                respond = respond
                    .challenge_name(ChallengeNameType::PasswordVerifier)
                    .challenge_responses("USERNAME", &username)
                    .challenge_responses(
                        "PASSWORD_CLAIM_SECRET_BLOCK",
                        proof.password_claim_secret_block,
                    )
                    .challenge_responses("PASSWORD_CLAIM_SIGNATURE", proof.password_claim_signature)
                    .challenge_responses("TIMESTAMP", proof.timestamp);
            }
            Some(ChallengeNameType::CustomChallenge) => {
                let kind = params.get("challenge").cloned().unwrap_or_default();
                eprintln!("{}", describe(&params));
                if chose && let Some(hint) = after_choice_hint(&kind) {
                    eprintln!("({hint})");
                }
                let offers_device = || {
                    let options: Vec<String> = params
                        .get("options")
                        .and_then(|o| serde_json::from_str(o).ok())
                        .unwrap_or_default();
                    options.iter().any(|o| o == "device")
                };
                let answer = match (kind.as_str(), &held) {
                    // This machine is remembered: take that way, and sign its round.
                    ("CHOOSE", Some(_)) if offers_device() => "device".to_owned(),
                    ("DEVICE", Some(key)) => {
                        used_device = true;
                        key.answer(params.get("nonce").map(String::as_str).unwrap_or_default())
                    }
                    ("DEVICE", None) => {
                        return Err(CliError::Input(
                            "the pool asks for a remembered device: pass --device-key".into(),
                        ));
                    }
                    _ => answers.next(&kind)?,
                };
                // A pick goes twice: as the answer (checked) and in `ClientMetadata`
                // `choice`, where the next round's Create reads it.
                if kind == "CHOOSE" {
                    chose = true;
                    respond = respond.client_metadata("choice", answer.trim());
                }
                respond = respond
                    .challenge_name(ChallengeNameType::CustomChallenge)
                    .challenge_responses("USERNAME", &username)
                    .challenge_responses("ANSWER", answer);
            }
            other => {
                return Err(CliError::Cognito(format!(
                    "unsupported challenge {other:?}; this CLI speaks PASSWORD_VERIFIER and CUSTOM_CHALLENGE"
                )));
            }
        }
        let next = respond.send().await.map_err(cognito_error)?;
        // Re-shape the response into the same accessor set as InitiateAuth's.
        step =
            aws_sdk_cognitoidentityprovider::operation::initiate_auth::InitiateAuthOutput::builder(
            )
            .set_challenge_name(next.challenge_name().cloned())
            .set_session(next.session().map(str::to_owned))
            .set_challenge_parameters(next.challenge_parameters().cloned())
            .set_authentication_result(next.authentication_result().cloned())
            .build();
    }
    Err(CliError::Cognito(format!(
        "no result after {MAX_ROUNDS} rounds"
    )))
}

fn pretty(claims: serde_json::Value) -> Result<String, CliError> {
    serde_json::to_string_pretty(&claims).map_err(|e| CliError::Cognito(e.to_string()))
}

fn decode_claims(jwt: &str) -> Result<serde_json::Value, CliError> {
    use base64::Engine;
    let payload = jwt
        .split('.')
        .nth(1)
        .ok_or_else(|| CliError::Cognito("the ID token is not a JWT".into()))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| CliError::Cognito("the ID token is not base64url".into()))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| CliError::Cognito("the ID token claims are not JSON".into()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("support") {
        return match support::parse(std::env::args().skip(2)) {
            Ok(args) => match support::run(args).await {
                Ok(state) => {
                    println!("{state}");
                    ExitCode::SUCCESS
                }
                Err(e) => error(e, ExitCode::FAILURE),
            },
            Err(e) => error(e, ExitCode::from(64)),
        };
    }
    if std::env::args().nth(1).as_deref() == Some("pool") {
        return match pool::parse(std::env::args().skip(2)) {
            Ok(args) => match pool::run(args).await {
                Ok(done) => {
                    eprintln!("{done}");
                    ExitCode::SUCCESS
                }
                Err(pool::PoolCliError::Findings(n)) => {
                    eprintln!("{}", pool::PoolCliError::Findings(n));
                    ExitCode::from(3)
                }
                Err(e) => error(e, ExitCode::FAILURE),
            },
            Err(e) => error(e, ExitCode::from(64)),
        };
    }
    let result = match parse_args(std::env::args().skip(1)) {
        Ok(args) => sign_in(args).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(claims) => {
            eprintln!("signed in; ID token claims:");
            println!("{claims}");
            ExitCode::SUCCESS
        }
        Err(CliError::Rejected(message)) => {
            eprintln!("sign-in failed: {message}");
            ExitCode::from(2)
        }
        Err(e) => error(e, ExitCode::FAILURE),
    }
}

/// Says what went wrong (usage errors with the usage), and exits with `status`.
fn error(e: impl std::fmt::Display, status: ExitCode) -> ExitCode {
    eprintln!("error: {e}");
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, CliError> {
        parse_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn arguments() {
        let a = args(&[
            "--user-pool-id",
            "p",
            "--client-id",
            "c",
            "--username",
            "u",
            "--answer",
            "1",
            "--answer",
            "2",
        ])
        .unwrap();
        assert_eq!(
            (
                a.pool_id.as_str(),
                a.client_id.as_str(),
                a.username.as_str()
            ),
            ("p", "c", "u")
        );
        assert_eq!(a.answers, ["1", "2"]);
        assert!(a.password.is_none());
        assert!(args(&["--client-id", "c", "--username", "u"]).is_err());
        assert!(args(&["--user-pool-id", "p", "--client-id", "c", "--username"]).is_err());
        assert!(args(&["--bogus", "x"]).is_err());
        let m = args(&[
            "--user-pool-id",
            "p",
            "--client-id",
            "c",
            "--username",
            "u",
            "--client-metadata",
            "signInId=abc=d",
            "--tokens",
        ])
        .unwrap();
        assert_eq!(m.client_metadata["signInId"], "abc=d");
        let base = ["--user-pool-id", "p", "--client-id", "c", "--username", "u"];
        let with = |extra: &[&str]| args(&[&base[..], extra].concat()).unwrap().password;
        assert_eq!(with(&["--with-password"]), Some(Password::Ask));
        assert_eq!(
            with(&["--password-file", "/run/secret"]),
            Some(Password::File("/run/secret".into()))
        );
        assert_eq!(
            with(&["--password", "pw"]),
            Some(Password::Given("pw".into()))
        );
        assert_eq!(with(&[]), None);
        assert!(m.print_both_tokens && !a.print_both_tokens);
        assert!(args(&["--client-metadata", "no-equals"]).is_err());
        let (one, two) = (new_sign_in_id().unwrap(), new_sign_in_id().unwrap());
        assert_eq!(one.len(), 32);
        assert_ne!(one, two);
    }

    #[test]
    fn a_password_file_gives_its_first_line() {
        let path = std::env::temp_dir().join(format!("cognito-signin-pw-{}", std::process::id()));
        std::fs::write(&path, "correct horse\nsecond line\n").unwrap();
        let read = Password::File(path.display().to_string()).read();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(read.unwrap(), "correct horse");
        let missing = Password::File("/nonexistent/pw".into()).read();
        assert!(matches!(missing, Err(CliError::Input(_))));
    }

    #[test]
    fn claims() {
        let jwt = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhYmMiLCJlbWFpbCI6ImphbmVAZXhhbXBsZS5jb20ifQ.x";
        let claims = decode_claims(jwt).unwrap();
        assert_eq!(claims["sub"], "abc", "{claims}");
        assert!(pretty(claims).unwrap().contains("\"sub\": \"abc\""));
        assert!(decode_claims("nope").is_err());
    }
}
