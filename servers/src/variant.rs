//! The six variants of the factorial design.

use std::fmt;

use rpcbench_proto::Encoding;

/// Which framework serves the variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stack {
    /// axum routes, plain HTTP semantics.
    Rest,
    /// tonic service, gRPC framing over HTTP/2.
    Grpc,
}

/// HTTP version on the wire (HTTP/2 without TLS is h2c with prior knowledge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpVersion {
    Http1,
    Http2,
}

/// A server × transport × encoding combination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Variant {
    /// axum, HTTP/1.1, JSON — the claim's "REST".
    #[value(name = "rest-json-h1")]
    RestJsonH1,
    /// tonic, HTTP/2, protobuf — the claim's "gRPC".
    #[value(name = "grpc-proto-h2")]
    GrpcProtoH2,
    /// axum, HTTP/2 (h2c), JSON — isolates the transport effect.
    #[value(name = "rest-json-h2")]
    RestJsonH2,
    /// axum, HTTP/1.1, protobuf — isolates the encoding effect.
    #[value(name = "rest-proto-h1")]
    RestProtoH1,
    /// axum, HTTP/2 (h2c), protobuf — completes the 2×2.
    #[value(name = "rest-proto-h2")]
    RestProtoH2,
    /// tonic, HTTP/2, JSON gRPC codec — the encoding effect inside gRPC.
    #[value(name = "grpc-json-h2")]
    GrpcJsonH2,
}

impl Variant {
    pub const ALL: [Variant; 6] = [
        Variant::RestJsonH1,
        Variant::GrpcProtoH2,
        Variant::RestJsonH2,
        Variant::RestProtoH1,
        Variant::RestProtoH2,
        Variant::GrpcJsonH2,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Variant::RestJsonH1 => "rest-json-h1",
            Variant::GrpcProtoH2 => "grpc-proto-h2",
            Variant::RestJsonH2 => "rest-json-h2",
            Variant::RestProtoH1 => "rest-proto-h1",
            Variant::RestProtoH2 => "rest-proto-h2",
            Variant::GrpcJsonH2 => "grpc-json-h2",
        }
    }

    pub fn from_id(id: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.id() == id)
    }

    pub fn stack(self) -> Stack {
        match self {
            Variant::GrpcProtoH2 | Variant::GrpcJsonH2 => Stack::Grpc,
            _ => Stack::Rest,
        }
    }

    pub fn http(self) -> HttpVersion {
        match self {
            Variant::RestJsonH1 | Variant::RestProtoH1 => HttpVersion::Http1,
            _ => HttpVersion::Http2,
        }
    }

    pub fn encoding(self) -> Encoding {
        match self {
            Variant::RestJsonH1 | Variant::RestJsonH2 | Variant::GrpcJsonH2 => Encoding::Json,
            _ => Encoding::Protobuf,
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn ids_match_clap_names_and_the_factorial_design() {
        for v in Variant::ALL {
            assert_eq!(v.to_possible_value().unwrap().get_name(), v.id());
            assert_eq!(Variant::from_id(v.id()), Some(v));
            let parts: Vec<&str> = v.id().split('-').collect();
            assert_eq!(parts[0] == "grpc", v.stack() == Stack::Grpc);
            assert_eq!(parts[1] == "json", v.encoding() == Encoding::Json);
            assert_eq!(parts[2] == "h1", v.http() == HttpVersion::Http1);
        }
    }
}
