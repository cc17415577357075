//! A team's self-service policy: what its members may give the keys they make for themselves.
//! Team admins set it; it holds members only (team admins are held to the team's own limits,
//! admins to nothing). A refusal names the key's field and the policy's limit.

use crate::key_spec::{KeySpec, MAX_LIST_LEN, budget, rate_limit};
use crate::money::Micros;
use crate::routing::{Pattern, validate_pattern};
use crate::time::{MS_PER_DAY, Timestamp};
use crate::validate::FieldError;
use serde::{Deserialize, Serialize};

/// The longest expiry a policy may name: ten years.
pub const MAX_EXPIRY_DAYS: u32 = 3650;
/// The most keys per member a policy may allow.
pub const MAX_KEYS_PER_MEMBER: u32 = 10_000;

/// Every field is optional: `None` is "no limit beyond the team's own".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberPolicy {
    /// Model names or patterns members may grant; a member's key names models within them (a
    /// key naming none gets these).
    #[serde(default)]
    pub models: Option<Vec<String>>,
    /// The largest budget of one member key; a key without one gets it.
    #[serde(default)]
    pub max_budget: Option<Micros>,
    #[serde(default)]
    pub max_rpm: Option<i64>,
    #[serde(default)]
    pub max_tpm: Option<i64>,
    #[serde(default)]
    pub max_parallel: Option<i64>,
    /// Keys one member may hold in the team (blocked ones count; deleted ones do not).
    #[serde(default)]
    pub max_keys: Option<u32>,
    /// The expiry a member's key gets when it names none, in days from its creation.
    #[serde(default)]
    pub default_expiry_days: Option<u32>,
    /// The latest expiry a member's key may have, in days from its creation.
    #[serde(default)]
    pub max_expiry_days: Option<u32>,
}

fn fail<T>(field: &str, message: impl Into<String>) -> Result<T, FieldError> {
    Err(FieldError::new(field, message))
}

/// Whether `outer` allows every model `inner` allows: `*` covers everything, a prefix covers
/// the names and the longer prefixes that start with it, and a name covers itself.
pub fn pattern_covers(outer: &str, inner: &str) -> bool {
    match (Pattern::parse(outer), Pattern::parse(inner)) {
        (Pattern::Any, _) => true,
        (Pattern::Prefix(o), Pattern::Prefix(i)) => i.starts_with(o),
        (Pattern::Prefix(_), Pattern::Exact(name)) => Pattern::parse(outer).matches(name).is_some(),
        (Pattern::Exact(o), Pattern::Exact(i)) => o == i,
        _ => false,
    }
}

impl MemberPolicy {
    /// Checks each field and returns the policy tidied (models trimmed).
    pub fn validate(mut self) -> Result<MemberPolicy, FieldError> {
        if let Some(models) = &mut self.models {
            if models.len() > MAX_LIST_LEN {
                return fail("models", format!("at most {MAX_LIST_LEN} entries"));
            }
            for m in models.iter_mut() {
                *m = m.trim().to_owned();
                validate_pattern(m).map_err(|e| {
                    FieldError::new(
                        "models",
                        format!("{:?}: {e}", m.chars().take(80).collect::<String>()),
                    )
                })?;
            }
        }
        budget("max_budget", self.max_budget)?;
        rate_limit("max_rpm", self.max_rpm)?;
        rate_limit("max_tpm", self.max_tpm)?;
        rate_limit("max_parallel", self.max_parallel)?;
        if self.max_keys.is_some_and(|n| n > MAX_KEYS_PER_MEMBER) {
            return fail("max_keys", format!("at most {MAX_KEYS_PER_MEMBER}"));
        }
        for (field, v) in [
            ("default_expiry_days", self.default_expiry_days),
            ("max_expiry_days", self.max_expiry_days),
        ] {
            if v.is_some_and(|d| d == 0 || d > MAX_EXPIRY_DAYS) {
                return fail(field, format!("1 to {MAX_EXPIRY_DAYS} days"));
            }
        }
        if let (Some(d), Some(m)) = (self.default_expiry_days, self.max_expiry_days)
            && d > m
        {
            return fail(
                "default_expiry_days",
                format!("longer than the longest expiry ({m} days)"),
            );
        }
        Ok(self)
    }

    /// Whether anything is limited.
    pub fn is_open(&self) -> bool {
        *self == MemberPolicy::default()
    }

    /// Holds a member's key to this policy, filling what the key leaves open with the policy's
    /// limit (a key without a budget gets the policy's largest; without an expiry, the default
    /// one). `keys_held` is how many keys the member already holds in the team, counting the
    /// key itself when it is being edited (`creating` false). The first refusal names the key's
    /// field and the limit it crosses.
    pub fn hold(
        &self,
        spec: &mut KeySpec,
        keys_held: u64,
        creating: bool,
        now: Timestamp,
    ) -> Result<(), FieldError> {
        if creating
            && let Some(max) = self.max_keys
            && keys_held >= u64::from(max)
        {
            return fail(
                "team_id",
                format!(
                    "you already hold {keys_held} keys in this team, the most its policy \
                     allows ({max}); delete one first"
                ),
            );
        }
        if let Some(allowed) = &self.models {
            match &spec.models {
                None => spec.models = Some(allowed.clone()),
                Some(asked) => {
                    if let Some(m) = asked
                        .iter()
                        .find(|m| !allowed.iter().any(|a| pattern_covers(a, m)))
                    {
                        return fail(
                            "models",
                            format!(
                                "{m:?} is not among the models the team's policy lets members \
                                 grant ({})",
                                allowed.join(", ")
                            ),
                        );
                    }
                }
            }
        }
        if let Some(max) = self.max_budget {
            match spec.max_budget {
                None => spec.max_budget = Some(max),
                Some(b) if b > max => {
                    return fail(
                        "max_budget",
                        format!("exceeds the team's policy: at most {max} per key"),
                    );
                }
                Some(_) => {}
            }
        }
        for (field, max, value) in [
            ("rpm_limit", self.max_rpm, &mut spec.rpm_limit),
            ("tpm_limit", self.max_tpm, &mut spec.tpm_limit),
            ("max_parallel", self.max_parallel, &mut spec.max_parallel),
        ] {
            let Some(max) = max else { continue };
            match *value {
                None => *value = Some(max),
                Some(v) if v > max => {
                    return fail(
                        field,
                        format!("exceeds the team's policy: at most {max} per key"),
                    );
                }
                Some(_) => {}
            }
        }
        let days = |d: u32| now.plus_millis(i64::from(d) * MS_PER_DAY);
        if spec.expires_at.is_none() {
            spec.expires_at = self.default_expiry_days.or(self.max_expiry_days).map(days);
        }
        if let (Some(max), Some(at)) = (self.max_expiry_days, spec.expires_at)
            && at > days(max)
        {
            return fail(
                "expires_at",
                format!("later than the team's policy allows: at most {max} days from now"),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key_spec::MAX_RATE_LIMIT;

    fn now() -> Timestamp {
        Timestamp(1_800_000_000_000)
    }

    #[test]
    fn patterns_cover_what_they_contain() {
        for (outer, inner, covers) in [
            ("*", "anything", true),
            ("*", "anthropic/*", true),
            ("anthropic/*", "anthropic/claude-3", true),
            ("anthropic/*", "anthropic/claude-*", true),
            ("anthropic/*", "anthropic/*", true),
            ("anthropic/*", "anthropic/", false),
            ("anthropic/claude-*", "anthropic/*", false),
            ("anthropic/*", "*", false),
            ("gpt-4o", "gpt-4o", true),
            ("gpt-4o", "gpt-4o-mini", false),
            ("gpt-4o", "*", false),
            ("gpt-*", "gpt-4o", true),
        ] {
            assert_eq!(pattern_covers(outer, inner), covers, "{outer} ⊇ {inner}");
        }
    }

    #[test]
    fn a_policy_checks_its_own_fields() {
        let field = |p: MemberPolicy| p.validate().unwrap_err().field;
        assert_eq!(
            field(MemberPolicy {
                models: Some(vec!["a*b".into()]),
                ..Default::default()
            }),
            "models"
        );
        assert_eq!(
            field(MemberPolicy {
                max_budget: Some(Micros(-1)),
                ..Default::default()
            }),
            "max_budget"
        );
        assert_eq!(
            field(MemberPolicy {
                max_tpm: Some(MAX_RATE_LIMIT + 1),
                ..Default::default()
            }),
            "max_tpm"
        );
        assert_eq!(
            field(MemberPolicy {
                max_keys: Some(MAX_KEYS_PER_MEMBER + 1),
                ..Default::default()
            }),
            "max_keys"
        );
        assert_eq!(
            field(MemberPolicy {
                max_expiry_days: Some(0),
                ..Default::default()
            }),
            "max_expiry_days"
        );
        assert_eq!(
            field(MemberPolicy {
                default_expiry_days: Some(40),
                max_expiry_days: Some(30),
                ..Default::default()
            }),
            "default_expiry_days"
        );
        let tidy = MemberPolicy {
            models: Some(vec!["  gpt-4o ".into()]),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(tidy.models, Some(vec!["gpt-4o".to_owned()]));
        assert!(MemberPolicy::default().is_open());
        assert!(!tidy.is_open());
    }

    fn strict() -> MemberPolicy {
        MemberPolicy {
            models: Some(vec!["gpt-4o-mini".into(), "anthropic/*".into()]),
            max_budget: Some(Micros(5_000_000)),
            max_rpm: Some(60),
            max_tpm: None,
            max_parallel: Some(2),
            max_keys: Some(2),
            default_expiry_days: Some(7),
            max_expiry_days: Some(30),
        }
    }

    #[test]
    fn a_key_left_open_gets_the_policy_limits() {
        let mut spec = KeySpec::default();
        strict().hold(&mut spec, 0, true, now()).unwrap();
        assert_eq!(
            spec.models,
            Some(vec!["gpt-4o-mini".to_owned(), "anthropic/*".to_owned()])
        );
        assert_eq!(spec.max_budget, Some(Micros(5_000_000)));
        assert_eq!(spec.rpm_limit, Some(60));
        assert_eq!(spec.tpm_limit, None);
        assert_eq!(spec.max_parallel, Some(2));
        assert_eq!(spec.expires_at, Some(now().plus_millis(7 * MS_PER_DAY)));
        // An open policy changes nothing.
        let mut open = KeySpec::default();
        MemberPolicy::default()
            .hold(&mut open, 1_000, true, now())
            .unwrap();
        assert_eq!(open, KeySpec::default());
    }

    #[test]
    fn each_limit_refuses_by_name() {
        let refused = |spec: KeySpec, held: u64| {
            let mut spec = spec;
            let e = strict().hold(&mut spec, held, true, now()).unwrap_err();
            (e.field, e.message)
        };
        let (f, m) = refused(KeySpec::default(), 2);
        assert_eq!(f, "team_id");
        assert!(m.contains("(2)"), "{m}");
        let (f, m) = refused(
            KeySpec {
                models: Some(vec!["gpt-4o".into()]),
                ..Default::default()
            },
            0,
        );
        assert_eq!(f, "models");
        assert!(m.contains("\"gpt-4o\""), "{m}");
        let (f, m) = refused(
            KeySpec {
                max_budget: Some(Micros(5_000_001)),
                ..Default::default()
            },
            0,
        );
        assert_eq!(f, "max_budget");
        assert!(m.contains("$5.00"), "{m}");
        assert_eq!(
            refused(
                KeySpec {
                    rpm_limit: Some(61),
                    ..Default::default()
                },
                0
            )
            .0,
            "rpm_limit"
        );
        assert_eq!(
            refused(
                KeySpec {
                    max_parallel: Some(3),
                    ..Default::default()
                },
                0
            )
            .0,
            "max_parallel"
        );
        assert_eq!(
            refused(
                KeySpec {
                    expires_at: Some(now().plus_millis(31 * MS_PER_DAY)),
                    ..Default::default()
                },
                0
            )
            .0,
            "expires_at"
        );
        // At the limits exactly, and within the models: allowed.
        let mut ok = KeySpec {
            models: Some(vec!["anthropic/claude-3".into(), "gpt-4o-mini".into()]),
            max_budget: Some(Micros(5_000_000)),
            rpm_limit: Some(60),
            tpm_limit: Some(1_000_000),
            expires_at: Some(now().plus_millis(30 * MS_PER_DAY)),
            ..Default::default()
        };
        strict().hold(&mut ok, 1, true, now()).unwrap();
        // An edit does not count keys: the member's key is one of those held.
        let mut edit = KeySpec::default();
        strict().hold(&mut edit, 2, false, now()).unwrap();
    }
}
