//! Attribution of flows that show no usable name, and encrypted-DNS awareness, on the crafted
//! `captures/attribution/attribution.pcap` (see its README for the eight cases).

mod common;

use common::{capture, json_lines, run};

#[test]
fn nameless_flows_are_attributed_through_dns_and_encrypted_dns_is_counted() {
    let path = capture("attribution/attribution.pcap");
    let (code, out, err) = run(&["replay", "--summary", "none", "--events", "-", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let events = json_lines(&out);
    let contacts = |via: &str| -> Vec<(String, String)> {
        events
            .iter()
            .filter(|e| e["kind"] == "tracker_contact" && e["via"] == via)
            .map(|e| (e["name"].as_str().unwrap().to_owned(), e["dst"].as_str().unwrap().to_owned()))
            .collect()
    };
    let by_ip = contacts("ip");
    assert_eq!(
        by_ip,
        [
            ("www.google-analytics.com".into(), "10.99.3.2".into()),
            ("trk.klaviyomail.com".into(), "10.99.3.5".into()),
            ("x1ab2.mjt.lu".into(), "fd99:3::6".into()),
            ("stats.g.doubleclick.net".into(), "10.99.3.7".into()),
            ("bouyguestelecom.solution.weborama.fr".into(), "10.99.3.3".into()),
        ],
        "real ECH, no SNI, dual stack, unsupported QUIC (once), IP literal"
    );
    assert_eq!(contacts("tls"), [("u1234.ct.sendgrid.net".to_owned(), "10.99.3.4".to_owned())], "GREASE ECH");
    assert!(
        !events.iter().any(|e| e["kind"] == "tracker_contact" && e["dst"] == "10.99.3.11"),
        "nothing is claimed for an address nobody resolved"
    );
    let resolvers: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["kind"] == "encrypted_dns")
        .map(|e| (e["resolver"].as_str().unwrap(), e["protocol"].as_str().unwrap()))
        .collect();
    assert_eq!(resolvers, [("Google", "doh"), ("Quad9", "dot"), ("Cloudflare", "doh")]);

    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("m.prom");
    let (code, _, _) =
        run(&["replay", "--summary", "none", "--metrics-out", prom.to_str().unwrap(), path.to_str().unwrap()]);
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(prom).unwrap();
    assert!(text.contains("pixelwatch_encrypted_dns_flows_total{protocol=\"dot\",resolver=\"Quad9\"} 1"), "{text}");
    assert!(text.contains("pixelwatch_quic_unsupported_packets_total{version=\"reserved\"} 2"), "{text}");
}
