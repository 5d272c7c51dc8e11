//! `--config FILE`: a TOML file with the same keys as the long options of the command line
//! (`events = "/var/log/pixelwatch.jsonl"`, `list = ["a.txt", "b.txt"]`, `events-all = true`).
//!
//! The file's settings are turned into options placed before the ones typed on the command line,
//! so the command line wins for single values and adds to lists. Keys are checked against the
//! options of every subcommand: a key no subcommand knows is an error naming the file and line;
//! a key only another subcommand knows (say `interface` when replaying) is ignored, so one file
//! can serve `live` and `replay`.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;

/// Long option names of a subcommand (and of every subcommand when `sub` is None).
fn long_options(sub: Option<&str>) -> BTreeSet<String> {
    let cli = Cli::command();
    cli.get_subcommands()
        .filter(|c| sub.is_none_or(|s| c.get_name() == s))
        .flat_map(|c| c.get_arguments().filter_map(|a| a.get_long().map(str::to_owned)).collect::<Vec<_>>())
        .filter(|l| l != "config" && l != "help")
        .collect()
}

/// The line of `text` where `key` is set, for error messages.
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(1, |i| i + 1)
}

/// Reads `path` and returns the options it sets for subcommand `sub`.
pub fn options_from_file(path: &Path, sub: &str) -> Result<Vec<OsString>, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("--config {shown}: cannot read: {e}"))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e.span().map_or(1, |s| text.get(..s.start).map_or(1, |t| t.lines().count().max(1)));
        format!("{shown}:{line}: {}", e.message())
    })?;
    let known_here = long_options(Some(sub));
    let known_anywhere = long_options(None);
    let mut args = Vec::new();
    for (key, value) in &table {
        let option = key.replace('_', "-");
        if !known_anywhere.contains(&option) {
            return Err(format!(
                "{shown}:{}: unknown key `{key}` (keys are the long options, e.g. events, list)",
                line_of(&text, key)
            ));
        }
        if !known_here.contains(&option) {
            continue;
        }
        let flag = OsString::from(format!("--{option}"));
        let bad = |what: &str| format!("{shown}:{}: `{key}` {what}", line_of(&text, key));
        match value {
            toml::Value::Boolean(true) => args.push(flag),
            toml::Value::Boolean(false) => {}
            toml::Value::String(s) => args.extend([flag, OsString::from(s)]),
            toml::Value::Integer(i) => args.extend([flag, OsString::from(i.to_string())]),
            toml::Value::Array(items) => {
                for item in items {
                    match item {
                        toml::Value::String(s) => args.extend([flag.clone(), OsString::from(s)]),
                        toml::Value::Integer(i) => args.extend([flag.clone(), OsString::from(i.to_string())]),
                        _ => return Err(bad("must be a list of strings")),
                    }
                }
            }
            _ => return Err(bad("must be a string, a number, true/false or a list of strings")),
        }
    }
    Ok(args)
}

/// Expands `--config FILE` in a command line: the file's options are inserted right after the
/// subcommand name. Returns the arguments unchanged when there is no `--config`.
pub fn expand(argv: Vec<OsString>) -> Result<Vec<OsString>, String> {
    let mut config = None;
    let mut rest = Vec::with_capacity(argv.len());
    let mut iter = argv.into_iter();
    while let Some(arg) = iter.next() {
        if arg == "--config" {
            config = Some(iter.next().ok_or("--config needs a FILE")?);
        } else if let Some(v) = arg.to_str().and_then(|s| s.strip_prefix("--config=")) {
            config = Some(OsString::from(v));
        } else {
            rest.push(arg);
        }
    }
    let Some(config) = config else { return Ok(rest) };
    let subs: Vec<String> = Cli::command().get_subcommands().map(|c| c.get_name().to_owned()).collect();
    let Some(pos) = rest.iter().position(|a| a.to_str().is_some_and(|s| subs.iter().any(|n| n == s))) else {
        return Ok(rest);
    };
    let sub = rest[pos].to_string_lossy().into_owned();
    let extra = options_from_file(Path::new(&config), &sub)?;
    let tail = rest.split_off(pos + 1);
    rest.extend(extra);
    rest.extend(tail);
    Ok(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn file_options_go_before_the_command_line_ones() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw.toml");
        std::fs::write(&f, "# comment\nevents = \"/tmp/e.jsonl\"\nevents_all = true\nlist = [\"a.txt\", \"b.txt\"]\ninterface = \"eth0\"\n")
            .unwrap();
        let out = expand(args(&["pixelwatch", "--config", f.to_str().unwrap(), "replay", "x.pcap"])).unwrap();
        let out: Vec<String> = out.iter().map(|s| s.to_string_lossy().into_owned()).collect();
        assert_eq!(
            out,
            [
                "pixelwatch",
                "replay",
                "--events",
                "/tmp/e.jsonl",
                "--events-all",
                "--list",
                "a.txt",
                "--list",
                "b.txt",
                "x.pcap"
            ]
        );
    }

    #[test]
    fn unknown_keys_and_bad_toml_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw.toml");
        std::fs::write(&f, "events = \"x\"\n\nevnts = \"y\"\n").unwrap();
        let e = expand(args(&["pixelwatch", "replay", "--config", f.to_str().unwrap(), "x.pcap"])).unwrap_err();
        assert!(e.contains("pw.toml:3") && e.contains("evnts"), "{e}");
        std::fs::write(&f, "events = \"x\"\nlist = [1\n").unwrap();
        let e = expand(args(&["pixelwatch", "replay", "--config", f.to_str().unwrap(), "x.pcap"])).unwrap_err();
        assert!(e.contains("pw.toml:"), "{e}");
        let e = expand(args(&["pixelwatch", "replay", "--config", "/nonexistent.toml", "x.pcap"])).unwrap_err();
        assert!(e.contains("/nonexistent.toml"), "{e}");
    }
}
