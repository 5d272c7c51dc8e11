//! The /metrics HTTP server (tokio + hyper, HTTP/1.1): text exposition format 0.0.4.
//!
//! `serve(listener, metrics, shutdown)` takes its I/O as arguments: tests bind port 0 and pass
//! the listener; `main` passes a signal future as `shutdown`. `serve_with` adds the
//! `--web.config.file` settings: TLS (rustls), basic auth (bcrypt, checked on the blocking pool),
//! extra response headers.

use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue, WWW_AUTHENTICATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::sink::metrics::Metrics;
use crate::sink::webconfig::WebConfig;

/// Password checks (bcrypt) run at once; more wait, so that a flood of wrong passwords costs
/// at most this many cores.
const CONCURRENT_PASSWORD_CHECKS: usize = 2;

/// Time a client gets to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

const INDEX: &str = "<html><head><title>pixelwatch</title></head><body><h1>pixelwatch</h1>\
<p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

/// How long one rendering of /metrics is served: any number of concurrent scrapers costs at
/// most one encoding per interval (Prometheus scrapes every few seconds at most; a client
/// hammering /metrics must not take CPU from the capture).
const RENDER_EVERY: Duration = Duration::from_millis(100);

/// The metrics and their last rendering.
struct Exposition {
    metrics: Arc<Metrics>,
    last: Mutex<Option<(Instant, Bytes)>>,
}

impl Exposition {
    fn new(metrics: Arc<Metrics>) -> Exposition {
        Exposition { metrics, last: Mutex::new(None) }
    }

    /// The text exposition, rendered again when the last rendering is older than [`RENDER_EVERY`].
    fn body(&self) -> Bytes {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, body)) = &*last
            && at.elapsed() < RENDER_EVERY
        {
            return body.clone();
        }
        let body = Bytes::from(self.metrics.encode());
        *last = Some((Instant::now(), body.clone()));
        body
    }
}

fn respond(exposition: &Exposition, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match (req.method(), req.uri().path()) {
        (&Method::GET | &Method::HEAD, "/metrics") => (StatusCode::OK, prometheus::TEXT_FORMAT, exposition.body()),
        (&Method::GET | &Method::HEAD, "/") => {
            (StatusCode::OK, "text/html; charset=utf-8", Bytes::from_static(INDEX.as_bytes()))
        }
        (&Method::GET | &Method::HEAD, _) => (StatusCode::NOT_FOUND, "text/plain", Bytes::from_static(b"not found\n")),
        _ => (StatusCode::METHOD_NOT_ALLOWED, "text/plain", Bytes::from_static(b"method not allowed\n")),
    };
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// The web configuration of a server and its limit on concurrent password checks.
#[derive(Clone)]
struct Web {
    config: Arc<WebConfig>,
    checks: Arc<tokio::sync::Semaphore>,
}

fn unauthorized() -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(b"Unauthorized\n")));
    *resp.status_mut() = StatusCode::UNAUTHORIZED;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    resp.headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"pixelwatch\", charset=\"UTF-8\""));
    resp
}

/// Answers one request: basic auth first (when configured), then the page, then the extra headers.
async fn handle(exposition: Arc<Exposition>, web: Option<Web>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let Some(Web { config: web, checks }) = web else { return respond(&exposition, &req) };
    let mut resp = if web.requires_auth() {
        let header = req.headers().get(AUTHORIZATION).map(|v| v.as_bytes().to_vec());
        let checker = web.clone();
        let ok = match checks.acquire().await {
            Ok(_permit) => {
                tokio::task::spawn_blocking(move || checker.authorize(header.as_deref())).await.unwrap_or(false)
            }
            Err(_) => false,
        };
        if ok { respond(&exposition, &req) } else { unauthorized() }
    } else {
        respond(&exposition, &req)
    };
    for (name, value) in &web.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name.as_str()), HeaderValue::try_from(value.as_str())) {
            resp.headers_mut().insert(n, v);
        }
    }
    resp
}

/// Serves HTTP/1.1 on one accepted connection (plain or TLS).
async fn serve_connection<S>(io: S, exposition: Arc<Exposition>, web: Option<Web>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req: Request<Incoming>| {
        let (exposition, web) = (exposition.clone(), web.clone());
        async move { Ok::<_, Infallible>(handle(exposition, web, req).await) }
    });
    let conn = http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(std::time::Duration::from_secs(10))
        .serve_connection(TokioIo::new(io), service);
    let _ = conn.await;
}

/// Serves until `shutdown` completes. Connection errors are logged and do not stop the server.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, shutdown: impl Future<Output = ()>) {
    serve_with(listener, metrics, None, shutdown).await
}

/// Like [`serve`], with the TLS, basic-auth and header settings of a `--web.config.file`.
pub async fn serve_with(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    web: Option<Arc<WebConfig>>,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = web.as_ref().and_then(|w| w.tls.clone()).map(tokio_rustls::TlsAcceptor::from);
    let checks = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_PASSWORD_CHECKS));
    let web = web.map(|config| Web { config, checks });
    let exposition = Arc::new(Exposition::new(metrics));
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            a = listener.accept() => a,
        };
        let (stream, _) = match accepted {
            Ok(s) => s,
            Err(e) => {
                eprintln!("pixelwatch: /metrics: accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let (exposition, web, acceptor) = (exposition.clone(), web.clone(), acceptor.clone());
        tokio::spawn(async move {
            match acceptor {
                // A failed or slow handshake (a scanner, a client that does not trust the
                // certificate) just closes the connection.
                Some(acceptor) => {
                    if let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        serve_connection(tls, exposition, web).await;
                    }
                }
                None => serve_connection(stream, exposition, web).await,
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn serves_metrics_with_the_text_content_type() {
        let metrics = Arc::new(Metrics::new(10));
        metrics.packets.inc_by(42);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, metrics, async {
            let _ = rx.await;
        }));
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
        let mut resp = String::new();
        c.read_to_string(&mut resp).await.unwrap();
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        assert!(resp.to_ascii_lowercase().contains("content-type: text/plain; version=0.0.4"), "{resp}");
        assert!(resp.contains("pixelwatch_packets_total 42"), "{resp}");
        let _ = tx.send(());
        server.await.unwrap();
    }

    #[test]
    fn one_rendering_serves_the_scrapes_of_an_interval() {
        let metrics = Arc::new(Metrics::new(10));
        let exposition = Exposition::new(metrics.clone());
        metrics.packets.inc_by(1);
        let first = exposition.body();
        metrics.packets.inc_by(1);
        let again = exposition.body();
        assert_eq!(first.as_ptr(), again.as_ptr(), "the same rendering, not a new one");
        std::thread::sleep(RENDER_EVERY + Duration::from_millis(20));
        let later = String::from_utf8(exposition.body().to_vec()).unwrap();
        assert!(later.contains("pixelwatch_packets_total 2"), "{later}");
    }
}
