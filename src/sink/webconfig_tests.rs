//! Tests of the web configuration loader: errors name the file, line and key; bcrypt basic auth;
//! certificates made by `openssl` (skipped when it is not installed).

use super::*;

fn parse(text: &str) -> Result<WebConfig, WebConfigError> {
    WebConfig::parse(Path::new("/etc/pixelwatch/web.yml"), text)
}

fn basic(user: &str, password: &str) -> Vec<u8> {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))).into_bytes()
}

#[test]
fn empty_file_means_plain_http_without_auth() {
    let c = parse("# nothing yet\n").unwrap();
    assert!(c.tls.is_none() && !c.requires_auth());
    assert!(c.authorize(None));
}

#[test]
fn unknown_keys_and_bad_yaml_name_file_and_line() {
    let e = parse("basic_auth_users:\n  alice: x\nbasic_auth_user:\n  bob: y\n").unwrap_err().0;
    assert!(e.starts_with("--web.config.file /etc/pixelwatch/web.yml:3:"), "{e}");
    assert!(e.contains("basic_auth_user"), "{e}");
    let e = parse("tls_server_config:\n  cert_file: a\n  key_fil: b\n").unwrap_err().0;
    assert!(e.contains("web.yml:3:") && e.contains("key_fil"), "{e}");
    let e = parse("basic_auth_users:\n  alice: [unclosed\n").unwrap_err().0;
    assert!(e.contains("web.yml:"), "{e}");
}

#[test]
fn a_bad_hash_names_the_user_and_its_line() {
    let good = bcrypt::hash("secret", 4).unwrap();
    let text = format!("basic_auth_users:\n  alice: {good}\n  bob: secret\n");
    let e = parse(&text).unwrap_err().0;
    assert!(e.contains("web.yml:3: basic_auth_users.bob: not a bcrypt hash"), "{e}");
    let costly = format!("basic_auth_users:\n  alice: \"$2y$31${}\"\n", &good[7..]);
    let e = parse(&costly).unwrap_err().0;
    assert!(e.contains("web.yml:2: basic_auth_users.alice: bcrypt cost 31"), "{e}");
}

#[test]
fn basic_auth_accepts_only_the_right_password() {
    // htpasswd -B writes $2y$ hashes: accept that prefix too.
    let hash = bcrypt::hash("s3cret:with colon", 4).unwrap().replacen("$2b$", "$2y$", 1);
    let c = parse(&format!("basic_auth_users:\n  prometheus: '{hash}'\n")).unwrap();
    assert!(c.requires_auth());
    assert!(c.authorize(Some(&basic("prometheus", "s3cret:with colon"))));
    assert!(c.authorize(Some(&basic("prometheus", "s3cret:with colon"))), "cached");
    assert!(!c.authorize(Some(&basic("prometheus", "wrong"))));
    assert!(!c.authorize(Some(&basic("nobody", "s3cret:with colon"))));
    assert!(!c.authorize(None));
    assert!(!c.authorize(Some(b"Bearer abc")));
    assert!(!c.authorize(Some(b"Basic !!!not-base64")));
}

#[test]
fn headers_are_limited_to_the_exporter_toolkit_set() {
    let c = parse("http_server_config:\n  headers:\n    x-frame-options: deny\n").unwrap();
    assert_eq!(c.headers, [("X-Frame-Options".to_owned(), "deny".to_owned())]);
    let e = parse("http_server_config:\n  headers:\n    Set-Cookie: a=b\n").unwrap_err().0;
    assert!(e.contains("web.yml:3: headers.Set-Cookie"), "{e}");
}

#[test]
fn tls_needs_both_files_and_names_the_missing_one() {
    let e = parse("tls_server_config:\n  cert_file: server.crt\n").unwrap_err().0;
    assert!(e.contains("web.yml:1: tls_server_config: key_file is missing"), "{e}");
    let e = parse("tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n").unwrap_err().0;
    assert!(e.contains("web.yml:2: tls_server_config.cert_file: /etc/pixelwatch/missing.crt"), "{e}");
}

fn openssl_cert(dir: &Path, name: &str) -> Option<()> {
    let status = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(dir.join(format!("{name}.key")))
        .arg("-out")
        .arg(dir.join(format!("{name}.crt")))
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    status.success().then_some(())
}

#[test]
fn tls_loads_an_openssl_certificate_and_rejects_a_foreign_key() {
    let dir = tempfile::tempdir().unwrap();
    if openssl_cert(dir.path(), "a").is_none() || openssl_cert(dir.path(), "b").is_none() {
        eprintln!("skipping: openssl is not installed");
        return;
    }
    let file = dir.path().join("web.yml");
    // Relative paths are relative to the configuration file.
    let c =
        WebConfig::parse(&file, "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  min_version: TLS13\n")
            .unwrap();
    assert!(c.tls.is_some());
    let e = WebConfig::parse(&file, "tls_server_config:\n  cert_file: a.crt\n  key_file: b.key\n").unwrap_err().0;
    assert!(e.contains("web.yml:3: tls_server_config.key_file: does not fit cert_file a.crt"), "{e}");
    let e = WebConfig::parse(&file, "tls_server_config:\n  cert_file: a.crt\n  key_file: a.crt\n").unwrap_err().0;
    assert!(e.contains("tls_server_config.key_file:"), "{e}");
    let e =
        WebConfig::parse(&file, "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  min_version: TLS10\n")
            .unwrap_err()
            .0;
    assert!(e.contains("web.yml:4: tls_server_config.min_version"), "{e}");
    let e = WebConfig::parse(
        &file,
        "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  client_auth_type: RequireAndVerifyClientCert\n",
    )
    .unwrap_err()
    .0;
    assert!(
        e.contains("web.yml:4: tls_server_config.client_auth_type: RequireAndVerifyClientCert needs client_ca_file"),
        "{e}"
    );
    let c = WebConfig::parse(
        &file,
        "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: b.crt\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
    )
    .unwrap();
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
}
