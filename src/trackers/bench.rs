//! Indicative benchmark (ignored by default): load a generated 100,000-entry hosts list on top of
//! the embedded list, then measure lookups per second on one core (wall clock and this thread's
//! CPU time: the machine is shared), the memory the lists hold, and the per-packet cost of the
//! list-reload check.
//!
//! Run: `cargo test --release --lib trackers::bench -- --ignored --nocapture`

use std::hint::black_box;
use std::time::Instant;

use super::{Builder, ListSpec, SharedTrackers, TrackerDb, TrackerView};

/// Deterministic pseudo-random numbers (xorshift64*), so every run uses the same names.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn word(&mut self, out: &mut String) {
        const SYLLABLES: [&str; 16] = [
            "ad", "track", "px", "stat", "mail", "cdn", "log", "tag", "met", "ric", "open", "click", "be", "ta", "lo",
            "no",
        ];
        let n = 2 + (self.next() % 3) as usize;
        for _ in 0..n {
            out.push_str(SYLLABLES[(self.next() % 16) as usize]);
        }
    }
}

const TLDS: [&str; 6] = ["com", "net", "fr", "io", "de", "org"];

/// A StevenBlack-sized hosts file: `0.0.0.0 name` lines, 1 to 3 labels before the TLD.
fn generated_hosts(n: usize, rng: &mut Rng) -> (String, Vec<String>) {
    let mut text = String::with_capacity(n * 32);
    let mut names = Vec::with_capacity(n);
    for i in 0..n {
        let mut name = String::new();
        if rng.next().is_multiple_of(3) {
            rng.word(&mut name);
            name.push('.');
        }
        rng.word(&mut name);
        name.push_str(&format!("{i}."));
        name.push_str(TLDS[(rng.next() % 6) as usize]);
        text.push_str("0.0.0.0 ");
        text.push_str(&name);
        text.push('\n');
        names.push(name);
    }
    (text, names)
}

/// CPU time of this thread in nanoseconds (/proc/thread-self/schedstat, Linux): the machine is
/// shared, so wall-clock rates understate the code's speed.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Resident set size in bytes, from /proc/self/statm (Linux).
fn rss_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[test]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
fn lookups_per_second_with_100k_hosts() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (text, names) = generated_hosts(100_000, &mut rng);

    let rss_before = rss_bytes();
    let t = Instant::now();
    let spec = ListSpec { path: "generated.hosts".into(), ..ListSpec::default() };
    let db = Builder::new().add_embedded().bytes(&spec, text.as_bytes()).build();
    let load = t.elapsed();
    let rss_after = rss_bytes();
    drop(text);
    assert_eq!(db.lists()[1].entries, 100_000);

    // Query mix: 50 % subdomains of listed names (hits), 40 % unlisted names (misses), 10 % the
    // names of the pcap benchmark generator.
    let bench_hosts = [
        "www.google-analytics.com",
        "region1.google-analytics.com",
        "stats.g.doubleclick.net",
        "bouyguestelecom.solution.weborama.fr",
        "cstatic.weborama.fr",
        "ad.weborama.fr",
        "mandrillapp.com",
        "us5.list-manage.com",
        "click.e.example.exacttarget.com",
        "u1234.ct.sendgrid.net",
        "t.hubspotemail.net",
        "r.sb.mailjet.com",
        "pixel.mailtrack.io",
        "trk.klclick.com",
        "link.sparkpost.com",
        "imap.gmail.com",
        "outlook.office365.com",
        "imap.mail.me.com",
        "imap.free.fr",
    ];
    let mut queries: Vec<String> = Vec::with_capacity(100_000);
    for i in 0..100_000 {
        let q = match i % 10 {
            0..=4 => format!("www.{}", names[(rng.next() % names.len() as u64) as usize]),
            5..=8 => {
                let mut s = String::from("cdn.");
                rng.word(&mut s);
                s.push_str(".example.");
                s.push_str(TLDS[(rng.next() % 6) as usize]);
                s
            }
            _ => bench_hosts[(rng.next() % bench_hosts.len() as u64) as usize].to_string(),
        };
        queries.push(q);
    }

    // Names in one buffer, as a caller would have them in a packet: the loop measures the lookup,
    // not the pointer chase to 100,000 separate strings.
    let mut arena = String::new();
    let mut spans = Vec::with_capacity(queries.len());
    for q in &queries {
        spans.push((arena.len(), arena.len() + q.len()));
        arena.push_str(q);
    }
    let queries: Vec<&str> = spans.iter().map(|&(a, b)| &arena[a..b]).collect();

    let rounds = 30;
    let cpu_before = thread_cpu_ns();
    let t = Instant::now();
    let mut hits = 0usize;
    for _ in 0..rounds {
        for q in &queries {
            // Read the entry as the pipeline does (its category), not only whether there is one.
            hits += usize::from(db.lookup(black_box(q)).is_some_and(|e| e.category.is_tracker()));
        }
    }
    let elapsed = t.elapsed();
    let cpu = match (cpu_before, thread_cpu_ns()) {
        (Some(a), Some(b)) if b > a => Some((b - a) as f64 / 1e9),
        _ => None,
    };
    let n = rounds * queries.len();
    let per_sec = n as f64 / elapsed.as_secs_f64();
    let per_cpu_sec = cpu.map_or(f64::NAN, |c| n as f64 / c);
    let rss = match (rss_before, rss_after) {
        (Some(a), Some(b)) => format!("{:.1} MiB", b.saturating_sub(a) as f64 / (1 << 20) as f64),
        _ => "n/a".to_string(),
    };
    println!(
        "100k hosts + embedded: load {:.0} ms; {} lookups in {:.2} s wall = {:.2} M lookups/s; \
         on-CPU {:.2} M lookups/s ({:.0} ns each); {:.0} % hits; \
         RSS growth while loading {rss}; heap estimate {:.1} MiB",
        load.as_secs_f64() * 1e3,
        n,
        elapsed.as_secs_f64(),
        per_sec / 1e6,
        per_cpu_sec / 1e6,
        1e9 / per_cpu_sec,
        100.0 * hits as f64 / n as f64,
        db.heap_bytes() as f64 / (1 << 20) as f64,
    );
    // The same code on 1,000 queries that stay in cache: the difference is memory latency.
    let hot = &queries[..1000];
    let cpu_before = thread_cpu_ns();
    let mut hot_hits = 0usize;
    for _ in 0..3000 {
        for q in hot {
            hot_hits += usize::from(db.lookup(black_box(q)).is_some());
        }
    }
    if let (Some(a), Some(b)) = (cpu_before, thread_cpu_ns()) {
        let ns = (b - a) as f64 / 3_000_000.0;
        println!("cache-hot: {:.0} ns per lookup on-CPU ({:.1} M/s), {hot_hits} hits", ns, 1e3 / ns);
    }
    // Mixed-case names take the copying path.
    let upper: Vec<String> = hot.iter().map(|q| q.to_ascii_uppercase()).collect();
    let cpu_before = thread_cpu_ns();
    let mut upper_hits = 0usize;
    for _ in 0..3000 {
        for q in &upper {
            upper_hits += usize::from(db.lookup(black_box(q)).is_some());
        }
    }
    if let (Some(a), Some(b)) = (cpu_before, thread_cpu_ns()) {
        let ns = (b - a) as f64 / 3_000_000.0;
        println!("cache-hot, upper-case names: {ns:.0} ns per lookup on-CPU ({:.1} M/s)", 1e3 / ns);
    }
    assert_eq!(upper_hits, hot_hits);
    // The per-packet cost of list reload: the packet thread checks the generation of the shared
    // lists (one relaxed atomic load and a compare when nothing changed).
    let db = std::sync::Arc::new(db);
    let mut view = TrackerView::new(SharedTrackers::new(db.clone()));
    let cpu_before = thread_cpu_ns();
    let mut changed = 0usize;
    for _ in 0..100_000_000u32 {
        changed += usize::from(black_box(&mut view).refresh().is_some());
    }
    if let (Some(a), Some(b)) = (cpu_before, thread_cpu_ns()) {
        println!("reload check per packet: {:.2} ns on-CPU ({changed} changes)", (b - a) as f64 / 1e8);
    }
    assert!(hits >= n / 2, "subdomains of listed names must hit");
    let _: &TrackerDb = &db;
}
