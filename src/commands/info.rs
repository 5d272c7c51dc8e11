//! `check`, `lists` and `interfaces`: what pixelwatch knows, without capturing anything.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::json;

use crate::cli::{CheckArgs, ListsArgs};
use crate::commands::{Failure, load_trackers};
use crate::model::Category;

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
    let mut per_list: BTreeMap<usize, BTreeMap<Category, usize>> = BTreeMap::new();
    for e in db.entries() {
        *per_list.entry(e.list).or_default().entry(e.category).or_default() += 1;
    }
    let mut out = String::new();
    if db.lists().is_empty() {
        out.push_str("no lists loaded (--no-default-list and no --list)\n");
    }
    for (i, list) in db.lists().iter().enumerate() {
        out.push_str(&format!(
            "{} ({}): {} entries, {} skipped lines\n",
            list.name,
            list.format,
            list.entries,
            list.skipped.len()
        ));
        if let Some(cats) = per_list.get(&i) {
            for (cat, n) in cats {
                out.push_str(&format!(
                    "  {:<14} {n}{}\n",
                    cat.as_str(),
                    if cat.is_tracker() { "" } else { "  (context)" }
                ));
            }
        }
        for s in &list.skipped {
            out.push_str(&format!("  skipped {}:{}: {}\n", list.name, s.line, s.reason));
        }
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
    Ok(())
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
