//! The template document and the [`Stack`] that collects constructs into it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::expr::Expr;

/// A synthesised CloudFormation template. Field order is the conventional section order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Template {
    /// Always `2010-09-09`.
    #[serde(rename = "AWSTemplateFormatVersion")]
    pub format_version: String,
    /// Human-readable description.
    pub description: String,
    /// Template-level metadata (linters' settings, generator).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// Parameters supplied at deploy time.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, Parameter>,
    /// Conditions.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub conditions: BTreeMap<String, serde_json::Value>,
    /// Resources by logical id.
    pub resources: BTreeMap<String, Resource>,
    /// Outputs by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, Output>,
}

impl Template {
    /// Resources of one type, by logical id (for assertions, like CDK's `findResources`).
    pub fn resources_of_type<'a>(
        &'a self,
        type_name: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a Resource)> + 'a {
        self.resources
            .iter()
            .filter(move |(_, r)| r.type_name == type_name)
    }

    /// The template as a JSON value.
    pub fn to_json_value(&self) -> serde_json::Value {
        // Serialising plain data (strings, numbers, maps) to a JSON value cannot fail.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// A template parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    /// `String`, `Number`, ...
    #[serde(rename = "Type")]
    pub type_name: String,
    /// What the parameter is for.
    pub description: String,
    /// Default value, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Allowed values, if restricted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_values: Vec<String>,
    /// Regular expression the value must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
}

impl Parameter {
    /// A `String` parameter.
    pub fn string(description: impl Into<String>) -> Self {
        Self {
            type_name: "String".into(),
            description: description.into(),
            default: None,
            allowed_values: Vec::new(),
            allowed_pattern: None,
        }
    }

    /// With a default value.
    pub fn with_default(mut self, default: impl Into<String>) -> Self {
        self.default = Some(default.into());
        self
    }

    /// Restricted to these values.
    pub fn with_allowed_values(mut self, values: &[&str]) -> Self {
        self.allowed_values = values.iter().map(|v| (*v).to_owned()).collect();
        self
    }

    /// Must match this pattern.
    pub fn with_allowed_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.allowed_pattern = Some(pattern.into());
        self
    }
}

/// A resource: its type, properties and resource-level attributes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resource {
    /// `AWS::S3::Bucket`, ...
    #[serde(rename = "Type")]
    pub type_name: String,
    /// Logical ids this resource must wait for beyond its references.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// What happens to the physical resource when it leaves the stack.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<String>,
    /// What happens to the physical resource when it is replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_replace_policy: Option<String>,
    /// Resource metadata (e.g. linter suppressions with their reasons).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// Properties.
    pub properties: serde_json::Value,
}

impl Resource {
    /// A resource of `type_name` whose properties are the serialised `properties`.
    pub fn new(type_name: &str, properties: &impl Serialize) -> Self {
        Self {
            type_name: type_name.to_owned(),
            depends_on: Vec::new(),
            deletion_policy: None,
            update_replace_policy: None,
            metadata: BTreeMap::new(),
            properties: serde_json::to_value(properties).unwrap_or(serde_json::Value::Null),
        }
    }

    /// Adds explicit dependencies.
    pub fn depends_on(mut self, ids: &[&str]) -> Self {
        self.depends_on.extend(ids.iter().map(|s| (*s).to_owned()));
        self.depends_on.sort();
        self.depends_on.dedup();
        self
    }

    /// Sets `DeletionPolicy` and `UpdateReplacePolicy`.
    pub fn with_removal_policy(mut self, policy: &str) -> Self {
        self.deletion_policy = Some(policy.to_owned());
        self.update_replace_policy = Some(policy.to_owned());
        self
    }

    /// Records a checkov suppression on this resource, with the reason (kept in the template so
    /// every skip is reviewable where it applies).
    pub fn skip_checkov(mut self, check_id: &str, reason: &str) -> Self {
        let entry = self
            .metadata
            .entry("checkov".to_owned())
            .or_insert_with(|| serde_json::json!({ "skip": [] }));
        if let Some(list) = entry.get_mut("skip").and_then(|v| v.as_array_mut()) {
            list.push(serde_json::json!({ "id": check_id, "comment": reason }));
        }
        self
    }

    /// Tells cfn-lint to ignore `check_id` on this resource. `reason` is recorded next to it in the
    /// template, so the suppression and its justification are reviewed together.
    pub fn ignore_cfn_lint(mut self, check_id: &str, reason: &str) -> Self {
        let entry = self
            .metadata
            .entry("cfn-lint".to_owned())
            .or_insert_with(|| serde_json::json!({ "config": { "ignore_checks": [] } }));
        if let Some(list) = entry
            .pointer_mut("/config/ignore_checks")
            .and_then(|v| v.as_array_mut())
        {
            list.push(serde_json::json!(check_id));
        }
        self.metadata
            .entry("Comments".to_owned())
            .or_insert_with(|| serde_json::json!({}))
            .as_object_mut()
            .map(|c| c.insert(format!("cfn-lint {check_id}"), serde_json::json!(reason)));
        self
    }

    /// A property by name (for assertions).
    pub fn property(&self, name: &str) -> Option<&serde_json::Value> {
        self.properties.get(name)
    }
}

/// A template output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    /// What the value is.
    pub description: String,
    /// The value.
    pub value: Expr,
    /// The region-wide name other stacks import the value under (`Fn::ImportValue`); CloudFormation
    /// refuses to change or delete an export while a stack imports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<Export>,
}

/// An output's `Export`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Export {
    /// The export name (unique in the account and region).
    pub name: String,
}

/// Anything that contributes resources to a stack.
pub trait Construct {
    /// The resources this construct synthesises, by logical id.
    fn resources(&self) -> Vec<(String, Resource)>;
}

/// Collects parameters, constructs and outputs, then synthesises a [`Template`].
#[derive(Debug, Clone)]
pub struct Stack {
    template: Template,
}

/// Adding something under a logical id that is already taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateId(pub String);

impl std::error::Error for DuplicateId {}

impl std::fmt::Display for DuplicateId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "logical id `{}` is used twice", self.0)
    }
}

impl Stack {
    /// An empty stack.
    pub fn new(description: impl Into<String>) -> Self {
        Self {
            template: Template {
                format_version: "2010-09-09".into(),
                description: description.into(),
                metadata: BTreeMap::new(),
                parameters: BTreeMap::new(),
                conditions: BTreeMap::new(),
                resources: BTreeMap::new(),
                outputs: BTreeMap::new(),
            },
        }
    }

    /// Adds a parameter and returns a `Ref` to it.
    pub fn add_parameter(&mut self, name: &str, parameter: Parameter) -> Expr {
        self.template.parameters.insert(name.to_owned(), parameter);
        Expr::reference(name)
    }

    /// Adds every resource of a construct.
    pub fn add(&mut self, construct: &impl Construct) -> Result<(), DuplicateId> {
        for (id, resource) in construct.resources() {
            self.add_resource(id, resource)?;
        }
        Ok(())
    }

    /// Adds one resource under a logical id.
    pub fn add_resource(&mut self, id: String, resource: Resource) -> Result<(), DuplicateId> {
        if self.template.resources.contains_key(&id) {
            return Err(DuplicateId(id));
        }
        self.template.resources.insert(id, resource);
        Ok(())
    }

    /// Adds an output.
    pub fn add_output(&mut self, name: &str, description: &str, value: Expr) {
        self.template.outputs.insert(
            name.to_owned(),
            Output {
                description: description.to_owned(),
                value,
                export: None,
            },
        );
    }

    /// Adds an output that other stacks import as `export_name`.
    pub fn add_exported_output(
        &mut self,
        name: &str,
        description: &str,
        value: Expr,
        export_name: &str,
    ) {
        self.template.outputs.insert(
            name.to_owned(),
            Output {
                description: description.to_owned(),
                value,
                export: Some(Export {
                    name: export_name.to_owned(),
                }),
            },
        );
    }

    /// Sets a template-level metadata entry.
    pub fn set_metadata(&mut self, key: &str, value: serde_json::Value) {
        self.template.metadata.insert(key.to_owned(), value);
    }

    /// The finished template, with every JSON object's keys in sorted order.
    pub fn synth(mut self) -> Template {
        for resource in self.template.resources.values_mut() {
            canonicalize(&mut resource.properties);
            for value in resource.metadata.values_mut() {
                canonicalize(value);
            }
        }
        for value in self
            .template
            .metadata
            .values_mut()
            .chain(self.template.conditions.values_mut())
        {
            canonicalize(value);
        }
        self.template
    }
}

/// Sorts the keys of every object in `value`, recursively.
///
/// `serde_json::Map` keeps insertion order when any crate in the build enables serde_json's
/// `preserve_order` feature (the AWS SDK's HTTP client does) and sorts keys otherwise. Sorting
/// explicitly makes the synthesised bytes independent of which crates happen to be compiled in.
pub fn canonicalize(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(String, serde_json::Value)> =
                std::mem::take(map).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (key, mut v) in entries {
                canonicalize(&mut v);
                map.insert(key, v);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(canonicalize),
        _ => {}
    }
}
