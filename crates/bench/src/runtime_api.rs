//! A minimal Lambda Runtime API on loopback, enough for `lambda_runtime`: `GET .../next` waits
//! for an event the harness hands over; `POST .../response` and `.../error` hand the answer
//! back with the time it arrived.

use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};

/// What the function said about one event.
#[derive(Debug)]
pub struct Reply {
    /// `response` or `error`.
    pub kind: &'static str,
    /// The body.
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

/// The server end the harness drives.
pub struct RuntimeApi {
    /// `127.0.0.1:<port>`, for `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    /// Hands an event to the next `GET .../next`.
    pub events: mpsc::Sender<Vec<u8>>,
    /// The function's answers.
    pub replies: mpsc::Receiver<Reply>,
    /// When the first `GET .../next` arrived: the end of init.
    pub first_next: mpsc::Receiver<Instant>,
}

struct Shared {
    events: Mutex<mpsc::Receiver<Vec<u8>>>,
    replies: mpsc::Sender<Reply>,
    first_next: mpsc::Sender<Instant>,
}

/// Starts the server on a free loopback port.
pub async fn start() -> std::io::Result<RuntimeApi> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?.to_string();
    let (events_tx, events_rx) = mpsc::channel(1);
    let (replies_tx, replies_rx) = mpsc::channel(16);
    let (first_tx, first_rx) = mpsc::channel(1);
    let shared = std::sync::Arc::new(Shared {
        events: Mutex::new(events_rx),
        replies: replies_tx,
        first_next: first_tx,
    });
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let _ = socket.set_nodelay(true);
            tokio::spawn(serve(socket, shared.clone()));
        }
    });
    Ok(RuntimeApi {
        address,
        events: events_tx,
        replies: replies_rx,
        first_next: first_rx,
    })
}

async fn serve(mut socket: TcpStream, shared: std::sync::Arc<Shared>) {
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut request_id: u64 = 0;
    loop {
        let Some((method, path, body)) = read_request(&mut socket, &mut buf).await else {
            return;
        };
        let now = Instant::now();
        let written = if method == "GET" && path.ends_with("/invocation/next") {
            let _ = shared.first_next.try_send(now);
            let Some(event) = shared.events.lock().await.recv().await else {
                return;
            };
            request_id += 1;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 lambda-runtime-aws-request-id: req-{request_id}\r\n\
                 lambda-runtime-deadline-ms: 32503680000000\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:000000000000:function:bench\r\n\
                 lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000\r\n\r\n",
                event.len()
            );
            socket.write_all(head.as_bytes()).await.is_ok()
                && socket.write_all(&event).await.is_ok()
        } else {
            let kind = if path.ends_with("/response") {
                "response"
            } else {
                "error"
            };
            let _ = shared
                .replies
                .send(Reply {
                    kind,
                    body,
                    at: now,
                })
                .await;
            socket
                .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 16\r\ncontent-type: application/json\r\n\r\n{\"status\":\"OK\"}\n")
                .await
                .is_ok()
        };
        if !written {
            return;
        }
    }
}

/// Reads one HTTP/1.1 request (head and `content-length` body) from a kept-alive connection.
async fn read_request(
    socket: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Option<(String, String, Vec<u8>)> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let mut lines = head.lines();
            let mut first = lines.next()?.split_whitespace();
            let method = first.next()?.to_owned();
            let path = first.next()?.to_owned();
            let length: usize = lines
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let mut chunk = [0u8; 8192];
                let n = socket.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[end + 4..end + 4 + length].to_vec();
            buf.drain(..end + 4 + length);
            return Some((method, path, body));
        }
        let mut chunk = [0u8; 8192];
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
