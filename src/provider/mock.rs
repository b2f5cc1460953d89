//! A loopback HTTP/1.1 server that speaks the OpenAI chat completions and
//! Anthropic Messages wire formats, for tribunal's tests and the
//! `tribunal bench` benchmark. It runs on its own thread with its own
//! runtime (so a benchmark can leave its CPU time out), answers every request
//! with what a handler returns, and keeps connections alive.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request the server received.
#[derive(Debug, Clone, PartialEq)]
pub struct MockRequest {
    /// `POST`, `GET`, ...
    pub method: String,
    /// The path and query.
    pub path: String,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl MockRequest {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// What the server answers.
#[derive(Debug, Clone, PartialEq)]
pub struct MockReply {
    /// HTTP status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// How long to wait before answering.
    pub delay: Duration,
}

impl MockReply {
    /// A reply with a JSON body.
    pub fn json(status: u16, body: &Value) -> MockReply {
        MockReply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
            delay: Duration::ZERO,
        }
    }

    /// A reply with a raw body.
    pub fn raw(status: u16, body: &str) -> MockReply {
        MockReply {
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> MockReply {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Answers after `delay`.
    pub fn after(mut self, delay: Duration) -> MockReply {
        self.delay = delay;
        self
    }

    /// An OpenAI chat completion with `text` and usage.
    pub fn openai(text: &str, input_tokens: u64, output_tokens: u64) -> MockReply {
        MockReply::json(
            200,
            &json!({
                "id": "chatcmpl-mock", "object": "chat.completion", "created": 0, "model": "mock-model",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": input_tokens, "completion_tokens": output_tokens, "total_tokens": input_tokens + output_tokens}
            }),
        )
    }

    /// An OpenAI error body with a status.
    pub fn openai_error(status: u16, message: &str, kind: &str) -> MockReply {
        MockReply::json(
            status,
            &json!({"error": {"message": message, "type": kind, "param": null, "code": null}}),
        )
    }

    /// An Anthropic message with `text` and usage.
    pub fn anthropic(text: &str, input_tokens: u64, output_tokens: u64) -> MockReply {
        MockReply::json(
            200,
            &json!({
                "id": "msg_mock", "type": "message", "role": "assistant", "model": "mock-claude",
                "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": null,
                "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens}
            }),
        )
    }

    /// An Anthropic error body with a status.
    pub fn anthropic_error(status: u16, message: &str, kind: &str) -> MockReply {
        MockReply::json(
            status,
            &json!({"type": "error", "error": {"type": kind, "message": message}}),
        )
    }
}

/// The largest request head or body the mock server reads (64 MiB); it
/// closes the connection on a larger one.
const MAX_MOCK_BYTES: usize = 64 << 20;

type Handler = Arc<dyn Fn(&MockRequest, u64) -> MockReply + Send + Sync>;

/// A running mock server; it stops when dropped.
pub struct MockServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<MockRequest>>>,
    count: Arc<AtomicU64>,
    flight: Arc<Flight>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    cpu_tid: Arc<Mutex<Option<u64>>>,
}

impl MockServer {
    /// Starts a server on 127.0.0.1 whose `handler` gets each request and its
    /// index (0 for the first). With `keep` the requests are stored for
    /// [`MockServer::requests`].
    pub fn start(
        keep: bool,
        handler: impl Fn(&MockRequest, u64) -> MockReply + Send + Sync + 'static,
    ) -> std::io::Result<MockServer> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicU64::new(0));
        let flight = Arc::new(Flight::default());
        let flying = Arc::clone(&flight);
        let handler: Handler = Arc::new(handler);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (reqs, cnt) = (Arc::clone(&requests), Arc::clone(&count));
        let cpu_tid = Arc::new(Mutex::new(None));
        let tid_slot = Arc::clone(&cpu_tid);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("tribunal-mock".into())
            .spawn(move || {
                if let Ok(mut t) = tid_slot.lock() {
                    *t = thread_id();
                }
                rt.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(std_listener) else {
                        return;
                    };
                    let serve = async {
                        loop {
                            let Ok((stream, _)) = listener.accept().await else {
                                continue;
                            };
                            let _ = stream.set_nodelay(true);
                            let (h, r, c) =
                                (Arc::clone(&handler), Arc::clone(&reqs), Arc::clone(&cnt));
                            let f = Arc::clone(&flying);
                            tokio::spawn(connection(stream, h, keep.then_some(r), c, f));
                        }
                    };
                    tokio::select! {
                        _ = serve => {}
                        _ = rx => {}
                    }
                });
            })?;
        Ok(MockServer {
            addr,
            requests,
            count,
            flight,
            stop: Some(tx),
            thread: Some(thread),
            cpu_tid,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received so far (when started with `keep`).
    pub fn requests(&self) -> Vec<MockRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// How many requests were answered or are being answered.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The most requests the server was answering at one moment: received
    /// in full and not yet answered.
    pub fn peak_in_flight(&self) -> u64 {
        self.flight.peak.load(Ordering::SeqCst)
    }

    /// The Linux thread id of the server thread (to leave its CPU time out
    /// of a benchmark), when known.
    pub fn thread_id(&self) -> Option<u64> {
        self.cpu_tid.lock().ok().and_then(|t| *t)
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Requests being answered now, and the most at once.
#[derive(Debug, Default)]
struct Flight {
    now: AtomicU64,
    peak: AtomicU64,
}

fn thread_id() -> Option<u64> {
    // /proc/thread-self resolves to /proc/<pid>/task/<tid> on Linux.
    std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name()?.to_str()?.parse().ok())
}

async fn connection(
    mut stream: TcpStream,
    handler: Handler,
    keep: Option<Arc<Mutex<Vec<MockRequest>>>>,
    count: Arc<AtomicU64>,
    flight: Arc<Flight>,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    loop {
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i;
            }
            if buf.len() > MAX_MOCK_BYTES {
                return;
            }
            let mut chunk = [0u8; 8192];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap_or("").split(' ');
        let method = first.next().unwrap_or("").to_string();
        let path = first.next().unwrap_or("").to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        // A test server still bounds what it buffers.
        if head_end > MAX_MOCK_BYTES || len > MAX_MOCK_BYTES {
            return;
        }
        let body_start = head_end + 4;
        while buf.len() < body_start + len {
            let mut chunk = [0u8; 8192];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = buf[body_start..body_start + len].to_vec();
        buf.drain(..body_start + len);
        let req = MockRequest {
            method,
            path,
            headers,
            body,
        };
        let index = count.fetch_add(1, Ordering::Relaxed);
        let now = flight.now.fetch_add(1, Ordering::SeqCst) + 1;
        flight.peak.fetch_max(now, Ordering::SeqCst);
        let reply = handler(&req, index);
        if let Some(k) = &keep
            && let Ok(mut k) = k.lock()
        {
            k.push(req);
        }
        if !reply.delay.is_zero() {
            tokio::time::sleep(reply.delay).await;
        }
        let mut out = format!(
            "HTTP/1.1 {} {}\r\ncontent-length: {}\r\n",
            reply.status,
            reason(reply.status),
            reply.body.len()
        );
        for (n, v) in &reply.headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&reply.body);
        // Answered once the reply is on its way: the client may send the
        // next request only after reading it.
        flight.now.fetch_sub(1, Ordering::SeqCst);
        if stream.write_all(&bytes).await.is_err() {
            return;
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
