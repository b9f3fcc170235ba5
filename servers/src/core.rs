//! The service logic of Echo, Fetch and Upload, written once for every adapter (the streaming
//! RPCs are in [`crate::stream`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rpcbench_proto::catalogue::{self, CatalogueError};
use rpcbench_proto::pb::{Payload, UploadSummary};
use rpcbench_proto::{Codec as _, Encoding, Shape};

/// At most this many generated payloads are cached; the cache is cleared when full. Benchmarks
/// use a handful of `(shape, size, seed)` keys, so the steady state never regenerates.
const CACHE_ENTRIES: usize = 64;
/// And at most this many bytes of them (protobuf-encoded size).
const CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// A request the core refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    #[error("size {size} is over this server's limit of {limit} bytes")]
    SizeOverLimit { size: u64, limit: u64 },
    /// The payload fits, but one of its encodings does not: refused on every variant alike, so
    /// no variant serves what another refuses.
    #[error(
        "{shape} {size}: its {encoding} encoding is {bytes} bytes, over this server's limit of \
         {limit} bytes (every variant refuses a Fetch unless all its encodings fit)"
    )]
    EncodedOverLimit {
        shape: &'static str,
        size: u64,
        encoding: Encoding,
        bytes: u64,
        limit: u64,
    },
    #[error(transparent)]
    Stream(#[from] crate::stream::StreamRequestError),
}

#[derive(Default)]
struct Cache {
    entries: HashMap<(Shape, u64, u64), Cached>,
    bytes: u64,
}

#[derive(Clone)]
struct Cached {
    payload: Arc<Payload>,
    /// The payload's largest encoding and its length in bytes.
    largest: (Encoding, u64),
}

/// Echo / Fetch / Upload semantics shared by the REST and gRPC adapters.
pub struct ServiceCore {
    max_size: u64,
    cache: Mutex<Cache>,
    pub(crate) streams: Arc<crate::stream::Streams>,
}

impl std::fmt::Debug for ServiceCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceCore")
            .field("max_size", &self.max_size)
            .finish_non_exhaustive()
    }
}

impl ServiceCore {
    /// A core that serves Fetch sizes up to `max_size` bytes (the body limit).
    pub fn new(max_size: u64) -> Self {
        ServiceCore {
            max_size,
            cache: Mutex::new(Cache::default()),
            streams: Arc::default(),
        }
    }

    /// Echo: the decoded request is the response.
    pub fn echo(&self, payload: Payload) -> Payload {
        payload
    }

    /// Fetch: the catalogue payload for `(shape, size, seed)`, generated once and shared.
    ///
    /// The body limit applies to the same quantity on every variant — encoded bytes — so a
    /// Fetch is served only if the payload's largest encoding (of protobuf and every JSON level:
    /// a REST client may ask for any of them) fits the limit. A JSON variant therefore never
    /// serves a body its gRPC twin would refuse as a message, and vice versa.
    pub fn fetch(&self, shape: Shape, size: u64, seed: u64) -> Result<Arc<Payload>, CoreError> {
        catalogue::validate(shape, size)?;
        if size > self.max_size {
            return Err(CoreError::SizeOverLimit {
                size,
                limit: self.max_size,
            });
        }
        let key = (shape, size, seed);
        let hit = self.lock().entries.get(&key).cloned();
        let cached = match hit {
            Some(hit) => hit,
            None => {
                // Generate outside the lock: concurrent misses may both generate, which is
                // harmless (the result is deterministic) and keeps other requests from waiting
                // on a big miss.
                let payload = catalogue::generate(shape, size, seed)?;
                let largest = largest_encoding(&payload);
                let fresh = Cached {
                    payload: Arc::new(payload),
                    largest,
                };
                let mut cache = self.lock();
                if cache.entries.len() >= CACHE_ENTRIES || cache.bytes + size > CACHE_BYTES {
                    cache.entries.clear();
                    cache.bytes = 0;
                }
                cache.bytes += size;
                cache.entries.entry(key).or_insert(fresh).clone()
            }
        };
        let (encoding, bytes) = cached.largest;
        if bytes > self.max_size {
            return Err(CoreError::EncodedOverLimit {
                shape: shape.name(),
                size,
                encoding,
                bytes,
                limit: self.max_size,
            });
        }
        Ok(cached.payload)
    }

    /// Upload: a digest over every decoded field.
    pub fn upload(&self, payload: &Payload) -> UploadSummary {
        rpcbench_proto::summarize(payload)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // The cache holds no invariants a panicking holder could break half-way.
        self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The longest encoding of `payload` and its length. An encoding that cannot represent it
/// (impossible for catalogue payloads, whose enums are all named) does not count.
fn largest_encoding(payload: &Payload) -> (Encoding, u64) {
    Encoding::ALL
        .into_iter()
        .filter_map(|enc| {
            let len = match enc {
                Encoding::Protobuf => prost::Message::encoded_len(payload),
                _ => enc.encode(payload).ok()?.len(),
            };
            Some((enc, len as u64))
        })
        .max_by_key(|(_, len)| *len)
        .unwrap_or((Encoding::Protobuf, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_is_cached_and_validated() {
        let core = ServiceCore::new(1 << 20);
        let a = core.fetch(Shape::Logs, 4096, 1).unwrap();
        let b = core.fetch(Shape::Logs, 4096, 1).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(matches!(
            core.fetch(Shape::Logs, 0, 1),
            Err(CoreError::Catalogue(_))
        ));
        assert!(matches!(
            core.fetch(Shape::Blob, 2 << 20, 1),
            Err(CoreError::SizeOverLimit { .. })
        ));
    }

    #[test]
    fn fetch_is_refused_when_any_encoding_is_over_the_limit() {
        let limit = 64 * 1024;
        let core = ServiceCore::new(limit);
        // A blob's JSON is base64 (4/3 of its bytes): at 3/4 of the limit every encoding fits,
        // at the limit itself the JSON does not.
        assert!(core.fetch(Shape::Blob, limit * 3 / 4 - 100, 1).is_ok());
        match core.fetch(Shape::Blob, limit, 1) {
            Err(CoreError::EncodedOverLimit { encoding, bytes, .. }) => {
                assert!(encoding.is_json() && bytes > limit, "{encoding} {bytes}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cache_stays_bounded() {
        let core = ServiceCore::new(1 << 20);
        for seed in 0..(CACHE_ENTRIES as u64 * 2) {
            core.fetch(Shape::Small, 100, seed).unwrap();
        }
        assert!(core.lock().entries.len() <= CACHE_ENTRIES);
    }
}
