//! The lock of a remote state: the object `<key>.lock`, created only if absent, naming its
//! holder and the end of its lease. The holder renews the lease while it works (a write on the
//! lock's ETag, every third of the lease); a lease not renewed in time may be taken over (again
//! on the ETag seen), with a warning naming the old holder. A renewal refused means another run
//! took the lock: no state write is made after that, which stops apply as an unwritable state.

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use jiff::Timestamp;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};

use super::Holder;
use super::remote::Remote;
use crate::text::printable;

/// What the lock object holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    /// Names this taking of the lock: `force-unlock LOCK_ID` removes only this one.
    pub lock_id: String,
    pub run_id: String,
    pub holder: Holder,
    /// The lease ends here unless renewed.
    pub expires_at: Timestamp,
}

impl LockRecord {
    /// Whether the lease ended at `now`.
    pub fn expired(&self, now: Timestamp) -> bool {
        self.expires_at < now
    }

    pub fn describe(&self) -> String {
        format!(
            "{} (lock ID `{}`, lease until {})",
            self.holder,
            printable(&self.lock_id),
            self.expires_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

/// A held remote lock; its lease is renewed until it is released or dropped.
pub struct RemoteLock {
    remote: Arc<Remote>,
    pub record: LockRecord,
    /// The holder whose expired lease this run took over.
    pub taken_over: Option<LockRecord>,
    renewing: tokio::task::JoinHandle<()>,
    etag: Arc<std::sync::Mutex<String>>,
}

/// Why the lock was not taken.
pub enum Refused {
    Held(LockRecord),
    Fault(anyhow::Error),
}

impl Remote {
    /// The lock object as stored, with its ETag.
    pub async fn read_lock(&self) -> anyhow::Result<Option<(LockRecord, String)>> {
        self.get_bounded(&self.lock, "the lock object", super::lock::RECORD_LIMIT, |bytes| {
            serde_json::from_slice(bytes).map_err(|err| {
                anyhow::anyhow!(
                    "the lock object `{}` of `{}` is malformed ({err}); once no run holds it, delete that object from the bucket (`deskprune force-unlock` needs the lock ID a record names)",
                    printable(self.lock.as_ref()),
                    self.describe()
                )
            })
        })
        .await
    }

    async fn put_lock(
        &self,
        record: &LockRecord,
        mode: PutMode,
    ) -> Result<String, object_store::Error> {
        let json = serde_json::to_vec_pretty(record).expect("a lock record always serialises");
        self.count();
        let put = self
            .store
            .put_opts(&self.lock, PutPayload::from(json), PutOptions::from(mode))
            .await?;
        Ok(put.e_tag.unwrap_or_default())
    }

    /// Removes the lock object (`force-unlock`, release).
    pub async fn remove_lock(&self) -> anyhow::Result<()> {
        self.count();
        match self.store.delete(&self.lock).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(self.fault("remove its lock", &err)),
        }
    }
}

/// Takes the lock for `command`, waiting up to `timeout` while another run holds it.
pub async fn acquire(
    remote: &Arc<Remote>,
    command: &str,
    timeout: Duration,
) -> Result<RemoteLock, Refused> {
    let lease = remote.settings.lease;
    let deadline = tokio::time::Instant::now() + timeout;
    let lock_id = uuid::Uuid::new_v4().to_string();
    let record = |now: Timestamp| LockRecord {
        lock_id: lock_id.clone(),
        run_id: remote.run_id.clone(),
        holder: Holder::current(command),
        expires_at: now + jiff::SignedDuration::try_from(lease).unwrap_or_default(),
    };
    loop {
        let mine = record(Timestamp::now());
        let (taken_over, etag) = match remote.put_lock(&mine, PutMode::Create).await {
            Ok(etag) => (None, etag),
            Err(object_store::Error::AlreadyExists { .. }) => {
                let Some((theirs, seen)) = remote.read_lock().await.map_err(Refused::Fault)? else {
                    continue; // released meanwhile
                };
                if theirs.lock_id == lock_id {
                    // Our own create, whose answer was lost and retried.
                    (None, seen)
                } else if theirs.expired(Timestamp::now()) {
                    let mode = PutMode::Update(UpdateVersion {
                        e_tag: Some(seen),
                        version: None,
                    });
                    match remote.put_lock(&mine, mode).await {
                        Ok(etag) => (Some(theirs), etag),
                        Err(object_store::Error::Precondition { .. }) => continue,
                        Err(err) => {
                            return Err(Refused::Fault(remote.fault("take its lock", &err)));
                        }
                    }
                } else if tokio::time::Instant::now() >= deadline {
                    return Err(Refused::Held(theirs));
                } else {
                    let wait = deadline - tokio::time::Instant::now();
                    tokio::time::sleep(wait.min(Duration::from_millis(500))).await;
                    continue;
                }
            }
            Err(err) => return Err(Refused::Fault(remote.fault("take its lock", &err))),
        };
        *remote.lease_until.lock().expect("not poisoned") = Some(mine.expires_at);
        let etag = Arc::new(std::sync::Mutex::new(etag));
        let renewing = tokio::spawn(renew(Arc::clone(remote), mine.clone(), Arc::clone(&etag)));
        return Ok(RemoteLock {
            remote: Arc::clone(remote),
            record: mine,
            taken_over,
            renewing,
            etag,
        });
    }
}

/// Renews the lease every third of it. A renewal refused (the lock was taken over or removed)
/// or not made before the lease ends marks the lease lost: no state write follows.
async fn renew(remote: Arc<Remote>, mut record: LockRecord, etag: Arc<std::sync::Mutex<String>>) {
    let lease = remote.settings.lease;
    let lease_signed = jiff::SignedDuration::try_from(lease).unwrap_or_default();
    loop {
        tokio::time::sleep(lease / 3).await;
        let previous_end = record.expires_at;
        record.expires_at = Timestamp::now() + lease_signed;
        let seen = etag.lock().expect("not poisoned").clone();
        let mode = PutMode::Update(UpdateVersion {
            e_tag: Some(seen),
            version: None,
        });
        let lost = match remote.put_lock(&record, mode).await {
            Ok(new) => {
                *etag.lock().expect("not poisoned") = new;
                *remote.lease_until.lock().expect("not poisoned") = Some(record.expires_at);
                continue;
            }
            Err(object_store::Error::Precondition { .. }) => match remote.read_lock().await {
                // This renewal was carried out, its answer lost and the retry refused: the
                // lock holds exactly what it wrote.
                Ok(Some((stored, new))) if stored == record => {
                    *etag.lock().expect("not poisoned") = new;
                    *remote.lease_until.lock().expect("not poisoned") = Some(record.expires_at);
                    continue;
                }
                _ => "another run took the state lock (this run's lease was taken over or removed)"
                    .to_string(),
            },
            Err(err) if Timestamp::now() >= previous_end => format!(
                "the state lock's lease ended without being renewed: {}",
                printable(&err.to_string())
            ),
            Err(err) => {
                tracing::warn!(error = %err, "could not renew the state lock's lease; trying again");
                record.expires_at = previous_end;
                continue;
            }
        };
        tracing::warn!("{lost}");
        *remote.lease_lost.lock().expect("not poisoned") = Some(format!(
            "{lost} at `{}`; no further write was made",
            remote.describe()
        ));
        return;
    }
}

impl RemoteLock {
    /// Stops renewing and removes the lock, if it is still this run's.
    pub async fn release(self) -> anyhow::Result<()> {
        self.renewing.abort();
        *self.remote.lease_until.lock().expect("not poisoned") = None;
        let _ = self.etag;
        match self.remote.read_lock().await? {
            Some((record, _)) if record.lock_id == self.record.lock_id => {
                self.remote.remove_lock().await
            }
            Some((other, _)) => bail!(
                "the state lock of `{}` is held by {} now, not this run; it was left in place",
                self.remote.describe(),
                other.describe()
            ),
            None => Ok(()),
        }
    }
}

impl Drop for RemoteLock {
    fn drop(&mut self) {
        self.renewing.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lock object that is not a lock record cannot be removed by `force-unlock` (which
    /// reads its lock ID): the message says to delete the object itself, and names it.
    #[tokio::test]
    async fn a_malformed_lock_names_the_object_to_delete_not_force_unlock() {
        let remote = crate::state::remote::tests::answering(b"HTTP/1.1 200 OK\r\nETag: \"e1\"\r\nLast-Modified: Thu, 03 Dec 2026 15:00:00 GMT\r\nContent-Length: 8\r\nConnection: close\r\n\r\nnot json").await;
        let err = remote.read_lock().await.unwrap_err().to_string();
        assert!(err.contains("is malformed"), "{err}");
        assert!(err.contains("prod/deskprune.state.json.lock"), "{err}");
        assert!(err.contains("delete that object"), "{err}");
        assert!(
            !err.contains("remove it with `deskprune force-unlock`"),
            "{err}"
        );
    }

    #[test]
    fn a_lease_expires_after_its_end_only() {
        let now: Timestamp = "2026-12-03T15:00:00Z".parse().unwrap();
        let record = LockRecord {
            lock_id: "l".into(),
            run_id: "r".into(),
            holder: Holder::current("deskprune apply"),
            expires_at: now,
        };
        assert!(!record.expired(now));
        assert!(!record.expired(now - jiff::SignedDuration::from_secs(1)));
        assert!(record.expired(now + jiff::SignedDuration::from_secs(1)));
        assert!(record.describe().contains("lock ID `l`"));
    }
}
