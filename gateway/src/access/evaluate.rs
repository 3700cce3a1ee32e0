//! Policy evaluation within one account, as AWS documents it:
//!
//! 1. An explicit `Deny` in any applicable policy (identity or bucket) decides: denied.
//! 2. Otherwise an `Allow` in the caller's identity policies, or in the bucket policy for this
//!    principal, decides: allowed.
//! 3. Otherwise the implicit deny.
//!
//! An anonymous caller has no identity policies: only a bucket policy naming `*` can let it in.
//!
//! A statement applies when its principal (bucket policies only), action, resource and every
//! condition match. Actions compare case-insensitively and resources case-sensitively, both
//! with `*` and `?` wildcards; `NotAction`, `NotResource` and `NotPrincipal` match what their
//! list does not. `${aws:username}` and the other `${...}` variables in resources and condition
//! values are replaced by the request's context values first (an unknown one matches nothing).

use s3s_policy::model::{
    ActionRule, Effect, OneOrMore, Policy, Principal as PolicyPrincipal, PrincipalRule,
    ResourceRule, Statement, WildcardOneOrMore,
};

use super::condition::{glob, holds, is_known_operator};
use super::request::{AccessRequest, Principal};

/// The outcome for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// A matching `Deny` statement: nothing can override it.
    ExplicitDeny,
    /// Nothing allowed it.
    ImplicitDeny,
}

impl Decision {
    pub fn allowed(self) -> bool {
        self == Self::Allow
    }
}

/// Which kind of policy a statement belongs to: an identity policy never names a principal
/// (the user it is attached to is the principal); a bucket policy always does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Identity,
    Bucket,
}

/// What one policy says of `req`: `Deny` if a matching statement denies, else `Allow` if one
/// allows, else nothing.
pub fn policy_effect(policy: &Policy, kind: PolicyKind, req: &AccessRequest<'_>) -> Option<Effect> {
    let mut allowed = false;
    for statement in policy.statement.as_slice() {
        if !statement_applies(statement, kind, req) {
            continue;
        }
        match statement.effect {
            Effect::Deny => return Some(Effect::Deny),
            Effect::Allow => allowed = true,
        }
    }
    allowed.then_some(Effect::Allow)
}

/// The decision for `req` given the caller's identity policies and the bucket's policy.
pub fn decide(identity: &[&Policy], bucket: Option<&Policy>, req: &AccessRequest<'_>) -> Decision {
    let identity: &[&Policy] = match req.principal {
        // Nobody's identity policies speak for an anonymous caller.
        Principal::Anonymous => &[],
        Principal::User(_) => identity,
    };
    let effects = identity
        .iter()
        .map(|p| policy_effect(p, PolicyKind::Identity, req))
        .chain(bucket.map(|p| policy_effect(p, PolicyKind::Bucket, req)));
    let mut allowed = false;
    for effect in effects {
        match effect {
            Some(Effect::Deny) => return Decision::ExplicitDeny,
            Some(Effect::Allow) => allowed = true,
            None => {}
        }
    }
    match allowed {
        true => Decision::Allow,
        false => Decision::ImplicitDeny,
    }
}

fn statement_applies(s: &Statement, kind: PolicyKind, req: &AccessRequest<'_>) -> bool {
    let principal_ok = match (kind, &s.principal) {
        (PolicyKind::Identity, None) => true,
        (PolicyKind::Bucket, Some(rule)) => principal_matches(rule, req.principal),
        // A principal where none belongs, or none where one must be: the statement is void.
        _ => false,
    };
    principal_ok
        && action_matches(&s.action, req.action)
        && resource_matches(&s.resource, req)
        && conditions_hold(s, req)
}

fn principal_matches(rule: &PrincipalRule, who: &Principal) -> bool {
    match rule {
        PrincipalRule::Principal(p) => names(p, who),
        PrincipalRule::NotPrincipal(p) => !names(p, who),
    }
}

/// Whether policy principal `p` names `who`: `*` (or `{"AWS": "*"}`) names everyone, anonymous
/// callers included; a user is named by its ARN or its bare name under `AWS`.
fn names(p: &PolicyPrincipal, who: &Principal) -> bool {
    let map = match p {
        PolicyPrincipal::Wildcard => return true,
        PolicyPrincipal::Map(map) => map,
    };
    let Some(aws) = map
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("AWS"))
        .map(|(_, v)| v)
    else {
        return false;
    };
    let entries: &[String] = match aws {
        OneOrMore::One(one) => std::slice::from_ref(one),
        OneOrMore::More(more) => more,
    };
    entries.iter().any(|entry| match who {
        _ if entry == "*" => true,
        Principal::Anonymous => false,
        Principal::User(name) => entry == name || Some(entry) == who.arn().as_ref(),
    })
}

fn listed(rule: &WildcardOneOrMore<String>) -> Option<&[String]> {
    match rule {
        WildcardOneOrMore::Wildcard => None,
        WildcardOneOrMore::One(one) => Some(std::slice::from_ref(one)),
        WildcardOneOrMore::More(more) => Some(more),
    }
}

fn action_matches(rule: &ActionRule, action: &str) -> bool {
    let action = action.to_ascii_lowercase();
    let any = |list: &WildcardOneOrMore<String>| match listed(list) {
        None => true,
        Some(patterns) => patterns
            .iter()
            .any(|p| glob(p.to_ascii_lowercase().as_bytes(), action.as_bytes())),
    };
    match rule {
        ActionRule::Action(list) => any(list),
        ActionRule::NotAction(list) => !any(list),
    }
}

fn resource_matches(rule: &ResourceRule, req: &AccessRequest<'_>) -> bool {
    let any = |list: &WildcardOneOrMore<String>| match listed(list) {
        None => true,
        Some(patterns) => patterns.iter().any(|p| match substitute(p, req) {
            Some(pattern) => glob(pattern.as_bytes(), req.resource.as_bytes()),
            None => false,
        }),
    };
    match rule {
        ResourceRule::Resource(list) => any(list),
        ResourceRule::NotResource(list) => !any(list),
    }
}

fn conditions_hold(s: &Statement, req: &AccessRequest<'_>) -> bool {
    let Some(block) = &s.condition else {
        return true;
    };
    block.0.iter().all(|(operator, keys)| {
        keys.0.iter().all(|(key, values)| {
            let values: Option<Vec<String>> = values
                .as_slice()
                .iter()
                .map(|v| substitute(v, req))
                .collect();
            match values {
                Some(values) => holds(operator, key, &values, req.context),
                None => false,
            }
        })
    })
}

/// `text` with each `${key}` replaced by the request's (single) value of that condition key,
/// and `${*}`, `${?}`, `${$}` by the literal character; `None` if a key is missing.
fn substitute(text: &str, req: &AccessRequest<'_>) -> Option<String> {
    if !text.contains("${") {
        return Some(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        let name = &after[..end];
        match name {
            "*" | "?" | "$" => out.push_str(name),
            "aws:username" => match req.principal {
                Principal::User(user) => out.push_str(user),
                Principal::Anonymous => return None,
            },
            _ => out.push_str(req.context.get(name)?.first()?),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Whether bucket policy `policy` is public, as Block Public Access judges it: an `Allow`
/// statement names everyone (anonymous callers included) and no condition pins it to fixed
/// callers (a CIDR narrower than `/0` for `aws:SourceIp`, or exact values of the account, VPC,
/// source or principal keys). Conditions on anything else (`s3:prefix`, a date) do not make
/// a grant to everyone private.
pub fn is_public(policy: &Policy) -> bool {
    policy.statement.as_slice().iter().any(|s| {
        s.effect == Effect::Allow
            && s.principal
                .as_ref()
                .is_some_and(|rule| principal_matches(rule, &Principal::Anonymous))
            && !s.condition.as_ref().is_some_and(|block| {
                block.0.iter().any(|(operator, keys)| {
                    keys.0
                        .iter()
                        .any(|(key, values)| pins_callers(operator, key, values.as_slice()))
                })
            })
    })
}

/// Whether condition `operator` on `key` with `values` limits a statement to fixed callers.
fn pins_callers(operator: &str, key: &str, values: &[String]) -> bool {
    const FIXED: [&str; 9] = [
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceowner",
        "aws:principalaccount",
        "aws:principalorgid",
        "aws:principalarn",
        "aws:userid",
    ];
    let operator = operator.to_ascii_lowercase();
    let key = key.to_ascii_lowercase();
    // A negated or "if exists" test, or a set test, lets callers without the value through.
    let positive =
        !operator.contains("not") && !operator.ends_with("ifexists") && !operator.contains(':');
    let exact = |v: &String| !v.is_empty() && !v.contains('*') && !v.contains('?');
    positive
        && !values.is_empty()
        && match key.as_str() {
            "aws:sourceip" => {
                operator == "ipaddress" && values.iter().all(|v| exact(v) && !v.ends_with("/0"))
            }
            k if FIXED.contains(&k) => values.iter().all(exact),
            _ => false,
        }
}

/// Checks a policy before it is stored: the statements fit `kind` (a principal in every bucket
/// policy statement, in no identity policy statement), actions are S3's, resources are S3 ARNs,
/// and every condition operator is one Floe evaluates. Returns why not.
pub fn validate(policy: &Policy, kind: PolicyKind) -> Result<(), String> {
    for (n, s) in policy.statement.as_slice().iter().enumerate() {
        let at = |why: &str| Err(format!("statement {}: {why}", n + 1));
        match (kind, &s.principal) {
            (PolicyKind::Identity, Some(_)) => return at("an identity policy names no principal"),
            (PolicyKind::Bucket, None) => return at("a bucket policy must name a principal"),
            _ => {}
        }
        let actions = match &s.action {
            ActionRule::Action(a) | ActionRule::NotAction(a) => listed(a).unwrap_or_default(),
        };
        if let Some(bad) = actions
            .iter()
            .find(|a| *a != "*" && !a.to_ascii_lowercase().starts_with("s3:"))
        {
            return at(&format!("action {bad:?} is not an S3 action"));
        }
        let resources = match &s.resource {
            ResourceRule::Resource(r) | ResourceRule::NotResource(r) => {
                listed(r).unwrap_or_default()
            }
        };
        if let Some(bad) = resources
            .iter()
            .find(|r| *r != "*" && !r.starts_with("arn:aws:s3:::"))
        {
            return at(&format!("resource {bad:?} is not an S3 ARN"));
        }
        if let Some(block) = &s.condition
            && let Some(bad) = block.0.keys().find(|op| !is_known_operator(op))
        {
            return at(&format!("unknown condition operator {bad:?}"));
        }
    }
    Ok(())
}
