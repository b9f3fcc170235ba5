//! Every REST refusal is `application/problem+json` (RFC 9457), one test per status, on every
//! REST variant (HTTP/1.1 and h2c), against a real server bound to port 0.

mod common;

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rpcbench_proto::{Codec as _, Encoding, Shape};
use rpcbench_servers::rest::PROBLEM_JSON;
use rpcbench_servers::{HttpVersion, ServerSettings, Stack, Variant};

const LIMIT: usize = 64 * 1024;

/// A running server of `variant` with a small body limit; dropped with the test's runtime.
async fn start(variant: Variant) -> SocketAddr {
    let settings = ServerSettings {
        max_body_bytes: LIMIT,
        ..ServerSettings::default()
    };
    common::serve(variant, &settings).await.0
}

struct Req<'a> {
    method: Method,
    path: &'a str,
    headers: &'a [(header::HeaderName, &'a str)],
    body: Vec<u8>,
}

async fn send(variant: Variant, addr: SocketAddr, req: Req<'_>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let io = TokioIo::new(tokio::net::TcpStream::connect(addr).await.unwrap());
    let mut builder = Request::builder().method(req.method);
    for (name, value) in req.headers {
        builder = builder.header(name, *value);
    }
    let resp = match variant.http() {
        HttpVersion::Http1 => {
            let (mut send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
            tokio::spawn(conn);
            let req = builder
                .uri(req.path)
                .header(header::HOST, addr.to_string())
                .body(Full::new(Bytes::from(req.body)))
                .unwrap();
            send.send_request(req).await.unwrap()
        }
        HttpVersion::Http2 => {
            let (mut send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .unwrap();
            tokio::spawn(conn);
            let req = builder
                .uri(format!("http://{addr}{}", req.path))
                .body(Full::new(Bytes::from(req.body)))
                .unwrap();
            send.send_request(req).await.unwrap()
        }
    };
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, headers, body)
}

/// Sends `req` to every REST variant and checks the answer is a problem document for `want`;
/// returns the details, for tests that check what they say.
async fn refused_everywhere(want: StatusCode, req: impl Fn(Variant) -> Req<'static>) -> Vec<String> {
    let mut details = Vec::new();
    for variant in Variant::ALL.into_iter().filter(|v| v.stack() == Stack::Rest) {
        let addr = start(variant).await;
        let (status, headers, body) = send(variant, addr, req(variant)).await;
        assert_eq!(status, want, "{variant}");
        assert_eq!(
            headers.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap()),
            Some(PROBLEM_JSON),
            "{variant}: {}",
            String::from_utf8_lossy(&body)
        );
        let problem: serde_json::Value = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{variant}: body is not JSON ({e}): {body:?}"));
        assert_eq!(problem["status"], want.as_u16(), "{variant}");
        assert_eq!(problem["type"], "about:blank", "{variant}");
        assert_eq!(problem["title"], want.canonical_reason().unwrap(), "{variant}");
        let detail = problem["detail"].as_str().unwrap_or_default().to_owned();
        assert!(!detail.is_empty(), "{variant}: empty detail");
        // The refusal did not take the server down.
        let (status, _, _) = send(
            variant,
            addr,
            Req {
                method: Method::GET,
                path: "/healthz",
                headers: &[],
                body: vec![],
            },
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{variant} stopped serving");
        details.push(detail);
    }
    details
}

fn get(path: &'static str) -> Req<'static> {
    Req {
        method: Method::GET,
        path,
        headers: &[],
        body: vec![],
    }
}

fn good_body(variant: Variant) -> Vec<u8> {
    variant
        .encoding()
        .encode(&rpcbench_proto::generate(Shape::Logs, 1024, 1).unwrap())
        .unwrap()
}

#[tokio::test]
async fn unknown_route_is_404() {
    refused_everywhere(StatusCode::NOT_FOUND, |_| get("/v2/nothing")).await;
}

#[tokio::test]
async fn path_segment_that_is_not_utf8_is_400() {
    // axum's own Path rejection (text/plain before): the shape segment is %FF.
    refused_everywhere(StatusCode::BAD_REQUEST, |_| get("/v1/payloads/%FF?size=100")).await;
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let details = refused_everywhere(StatusCode::METHOD_NOT_ALLOWED, |_| Req {
        method: Method::DELETE,
        path: "/v1/echo",
        headers: &[],
        body: vec![],
    })
    .await;
    for detail in details {
        assert!(detail.contains("DELETE") && detail.contains("POST"), "{detail}");
    }
}

#[tokio::test]
async fn unacceptable_accept_is_406() {
    refused_everywhere(StatusCode::NOT_ACCEPTABLE, |variant| Req {
        method: Method::POST,
        path: "/v1/echo",
        headers: if variant.encoding() == Encoding::Protobuf {
            &[
                (header::CONTENT_TYPE, "application/x-protobuf"),
                (header::ACCEPT, "text/html"),
            ]
        } else {
            &[
                (header::CONTENT_TYPE, "application/json"),
                (header::ACCEPT, "text/html"),
            ]
        },
        body: good_body(variant),
    })
    .await;
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    refused_everywhere(StatusCode::PAYLOAD_TOO_LARGE, |_| Req {
        method: Method::POST,
        path: "/v1/payloads",
        headers: &[(header::CONTENT_TYPE, "application/x-protobuf")],
        body: vec![0; LIMIT + 1],
    })
    .await;
}

#[tokio::test]
async fn unsupported_content_type_is_415() {
    refused_everywhere(StatusCode::UNSUPPORTED_MEDIA_TYPE, |variant| Req {
        method: Method::POST,
        path: "/v1/echo",
        headers: &[(header::CONTENT_TYPE, "text/plain")],
        body: good_body(variant),
    })
    .await;
}

#[tokio::test]
async fn malformed_body_is_400() {
    refused_everywhere(StatusCode::BAD_REQUEST, |_| Req {
        method: Method::POST,
        path: "/v1/echo",
        headers: &[(header::CONTENT_TYPE, "application/json")],
        body: b"{\"logs\": [1,".to_vec(),
    })
    .await;
}

#[tokio::test]
async fn websocket_route_without_upgrade_is_a_problem() {
    // axum's WebSocketUpgrade rejection (text/plain before); over h2c there is no HTTP/1.1
    // upgrade either.
    for variant in Variant::ALL.into_iter().filter(|v| v.stack() == Stack::Rest) {
        let addr = start(variant).await;
        let (status, headers, _) = send(variant, addr, get("/v1/ws/chat")).await;
        assert!(status.is_client_error(), "{variant}: {status}");
        assert_eq!(
            headers.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap()),
            Some(PROBLEM_JSON),
            "{variant}"
        );
    }
}
