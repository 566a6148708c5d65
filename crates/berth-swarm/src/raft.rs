//! The replicated log: openraft with berth's storage. One manager today (node 1, no
//! network: the factory below refuses every RPC), but the same log, state machine and
//! snapshots carry over when managers join later.
//!
//! On disk (`<data-root>/swarm/raft/`), every record is sealed with the data encryption
//! key ([`crate::crypto`]): `log` is a journal of appended entries, truncations and purges
//! (u32 length + sealed JSON, fsynced per append batch; a torn tail from a crash is cut at
//! the last whole record), `meta` holds the vote and the committed log id, `snapshot` the
//! state machine at a log index. At start the snapshot is loaded and openraft re-applies
//! the committed entries after it.

use crate::crypto::Key;
use crate::store::{Applied, Command, State};
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::storage::{LogFlushed, RaftLogStorage, RaftStateMachine};
use openraft::{
    BasicNode, Entry, EntryPayload, LogId, LogState, OptionalSend, RaftLogReader, RaftNetwork,
    RaftNetworkFactory, RaftSnapshotBuilder, Snapshot, SnapshotMeta, StorageError, StorageIOError,
    StoredMembership, Vote,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::{Cursor, Read, Write};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

openraft::declare_raft_types!(
    /// The swarm's raft types: commands in, [`Applied`] out.
    pub TypeConfig:
        D = Command,
        R = Applied,
);

pub type Raft = openraft::Raft<TypeConfig>;
type SErr = StorageError<u64>;
/// This manager's raft node id (one manager).
pub const SELF: u64 = 1;

fn write_err(e: impl std::error::Error + 'static) -> SErr {
    StorageIOError::write(&e).into()
}
fn read_err(e: impl std::error::Error + 'static) -> SErr {
    StorageIOError::read(&e).into()
}

/// Writes `bytes` to `path` through a temp file, fsync and rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

// ---- the log ---------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
enum Record {
    Entry(Entry<TypeConfig>),
    Truncate(u64),
    Purge(LogId<u64>),
}

#[derive(Default, Serialize, Deserialize)]
struct LogMeta {
    vote: Option<Vote<u64>>,
    committed: Option<LogId<u64>>,
}

struct LogInner {
    dir: PathBuf,
    key: Key,
    file: std::fs::File,
    entries: BTreeMap<u64, Entry<TypeConfig>>,
    last_purged: Option<LogId<u64>>,
    meta: LogMeta,
}

#[derive(Clone)]
pub struct LogStore {
    inner: Arc<tokio::sync::Mutex<LogInner>>,
}

fn frame(key: &Key, rec: &Record) -> std::io::Result<Vec<u8>> {
    let plain = serde_json::to_vec(rec).map_err(std::io::Error::other)?;
    let sealed = key.seal(&plain);
    let mut out = (sealed.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&sealed);
    Ok(out)
}

impl LogStore {
    fn open(dir: &Path, key: &Key) -> std::io::Result<LogStore> {
        std::fs::create_dir_all(dir)?;
        let meta = match std::fs::read(dir.join("meta")) {
            Ok(b) => key
                .open(&b)
                .ok()
                .and_then(|p| serde_json::from_slice(&p).ok())
                .ok_or_else(|| std::io::Error::other("the raft meta file cannot be read"))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => LogMeta::default(),
            Err(e) => return Err(e),
        };
        let path = dir.join("log");
        let mut entries = BTreeMap::new();
        let mut last_purged = None;
        let mut good_len = 0u64;
        if let Ok(mut f) = std::fs::File::open(&path) {
            let mut buf = Vec::new();
            f.read_to_end(&mut buf)?;
            let mut off = 0usize;
            while off + 4 <= buf.len() {
                let len = u32::from_le_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]])
                    as usize;
                let Some(body) = buf.get(off + 4..off + 4 + len) else {
                    break;
                };
                // A whole record that does not open is the wrong key or damage: never
                // cut the log for that (only a torn tail is cut).
                let plain = key.open(body).map_err(std::io::Error::other)?;
                let rec: Record = serde_json::from_slice(&plain).map_err(std::io::Error::other)?;
                match rec {
                    Record::Entry(e) => {
                        entries.insert(e.log_id.index, e);
                    }
                    Record::Truncate(i) => {
                        entries.split_off(&i);
                    }
                    Record::Purge(id) => {
                        entries = entries.split_off(&(id.index + 1));
                        last_purged = Some(id);
                    }
                }
                off += 4 + len;
                good_len = off as u64;
            }
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        // A record cut short by a crash: drop it, so later appends follow whole records.
        if file.metadata()?.len() != good_len {
            file.set_len(good_len)?;
        }
        Ok(LogStore {
            inner: Arc::new(tokio::sync::Mutex::new(LogInner {
                dir: dir.to_path_buf(),
                key: key.clone(),
                file,
                entries,
                last_purged,
                meta,
            })),
        })
    }
}

impl LogInner {
    fn append_records(&mut self, recs: &[Record]) -> std::io::Result<()> {
        let mut buf = Vec::new();
        for r in recs {
            buf.extend_from_slice(&frame(&self.key, r)?);
        }
        self.file.write_all(&buf)?;
        self.file.sync_data()
    }

    fn save_meta(&self) -> std::io::Result<()> {
        let plain = serde_json::to_vec(&self.meta).map_err(std::io::Error::other)?;
        write_atomic(&self.dir.join("meta"), &self.key.seal(&plain))
    }

    /// Rewrites the journal with what is left (after a purge), so it does not grow forever.
    fn compact(&mut self) -> std::io::Result<()> {
        let mut buf = Vec::new();
        if let Some(p) = self.last_purged {
            buf.extend_from_slice(&frame(&self.key, &Record::Purge(p))?);
        }
        for e in self.entries.values() {
            buf.extend_from_slice(&frame(&self.key, &Record::Entry(e.clone()))?);
        }
        let path = self.dir.join("log");
        write_atomic(&path, &buf)?;
        self.file = std::fs::OpenOptions::new().append(true).open(&path)?;
        Ok(())
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, SErr> {
        let inner = self.inner.lock().await;
        Ok(inner.entries.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, SErr> {
        let inner = self.inner.lock().await;
        let last = inner
            .entries
            .values()
            .next_back()
            .map(|e| e.log_id)
            .or(inner.last_purged);
        Ok(LogState {
            last_purged_log_id: inner.last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> Result<(), SErr> {
        let mut inner = self.inner.lock().await;
        inner.meta.vote = Some(*vote);
        inner.save_meta().map_err(write_err)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<u64>>, SErr> {
        Ok(self.inner.lock().await.meta.vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId<u64>>) -> Result<(), SErr> {
        let mut inner = self.inner.lock().await;
        inner.meta.committed = committed;
        inner.save_meta().map_err(write_err)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<u64>>, SErr> {
        Ok(self.inner.lock().await.meta.committed)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), SErr>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut inner = self.inner.lock().await;
        let entries: Vec<Entry<TypeConfig>> = entries.into_iter().collect();
        let recs: Vec<Record> = entries.iter().cloned().map(Record::Entry).collect();
        let res = inner.append_records(&recs);
        if res.is_ok() {
            for e in entries {
                inner.entries.insert(e.log_id.index, e);
            }
        }
        let ret = match &res {
            Ok(()) => Ok(()),
            Err(e) => Err(write_err(std::io::Error::new(e.kind(), e.to_string()))),
        };
        callback.log_io_completed(res);
        ret
    }

    async fn truncate(&mut self, log_id: LogId<u64>) -> Result<(), SErr> {
        let mut inner = self.inner.lock().await;
        inner
            .append_records(&[Record::Truncate(log_id.index)])
            .map_err(write_err)?;
        inner.entries.split_off(&log_id.index);
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId<u64>) -> Result<(), SErr> {
        let mut inner = self.inner.lock().await;
        inner.entries = inner.entries.split_off(&(log_id.index + 1));
        inner.last_purged = Some(log_id);
        inner.compact().map_err(write_err)
    }
}

// ---- the state machine ------------------------------------------------------------------

/// The applied state, shared with readers, and a watch of the last applied index that
/// the orchestrator, scheduler and agent wake on.
pub struct Shared {
    pub state: std::sync::RwLock<State>,
    pub applied: tokio::sync::watch::Sender<u64>,
}

impl Shared {
    /// A copy of the state (readers never hold the lock across an await).
    pub fn snapshot(&self) -> State {
        self.state.read().map(|s| s.clone()).unwrap_or_default()
    }
    pub fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        match self.state.read() {
            Ok(s) => f(&s),
            Err(p) => f(&p.into_inner()),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct SnapshotFile {
    meta: SnapshotMeta<u64, BasicNode>,
    state: State,
}

pub struct StateMachine {
    shared: Arc<Shared>,
    last_applied: Option<LogId<u64>>,
    membership: StoredMembership<u64, BasicNode>,
    dir: PathBuf,
    key: Key,
}

impl StateMachine {
    fn open(dir: &Path, key: &Key, shared: Arc<Shared>) -> std::io::Result<StateMachine> {
        let mut sm = StateMachine {
            shared,
            last_applied: None,
            membership: StoredMembership::default(),
            dir: dir.to_path_buf(),
            key: key.clone(),
        };
        match std::fs::read(dir.join("snapshot")) {
            Ok(b) => {
                let snap: SnapshotFile = key
                    .open(&b)
                    .ok()
                    .and_then(|p| serde_json::from_slice(&p).ok())
                    .ok_or_else(|| std::io::Error::other("the raft snapshot cannot be read"))?;
                sm.last_applied = snap.meta.last_log_id;
                sm.membership = snap.meta.last_membership.clone();
                if let Ok(mut st) = sm.shared.state.write() {
                    *st = snap.state;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(sm)
    }
}

pub struct SnapBuilder {
    file: SnapshotFile,
    dir: PathBuf,
    key: Key,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, SErr> {
        let plain = serde_json::to_vec(&self.file).map_err(write_err)?;
        write_atomic(&self.dir.join("snapshot"), &self.key.seal(&plain)).map_err(write_err)?;
        let data = serde_json::to_vec(&self.file.state).map_err(write_err)?;
        Ok(Snapshot {
            meta: self.file.meta.clone(),
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapBuilder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<u64>>, StoredMembership<u64, BasicNode>), SErr> {
        Ok((self.last_applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Applied>, SErr>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut out = Vec::new();
        let mut last = None;
        {
            let mut st = match self.shared.state.write() {
                Ok(s) => s,
                Err(p) => p.into_inner(),
            };
            for e in entries {
                self.last_applied = Some(e.log_id);
                last = Some(e.log_id.index);
                out.push(match e.payload {
                    EntryPayload::Blank => Applied::Nothing,
                    EntryPayload::Normal(cmd) => st.apply(e.log_id.index, &cmd),
                    EntryPayload::Membership(m) => {
                        self.membership = StoredMembership::new(Some(e.log_id), m);
                        Applied::Nothing
                    }
                });
            }
        }
        if let Some(i) = last {
            self.shared.applied.send_replace(i);
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        let id = self
            .last_applied
            .map(|l| format!("{}-{}", l.leader_id, l.index))
            .unwrap_or_default();
        SnapBuilder {
            file: SnapshotFile {
                meta: SnapshotMeta {
                    last_log_id: self.last_applied,
                    last_membership: self.membership.clone(),
                    snapshot_id: id,
                },
                state: self.shared.snapshot(),
            },
            dir: self.dir.clone(),
            key: self.key.clone(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, SErr> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), SErr> {
        let state: State = serde_json::from_slice(snapshot.get_ref()).map_err(read_err)?;
        let file = SnapshotFile {
            meta: meta.clone(),
            state: state.clone(),
        };
        let plain = serde_json::to_vec(&file).map_err(write_err)?;
        write_atomic(&self.dir.join("snapshot"), &self.key.seal(&plain)).map_err(write_err)?;
        self.last_applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        if let Ok(mut st) = self.shared.state.write() {
            *st = state;
        }
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, SErr> {
        match std::fs::read(self.dir.join("snapshot")) {
            Ok(b) => {
                let file: SnapshotFile = self
                    .key
                    .open(&b)
                    .ok()
                    .and_then(|p| serde_json::from_slice(&p).ok())
                    .ok_or_else(|| read_err(std::io::Error::other("bad snapshot")))?;
                let data = serde_json::to_vec(&file.state).map_err(read_err)?;
                Ok(Some(Snapshot {
                    meta: file.meta,
                    snapshot: Box::new(Cursor::new(data)),
                }))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(read_err(e)),
        }
    }
}

// ---- the network: none yet --------------------------------------------------------------

/// One manager: no peer to reach. Multi-manager swarms replace this with a transport.
pub struct NoPeers;

fn unreachable_peer() -> std::io::Error {
    std::io::Error::other("no other manager in this swarm")
}

impl RaftNetworkFactory<TypeConfig> for NoPeers {
    type Network = NoPeers;
    async fn new_client(&mut self, _target: u64, _node: &BasicNode) -> NoPeers {
        NoPeers
    }
}

impl RaftNetwork<TypeConfig> for NoPeers {
    async fn append_entries(
        &mut self,
        _rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        Err(RPCError::Network(NetworkError::new(&unreachable_peer())))
    }

    async fn install_snapshot(
        &mut self,
        _rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<u64>,
        RPCError<u64, BasicNode, RaftError<u64, InstallSnapshotError>>,
    > {
        Err(RPCError::Network(NetworkError::new(&unreachable_peer())))
    }

    async fn vote(
        &mut self,
        _rpc: VoteRequest<u64>,
        _option: RPCOption,
    ) -> Result<VoteResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        Err(RPCError::Network(NetworkError::new(&unreachable_peer())))
    }
}

// ---- the replicated store ----------------------------------------------------------------

/// The running raft node and its applied state.
pub struct Replicated {
    pub raft: Raft,
    pub shared: Arc<Shared>,
}

impl Replicated {
    /// Opens (or creates) the log in `dir` with the data encryption key `key`.
    pub async fn open(dir: &Path, key: &Key) -> Result<Replicated, String> {
        let shared = Arc::new(Shared {
            state: std::sync::RwLock::new(State::default()),
            applied: tokio::sync::watch::channel(0).0,
        });
        let log = LogStore::open(dir, key).map_err(|e| format!("raft log: {e}"))?;
        let sm = StateMachine::open(dir, key, shared.clone())
            .map_err(|e| format!("raft snapshot: {e}"))?;
        let config = openraft::Config {
            cluster_name: "berth-swarm".into(),
            heartbeat_interval: 250,
            election_timeout_min: 300,
            election_timeout_max: 600,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(1000),
            max_in_snapshot_log_to_keep: 0,
            ..Default::default()
        }
        .validate()
        .map_err(|e| e.to_string())?;
        let raft = Raft::new(SELF, Arc::new(config), NoPeers, log, sm)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Replicated { raft, shared })
    }

    /// Makes this node the single voter of a new log.
    pub async fn initialize(&self, addr: &str) -> Result<(), String> {
        let mut members = BTreeMap::new();
        members.insert(SELF, BasicNode::new(addr));
        self.raft
            .initialize(members)
            .await
            .map_err(|e| e.to_string())
    }

    /// Waits until this node leads and has applied its whole log.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), String> {
        self.raft
            .wait(Some(timeout))
            .metrics(
                |m| {
                    m.current_leader == Some(SELF)
                        && m.last_applied.map(|l| l.index) == m.last_log_index
                },
                "leader with its log applied",
            )
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Appends a command and returns what applying it answered.
    pub async fn propose(&self, cmd: Command) -> Result<Applied, String> {
        self.raft
            .client_write(cmd)
            .await
            .map(|r| r.data)
            .map_err(|e| e.to_string())
    }

    pub async fn shutdown(&self) {
        let _ = self.raft.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Object, Op};
    use berth_api::swarm::{Secret, SecretSpec};

    fn secret_cmd(id: &str, data: &[u8]) -> Command {
        Command {
            at: "2026-01-01T00:00:00Z".into(),
            ops: vec![Op::Create(Object::Secret(Secret {
                id: id.into(),
                spec: SecretSpec {
                    name: id.into(),
                    data: data.to_vec(),
                    ..Default::default()
                },
                ..Default::default()
            }))],
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_survives_a_restart_and_is_encrypted() {
        let dir = tempfile::tempdir().unwrap();
        let key = Key::generate();
        {
            let r = Replicated::open(dir.path(), &key).await.unwrap();
            r.initialize("127.0.0.1:2377").await.unwrap();
            r.wait_ready(Duration::from_secs(10)).await.unwrap();
            let a = r
                .propose(secret_cmd("s1", b"hunter2-plaintext"))
                .await
                .unwrap();
            assert!(matches!(a, Applied::Ok { .. }), "{a:?}");
            r.shutdown().await;
        }
        let log = std::fs::read(dir.path().join("log")).unwrap();
        assert!(!log.windows(9).any(|w| w == b"hunter2-p"));
        assert!(
            !log.windows(7).any(|w| w == b"aHVudGV"),
            "no base64 of it either"
        );
        let r = Replicated::open(dir.path(), &key).await.unwrap();
        r.wait_ready(Duration::from_secs(10)).await.unwrap();
        let data = r
            .shared
            .read(|s| s.secrets.get("s1").map(|s| s.spec.data.clone()));
        assert_eq!(data.as_deref(), Some(&b"hunter2-plaintext"[..]));
        let a = r.propose(secret_cmd("s1", b"x")).await.unwrap();
        assert!(matches!(a, Applied::Exists { .. }), "{a:?}");
        r.shutdown().await;
        drop(r);
        // A wrong key is refused, and the log is left whole for the right one.
        assert!(Replicated::open(dir.path(), &Key::generate())
            .await
            .is_err());
        assert!(std::fs::read(dir.path().join("log")).unwrap().len() >= log.len());
    }
}
