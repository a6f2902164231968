//! What a sign-in asks for: the step kinds, a flow (stages of steps, some of them a choice)
//! and the flows of each app client, parsed from `AUTH_FLOW` and `AUTH_FLOWS`.

use std::fmt;

use crate::config::env::ConfigError;

/// One kind of round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// Cognito's own SRP password check (`SRP_A` then `PASSWORD_VERIFIER`); only as the first step.
    Password,
    /// A CAPTCHA widget token, checked against the provider's siteverify endpoint.
    Captcha,
    /// A one-time code sent by e-mail through Amazon SES.
    EmailOtp,
    /// A one-time code sent by SMS through Amazon SNS.
    SmsOtp,
    /// The choice of one account among those in the `custom:accounts` attribute.
    SelectAccount,
    /// A JWT signed by the user's backend, for a passwordless hand-off.
    SignedToken,
    /// A signed, single-use link e-mailed to the user ([`crate::steps::magic`]).
    MagicLink,
    /// A WebAuthn assertion by one of the user's passkeys ([`crate::passkey`]).
    Passkey,
    /// A signature by a key of a device the user chose to remember ([`crate::device`]): an
    /// alternative to the code a remembered device skips (`password,device|email-otp`).
    Device,
    /// The user's pick among the alternatives of a choice stage (`email-otp|sms-otp`). Not
    /// written in a flow: a choice stage starts with it.
    Choose,
}

impl Step {
    /// Every step a flow may name, in the order the documentation lists them.
    pub const ALL: [Step; 9] = [
        Step::Password,
        Step::Captcha,
        Step::EmailOtp,
        Step::SmsOtp,
        Step::SelectAccount,
        Step::SignedToken,
        Step::MagicLink,
        Step::Passkey,
        Step::Device,
    ];

    /// The step's name in `AUTH_FLOW` (and in a choice's `options`).
    pub fn name(self) -> &'static str {
        match self {
            Step::Password => "password",
            Step::Captcha => "captcha",
            Step::EmailOtp => "email-otp",
            Step::SmsOtp => "sms-otp",
            Step::SelectAccount => "select-account",
            Step::SignedToken => "signed-token",
            Step::MagicLink => "magic-link",
            Step::Passkey => "passkey",
            Step::Device => "device",
            Step::Choose => "choose",
        }
    }

    /// The tag of a custom round: the public `challenge` value and the start of its
    /// `challengeMetadata`. `None` for the password step, which Cognito runs itself.
    pub fn tag(self) -> Option<&'static str> {
        match self {
            Step::Password => None,
            Step::Captcha => Some("CAPTCHA"),
            Step::EmailOtp => Some("EMAIL_OTP"),
            Step::SmsOtp => Some("SMS_OTP"),
            Step::SelectAccount => Some("SELECT_ACCOUNT"),
            Step::SignedToken => Some("SIGNED_TOKEN"),
            Step::MagicLink => Some("MAGIC_LINK"),
            Step::Passkey => Some("PASSKEY"),
            Step::Device => Some("DEVICE"),
            Step::Choose => Some("CHOOSE"),
        }
    }

    /// The custom round whose tag is `tag`, if any.
    pub fn from_tag(tag: &str) -> Option<Step> {
        Step::ALL
            .into_iter()
            .chain([Step::Choose])
            .find(|s| s.tag() == Some(tag))
    }

    /// The step a flow names `name`, if any (never [`Step::Choose`]).
    pub fn from_name(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One stage of a flow: a step, or a choice between steps (the user picks one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    /// This step.
    One(Step),
    /// One of these steps (two or more, in the order written), picked in a `CHOOSE` round.
    Choice(Vec<Step>),
}

impl Stage {
    /// The steps this stage may run.
    pub fn steps(&self) -> &[Step] {
        match self {
            Stage::One(step) => std::slice::from_ref(step),
            Stage::Choice(steps) => steps,
        }
    }
}

/// The ordered stages of a sign-in. Non-empty; no step twice; `password` only first and
/// never an alternative (SRP starts with `InitiateAuth`, before any choice could be made).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flow {
    stages: Vec<Stage>,
}

impl Flow {
    /// Parses `AUTH_FLOW`: comma-separated stages, each a step or alternatives joined by `|`,
    /// such as `password,email-otp|sms-otp`.
    pub fn parse(value: &str) -> Result<Flow, ConfigError> {
        Flow::parse_var("AUTH_FLOW", value)
    }

    /// Like [`Flow::parse`], naming `var` in errors.
    pub fn parse_var(var: &'static str, value: &str) -> Result<Flow, ConfigError> {
        let bad = |why: &str| ConfigError::Invalid {
            var,
            value: value.to_owned(),
            why: why.to_owned(),
        };
        if value.trim().is_empty() {
            return Err(bad("it is empty"));
        }
        let mut stages = Vec::new();
        let mut seen = Vec::new();
        for part in value.split(',') {
            let mut alternatives = Vec::new();
            for name in part.split('|').map(str::trim) {
                let step = Step::from_name(name).ok_or_else(|| {
                    bad(&format!(
                        "unknown step {name:?}; known steps: password, captcha, email-otp, sms-otp, select-account, signed-token, magic-link, passkey"
                    ))
                })?;
                if seen.contains(&step) {
                    return Err(bad(&format!("step {name:?} appears twice")));
                }
                seen.push(step);
                alternatives.push(step);
            }
            let choice = alternatives.len() > 1;
            if alternatives.contains(&Step::Password) && (choice || !stages.is_empty()) {
                return Err(bad(
                    "password may only be the first step, and never an alternative",
                ));
            }
            // An account selection is no way to sign in but a part of every sign-in that has
            // it: Pre Token Generation then requires the choice, which a branch without it
            // could never prove.
            if choice && alternatives.contains(&Step::SelectAccount) {
                return Err(bad("select-account cannot be an alternative"));
            }
            stages.push(if choice {
                Stage::Choice(alternatives)
            } else {
                Stage::One(alternatives[0])
            });
        }
        Ok(Flow { stages })
    }

    /// Builds a flow of single steps, with the same rules as [`Flow::parse`].
    pub fn from_steps(steps: &[Step]) -> Result<Flow, ConfigError> {
        let names: Vec<&str> = steps.iter().map(|s| s.name()).collect();
        Flow::parse(&names.join(","))
    }

    /// The stages, in order.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// Every step the flow may run, stage by stage.
    pub fn steps(&self) -> impl Iterator<Item = Step> + '_ {
        self.stages.iter().flat_map(|s| s.steps().iter().copied())
    }

    /// Whether `step` is part of the flow (as a stage or an alternative; [`Step::Choose`]:
    /// whether the flow has a choice).
    pub fn contains(&self, step: Step) -> bool {
        match step {
            Step::Choose => self.stages.iter().any(|s| matches!(s, Stage::Choice(_))),
            _ => self.steps().any(|s| s == step),
        }
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stages: Vec<String> = self
            .stages
            .iter()
            .map(|s| {
                let names: Vec<&str> = s.steps().iter().map(|s| s.name()).collect();
                names.join("|")
            })
            .collect();
        f.write_str(&stages.join(","))
    }
}

/// The flow of each app client: `AUTH_FLOWS` (client id to flow) over `AUTH_FLOW` (every
/// other client). A client with neither has no flow, and its sign-ins fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flows {
    default: Option<Flow>,
    clients: Vec<(String, Flow)>,
}

/// Longest app client id Cognito issues.
const MAX_CLIENT_ID: usize = 128;

impl Flows {
    /// Every client runs `flow`.
    pub fn single(flow: Flow) -> Flows {
        Flows {
            default: Some(flow),
            clients: Vec::new(),
        }
    }

    /// Reads `AUTH_FLOW` (optional when `AUTH_FLOWS` is set) and `AUTH_FLOWS` (optional: a JSON
    /// object from app client id, or several ids comma-separated, to flow).
    pub fn from_vars(
        auth_flow: Option<&str>,
        auth_flows: Option<&str>,
    ) -> Result<Flows, ConfigError> {
        let default = auth_flow.map(Flow::parse).transpose()?;
        let mut clients = Vec::new();
        if let Some(text) = auth_flows {
            let bad = |why: String| ConfigError::Invalid {
                var: "AUTH_FLOWS",
                value: text.to_owned(),
                why,
            };
            let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
                .map_err(|_| {
                    bad("expected a JSON object of app client id to flow, for example {\"<client id>\": \"password,email-otp\"}".into())
                })?;
            for (key, flow) in map {
                let serde_json::Value::String(flow) = flow else {
                    return Err(bad(format!("the flow of {key:?} is not a string")));
                };
                let flow = Flow::parse_var("AUTH_FLOWS", &flow).map_err(|e| match e {
                    ConfigError::Invalid { why, value, .. } => {
                        bad(format!("the flow of {key:?} ({value:?}): {why}"))
                    }
                    other => other,
                })?;
                // A key may name several clients, comma-separated: the template builds the
                // object from a list of an existing pool's clients, and CloudFormation cannot
                // repeat the flow for each.
                for client in key.split(',') {
                    let well_formed = !client.is_empty()
                        && client.len() <= MAX_CLIENT_ID
                        && client
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'+');
                    if !well_formed {
                        return Err(bad(format!("{client:?} is not an app client id")));
                    }
                    if clients.iter().any(|(named, _)| named == client) {
                        return Err(bad(format!("{client:?} is named twice")));
                    }
                    clients.push((client.to_owned(), flow.clone()));
                }
            }
            if clients.is_empty() {
                return Err(bad("it names no app client".into()));
            }
        }
        if default.is_none() && clients.is_empty() {
            return Err(ConfigError::Missing {
                var: "AUTH_FLOW",
                why: " (comma-separated steps, for example password,email-otp), unless AUTH_FLOWS names each app client's flow",
            });
        }
        Ok(Flows { default, clients })
    }

    /// The flow of the app client `client_id` (the event's `callerContext.clientId`).
    pub fn for_client(&self, client_id: Option<&str>) -> Option<&Flow> {
        let listed = client_id.and_then(|id| {
            self.clients
                .iter()
                .find(|(client, _)| client == id)
                .map(|(_, flow)| flow)
        });
        listed.or(self.default.as_ref())
    }

    /// Whether any client's flow has `step`: its settings are then required at start.
    pub fn contains(&self, step: Step) -> bool {
        self.default
            .iter()
            .chain(self.clients.iter().map(|(_, flow)| flow))
            .any(|flow| flow.contains(step))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows() {
        use Step::*;
        let one = |s| Stage::One(s);
        let table: &[(&str, Option<Vec<Stage>>)] = &[
            ("password", Some(vec![one(Password)])),
            (
                "password,email-otp",
                Some(vec![one(Password), one(EmailOtp)]),
            ),
            (
                " captcha , sms-otp,select-account,signed-token",
                Some(vec![
                    one(Captcha),
                    one(SmsOtp),
                    one(SelectAccount),
                    one(SignedToken),
                ]),
            ),
            (
                "email-otp|sms-otp",
                Some(vec![Stage::Choice(vec![EmailOtp, SmsOtp])]),
            ),
            (
                "password, email-otp | sms-otp ,select-account",
                Some(vec![
                    one(Password),
                    Stage::Choice(vec![EmailOtp, SmsOtp]),
                    one(SelectAccount),
                ]),
            ),
            ("", None),
            ("  ", None),
            ("email-otp,password", None),
            ("email-otp,email-otp", None),
            ("email-otp|email-otp", None),
            ("email-otp|sms-otp,sms-otp", None),
            ("password|email-otp", None),
            ("email-otp|password", None),
            ("email-otp|select-account", None),
            ("email-otp|", None),
            ("|email-otp", None),
            ("choose", None),
            ("email_otp", None),
            ("password,", None),
            ("Password", None),
        ];
        for (input, want) in table {
            let got = Flow::parse(input).ok();
            assert_eq!(
                got.as_ref().map(|f| f.stages().to_vec()),
                *want,
                "input {input:?}"
            );
            if let Some(flow) = got {
                assert_eq!(
                    Flow::parse(&flow.to_string()),
                    Ok(flow),
                    "round trip {input:?}"
                );
            }
        }
    }

    #[test]
    fn flows_per_client() {
        let flows = Flows::from_vars(
            Some("password,email-otp"),
            Some(r#"{"web1": "email-otp|sms-otp", "backend_2+x": "signed-token"}"#),
        )
        .unwrap();
        let named = |id: Option<&str>| flows.for_client(id).map(ToString::to_string);
        assert_eq!(named(Some("web1")).as_deref(), Some("email-otp|sms-otp"));
        assert_eq!(named(Some("backend_2+x")).as_deref(), Some("signed-token"));
        assert_eq!(named(Some("other")).as_deref(), Some("password,email-otp"));
        assert_eq!(named(None).as_deref(), Some("password,email-otp"));
        assert!(flows.contains(Step::SignedToken) && flows.contains(Step::SmsOtp));
        assert!(!flows.contains(Step::Captcha));

        let only_listed = Flows::from_vars(None, Some(r#"{"web1": "email-otp"}"#)).unwrap();
        assert!(only_listed.for_client(Some("other")).is_none());
        assert!(only_listed.for_client(None).is_none());
        assert!(only_listed.for_client(Some("web1")).is_some());

        // An existing pool's clients, listed in one key (the template's form), and the
        // hand-off client beside them.
        let listed = Flows::from_vars(
            None,
            Some(r#"{"webA,webB": "password,email-otp", "backend": "signed-token"}"#),
        )
        .unwrap();
        for client in ["webA", "webB"] {
            let flow = listed.for_client(Some(client)).map(ToString::to_string);
            assert_eq!(flow.as_deref(), Some("password,email-otp"), "{client}");
        }
        let backend = listed.for_client(Some("backend")).map(ToString::to_string);
        assert_eq!(backend.as_deref(), Some("signed-token"));
        assert!(listed.for_client(Some("webA,webB")).is_none());
        assert!(listed.for_client(Some("webC")).is_none());

        let errors = [
            (None, None, "AUTH_FLOW is required"),
            (
                None,
                Some(r#"{"webA,": "email-otp"}"#),
                "\"\" is not an app client id",
            ),
            (
                None,
                Some(r#"{"webA, webB": "email-otp"}"#),
                "\" webB\" is not an app client id",
            ),
            (
                None,
                Some(r#"{"webA,webB": "email-otp", "webB": "signed-token"}"#),
                "\"webB\" is named twice",
            ),
            (
                None,
                Some(r#"{"webA,webA": "email-otp"}"#),
                "\"webA\" is named twice",
            ),
            (None, Some("{}"), "names no app client"),
            (None, Some("[]"), "expected a JSON object"),
            (None, Some("not json"), "expected a JSON object"),
            (
                None,
                Some(r#"{"web 1": "email-otp"}"#),
                "is not an app client id",
            ),
            (
                None,
                Some(r#"{"": "email-otp"}"#),
                "is not an app client id",
            ),
            (None, Some(r#"{"web1": 3}"#), "is not a string"),
            (
                None,
                Some(r#"{"web1": "email-otp,teleport"}"#),
                "unknown step",
            ),
            (Some("nope"), Some(r#"{"web1": "email-otp"}"#), "AUTH_FLOW="),
        ];
        for (flow, flows, want) in errors {
            let message = Flows::from_vars(flow, flows).unwrap_err().to_string();
            assert!(message.contains(want), "{flow:?} {flows:?}: {message}");
            let var = if flow.is_some() || flows.is_none() {
                "AUTH_FLOW"
            } else {
                "AUTH_FLOWS"
            };
            assert!(message.starts_with(var), "{message}");
        }
    }
}
