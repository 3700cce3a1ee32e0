//! Which cluster this node belongs to. A cluster id is created once by the first gateway and
//! recorded here (`DATA/cluster-id`) when the gateway joins the node; from then on the node
//! serves only requests signed for that cluster, so a gateway of another cluster (a mistyped
//! node list, a reused disk) is refused before it can read, write or delete anything.
//!
//! A node that has not joined any cluster serves requests that name none (a bare node in a test
//! or a tool), and refuses requests that name one until it is joined: joining is explicit.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::store::StoreError;

/// The file holding the cluster id, in the data directory.
pub const CLUSTER_ID_FILE: &str = "cluster-id";

/// Why a request or a join was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    #[error("this node belongs to cluster {node}, not to cluster {request}")]
    OtherCluster { node: String, request: String },
    #[error("this node has not joined a cluster yet; the request is for cluster {0}")]
    NotJoined(String),
    #[error("this node belongs to cluster {0}; requests must name it")]
    Unnamed(String),
    #[error("invalid cluster id {0:?}: expected 32 lowercase hex characters")]
    InvalidId(String),
}

/// Whether `id` is a well-formed cluster id (128 bits as lowercase hex).
pub fn valid_cluster_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The node's membership, loaded at open and written once by [`Membership::join`].
#[derive(Debug)]
pub struct Membership {
    path: PathBuf,
    id: Mutex<Option<String>>,
}

impl Membership {
    /// Reads `root/cluster-id`, if the node has joined a cluster.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let path = root.join(CLUSTER_ID_FILE);
        let id = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text.trim().to_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(StoreError::Io {
                    context: "reading the cluster id",
                    path,
                    source,
                });
            }
        };
        Ok(Self {
            path,
            id: Mutex::new(id),
        })
    }

    /// The cluster this node belongs to.
    pub fn cluster(&self) -> Option<String> {
        self.id.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether a request naming `cluster` (or none) may be served.
    pub fn admit(&self, cluster: Option<&str>) -> Result<(), MembershipError> {
        let joined = self.id.lock().unwrap_or_else(|e| e.into_inner());
        match (joined.as_deref(), cluster) {
            (None, None) => Ok(()),
            (None, Some(request)) => Err(MembershipError::NotJoined(request.to_owned())),
            (Some(node), None) => Err(MembershipError::Unnamed(node.to_owned())),
            (Some(node), Some(request)) if node == request => Ok(()),
            (Some(node), Some(request)) => Err(MembershipError::OtherCluster {
                node: node.to_owned(),
                request: request.to_owned(),
            }),
        }
    }

    /// Joins cluster `id`, durably, unless the node already belongs to one: joining the same
    /// cluster again is a no-op, another one is refused. Returns the node's cluster.
    pub fn join(&self, id: &str) -> Result<Result<String, MembershipError>, StoreError> {
        if !valid_cluster_id(id) {
            return Ok(Err(MembershipError::InvalidId(id.to_owned())));
        }
        let mut joined = self.id.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(node) = joined.as_deref() {
            return Ok(if node == id {
                Ok(node.to_owned())
            } else {
                Err(MembershipError::OtherCluster {
                    node: node.to_owned(),
                    request: id.to_owned(),
                })
            });
        }
        write_durably(&self.path, id)?;
        *joined = Some(id.to_owned());
        tracing::info!(cluster = id, "node joined its cluster");
        Ok(Ok(id.to_owned()))
    }
}

/// Writes `id` to a temporary file, syncs it, renames it into place and syncs the directory, so
/// a crash leaves either no file or the whole id.
fn write_durably(path: &Path, id: &str) -> Result<(), StoreError> {
    use std::io::Write;
    let io = |source| StoreError::Io {
        context: "recording the cluster id",
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    file.write_all(format!("{id}\n").as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef0123456789abcdef";
    const B: &str = "fedcba9876543210fedcba9876543210";

    #[test]
    fn a_node_joins_one_cluster_only_and_remembers_it() {
        let dir = tempfile::tempdir().unwrap();
        let m = Membership::open(dir.path()).unwrap();
        assert_eq!(m.cluster(), None);
        assert_eq!(m.admit(None), Ok(()));
        assert!(matches!(
            m.admit(Some(A)),
            Err(MembershipError::NotJoined(_))
        ));
        assert_eq!(m.join(A).unwrap(), Ok(A.to_owned()));
        assert_eq!(m.join(A).unwrap(), Ok(A.to_owned()));
        assert!(matches!(
            m.join(B).unwrap(),
            Err(MembershipError::OtherCluster { .. })
        ));
        assert!(matches!(
            m.join("not-an-id").unwrap(),
            Err(MembershipError::InvalidId(_))
        ));
        let reopened = Membership::open(dir.path()).unwrap();
        assert_eq!(reopened.cluster().as_deref(), Some(A));
        assert_eq!(reopened.admit(Some(A)), Ok(()));
        let err = reopened.admit(Some(B)).unwrap_err();
        assert!(
            err.to_string().contains(A) && err.to_string().contains(B),
            "{err}"
        );
        assert!(matches!(
            reopened.admit(None),
            Err(MembershipError::Unnamed(_))
        ));
    }
}
