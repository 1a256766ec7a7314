//! Every caller shape the authorizer produces, the refusals and why, the stable text form, and
//! hostile contexts (property tests): a context either parses to a principal that round-trips
//! through its key, or is refused; no input makes two different identities one principal.

use proptest::prelude::*;

use super::*;

const ACCT: &str = "123456789012";
const ROLE_ID: &str = "AROAEXAMPLEEXAMPLE000";
const USER_ID: &str = "AIDAJ45Q7YFFAREXAMPLE";

fn ctx(arn: &str, user_id: &str) -> IamAuthorizerContext {
    IamAuthorizerContext {
        access_key: Some("ASIAEXAMPLEEXAMPLE00".into()),
        account_id: Some(ACCT.into()),
        caller_id: Some(user_id.into()),
        cognito_identity: None,
        principal_org_id: None,
        user_arn: Some(arn.into()),
        user_id: Some(user_id.into()),
    }
}

fn parse(c: &IamAuthorizerContext) -> Result<Principal, PrincipalError> {
    Principal::from_authorizer(Some(c))
}

fn assumed(role: &str, session: &str) -> IamAuthorizerContext {
    ctx(
        &format!("arn:aws:sts::{ACCT}:assumed-role/{role}/{session}"),
        &format!("{ROLE_ID}:{session}"),
    )
}

#[test]
fn an_assumed_role_is_its_role_id_whatever_the_session() {
    let alice = parse(&assumed("developer", "alice")).expect("parses");
    let mallory = parse(&assumed("developer", "mallory")).expect("parses");
    let xtask = parse(&assumed("developer", "codegen-xtask")).expect("parses");
    assert_eq!(
        alice,
        Principal::Role {
            account: ACCT.into(),
            role_id: ROLE_ID.into()
        }
    );
    assert_eq!(alice, mallory, "the session name is the caller's choice");
    assert_eq!(alice, xtask);
    assert_eq!(alice.key(), format!("role:{ACCT}:{ROLE_ID}"));
}

#[test]
fn a_role_recreated_under_the_same_name_is_another_principal() {
    let old = parse(&assumed("developer", "alice")).expect("parses");
    let mut recreated = assumed("developer", "alice");
    recreated.user_id = Some("AROANEWROLEEXAMPLE000:alice".into());
    recreated.caller_id = recreated.user_id.clone();
    let new = parse(&recreated).expect("parses");
    assert_ne!(old, new);
}

#[test]
fn identity_center_keeps_the_user_name_aws_sets() {
    let role = "AWSReservedSSO_Developer_0123456789abcdef";
    let alice = parse(&assumed(role, "alice@example.com")).expect("parses");
    let bob = parse(&assumed(role, "bob@example.com")).expect("parses");
    assert_eq!(
        alice,
        Principal::IdentityCenter {
            account: ACCT.into(),
            role_id: ROLE_ID.into(),
            user_name: "alice@example.com".into()
        }
    );
    assert_ne!(alice, bob);
    assert_eq!(
        alice.key(),
        format!("sso:{ACCT}:{ROLE_ID}:alice@example.com")
    );
    // Not a prefix match on anything else: an ordinary role is one principal.
    let ordinary = parse(&assumed("AWSReservedSSOish", "alice")).expect("parses");
    assert!(matches!(ordinary, Principal::Role { .. }), "{ordinary:?}");
}

#[test]
fn iam_users_root_and_cognito() {
    let user = parse(&ctx(
        &format!("arn:aws:iam::{ACCT}:user/division/alice"),
        USER_ID,
    ))
    .expect("parses");
    assert_eq!(
        user,
        Principal::User {
            account: ACCT.into(),
            user_id: USER_ID.into()
        }
    );
    let root = parse(&ctx(&format!("arn:aws:iam::{ACCT}:root"), ACCT)).expect("parses");
    assert_eq!(
        root,
        Principal::Root {
            account: ACCT.into()
        }
    );
    let mut cognito = assumed("Cognito_PoolAuth_Role", "CognitoIdentityCredentials");
    cognito.cognito_identity = Some(CognitoIdentity {
        amr: vec!["authenticated".into()],
        identity_id: Some("us-east-1:3f291106-8703-466b-8f2b-3ecee1ca56ce".into()),
        identity_pool_id: Some("us-east-1:4f291106-8703-466b-8f2b-3ecee1ca56ce".into()),
    });
    let c = parse(&cognito).expect("parses");
    assert_eq!(
        c.key(),
        "cognito:us-east-1:4f291106-8703-466b-8f2b-3ecee1ca56ce/us-east-1:3f291106-8703-466b-8f2b-3ecee1ca56ce"
    );
    // No authorizer block at all: an unauthenticated route.
    assert_eq!(Principal::from_authorizer(None), Ok(Principal::Anonymous));
    // Other partitions.
    let gov = parse(&ctx(
        &format!("arn:aws-us-gov:iam::{ACCT}:user/alice"),
        USER_ID,
    ))
    .expect("parses");
    assert_eq!(gov, user);
}

/// Each refusal, with the reason it gives.
#[test]
fn malformed_or_unsupported_contexts_are_refused_and_say_why() {
    let cases: Vec<(IamAuthorizerContext, &str)> = vec![
        (IamAuthorizerContext::default(), "userArn is missing"),
        (
            ctx(&format!("arn:aws:sts::{ACCT}:assumed-role/r/s1"), ""),
            "userId is missing",
        ),
        (ctx("not-an-arn", USER_ID), "userArn is not an ARN"),
        (ctx("arn:aws:iam:", USER_ID), "userArn is not an ARN"),
        (
            ctx(&format!("arn:aws:s3:::{ACCT}"), USER_ID),
            "not an IAM or STS ARN",
        ),
        (
            ctx(&format!("arn:aws:ec2::{ACCT}:user/alice"), USER_ID),
            "not an IAM or STS ARN",
        ),
        (
            ctx(&format!("arn:evil:iam::{ACCT}:user/alice"), USER_ID),
            "unknown partition",
        ),
        (
            ctx("arn:aws:iam::12345:user/alice", USER_ID),
            "not 12 digits",
        ),
        (
            ctx(&format!("arn:aws:iam::{ACCT}:user/alice"), ROLE_ID),
            "not a user unique id",
        ),
        (
            ctx(&format!("arn:aws:iam::{ACCT}:root"), "999999999999"),
            "root user's userId",
        ),
        (
            ctx(
                &format!("arn:aws:sts::{ACCT}:assumed-role/developer/alice"),
                ROLE_ID,
            ),
            "<role id>:<session name>",
        ),
        (
            ctx(
                &format!("arn:aws:sts::{ACCT}:assumed-role/developer/alice"),
                &format!("{ROLE_ID}:mallory"),
            ),
            "session in userId differs",
        ),
        (
            ctx(
                &format!("arn:aws:sts::{ACCT}:assumed-role/developer/alice"),
                &format!("{USER_ID}:alice"),
            ),
            "not a role unique id",
        ),
        (
            ctx(
                &format!("arn:aws:sts::{ACCT}:assumed-role/developer"),
                ROLE_ID,
            ),
            "assumed-role/<role>/<session>",
        ),
        (
            ctx(
                &format!("arn:aws:sts::{ACCT}:federated-user/bob"),
                &format!("{ACCT}:bob"),
            ),
            "federated users",
        ),
        (
            ctx(&format!("arn:aws:iam::{ACCT}:role/developer"), ROLE_ID),
            "not a user, role session or root",
        ),
    ];
    for (c, why) in cases {
        let err = parse(&c).expect_err(why);
        assert!(err.to_string().contains(why), "{why}: got {err}");
    }
    // The account in the context must be the ARN's.
    let mut other_account = assumed("developer", "alice");
    other_account.account_id = Some("210987654321".into());
    assert!(
        parse(&other_account)
            .expect_err("refused")
            .to_string()
            .contains("accountId differs")
    );
    // An empty userId is absent: callerId (the same value) identifies the caller.
    let mut empty = assumed("developer", "alice");
    empty.user_id = Some(String::new());
    assert_eq!(parse(&empty), parse(&assumed("developer", "alice")));
    // userId and callerId must name the same entity.
    let mut two = assumed("developer", "alice");
    two.caller_id = Some("AROAOTHERROLEEXAMPLE0:alice".into());
    assert!(
        parse(&two)
            .expect_err("refused")
            .to_string()
            .contains("different principals")
    );
    // A Cognito block without its ids is refused, not read as the role.
    let mut cognito = assumed("Cognito_PoolAuth_Role", "CognitoIdentityCredentials");
    cognito.cognito_identity = Some(CognitoIdentity::default());
    assert!(
        parse(&cognito)
            .expect_err("refused")
            .to_string()
            .contains("identityPoolId is missing")
    );
}

#[test]
fn keys_round_trip_through_text_and_serde() {
    let all = [
        Principal::Root {
            account: ACCT.into(),
        },
        Principal::User {
            account: ACCT.into(),
            user_id: USER_ID.into(),
        },
        Principal::Role {
            account: ACCT.into(),
            role_id: ROLE_ID.into(),
        },
        Principal::IdentityCenter {
            account: ACCT.into(),
            role_id: ROLE_ID.into(),
            user_name: "a.b+c=d,e@f-g_h".into(),
        },
        Principal::Cognito {
            identity_pool_id: "eu-west-1:0a1b".into(),
            identity_id: "eu-west-1:2c3d".into(),
        },
        Principal::Anonymous,
    ];
    let mut keys = std::collections::BTreeSet::new();
    for p in all {
        let key = p.key();
        assert!(keys.insert(key.clone()), "duplicate {key}");
        assert_eq!(key.parse::<Principal>(), Ok(p.clone()), "{key}");
        let json = serde_json::to_string(&p).expect("serialises");
        assert_eq!(json, format!("\"{key}\""));
        assert_eq!(serde_json::from_str::<Principal>(&json).expect("reads"), p);
    }
    for bad in [
        "",
        "role",
        "role:123:AROAX",
        "role:123456789012:AIDAX",
        "user:123456789012:",
        "sso:123456789012:AROAX",
        "sso:123456789012:AROAX:has space",
        "cognito:nope",
        "arn:aws:sts::123456789012:assumed-role/r/s",
        "Anonymous",
    ] {
        assert!(bad.parse::<Principal>().is_err(), "{bad}");
        assert!(serde_json::from_str::<Principal>(&format!("\"{bad}\"")).is_err());
    }
}

fn arbitrary_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9:/_+=,.@ -]{0,80}",
        Just(String::new()),
        Just(format!("arn:aws:sts::{ACCT}:assumed-role/r/s")),
        Just(format!("{ROLE_ID}:s")),
    ]
}

fn arbitrary_context() -> impl Strategy<Value = IamAuthorizerContext> {
    (
        proptest::option::of(arbitrary_text()),
        proptest::option::of(arbitrary_text()),
        proptest::option::of(arbitrary_text()),
        proptest::option::of(arbitrary_text()),
    )
        .prop_map(
            |(account_id, caller_id, user_arn, user_id)| IamAuthorizerContext {
                account_id,
                caller_id,
                user_arn,
                user_id,
                ..IamAuthorizerContext::default()
            },
        )
}

proptest! {
    /// Whatever the context holds, parsing never panics, and what it accepts round-trips through
    /// its key, which contains no character a storage key would have to escape.
    #[test]
    fn hostile_contexts_parse_or_are_refused(c in arbitrary_context()) {
        if let Ok(p) = parse(&c) {
            let key = p.key();
            prop_assert_eq!(key.parse::<Principal>(), Ok(p));
            prop_assert!(key.bytes().all(|b| b.is_ascii_graphic()), "{}", key);
        }
    }

    /// Two sessions of one role are one principal, whatever names they choose; two roles are
    /// never one principal.
    #[test]
    fn sessions_never_split_or_merge_roles(
        s1 in "[a-zA-Z0-9_+=,.@-]{2,64}",
        s2 in "[a-zA-Z0-9_+=,.@-]{2,64}",
        other in "[A-Z0-9]{17}",
    ) {
        let a = parse(&assumed("developer", &s1));
        let b = parse(&assumed("developer", &s2));
        prop_assert!(a.is_ok());
        prop_assert_eq!(&a, &b);
        let mut c = assumed("developer", &s1);
        c.user_id = Some(format!("AROA{other}:{s1}"));
        c.caller_id = c.user_id.clone();
        let c = parse(&c);
        prop_assert_eq!(c.is_ok(), true);
        prop_assert_eq!(a.as_ref().map(|p| p.key()) == c.as_ref().map(|p| p.key()),
            format!("AROA{other}") == ROLE_ID);
    }

    /// A session name that is not STS's shape (too long, or a character STS never issues) is
    /// refused, not truncated or cleaned into someone else's name.
    #[test]
    fn session_names_outside_sts_shapes_are_refused(session in "[^a-zA-Z0-9_+=,.@-]{1,3}|[a-z]{65,80}") {
        let c = ctx(
            &format!("arn:aws:sts::{ACCT}:assumed-role/AWSReservedSSO_x_1/{session}"),
            &format!("{ROLE_ID}:{session}"),
        );
        prop_assert!(parse(&c).is_err());
    }
}
