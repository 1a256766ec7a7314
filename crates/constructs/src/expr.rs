//! Template values: literals and CloudFormation intrinsic functions, in long form (`Fn::GetAtt`,
//! never the YAML short form `!GetAtt`), so the same tree serialises to YAML and JSON.

use serde::{Serialize, Serializer};

/// A value in a template: a literal string, a number, a boolean or an intrinsic function.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal string.
    Str(String),
    /// A literal integer.
    Int(i64),
    /// A literal number.
    Num(f64),
    /// A literal boolean.
    Bool(bool),
    /// `{"Ref": name}`: a parameter, resource or pseudo parameter (`AWS::Region`, ...).
    Ref(String),
    /// `{"Fn::GetAtt": [logical id, attribute]}`.
    GetAtt(String, String),
    /// `{"Fn::Sub": template}` with `${Name}` / `${Name.Attr}` placeholders.
    Sub(String),
    /// `{"Fn::Join": [separator, parts]}`.
    Join(String, Vec<Expr>),
    /// `{"Fn::ImportValue": name}`: the value another stack of the region exports under `name`.
    ImportValue(String),
}

impl Expr {
    /// A literal string.
    pub fn str(s: impl Into<String>) -> Self {
        Self::Str(s.into())
    }

    /// `Ref` to a parameter, resource or pseudo parameter.
    pub fn reference(name: impl Into<String>) -> Self {
        Self::Ref(name.into())
    }

    /// `Fn::GetAtt` of a resource attribute.
    pub fn get_att(logical_id: impl Into<String>, attribute: impl Into<String>) -> Self {
        Self::GetAtt(logical_id.into(), attribute.into())
    }

    /// `Fn::Sub` with placeholders.
    pub fn sub(template: impl Into<String>) -> Self {
        Self::Sub(template.into())
    }

    /// `Fn::ImportValue` of another stack's export.
    pub fn import_value(export_name: impl Into<String>) -> Self {
        Self::ImportValue(export_name.into())
    }

    /// Whether this is the literal `*` (used by the least-privilege checks).
    pub fn is_wildcard(&self) -> bool {
        matches!(self, Self::Str(s) | Self::Sub(s) if s == "*")
    }

    /// The expression as a JSON value (what CloudFormation reads).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{Value, json};
        match self {
            Self::Str(s) => Value::String(s.clone()),
            Self::Int(i) => json!(i),
            Self::Num(n) => json!(n),
            Self::Bool(b) => Value::Bool(*b),
            Self::Ref(r) => json!({ "Ref": r }),
            Self::GetAtt(id, attr) => json!({ "Fn::GetAtt": [id, attr] }),
            Self::Sub(t) => json!({ "Fn::Sub": t }),
            Self::Join(sep, parts) => {
                let parts: Vec<Value> = parts.iter().map(Self::to_json).collect();
                json!({ "Fn::Join": [sep, parts] })
            }
            Self::ImportValue(name) => json!({ "Fn::ImportValue": name }),
        }
    }
}

impl From<&str> for Expr {
    fn from(s: &str) -> Self {
        Self::Str(s.to_owned())
    }
}

impl From<String> for Expr {
    fn from(s: String) -> Self {
        Self::Str(s)
    }
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn intrinsics_use_long_form() {
        assert_eq!(Expr::reference("X").to_json(), json!({"Ref": "X"}));
        assert_eq!(
            Expr::get_att("B", "Arn").to_json(),
            json!({"Fn::GetAtt": ["B", "Arn"]})
        );
        assert_eq!(
            Expr::sub("${B.Arn}/*").to_json(),
            json!({"Fn::Sub": "${B.Arn}/*"})
        );
        assert_eq!(
            Expr::Join("".into(), vec!["a".into(), Expr::reference("P")]).to_json(),
            json!({"Fn::Join": ["", ["a", {"Ref": "P"}]]})
        );
    }

    #[test]
    fn wildcard_detection() {
        assert!(Expr::str("*").is_wildcard());
        assert!(!Expr::str("arn:aws:s3:::b/*").is_wildcard());
        assert!(Expr::sub("*").is_wildcard());
    }
}
