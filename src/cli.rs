//! Command-line flags (clap). Parsing only: `main` turns them into a running configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Default address of the /metrics server: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9733";

#[derive(Debug, Parser)]
#[command(
    name = "pixelwatch",
    version,
    about = "Makes e-mail spy pixels and other tracking requests visible from the network.",
    long_about = "pixelwatch reads network traffic — live from an interface, or from pcap/pcapng captures — and \
shows which tracker hosts your devices contact: it reads DNS questions and answers, TLS ClientHello \
SNI and plain-HTTP requests, matches the names against a curated list of e-mail trackers, analytics \
and ad companies (embedded) and your own lists, and exports counters as Prometheus metrics and events \
as JSON Lines.",
    after_help = "Examples:\n  \
pixelwatch replay captures/mail-open-gateway.pcap            what trackers did this capture contact?\n  \
pixelwatch replay --events - --summary none trace.pcapng     the tracker events as JSON Lines\n  \
sudo pixelwatch live -i eth0 --events /var/log/pixelwatch.jsonl   watch a gateway interface\n  \
pixelwatch check www.google-analytics.com notweborama.fr     which list entry matches a name\n\n\
Exit status: 0 success, 1 runtime failure (unreadable capture, no permission), 2 usage or configuration error."
)]
#[command(args_override_self = true)]
pub struct Cli {
    /// Read options from a TOML file whose keys are the long options (events = "/var/log/pw.jsonl",
    /// list = ["my.txt"], events-all = true). Options on the command line win.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replay pcap/pcapng captures as fast as possible and print a summary.
    #[command(
        long_about = "Replay pcap or pcapng captures (several files are read in order; `-` reads standard input) as \
fast as possible. Prints a summary of tracker contacts at the end. Capture time drives everything: replaying \
a capture twice gives the same events.",
        after_help = "Examples:\n  \
pixelwatch replay captures/mail-open-gateway.pcap\n  \
pixelwatch replay --summary json --metrics-out /var/lib/node_exporter/pixelwatch.prom day1.pcap day2.pcap\n  \
tcpdump -r big.pcap -w - 'port 53' | pixelwatch replay -\n  \
pixelwatch replay --listen 127.0.0.1:9733 --hold trace.pcapng   keep serving /metrics after the end"
    )]
    Replay(ReplayArgs),
    /// Capture live from a network interface (libpcap) until SIGINT/SIGTERM.
    #[command(
        long_about = "Capture live from a network interface through libpcap and serve Prometheus metrics until \
SIGINT or SIGTERM; then flush the event log and exit 0. Needs root, or the capabilities \
cap_net_raw,cap_net_admin (sudo setcap cap_net_raw,cap_net_admin+ep $(command -v pixelwatch)).",
        after_help = "Examples:\n  \
sudo pixelwatch live -i eth0 --user nobody\n  \
sudo pixelwatch live -i br-lan -f 'not port 22' --listen 0.0.0.0:9733 --events /var/log/pixelwatch.jsonl"
    )]
    Live(LiveArgs),
    /// Show which list entry matches each name.
    Check(CheckArgs),
    /// Show the loaded tracker lists: entries, and skipped lines with the reason.
    Lists(ListsArgs),
    /// List the capture devices libpcap can open.
    Interfaces,
}

/// Tracker list options, shared by every command that matches names.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Load a tracker list (repeatable). Format detected from the content — pixelwatch TSV, hosts file,
    /// adblock `||host^` rules, one domain per line, Disconnect services.json — or forced with a prefix:
    /// tsv:FILE, hosts:FILE, adblock:FILE, domains:FILE, disconnect:FILE. Later lists override earlier
    /// ones for the same suffix. `live` reloads the lists on SIGHUP and when a list file changes.
    #[arg(long = "list", value_name = "FILE")]
    pub lists: Vec<String>,
    /// Do not load the embedded default list.
    #[arg(long)]
    pub no_default_list: bool,
    /// Most distinct (tracker, company, category) label sets of pixelwatch_tracker_contacts_total;
    /// contacts beyond go to tracker="other", company="other" and are counted in
    /// pixelwatch_tracker_label_overflow_total, so a huge list cannot explode the series count.
    #[arg(long, value_name = "N", default_value_t = crate::sink::metrics::DEFAULT_TRACKER_LABEL_CAP as u32,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_tracker_series: u32,
}

/// Event log options.
#[derive(Debug, Clone, Args)]
pub struct EventArgs {
    /// Write events as JSON Lines to FILE (`-` for standard output): tracker contacts and the
    /// observations that touch a tracker or a mail host.
    #[arg(long, value_name = "FILE|-")]
    pub events: Option<String>,
    /// Log every observation (every DNS question and answer, SNI and HTTP request), not only
    /// those that touch a tracker or a mail host.
    #[arg(long, requires = "events")]
    pub events_all: bool,
    /// For each e-mail open, write a folder under DIR (created if missing) with the open's events,
    /// a pcap of the packets of the flows involved, and a README.txt for a complaint.
    #[arg(long, value_name = "DIR")]
    pub evidence: Option<PathBuf>,
}

/// TLS key log option, shared by `replay` and `live`.
#[derive(Debug, Clone, Args)]
pub struct KeyLogArgs {
    /// NSS key log (SSLKEYLOGFILE) written by your own browser or mail client: decrypts the
    /// client-to-server side of its HTTPS connections to read the first requests (URL, Host,
    /// Referer, Cookie) as `http_host` events with "decrypted":true. Secrets stay in memory only.
    /// `replay` reads the file once before the captures; `live` follows it as it grows.
    #[arg(long = "tls-keylog", value_name = "FILE")]
    pub tls_keylog: Option<PathBuf>,
}

/// How clients are told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClientLabel {
    /// By IP address (a laptop, or a gateway that sees each device's address).
    Ip,
    /// By source MAC address (a gateway on the LAN side: one device, whatever its IPv4 and IPv6 addresses).
    Mac,
}

/// E-mail open inference options.
#[derive(Debug, Clone, Args)]
pub struct OpenArgs {
    /// Tracker contacts closer than this belong to one burst (one rendered mail).
    #[arg(long, value_name = "SECONDS", default_value_t = 3.0, value_parser = parse_seconds)]
    pub open_gap: f64,
    /// A burst is an e-mail open when the client showed mail activity (IMAP/POP/submission traffic,
    /// a mail-access or webmail host) this long before it.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = parse_seconds)]
    pub mail_context: f64,
    /// Identify clients by IP address or by MAC address.
    #[arg(long, value_enum, default_value = "ip", value_name = "ip|mac")]
    pub client_label: ClientLabel,
    /// Add a `client` label (IP or MAC address, per --client-label) to the tracker-contact and
    /// e-mail-open metrics. The first --per-client-max clients with tracker activity get their
    /// own value, the rest share client="other".
    #[arg(long)]
    pub per_client: bool,
    /// Clients with a `client` label of their own under --per-client.
    #[arg(long, value_name = "N", default_value_t = crate::sink::metrics::DEFAULT_PER_CLIENT_MAX,
          value_parser = parse_per_client_max)]
    pub per_client_max: usize,
}

impl OpenArgs {
    pub fn settings(&self) -> crate::correlate::opens::OpenSettings {
        let micros = |s: f64| (s * 1e6).round() as i64;
        crate::correlate::opens::OpenSettings {
            open_gap: micros(self.open_gap),
            mail_context: micros(self.mail_context),
            ..Default::default()
        }
    }
}

fn parse_per_client_max(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n @ 1..=1000) => Ok(n),
        _ => Err(format!("`{s}`: give a number of clients between 1 and 1000")),
    }
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !(0.0..=86_400.0).contains(&v) || !v.is_finite() {
        return Err(format!("`{s}`: give between 0 and 86400 seconds"));
    }
    Ok(v)
}

/// Address-leak options.
#[derive(Clone, Args)]
pub struct WatchArgs {
    /// Watch for your e-mail address ADDR (repeatable) in plain-HTTP requests (target, Referer,
    /// Cookie) and DNS query names: as typed, URL-encoded, base64, hashed (MD5, SHA-1, SHA-2, hash
    /// of hash). Each find is an address_leak event and counts in pixelwatch_address_leaks_total;
    /// the address and its forms are replaced by [redacted:ENCODING] in every output.
    #[arg(long = "watch-address", value_name = "ADDR")]
    pub watch_address: Vec<String>,
    /// Read watched addresses from FILE (repeatable): one per line, `#` starts a comment.
    #[arg(long = "watch-addresses", value_name = "FILE")]
    pub watch_addresses: Vec<PathBuf>,
}

/// Never shows the addresses.
impl std::fmt::Debug for WatchArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchArgs")
            .field("watch_address", &self.watch_address.len())
            .field("watch_addresses", &self.watch_addresses)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    Text,
    Json,
    None,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// pcap or pcapng files, read in order; `-` reads standard input.
    #[arg(value_name = "CAPTURE", required = true)]
    pub captures: Vec<String>,
    /// Summary printed at the end (to standard output, or standard error when events go to standard output).
    #[arg(long, value_enum, default_value = "text", value_name = "FORMAT")]
    pub summary: SummaryFormat,
    /// Write the final metrics to FILE in the Prometheus text format (replaced atomically, as
    /// node_exporter's textfile collector expects).
    #[arg(long, value_name = "FILE")]
    pub metrics_out: Option<PathBuf>,
    /// Serve /metrics on ADDR while replaying.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// With --listen: keep serving /metrics after the end of the replay, until SIGINT/SIGTERM.
    #[arg(long, requires = "listen")]
    pub hold: bool,
    /// Prometheus exporter-toolkit web configuration (YAML) for /metrics: basic_auth_users with
    /// bcrypt hashes, tls_server_config with cert_file and key_file. Read once at start.
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config_file: Option<PathBuf>,
    /// Never show the progress bar (it is shown only when standard error is a terminal).
    #[arg(long)]
    pub no_progress: bool,
    #[command(flatten)]
    pub lists: ListArgs,
    #[command(flatten)]
    pub events: EventArgs,
    #[command(flatten)]
    pub opens: OpenArgs,
    #[command(flatten)]
    pub watch: WatchArgs,
    #[command(flatten)]
    pub keylog: KeyLogArgs,
}

#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Interface to capture on (default: libpcap's default device; `any` for all, see `pixelwatch interfaces`).
    #[arg(short, long, value_name = "IFACE")]
    pub interface: Option<String>,
    /// BPF capture filter, e.g. 'not port 22' (pcap-filter(7)).
    #[arg(short, long, value_name = "BPF")]
    pub filter: Option<String>,
    /// Serve /metrics on ADDR. Keep it on loopback unless the network is trusted.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Prometheus exporter-toolkit web configuration (YAML) for /metrics: basic_auth_users with
    /// bcrypt hashes, tls_server_config with cert_file and key_file. Read once at start.
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config_file: Option<PathBuf>,
    /// Bytes captured per packet. The default keeps whole packets (also GRO/TSO-merged ones), so
    /// streams can be reassembled; lower it only to save CPU on a busy link.
    #[arg(long, value_name = "BYTES", default_value_t = 65_535, value_parser = clap::value_parser!(i32).range(256..=262_144))]
    pub snaplen: i32,
    /// Kernel ring buffer size in MiB (TPACKET_V3); raise it if pixelwatch_capture_dropped_packets_total grows.
    #[arg(long, value_name = "MIB", default_value_t = 32, value_parser = clap::value_parser!(i32).range(1..=2048))]
    pub buffer_size: i32,
    /// Do not put the interface in promiscuous mode (a laptop watching only its own traffic).
    #[arg(long)]
    pub no_promisc: bool,
    /// Drop privileges to USER once the capture is open.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    #[command(flatten)]
    pub lists: ListArgs,
    #[command(flatten)]
    pub events: EventArgs,
    #[command(flatten)]
    pub opens: OpenArgs,
    #[command(flatten)]
    pub watch: WatchArgs,
    #[command(flatten)]
    pub keylog: KeyLogArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// One JSON object per line: {"name", "tracker", "company", "category", "list"}.
    #[arg(long)]
    pub json: bool,
    /// Host names to look up.
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,
    #[command(flatten)]
    pub lists: ListArgs,
}

#[derive(Debug, Args)]
pub struct ListsArgs {
    #[command(flatten)]
    pub lists: ListArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_lists_accumulate_and_single_values_take_the_last() {
        let cli = Cli::parse_from([
            "pixelwatch",
            "replay",
            "--events",
            "a.jsonl",
            "--list",
            "a",
            "--list",
            "b",
            "--events",
            "b.jsonl",
            "x.pcap",
        ]);
        let Command::Replay(r) = cli.command else { panic!() };
        assert_eq!(r.lists.lists, ["a", "b"]);
        assert_eq!(r.events.events.as_deref(), Some("b.jsonl"));
    }
}
