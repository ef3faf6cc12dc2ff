//! The driver: sends a [`super::request::Request`] with one `reqwest` client per process and TLS setting (rustls,
//! configured by the same code as SMTP's TLS, HTTP/2 where the server offers it), on the pool's runtime, and turns
//! what happened into the same result as an SMTP send.

use super::request::{build, Body, Login, Unsendable};
use super::response::{judge, Answer};
use super::Provider;
use crate::batch::BatchOptions;
use crate::config::Transport;
use crate::error::UsageError;
use crate::judge::Cause;
use crate::message::Outgoing;
use crate::pool;
use crate::result::{SendResult, Timings};
use crate::send::failure_of;
use crate::smtp::client::net::ConnectFailure;
use crate::smtp::error::{ErrorKind, Problem, SendError, Stage, TlsProblem};
use crate::smtp::tls::{self, RecordingVerifier};
use crate::smtp::transcript::{round_ms, Direction, Transcript};
use serde_json::{Map, Value as Json};
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::time::{timeout_at, Instant as Deadline};

/// The most of an answer's body that is read: API errors are a few hundred bytes.
const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// Response headers that name the request for the provider's support, kept in the transcript.
const REQUEST_ID_HEADERS: &[&str] = &["request-id", "client-request-id", "x-amzn-RequestId", "x-request-id", "x-guploader-uploadid"];

/// A client, the verifier that saw the server's certificate, and its count of new connections.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    verifier: Arc<RecordingVerifier>,
    connects: Arc<Connects>,
}

/// New connections (TCP and TLS) of one client: begun, ended (either way), made, and how long the last one
/// made took. A call that made none reused a kept-alive connection; a deadline that passes while one is being
/// made found a server that does not answer.
#[derive(Default)]
struct Connects {
    begun: AtomicU64,
    ended: AtomicU64,
    made: AtomicU64,
    last_ms: Mutex<f64>,
}

/// The clients are shared when these are equal: the TLS settings, the API's address and the timeout (which sets
/// how long a connection may take).
pub fn client_key(transport: &Transport) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (transport.api.as_ref().map(|a| (&a.host, a.port)), transport.verify_peer, &transport.ca_file, transport.tls_min_version, transport.timeout)
        .hash(&mut hasher);
    hasher.finish()
}

/// A new client for `transport`.
fn new_client(transport: &Transport) -> Result<Http, SendError> {
    let config_error = |m: String| SendError::new(ErrorKind::Tls, Stage::TlsHandshake, Problem::Tls(TlsProblem::Config), m);
    let (config, verifier) = tls::client_config(transport).map_err(config_error)?;
    let mut config = Arc::unwrap_or_clone(config);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let connects = Arc::new(Connects::default());
    let mut builder = reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .dns_resolver(Arc::new(Resolver))
        .connector_layer(CountConnects(connects.clone()))
        // Nine tenths of the call's time for the connection: one that has not answered by then is dropped on the
        // way (a firewall), which the rest of the time lets the result say.
        .connect_timeout(transport.timeout.mul_f64(0.9))
        .pool_idle_timeout(pool::idle_timeout())
        // A redirect would carry the token elsewhere; the APIs answer without one.
        .redirect(reqwest::redirect::Policy::none())
        // Straight to the API, as SMTP connects: no proxy from the environment.
        .no_proxy()
        .user_agent(concat!("rust-mail/", env!("CARGO_PKG_VERSION")));
    if !transport.pool {
        builder = builder.pool_max_idle_per_host(0);
    }
    let client = builder.build().map_err(|e| config_error(format!("cannot set up the HTTPS client: {e}")))?;
    Ok(Http { client, verifier, connects })
}

/// This process's client for `transport` (a new one each call with `pool` off).
pub fn client_for(state: &mut pool::ProcessState, transport: &Transport) -> Result<Http, SendError> {
    if !transport.pool {
        return new_client(transport);
    }
    let key = client_key(transport);
    if let Some(http) = state.http.get(&key) {
        return Ok(http.clone());
    }
    let http = new_client(transport)?;
    state.http.insert(key, http.clone());
    Ok(http)
}

/// `rust_mail_send()` over an API.
pub fn send(message: &Outgoing, transport: &Transport) -> Result<Json, String> {
    pool::with_state(|state| {
        let deadline = Deadline::now() + transport.timeout;
        let result = match client_for(state, transport) {
            Ok(http) => state.runtime.block_on(send_on(&http, transport, message, deadline)),
            Err(e) => failed_before_request(transport, message, e),
        };
        result.to_json(&transport.secrets())
    })
}

/// `rust_mail_send_many()` over an API: requests in parallel (at most [`Provider::max_in_flight`]), started by
/// `per_minute`, within the batch's deadline; a 429 or 503 whose `Retry-After` ends before the deadline is
/// waited out and sent once more. One result per message, in the order given.
pub fn send_many(messages: Vec<Result<Outgoing, UsageError>>, transport: &Transport, options: &BatchOptions) -> Result<Vec<Json>, String> {
    let provider = transport.api.as_ref().expect("an API transport").provider;
    pool::with_state(|state| {
        let http = match client_for(state, transport) {
            Ok(http) => http,
            Err(e) => {
                let failed = |m: Result<Outgoing, UsageError>| match m {
                    Ok(message) => failed_before_request(transport, &message, e.clone()).to_json(&transport.secrets()),
                    Err(e) => SendResult::invalid_input(&e).to_json(&[]),
                };
                return Ok(messages.into_iter().map(failed).collect());
            }
        };
        let start = Deadline::now();
        let batch_deadline = start + options.timeout_for(transport);
        let interval = options.per_minute.map(|n| Duration::from_secs(60) / n);
        let in_flight = Arc::new(tokio::sync::Semaphore::new(provider.max_in_flight()));
        let transport = Arc::new(transport.clone());
        state.runtime.block_on(async {
            let mut sends = tokio::task::JoinSet::new();
            let mut results = vec![Json::Null; messages.len()];
            let mut started = 0u32;
            for (index, message) in messages.into_iter().enumerate() {
                let message = match message {
                    Ok(message) => message,
                    Err(e) => {
                        results[index] = SendResult::invalid_input(&e).to_json(&[]);
                        continue;
                    }
                };
                let slot = interval.map_or(start, |interval| start + interval * started);
                started += 1;
                let (http, transport, in_flight) = (http.clone(), transport.clone(), in_flight.clone());
                sends.spawn(async move {
                    let _permit = in_flight.acquire_owned().await.expect("the semaphore is never closed");
                    let result = if slot.max(Deadline::now()) >= batch_deadline {
                        out_of_time(&transport, &message)
                    } else {
                        tokio::time::sleep_until(slot).await;
                        send_retrying(&http, &transport, &message, batch_deadline).await
                    };
                    (index, result)
                });
            }
            while let Some(done) = sends.join_next().await {
                let (index, mut result) = done.map_err(|e| format!("a send_many request failed: {e}"))?;
                if !options.transcripts.keep(result.ok) {
                    result.transcript = Json::Array(Vec::new());
                }
                results[index] = result.to_json(&transport.secrets());
            }
            Ok(results)
        })
    })?
}

/// One message of a batch: sent, and sent once more after a `Retry-After` that ends before the batch does.
async fn send_retrying(http: &Http, transport: &Transport, message: &Outgoing, batch_deadline: Deadline) -> SendResult {
    let deadline = batch_deadline.min(Deadline::now() + transport.timeout);
    let first = send_on(http, transport, message, deadline).await;
    let wait = match first.error.as_ref().and_then(|e| e.retry_after) {
        Some(secs) if Deadline::now() + Duration::from_secs(secs) < batch_deadline => Duration::from_secs(secs),
        _ => return first,
    };
    tokio::time::sleep(wait).await;
    let deadline = batch_deadline.min(Deadline::now() + transport.timeout);
    let mut again = send_on(http, transport, message, deadline).await;
    let mut transcript = match first.transcript {
        Json::Array(entries) => entries,
        _ => Vec::new(),
    };
    // Each attempt's lines count from its own start; the note stands at the end of the first.
    let note = format!("waited {} s as Retry-After asked, then sent again", wait.as_secs());
    transcript.push(serde_json::json!({ "ms": first.timings.total, "dir": "info", "line": note }));
    if let Json::Array(entries) = again.transcript {
        transcript.extend(entries);
    }
    again.transcript = Json::Array(transcript);
    again
}

fn out_of_time(transport: &Transport, message: &Outgoing) -> SendResult {
    let error = SendError::new(ErrorKind::Timeout, Stage::Connect, Problem::Timeout, "not sent: the batch's timeout ran out before its turn");
    failed_before_request(transport, message, error)
}

/// The result of a message that no request was made for.
fn failed_before_request(transport: &Transport, message: &Outgoing, error: SendError) -> SendResult {
    let mut t = Transcript::new(Instant::now());
    t.info(error.message.clone());
    result(transport, message, Err(error), &t, Timings::default(), false)
}

/// Sends `message` by `deadline` and describes what happened.
pub async fn send_on(http: &Http, transport: &Transport, message: &Outgoing, deadline: Deadline) -> SendResult {
    let mut t = Transcript::new(Instant::now());
    let sent = exchange(http, transport, message, deadline, &mut t).await;
    if sent.status.is_none() && sent.outcome.as_ref().is_err_and(|e| e.stage == Stage::Input) {
        return failed_before_request(transport, message, sent.outcome.expect_err("refused before the request"));
    }
    let mut result = result(transport, message, sent.outcome, &t, sent.timings, sent.reused);
    result.code = sent.status;
    result.reply = sent.reply;
    result
}

/// One request and the answer judged: what [`send_on`] makes a result of, and what Diagnose's send step records.
pub struct Exchange {
    /// `Ok` with the message accepted; the failure (stage `input`: refused before any request) otherwise.
    pub outcome: Result<(), SendError>,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// The result's `reply` line, when an answer came.
    pub reply: Option<String>,
    timings: Timings,
    reused: bool,
}

/// Sends `message` by `deadline`, writing what happens to `t`.
pub async fn exchange(http: &Http, transport: &Transport, message: &Outgoing, deadline: Deadline, t: &mut Transcript) -> Exchange {
    let unanswered = |outcome, timings, reused| Exchange { outcome, status: None, reply: None, timings, reused };
    let target = transport.api.as_ref().expect("an API transport");
    let login = Login { username: transport.username.as_deref(), secret: transport.password.as_ref().map_or("", |s| s.0.as_str()) };
    let request = match build(target, &login, message, SystemTime::now()) {
        Ok(request) => request,
        Err(why) => return unanswered(Err(unsendable(target.provider, why)), Timings::default(), false),
    };
    let size = request.body.size();
    let made_before = http.connects.made.load(Ordering::Relaxed);
    t.info(format!("sending to {} ({})", target.base, target.provider.title()));

    let mut call = http.client.post(&request.url);
    for (name, value) in &request.headers {
        call = call.header(name, value);
    }
    call = match request.body {
        Body::Bytes(bytes) => call.body(bytes),
        Body::Form { to, message } => {
            let part = reqwest::multipart::Part::bytes(message).file_name("message.mime").mime_str("message/rfc822").expect("a valid MIME type");
            call.multipart(reqwest::multipart::Form::new().text("to", to).part("message", part))
        }
    };
    let exchange = async {
        let response = call.send().await?;
        let (status, version, headers) = (response.status(), response.version(), response.headers().clone());
        let mut body = Vec::new();
        let mut response = response;
        while let Some(chunk) = response.chunk().await? {
            body.extend_from_slice(&chunk[..chunk.len().min(MAX_ANSWER_BYTES.saturating_sub(body.len()))]);
        }
        Ok::<_, reqwest::Error>((status, version, headers, body))
    };
    let answered = timeout_at(deadline, exchange).await;
    let made = http.connects.made.load(Ordering::Relaxed) > made_before;
    let connect_ms = if made { *http.connects.last_ms.lock().unwrap_or_else(|e| e.into_inner()) } else { 0.0 };
    let timings = Timings { connect: connect_ms, send: (t.elapsed_ms() - connect_ms).max(0.0), ..Timings::default() };
    let (status, version, headers, body) = match answered {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => {
            t.push(Direction::Client, format!("POST {} ({size} bytes)", request.path));
            let mut error = request_error(&e, http, target);
            if error.kind == ErrorKind::ConnectTimeout && tcp_answers(target, deadline).await {
                // The connection was made and the TLS handshake went unanswered: a server that is not speaking TLS
                // there, or hung; not a firewall, which would have left the connection unanswered too.
                error = SendError::new(
                    ErrorKind::Timeout,
                    Stage::TlsHandshake,
                    Problem::Timeout,
                    format!("{} accepted the connection but did not answer the TLS handshake before the timeout", peer(target)),
                );
            }
            t.info(error.message.clone());
            return unanswered(Err(error), timings, false);
        }
        Err(_) => {
            t.push(Direction::Client, format!("POST {} ({size} bytes)", request.path));
            let connecting = http.connects.begun.load(Ordering::Relaxed) > http.connects.ended.load(Ordering::Relaxed);
            // A connection still being made when the time ran out: the server never answered it.
            let error = if connecting {
                ConnectFailure::Timeout.into_send_error(peer(target))
            } else {
                SendError::new(
                    ErrorKind::Timeout,
                    Stage::Request,
                    Problem::Timeout,
                    format!("{} did not answer the request before the timeout", target.provider.title()),
                )
            };
            t.info(error.message.clone());
            return unanswered(Err(error), timings, false);
        }
    };
    t.push(Direction::Client, format!("POST {} ({}, {size} bytes)", request.path, version_name(version)));
    t.push(Direction::Server, format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("")).trim_end().to_string());
    for name in REQUEST_ID_HEADERS {
        if let Some(value) = headers.get(*name).and_then(|v| v.to_str().ok()) {
            t.push(Direction::Server, format!("{name}: {value}"));
        }
    }
    let reason = status.canonical_reason().unwrap_or("");
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let answer = Answer { status: status.as_u16(), retry_after: header("retry-after"), error_type: header("x-amzn-errortype"), body: &body };
    let sender = message.envelope_from.as_ref().map(ToString::to_string);
    let outcome = judge(target.provider, &answer, sender.as_deref(), SystemTime::now()).map_err(|refusal| {
        let reply = refusal.reply_line(reason);
        t.push(Direction::Server, reply.clone());
        let message = format!("{} refused the message: {reply}", target.provider.title());
        SendError { kind: refusal.kind, stage: Stage::Request, problem: Problem::Api(Box::new(refusal)), message, reply: None, size_limit: None }
    });
    if let Ok(Some(id)) = &outcome {
        t.info(format!("accepted as {id}"));
    }
    let reply = match &outcome {
        Err(SendError { problem: Problem::Api(refusal), .. }) => refusal.reply_line(reason),
        _ => format!("{} {reason}", status.as_u16()).trim_end().to_string(),
    };
    Exchange { outcome: outcome.map(|_| ()), status: Some(status.as_u16()), reply: Some(reply), timings, reused: !made }
}

/// Why a message cannot go, as a send error at the stage `input`.
fn unsendable(provider: Provider, why: Unsendable) -> SendError {
    let refusal = |cause: Cause, message: String| super::local_failure(ErrorKind::DataRejected, Stage::Input, cause, message);
    match why {
        Unsendable::TooLarge { size, limit } => {
            refusal(Cause::MessageTooLarge, format!("not sent: the request would be {size} bytes, more than the {limit} bytes {} takes", provider.title()))
        }
        Unsendable::NoDomain => refusal(
            Cause::ApiRequestRejected,
            "not sent: the message has no envelope sender, so $transport['username'] must name the Mailgun sending domain".to_string(),
        ),
        Unsendable::Signing(why) => refusal(Cause::ApiRequestRejected, format!("not sent: the SES request could not be signed: {why}")),
    }
}

/// A request that got no answer, by what failed: the name, the connection, TLS, or the exchange.
fn request_error(e: &reqwest::Error, http: &Http, target: &super::ApiTarget) -> SendError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = source {
        if let Some(unresolved) = error.downcast_ref::<Unresolved>() {
            return SendError::new(ErrorKind::Dns, Stage::Dns, Problem::Unresolved, unresolved.0.clone());
        }
        if let Some(tls_error) = error.downcast_ref::<rustls::Error>() {
            let presented = http.verifier.presented.lock().unwrap_or_else(|e| e.into_inner()).as_deref().and_then(tls::cert_info);
            let message = tls::describe_error(tls_error, &target.host, presented.as_ref());
            return SendError::new(ErrorKind::Tls, Stage::TlsHandshake, Problem::Tls(tls::problem(tls_error)), message);
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            let failure = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => Some(ConnectFailure::Refused),
                std::io::ErrorKind::TimedOut if e.is_connect() => Some(ConnectFailure::Timeout),
                _ if matches!(io.raw_os_error(), Some(libc::ENETUNREACH | libc::EHOSTUNREACH)) => {
                    Some(ConnectFailure::Unreachable(std::io::Error::from(io.kind())))
                }
                _ => None,
            };
            if let Some(failure) = failure {
                return failure.into_send_error(peer(target));
            }
        }
        // An io::Error's source() skips the error it wraps (a rustls error, another io::Error): step into it.
        let wrapped = error.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()).map(|inner| inner as &(dyn std::error::Error + 'static));
        source = wrapped.or_else(|| error.source());
    }
    if e.is_timeout() && e.is_connect() {
        return ConnectFailure::Timeout.into_send_error(peer(target));
    }
    if e.is_connect() {
        let message = format!("cannot connect to {} over TLS: {}", peer(target), innermost_cause(e));
        return SendError::new(ErrorKind::Tls, Stage::TlsHandshake, Problem::Tls(TlsProblem::Closed), message);
    }
    SendError::new(ErrorKind::Protocol, Stage::Request, Problem::Closed, format!("the request to {} failed: {}", target.host, innermost_cause(e)))
}

/// Whether `target` accepts a TCP connection by `deadline`: after a connection attempt ran out of time, it tells a
/// dropped connection from an unanswered TLS handshake. The HTTP client's connect timeout leaves a tenth of the
/// call's time for it.
async fn tcp_answers(target: &super::ApiTarget, deadline: Deadline) -> bool {
    matches!(timeout_at(deadline, tokio::net::TcpStream::connect((target.host.as_str(), target.port))).await, Ok(Ok(_)))
}

/// `host:port` of the API, as failures name it.
fn peer(target: &super::ApiTarget) -> String {
    format!("{}:{}", target.host, target.port)
}

/// The error's innermost cause, which says what happened (the outer ones name the request).
fn innermost_cause(e: &reqwest::Error) -> String {
    let mut last: &dyn std::error::Error = e;
    while let Some(source) = last.source() {
        last = source;
    }
    last.to_string()
}

/// The result array of one API send, in the shape of an SMTP send's.
fn result(transport: &Transport, message: &Outgoing, outcome: Result<(), SendError>, t: &Transcript, timings: Timings, reused: bool) -> SendResult {
    let from = message.envelope_from.as_ref().map(ToString::to_string);
    let recipients: Vec<String> = message.recipients.iter().map(ToString::to_string).collect();
    let refusal = match &outcome {
        Err(SendError { problem: Problem::Api(refusal), .. }) => Some(refusal),
        _ => None,
    };
    let rejected: Map<String, Json> = match refusal {
        Some(r) if r.recipients_refused => recipients.iter().map(|to| (to.clone(), Json::String(r.reply_line("")))).collect(),
        _ => Map::new(),
    };
    SendResult {
        ok: outcome.is_ok(),
        message_id: message.message_id.clone(),
        accepted: if outcome.is_ok() { recipients } else { Vec::new() },
        rejected,
        // Set by the caller once there is an answer.
        code: None,
        enhanced_code: refusal.and_then(|r| r.provider_code.clone()),
        reply: None,
        error: outcome.as_ref().err().map(|e| failure_of(e, transport, from)),
        transcript: t.to_json(),
        timings: Timings { connect: round_ms(timings.connect), tls: 0.0, auth: 0.0, send: round_ms(timings.send), total: round_ms(t.elapsed_ms()) },
        reused_connection: reused,
    }
}

fn version_name(version: reqwest::Version) -> &'static str {
    match version {
        reqwest::Version::HTTP_2 => "HTTP/2",
        reqwest::Version::HTTP_11 => "HTTP/1.1",
        reqwest::Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP",
    }
}

/// A name that did not resolve, as the resolver says it: found again in the client's error to tell DNS apart.
#[derive(Debug)]
struct Unresolved(String);

impl std::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unresolved {}

/// The system's resolver, as the SMTP path resolves, with its failures typed.
struct Resolver;

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let unresolved = |why: String| -> Box<dyn std::error::Error + Send + Sync> { Box::new(Unresolved(why)) };
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await.map_err(|e| unresolved(format!("cannot resolve {host}: {e}")))?.collect();
            if addrs.is_empty() {
                return Err(unresolved(format!("{host} has no address")));
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Counts the client's new connections (see [`Connects`]).
#[derive(Clone)]
struct CountConnects(Arc<Connects>);

impl<S> tower_layer::Layer<S> for CountConnects {
    type Service = Counted<S>;
    fn layer(&self, inner: S) -> Counted<S> {
        Counted { inner, connects: self.0.clone() }
    }
}

#[derive(Clone)]
struct Counted<S> {
    inner: S,
    connects: Arc<Connects>,
}

/// Marks a connection attempt ended however its future ends, dropped by a deadline included.
struct Ending(Arc<Connects>);

impl Drop for Ending {
    fn drop(&mut self) {
        self.0.ended.fetch_add(1, Ordering::Relaxed);
    }
}

impl<S, R> tower_service::Service<R> for Counted<S>
where
    S: tower_service::Service<R>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let connects = self.connects.clone();
        connects.begun.fetch_add(1, Ordering::Relaxed);
        let ending = Ending(connects.clone());
        let connecting = self.inner.call(request);
        Box::pin(async move {
            let started = Instant::now();
            let connected = connecting.await;
            if connected.is_ok() {
                *connects.last_ms.lock().unwrap_or_else(|e| e.into_inner()) = started.elapsed().as_secs_f64() * 1000.0;
                connects.made.fetch_add(1, Ordering::Relaxed);
            }
            drop(ending);
            connected
        })
    }
}
