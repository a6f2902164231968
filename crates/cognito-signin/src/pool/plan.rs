//! What `pool attach` and `pool detach` change: our functions into (or out of) the pool's
//! trigger slots, nothing else. Pure: a plan is computed from the pool's `LambdaConfig` and
//! tags, shown, and only then applied.
//!
//! Where the previous occupants are recorded: in the pool's own tags, one per slot we took
//! (`custom-auth:before:<slot>`, its old function or `none`). The record then travels with the
//! pool: any operator can detach from any machine, the console shows it, and it is written in
//! the same `UpdateUserPool` request that takes the slot, so a slot is never ours without it.

use std::collections::HashMap;

use aws_sdk_cognitoidentityprovider::types::{
    LambdaConfigType, PreTokenGenerationLambdaVersionType, PreTokenGenerationVersionConfigType,
};

/// The tag-key prefix of the record of each slot's previous occupant.
pub const RECORD_PREFIX: &str = "custom-auth:before:";
/// The record of a slot that was empty.
const EMPTY: &str = "none";

/// A trigger slot of the pool that our stack fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Define,
    Create,
    Verify,
    /// Pre Token Generation, at event version 2 (the claims need it).
    PreToken,
}

impl Slot {
    /// The slot's name in `LambdaConfig`.
    pub fn name(self) -> &'static str {
        match self {
            Slot::Define => "DefineAuthChallenge",
            Slot::Create => "CreateAuthChallenge",
            Slot::Verify => "VerifyAuthChallengeResponse",
            Slot::PreToken => "PreTokenGeneration",
        }
    }

    fn record_key(self) -> String {
        format!("{RECORD_PREFIX}{}", self.name())
    }

    /// The function in the slot: for Pre Token Generation, `V2_0 <arn>` (the version matters:
    /// event version 1 is another contract), or the legacy field's ARN alone.
    pub fn occupant(self, config: &LambdaConfigType) -> Option<String> {
        match self {
            Slot::Define => config.define_auth_challenge.clone(),
            Slot::Create => config.create_auth_challenge.clone(),
            Slot::Verify => config.verify_auth_challenge_response.clone(),
            Slot::PreToken => match &config.pre_token_generation_config {
                Some(c) => Some(format!("{} {}", c.lambda_version.as_str(), c.lambda_arn)),
                None => config.pre_token_generation.clone(),
            },
        }
    }

    /// Puts `occupant` (as `occupant` spells it) into the slot, or empties it.
    fn put(self, config: &mut LambdaConfigType, occupant: Option<&str>) {
        match self {
            Slot::Define => config.define_auth_challenge = occupant.map(str::to_owned),
            Slot::Create => config.create_auth_challenge = occupant.map(str::to_owned),
            Slot::Verify => config.verify_auth_challenge_response = occupant.map(str::to_owned),
            Slot::PreToken => {
                let (version, arn) = match occupant.map(|o| o.split_once(' ')) {
                    Some(Some((version, arn))) => (Some(version), Some(arn)),
                    Some(None) => (None, occupant),
                    None => (None, None),
                };
                // Cognito wants the legacy field equal to the configuration's ARN.
                config.pre_token_generation = arn.map(str::to_owned);
                config.pre_token_generation_config = match (version, arn) {
                    (Some(version), Some(arn)) => PreTokenGenerationVersionConfigType::builder()
                        .lambda_version(PreTokenGenerationLambdaVersionType::from(version))
                        .lambda_arn(arn)
                        .build()
                        .ok(),
                    _ => None,
                };
            }
        }
    }
}

/// Our function for `slot`, as `Slot::occupant` spells it.
pub fn ours(slot: Slot, arn: &str) -> String {
    match slot {
        Slot::PreToken => format!("V2_0 {arn}"),
        _ => arn.to_owned(),
    }
}

/// One slot's change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub slot: Slot,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// What a command will do to the pool.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// Tags to add (the records of what the slots held).
    pub record: Vec<(String, String)>,
    /// Record tags to remove (detach).
    pub forget: Vec<String>,
    /// Slots left as they are, and why (for the operator to read).
    pub notes: Vec<String>,
}

impl Plan {
    /// The pool's `LambdaConfig` with the plan's changes and nothing else.
    pub fn lambda_config(&self, current: &LambdaConfigType) -> LambdaConfigType {
        let mut config = current.clone();
        for change in &self.changes {
            change.slot.put(&mut config, change.to.as_deref());
        }
        config
    }

    /// The pool's tags with the plan's record added and the forgotten ones removed.
    pub fn tags(&self, current: &HashMap<String, String>) -> HashMap<String, String> {
        let mut tags = current.clone();
        tags.extend(self.record.iter().cloned());
        for key in &self.forget {
            tags.remove(key);
        }
        tags
    }
}

/// Why attach refuses.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("{slot} holds {occupant}: pass --replace to put ours there (detach puts it back)")]
    Occupied {
        slot: &'static str,
        occupant: String,
    },
}

/// Attach: each slot to our function. A slot holding another function is refused unless
/// `replace`; a slot already ours is left (and its record kept, so a second attach cannot
/// record our own function as what was there before).
pub fn attach(
    current: &LambdaConfigType,
    tags: &HashMap<String, String>,
    wanted: &[(Slot, String)],
    replace: bool,
) -> Result<Plan, Refused> {
    let mut plan = Plan::default();
    for (slot, arn) in wanted {
        let want = ours(*slot, arn);
        let occupant = slot.occupant(current);
        if occupant.as_deref() == Some(want.as_str()) {
            plan.notes.push(format!("{} is ours already", slot.name()));
            continue;
        }
        if let Some(other) = &occupant
            && !replace
        {
            return Err(Refused::Occupied {
                slot: slot.name(),
                occupant: other.clone(),
            });
        }
        if !tags.contains_key(&slot.record_key()) {
            let before = occupant.clone().unwrap_or_else(|| EMPTY.to_owned());
            plan.record.push((slot.record_key(), before));
        }
        plan.changes.push(Change {
            slot: *slot,
            from: occupant,
            to: Some(want),
        });
    }
    Ok(plan)
}

/// Detach: each slot holding our function gets back what the record says was there (or
/// nothing); a slot someone has since given another function is left as it is.
pub fn detach(
    current: &LambdaConfigType,
    tags: &HashMap<String, String>,
    wanted: &[(Slot, String)],
) -> Plan {
    let mut plan = Plan::default();
    for (slot, arn) in wanted {
        let want = ours(*slot, arn);
        let occupant = slot.occupant(current);
        let record = tags.get(&slot.record_key());
        match occupant {
            Some(o) if o == want => {
                let before = record.filter(|r| r.as_str() != EMPTY).cloned();
                plan.changes.push(Change {
                    slot: *slot,
                    from: Some(o),
                    to: before,
                });
            }
            Some(other) => plan.notes.push(format!(
                "{} holds {other}, not ours: left as it is",
                slot.name()
            )),
            None => plan.notes.push(format!("{} is empty", slot.name())),
        }
        if record.is_some() {
            plan.forget.push(slot.record_key());
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFINE: &str = "arn:aws:lambda:us-east-1:1:function:s-define";
    const CREATE: &str = "arn:aws:lambda:us-east-1:1:function:s-create";
    const VERIFY: &str = "arn:aws:lambda:us-east-1:1:function:s-verify";
    const PRE: &str = "arn:aws:lambda:us-east-1:1:function:s-pre-token";
    const THEIRS: &str = "arn:aws:lambda:us-east-1:1:function:their-define";
    const SIGN_UP: &str = "arn:aws:lambda:us-east-1:1:function:their-pre-sign-up";

    fn wanted(pre_token: bool) -> Vec<(Slot, String)> {
        let mut w = vec![
            (Slot::Define, DEFINE.to_owned()),
            (Slot::Create, CREATE.to_owned()),
            (Slot::Verify, VERIFY.to_owned()),
        ];
        if pre_token {
            w.push((Slot::PreToken, PRE.to_owned()));
        }
        w
    }

    fn theirs() -> LambdaConfigType {
        LambdaConfigType::builder()
            .pre_sign_up(SIGN_UP)
            .kms_key_id("arn:aws:kms:us-east-1:1:key/k")
            .build()
    }

    #[test]
    fn attach_fills_our_slots_keeps_the_rest_and_detach_restores() {
        let pool = theirs();
        let tags = HashMap::from([("team".to_owned(), "identity".to_owned())]);
        let plan = attach(&pool, &tags, &wanted(true), false).unwrap();
        assert_eq!(plan.changes.len(), 4);
        assert!(plan.changes.iter().all(|c| c.from.is_none()));
        let attached = plan.lambda_config(&pool);
        assert_eq!(attached.define_auth_challenge.as_deref(), Some(DEFINE));
        assert_eq!(
            attached.verify_auth_challenge_response.as_deref(),
            Some(VERIFY)
        );
        assert_eq!(attached.pre_token_generation.as_deref(), Some(PRE));
        let v2 = attached.pre_token_generation_config.as_ref().unwrap();
        assert_eq!(
            (v2.lambda_version.as_str(), v2.lambda_arn.as_str()),
            ("V2_0", PRE)
        );
        assert_eq!(attached.pre_sign_up.as_deref(), Some(SIGN_UP));
        assert_eq!(attached.kms_key_id, pool.kms_key_id);
        let tagged = plan.tags(&tags);
        assert_eq!(tagged["team"], "identity");
        assert_eq!(tagged["custom-auth:before:DefineAuthChallenge"], "none");
        assert_eq!(tagged.len(), 5);

        // Attaching again changes nothing and records nothing.
        let again = attach(&attached, &tagged, &wanted(true), false).unwrap();
        assert!(again.changes.is_empty() && again.record.is_empty());

        // Detach: back to the pool as it was, tags too.
        let back = detach(&attached, &tagged, &wanted(true));
        assert_eq!(back.lambda_config(&attached), pool);
        assert_eq!(back.tags(&tagged), tags);
    }

    #[test]
    fn an_occupied_slot_is_refused_unless_replaced_and_comes_back_on_detach() {
        let mut pool = theirs();
        pool.define_auth_challenge = Some(THEIRS.to_owned());
        let refused = attach(&pool, &HashMap::new(), &wanted(false), false).unwrap_err();
        assert!(refused.to_string().contains(THEIRS), "{refused}");
        assert!(refused.to_string().contains("DefineAuthChallenge"));

        let plan = attach(&pool, &HashMap::new(), &wanted(false), true).unwrap();
        let attached = plan.lambda_config(&pool);
        let tags = plan.tags(&HashMap::new());
        assert_eq!(tags["custom-auth:before:DefineAuthChallenge"], THEIRS);
        let back = detach(&attached, &tags, &wanted(false));
        assert_eq!(back.lambda_config(&attached), pool);
        assert!(back.tags(&tags).is_empty());
    }

    #[test]
    fn a_version_1_pre_token_trigger_is_occupied_and_restored_with_its_version() {
        let mut pool = theirs();
        pool.pre_token_generation = Some(THEIRS.to_owned());
        pool.pre_token_generation_config = Some(
            PreTokenGenerationVersionConfigType::builder()
                .lambda_version(PreTokenGenerationLambdaVersionType::V10)
                .lambda_arn(THEIRS)
                .build()
                .unwrap(),
        );
        assert!(attach(&pool, &HashMap::new(), &wanted(true), false).is_err());
        let plan = attach(&pool, &HashMap::new(), &wanted(true), true).unwrap();
        let tags = plan.tags(&HashMap::new());
        assert_eq!(
            tags["custom-auth:before:PreTokenGeneration"],
            format!("V1_0 {THEIRS}")
        );
        let attached = plan.lambda_config(&pool);
        let back = detach(&attached, &tags, &wanted(true));
        assert_eq!(back.lambda_config(&attached), pool);
    }

    #[test]
    fn detach_leaves_a_slot_someone_else_took_since() {
        let pool = theirs();
        let plan = attach(&pool, &HashMap::new(), &wanted(false), false).unwrap();
        let mut attached = plan.lambda_config(&pool);
        let tags = plan.tags(&HashMap::new());
        attached.create_auth_challenge = Some(THEIRS.to_owned());
        let back = detach(&attached, &tags, &wanted(false));
        let after = back.lambda_config(&attached);
        assert_eq!(after.create_auth_challenge.as_deref(), Some(THEIRS));
        assert_eq!(after.define_auth_challenge, None);
        assert!(
            back.notes.iter().any(|n| n.contains("not ours")),
            "{:?}",
            back.notes
        );
        assert!(back.tags(&tags).is_empty());
    }
}
