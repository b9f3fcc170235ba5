//! The variants of the factorial design and the factors they are made of.
//!
//! A variant is a point in stack × HTTP version × encoding. Comparisons between variants are
//! derived from those factors ([`Variant::pairs`], [`Variant::chain`]): a pair differs in exactly
//! one factor, so its ratio is that factor's effect with the other two held fixed.

named_enum! {
    /// Which framework serves the variant.
    pub enum Stack ("stack") {
        /// axum routes, plain HTTP semantics.
        Rest = "rest",
        /// tonic service, gRPC framing over HTTP/2.
        Grpc = "grpc",
    }
}

impl Stack {
    /// The name in prose: `REST`, `gRPC`.
    pub fn label(self) -> &'static str {
        match self {
            Stack::Rest => "REST",
            Stack::Grpc => "gRPC",
        }
    }

    /// The framework serving this stack.
    pub fn framework(self) -> &'static str {
        match self {
            Stack::Rest => "axum",
            Stack::Grpc => "tonic",
        }
    }
}

named_enum! {
    /// HTTP version on the wire (HTTP/2 without TLS is h2c with prior knowledge).
    pub enum HttpVersion ("HTTP version") {
        Http1 = "h1",
        Http2 = "h2",
    }
}

impl HttpVersion {
    /// The name in prose: `HTTP/1.1`, `HTTP/2`.
    pub fn label(self) -> &'static str {
        match self {
            HttpVersion::Http1 => "HTTP/1.1",
            HttpVersion::Http2 => "HTTP/2",
        }
    }
}

named_enum! {
    /// Wire encoding of a message body. The codec itself (one encode/decode pair per level) is
    /// `rpcbench_proto::codec`; this is only the name.
    pub enum Encoding ("encoding") {
        /// Idiomatic serde_json on the derived types: the claim's REST JSON.
        Json = "json",
        /// The proto3 JSON mapping (pbjson), through the gateway transcode.
        Pbjson = "pbjson",
        /// sonic-rs (SIMD) on the derived types; the same wire format as `json`.
        Sonic = "sonic",
        /// Protocol Buffers binary encoding (prost).
        Protobuf = "protobuf" | "proto",
    }
}

impl Encoding {
    /// Whether this is one of the JSON levels (all served as `application/json`).
    pub const fn is_json(self) -> bool {
        match self {
            Encoding::Json | Encoding::Pbjson | Encoding::Sonic => true,
            Encoding::Protobuf => false,
        }
    }

    /// The encoding's part of a variant id: `json`, `pbjson`, `sonic`, `proto`.
    pub const fn variant_tag(self) -> &'static str {
        match self {
            Encoding::Json => "json",
            Encoding::Pbjson => "pbjson",
            Encoding::Sonic => "sonic",
            Encoding::Protobuf => "proto",
        }
    }

    /// The name in prose: `JSON`, `pbjson`, `sonic`, `protobuf`.
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Json => "JSON",
            Encoding::Pbjson => "pbjson",
            Encoding::Sonic => "sonic",
            Encoding::Protobuf => "protobuf",
        }
    }

    /// Where the encoding sits on the design's axes: (format, JSON mapping, JSON library), each
    /// ordered from the earlier level to the later one. JSON levels differ in how the schema is
    /// mapped (`pbjson`'s proto3 mapping → serde derives) and in the library that writes it
    /// (serde_json → sonic-rs). Protobuf sits at the idiomatic `json`'s mapping and library, so
    /// `json` ↔ `protobuf` is the encoding effect alone, `pbjson` → `json` → `sonic` are the JSON
    /// library's two steps, and `pbjson` ↔ `sonic` or `pbjson` ↔ `protobuf` change two things.
    const fn axes(self) -> (u8, u8, u8) {
        match self {
            Encoding::Pbjson => (0, 0, 0),
            Encoding::Json => (0, 1, 0),
            Encoding::Sonic => (0, 1, 1),
            Encoding::Protobuf => (1, 1, 0),
        }
    }

    /// The REST media type of this encoding.
    pub const fn media_type(self) -> &'static str {
        match self {
            Encoding::Json | Encoding::Pbjson | Encoding::Sonic => "application/json",
            Encoding::Protobuf => "application/x-protobuf",
        }
    }

    /// Parses a `Content-Type`/`Accept` value (parameters such as `charset` are ignored).
    /// `application/json` means `json_level`, the JSON level the server (its variant) speaks:
    /// the three JSON levels share the media type, the server — not the client — picks the
    /// library. `application/protobuf` and `application/vnd.google.protobuf` are accepted as
    /// aliases of `application/x-protobuf`.
    pub fn from_media_type(value: &str, json_level: Encoding) -> Option<Encoding> {
        debug_assert!(json_level.is_json());
        let essence = value.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case("application/json") {
            Some(json_level)
        } else if [
            "application/x-protobuf",
            "application/protobuf",
            "application/vnd.google.protobuf",
        ]
        .iter()
        .any(|m| essence.eq_ignore_ascii_case(m))
        {
            Some(Encoding::Protobuf)
        } else {
            None
        }
    }
}

named_enum! {
    /// A server × transport × encoding combination. Its factors are [`Variant::factors`]; its
    /// name is `<stack>-<encoding tag>-<http>` (checked by a test).
    pub enum Variant ("variant") {
        /// axum, HTTP/1.1, JSON — the claim's "REST".
        RestJsonH1 = "rest-json-h1",
        /// tonic, HTTP/2, protobuf — the claim's "gRPC".
        GrpcProtoH2 = "grpc-proto-h2",
        /// axum, HTTP/2 (h2c), JSON — isolates the transport effect.
        RestJsonH2 = "rest-json-h2",
        /// axum, HTTP/1.1, protobuf — isolates the encoding effect.
        RestProtoH1 = "rest-proto-h1",
        /// axum, HTTP/2 (h2c), protobuf — completes the 2×2.
        RestProtoH2 = "rest-proto-h2",
        /// tonic, HTTP/2, JSON gRPC codec — the encoding effect inside gRPC.
        GrpcJsonH2 = "grpc-json-h2",
        /// axum, HTTP/1.1, proto3 JSON mapping (pbjson) — the JSON of a transcoding gateway.
        RestPbjsonH1 = "rest-pbjson-h1",
        /// axum, HTTP/1.1, sonic-rs on the same types and wire format as JSON — the JSON library.
        RestSonicH1 = "rest-sonic-h1",
    }
}

/// One factor of the design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Factor {
    /// Which JSON: the proto3 mapping (pbjson) → idiomatic serde_json → sonic-rs, on one
    /// stack and transport. Its pairs change one step: the mapping or the library.
    JsonLibrary,
    /// JSON (the idiomatic level) → protobuf.
    Encoding,
    Transport,
    Framework,
}

impl Factor {
    /// In the order an effect chain applies them (the claim's, from `rest-json-h1` to
    /// `grpc-proto-h2`, needs no JSON library step).
    pub const ALL: [Factor; 4] = [
        Factor::JsonLibrary,
        Factor::Encoding,
        Factor::Transport,
        Factor::Framework,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Factor::JsonLibrary => "json library",
            Factor::Encoding => "encoding",
            Factor::Transport => "transport",
            Factor::Framework => "framework",
        }
    }
}

/// Two variants that differ in exactly one factor; `baseline` has the earlier level of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pair {
    pub factor: Factor,
    pub baseline: Variant,
    pub candidate: Variant,
}

impl Pair {
    /// `encoding (REST, HTTP/1.1)`, `transport (REST protobuf, h1 → h2)`,
    /// `framework (JSON, axum → tonic)`, `JSON library (REST, HTTP/1.1, pbjson → json)`: the
    /// factor, what is held fixed, and the step.
    pub fn name(&self) -> String {
        let (b, c) = (self.baseline, self.candidate);
        let held = match b.stack() {
            Stack::Grpc => "inside gRPC".to_owned(),
            Stack::Rest => format!("{}, {}", b.stack().label(), b.http().label()),
        };
        match self.factor {
            Factor::JsonLibrary => {
                format!("JSON library ({held}, {} → {})", b.encoding(), c.encoding())
            }
            // Always idiomatic JSON → protobuf (see `Encoding::axes`).
            Factor::Encoding => format!("encoding ({held})"),
            Factor::Transport => format!(
                "transport ({} {}, {} → {})",
                b.stack().label(),
                b.encoding().label(),
                b.http(),
                c.http()
            ),
            Factor::Framework => format!(
                "framework ({}, {} → {})",
                b.encoding().label(),
                b.stack().framework(),
                c.stack().framework()
            ),
        }
    }
}

impl Variant {
    /// The claim's "REST" side.
    pub const CLAIM_REST: Variant = Variant::RestJsonH1;
    /// The claim's "gRPC" side.
    pub const CLAIM_GRPC: Variant = Variant::GrpcProtoH2;

    /// The variant's stack, HTTP version and encoding: the one place they are stated.
    pub const fn factors(self) -> (Stack, HttpVersion, Encoding) {
        use {Encoding::*, HttpVersion::*, Stack::*};
        match self {
            Variant::RestJsonH1 => (Rest, Http1, Json),
            Variant::GrpcProtoH2 => (Grpc, Http2, Protobuf),
            Variant::RestJsonH2 => (Rest, Http2, Json),
            Variant::RestProtoH1 => (Rest, Http1, Protobuf),
            Variant::RestProtoH2 => (Rest, Http2, Protobuf),
            Variant::GrpcJsonH2 => (Grpc, Http2, Json),
            Variant::RestPbjsonH1 => (Rest, Http1, Pbjson),
            Variant::RestSonicH1 => (Rest, Http1, Sonic),
        }
    }

    pub const fn stack(self) -> Stack {
        self.factors().0
    }

    pub const fn http(self) -> HttpVersion {
        self.factors().1
    }

    pub const fn encoding(self) -> Encoding {
        self.factors().2
    }

    /// The variant with these factors, if the design has one.
    pub fn from_factors(stack: Stack, http: HttpVersion, encoding: Encoding) -> Option<Variant> {
        Variant::ALL
            .into_iter()
            .find(|v| v.factors() == (stack, http, encoding))
    }

    /// Which factors differ between two variants, once per axis that differs: the JSON library
    /// appears twice when both its mapping and its library differ (`pbjson` ↔ `sonic`).
    pub fn differing_factors(self, other: Variant) -> Vec<Factor> {
        let mut out = Vec::new();
        let (a, b) = (self.encoding().axes(), other.encoding().axes());
        if a.1 != b.1 {
            out.push(Factor::JsonLibrary);
        }
        if a.2 != b.2 {
            out.push(Factor::JsonLibrary);
        }
        if a.0 != b.0 {
            out.push(Factor::Encoding);
        }
        if self.http() != other.http() {
            out.push(Factor::Transport);
        }
        if self.stack() != other.stack() {
            out.push(Factor::Framework);
        }
        out
    }

    /// `Some` when the two variants differ in exactly one factor (one step of it), oriented so
    /// the baseline has that factor's earlier level (pbjson before json before sonic, JSON
    /// before protobuf, h1 before h2, REST before gRPC).
    pub fn pair(a: Variant, b: Variant) -> Option<Pair> {
        let [factor] = a.differing_factors(b)[..] else {
            return None;
        };
        let (baseline, candidate) = if a.level(factor) < b.level(factor) {
            (a, b)
        } else {
            (b, a)
        };
        Some(Pair {
            factor,
            baseline,
            candidate,
        })
    }

    /// The rank of this variant's level of `factor`, earlier levels first.
    fn level(self, factor: Factor) -> usize {
        let (format, mapping, library) = self.encoding().axes();
        match factor {
            Factor::JsonLibrary => usize::from(mapping) + usize::from(library),
            Factor::Encoding => usize::from(format),
            Factor::Transport => self.http() as usize,
            Factor::Framework => self.stack() as usize,
        }
    }

    /// Every pair of variants that differ in exactly one factor, by factor, then by the
    /// baseline's level of it (pbjson → json before json → sonic), then by baseline and
    /// candidate in the order of [`Variant::ALL`].
    pub fn pairs() -> Vec<Pair> {
        let mut out: Vec<Pair> = Variant::ALL
            .into_iter()
            .enumerate()
            .flat_map(|(i, a)| {
                Variant::ALL
                    .into_iter()
                    .skip(i + 1)
                    .filter_map(move |b| Variant::pair(a, b))
            })
            .collect();
        out.sort_by_key(|p| (p.factor, p.baseline.level(p.factor), *p));
        out
    }

    /// The single-factor steps from `from` to `to`, changing factors in the order of
    /// [`Factor::ALL`]; `None` when an intermediate variant is not in the design or a step would
    /// change both the JSON mapping and the library. The ratios of
    /// the steps multiply to the ratio of `from` → `to`.
    pub fn chain(from: Variant, to: Variant) -> Option<Vec<Pair>> {
        let mut steps = Vec::new();
        let mut at = from;
        for factor in Factor::ALL {
            let (mut s, mut h, mut e) = at.factors();
            match factor {
                // To the target's JSON level (protobuf's is the idiomatic `json`), same format.
                Factor::JsonLibrary => {
                    let (_, mapping, library) = to.encoding().axes();
                    let format = e.axes().0;
                    e = Encoding::ALL
                        .into_iter()
                        .find(|x| x.axes() == (format, mapping, library))?;
                }
                Factor::Encoding => e = to.encoding(),
                Factor::Transport => h = to.http(),
                Factor::Framework => s = to.stack(),
            }
            let next = Variant::from_factors(s, h, e)?;
            if next != at {
                steps.push(Variant::pair(at, next)?);
                at = next;
            }
        }
        Some(steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_derived_from_the_factors() {
        for v in Variant::ALL {
            let (s, h, e) = v.factors();
            assert_eq!(v.name(), format!("{s}-{}-{h}", e.variant_tag()));
            assert_eq!(v.name().parse::<Variant>(), Ok(v));
            assert_eq!(Variant::from_factors(s, h, e), Some(v));
        }
        assert!("rest-xml-h1".parse::<Variant>().is_err());
    }

    #[test]
    fn pairs_are_the_single_factor_comparisons() {
        let names: Vec<(String, Variant, Variant)> = Variant::pairs()
            .into_iter()
            .map(|p| (p.name(), p.baseline, p.candidate))
            .collect();
        use Variant::*;
        assert_eq!(
            names,
            [
                (
                    "JSON library (REST, HTTP/1.1, pbjson → json)".to_owned(),
                    RestPbjsonH1,
                    RestJsonH1
                ),
                (
                    "JSON library (REST, HTTP/1.1, json → sonic)".to_owned(),
                    RestJsonH1,
                    RestSonicH1
                ),
                ("encoding (REST, HTTP/1.1)".to_owned(), RestJsonH1, RestProtoH1),
                ("encoding (REST, HTTP/2)".to_owned(), RestJsonH2, RestProtoH2),
                ("encoding (inside gRPC)".to_owned(), GrpcJsonH2, GrpcProtoH2),
                (
                    "transport (REST JSON, h1 → h2)".to_owned(),
                    RestJsonH1,
                    RestJsonH2
                ),
                (
                    "transport (REST protobuf, h1 → h2)".to_owned(),
                    RestProtoH1,
                    RestProtoH2
                ),
                (
                    "framework (JSON, axum → tonic)".to_owned(),
                    RestJsonH2,
                    GrpcJsonH2
                ),
                (
                    "framework (protobuf, axum → tonic)".to_owned(),
                    RestProtoH2,
                    GrpcProtoH2
                ),
            ]
        );
    }

    #[test]
    fn the_claim_decomposes_into_a_chain() {
        let chain = Variant::chain(Variant::CLAIM_REST, Variant::CLAIM_GRPC).unwrap();
        let steps: Vec<(Factor, Variant, Variant)> = chain
            .iter()
            .map(|p| (p.factor, p.baseline, p.candidate))
            .collect();
        assert_eq!(
            steps,
            [
                (Factor::Encoding, Variant::RestJsonH1, Variant::RestProtoH1),
                (Factor::Transport, Variant::RestProtoH1, Variant::RestProtoH2),
                (Factor::Framework, Variant::RestProtoH2, Variant::GrpcProtoH2),
            ]
        );
        // gRPC over HTTP/1.1 is not in the design.
        assert_eq!(Variant::chain(Variant::GrpcProtoH2, Variant::RestJsonH1), None);
    }

    #[test]
    fn other_json_levels_reach_grpc_through_idiomatic_json() {
        use Variant::*;
        for (from, first) in [
            (RestPbjsonH1, (RestPbjsonH1, RestJsonH1)),
            (RestSonicH1, (RestJsonH1, RestSonicH1)),
        ] {
            let chain = Variant::chain(from, Variant::CLAIM_GRPC).unwrap();
            let steps: Vec<(Factor, Variant, Variant)> = chain
                .iter()
                .map(|p| (p.factor, p.baseline, p.candidate))
                .collect();
            assert_eq!(
                steps,
                [
                    (Factor::JsonLibrary, first.0, first.1),
                    (Factor::Encoding, RestJsonH1, RestProtoH1),
                    (Factor::Transport, RestProtoH1, RestProtoH2),
                    (Factor::Framework, RestProtoH2, GrpcProtoH2),
                ]
            );
        }
        // Two JSON library steps at once, or a JSON level other than json against protobuf,
        // are not single-factor comparisons.
        assert_eq!(Variant::pair(RestPbjsonH1, RestSonicH1), None);
        assert_eq!(Variant::pair(RestPbjsonH1, RestProtoH1), None);
        assert_eq!(Variant::pair(RestSonicH1, RestProtoH1), None);
        assert_eq!(Variant::chain(RestPbjsonH1, RestSonicH1), None);
    }

    #[test]
    fn the_readme_variant_table_lists_every_variant() {
        let readme = include_str!("../../../README.md");
        for v in Variant::ALL {
            let (s, h, _) = v.factors();
            let row = format!("| `{v}` | {} | {}", s.framework(), h.label());
            assert!(
                readme.lines().any(|l| l.starts_with(&row)),
                "README.md's variant table has no row {row:?}"
            );
        }
    }

    #[test]
    fn media_types() {
        for level in Encoding::ALL.into_iter().filter(|e| e.is_json()) {
            assert_eq!(
                Encoding::from_media_type("application/json; charset=utf-8", level),
                Some(level)
            );
            assert_eq!(level.media_type(), "application/json");
        }
        assert_eq!(
            Encoding::from_media_type("Application/Protobuf", Encoding::Json),
            Some(Encoding::Protobuf)
        );
        assert_eq!(
            Encoding::from_media_type(Encoding::Protobuf.media_type(), Encoding::Sonic),
            Some(Encoding::Protobuf)
        );
        assert_eq!(Encoding::from_media_type("text/plain", Encoding::Json), None);
    }

    #[test]
    fn encoding_names_and_alias() {
        assert_eq!("proto".parse::<Encoding>(), Ok(Encoding::Protobuf));
        assert_eq!(Encoding::Protobuf.to_string(), "protobuf");
        let err = "xml".parse::<Encoding>().unwrap_err().to_string();
        assert_eq!(
            err,
            r#"unknown encoding "xml" (expected one of json, pbjson, sonic, protobuf)"#
        );
        for e in Encoding::ALL {
            assert_eq!(e.name().parse::<Encoding>(), Ok(e));
        }
    }
}
