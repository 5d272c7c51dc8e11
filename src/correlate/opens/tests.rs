//! The burst and context rules on hand-built sequences of contacts and mail activity.

use super::*;
use crate::model::Transport;

fn ip() -> IpAddr {
    "192.168.1.20".parse().unwrap()
}

fn client() -> ClientId {
    ClientId::Ip(ip())
}

fn flow(dport: u16) -> FlowTuple {
    FlowTuple { transport: Transport::Tcp, src: ip(), dst: "203.0.113.9".parse().unwrap(), sport: 40000, dport }
}

fn contact(ms: i64, tracker: &str, company: &str, category: Category) -> Contact {
    Contact {
        ts: Ts(ms * 1000),
        flow: flow(443),
        client: ip(),
        client_mac: None,
        name: format!("x.{tracker}"),
        matched: format!("x.{tracker}"),
        tracker: Arc::from(tracker),
        company: Arc::from(company),
        category,
        via: Via::Tls,
        cloaked: false,
        who: None,
        pixel: None,
    }
}

fn ga(ms: i64) -> Contact {
    contact(ms, "google-analytics.com", "Google", Category::Analytics)
}
fn weborama(ms: i64) -> Contact {
    contact(ms, "solution.weborama.fr", "Weborama", Category::Advertising)
}
fn sendgrid(ms: i64) -> Contact {
    contact(ms, "sendgrid.net", "SendGrid", Category::Email)
}
fn mailjet(ms: i64) -> Contact {
    contact(ms, "mjt.lu", "Mailjet", Category::Email)
}

fn imap(ms: i64) -> MailContext {
    MailContext { kind: ContextKind::MailFlow, ts: Ts(ms * 1000), flow: flow(993), name: None }
}

fn webmail(ms: i64) -> MailContext {
    MailContext {
        kind: ContextKind::Webmail,
        ts: Ts(ms * 1000),
        flow: flow(443),
        name: Some(Arc::from("mail.google.com")),
    }
}

enum Step {
    C(Contact),
    Ctx(MailContext),
    Proxy(i64),
}

fn run(steps: Vec<Step>) -> Vec<EmailOpen> {
    let mut opens = Opens::new(OpenSettings::default());
    let mut out = Vec::new();
    for step in steps {
        match step {
            Step::C(c) => {
                opens.tick(c.ts, &mut out);
                opens.contact(client(), &c, &mut out);
            }
            Step::Ctx(ctx) => {
                opens.tick(ctx.ts, &mut out);
                opens.context(client(), ctx, &mut out);
            }
            Step::Proxy(ms) => {
                let f = ProxiedFetch {
                    ts: Ts(ms * 1000),
                    flow: flow(443),
                    client: ip(),
                    client_mac: None,
                    name: "ci3.googleusercontent.com".into(),
                    proxy: Arc::from("Google (Gmail image proxy)"),
                    category: Category::ImageProxy,
                    via: Via::Tls,
                    who: None,
                };
                opens.tick(f.ts, &mut out);
                opens.proxied(client(), &f, &mut out);
            }
        }
    }
    opens.finish(&mut out);
    out
}

fn companies(o: &EmailOpen) -> Vec<&str> {
    o.trackers.iter().map(|t| &*t.company).collect()
}

#[test]
fn the_mission_case_imap_then_analytics_and_weborama() {
    let opens = run(vec![Step::Ctx(imap(0)), Step::C(ga(5_000)), Step::C(weborama(5_400)), Step::C(ga(6_000))]);
    assert_eq!(opens.len(), 1);
    assert_eq!(opens[0].confidence, Confidence::Medium, "analytics and advertising with mail context");
    assert_eq!(companies(&opens[0]), ["Google", "Weborama"]);
    assert_eq!(opens[0].trackers[0].contacts, 2);
    assert_eq!((opens[0].start, opens[0].end), (Ts(5_000_000), Ts(6_000_000)));
    assert_eq!(opens[0].context.as_ref().map(|c| c.kind), Some(ContextKind::MailFlow));
}

#[test]
fn esp_pixel_with_and_without_context() {
    let with = run(vec![Step::Ctx(imap(0)), Step::C(sendgrid(1_000)), Step::C(ga(1_200))]);
    assert_eq!(with.len(), 1);
    assert_eq!(with[0].confidence, Confidence::High);
    let without = run(vec![Step::C(sendgrid(1_000))]);
    assert_eq!(without.len(), 1);
    assert_eq!(without[0].confidence, Confidence::Medium, "an ESP open pixel alone is an open");
}

#[test]
fn web_analytics_without_mail_context_is_not_an_open() {
    assert!(run(vec![Step::C(ga(0)), Step::C(weborama(500))]).is_empty());
    // Mail context that is too old (31 s) does not count either.
    assert!(run(vec![Step::Ctx(imap(0)), Step::C(ga(31_000))]).is_empty());
    // Nor does a mail host looked up after the contacts.
    assert!(run(vec![Step::C(ga(0)), Step::Ctx(webmail(500))]).is_empty());
}

#[test]
fn imap_idle_traffic_alone_is_not_an_open() {
    let steps = (0..10).map(|i| Step::Ctx(imap(i * 29_000))).collect();
    assert!(run(steps).is_empty());
}

#[test]
fn two_mails_opened_two_seconds_apart_are_two_opens() {
    let opens = run(vec![
        Step::Ctx(imap(0)),
        Step::C(sendgrid(100)),
        Step::C(ga(300)),
        Step::Ctx(imap(2_000)),
        Step::C(mailjet(2_100)),
        Step::C(weborama(2_300)),
    ]);
    assert_eq!(opens.len(), 2, "the second mail's fetch splits the burst");
    assert_eq!(companies(&opens[0]), ["Google", "SendGrid"], "sorted by tracker");
    assert_eq!(companies(&opens[1]), ["Mailjet", "Weborama"]);
    assert!(opens.iter().all(|o| o.confidence == Confidence::High));
}

#[test]
fn a_mail_flag_update_during_rendering_does_not_split_the_open() {
    let opens = run(vec![Step::Ctx(imap(0)), Step::C(sendgrid(100)), Step::Ctx(imap(400)), Step::C(ga(600))]);
    assert_eq!(opens.len(), 1);
    assert_eq!(companies(&opens[0]), ["Google", "SendGrid"], "sorted by tracker");
}

#[test]
fn bursts_are_split_by_the_gap() {
    let opens =
        run(vec![Step::Ctx(imap(0)), Step::C(sendgrid(1_000)), Step::Ctx(imap(10_000)), Step::C(mailjet(14_000))]);
    assert_eq!(opens.len(), 2);
}

#[test]
fn refetching_the_same_pixels_is_not_a_new_open() {
    let opens =
        run(vec![Step::Ctx(imap(0)), Step::C(sendgrid(100)), Step::C(sendgrid(8_000)), Step::C(sendgrid(16_000))]);
    assert_eq!(opens.len(), 1, "Yahoo-style pixel retries within the context window");
    // New mail activity before the same ESP again: a new open (another mail of the same sender).
    let opens = run(vec![Step::Ctx(imap(0)), Step::C(sendgrid(100)), Step::Ctx(imap(8_000)), Step::C(sendgrid(8_100))]);
    assert_eq!(opens.len(), 2);
}

#[test]
fn webmail_session_and_image_proxy() {
    // Gmail in a browser: the images come through Google's proxy; the trackers are invisible.
    let opens = run(vec![Step::Ctx(webmail(0)), Step::Proxy(1_500)]);
    assert_eq!(opens.len(), 1);
    assert_eq!(opens[0].confidence, Confidence::Proxied);
    assert!(opens[0].trackers.is_empty());
    assert_eq!(opens[0].proxies.len(), 1);
    // A webmail that loads pixels directly.
    let opens = run(vec![Step::Ctx(webmail(0)), Step::C(mailjet(2_000))]);
    assert_eq!(opens[0].confidence, Confidence::High);
    // A proxy fetch without mail context (an image shared elsewhere): not an open.
    assert!(run(vec![Step::Proxy(1_000)]).is_empty());
}

#[test]
fn decided_only_when_a_later_packet_passes_the_gap() {
    let mut opens = Opens::new(OpenSettings::default());
    let mut out = Vec::new();
    opens.context(client(), imap(0), &mut out);
    opens.contact(client(), &sendgrid(1_000), &mut out);
    opens.tick(Ts(3_999_999), &mut out);
    assert!(out.is_empty(), "2.999999 s after the last contact: the burst may go on");
    opens.tick(Ts(4_000_000), &mut out);
    assert_eq!(out.len(), 1);
}

#[test]
fn client_state_is_bounded() {
    let mut opens = Opens::new(OpenSettings { max_clients: 100, ..OpenSettings::default() });
    let mut out = Vec::new();
    for i in 0..100_000u32 {
        let c = ClientId::Ip(IpAddr::from(i.to_be_bytes()));
        let mut contact = sendgrid(i64::from(i));
        contact.client = IpAddr::from(i.to_be_bytes());
        opens.contact(c, &contact, &mut out);
        opens.tick(Ts(i64::from(i) * 1000), &mut out);
        assert!(opens.clients.len() <= 100);
        assert!(opens.open_bursts.len() <= 100_000);
    }
    opens.finish(&mut out);
    assert!(out.len() <= 100_000);
}

#[test]
fn same_sequence_same_opens() {
    let steps = || {
        vec![
            Step::Ctx(imap(0)),
            Step::C(sendgrid(100)),
            Step::C(ga(300)),
            Step::Ctx(imap(2_000)),
            Step::C(mailjet(2_100)),
        ]
    };
    assert_eq!(run(steps()), run(steps()));
}
