//! `check`, `lists` and `interfaces`: what pixelwatch knows, without capturing anything.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::json;

use crate::cli::{CheckArgs, ListsArgs};
use crate::commands::{Failure, load_trackers};
use crate::model::Category;
use crate::trackers::TrackerDb;

pub fn check(args: CheckArgs) -> Result<(), Failure> {
    let db = load_trackers(&args.lists)?;
    let mut out = std::io::stdout().lock();
    let width = args.names.iter().map(|n| n.len()).max().unwrap_or(0);
    for name in &args.names {
        let entry = db.lookup(name);
        let line = if args.json {
            json!({
                "name": name,
                "tracker": entry.map(|e| &*e.suffix),
                "company": entry.map(|e| &*e.company),
                "category": entry.map(|e| e.category.as_str()),
                "list": entry.and_then(|e| db.lists().get(e.list)).map(|l| l.name.as_str()),
            })
            .to_string()
        } else {
            match entry {
                Some(e) => format!(
                    "{name:<width$}  {}  {}  {}{}  (list: {})",
                    e.suffix,
                    e.company,
                    e.category,
                    if e.category.is_tracker() { "" } else { " [context, not a tracker]" },
                    db.lists().get(e.list).map_or("?", |l| l.name.as_str())
                ),
                None => format!("{name:<width$}  no match"),
            }
        };
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
    Ok(())
}

pub fn lists(args: ListsArgs) -> Result<(), Failure> {
    let db = load_trackers(&args.lists)?;
    let _ = std::io::stdout().write_all(describe_lists(&db).as_bytes());
    Ok(())
}

/// `pixelwatch lists`: per list, its format, what loaded (by category, entries in force), what was
/// not loaded and why (malformed lines with file:line, deliberately skipped rules by kind), and the
/// overrides between lists.
pub fn describe_lists(db: &TrackerDb) -> String {
    let mut per_list: BTreeMap<usize, BTreeMap<Category, usize>> = BTreeMap::new();
    for e in db.entries() {
        *per_list.entry(e.list).or_default().entry(e.category).or_default() += 1;
    }
    let mut out = String::new();
    if db.lists().is_empty() {
        out.push_str("no lists loaded (--no-default-list and no --list)\n");
    }
    for (i, list) in db.lists().iter().enumerate() {
        let mut head = format!("{} ({}", list.name, list.format);
        if let Some(c) = list.category {
            head.push_str(&format!(", entries are {c}"));
        }
        out.push_str(&format!("{head}): {} entries, {} malformed lines", list.entries, list.skipped_total));
        if list.truncated {
            out.push_str(", cut short by a syntax error");
        }
        out.push('\n');
        if let Some(cats) = per_list.get(&i) {
            for (cat, n) in cats {
                let note = if cat.is_tracker() { "" } else { "  (context)" };
                out.push_str(&format!("  {:<14} {n}{note}\n", cat.as_str()));
            }
        }
        let ig = &list.ignored;
        let kinds = [
            (ig.duplicates, "repeated names"),
            (ig.local_names, "hosts-file housekeeping names"),
            (ig.headers, "header lines"),
            (ig.path_rules, "path/URL rules"),
            (ig.exceptions, "exception rules"),
            (ig.cosmetic, "cosmetic rules"),
            (ig.regex, "regex rules"),
            (ig.restricted, "site-restricted rules"),
        ];
        let mut not_loaded: Vec<String> =
            kinds.iter().filter(|(n, _)| *n > 0).map(|(n, what)| format!("{n} {what}")).collect();
        for (category, n) in &ig.unmapped_categories {
            not_loaded.push(format!("{n} in Disconnect category {category}"));
        }
        if !not_loaded.is_empty() {
            out.push_str(&format!("  not loaded (by design): {}\n", not_loaded.join(", ")));
        }
        let mut by_list: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for o in &list.overrides {
            by_list.entry(o.replaced_list).or_default().push(format!("{} (line {})", o.suffix, o.line));
        }
        for (replaced, suffixes) in by_list {
            let name = db.lists().get(replaced).map_or("?", |l| l.name.as_str());
            let shown: Vec<&str> = suffixes.iter().take(10).map(String::as_str).collect();
            let more = if suffixes.len() > 10 { format!(" and {} more", suffixes.len() - 10) } else { String::new() };
            out.push_str(&format!("  overrides {} entries of {name}: {}{more}\n", suffixes.len(), shown.join(", ")));
        }
        if list.overridden > 0 {
            out.push_str(&format!("  {} entries overridden by later lists\n", list.overridden));
        }
        for s in &list.skipped {
            out.push_str(&format!("  skipped {}:{}: {}\n", list.name, s.line, s.reason));
        }
        if list.skipped_total > list.skipped.len() {
            out.push_str(&format!("  … {} more malformed lines\n", list.skipped_total - list.skipped.len()));
        }
    }
    out
}

pub fn interfaces() -> Result<(), Failure> {
    let devices = crate::capture::interfaces().map_err(|e| Failure::Runtime(e.to_string()))?;
    let mut out = String::new();
    let width = devices.iter().map(|d| d.name.len()).max().unwrap_or(0);
    for d in devices {
        let mut flags = Vec::new();
        if d.default {
            flags.push("default");
        }
        flags.push(if d.up { "up" } else { "down" });
        if d.running {
            flags.push("running");
        }
        if d.loopback {
            flags.push("loopback");
        }
        if d.wireless {
            flags.push("wireless");
        }
        let addrs: Vec<String> = d.addresses.iter().map(|a| a.to_string()).collect();
        out.push_str(&format!("{:<width$}  {:<28}  {}", d.name, flags.join(","), addrs.join(" ")));
        if let Some(desc) = d.description.as_deref().filter(|s| !s.is_empty()) {
            out.push_str(&format!("  ({desc})"));
        }
        out.push('\n');
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
    Ok(())
}
