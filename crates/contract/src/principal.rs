//! Who the caller is: the one definition of "the owner of a job" (and, later, of "the caller a
//! budget belongs to"), parsed from what API Gateway's IAM authorizer puts into an HTTP API event
//! (payload format 2.0, `requestContext.authorizer.iam`). Pure: no IO.
//!
//! # What the authorizer context carries (checked 2026-12-07)
//!
//! `accessKey`, `accountId`, `callerId`, `cognitoIdentity` (`amr`, `identityId`,
//! `identityPoolId`), `principalOrgId`, `userArn`, `userId`: the fields of AWS's own typed event
//! models (aws-lambda-go `APIGatewayV2HTTPRequestContextAuthorizerIAMDescription` and its test
//! event `events/testdata/apigw-v2-request-iam.json`, <https://github.com/aws/aws-lambda-go>;
//! `aws_lambda_events::apigw::ApiGatewayRequestAuthorizerIamDescription`,
//! <https://docs.rs/aws_lambda_events/latest/aws_lambda_events/event/apigw/type.ApiGatewayV2httpRequestContextAuthorizerIamDescription.html>),
//! and the IAM-authorization variables of "Customize HTTP API access logs"
//! (`$context.identity.accountId`, `caller`, `user`, `userArn`, `principalOrgId`, `cognito*`,
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html>).
//! There is no `SourceIdentity` (nor session tags): the one value an assumed-role caller could
//! set once and never change is not available here, so nothing in this module relies on it.
//!
//! # Which value identifies whom
//!
//! `userId`/`callerId` is IAM's principal id, `aws:userid` ("IAM policy elements: Variables and
//! tags", principal key values,
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#principaltable>;
//! CloudTrail `principalId`, "CloudTrail userIdentity element",
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html>):
//!
//! | caller | `userArn` | `userId` | principal here |
//! |---|---|---|---|
//! | IAM user | `arn:aws:iam::<acct>:user/<path/name>` | `AIDA…` (the user's unique id) | [`Principal::User`] |
//! | assumed role | `arn:aws:sts::<acct>:assumed-role/<role>/<session>` | `AROA…:<session>` | [`Principal::Role`]: the role's unique id, **not** the session |
//! | IAM Identity Center | `…:assumed-role/AWSReservedSSO_<set>_<hex>/<user name>` | `AROA…:<user name>` | [`Principal::IdentityCenter`]: role id and user name |
//! | Cognito identity pool | `…:assumed-role/<role>/CognitoIdentityCredentials` + `cognitoIdentity` | `AROA…:…` | [`Principal::Cognito`]: pool and identity id |
//! | account root | `arn:aws:iam::<acct>:root` | `<acct>` | [`Principal::Root`] |
//! | federated user (`GetFederationToken`) | `arn:aws:sts::<acct>:federated-user/<name>` | `<acct>:<name>` | refused: the name is chosen by whichever IAM user called `GetFederationToken`, and nothing says which one did |
//!
//! Unique ids never repeat: a user or role deleted and created again under the same name gets a
//! new one, and the prefix says what kind of entity it is (`AIDA` IAM user, `AROA` role; "IAM
//! identifiers", unique identifiers and their prefixes,
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids>).
//! So a role re-created under the same name does not inherit the old role's jobs.
//!
//! The session name of an ordinary assumed role is chosen by whoever calls `AssumeRole`
//! (`RoleSessionName`, "caller-specified-role-name"), so it says nothing about who the caller is:
//! every session of one role is one principal (every `cargo xtask invoke --assume-role` session is
//! `codegen-xtask`; the CLI's default is random). IAM Identity Center is the exception: its roles
//! are named `AWSReservedSSO_…` by the service ("IAM roles created by IAM Identity Center",
//! <https://docs.aws.amazon.com/singlesignon/latest/userguide/identity-center-and-iam-roles.html>),
//! only Identity Center's own SAML federation can assume them, and the session it opens carries the
//! signed-in user's name. A role merely *named* `AWSReservedSSO_…` by someone else gains nothing:
//! the principal keeps its role's unique id, so it can never reach the jobs of the real Identity
//! Center role, only split its own role's callers by the names they choose.
//!
//! Anything that does not fit these shapes is refused ([`PrincipalError`]), never mapped to a
//! weaker identity.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `requestContext.authorizer.iam` of an HTTP API event (payload format 2.0): the fields the
/// principal is parsed from, spelled as API Gateway spells them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IamAuthorizerContext {
    /// The access key that signed the request (`ASIA…` for temporary credentials).
    #[serde(default)]
    pub access_key: Option<String>,
    /// The caller's account.
    #[serde(default)]
    pub account_id: Option<String>,
    /// The caller's principal id (`$context.identity.caller`).
    #[serde(default)]
    pub caller_id: Option<String>,
    /// Present when the request was signed with Amazon Cognito identity-pool credentials.
    #[serde(default)]
    pub cognito_identity: Option<CognitoIdentity>,
    /// The caller's AWS Organizations id.
    #[serde(default)]
    pub principal_org_id: Option<String>,
    /// The caller's ARN (for assumed roles it contains the session name).
    #[serde(default)]
    pub user_arn: Option<String>,
    /// The caller's principal id (`$context.identity.user`).
    #[serde(default)]
    pub user_id: Option<String>,
}

/// The Amazon Cognito identity of a request signed with identity-pool credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CognitoIdentity {
    /// Authentication methods.
    #[serde(default)]
    pub amr: Vec<String>,
    /// The identity (`<region>:<uuid>`).
    #[serde(default)]
    pub identity_id: Option<String>,
    /// The identity pool (`<region>:<uuid>`).
    #[serde(default)]
    pub identity_pool_id: Option<String>,
}

/// Who made a request, as far as the service is concerned: jobs belong to one, budgets are kept
/// per one. Compared by value; [`Principal::key`] is its stable text form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Principal {
    /// The account's root user.
    Root {
        /// 12-digit account id.
        account: String,
    },
    /// An IAM user, by its unique id (`AIDA…`).
    User {
        /// 12-digit account id.
        account: String,
        /// The user's unique id.
        user_id: String,
    },
    /// Every session of one IAM role, by the role's unique id (`AROA…`).
    Role {
        /// 12-digit account id.
        account: String,
        /// The role's unique id.
        role_id: String,
    },
    /// One IAM Identity Center user in one permission set's role: the role's unique id and the
    /// user name Identity Center set as the session name.
    IdentityCenter {
        /// 12-digit account id.
        account: String,
        /// The `AWSReservedSSO_…` role's unique id.
        role_id: String,
        /// The signed-in user's name (the session name).
        user_name: String,
    },
    /// An Amazon Cognito identity-pool identity.
    Cognito {
        /// The identity pool (`<region>:<uuid>`).
        identity_pool_id: String,
        /// The identity (`<region>:<uuid>`).
        identity_id: String,
    },
    /// Nobody: a route without an authorizer (only an emulator stage may have one; every caller
    /// of such a route is this one principal).
    Anonymous,
}

/// Why the caller could not be identified. Each is a refusal (HTTP 403), never a fallback.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrincipalError {
    /// The event has an authorizer block but no IAM identity in it.
    #[error("the request carries no IAM identity")]
    NoIamIdentity,
    /// A field is missing or has the wrong shape.
    #[error("the request's IAM identity is malformed: {0}")]
    Malformed(String),
    /// A well-formed identity this service does not accept as an owner.
    #[error("{0}")]
    Unsupported(String),
}

/// Prefix of the unique id of an IAM user.
const USER_ID_PREFIX: &str = "AIDA";
/// Prefix of the unique id of an IAM role.
const ROLE_ID_PREFIX: &str = "AROA";
/// Name prefix of the roles IAM Identity Center creates for permission sets.
pub const IDENTITY_CENTER_ROLE_PREFIX: &str = "AWSReservedSSO_";
/// Longest unique id accepted (IAM documents them as strings of 16-128 characters with pattern
/// `[\w]+`; the ones seen are 21).
const MAX_UNIQUE_ID_LEN: usize = 128;
/// Longest role session name (`RoleSessionName`: 2-64 characters of `[\w+=,.@-]`, STS
/// `AssumeRole`, <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html>).
const MAX_SESSION_NAME_LEN: usize = 64;
/// Longest Cognito id (`<region>:<uuid>`, at most 55 characters in Cognito's API reference).
const MAX_COGNITO_ID_LEN: usize = 64;

impl Principal {
    /// Parses the IAM authorizer context of a request. `None` (the event has no authorizer block
    /// at all) is [`Principal::Anonymous`]: API Gateway invokes an IAM-authorised route only with
    /// this block, so its absence means the route has no authorizer.
    pub fn from_authorizer(iam: Option<&IamAuthorizerContext>) -> Result<Self, PrincipalError> {
        let Some(ctx) = iam else {
            return Ok(Self::Anonymous);
        };
        let arn = required(ctx.user_arn.as_deref(), "userArn")?;
        let user_id = required(
            present(ctx.user_id.as_deref()).or(present(ctx.caller_id.as_deref())),
            "userId",
        )?;
        // Both name the caller; they must name the same entity (the unique id before any `:`).
        if let (Some(a), Some(b)) = (ctx.user_id.as_deref(), ctx.caller_id.as_deref()) {
            let entity = |id: &str| id.split(':').next().map(str::to_owned);
            if !a.is_empty() && !b.is_empty() && entity(a) != entity(b) {
                return Err(malformed("userId and callerId name different principals"));
            }
        }
        let parsed = Arn::parse(arn)?;
        if ctx
            .account_id
            .as_deref()
            .is_some_and(|a| !a.is_empty() && a != parsed.account)
        {
            return Err(malformed("accountId differs from the account in userArn"));
        }
        let account = parsed.account.to_owned();
        match (parsed.service, parsed.resource) {
            ("iam", "root") => {
                if user_id != account {
                    return Err(malformed("the root user's userId must be its account id"));
                }
                Ok(Self::Root { account })
            }
            ("iam", resource) if resource.starts_with("user/") => {
                let name = resource.rsplit('/').next().unwrap_or_default();
                if name.is_empty() {
                    return Err(malformed("userArn names no user"));
                }
                check_unique_id(user_id, USER_ID_PREFIX)?;
                Ok(Self::User {
                    account,
                    user_id: user_id.to_owned(),
                })
            }
            ("sts", resource) if resource.starts_with("assumed-role/") => {
                let mut parts = resource.splitn(3, '/');
                let (_, role_name, session) = (parts.next(), parts.next(), parts.next());
                let (Some(role_name), Some(session)) = (role_name, session) else {
                    return Err(malformed(
                        "an assumed-role ARN is assumed-role/<role>/<session>",
                    ));
                };
                check_role_name(role_name)?;
                check_session_name(session)?;
                let Some((role_id, id_session)) = user_id.split_once(':') else {
                    return Err(malformed(
                        "an assumed role's userId is <role id>:<session name>",
                    ));
                };
                check_unique_id(role_id, ROLE_ID_PREFIX)?;
                if id_session != session {
                    return Err(malformed(
                        "the session in userId differs from the session in userArn",
                    ));
                }
                if let Some(cognito) = &ctx.cognito_identity {
                    let pool = required(cognito.identity_pool_id.as_deref(), "identityPoolId")?;
                    let identity = required(cognito.identity_id.as_deref(), "identityId")?;
                    check_cognito_id(pool, "identityPoolId")?;
                    check_cognito_id(identity, "identityId")?;
                    return Ok(Self::Cognito {
                        identity_pool_id: pool.to_owned(),
                        identity_id: identity.to_owned(),
                    });
                }
                if role_name.starts_with(IDENTITY_CENTER_ROLE_PREFIX) {
                    return Ok(Self::IdentityCenter {
                        account,
                        role_id: role_id.to_owned(),
                        user_name: session.to_owned(),
                    });
                }
                Ok(Self::Role {
                    account,
                    role_id: role_id.to_owned(),
                })
            }
            ("sts", resource) if resource.starts_with("federated-user/") => {
                Err(PrincipalError::Unsupported(
                    "federated users (sts:GetFederationToken) cannot own jobs: their name is \
                     chosen by whichever IAM user federated them; call with an IAM role or user"
                        .to_owned(),
                ))
            }
            _ => Err(malformed("userArn is not a user, role session or root ARN")),
        }
    }

    /// The stable text form: `root:<acct>`, `user:<acct>:<AIDA…>`, `role:<acct>:<AROA…>`,
    /// `sso:<acct>:<AROA…>:<user name>`, `cognito:<pool id>/<identity id>`, `anonymous`. Used in
    /// stored records and as a storage key; [`FromStr`] reads it back.
    pub fn key(&self) -> String {
        match self {
            Self::Root { account } => format!("root:{account}"),
            Self::User { account, user_id } => format!("user:{account}:{user_id}"),
            Self::Role { account, role_id } => format!("role:{account}:{role_id}"),
            Self::IdentityCenter {
                account,
                role_id,
                user_name,
            } => format!("sso:{account}:{role_id}:{user_name}"),
            Self::Cognito {
                identity_pool_id,
                identity_id,
            } => format!("cognito:{identity_pool_id}/{identity_id}"),
            Self::Anonymous => "anonymous".to_owned(),
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

impl FromStr for Principal {
    type Err = PrincipalError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || malformed("not a principal key");
        if s == "anonymous" {
            return Ok(Self::Anonymous);
        }
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        let principal = match kind {
            "root" => Self::Root {
                account: rest.to_owned(),
            },
            "user" | "role" => {
                let (account, id) = rest.split_once(':').ok_or_else(bad)?;
                if kind == "user" {
                    check_unique_id(id, USER_ID_PREFIX)?;
                    Self::User {
                        account: account.to_owned(),
                        user_id: id.to_owned(),
                    }
                } else {
                    check_unique_id(id, ROLE_ID_PREFIX)?;
                    Self::Role {
                        account: account.to_owned(),
                        role_id: id.to_owned(),
                    }
                }
            }
            "sso" => {
                let mut parts = rest.splitn(3, ':');
                let (Some(account), Some(role_id), Some(user_name)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(bad());
                };
                check_unique_id(role_id, ROLE_ID_PREFIX)?;
                check_session_name(user_name)?;
                Self::IdentityCenter {
                    account: account.to_owned(),
                    role_id: role_id.to_owned(),
                    user_name: user_name.to_owned(),
                }
            }
            "cognito" => {
                let (pool, identity) = rest.split_once('/').ok_or_else(bad)?;
                check_cognito_id(pool, "identityPoolId")?;
                check_cognito_id(identity, "identityId")?;
                Self::Cognito {
                    identity_pool_id: pool.to_owned(),
                    identity_id: identity.to_owned(),
                }
            }
            _ => return Err(bad()),
        };
        match &principal {
            Self::Root { account }
            | Self::User { account, .. }
            | Self::Role { account, .. }
            | Self::IdentityCenter { account, .. } => check_account(account)?,
            Self::Cognito { .. } | Self::Anonymous => {}
        }
        Ok(principal)
    }
}

impl Serialize for Principal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.key())
    }
}

impl<'de> Deserialize<'de> for Principal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The parts of an IAM or STS ARN this module reads.
struct Arn<'a> {
    service: &'a str,
    account: &'a str,
    resource: &'a str,
}

impl<'a> Arn<'a> {
    /// `arn:<partition>:<iam|sts>::<12 digits>:<resource>`.
    fn parse(text: &'a str) -> Result<Self, PrincipalError> {
        let mut parts = text.splitn(6, ':');
        let fields = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        );
        let (Some("arn"), Some(partition), Some(service), Some(""), Some(account), Some(resource)) =
            fields
        else {
            return Err(malformed("userArn is not an ARN"));
        };
        // Partitions are `aws` and `aws-<name>` (aws-cn, aws-us-gov, aws-iso, …).
        let partition_ok = partition == "aws"
            || partition.strip_prefix("aws-").is_some_and(|rest| {
                !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
            });
        if !partition_ok {
            return Err(malformed("userArn has an unknown partition"));
        }
        if service != "iam" && service != "sts" {
            return Err(malformed("userArn is not an IAM or STS ARN"));
        }
        check_account(account)?;
        if resource.is_empty() || resource.chars().any(|c| c.is_control() || c == ' ') {
            return Err(malformed("userArn has an empty or unprintable resource"));
        }
        Ok(Self {
            service,
            account,
            resource,
        })
    }
}

/// An empty string counts as absent.
fn present(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

fn malformed(what: &str) -> PrincipalError {
    PrincipalError::Malformed(what.to_owned())
}

fn required<'a>(value: Option<&'a str>, name: &str) -> Result<&'a str, PrincipalError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| PrincipalError::Malformed(format!("{name} is missing")))
}

fn check_account(account: &str) -> Result<(), PrincipalError> {
    if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(malformed("the account id is not 12 digits"))
    }
}

/// A unique id: the entity's prefix, then upper-case letters and digits.
fn check_unique_id(id: &str, prefix: &str) -> Result<(), PrincipalError> {
    let ok = id.len() <= MAX_UNIQUE_ID_LEN
        && id.strip_prefix(prefix).is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(PrincipalError::Malformed(format!(
            "`{}` is not a {} unique id",
            id.chars().take(40).collect::<String>().escape_default(),
            if prefix == USER_ID_PREFIX {
                "user"
            } else {
                "role"
            }
        )))
    }
}

/// A role name: 1-64 characters of `[\w+=,.@-]` (IAM `CreateRole`).
fn check_role_name(name: &str) -> Result<(), PrincipalError> {
    if (1..=64).contains(&name.len()) && name.bytes().all(is_iam_name_byte) {
        Ok(())
    } else {
        Err(malformed("the role name in userArn has the wrong shape"))
    }
}

/// A role session name: 2-64 characters of `[\w+=,.@-]`.
fn check_session_name(name: &str) -> Result<(), PrincipalError> {
    if (2..=MAX_SESSION_NAME_LEN).contains(&name.len()) && name.bytes().all(is_iam_name_byte) {
        Ok(())
    } else {
        Err(malformed("the session name has the wrong shape"))
    }
}

fn is_iam_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'=' | b',' | b'.' | b'@' | b'-')
}

/// A Cognito id: `<region>:<uuid-ish>`.
fn check_cognito_id(id: &str, name: &str) -> Result<(), PrincipalError> {
    let ok = id.len() <= MAX_COGNITO_ID_LEN
        && id.split_once(':').is_some_and(|(region, rest)| {
            !region.is_empty()
                && region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !rest.is_empty()
                && rest.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(PrincipalError::Malformed(format!(
            "{name} has the wrong shape"
        )))
    }
}

#[cfg(test)]
mod tests;
