//! What a request carries: the RPC, the payload shape, and the codec operations of the
//! micro-benchmarks.

named_enum! {
    /// The three RPCs of the `Bench` service.
    pub enum Rpc ("rpc") {
        /// POST /v1/echo | Bench/Echo: the payload goes both ways
        Echo = "echo",
        /// GET /v1/payloads/{shape} | Bench/Fetch: the server encodes a cached payload
        Fetch = "fetch",
        /// POST /v1/payloads | Bench/Upload: the server decodes and digests the payload
        Upload = "upload",
    }
}

named_enum! {
    /// A payload shape of the catalogue.
    pub enum Shape ("shape") {
        /// one flat record of scalars and short strings (per-call overhead)
        Small = "small",
        /// access-log records (strings)
        Logs = "logs",
        /// triangles of float vectors (float formatting)
        Mesh = "mesh",
        /// deep records with enums, optionals, maps
        Nested = "nested",
        /// integer time series (varints vs decimal text)
        Metrics = "metrics",
        /// one large bytes field (base64 vs raw)
        Blob = "blob",
    }
}

named_enum! {
    /// What one codec micro-benchmark measures.
    pub enum CodecOp ("codec operation") {
        /// Message → bytes (allocation of the output buffer included).
        Encode = "encode",
        /// Bytes → owned message (dropping the message included).
        Decode = "decode",
        /// Protobuf only: deep-clone the message, then encode it. prost messages are their own
        /// types, so an application holding plain domain data must first build them; serde
        /// serializes the application's struct directly, so JSON has no such step.
        PopulateEncode = "populate_encode",
    }
}

impl CodecOp {
    /// Whether this operation exists for `encoding` (`populate_encode` is protobuf only).
    pub fn applies_to(self, encoding: crate::Encoding) -> bool {
        self != CodecOp::PopulateEncode || encoding == crate::Encoding::Protobuf
    }
}

named_enum! {
    /// A gRPC status code, named as tonic's `Code` prints it; declared in the protocol's order,
    /// so a code's number is its index in `ALL`.
    pub enum GrpcCode ("gRPC status code") {
        Ok = "Ok",
        Cancelled = "Cancelled",
        Unknown = "Unknown",
        InvalidArgument = "InvalidArgument",
        DeadlineExceeded = "DeadlineExceeded",
        NotFound = "NotFound",
        AlreadyExists = "AlreadyExists",
        PermissionDenied = "PermissionDenied",
        ResourceExhausted = "ResourceExhausted",
        FailedPrecondition = "FailedPrecondition",
        Aborted = "Aborted",
        OutOfRange = "OutOfRange",
        Unimplemented = "Unimplemented",
        Internal = "Internal",
        Unavailable = "Unavailable",
        DataLoss = "DataLoss",
        Unauthenticated = "Unauthenticated",
    }
}

impl GrpcCode {
    /// The code with this number (0–16), if it is one.
    pub fn from_number(n: i32) -> Option<GrpcCode> {
        usize::try_from(n)
            .ok()
            .and_then(|i| GrpcCode::ALL.get(i).copied())
    }
}

named_enum! {
    /// Kinds of failed requests.
    pub enum ErrorKind ("error kind") {
        Connect = "connect",
        Timeout = "timeout",
        HttpStatus = "http_status",
        GrpcStatus = "grpc_status",
        Transport = "transport",
        Decode = "decode",
        WrongAnswer = "wrong_answer",
    }
}
