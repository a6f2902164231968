//! Test-only helpers: a loopback HTTP server that answers with a script, so the real HTTP and
//! AWS SDK clients can be pointed at a dependency that succeeds, fails, hangs or refuses.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How the fake dependency behaves on every request.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Answers with this status, content type and body.
    Respond(u16, &'static str, String),
    /// Reads the request and never answers (for the test's lifetime).
    Hang,
    /// Picks the behaviour by the request path's prefix (first match); 404 if none matches.
    Routes(Vec<(&'static str, Behaviour)>),
    /// Picks the behaviour by the AWS JSON protocol's operation, the end of the request's
    /// `X-Amz-Target` header (`...UpdateUserPool`); 400 if none matches.
    Operations(Vec<(&'static str, Behaviour)>),
}

impl Behaviour {
    fn for_request(&self, request: &str) -> Behaviour {
        if let Behaviour::Operations(operations) = self {
            let target = request
                .lines()
                .take_while(|l| !l.is_empty())
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("x-amz-target").then(|| v.trim())
                })
                .unwrap_or_default();
            return operations
                .iter()
                .find(|(name, _)| target.rsplit('.').next() == Some(*name))
                .map_or(
                    Behaviour::Respond(400, "application/x-amz-json-1.1", "{}".into()),
                    |(_, b)| b.for_request(request),
                );
        }
        let Behaviour::Routes(routes) = self else {
            return self.clone();
        };
        let path = request.split(' ').nth(1).unwrap_or_default();
        routes
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix))
            .map_or(
                Behaviour::Respond(404, "text/plain", "no route".into()),
                |(_, b)| b.for_request(request),
            )
    }
}

/// A running fake dependency on 127.0.0.1.
pub struct FakeServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    requests: Arc<Mutex<Vec<String>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    /// Starts serving `behaviour` on a free loopback port.
    pub async fn start(behaviour: Behaviour) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let behaviour = Arc::new(Mutex::new(behaviour));
        let current = behaviour.clone();
        let task = tokio::spawn(async move {
            // Bounded: enough for `make bench`, whose rows share one fake and open a connection
            // per request (about 25,000 since the passkey rows without a name: past the old
            // bound of 20,000, the last rows' requests met a closed port and the SDK's
            // retries), and no more.
            for _ in 0..100_000 {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let current = current.clone();
                let seen = seen.clone();
                tokio::spawn(async move {
                    let request = read_request(&mut socket).await;
                    let behaviour = current.lock().expect("lock").for_request(&request);
                    seen.lock().expect("lock").push(request);
                    match behaviour {
                        Behaviour::Hang => tokio::time::sleep(Duration::from_secs(30)).await,
                        Behaviour::Respond(status, content_type, body) => {
                            let head = format!(
                                "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                                body.len()
                            );
                            let _ = socket.write_all(head.as_bytes()).await;
                            let _ = socket.write_all(body.as_bytes()).await;
                            let _ = socket.shutdown().await;
                        }
                        Behaviour::Routes(_) | Behaviour::Operations(_) => {
                            unreachable!("resolved by for_request")
                        }
                    }
                });
            }
        });
        FakeServer {
            url,
            requests,
            behaviour,
            task,
        }
    }

    /// Changes how every later request is answered (an endpoint going down, say).
    pub fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().expect("lock") = behaviour;
    }

    /// The raw requests received so far (head and body).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback URL where nothing listens: connections are refused.
pub async fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("local addr"));
    drop(listener);
    url
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> String {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf)).await;
        let Ok(Ok(n)) = read else { break };
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0usize);
            if data.len() >= end + 4 + length {
                break;
            }
        }
        if data.len() > 1 << 20 {
            break;
        }
    }
    String::from_utf8_lossy(&data).into_owned()
}

/// Whether `secret` occurs in `text` as a whole word (no letter or digit right before or after
/// it), so that a six-digit code is not "found" inside a request id or a timestamp.
pub fn contains_word(text: &str, secret: &str) -> bool {
    text.match_indices(secret).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + secret.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[cfg(test)]
mod tests {
    use super::contains_word;

    #[test]
    fn words_not_substrings() {
        let table = [
            ("code is 482913.", true),
            ("{\"code\":\"482913\"}", true),
            ("482913", true),
            ("req-1482913a", false),
            ("17672482913000", false),
            ("", false),
        ];
        for (text, want) in table {
            assert_eq!(contains_word(text, "482913"), want, "{text}");
        }
    }
}

/// DynamoDB's side of the fault tests: answers in its JSON protocol, and the table of ways a
/// store can fail that every user of the state store is tested against.
pub mod dynamodb {
    use super::Behaviour;

    /// A DynamoDB answer with `status` and a JSON `body`.
    pub fn answer(status: u16, body: &str) -> Behaviour {
        Behaviour::Respond(status, "application/x-amz-json-1.0", body.to_owned())
    }

    /// DynamoDB's error `kind` (such as `ResourceNotFoundException`).
    pub fn error(kind: &str) -> Behaviour {
        answer(
            400,
            &format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{kind}","message":"m"}}"#),
        )
    }

    /// Every way the store fails, by name: hung, failing, throttled, its table missing,
    /// refused access, an answer that is not JSON, a refused write whose old item is garbage.
    /// (A refused connection needs no server: `refused_url`.)
    pub fn faults() -> Vec<(&'static str, Behaviour)> {
        vec![
            ("hang", Behaviour::Hang),
            ("500", answer(500, "{}")),
            ("throttled", error("ProvisionedThroughputExceededException")),
            ("request limit", error("RequestLimitExceeded")),
            ("missing table", error("ResourceNotFoundException")),
            ("access denied", error("AccessDeniedException")),
            ("not json", answer(200, "<html>")),
            (
                "garbage item",
                answer(
                    400,
                    r#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"m","Item":{"pk":{"S":"u#1"},"sends":{"S":"lots"},"fails":{"S":"many"}}}"#,
                ),
            ),
        ]
    }
}

/// A loopback HTTPS server with a fresh self-signed certificate for 127.0.0.1 that answers every
/// request with `200` and the JSON `body`; returns its URL and its certificate (PEM).
pub async fn https_server(body: &'static str) -> (String, String) {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let key = rustls_pki_types::PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key.into())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut stream) = acceptor.accept(tcp).await else {
                    return;
                };
                // One request, read until its headers end; the body is small and ignored.
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (url, certified.cert.pem())
}
