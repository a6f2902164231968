//! The AWS SDK's HTTP client of the triggers: HTTP/1.1 over rustls with ring, keeping the
//! connection to each endpoint open between calls.
//!
//! Why not the SDK's own client (`aws-smithy-http-client`): it always links HTTP/2 and a
//! proxy-aware connection pool (0.7 MB of Create's binary, resident on every sandbox, see
//! BENCHMARKS.md), and Create sends one small request per invocation to one SES or SNS endpoint,
//! which HTTP/1.1 serves as well. The SDK still signs, retries and bounds every attempt; this
//! only moves bytes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use http::header::{HOST, HeaderValue};
use http::uri::{PathAndQuery, Scheme};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use rustls::RootCertStore;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Connecting when the SDK gives no connect timeout (ours always sets one).
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// An idle connection older than this is closed rather than reused: after a Lambda sandbox
/// thaws, the endpoint may have closed it long ago, and a request on it would fail.
const MAX_IDLE: Duration = Duration::from_secs(20);

/// The client the SDK configuration holds; every connector it hands out shares its idle
/// connections and its TLS configuration.
#[derive(Clone, Debug)]
pub struct Http1Client {
    shared: Arc<Shared>,
}

struct Shared {
    /// `None` when no TLS configuration could be built: HTTPS then fails, never trusts more.
    tls: Option<tokio_rustls::TlsConnector>,
    idle: Mutex<Vec<Idle>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("https", &self.tls.is_some())
            .finish()
    }
}

struct Idle {
    origin: Origin,
    sender: SendRequest<SdkBody>,
    since: Instant,
}

impl std::fmt::Debug for Idle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idle")
            .field("origin", &self.origin)
            .finish()
    }
}

/// Where a connection goes: scheme, host and port.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Origin {
    https: bool,
    host: String,
    port: u16,
}

impl Http1Client {
    /// A client whose HTTPS connections trust exactly `roots`.
    pub fn new(roots: RootCertStore) -> Http1Client {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .ok()
            .map(|builder| {
                let mut config = builder.with_root_certificates(roots).with_no_client_auth();
                config.alpn_protocols = vec![b"http/1.1".to_vec()];
                tokio_rustls::TlsConnector::from(Arc::new(config))
            });
        Http1Client {
            shared: Arc::new(Shared {
                tls,
                idle: Mutex::new(Vec::new()),
            }),
        }
    }
}

impl Http1Client {
    /// Sends one request on this client's connections, outside the SDK (Verify's siteverify
    /// and JWKS calls, [`crate::web`]).
    pub(crate) async fn send(
        &self,
        request: HttpRequest,
        connect_timeout: Duration,
    ) -> Result<HttpResponse, ConnectorError> {
        self.shared.send(request, connect_timeout).await
    }
}

impl HttpClient for Http1Client {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(Http1Connector {
            shared: self.shared.clone(),
            connect_timeout: settings
                .connect_timeout()
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        })
    }
}

#[derive(Debug)]
struct Http1Connector {
    shared: Arc<Shared>,
    connect_timeout: Duration,
}

impl HttpConnector for Http1Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let shared = self.shared.clone();
        let connect_timeout = self.connect_timeout;
        HttpConnectorFuture::new(async move { shared.send(request, connect_timeout).await })
    }
}

fn other(why: &'static str) -> ConnectorError {
    ConnectorError::other(why.into(), None)
}

impl Shared {
    async fn send(
        &self,
        request: HttpRequest,
        connect_timeout: Duration,
    ) -> Result<HttpResponse, ConnectorError> {
        let mut request = request
            .try_into_http1x()
            .map_err(|e| ConnectorError::other(e.into(), None))?;
        let uri = request.uri().clone();
        let https = match uri.scheme() {
            Some(s) if *s == Scheme::HTTPS => true,
            Some(s) if *s == Scheme::HTTP => false,
            _ => return Err(other("the endpoint is neither http nor https")),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| other("the endpoint has no host"))?;
        let origin = Origin {
            https,
            host: authority.host().trim_matches(['[', ']']).to_owned(),
            port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
        };
        // An HTTP/1.1 connection sends the target as given: the path, with the host in `Host`.
        if !request.headers().contains_key(HOST) {
            let host = HeaderValue::from_str(authority.as_str())
                .map_err(|_| other("the endpoint's host is not a header value"))?;
            request.headers_mut().insert(HOST, host);
        }
        let path = uri.path_and_query().map_or("/", PathAndQuery::as_str);
        *request.uri_mut() = path.parse().map_err(|_| other("the request path"))?;

        // A reused connection that the endpoint closed meanwhile hands the request back
        // unsent: send it once more on a new connection.
        let (mut sender, mut reused) = match self.take_idle(&origin) {
            Some(sender) => (sender, true),
            None => (self.connect(&origin, connect_timeout).await?, false),
        };
        loop {
            match sender.try_send_request(request).await {
                Ok(response) => {
                    self.keep(origin, sender);
                    let response = response.map(SdkBody::from_body_1_x);
                    return HttpResponse::try_from(response)
                        .map_err(|e| ConnectorError::other(e.into(), None));
                }
                Err(mut e) => match e.take_message() {
                    Some(unsent) if reused => {
                        request = unsent;
                        sender = self.connect(&origin, connect_timeout).await?;
                        reused = false;
                    }
                    _ => return Err(ConnectorError::io(e.into_error().into())),
                },
            }
        }
    }

    /// An open, ready connection to `origin`, if one is idle and not too old.
    fn take_idle(&self, origin: &Origin) -> Option<SendRequest<SdkBody>> {
        let mut idle = self.idle.lock().ok()?;
        idle.retain(|i| i.since.elapsed() < MAX_IDLE && !i.sender.is_closed());
        let at = idle
            .iter()
            .position(|i| i.origin == *origin && i.sender.is_ready())?;
        Some(idle.swap_remove(at).sender)
    }

    /// Keeps the connection for the next send. It becomes ready again once the SDK has read
    /// this response's body; [`Shared::take_idle`] checks that.
    fn keep(&self, origin: Origin, sender: SendRequest<SdkBody>) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.retain(|i| i.origin != origin);
            idle.push(Idle {
                origin,
                sender,
                since: Instant::now(),
            });
        }
    }

    async fn connect(
        &self,
        origin: &Origin,
        timeout: Duration,
    ) -> Result<SendRequest<SdkBody>, ConnectorError> {
        let connecting = async {
            let tcp = TcpStream::connect((origin.host.as_str(), origin.port))
                .await
                .map_err(|e| ConnectorError::io(e.into()))?;
            let _ = tcp.set_nodelay(true);
            if !origin.https {
                return handshake(tcp).await;
            }
            let tls = self
                .tls
                .as_ref()
                .ok_or_else(|| other("no TLS configuration"))?;
            let name = ServerName::try_from(origin.host.clone())
                .map_err(|_| other("the endpoint's host is not a TLS server name"))?;
            let stream = tls
                .connect(name, tcp)
                .await
                .map_err(|e| ConnectorError::io(e.into()))?;
            handshake(stream).await
        };
        tokio::time::timeout(timeout, connecting)
            .await
            .map_err(|_| ConnectorError::timeout("connecting timed out".into()))?
    }
}

/// Starts HTTP/1.1 on `io`; the connection is driven by its own task until either side ends it.
async fn handshake<T>(io: T) -> Result<SendRequest<SdkBody>, ConnectorError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| ConnectorError::io(e.into()))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}
