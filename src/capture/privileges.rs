//! Dropping root privileges once every capture handle is open (`pixelwatch live --user USER`).
//!
//! Open handles keep capturing afterwards; opening new ones (or re-opening an interface after a
//! link flap) is no longer possible.

use nix::unistd::{self, Gid, Uid, User};

/// Why privileges could not be dropped. `Display` is one line naming the user.
#[derive(Debug, thiserror::Error)]
pub enum PrivilegeError {
    #[error("--user {user}: no such user")]
    UnknownUser { user: String },
    #[error("--user {user}: cannot look the user up: {reason}")]
    Lookup { user: String, reason: String },
    #[error("--user {user}: refusing to switch to a user with uid 0")]
    TargetIsRoot { user: String },
    #[error("--user {user}: pixelwatch must start as root to switch users (it runs as uid {uid})")]
    NotRoot { user: String, uid: u32 },
    #[error("--user {user}: {call} failed: {reason}")]
    Syscall { user: String, call: &'static str, reason: String },
    #[error("--user {user}: privileges are still there after the switch: {detail}")]
    StillPrivileged { user: String, detail: String },
}

/// Switches the whole process (all threads) to `user`: supplementary groups cleared, then the
/// user's primary gid, then its uid (real, effective and saved). Verifies afterwards that
/// `setuid(0)` fails and that no capability is left in the effective set.
pub fn drop_privileges(user: &str) -> Result<(), PrivilegeError> {
    let target = match User::from_name(user) {
        Ok(Some(u)) => u,
        Ok(None) => {
            return Err(PrivilegeError::UnknownUser { user: user.to_owned() });
        }
        Err(e) => {
            return Err(PrivilegeError::Lookup { user: user.to_owned(), reason: e.desc().to_owned() });
        }
    };
    if target.uid.is_root() {
        return Err(PrivilegeError::TargetIsRoot { user: user.to_owned() });
    }
    let euid = unistd::geteuid();
    if !euid.is_root() {
        return Err(PrivilegeError::NotRoot { user: user.to_owned(), uid: euid.as_raw() });
    }
    let syscall = |call: &'static str, e: nix::Error| PrivilegeError::Syscall {
        user: user.to_owned(),
        call,
        reason: e.desc().to_owned(),
    };
    // Order matters: groups and gid need root, which setuid gives up.
    unistd::setgroups(&[]).map_err(|e| syscall("setgroups", e))?;
    unistd::setgid(target.gid).map_err(|e| syscall("setgid", e))?;
    unistd::setuid(target.uid).map_err(|e| syscall("setuid", e))?;
    verify_dropped(user, target.uid, target.gid)
}

fn verify_dropped(user: &str, uid: Uid, gid: Gid) -> Result<(), PrivilegeError> {
    let still = |detail: String| PrivilegeError::StillPrivileged { user: user.to_owned(), detail };
    if unistd::setuid(Uid::from_raw(0)).is_ok() {
        return Err(still("setuid(0) succeeded".to_owned()));
    }
    if unistd::getuid() != uid || unistd::geteuid() != uid || unistd::getgid() != gid || unistd::getegid() != gid {
        return Err(still("uid/gid did not change".to_owned()));
    }
    if let Some(cap_eff) = effective_capabilities()
        && cap_eff != 0
    {
        return Err(still(format!("effective capabilities {cap_eff:#x}")));
    }
    Ok(())
}

/// `CapEff` of this process from /proc/self/status (Linux); `None` where unavailable.
pub(crate) fn effective_capabilities() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    proc_status_field(&status, "CapEff:").and_then(|v| u64::from_str_radix(v, 16).ok())
}

/// The first whitespace-separated value of a `/proc/self/status` line such as `Uid:\t0\t0\t0\t0`.
pub(crate) fn proc_status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status.lines().find_map(|l| l.strip_prefix(key)).and_then(|rest| rest.split_whitespace().next())
}

#[cfg(test)]
#[path = "privileges_tests.rs"]
mod tests;
