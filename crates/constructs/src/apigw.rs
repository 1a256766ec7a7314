//! The API Gateway v2 [`HttpApi`] construct: an HTTP API whose routes proxy to Lambda functions,
//! with one explicitly deployed stage (`AutoDeploy: false`), throttling and JSON access logs.
//!
//! There is deliberately no `AWS::ApiGatewayV2::Deployment` here: with auto-deploy off, the
//! deployer creates a deployment through the API after every change, so a stage never serves
//! routes older than the template.

use serde_json::{Value, json};

use crate::Tags;
use crate::expr::Expr;
use crate::lambda::Permission;
use crate::template::{Construct, Resource};

/// How callers authenticate on a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorization {
    /// SigV4-signed requests from IAM principals allowed `execute-api:Invoke`.
    AwsIam,
    /// Anyone who can reach the endpoint.
    None,
}

impl Authorization {
    /// The `AuthorizationType` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwsIam => "AWS_IAM",
            Self::None => "NONE",
        }
    }
}

/// A route proxied to a Lambda function (payload format 2.0).
#[derive(Debug, Clone)]
pub struct LambdaRoute {
    /// HTTP method, e.g. `PUT`.
    pub method: String,
    /// Path, e.g. `/code-generation`.
    pub path: String,
    /// The function's ARN.
    pub function_arn: Expr,
    /// Authorization on the route.
    pub authorization: Authorization,
}

impl LambdaRoute {
    /// `"<METHOD> <path>"`.
    pub fn route_key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// A CamelCase id fragment from the route, e.g. `PutCodeGeneration`.
    fn id_fragment(&self) -> String {
        let mut out = String::new();
        for word in std::iter::once(self.method.to_lowercase().as_str())
            .chain(self.path.split(|c: char| !c.is_ascii_alphanumeric()))
            .map(str::to_owned)
            .collect::<Vec<_>>()
        {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                out.push(first.to_ascii_uppercase());
                out.extend(chars);
            }
        }
        out
    }
}

/// Stage settings.
#[derive(Debug, Clone)]
pub struct StageProps {
    /// Stage name (also the URL path segment).
    pub name: String,
    /// Steady-state requests per second across the stage's routes.
    pub throttling_rate_limit: f64,
    /// Burst bucket size.
    pub throttling_burst_limit: u32,
    /// Where access logs go (log group ARN without `:*`).
    pub access_log_destination: Expr,
}

/// An HTTP API with Lambda routes and one stage.
#[derive(Debug, Clone)]
pub struct HttpApi {
    logical_id: String,
    name: String,
    description: String,
    routes: Vec<LambdaRoute>,
    stage: StageProps,
    tags: Tags,
}

/// The JSON access-log line: one object per request, no request bodies or headers.
pub const ACCESS_LOG_FORMAT: &str = concat!(
    r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","#,
    r#""caller":"$context.identity.caller","user":"$context.identity.user","#,
    r#""requestTime":"$context.requestTime","httpMethod":"$context.httpMethod","#,
    r#""routeKey":"$context.routeKey","status":"$context.status","protocol":"$context.protocol","#,
    r#""responseLength":"$context.responseLength","integrationLatency":"$context.integrationLatency","#,
    r#""integrationError":"$context.integrationErrorMessage"}"#
);

impl HttpApi {
    /// An HTTP API named `name` with one stage.
    pub fn new(logical_id: &str, name: &str, description: &str, stage: StageProps) -> Self {
        Self {
            logical_id: logical_id.to_owned(),
            name: name.to_owned(),
            description: description.to_owned(),
            routes: Vec::new(),
            stage,
            tags: Tags::new(),
        }
    }

    /// Sets the tags.
    pub fn with_tags(mut self, tags: &Tags) -> Self {
        self.tags = tags.clone();
        self
    }

    /// Adds a Lambda route; the construct also adds the integration and an invoke permission
    /// scoped to this API, stage, method and path.
    pub fn add_lambda_route(&mut self, route: LambdaRoute) {
        self.routes.push(route);
    }

    /// `Ref Api`: the API id.
    pub fn id(&self) -> Expr {
        Expr::reference(&self.logical_id)
    }

    /// Logical id of the API resource.
    pub fn logical_id(&self) -> &str {
        &self.logical_id
    }

    /// Logical id of the stage resource.
    pub fn stage_logical_id(&self) -> String {
        format!("{}Stage", self.logical_id)
    }

    /// The stage's base URL: `<ApiEndpoint>/<stage>`.
    pub fn stage_url(&self) -> Expr {
        Expr::sub(format!(
            "${{{}.ApiEndpoint}}/{}",
            self.logical_id, self.stage.name
        ))
    }

    /// The `execute-api` ARN of one route on the stage (what a Lambda permission is scoped to).
    /// A path parameter (`{job_id}`) becomes `*`, as in the ARNs API Gateway invokes with.
    pub fn route_arn(&self, route: &LambdaRoute) -> Expr {
        let path: Vec<&str> = route
            .path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') && segment.ends_with('}') {
                    "*"
                } else {
                    segment
                }
            })
            .collect();
        Expr::sub(format!(
            "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{}}}/{}/{}{}",
            self.logical_id,
            self.stage.name,
            route.method,
            path.join("/")
        ))
    }
}

impl Construct for HttpApi {
    fn resources(&self) -> Vec<(String, Resource)> {
        let mut out = vec![(
            self.logical_id.clone(),
            Resource::new(
                "AWS::ApiGatewayV2::Api",
                &json!({
                    "Name": self.name,
                    "Description": self.description,
                    "ProtocolType": "HTTP",
                    "Tags": self.tags,
                }),
            ),
        )];
        let mut route_ids = Vec::new();
        for route in &self.routes {
            let frag = route.id_fragment();
            let integration_id = format!("{}{frag}Integration", self.logical_id);
            let route_id = format!("{}{frag}Route", self.logical_id);
            out.push((
                integration_id.clone(),
                Resource::new(
                    "AWS::ApiGatewayV2::Integration",
                    &json!({
                        "ApiId": self.id(),
                        "IntegrationType": "AWS_PROXY",
                        "IntegrationUri": route.function_arn,
                        "PayloadFormatVersion": "2.0",
                        "TimeoutInMillis": 30000,
                    }),
                ),
            ));
            out.push((
                route_id.clone(),
                Resource::new(
                    "AWS::ApiGatewayV2::Route",
                    &json!({
                        "ApiId": self.id(),
                        "RouteKey": route.route_key(),
                        "AuthorizationType": route.authorization.as_str(),
                        "Target": Expr::sub(format!("integrations/${{{integration_id}}}")),
                    }),
                ),
            ));
            let permission = Permission::new(
                &format!("{}{frag}Permission", self.logical_id),
                route.function_arn.clone(),
                "apigateway.amazonaws.com",
                self.route_arn(route),
            );
            out.extend(permission.resources());
            route_ids.push(route_id);
        }
        let stage: Value = json!({
            "ApiId": self.id(),
            "StageName": self.stage.name,
            "Description": "Deployed explicitly by the deployer after every change (AutoDeploy off).",
            "AutoDeploy": false,
            "DefaultRouteSettings": {
                "ThrottlingRateLimit": self.stage.throttling_rate_limit,
                "ThrottlingBurstLimit": self.stage.throttling_burst_limit,
                "DetailedMetricsEnabled": true,
            },
            "AccessLogSettings": {
                "DestinationArn": self.stage.access_log_destination,
                "Format": ACCESS_LOG_FORMAT,
            },
            "Tags": self.tags,
        });
        let ids: Vec<&str> = route_ids.iter().map(String::as_str).collect();
        out.push((
            self.stage_logical_id(),
            Resource::new("AWS::ApiGatewayV2::Stage", &stage).depends_on(&ids),
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(auth: Authorization) -> HttpApi {
        let mut api = HttpApi::new(
            "Api",
            "n",
            "d",
            StageProps {
                name: "dev".into(),
                throttling_rate_limit: 5.0,
                throttling_burst_limit: 10,
                access_log_destination: Expr::str("arn:logs"),
            },
        );
        api.add_lambda_route(LambdaRoute {
            method: "PUT".into(),
            path: "/code-generation".into(),
            function_arn: Expr::get_att("Fn", "Arn"),
            authorization: auth,
        });
        api
    }

    #[test]
    fn route_ids_and_permission_scope() {
        let res = api(Authorization::AwsIam).resources();
        let ids: Vec<&str> = res.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "Api",
                "ApiPutCodeGenerationIntegration",
                "ApiPutCodeGenerationRoute",
                "ApiPutCodeGenerationPermission",
                "ApiStage"
            ]
        );
        let perm = &res[3].1.properties;
        assert_eq!(
            perm["SourceArn"],
            json!({"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/dev/PUT/code-generation"})
        );
        assert_eq!(res[2].1.properties["AuthorizationType"], "AWS_IAM");
        assert_eq!(res[4].1.properties["AutoDeploy"], false);
    }

    #[test]
    fn access_log_format_is_json() {
        let v: Value = serde_json::from_str(ACCESS_LOG_FORMAT).expect("valid JSON");
        assert!(v.get("requestId").is_some());
    }
}
