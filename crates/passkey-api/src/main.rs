//! The passkey registration API behind the stack's HTTP API (JWT authorizer on the user pool):
//! start and complete a registration, list and delete the caller's passkeys.

use std::convert::Infallible;

use aws_io::{AwsSettings, DynamoStore, PoolTokens, SesMail};
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue, header::CONTENT_TYPE};
use custom_auth::LogSettings;
use custom_auth::events::Incoming;
use custom_auth::passkey::api::{ApiConfig, ApiRequest, Io, handle};
use custom_auth::telemetry::{self, Function, Report, Telemetry};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let env = |name: &str| std::env::var(name).ok();
    tracing::subscriber::set_global_default(
        LogSettings::from_lookup(env)?.subscriber(std::io::stdout),
    )?;
    let aws = AwsSettings::from_lookup(env)?;
    let secrets = aws_io::Secrets::load(&aws, env).await?;
    let config = ApiConfig::from_lookup(|name| secrets.get(name).or_else(|| env(name)))?;
    let store = DynamoStore::new(Some(&config.state), aws.clone())?;
    let tokens = PoolTokens::new(aws.clone())?;
    let from = config.notice_from.as_deref().unwrap_or_default();
    let mail = SesMail::new(aws, from);
    let io = Io {
        store: &store,
        tokens: &tokens,
        mail: &mail,
    };
    let telemetry = Telemetry::from_lookup(env)?;
    run(service_fn(|event| handler(&config, &telemetry, io, event))).await
}

type Clients<'a> = Io<'a, DynamoStore, PoolTokens, SesMail>;

async fn handler(
    config: &ApiConfig,
    telemetry: &Telemetry,
    io: Clients<'_>,
    event: LambdaEvent<Incoming<ApiGatewayV2httpRequest>>,
) -> Result<ApiGatewayV2httpResponse, Infallible> {
    // (A malformed event is refused by `Incoming` with a fixed text: serde's would quote the
    // offending value, and the runtime logs it.)
    let Incoming(request) = event.payload;
    let claims = request
        .request_context
        .authorizer
        .and_then(|a| a.jwt)
        .map(|jwt| jwt.claims)
        .unwrap_or_default();
    let body = decode_body(request.body.as_deref(), request.is_base64_encoded);
    // The token the authorizer checked, as the client sent it (`Bearer ` optional, as API
    // Gateway takes it): the pool is asked whether it is still live.
    let token = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim())
        .map(|v| match v.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => v[7..].trim(),
            _ => v,
        })
        .unwrap_or_default();
    let answer = handle(
        config,
        io,
        ApiRequest {
            method: request.request_context.http.method.as_str(),
            path: request.raw_path.as_deref().unwrap_or_default(),
            claims: &claims,
            token,
            body: &body,
        },
        aws_io::unix_now(),
    )
    .await;
    let mut report = Report::new(Function::AccountApi);
    report.calls = aws_io::calls::take();
    report.audit.extend(answer.audit);
    telemetry.write(
        &report,
        telemetry::millis(std::time::SystemTime::now()),
        std::io::stdout(),
    );
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = answer.status.into();
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers = headers;
    response.body = (!answer.body.is_empty()).then_some(Body::Text(answer.body));
    Ok(response)
}

/// The body's bytes: API Gateway base64-encodes bodies it takes for binary.
fn decode_body(body: Option<&str>, base64: bool) -> Vec<u8> {
    let body = body.unwrap_or_default();
    if base64 {
        custom_auth::passkey::unb64_standard(body).unwrap_or_default()
    } else {
        body.as_bytes().to_vec()
    }
}
