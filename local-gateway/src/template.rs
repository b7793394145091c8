//! What the gateway reads from `template.yaml`: the HTTP API's routes (each
//! function's `HttpApi` events, and the Lambda integrations of its OpenAPI
//! `DefinitionBody`), which authorizer guards each one (from `Auth.Authorizers`
//! or the body's `components.securitySchemes`), and the API's CORS
//! configuration, so the local stack cannot drift from the deploy.
//!
//! A route or authorizer of the body may exist under a condition only
//! (`/path: !If [UsesES256, {...}, !Ref AWS::NoValue]`): it is served when
//! the condition holds for these parameter values, as CloudFormation would
//! create it.
//!
//! Parameter values come from the environment the functions get: a function
//! variable written `NAME: !Ref Param` gives `Param` the value of `$NAME`
//! (so `ALLOWED_ORIGINS` sets `AllowedOrigins`), else the parameter's
//! default. A small evaluator resolves the intrinsics the API's settings
//! use (`Ref`, `If`, `Equals`, `Not`, `And`, `Or`, `Split`, `Join`, `Select`,
//! `Sub` of parameters); anything else (`GetAtt`, say) stays unresolved.

use std::collections::{BTreeMap, HashMap};

use serde_yaml_ng::{Mapping, Value};

/// Why the template could not be read as an API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template.yaml is not YAML: {0}")]
    Yaml(String),
    #[error("template.yaml declares no AWS::Serverless::HttpApi")]
    NoApi,
    #[error("template.yaml: {0}")]
    Invalid(String),
}

/// Who guards a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guard {
    /// Open (`Auth: {Authorizer: NONE}`).
    None,
    /// A Lambda authorizer (payload 2.0, simple responses): the binary that
    /// decides.
    Lambda { function: String },
    /// API Gateway's own JWT authorizer (`JwtConfiguration`): tokens signed
    /// by a key of the issuer's JWKS, for `issuer`, for one of `audience`.
    Jwt {
        issuer: String,
        audience: Vec<String>,
    },
}

/// One route of the HTTP API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `GET`, `POST`, ... or `ANY`.
    pub method: String,
    /// As declared: `/auth/sessions/{sid}`, `/{proxy+}`.
    pub path: String,
    /// The binary (`BuildProperties.Binary`) that serves it.
    pub function: String,
    pub guard: Guard,
}

/// The HTTP API's CORS configuration (`CorsConfiguration`, or
/// `x-amazon-apigateway-cors` in its `DefinitionBody`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    pub allow_origins: Vec<String>,
    pub allow_credentials: bool,
    pub allow_headers: Vec<String>,
    pub allow_methods: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u64>,
}

/// The API as the gateway serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    pub routes: Vec<Route>,
    pub cors: Option<Cors>,
}

/// Parameter values and conditions of one reading of the template.
struct Eval<'t> {
    params: HashMap<String, String>,
    conditions: &'t Value,
}

impl Eval<'_> {
    /// `v` with every intrinsic it can resolve resolved; `None` for a value
    /// that resolves to nothing (`AWS::NoValue`) or cannot be resolved.
    fn value(&self, v: &Value) -> Option<Value> {
        if let Some((name, arg)) = intrinsic(v) {
            return self.call(&name, arg);
        }
        match v {
            Value::Sequence(items) => Some(Value::Sequence(
                items.iter().filter_map(|i| self.value(i)).collect(),
            )),
            Value::Mapping(m) => Some(Value::Mapping(
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), self.value(v)?)))
                    .collect(),
            )),
            other => Some(other.clone()),
        }
    }

    fn call(&self, name: &str, arg: &Value) -> Option<Value> {
        let args = || arg.as_sequence().map(Vec::as_slice).unwrap_or_default();
        match name {
            "Ref" => self.reference(arg.as_str()?),
            "If" => {
                let [cond, yes, no] = args() else {
                    return None;
                };
                let branch = if self.condition(cond.as_str()?)? {
                    yes
                } else {
                    no
                };
                self.value(branch)
            }
            "Equals" => {
                let [a, b] = args() else { return None };
                Some(Value::Bool(self.value(a)? == self.value(b)?))
            }
            "Not" => Some(Value::Bool(!self.truth(args().first()?)?)),
            "And" => Some(Value::Bool(self.truths(args())?.into_iter().all(|b| b))),
            "Or" => Some(Value::Bool(self.truths(args())?.into_iter().any(|b| b))),
            "Condition" => Some(Value::Bool(self.condition(arg.as_str()?)?)),
            "Split" => {
                let [sep, text] = args() else { return None };
                let (sep, text) = (text_of(&self.value(sep)?)?, text_of(&self.value(text)?)?);
                Some(Value::Sequence(
                    text.split(sep.as_str())
                        .map(|s| Value::String(s.to_owned()))
                        .collect(),
                ))
            }
            "Join" => {
                let [sep, items] = args() else { return None };
                let sep = text_of(&self.value(sep)?)?;
                let items = self.value(items)?;
                let parts: Option<Vec<String>> = items.as_sequence()?.iter().map(text_of).collect();
                Some(Value::String(parts?.join(&sep)))
            }
            "Select" => {
                let [index, items] = args() else { return None };
                let index: usize = text_of(&self.value(index)?)?.parse().ok()?;
                self.value(items)?.as_sequence()?.get(index).cloned()
            }
            "Sub" => self.sub(arg.as_str()?).map(Value::String),
            _ => None,
        }
    }

    fn reference(&self, name: &str) -> Option<Value> {
        if name == "AWS::NoValue" {
            return None;
        }
        self.params.get(name).cloned().map(Value::String)
    }

    /// `${Param}` replaced by its value; any other `${...}` is unresolved.
    fn sub(&self, text: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}')? + start;
            out.push_str(self.params.get(&rest[start + 2..end])?);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }

    /// `v` as written once its `If`s are taken: `None` when that leaves
    /// `AWS::NoValue` or a condition cannot be decided. Unlike [`Self::value`]
    /// it keeps what cannot be resolved inside (`!Sub ...${Fn.Arn}...`).
    fn chosen<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        match intrinsic(v) {
            Some((name, arg)) if name == "If" => {
                let [cond, yes, no] = arg.as_sequence()?.as_slice() else {
                    return None;
                };
                self.chosen(if self.condition(cond.as_str()?)? {
                    yes
                } else {
                    no
                })
            }
            Some((name, arg)) if name == "Ref" && arg.as_str() == Some("AWS::NoValue") => None,
            _ => Some(v),
        }
    }

    fn condition(&self, name: &str) -> Option<bool> {
        self.truth(self.conditions.get(name)?)
    }

    fn truth(&self, v: &Value) -> Option<bool> {
        self.value(v)?.as_bool()
    }

    /// The truth of each of `conditions` (the operands of `And`, `Or`);
    /// `None` when one cannot be decided.
    fn truths(&self, conditions: &[Value]) -> Option<Vec<bool>> {
        conditions.iter().map(|c| self.truth(c)).collect()
    }
}

/// `(name, argument)` of an intrinsic in either spelling: the short form
/// (`!Ref X`, a YAML tag) or the long one (`{"Fn::If": [...]}`, `{"Ref": X}`).
fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_owned(),
            &t.value,
        )),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, arg) = m.iter().next()?;
            let k = k.as_str()?;
            if k == "Ref" || k == "Condition" {
                Some((k.to_owned(), arg))
            } else {
                Some((k.strip_prefix("Fn::")?.to_owned(), arg))
            }
        }
        _ => None,
    }
}

/// A scalar as text (numbers and booleans as written).
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_sequence)
        .map(|items| items.iter().filter_map(text_of).collect())
        .unwrap_or_default()
}

/// The logical id in `!GetAtt Id.Arn` / `{"Fn::GetAtt": ["Id", "Arn"]}`.
fn get_att_target(v: &Value) -> Option<String> {
    let (name, arg) = intrinsic(v)?;
    if name != "GetAtt" {
        return None;
    }
    match arg {
        Value::String(s) => s.split('.').next().map(str::to_owned),
        Value::Sequence(items) => items.first()?.as_str().map(str::to_owned),
        _ => None,
    }
}

/// The function a Lambda integration's `uri` invokes: `!GetAtt Fn.Arn`, or
/// `!Sub "arn:...:functions/${Fn.Arn}/invocations"` as SAM writes it.
fn integration_function(uri: &Value) -> Option<String> {
    if let Some(id) = get_att_target(uri) {
        return Some(id);
    }
    let (name, arg) = intrinsic(uri)?;
    if name != "Sub" {
        return None;
    }
    let text = arg
        .as_str()
        .or_else(|| arg.as_sequence()?.first()?.as_str())?;
    text.split("${")
        .skip(1)
        .filter_map(|s| s.split_once('}'))
        .find_map(|(inner, _)| inner.strip_suffix(".Arn"))
        .map(str::to_owned)
}

/// The identity source the local gateway reads a JWT from, and the only one
/// it serves: the `Authorization` header (API Gateway's default for JWT
/// authorizers, and what template.yaml declares).
const JWT_IDENTITY_SOURCE: &str = "$request.header.Authorization";

/// A JWT authorizer's guard, from its identity source and its
/// `JwtConfiguration` (SAM) or `jwtConfiguration` (OpenAPI). Its issuer and
/// audience usually name parameters (`!Ref JwtIssuer`), so they take the
/// values of the variables that carry them (`JWT_ISSUER`); a setting with no
/// value is an error that names that variable, since the gateway could only
/// refuse every token.
fn jwt_guard(
    name: &str,
    source: Option<&Value>,
    config: &Value,
    eval: &Eval<'_>,
    carried_by: &BTreeMap<String, String>,
) -> Result<Guard, TemplateError> {
    let source = source.and_then(|s| eval.value(s)).and_then(|s| text_of(&s));
    if let Some(source) = source.filter(|s| s != JWT_IDENTITY_SOURCE) {
        return Err(TemplateError::Invalid(format!(
            "authorizer {name}: the local gateway reads JWTs from {JWT_IDENTITY_SOURCE} only, not {source}"
        )));
    }
    // SAM spells them `issuer`/`audience`, CloudFormation `Issuer`/`Audience`.
    let setting = |k: &str| {
        let mut pascal = k.to_owned();
        pascal[..1].make_ascii_uppercase();
        config.get(k).or_else(|| config.get(pascal.as_str()))
    };
    let issuer = setting("issuer")
        .and_then(|v| eval.value(v))
        .and_then(|v| text_of(&v))
        .filter(|i| !i.trim().is_empty())
        .ok_or_else(|| unresolved(name, "issuer", setting("issuer"), carried_by))?;
    let audience: Vec<String> = setting("audience")
        .and_then(|v| eval.value(v))
        .map(|v| text_of(&v).map_or_else(|| strings(Some(&v)), |one| vec![one]))
        .unwrap_or_default()
        .into_iter()
        .filter(|a| !a.trim().is_empty())
        .collect();
    if audience.is_empty() {
        return Err(unresolved(
            name,
            "audience",
            setting("audience"),
            carried_by,
        ));
    }
    Ok(Guard::Jwt { issuer, audience })
}

/// Why a JWT authorizer's `setting` has no value; when it is `!Ref` of a
/// parameter (alone or as the first item of a list), which variable to set.
fn unresolved(
    authorizer: &str,
    setting: &str,
    raw: Option<&Value>,
    carried_by: &BTreeMap<String, String>,
) -> TemplateError {
    let first = match raw {
        Some(Value::Sequence(items)) => items.first(),
        other => other,
    };
    let param = first
        .and_then(intrinsic)
        .filter(|(name, _)| name == "Ref")
        .and_then(|(_, p)| p.as_str().map(str::to_owned));
    let hint = match param {
        Some(p) => match carried_by.get(&p) {
            Some(var) => format!(": set {var} (parameter {p})"),
            None => format!(": parameter {p} has no value"),
        },
        None => String::new(),
    };
    TemplateError::Invalid(format!(
        "authorizer {authorizer}: JwtConfiguration.{setting} has no value{hint}"
    ))
}

/// Reads the API from the template's text, with parameter values taken from
/// `env` as the module documentation says.
pub fn read(text: &str, env: &impl Fn(&str) -> Option<String>) -> Result<Api, TemplateError> {
    let t: Value = serde_yaml_ng::from_str(text).map_err(|e| TemplateError::Yaml(e.to_string()))?;
    let resources = t
        .get("Resources")
        .and_then(Value::as_mapping)
        .ok_or_else(|| TemplateError::Invalid("no Resources".into()))?;
    let carried_by = carried_by(resources);
    let eval = context(&t, &carried_by, env);
    let (api_id, api) = of_type(resources, HTTP_API)
        .next()
        .ok_or(TemplateError::NoApi)?;
    let props = api.get("Properties");
    let body = props.and_then(|p| p.get("DefinitionBody"));
    let binaries = binaries(resources);
    let authorizers = Authorizers::of_api(props, body, &eval, &carried_by, &binaries);
    let mut routes = event_routes(resources, api_id, &binaries, &authorizers)?;
    routes.extend(body_routes(body, &eval, &binaries, &authorizers)?);
    Ok(Api {
        routes,
        cors: cors(props, &eval),
    })
}

/// The resource type of a function.
const FUNCTION: &str = "AWS::Serverless::Function";
/// The resource type of the HTTP API (the first one is the API served).
const HTTP_API: &str = "AWS::Serverless::HttpApi";

/// The template's resources of type `ty`, with their logical ids, in the
/// template's order.
fn of_type<'t>(
    resources: &'t Mapping,
    ty: &'static str,
) -> impl Iterator<Item = (&'t str, &'t Value)> {
    resources
        .iter()
        .filter(move |(_, r)| r.get("Type").and_then(Value::as_str) == Some(ty))
        .filter_map(|(k, r)| Some((k.as_str()?, r)))
}

/// Which function variable carries each parameter (`JWT_ISSUER: !Ref
/// JwtIssuer` maps `JwtIssuer` to `JWT_ISSUER`): the parameter takes that
/// variable's value, and an error about the parameter names the variable
/// to set.
fn carried_by(resources: &Mapping) -> BTreeMap<String, String> {
    let mut carried_by = BTreeMap::new();
    for (_, f) in of_type(resources, FUNCTION) {
        let vars = f
            .get("Properties")
            .and_then(|p| p.get("Environment"))
            .and_then(|e| e.get("Variables"))
            .and_then(Value::as_mapping);
        for (var, v) in vars.into_iter().flatten() {
            if let (Some(var), Some((name, Value::String(param)))) = (var.as_str(), intrinsic(v))
                && name == "Ref"
            {
                carried_by.insert(param.clone(), var.to_owned());
            }
        }
    }
    carried_by
}

/// What stands for the conditions of a template that declares none: no
/// condition is found in it, as in an empty `Conditions`.
static NO_CONDITIONS: Value = Value::Null;

/// The context the template's intrinsics and conditions are evaluated in:
/// each parameter's value (from `env`, through the variable that carries
/// it, else the parameter's `Default`; with neither it has none) and the
/// template's `Conditions`.
fn context<'t>(
    template: &'t Value,
    carried_by: &BTreeMap<String, String>,
    env: &impl Fn(&str) -> Option<String>,
) -> Eval<'t> {
    let mut params = HashMap::new();
    for (name, p) in template
        .get("Parameters")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
    {
        let Some(name) = name.as_str() else { continue };
        let from_env = carried_by.get(name).and_then(|var| env(var));
        let value = from_env.or_else(|| p.get("Default").and_then(text_of));
        if let Some(v) = value {
            params.insert(name.to_owned(), v);
        }
    }
    Eval {
        params,
        conditions: template.get("Conditions").unwrap_or(&NO_CONDITIONS),
    }
}

/// The binary each function is built as (`Metadata.BuildProperties.Binary`,
/// else its logical id in lower case), by logical id: what serves a route
/// or decides as a Lambda authorizer.
fn binaries(resources: &Mapping) -> HashMap<&str, String> {
    of_type(resources, FUNCTION)
        .map(|(id, f)| {
            let binary = f
                .get("Metadata")
                .and_then(|m| m.get("BuildProperties"))
                .and_then(|b| b.get("Binary"))
                .and_then(Value::as_str)
                .map_or_else(|| id.to_ascii_lowercase(), str::to_owned);
            (id, binary)
        })
        .collect()
}

/// The authorizers a route of the API may name: those of its
/// `Auth.Authorizers`, and the body's own (`x-amazon-apigateway-authorizer`
/// in `components.securitySchemes`); a route that names none has
/// `Auth.DefaultAuthorizer`. An authorizer is read when a route names it,
/// so one that no route uses is never checked.
struct Authorizers<'a> {
    default: Option<&'a str>,
    /// `Auth.Authorizers`.
    declared: Option<&'a Mapping>,
    /// The body's `securitySchemes`, once the `If` around them is taken.
    schemes: Option<&'a Mapping>,
    eval: &'a Eval<'a>,
    carried_by: &'a BTreeMap<String, String>,
    binaries: &'a HashMap<&'a str, String>,
}

impl<'a> Authorizers<'a> {
    /// The authorizers of the API of properties `props`, whose
    /// `DefinitionBody` is `body`.
    fn of_api(
        props: Option<&'a Value>,
        body: Option<&'a Value>,
        eval: &'a Eval<'a>,
        carried_by: &'a BTreeMap<String, String>,
        binaries: &'a HashMap<&'a str, String>,
    ) -> Self {
        let auth = props.and_then(|p| p.get("Auth"));
        Authorizers {
            default: auth
                .and_then(|a| a.get("DefaultAuthorizer"))
                .and_then(Value::as_str),
            declared: auth
                .and_then(|a| a.get("Authorizers"))
                .and_then(Value::as_mapping),
            schemes: body
                .and_then(|b| b.get("components"))
                .and_then(|c| c.get("securitySchemes"))
                .and_then(|s| eval.chosen(s))
                .and_then(Value::as_mapping),
            eval,
            carried_by,
            binaries,
        }
    }

    /// Who guards a route whose authorizer is `named`, or the default one
    /// when it names none; open when there is neither.
    fn guard(&self, named: Option<&str>) -> Result<Guard, TemplateError> {
        match named.or(self.default) {
            Some(name) => self.named(name),
            None => Ok(Guard::None),
        }
    }

    /// The guard of the authorizer `name`: open for `NONE`, else one of
    /// `Auth.Authorizers`, else one of the body's schemes.
    fn named(&self, name: &str) -> Result<Guard, TemplateError> {
        if name == "NONE" {
            return Ok(Guard::None);
        }
        match self.declared.and_then(|m| m.get(name)) {
            Some(a) => self.declared_guard(name, a),
            None => self.scheme_guard(name),
        }
    }

    /// The guard of `Auth.Authorizers.<name>` (`a`): API Gateway's JWT
    /// authorizer when it has a `JwtConfiguration`, else a Lambda
    /// authorizer, whose `FunctionArn` must be a function of the template.
    fn declared_guard(&self, name: &str, a: &Value) -> Result<Guard, TemplateError> {
        if let Some(config) = a.get("JwtConfiguration") {
            return jwt_guard(
                name,
                a.get("IdentitySource"),
                config,
                self.eval,
                self.carried_by,
            );
        }
        let function = a
            .get("FunctionArn")
            .and_then(get_att_target)
            .and_then(|id| self.binaries.get(id.as_str()).cloned())
            .ok_or_else(|| {
                TemplateError::Invalid(format!(
                    "authorizer {name} is not a function of the template"
                ))
            })?;
        Ok(Guard::Lambda { function })
    }

    /// The guard of the body's security scheme `name`, which exists only
    /// when its condition holds: of those the local gateway plays JWT
    /// authorizers (`type: jwt` with a `jwtConfiguration`) only.
    fn scheme_guard(&self, name: &str) -> Result<Guard, TemplateError> {
        let scheme = self
            .schemes
            .and_then(|m| m.get(name))
            .and_then(|s| self.eval.chosen(s))
            .and_then(|s| s.get("x-amazon-apigateway-authorizer"))
            .ok_or_else(|| TemplateError::Invalid(format!("no authorizer {name}")))?;
        let kind = scheme.get("type").and_then(Value::as_str);
        match scheme.get("jwtConfiguration") {
            Some(config) if kind.is_some_and(|k| k.eq_ignore_ascii_case("jwt")) => {
                let source = scheme.get("identitySource");
                jwt_guard(name, source, config, self.eval, self.carried_by)
            }
            _ => Err(TemplateError::Invalid(format!(
                "authorizer {name}: of the OpenAPI body's authorizers the local gateway plays JWT ones only"
            ))),
        }
    }
}

/// The routes of the functions' `HttpApi` events on the API `api_id`, in
/// the template's order (an event on another API is not one of its routes).
fn event_routes(
    resources: &Mapping,
    api_id: &str,
    binaries: &HashMap<&str, String>,
    authorizers: &Authorizers<'_>,
) -> Result<Vec<Route>, TemplateError> {
    let mut routes = Vec::new();
    for (id, f) in of_type(resources, FUNCTION) {
        let events = f
            .get("Properties")
            .and_then(|p| p.get("Events"))
            .and_then(Value::as_mapping);
        for (_, e) in events.into_iter().flatten() {
            if let Some(route) = event_route(id, e, api_id, binaries, authorizers)? {
                routes.push(route);
            }
        }
    }
    Ok(routes)
}

/// The route of the function `id`'s event `e`, if it is an `HttpApi` event
/// on the API `api_id`: its `Path` and `Method` (both required), served by
/// the function, guarded by the authorizer its `Auth.Authorizer` names or
/// else by the default one.
fn event_route(
    id: &str,
    e: &Value,
    api_id: &str,
    binaries: &HashMap<&str, String>,
    authorizers: &Authorizers<'_>,
) -> Result<Option<Route>, TemplateError> {
    if e.get("Type").and_then(Value::as_str) != Some("HttpApi") {
        return Ok(None);
    }
    let p = e.get("Properties");
    let on_api = p
        .and_then(|p| p.get("ApiId"))
        .and_then(intrinsic)
        .and_then(|(_, target)| target.as_str())
        == Some(api_id);
    if !on_api {
        return Ok(None);
    }
    let field = |k: &str| p.and_then(|p| p.get(k)).and_then(Value::as_str);
    let (Some(path), Some(method)) = (field("Path"), field("Method")) else {
        return Err(TemplateError::Invalid(format!(
            "{id}: an HttpApi event needs Path and Method"
        )));
    };
    let named = p
        .and_then(|p| p.get("Auth"))
        .and_then(|a| a.get("Authorizer"))
        .and_then(Value::as_str);
    Ok(Some(Route {
        method: method.to_ascii_uppercase(),
        path: path.to_owned(),
        function: binaries.get(id).cloned().unwrap_or_default(),
        guard: authorizers.guard(named)?,
    }))
}

/// The routes of the body itself (its `paths`): its Lambda integrations,
/// in the body's order. A path or method under a condition that does not
/// hold is not served.
fn body_routes(
    body: Option<&Value>,
    eval: &Eval<'_>,
    binaries: &HashMap<&str, String>,
    authorizers: &Authorizers<'_>,
) -> Result<Vec<Route>, TemplateError> {
    let paths = body
        .and_then(|b| b.get("paths"))
        .and_then(|p| eval.chosen(p))
        .and_then(Value::as_mapping);
    let mut routes = Vec::new();
    for (path, item) in paths.into_iter().flatten() {
        let (Some(path), Some(item)) = (path.as_str(), eval.chosen(item)) else {
            continue;
        };
        for (method, op) in item.as_mapping().into_iter().flatten() {
            let (Some(method), Some(op)) = (method.as_str(), eval.chosen(op)) else {
                continue;
            };
            if let Some(route) = body_route(path, method, op, binaries, authorizers)? {
                routes.push(route);
            }
        }
    }
    Ok(routes)
}

/// The route of the operation `op` (`method` of `path` in the body), if it
/// has a Lambda integration (`x-amazon-apigateway-integration`), which must
/// invoke a function of the template; guarded by the first authorizer its
/// `security` names, else by the default one (as SAM sets it).
fn body_route(
    path: &str,
    method: &str,
    op: &Value,
    binaries: &HashMap<&str, String>,
    authorizers: &Authorizers<'_>,
) -> Result<Option<Route>, TemplateError> {
    let Some(integration) = op.get("x-amazon-apigateway-integration") else {
        return Ok(None);
    };
    let function = integration
        .get("uri")
        .and_then(integration_function)
        .and_then(|id| binaries.get(id.as_str()).cloned())
        .ok_or_else(|| {
            TemplateError::Invalid(format!(
                "{method} {path}: the local gateway serves integrations with the template's functions only"
            ))
        })?;
    let named = op
        .get("security")
        .and_then(Value::as_sequence)
        .and_then(|s| s.first())
        .and_then(Value::as_mapping)
        .and_then(|m| m.keys().next())
        .and_then(Value::as_str);
    let guard = authorizers.guard(named)?;
    let method = if method == "x-amazon-apigateway-any-method" {
        "ANY".to_owned()
    } else {
        method.to_ascii_uppercase()
    };
    Ok(Some(Route {
        method,
        path: path.to_owned(),
        function,
        guard,
    }))
}

/// The API's CORS configuration: SAM's `CorsConfiguration`, else the
/// body's `x-amazon-apigateway-cors`, resolved for these parameter values;
/// none when neither is there or it resolves to nothing (`!If [HasOrigins,
/// ..., !Ref AWS::NoValue]`).
fn cors(props: Option<&Value>, eval: &Eval<'_>) -> Option<Cors> {
    let (c, openapi) = props
        .and_then(|p| p.get("CorsConfiguration"))
        .map(|c| (c, false))
        .or_else(|| {
            props
                .and_then(|p| p.get("DefinitionBody"))
                .and_then(|b| b.get("x-amazon-apigateway-cors"))
                .map(|c| (c, true))
        })?;
    Some(cors_settings(&eval.value(c)?, openapi))
}

/// The settings of a resolved CORS configuration `c`, whose keys SAM spells
/// in PascalCase (`AllowOrigins`) and OpenAPI (`openapi`) in camelCase
/// (`allowOrigins`). Origins are trimmed of blanks and of a trailing `/`,
/// and blank ones dropped.
fn cors_settings(c: &Value, openapi: bool) -> Cors {
    let key = |pascal: &str| {
        if openapi {
            let mut k = pascal.to_owned();
            k[..1].make_ascii_lowercase();
            c.get(k.as_str())
        } else {
            c.get(pascal)
        }
    };
    Cors {
        allow_origins: strings(key("AllowOrigins"))
            .into_iter()
            .filter(|o| !o.trim().is_empty())
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .collect(),
        allow_credentials: key("AllowCredentials").and_then(Value::as_bool) == Some(true),
        allow_headers: strings(key("AllowHeaders")),
        allow_methods: strings(key("AllowMethods")),
        expose_headers: strings(key("ExposeHeaders")),
        max_age: key("MaxAge").and_then(text_of).and_then(|v| v.parse().ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  AllowedOrigins: {Type: String, Default: ""}
  Stage: {Type: String, Default: "prod"}
Conditions:
  HasOrigins: !Not [!Equals [!Ref AllowedOrigins, ""]]
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      DefinitionBody:
        x-amazon-apigateway-cors: !If
          - HasOrigins
          - allowOrigins: !Split [",", !Ref AllowedOrigins]
            allowCredentials: true
            allowHeaders: [authorization]
            allowMethods: [GET, POST]
            exposeHeaders: [retry-after]
            maxAge: 600
          - !Ref AWS::NoValue
      Auth:
        DefaultAuthorizer: Guard
        Authorizers:
          Guard: {FunctionArn: !GetAtt AuthzFn.Arn}
  AuthzFn:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: authorizer}}
  OpenFn:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: login}}
    Properties:
      Environment: {Variables: {ALLOWED_ORIGINS: !Ref AllowedOrigins, STAGE: !Sub "/${Stage}/x"}}
      Events:
        Post: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /auth/login, Method: post, Auth: {Authorizer: NONE}}}
  ClosedFn:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: me}}
    Properties:
      Events:
        Get: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /me, Method: GET}}
        Other: {Type: HttpApi, Properties: {ApiId: !Ref OtherApi, Path: /x, Method: GET}}
"#;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn routes_carry_their_function_and_guard() {
        let api = read(TEMPLATE, &env(&[])).unwrap();
        assert_eq!(
            api.routes,
            [
                Route {
                    method: "POST".into(),
                    path: "/auth/login".into(),
                    function: "login".into(),
                    guard: Guard::None
                },
                Route {
                    method: "GET".into(),
                    path: "/me".into(),
                    function: "me".into(),
                    guard: Guard::Lambda {
                        function: "authorizer".into()
                    }
                },
            ]
        );
    }

    #[test]
    fn cors_follows_the_variable_that_carries_the_parameter() {
        assert_eq!(read(TEMPLATE, &env(&[])).unwrap().cors, None);
        let api = read(
            TEMPLATE,
            &env(&[("ALLOWED_ORIGINS", "http://a.test:1,http://b.test:2/")]),
        )
        .unwrap();
        assert_eq!(
            api.cors,
            Some(Cors {
                allow_origins: vec!["http://a.test:1".into(), "http://b.test:2".into()],
                allow_credentials: true,
                allow_headers: vec!["authorization".into()],
                allow_methods: vec!["GET".into(), "POST".into()],
                expose_headers: vec!["retry-after".into()],
                max_age: Some(600),
            })
        );
    }

    #[test]
    fn intrinsics_resolve_parameters_and_leave_the_rest() {
        let t: Value = serde_yaml_ng::from_str(
            r#"{a: !Sub "/${P}/auth", b: !Join [",", [x, !Ref P]], c: !Select [1, !Split [",", "u,v"]], d: !GetAtt X.Arn, e: {"Fn::If": [C, 1, 2]}}"#,
        )
        .unwrap();
        let conditions: Value = serde_yaml_ng::from_str("{C: !Equals [!Ref P, prod]}").unwrap();
        let eval = Eval {
            params: [("P".to_owned(), "prod".to_owned())].into(),
            conditions: &conditions,
        };
        let v = eval.value(&t).unwrap();
        assert_eq!(v["a"], Value::String("/prod/auth".into()));
        assert_eq!(v["b"], Value::String("x,prod".into()));
        assert_eq!(v["c"], Value::String("v".into()));
        assert!(v.get("d").is_none(), "GetAtt stays unresolved");
        assert_eq!(v["e"], Value::Number(1.into()));
    }

    /// The variables of the local stack (`make dev`), with
    /// `JWT_ACCESS_ALGORITHM=ES256` when `es256`.
    fn dev_env(es256: bool) -> impl Fn(&str) -> Option<String> {
        const VARS: &[(&str, &str)] = &[
            (
                "ALLOWED_ORIGINS",
                "http://127.0.0.1:9000,http://app.example.test:9000",
            ),
            ("JWT_ISSUER", "http://127.0.0.1:9000/prod"),
            ("JWT_AUDIENCE", "http://127.0.0.1:9000/prod"),
        ];
        let mut vars = VARS.to_vec();
        if es256 {
            vars.push(("JWT_ACCESS_ALGORITHM", "ES256"));
        }
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_projects_template_is_served_as_deployed() {
        let text = include_str!("../../template.yaml");
        let issuer = "http://127.0.0.1:9000/prod";
        let api = read(text, &dev_env(true)).unwrap();
        let guard = |method: &str, path: &str| {
            api.routes
                .iter()
                .find(|r| r.method == method && r.path == path)
                .map(|r| (r.function.as_str(), r.guard.clone()))
        };
        for name in ["register", "login", "refresh", "logout"] {
            let path = format!("/auth/{name}");
            assert_eq!(guard("POST", &path), Some((name, Guard::None)), "{path}");
        }
        let authorizer = Guard::Lambda {
            function: "authorizer".into(),
        };
        assert_eq!(guard("GET", "/me"), Some(("me", authorizer)));
        let gateway_jwt = Guard::Jwt {
            issuer: issuer.into(),
            audience: vec![issuer.into()],
        };
        assert_eq!(guard("GET", "/me/gateway-jwt"), Some(("me", gateway_jwt)));
        for document in [
            "/.well-known/jwks.json",
            "/.well-known/openid-configuration",
        ] {
            assert_eq!(guard("GET", document), Some(("jwks", Guard::None)));
        }
        let cors = api.cors.unwrap();
        assert_eq!(
            cors.allow_origins,
            ["http://127.0.0.1:9000", "http://app.example.test:9000"]
        );
        assert!(cors.allow_credentials);
        assert_eq!(cors.expose_headers, ["retry-after"]);
        let no_origins = env(&[("JWT_ISSUER", "i"), ("JWT_AUDIENCE", "a")]);
        assert!(read(text, &no_origins).unwrap().cors.is_none());
        assert!(
            read(text, &env(&[("JWT_ACCESS_ALGORITHM", "ES256")])).is_err(),
            "without JWT_ISSUER the GatewayJwt authorizer cannot be served"
        );
    }

    #[test]
    fn the_projects_jwt_authorizer_and_its_route_exist_only_under_es256() {
        let text = include_str!("../../template.yaml");
        let jwt_routes = |api: &Api| -> Vec<String> {
            api.routes
                .iter()
                .filter(|r| matches!(r.guard, Guard::Jwt { .. }))
                .map(|r| format!("{} {}", r.method, r.path))
                .collect()
        };
        let es256 = read(text, &dev_env(true)).unwrap();
        assert_eq!(jwt_routes(&es256), ["GET /me/gateway-jwt"]);
        let served = crate::router::find(&es256.routes, "GET", "/me/gateway-jwt").unwrap();
        assert_eq!(served.route.function, "me");

        // HS256 (the default): JwtIssuer is only a label, so there is no
        // JWT authorizer to trust whatever serves its discovery document,
        // and no route behind one: the gateway answers 404.
        let hs256 = read(text, &dev_env(false)).unwrap();
        assert_eq!(jwt_routes(&hs256), Vec::<String>::new());
        assert!(crate::router::find(&hs256.routes, "GET", "/me/gateway-jwt").is_none());
        let explicit = |k: &str| {
            (k == "JWT_ACCESS_ALGORITHM")
                .then(|| "HS256".to_owned())
                .or_else(|| dev_env(false)(k))
        };
        assert_eq!(read(text, &explicit).unwrap(), hs256);
        // Nothing else differs.
        let others = |api: &Api| -> Vec<Route> {
            api.routes
                .iter()
                .filter(|r| !matches!(r.guard, Guard::Jwt { .. }))
                .cloned()
                .collect()
        };
        assert_eq!(others(&es256), hs256.routes);
        assert_eq!(es256.cors, hs256.cors);
        // Without an issuer there is nothing to refuse under HS256.
        assert!(read(text, &env(&[])).is_ok());
    }

    /// An API whose OpenAPI body declares a JWT authorizer and a route behind
    /// it under a condition, beside an unconditional body route.
    const BODY_TEMPLATE: &str = r#"
Parameters:
  Alg: {Type: String, Default: HS256}
  JwtIssuer: {Type: String}
Conditions:
  Es: !Equals [!Ref Alg, ES256]
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      DefinitionBody:
        openapi: "3.0.1"
        paths:
          /jwt: !If
            - Es
            - get:
                security: [{Jwt: []}]
                x-amazon-apigateway-integration: {type: aws_proxy, uri: !Sub "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${MeFn.Arn}/invocations"}
            - !Ref AWS::NoValue
          /any:
            x-amazon-apigateway-any-method:
              x-amazon-apigateway-integration: {type: aws_proxy, uri: !GetAtt MeFn.Arn}
            parameters: []
        components:
          securitySchemes:
            Jwt: !If
              - Es
              - type: oauth2
                x-amazon-apigateway-authorizer:
                  type: jwt
                  identitySource: $request.header.Authorization
                  jwtConfiguration: {issuer: !Ref JwtIssuer, audience: [aud]}
              - !Ref AWS::NoValue
      Auth:
        DefaultAuthorizer: Guard
        Authorizers:
          Guard: {FunctionArn: !GetAtt AuthzFn.Arn}
  AuthzFn:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: authorizer}}
  MeFn:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: me}}
    Properties:
      Environment: {Variables: {ALG: !Ref Alg, ISS: !Ref JwtIssuer}}
"#;

    #[test]
    fn body_routes_and_authorizers_exist_only_when_their_condition_holds() {
        let any = Route {
            method: "ANY".into(),
            path: "/any".into(),
            function: "me".into(),
            guard: Guard::Lambda {
                function: "authorizer".into(),
            },
        };
        let off = read(BODY_TEMPLATE, &env(&[("ISS", "https://i.test")])).unwrap();
        assert_eq!(off.routes, std::slice::from_ref(&any));
        let on = read(
            BODY_TEMPLATE,
            &env(&[("ALG", "ES256"), ("ISS", "https://i.test")]),
        )
        .unwrap();
        assert_eq!(
            on.routes,
            [
                Route {
                    method: "GET".into(),
                    path: "/jwt".into(),
                    function: "me".into(),
                    guard: Guard::Jwt {
                        issuer: "https://i.test".into(),
                        audience: vec!["aud".into()],
                    },
                },
                any
            ]
        );
        // The body's JWT authorizer is checked as one of Auth.Authorizers is.
        assert_eq!(
            read(BODY_TEMPLATE, &env(&[("ALG", "ES256")])),
            Err(TemplateError::Invalid(
                "authorizer Jwt: JwtConfiguration.issuer has no value: set ISS (parameter JwtIssuer)"
                    .into()
            ))
        );
        let lambda_scheme = BODY_TEMPLATE.replace("type: jwt", "type: request");
        assert!(matches!(
            read(&lambda_scheme, &env(&[("ALG", "ES256"), ("ISS", "i")])),
            Err(TemplateError::Invalid(m)) if m.contains("JWT ones only")
        ));
    }

    /// An API with API Gateway's JWT authorizer, its issuer and audience
    /// parameters carried by the variables the functions read.
    const JWT_TEMPLATE: &str = r#"
Parameters:
  JwtIssuer: {Type: String, MinLength: 1}
  JwtAudience: {Type: String, MinLength: 1}
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        Authorizers:
          Jwt:
            IdentitySource: $request.header.Authorization
            JwtConfiguration:
              issuer: !Ref JwtIssuer
              audience: [!Ref JwtAudience, other-client]
  MeFn:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: me}}
    Properties:
      Environment: {Variables: {JWT_ISSUER: !Ref JwtIssuer, JWT_AUDIENCE: !Ref JwtAudience}}
      Events:
        Get: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /me/jwt, Method: GET, Auth: {Authorizer: Jwt}}}
"#;

    #[test]
    fn jwt_authorizers_take_issuer_and_audience_from_the_variables() {
        let api = read(
            JWT_TEMPLATE,
            &env(&[
                ("JWT_ISSUER", "http://127.0.0.1:9000/prod"),
                ("JWT_AUDIENCE", "http://127.0.0.1:9000/prod"),
            ]),
        )
        .unwrap();
        assert_eq!(
            api.routes,
            [Route {
                method: "GET".into(),
                path: "/me/jwt".into(),
                function: "me".into(),
                guard: Guard::Jwt {
                    issuer: "http://127.0.0.1:9000/prod".into(),
                    audience: vec!["http://127.0.0.1:9000/prod".into(), "other-client".into()],
                },
            }]
        );
    }

    #[test]
    fn a_jwt_authorizer_without_an_issuer_names_the_variable_to_set() {
        let err = read(JWT_TEMPLATE, &env(&[("JWT_AUDIENCE", "aud")])).unwrap_err();
        assert_eq!(
            err,
            TemplateError::Invalid(
                "authorizer Jwt: JwtConfiguration.issuer has no value: set JWT_ISSUER (parameter JwtIssuer)".into()
            )
        );
        // The literal second audience still counts: only the issuer is missing.
        let api = read(JWT_TEMPLATE, &env(&[("JWT_ISSUER", "https://i.test")])).unwrap();
        assert_eq!(
            api.routes[0].guard,
            Guard::Jwt {
                issuer: "https://i.test".into(),
                audience: vec!["other-client".into()],
            }
        );
        let other_source = JWT_TEMPLATE.replace(
            "$request.header.Authorization",
            "$request.querystring.token",
        );
        assert!(matches!(
            read(&other_source, &env(&[("JWT_ISSUER", "i"), ("JWT_AUDIENCE", "a")])),
            Err(TemplateError::Invalid(m)) if m.contains("$request.querystring.token")
        ));
    }

    #[test]
    fn a_template_without_an_http_api_is_refused() {
        assert_eq!(read("Resources: {}", &env(&[])), Err(TemplateError::NoApi));
        assert!(matches!(
            read(": : :", &env(&[])),
            Err(TemplateError::Yaml(_))
        ));
    }
}
