//! Tests of the list reloader on real files in a temporary directory: atomic replacement (write a
//! temporary file, rename it over the list) is picked up, in-place rewrites too, a broken or
//! missing file keeps the old list, requests reload at once, and the reloader's own reads do not
//! trigger reloads.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use super::reload::{Reload, Reloader, Trigger, check_reload};
use super::shared::{SharedTrackers, TrackerView};
use super::{Builder, TrackerDb};

/// (done?, trigger, entries of the user list or the reason)
type Outcome = (bool, Trigger, String);

fn load(path: &Path) -> Result<TrackerDb, String> {
    Builder::new()
        .embedded()
        .map_err(|e| e.to_string())?
        .file(path.to_str().unwrap())
        .map(|b| b.build())
        .map_err(|e| e.to_string())
}

fn start(path: &Path) -> (Arc<SharedTrackers>, Reloader, Receiver<Outcome>) {
    let shared = SharedTrackers::new(Arc::new(load(path).unwrap()));
    let (tx, rx) = mpsc::channel();
    let file = path.to_path_buf();
    let reloader = Reloader::start(
        shared.clone(),
        &[path.to_path_buf()],
        Box::new(move || load(&file)),
        Box::new(move |r| {
            let _ = tx.send(match r {
                Reload::Done { db, trigger } => (true, *trigger, db.lists()[1].entries.to_string()),
                Reload::Kept { reason, trigger } => (false, *trigger, reason.clone()),
            });
        }),
    )
    .unwrap();
    assert!(reloader.warnings().is_empty(), "{:?}", reloader.warnings());
    (shared, reloader, rx)
}

/// Replaces `path` the way deployment tools do: a temporary file in the same directory, renamed.
fn replace_atomically(path: &Path, text: &str) {
    let tmp: PathBuf = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn next(rx: &Receiver<Outcome>) -> Outcome {
    rx.recv_timeout(Duration::from_secs(10)).expect("a reload within 10 s")
}

#[test]
fn atomic_replace_is_picked_up_and_a_broken_file_keeps_the_old_list() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trackers.txt");
    std::fs::write(&path, "0.0.0.0 one.tracker.example\n").unwrap();
    let (shared, reloader, rx) = start(&path);
    assert!(reloader.watched().contains(&dir.path().to_path_buf()), "{:?}", reloader.watched());
    let mut view = TrackerView::new(shared.clone());
    assert!(view.db().lookup("x.one.tracker.example").is_some());

    // 1. Atomic replacement: picked up, and the packet thread's view follows.
    replace_atomically(&path, "0.0.0.0 two.tracker.example\n0.0.0.0 three.tracker.example\n");
    assert_eq!(next(&rx), (true, Trigger::FileChanged, "2".into()));
    assert!(view.refresh().is_some());
    assert!(view.db().lookup("one.tracker.example").is_none());
    assert!(view.db().lookup("a.three.tracker.example").is_some());
    assert!(view.db().lookup("www.google-analytics.com").is_some(), "the embedded list is rebuilt too");

    // 2. No reload follows from the reloader's own reads of the file.
    assert!(rx.recv_timeout(Duration::from_millis(800)).is_err(), "no spurious reload");

    // 3. A file with no valid entry left: the old list stays, and the report says why.
    replace_atomically(&path, "<html>502 Bad Gateway</html>\n");
    let (done, trigger, reason) = next(&rx);
    assert!(!done && trigger == Trigger::FileChanged);
    assert!(reason.contains("trackers.txt") && reason.contains("no valid entries (it had 2"), "{reason}");
    assert!(view.refresh().is_none());
    assert!(shared.current().lookup("two.tracker.example").is_some());

    // 4. A missing file: the old list stays.
    std::fs::remove_file(&path).unwrap();
    let (done, _, reason) = next(&rx);
    assert!(!done && reason.contains("trackers.txt"), "{reason}");
    assert!(shared.current().lookup("two.tracker.example").is_some());

    // 5. The file comes back (renamed into place): loaded.
    replace_atomically(&path, "0.0.0.0 four.tracker.example\n");
    assert_eq!(next(&rx), (true, Trigger::FileChanged, "1".into()));
    assert!(shared.current().lookup("four.tracker.example").is_some());

    // 6. A request (SIGHUP) reloads at once, without any file event.
    reloader.requester().request();
    assert_eq!(next(&rx), (true, Trigger::Request, "1".into()));
    assert_eq!(shared.generation(), 3);
    drop(reloader);
}

#[test]
fn in_place_rewrites_are_debounced_into_one_reload_of_the_final_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.hosts");
    std::fs::write(&path, "0.0.0.0 a.tracker.example\n").unwrap();
    // Another file in the same directory is not a list: changing it does nothing.
    let other = dir.path().join("notes.txt");
    let (shared, _reloader, rx) = start(&path);
    std::fs::write(&other, "hello").unwrap();
    // Truncate and write in several steps, as a shell redirection or a slow writer would.
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&path).unwrap();
        for i in 0..5 {
            writeln!(f, "0.0.0.0 b{i}.tracker.example").unwrap();
            f.flush().unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    // One reload for the burst (20 ms gaps < 200 ms debounce); on a loaded machine a gap may
    // stretch past the debounce, so a partial read may come first, but the last is complete.
    let mut outcomes = vec![next(&rx)];
    while let Ok(o) = rx.recv_timeout(Duration::from_millis(800)) {
        outcomes.push(o);
    }
    assert_eq!(outcomes.last(), Some(&(true, Trigger::FileChanged, "5".to_string())), "{outcomes:?}");
    assert!(outcomes.len() <= 5, "{outcomes:?}");
    assert!(shared.current().lookup("b4.tracker.example").is_some());
}

#[test]
fn check_reload_rules() {
    let list = |text: &str| {
        let spec = super::ListSpec { path: "l.txt".into(), ..Default::default() };
        Builder::new().bytes(&spec, text.as_bytes()).build()
    };
    let good = list("0.0.0.0 a.example\n");
    assert!(check_reload(&good, &list("0.0.0.0 b.example\nbad line here\n")).is_ok(), "malformed lines are warnings");
    assert!(check_reload(&good, &list("garbage!\n")).unwrap_err().contains("no valid entries"));
    assert!(check_reload(&list(""), &list("")).is_ok(), "an empty list may stay empty");
    let json = super::tests_disconnect::SERVICES;
    let spec = super::ListSpec { path: "s.json".into(), ..Default::default() };
    let whole = Builder::new().bytes(&spec, json.as_bytes()).build();
    let cut = Builder::new().bytes(&spec, &json.as_bytes()[..json.len() / 2]).build();
    assert!(check_reload(&whole, &whole).is_ok());
    let e = check_reload(&whole, &cut).unwrap_err();
    assert!(e.starts_with("s.json:") && e.contains("JSON:"), "{e}");
}
