//! What Diagnose can tell of an API's access token without sending anything: its claims when it is a JWT, and
//! whether it (or the scopes the token endpoint granted) lets the app send mail. Pure, tested on fixtures.

use crate::api::Provider;
use base64::Engine;
use serde_json::Value as Json;

/// Microsoft Graph's application permission and delegated scope for `sendMail`.
pub const GRAPH_MAIL_SEND: &str = "Mail.Send";
/// The Gmail API scope the plugin asks for; any of [`GMAIL_SEND_SCOPES`] lets `messages.send` through.
pub const GMAIL_SEND: &str = "https://www.googleapis.com/auth/gmail.send";
/// The scopes Google documents for `users.messages.send`.
const GMAIL_SEND_SCOPES: &[&str] =
    &[GMAIL_SEND, "https://www.googleapis.com/auth/gmail.compose", "https://www.googleapis.com/auth/gmail.modify", "https://mail.google.com/"];
/// A delegated Graph scope may come back from the token endpoint with the resource in front of it.
const GRAPH_RESOURCE: &str = "https://graph.microsoft.com/";
/// The audiences of a token Microsoft Graph takes: its URL and its application id.
const GRAPH_AUDIENCES: &[&str] = &["https://graph.microsoft.com", "https://graph.microsoft.com/", "00000003-0000-0000-c000-000000000000"];

/// The claims of a JWT access token that Diagnose reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims {
    /// Expiry, seconds since the epoch.
    pub exp: Option<i64>,
    pub audience: Option<String>,
    /// An app-only token's application permissions (Microsoft's `roles`).
    pub roles: Option<Vec<String>>,
    /// A delegated token's scopes (Microsoft's `scp`, or `scope`), split on spaces.
    pub scopes: Option<Vec<String>>,
}

/// The claims of `token` when it is a JWT (three dot-separated base64url parts whose middle one is a JSON object);
/// `None` for an opaque token (Google's, Microsoft's for personal accounts).
///
/// Only the payload is decoded and the signature is not checked: Diagnose reads the token the site will present,
/// it does not accept it. The API checks the signature on each request, and checking it here would need the
/// issuer's signing keys fetched from the network, for nothing a site owner can act on.
pub fn jwt_claims(token: &str) -> Option<Claims> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let Ok(Json::Object(claims)) = serde_json::from_slice::<Json>(&bytes) else { return None };
    let strings = |v: &Json| match v {
        Json::Array(items) => Some(items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect()),
        Json::String(s) => Some(s.split_whitespace().map(str::to_string).collect()),
        _ => None,
    };
    Some(Claims {
        exp: claims.get("exp").and_then(Json::as_i64),
        audience: claims.get("aud").and_then(|a| a.as_str().map(str::to_string).or_else(|| a.get(0)?.as_str().map(str::to_string))),
        roles: claims.get("roles").and_then(strings),
        scopes: claims.get("scp").or_else(|| claims.get("scope")).and_then(strings),
    })
}

/// What is wrong with a token before it is used, or `None`.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenProblem {
    /// `exp` is past: seconds ago.
    Expired(i64),
    /// A JWT for another API than Microsoft Graph (for example Exchange's SMTP scope): its audience.
    WrongAudience(String),
}

impl TokenProblem {
    pub fn text(&self) -> String {
        match self {
            TokenProblem::Expired(ago) => format!("the access token expired {} ago", duration(*ago)),
            TokenProblem::WrongAudience(aud) => format!("the access token is for {aud}, not for Microsoft Graph"),
        }
    }
}

/// The token's own problem at `now` (seconds since the epoch), for `provider`.
pub fn token_problem(provider: Provider, claims: &Claims, now: i64) -> Option<TokenProblem> {
    if let Some(exp) = claims.exp.filter(|exp| *exp <= now) {
        return Some(TokenProblem::Expired(now - exp));
    }
    match (&claims.audience, provider) {
        (Some(aud), Provider::Graph) if !GRAPH_AUDIENCES.iter().any(|a| a.eq_ignore_ascii_case(aud)) => Some(TokenProblem::WrongAudience(aud.clone())),
        _ => None,
    }
}

/// Which kind of grant the permission was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// An app-only token (client credentials): application permissions in `roles`.
    AppOnly,
    /// A token from a sign-in: delegated scopes, from the token's `scp` or from what the token endpoint returned.
    Delegated,
}

impl Grant {
    pub fn as_str(self) -> &'static str {
        match self {
            Grant::AppOnly => "app-only",
            Grant::Delegated => "delegated",
        }
    }
}

/// The permission check's finding.
#[derive(Debug, Clone, PartialEq)]
pub enum Permission {
    /// The permission that lets the app send was found.
    Granted { grant: Grant, found: String },
    /// It was not: what the token has, and what it needs.
    Missing { grant: Grant, have: Vec<String>, need: &'static str },
    /// Nothing to read: an opaque token and no scopes given.
    Unknown,
}

/// Whether the token lets `provider` send: an app-only token's `roles`, else a delegated token's scopes (its `scp`
/// claim, else `given`, the scopes the token endpoint returned).
pub fn judge_permission(provider: Provider, claims: Option<&Claims>, given: &[String]) -> Permission {
    let (grant, have) = match claims {
        Some(Claims { roles: Some(roles), scopes: None, .. }) => (Grant::AppOnly, roles.clone()),
        Some(Claims { scopes: Some(scopes), .. }) => (Grant::Delegated, scopes.clone()),
        _ if !given.is_empty() => (Grant::Delegated, given.to_vec()),
        _ => return Permission::Unknown,
    };
    let (need, found) = match provider {
        Provider::Graph => (GRAPH_MAIL_SEND, have.iter().find(|s| s.strip_prefix(GRAPH_RESOURCE).unwrap_or(s).eq_ignore_ascii_case(GRAPH_MAIL_SEND))),
        Provider::Gmail => (GMAIL_SEND, have.iter().find(|s| GMAIL_SEND_SCOPES.contains(&s.as_str()))),
        Provider::Ses | Provider::Mailgun => return Permission::Unknown,
    };
    match found {
        Some(found) => Permission::Granted { grant, found: found.clone() },
        None => Permission::Missing { grant, have, need },
    }
}

/// The finding in words, for the step's detail.
pub fn permission_text(provider: Provider, permission: &Permission) -> String {
    let listed = |have: &[String]| if have.is_empty() { "none".to_string() } else { have.join(" ") };
    match permission {
        Permission::Granted { grant: Grant::AppOnly, found } => format!("the app-only token has the application permission {found}"),
        Permission::Granted { grant: Grant::Delegated, found } => format!("the delegated token has the scope {found}"),
        Permission::Missing { grant: Grant::AppOnly, have, need } => {
            format!("the app-only token's roles ({}) do not include the application permission {need}", listed(have))
        }
        Permission::Missing { grant: Grant::Delegated, have, need } => format!("the token's scopes ({}) do not include {need}", listed(have)),
        Permission::Unknown => {
            format!("the token is opaque and no token_scopes were given, so whether it may send through {} shows only when sending", provider.title())
        }
    }
}

/// A span of seconds in the largest unit that says it: "40 s", "12 min", "3 h", "2 days".
pub fn duration(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{} min", s / 60),
        s if s < 2 * 86_400 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jwt(claims: Json) -> String {
        let part = |v: &Json| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.c2lnbmF0dXJl", part(&json!({ "typ": "JWT", "alg": "RS256" })), part(&claims))
    }

    #[test]
    fn a_jwt_gives_its_claims_and_an_opaque_token_none() {
        let app = jwt(json!({ "aud": "https://graph.microsoft.com", "exp": 1_800_000_000, "roles": ["Mail.Send", "User.Read.All"], "idtyp": "app" }));
        let claims = jwt_claims(&app).unwrap();
        assert_eq!(claims.roles, Some(vec!["Mail.Send".to_string(), "User.Read.All".to_string()]));
        assert_eq!((claims.exp, claims.audience.as_deref(), claims.scopes), (Some(1_800_000_000), Some("https://graph.microsoft.com"), None));
        let delegated = jwt_claims(&jwt(json!({ "aud": ["00000003-0000-0000-c000-000000000000"], "scp": "Mail.Send offline_access" }))).unwrap();
        assert_eq!(delegated.scopes, Some(vec!["Mail.Send".to_string(), "offline_access".to_string()]));
        assert_eq!(delegated.audience.as_deref(), Some("00000003-0000-0000-c000-000000000000"));
        // Google's opaque tokens, a token with a dot that is not a JWT, a payload that is not a JSON object.
        for opaque in ["ya29.a0AfB_byC", "EwA.bm90IGpzb24.x", "eyJ0eXAiOiJKV1Qi.abc", "a.W10.b", "a.b.c.d"] {
            assert_eq!(jwt_claims(opaque), None, "{opaque}");
        }
    }

    #[test]
    fn an_expired_token_or_one_for_another_api_is_a_problem() {
        let claims = |exp, aud: &str| Claims { exp: Some(exp), audience: Some(aud.to_string()), ..Claims::default() };
        assert_eq!(token_problem(Provider::Graph, &claims(1000, "https://graph.microsoft.com"), 4600), Some(TokenProblem::Expired(3600)));
        assert_eq!(TokenProblem::Expired(3600).text(), "the access token expired 60 min ago");
        assert_eq!(token_problem(Provider::Graph, &claims(5000, "00000003-0000-0000-c000-000000000000"), 4600), None);
        let smtp = claims(5000, "https://outlook.office365.com");
        assert_eq!(token_problem(Provider::Graph, &smtp, 4600), Some(TokenProblem::WrongAudience("https://outlook.office365.com".into())));
        assert_eq!(token_problem(Provider::Gmail, &smtp, 4600), None);
        assert_eq!(token_problem(Provider::Graph, &Claims::default(), 4600), None);
    }

    #[test]
    fn graph_needs_mail_send_as_a_role_or_a_scope() {
        let roles = |r: &[&str]| Claims { roles: Some(r.iter().map(|s| s.to_string()).collect()), ..Claims::default() };
        let granted = judge_permission(Provider::Graph, Some(&roles(&["Mail.Send"])), &[]);
        assert_eq!(granted, Permission::Granted { grant: Grant::AppOnly, found: "Mail.Send".into() });
        assert_eq!(permission_text(Provider::Graph, &granted), "the app-only token has the application permission Mail.Send");
        let missing = judge_permission(Provider::Graph, Some(&roles(&["Mail.Read"])), &[]);
        assert_eq!(missing, Permission::Missing { grant: Grant::AppOnly, have: vec!["Mail.Read".into()], need: "Mail.Send" });
        assert_eq!(permission_text(Provider::Graph, &missing), "the app-only token's roles (Mail.Read) do not include the application permission Mail.Send");
        assert!(permission_text(Provider::Graph, &judge_permission(Provider::Graph, Some(&roles(&[])), &[])).contains("roles (none)"));
        // Delegated: the token's scp, else the scopes the token endpoint returned, with or without the resource.
        let scp = Claims { scopes: Some(vec!["User.Read".into()]), ..Claims::default() };
        assert!(matches!(judge_permission(Provider::Graph, Some(&scp), &["Mail.Send".into()]), Permission::Missing { grant: Grant::Delegated, .. }));
        let given = ["https://graph.microsoft.com/Mail.Send".to_string(), "offline_access".to_string()];
        assert!(matches!(judge_permission(Provider::Graph, None, &given), Permission::Granted { grant: Grant::Delegated, .. }));
        let smtp_only = ["https://outlook.office.com/SMTP.Send".to_string()];
        let missing = judge_permission(Provider::Graph, None, &smtp_only);
        assert_eq!(permission_text(Provider::Graph, &missing), "the token's scopes (https://outlook.office.com/SMTP.Send) do not include Mail.Send");
        assert_eq!(judge_permission(Provider::Graph, None, &[]), Permission::Unknown);
        assert!(permission_text(Provider::Graph, &Permission::Unknown).contains("no token_scopes were given"));
    }

    #[test]
    fn gmail_needs_gmail_send_or_a_broader_mail_scope() {
        for scope in [GMAIL_SEND, "https://mail.google.com/", "https://www.googleapis.com/auth/gmail.compose"] {
            assert!(matches!(judge_permission(Provider::Gmail, None, &[scope.to_string(), "openid".into()]), Permission::Granted { .. }), "{scope}");
        }
        let readonly = ["https://www.googleapis.com/auth/gmail.readonly".to_string()];
        assert_eq!(
            judge_permission(Provider::Gmail, None, &readonly),
            Permission::Missing { grant: Grant::Delegated, have: readonly.to_vec(), need: GMAIL_SEND }
        );
        assert_eq!(judge_permission(Provider::Ses, None, &readonly), Permission::Unknown);
    }

    #[test]
    fn durations_read_in_their_unit() {
        assert_eq!([duration(40), duration(720), duration(3 * 3600), duration(5 * 86_400)], ["40 s", "12 min", "3 h", "5 days"]);
    }
}
