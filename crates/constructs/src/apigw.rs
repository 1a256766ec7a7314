//! The API Gateway v2 [`HttpApi`] construct: an HTTP API whose routes proxy to Lambda functions,
//! with one explicitly deployed stage (`AutoDeploy: false`), throttling and JSON access logs.
//!
//! The API itself can live in another stack ([`HttpApi::on_imported_api`]): this project's
//! bootstrap owns it, so that the roles that change the app stack can be scoped to that one API id
//! (API Gateway authorises management calls on `arn:<partition>:apigateway:<region>::/apis/<api-id>/...`,
//! API Gateway developer guide, "API Gateway Amazon Resource Name (ARN) reference"; checked
//! 2026-12-07). [`ApiResource`] is the API alone, for the stack that owns it.
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

/// An `AWS::ApiGatewayV2::Api` (protocol HTTP) alone: for a stack that owns the API while another
/// stack adds its routes and stage ([`HttpApi::on_imported_api`]).
#[derive(Debug, Clone)]
pub struct ApiResource {
    logical_id: String,
    name: String,
    description: String,
    tags: Tags,
}

impl ApiResource {
    /// An HTTP API named `name`.
    pub fn new(logical_id: &str, name: &str, description: &str, tags: &Tags) -> Self {
        Self {
            logical_id: logical_id.to_owned(),
            name: name.to_owned(),
            description: description.to_owned(),
            tags: tags.clone(),
        }
    }

    /// `Ref`: the API id.
    pub fn id(&self) -> Expr {
        Expr::reference(&self.logical_id)
    }

    /// `Fn::GetAtt ApiEndpoint`: `https://<api-id>.execute-api.<region>.amazonaws.com`.
    pub fn endpoint(&self) -> Expr {
        Expr::get_att(&self.logical_id, "ApiEndpoint")
    }

    fn resource(&self) -> Resource {
        Resource::new(
            "AWS::ApiGatewayV2::Api",
            &json!({
                "Name": self.name,
                "Description": self.description,
                "ProtocolType": "HTTP",
                "Tags": self.tags,
            }),
        )
    }
}

impl Construct for ApiResource {
    fn resources(&self) -> Vec<(String, Resource)> {
        vec![(self.logical_id.clone(), self.resource())]
    }
}

/// Where an [`HttpApi`]'s API comes from.
#[derive(Debug, Clone)]
enum Source {
    /// The construct creates the API.
    Own(ApiResource),
    /// Another stack created it; its id and endpoint are imported.
    Imported { id: Expr, endpoint: Expr },
}

/// An HTTP API with Lambda routes and one stage.
#[derive(Debug, Clone)]
pub struct HttpApi {
    logical_id: String,
    source: Source,
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
            source: Source::Own(ApiResource::new(
                logical_id,
                name,
                description,
                &Tags::new(),
            )),
            routes: Vec::new(),
            stage,
            tags: Tags::new(),
        }
    }

    /// Routes and a stage on an API another stack owns: `api_id` and `api_endpoint` are usually
    /// `Fn::ImportValue`s of that stack's exports. No `AWS::ApiGatewayV2::Api` is synthesised;
    /// `logical_id` prefixes the routes', integrations' and stage's logical ids. The stage carries
    /// no tags: tagging a stage after its creation is a call on `/tags/<stage ARN>`, outside
    /// `/apis/<api-id>/*`, and the roles that run this stack are scoped to the API's own paths.
    pub fn on_imported_api(
        logical_id: &str,
        api_id: Expr,
        api_endpoint: Expr,
        stage: StageProps,
    ) -> Self {
        Self {
            logical_id: logical_id.to_owned(),
            source: Source::Imported {
                id: api_id,
                endpoint: api_endpoint,
            },
            routes: Vec::new(),
            stage,
            tags: Tags::new(),
        }
    }

    /// Sets the tags (of the API it creates and of the stage; none on an imported API's stage).
    pub fn with_tags(mut self, tags: &Tags) -> Self {
        if let Source::Own(api) = &mut self.source {
            api.tags = tags.clone();
            self.tags = tags.clone();
        }
        self
    }

    /// Adds a Lambda route; the construct also adds the integration and an invoke permission
    /// scoped to this API, stage, method and path.
    pub fn add_lambda_route(&mut self, route: LambdaRoute) {
        self.routes.push(route);
    }

    /// The API id: `Ref` of the API it creates, or the imported id.
    pub fn id(&self) -> Expr {
        match &self.source {
            Source::Own(api) => api.id(),
            Source::Imported { id, .. } => id.clone(),
        }
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
        self.url(&format!("/{}", self.stage.name))
    }

    /// `<ApiEndpoint><path>`.
    pub fn url(&self, path: &str) -> Expr {
        match &self.source {
            Source::Own(_) => Expr::sub(format!("${{{}.ApiEndpoint}}{path}", self.logical_id)),
            Source::Imported { endpoint, .. } => {
                Expr::Join(String::new(), vec![endpoint.clone(), Expr::str(path)])
            }
        }
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
        let tail = format!("/{}/{}{}", self.stage.name, route.method, path.join("/"));
        match &self.source {
            Source::Own(_) => Expr::sub(format!(
                "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{}}}{tail}",
                self.logical_id,
            )),
            Source::Imported { id, .. } => Expr::Join(
                String::new(),
                vec![
                    Expr::sub(
                        "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:",
                    ),
                    id.clone(),
                    Expr::str(tail),
                ],
            ),
        }
    }
}

impl Construct for HttpApi {
    fn resources(&self) -> Vec<(String, Resource)> {
        let mut out = match &self.source {
            Source::Own(api) => api.resources(),
            Source::Imported { .. } => Vec::new(),
        };
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
        let mut stage: Value = json!({
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
        });
        if let Source::Own(_) = self.source {
            stage["Tags"] = json!(self.tags);
        }
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
    fn an_imported_api_gets_routes_and_a_stage_but_no_api_resource() {
        let mut api = HttpApi::on_imported_api(
            "Api",
            Expr::import_value("boot-ApiId"),
            Expr::import_value("boot-ApiEndpoint"),
            StageProps {
                name: "dev".into(),
                throttling_rate_limit: 5.0,
                throttling_burst_limit: 10,
                access_log_destination: Expr::str("arn:logs"),
            },
        )
        .with_tags(&Tags::from([("k".to_owned(), "v".to_owned())]));
        api.add_lambda_route(LambdaRoute {
            method: "PUT".into(),
            path: "/code-generation".into(),
            function_arn: Expr::get_att("Fn", "Arn"),
            authorization: Authorization::AwsIam,
        });
        let res = api.resources();
        assert!(
            res.iter()
                .all(|(_, r)| r.type_name != "AWS::ApiGatewayV2::Api")
        );
        let imported = json!({"Fn::ImportValue": "boot-ApiId"});
        for (_, r) in &res {
            if r.type_name.starts_with("AWS::ApiGatewayV2::") {
                assert_eq!(r.properties["ApiId"], imported);
            }
        }
        let stage = &res.last().expect("stage").1.properties;
        assert!(
            stage.get("Tags").is_none(),
            "no stage tags on an imported API"
        );
        assert_eq!(
            api.route_arn(&api.routes[0]).to_json(),
            json!({"Fn::Join": ["", [
                {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"},
                imported,
                "/dev/PUT/code-generation"
            ]]})
        );
        assert_eq!(
            api.stage_url().to_json(),
            json!({"Fn::Join": ["", [{"Fn::ImportValue": "boot-ApiEndpoint"}, "/dev"]]})
        );
    }

    #[test]
    fn access_log_format_is_json() {
        let v: Value = serde_json::from_str(ACCESS_LOG_FORMAT).expect("valid JSON");
        assert!(v.get("requestId").is_some());
    }
}
