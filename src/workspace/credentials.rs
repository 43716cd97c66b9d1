//! Where the client's credentials come from (the environment, as the official SDK and the
//! Terraform provider read it) and how secrets are kept out of every output.

use std::fmt;

/// A secret value: it has no `Display`, and its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that needs it: building a request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How requests are authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// SDK-HMAC-SHA256 signing; temporary credentials add a security token.
    AccessKey {
        access_key: String,
        secret_key: Secret,
        security_token: Option<Secret>,
    },
    /// An IAM token sent as `X-Auth-Token`.
    Token(Secret),
}

/// The variables read, in order of precedence, for messages and docs.
pub const AK_VARS: [&str; 2] = ["HUAWEICLOUD_SDK_AK", "HW_ACCESS_KEY"];
pub const SK_VARS: [&str; 2] = ["HUAWEICLOUD_SDK_SK", "HW_SECRET_KEY"];
pub const SECURITY_TOKEN_VARS: [&str; 2] = ["HUAWEICLOUD_SDK_SECURITY_TOKEN", "HW_SECURITY_TOKEN"];
pub const AUTH_TOKEN_VAR: &str = "HW_AUTH_TOKEN";

/// What is wrong with the credentials in the environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error(
        "no credentials: set `HUAWEICLOUD_SDK_AK` and `HUAWEICLOUD_SDK_SK` (or `HW_ACCESS_KEY` and `HW_SECRET_KEY`), or an IAM token in `HW_AUTH_TOKEN`"
    )]
    Missing,
    #[error("`{present}` is set but `{absent}` is not: set both, or neither")]
    Half {
        present: &'static str,
        absent: &'static str,
    },
}

impl Auth {
    /// Reads credentials through `lookup` (the environment, in production). An access key pair
    /// wins over a token; empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Auth, CredentialsError> {
        let first = |names: &[&'static str]| first_set(&lookup, names);
        match (first(&AK_VARS), first(&SK_VARS)) {
            (Some((_, access_key)), Some((_, secret_key))) => Ok(Auth::AccessKey {
                access_key: access_key.trim().to_string(),
                secret_key: Secret::new(secret_key.trim()),
                security_token: first(&SECURITY_TOKEN_VARS)
                    .map(|(_, token)| Secret::new(token.trim())),
            }),
            (Some((present, _)), None) => Err(CredentialsError::Half {
                present,
                absent: SK_VARS[AK_VARS.iter().position(|v| *v == present).unwrap_or(0)],
            }),
            (None, Some((present, _))) => Err(CredentialsError::Half {
                present,
                absent: AK_VARS[SK_VARS.iter().position(|v| *v == present).unwrap_or(0)],
            }),
            (None, None) => first(&[AUTH_TOKEN_VAR])
                .map(|(_, token)| Auth::Token(Secret::new(token.trim())))
                .ok_or(CredentialsError::Missing),
        }
    }

    /// Where the credentials `lookup` gives came from, for a message about their refusal:
    /// the variables' names, never a value.
    pub fn source(lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
        let name = |names: &[&'static str]| first_set(&lookup, names).map(|(name, _)| name);
        Some(match Auth::from_lookup(&lookup).ok()? {
            Auth::AccessKey { security_token, .. } => format!(
                "the access key pair from `{}` and `{}`{}",
                name(&AK_VARS)?,
                name(&SK_VARS)?,
                match security_token {
                    Some(_) => format!(
                        " with the security token from `{}`",
                        name(&SECURITY_TOKEN_VARS)?
                    ),
                    None => String::new(),
                }
            ),
            Auth::Token(_) => format!("the IAM token from `{AUTH_TOKEN_VAR}`"),
        })
    }

    pub fn from_env() -> Result<Auth, CredentialsError> {
        Auth::from_lookup(|name| std::env::var(name).ok())
    }
}

/// The first of `names` that `lookup` gives a value for (empty values count as unset), and
/// that value: the one reading of the variables, for the credentials and for where they came
/// from.
fn first_set(
    lookup: impl Fn(&str) -> Option<String>,
    names: &[&'static str],
) -> Option<(&'static str, String)> {
    names.iter().find_map(|name| {
        lookup(name)
            .filter(|value| !value.trim().is_empty())
            .map(|value| (*name, value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(vars: &[(&str, &str)]) -> Result<Auth, CredentialsError> {
        Auth::from_lookup(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        })
    }

    #[test]
    fn sdk_names_win_over_terraform_names() {
        let found = auth(&[
            ("HUAWEICLOUD_SDK_AK", "ak1"),
            ("HUAWEICLOUD_SDK_SK", "sk1"),
            ("HW_ACCESS_KEY", "ak2"),
            ("HW_SECRET_KEY", "sk2"),
            ("HW_SECURITY_TOKEN", "st"),
        ]);
        assert_eq!(
            found,
            Ok(Auth::AccessKey {
                access_key: "ak1".into(),
                secret_key: Secret::new("sk1"),
                security_token: Some(Secret::new("st")),
            })
        );
    }

    #[test]
    fn token_when_no_key_pair() {
        assert_eq!(
            auth(&[("HW_AUTH_TOKEN", "tok")]),
            Ok(Auth::Token(Secret::new("tok")))
        );
        assert_eq!(auth(&[]), Err(CredentialsError::Missing));
        assert_eq!(
            auth(&[("HW_ACCESS_KEY", " ")]),
            Err(CredentialsError::Missing)
        );
    }

    #[test]
    fn half_a_pair_is_an_error() {
        assert_eq!(
            auth(&[("HW_ACCESS_KEY", "ak")]),
            Err(CredentialsError::Half {
                present: "HW_ACCESS_KEY",
                absent: "HW_SECRET_KEY"
            })
        );
    }

    #[test]
    fn the_source_names_the_variables_the_credentials_came_from() {
        let source = |vars: &[(&str, &str)]| {
            Auth::source(|name| {
                vars.iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.to_string())
            })
        };
        assert_eq!(
            source(&[
                ("HUAWEICLOUD_SDK_AK", " "),
                ("HW_ACCESS_KEY", "ak"),
                ("HUAWEICLOUD_SDK_SK", "sk"),
                ("HW_SECURITY_TOKEN", "st"),
            ])
            .as_deref(),
            Some(
                "the access key pair from `HW_ACCESS_KEY` and `HUAWEICLOUD_SDK_SK` with the security token from `HW_SECURITY_TOKEN`"
            )
        );
        assert_eq!(
            source(&[("HW_AUTH_TOKEN", "tok")]).as_deref(),
            Some("the IAM token from `HW_AUTH_TOKEN`")
        );
        assert_eq!(source(&[("HW_ACCESS_KEY", "ak")]), None);
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let shown = format!("{:?}", Secret::new("s3cr3t"));
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
}
