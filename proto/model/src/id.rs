//! Benchmark and point ids: the only place any id is formatted or parsed.

use std::fmt;
use std::str::FromStr;

use crate::{CodecOp, Encoding, IdError, Rpc, Shape, Size, Variant};

/// A criterion benchmark of rpcbench's benches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BenchId {
    /// `codec/<op>/<encoding>/<shape>/<size>`, e.g. `codec/encode/json/mesh/16KiB`.
    Codec {
        op: CodecOp,
        encoding: Encoding,
        shape: Shape,
        size: Size,
    },
    /// `rtt/<variant>/<rpc>/<shape>/<size>`: one request at a time, in process.
    RoundTrip {
        variant: Variant,
        rpc: Rpc,
        shape: Shape,
        size: Size,
    },
}

impl BenchId {
    const FORM: &'static str = "codec/<op>/<encoding>/<shape>/<size> or rtt/<variant>/<rpc>/<shape>/<size>";

    /// The criterion group: the id without its size, e.g. `codec/encode/json/mesh`.
    pub fn group(&self) -> String {
        match self {
            BenchId::Codec {
                op, encoding, shape, ..
            } => format!("codec/{op}/{encoding}/{shape}"),
            BenchId::RoundTrip {
                variant, rpc, shape, ..
            } => format!("rtt/{variant}/{rpc}/{shape}"),
        }
    }

    pub fn shape(&self) -> Shape {
        match self {
            BenchId::Codec { shape, .. } | BenchId::RoundTrip { shape, .. } => *shape,
        }
    }

    /// The last part of the id (criterion's parameter).
    pub fn size(&self) -> Size {
        match self {
            BenchId::Codec { size, .. } | BenchId::RoundTrip { size, .. } => *size,
        }
    }
}

impl fmt::Display for BenchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.group(), self.size())
    }
}

fn name<T: FromStr<Err = crate::UnknownName>>(id: &str, part: &str) -> Result<T, IdError> {
    part.parse().map_err(|source| IdError::Name {
        id: id.to_owned(),
        source,
    })
}

fn size(id: &str, part: &str) -> Result<Size, IdError> {
    part.parse().map_err(|source| IdError::Size {
        id: id.to_owned(),
        source,
    })
}

impl FromStr for BenchId {
    type Err = IdError;
    fn from_str(id: &str) -> Result<BenchId, IdError> {
        let parts: Vec<&str> = id.split('/').collect();
        match parts[..] {
            ["codec", op, encoding, shape, sz] => Ok(BenchId::Codec {
                op: name(id, op)?,
                encoding: name(id, encoding)?,
                shape: name(id, shape)?,
                size: size(id, sz)?,
            }),
            ["rtt", variant, rpc, shape, sz] => Ok(BenchId::RoundTrip {
                variant: name(id, variant)?,
                rpc: name(id, rpc)?,
                shape: name(id, shape)?,
                size: size(id, sz)?,
            }),
            _ => Err(IdError::Form {
                id: id.to_owned(),
                form: Self::FORM,
            }),
        }
    }
}

/// The load of one point, as it appears in its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LoadLabel {
    /// `max`: closed loop, the maximum throughput point.
    Max,
    /// `rate-<rps>`: open loop at a fixed rate shared by every variant (rounded to 1 req/s).
    Rate(u64),
    /// `sweep-<pct>pct`: open loop at a percentage of the variant's own maximum.
    Sweep(u32),
}

impl LoadLabel {
    /// The label of a fixed rate, rounded to a whole request per second (ties to even, as
    /// `{:.0}` formatting rounds).
    pub fn rate(rate_rps: f64) -> LoadLabel {
        LoadLabel::Rate(rate_rps.round_ties_even() as u64)
    }

    /// The label of a sweep point at `fraction` (0..=1) of the variant's maximum.
    pub fn sweep(fraction: f64) -> LoadLabel {
        LoadLabel::Sweep((fraction * 100.0).round_ties_even() as u32)
    }
}

impl fmt::Display for LoadLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadLabel::Max => f.write_str("max"),
            LoadLabel::Rate(rps) => write!(f, "rate-{rps}"),
            LoadLabel::Sweep(pct) => write!(f, "sweep-{pct}pct"),
        }
    }
}

impl FromStr for LoadLabel {
    type Err = ();
    fn from_str(s: &str) -> Result<LoadLabel, ()> {
        if s == "max" {
            return Ok(LoadLabel::Max);
        }
        if let Some(rps) = s.strip_prefix("rate-") {
            return rps.parse().map(LoadLabel::Rate).map_err(|_| ());
        }
        if let Some(pct) = s.strip_prefix("sweep-").and_then(|p| p.strip_suffix("pct")) {
            return pct.parse().map(LoadLabel::Sweep).map_err(|_| ());
        }
        Err(())
    }
}

/// One measured point of a run: `<variant>/<rpc>/<shape>/<size>/<load>/rep<n>`, e.g.
/// `rest-json-h1/echo/small/256B/max/rep0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PointId {
    pub variant: Variant,
    pub rpc: Rpc,
    pub shape: Shape,
    pub size: Size,
    pub load: LoadLabel,
    pub repetition: u32,
}

impl PointId {
    const FORM: &'static str = "<variant>/<rpc>/<shape>/<size>/<max|rate-N|sweep-Npct>/rep<n>";
}

impl fmt::Display for PointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}/{}/rep{}",
            self.variant, self.rpc, self.shape, self.size, self.load, self.repetition
        )
    }
}

impl FromStr for PointId {
    type Err = IdError;
    fn from_str(id: &str) -> Result<PointId, IdError> {
        let form = || IdError::Form {
            id: id.to_owned(),
            form: Self::FORM,
        };
        let parts: Vec<&str> = id.split('/').collect();
        let [variant, rpc, shape, sz, load, rep] = parts[..] else {
            return Err(form());
        };
        Ok(PointId {
            variant: name(id, variant)?,
            rpc: name(id, rpc)?,
            shape: name(id, shape)?,
            size: size(id, sz)?,
            load: load.parse().map_err(|_| form())?,
            repetition: rep
                .strip_prefix("rep")
                .and_then(|n| n.parse().ok())
                .ok_or_else(form)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZES: [u64; 7] = [1, 128, 256, 1000, 1024, 16 * 1024, 1 << 20];

    /// Every combination of every level: Display then FromStr gives the same id back.
    #[test]
    fn bench_ids_round_trip() {
        let mut n = 0;
        for shape in Shape::ALL {
            for size in SIZES.map(Size) {
                for op in CodecOp::ALL {
                    for encoding in Encoding::ALL {
                        let id = BenchId::Codec {
                            op,
                            encoding,
                            shape,
                            size,
                        };
                        assert_eq!(id.to_string().parse::<BenchId>(), Ok(id));
                        n += 1;
                    }
                }
                for variant in Variant::ALL {
                    for rpc in Rpc::ALL {
                        let id = BenchId::RoundTrip {
                            variant,
                            rpc,
                            shape,
                            size,
                        };
                        assert_eq!(id.to_string().parse::<BenchId>(), Ok(id));
                        n += 1;
                    }
                }
            }
        }
        assert!(n > 1000);
    }

    #[test]
    fn bench_id_forms() {
        let id: BenchId = "codec/encode/json/mesh/16KiB".parse().unwrap();
        assert_eq!(
            id,
            BenchId::Codec {
                op: CodecOp::Encode,
                encoding: Encoding::Json,
                shape: Shape::Mesh,
                size: Size(16 * 1024)
            }
        );
        assert_eq!(id.group(), "codec/encode/json/mesh");
        assert_eq!(
            "rtt/grpc-proto-h2/upload/logs/256KiB"
                .parse::<BenchId>()
                .unwrap()
                .to_string(),
            "rtt/grpc-proto-h2/upload/logs/256KiB"
        );
        for bad in [
            "codec/encode/xml/mesh/16KiB",
            "codec/encode/json/mesh",
            "rtt/rest-json-h1/echo/small/lots",
            "other/thing",
            "",
        ] {
            assert!(bad.parse::<BenchId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn point_ids_round_trip() {
        let loads = [
            LoadLabel::Max,
            LoadLabel::Rate(0),
            LoadLabel::Rate(1234),
            LoadLabel::Sweep(50),
            LoadLabel::Sweep(100),
        ];
        for variant in Variant::ALL {
            for rpc in Rpc::ALL {
                for shape in Shape::ALL {
                    for size in SIZES.map(Size) {
                        for load in loads {
                            for repetition in [0, 1, 17] {
                                let id = PointId {
                                    variant,
                                    rpc,
                                    shape,
                                    size,
                                    load,
                                    repetition,
                                };
                                assert_eq!(id.to_string().parse::<PointId>(), Ok(id));
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn point_id_forms() {
        let id = PointId {
            variant: Variant::RestJsonH1,
            rpc: Rpc::Echo,
            shape: Shape::Small,
            size: Size(256),
            load: LoadLabel::rate(1234.4),
            repetition: 0,
        };
        assert_eq!(id.to_string(), "rest-json-h1/echo/small/256B/rate-1234/rep0");
        assert_eq!(LoadLabel::sweep(0.5).to_string(), "sweep-50pct");
        for bad in [
            "rest-json-h1/echo/small/256B/max",
            "rest-json-h1/echo/small/256B/fast/rep0",
            "rest-json-h1/echo/small/256B/max/repX",
            "rest-json-h3/echo/small/256B/max/rep0",
        ] {
            assert!(bad.parse::<PointId>().is_err(), "{bad}");
        }
    }
}

/// Ids travel in JSON as their string form, so a document holds the same text the id prints.
macro_rules! serde_as_string {
    ($($T:ty),+) => {$(
        impl serde::Serialize for $T {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $T {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl schemars::JsonSchema for $T {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($T).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string" })
            }
        }
    )+};
}

serde_as_string!(BenchId, PointId);
