//! `--web.config.file`: the Prometheus exporter-toolkit web configuration (YAML) for /metrics —
//! basic-auth users with bcrypt hashes, a TLS certificate and key, optional client certificates.
//!
//! The file is read once at start (before `--user` drops privileges, so the key may be readable
//! by root only). Relative paths are relative to the file's directory, as in exporter-toolkit.
//! Unknown keys are errors; every error names the file and, when it can, the line and the key.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use foldhash::HashSet;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use serde::Deserialize;

/// The top level of the file (exporter-toolkit `web.Config`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    tls_server_config: Option<RawTls>,
    #[serde(default)]
    http_server_config: Option<RawHttp>,
    #[serde(default)]
    basic_auth_users: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert_file: Option<String>,
    key_file: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<String>,
    min_version: Option<String>,
    max_version: Option<String>,
    // Accepted for compatibility with exporter-toolkit files and ignored (with a warning):
    // rustls offers only AEAD suites with forward secrecy and its own group order.
    cipher_suites: Option<Vec<String>>,
    curve_preferences: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
    client_allowed_sans: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

/// Response headers exporter-toolkit lets the file set.
const ALLOWED_HEADERS: [&str; 5] = [
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
    "Content-Security-Policy",
];

/// Largest bcrypt cost accepted: each check of a password costs 2^cost rounds.
const MAX_BCRYPT_COST: u32 = 16;
/// Verified (user, password, hash) digests kept so scrapes do not pay bcrypt each time.
const AUTH_CACHE_ENTRIES: usize = 64;

/// A loaded web configuration.
pub struct WebConfig {
    /// TLS server configuration; `None` serves plain HTTP.
    pub tls: Option<Arc<ServerConfig>>,
    users: BTreeMap<String, String>,
    /// Extra response headers (`http_server_config.headers`).
    pub headers: Vec<(String, String)>,
    /// Things accepted but not applied, one line each, for the caller to print.
    pub warnings: Vec<String>,
    /// Hash checked for unknown users, so they take as long as known ones.
    dummy_hash: String,
    verified: Mutex<HashSet<[u8; 32]>>,
}

impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebConfig").field("tls", &self.tls.is_some()).field("users", &self.users.len()).finish()
    }
}

/// A web configuration error: one line naming the file (and line and key where known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebConfigError(pub String);

impl fmt::Display for WebConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WebConfigError {}

/// 1-based line of the first `key:` in `text` (after `after_line`), for error messages.
fn line_of(text: &str, key: &str, after_line: usize) -> Option<usize> {
    text.lines().enumerate().skip(after_line).find_map(|(i, l)| {
        let l = l.trim_start().trim_start_matches("- ");
        let l =
            l.strip_prefix('"').and_then(|r| r.strip_prefix(key)?.strip_prefix('"')).or_else(|| l.strip_prefix(key));
        l.is_some_and(|rest| rest.trim_start().starts_with(':')).then_some(i + 1)
    })
}

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    /// An error about `key` (found after line `section`), e.g. `FILE:7: tls_server_config.key_file: …`.
    fn err(&self, section: &str, key: &str, msg: impl fmt::Display) -> WebConfigError {
        let section_line = if section.is_empty() { Some(0) } else { line_of(self.text, section, 0) };
        let line = section_line.and_then(|s| line_of(self.text, key, s.saturating_sub(1)));
        let shown = self.path.display();
        let dotted = if section.is_empty() { key.to_owned() } else { format!("{section}.{key}") };
        match line {
            Some(l) => WebConfigError(format!("--web.config.file {shown}:{l}: {dotted}: {msg}")),
            None => WebConfigError(format!("--web.config.file {shown}: {dotted}: {msg}")),
        }
    }

    fn resolve(&self, file: &str) -> PathBuf {
        let p = Path::new(file);
        if p.is_absolute() { p.to_owned() } else { self.path.parent().unwrap_or(Path::new(".")).join(p) }
    }
}

impl WebConfig {
    /// Reads and checks `path`: YAML syntax, known keys, bcrypt hashes, certificate and key.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| WebConfigError(format!("--web.config.file {shown}: cannot read: {e}")))?;
        Self::parse(path, &text)
    }

    /// Checks `text` as the content of `path` (relative files are resolved from `path`'s directory).
    pub fn parse(path: &Path, text: &str) -> Result<WebConfig, WebConfigError> {
        let shown = path.display();
        let has_content = text.lines().any(|l| {
            let l = l.trim();
            !l.is_empty() && !l.starts_with('#') && l != "---"
        });
        let raw: RawConfig = if has_content {
            serde_norway::from_str(text).map_err(|e| match e.location() {
                Some(loc) => WebConfigError(format!("--web.config.file {shown}:{}: {e}", loc.line())),
                None => WebConfigError(format!("--web.config.file {shown}: {e}")),
            })?
        } else {
            RawConfig::default()
        };
        let ctx = Ctx { path, text };
        let mut warnings = Vec::new();
        let users = raw.basic_auth_users.unwrap_or_default();
        for (user, hash) in &users {
            if user.contains(':') {
                return Err(ctx.err("basic_auth_users", user, "a user name cannot contain ':'"));
            }
            match hash.parse::<bcrypt::HashParts>() {
                Ok(parts) if parts.get_cost() > MAX_BCRYPT_COST => {
                    return Err(ctx.err(
                        "basic_auth_users",
                        user,
                        format!(
                            "bcrypt cost {} is above {MAX_BCRYPT_COST} (each scrape would take seconds)",
                            parts.get_cost()
                        ),
                    ));
                }
                Ok(_) => {}
                Err(e) => {
                    return Err(ctx.err(
                        "basic_auth_users",
                        user,
                        format!("not a bcrypt hash ({e}); make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`"),
                    ));
                }
            }
        }
        let mut headers = Vec::new();
        if let Some(http) = raw.http_server_config {
            if http.http2 == Some(true) {
                warnings.push(format!(
                    "--web.config.file {shown}: http_server_config.http2: /metrics is served over HTTP/1.1 only"
                ));
            }
            for (name, value) in http.headers.unwrap_or_default() {
                let Some(allowed) = ALLOWED_HEADERS.iter().find(|h| h.eq_ignore_ascii_case(&name)) else {
                    return Err(ctx.err("headers", &name, format!("not one of {}", ALLOWED_HEADERS.join(", "))));
                };
                if hyper::header::HeaderValue::from_str(&value).is_err() {
                    return Err(ctx.err("headers", &name, "not a valid header value"));
                }
                headers.push(((*allowed).to_owned(), value));
            }
        }
        let tls = match raw.tls_server_config {
            Some(t) => Some(Arc::new(tls_config(&ctx, t, &mut warnings)?)),
            None => None,
        };
        let dummy_hash =
            if users.is_empty() { String::new() } else { bcrypt::hash("pixelwatch", 10).unwrap_or_default() };
        Ok(WebConfig { tls, users, headers, warnings, dummy_hash, verified: Mutex::new(HashSet::default()) })
    }

    /// True when requests need a user and password.
    pub fn requires_auth(&self) -> bool {
        !self.users.is_empty()
    }

    /// Number of basic-auth users.
    pub fn users(&self) -> usize {
        self.users.len()
    }

    /// Checks an `Authorization` header value (`Basic base64(user:password)`). Slow on purpose
    /// (bcrypt) the first time a (user, password) pair is seen: call it off the async threads.
    pub fn authorize(&self, authorization: Option<&[u8]>) -> bool {
        if !self.requires_auth() {
            return true;
        }
        let Some((user, password)) = authorization.and_then(basic_credentials) else { return false };
        let (hash, known) = match self.users.get(&user) {
            Some(h) => (h.as_str(), true),
            None => (self.dummy_hash.as_str(), false),
        };
        let key = cache_key(&user, &password, hash);
        if known && self.verified.lock().unwrap_or_else(|e| e.into_inner()).contains(&key) {
            return true;
        }
        let ok = bcrypt::verify(password.as_bytes(), hash).unwrap_or(false) && known;
        if ok {
            let mut cache = self.verified.lock().unwrap_or_else(|e| e.into_inner());
            if cache.len() >= AUTH_CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(key);
        }
        ok
    }
}

fn cache_key(user: &str, password: &str, hash: &str) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [user, password, hash] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part.as_bytes());
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// RFC 7617 §2: `Basic` SP token68, the token being base64("user-id:password").
fn basic_credentials(value: &[u8]) -> Option<(String, String)> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") || token.len() > 4096 {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(token.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn tls_version(ctx: &Ctx, key: &str, v: Option<&str>) -> Result<Option<u8>, WebConfigError> {
    match v {
        None => Ok(None),
        Some("TLS12") => Ok(Some(12)),
        Some("TLS13") => Ok(Some(13)),
        Some("TLS10" | "TLS11") => {
            Err(ctx.err("tls_server_config", key, "TLS 1.0 and 1.1 are not offered; use TLS12 or TLS13"))
        }
        Some(other) => Err(ctx.err("tls_server_config", key, format!("`{other}` is not TLS12 or TLS13"))),
    }
}

fn read_certs(ctx: &Ctx, key: &str, file: &str) -> Result<Vec<CertificateDer<'static>>, WebConfigError> {
    let path = ctx.resolve(file);
    let bytes =
        std::fs::read(&path).map_err(|e| ctx.err("tls_server_config", key, format!("{}: {e}", path.display())))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ctx.err("tls_server_config", key, format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(ctx.err("tls_server_config", key, format!("{}: no PEM CERTIFICATE in it", path.display())));
    }
    Ok(certs)
}

fn tls_config(ctx: &Ctx, t: RawTls, warnings: &mut Vec<String>) -> Result<ServerConfig, WebConfigError> {
    const S: &str = "tls_server_config";
    let shown = ctx.path.display();
    for (set, key) in [
        (t.cipher_suites.is_some(), "cipher_suites"),
        (t.curve_preferences.is_some(), "curve_preferences"),
        (t.prefer_server_cipher_suites.is_some(), "prefer_server_cipher_suites"),
    ] {
        if set {
            warnings.push(format!(
                "--web.config.file {shown}: {S}.{key} is ignored: rustls offers only AEAD suites with forward secrecy"
            ));
        }
    }
    if t.client_allowed_sans.is_some() {
        return Err(ctx.err(
            S,
            "client_allowed_sans",
            "not supported by pixelwatch; issue client certificates from a CA of their own",
        ));
    }
    let cert_file =
        t.cert_file.as_deref().filter(|s| !s.is_empty()).ok_or_else(|| ctx.err("", S, "cert_file is missing"))?;
    let key_file =
        t.key_file.as_deref().filter(|s| !s.is_empty()).ok_or_else(|| ctx.err("", S, "key_file is missing"))?;
    let certs = read_certs(ctx, "cert_file", cert_file)?;
    let key_path = ctx.resolve(key_file);
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .map_err(|e| ctx.err(S, "key_file", format!("{}: {e}", key_path.display())))?;
    let min = tls_version(ctx, "min_version", t.min_version.as_deref())?.unwrap_or(12);
    let max = tls_version(ctx, "max_version", t.max_version.as_deref())?.unwrap_or(13);
    if min > max {
        return Err(ctx.err(S, "min_version", "is above max_version"));
    }
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (min..=max).contains(v))
            .map(|(_, p)| p)
            .collect();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| ctx.err(S, "min_version", e))?;
    let auth = t.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let builder = match auth {
        "NoClientCert" | "" => builder.with_no_client_auth(),
        "RequireAndVerifyClientCert" | "VerifyClientCertIfGiven" => {
            let ca = t
                .client_ca_file
                .as_deref()
                .ok_or_else(|| ctx.err(S, "client_auth_type", format!("{auth} needs client_ca_file")))?;
            let mut roots = RootCertStore::empty();
            for c in read_certs(ctx, "client_ca_file", ca)? {
                roots.add(c).map_err(|e| ctx.err(S, "client_ca_file", e))?;
            }
            let mut v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            if auth == "VerifyClientCertIfGiven" {
                v = v.allow_unauthenticated();
            }
            builder.with_client_cert_verifier(v.build().map_err(|e| ctx.err(S, "client_ca_file", e))?)
        }
        "RequestClientCert" | "RequireAnyClientCert" => {
            return Err(ctx.err(
                S,
                "client_auth_type",
                format!("{auth} (unverified certificates) is not supported; use RequireAndVerifyClientCert"),
            ));
        }
        other => return Err(ctx.err(S, "client_auth_type", format!("unknown value `{other}`"))),
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| ctx.err(S, "key_file", format!("does not fit cert_file {cert_file}: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
#[path = "webconfig_tests.rs"]
mod tests;
