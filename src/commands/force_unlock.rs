//! `deskprune force-unlock PID [--force]`: for a lock the OS will not release by itself (a
//! holder on another host sharing the folder, or a network file system that lost track). The
//! lock file is removed, so the old holder's lock no longer guards anything. The PID must
//! match the recorded holder, so a stale command line cannot break a newer lock; a holder
//! still running on this host is refused (stop it: its lock goes with it); and, as
//! `terraform force-unlock` does, it asks first unless `--force`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use crate::cli::{ForceUnlockArgs, Global};
use crate::error::{Error, exit};
use crate::output::Output;
use crate::state::{Remote, StateLock, Store, Unlocking};

pub async fn run(global: &Global, args: &ForceUnlockArgs, output: &Output) -> Result<u8, Error> {
    let config = super::load_config(global, output)?;
    let state_path = match super::state::open_store(&config, global, output)? {
        Store::Local(path) => path,
        Store::S3(remote) => return remote_unlock(&remote, args, output).await,
    };
    let pid = args.lock.parse::<u32>().map_err(|_| {
        Error::refused(
            format!(
                "`{}` is not a process ID: the local state lock is named by the pid of its holder",
                crate::text::printable(&args.lock)
            ),
            "give the pid the refused command named",
        )
    })?;
    let unlocking = StateLock::prepare_force_unlock(&state_path, pid)?;
    if !args.force {
        confirm(&state_path, &unlocking, output)?;
    }
    let holder = unlocking.release()?;
    output.note(&format!(
        "Released the state lock held by {holder}. If that process is still running, stop it: it no longer holds the lock."
    ));
    Ok(exit::OK)
}

/// A remote lock: removed only when its recorded lock ID is `args.lock`.
async fn remote_unlock(
    remote: &Remote,
    args: &ForceUnlockArgs,
    output: &Output,
) -> Result<u8, Error> {
    let Some((record, _)) = remote.read_lock().await? else {
        return Err(crate::state::LockError::NotHeld {
            state: remote.describe(),
        }
        .into());
    };
    if record.lock_id != args.lock {
        return Err(Error::refused(
            format!(
                "the state lock of `{}` is held by {}, not by lock ID `{}`; nothing was changed",
                remote.describe(),
                record.describe(),
                crate::text::printable(&args.lock)
            ),
            "give the lock ID the refused command named",
        ));
    }
    if !args.force {
        ask(
            &format!(
                "Do you really want to force-unlock?\n  deskprune will remove the lock of `{}`,\n  held by {}.\n  This will allow other deskprune runs to write this state, even though it\n  may still be in use. Only 'yes' will be accepted to confirm.\n\n  Enter a value: ",
                remote.describe(),
                record.describe()
            ),
            output,
        )?;
    }
    // Read again: a lock taken anew while the question waited is not this one.
    match remote.read_lock().await? {
        Some((again, _)) if again.lock_id == record.lock_id => remote.remove_lock().await?,
        _ => {
            return Err(crate::state::LockError::Changed {
                state: remote.describe(),
            }
            .into());
        }
    }
    output.note(&format!(
        "Released the state lock held by {}. If that process is still running, stop it: it no longer holds the lock.",
        record.describe()
    ));
    Ok(exit::OK)
}

fn confirm(state: &Path, unlocking: &Unlocking, output: &Output) -> Result<(), Error> {
    ask(&question(state, unlocking), output)
}

fn ask(question: &str, output: &Output) -> Result<(), Error> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::refused(
            "refusing to force-unlock without confirmation: standard input is not a terminal",
            "make sure the holder is not running, then pass `--force` to skip the question",
        ));
    }
    let styles = &output.stderr;
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "{}{question}{:#}", styles.header, styles.header);
    let _ = stderr.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(anyhow::Error::from)?;
    if accepted(&answer) {
        return Ok(());
    }
    Err(Error::refused(
        "force-unlock cancelled: the answer was not `yes`; the lock is still held",
        "type `yes` exactly to force-unlock",
    ))
}

/// The question, worded as `terraform force-unlock` words it.
fn question(state: &Path, unlocking: &Unlocking) -> String {
    let unchecked = match &unlocking.unchecked {
        Some(why) => format!(
            "  deskprune cannot tell whether that process is still running ({why});\n  make sure it is not.\n"
        ),
        None => String::new(),
    };
    format!(
        "Do you really want to force-unlock?\n  deskprune will remove the lock on `{}`,\n  held by {}.\n{unchecked}  This will allow other deskprune runs to write this state, even though it\n  may still be in use. Only 'yes' will be accepted to confirm.\n\n  Enter a value: ",
        state.display(),
        unlocking.holder
    )
}

fn accepted(answer: &str) -> bool {
    answer.trim() == "yes"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_yes_is_accepted() {
        assert!(accepted("yes\n"));
        assert!(accepted("  yes \r\n"));
        for answer in ["", "y", "YES", "yes please", "no\n"] {
            assert!(!accepted(answer), "{answer:?}");
        }
    }

    #[test]
    fn the_question_names_the_lock_and_says_what_cannot_be_checked() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let elsewhere = crate::state::Holder {
            host: "another-host.example".into(),
            ..crate::state::Holder::current("deskprune apply")
        };
        std::fs::write(
            dir.path().join("s.json.lock"),
            serde_json::to_vec(&elsewhere).unwrap(),
        )
        .unwrap();
        let unlocking = StateLock::prepare_force_unlock(&state, elsewhere.pid).unwrap();
        let text = question(&state, &unlocking);
        assert!(
            text.starts_with("Do you really want to force-unlock?\n"),
            "{text}"
        );
        assert!(text.contains("held by `deskprune apply` (pid"), "{text}");
        assert!(
            text.contains("cannot tell whether that process is still running (it ran on host `another-host.example`"),
            "{text}"
        );
        assert!(
            text.contains("Only 'yes' will be accepted to confirm."),
            "{text}"
        );
        assert!(text.ends_with("Enter a value: "), "{text}");
    }
}
