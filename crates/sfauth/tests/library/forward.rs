//! `Forwarder`: request bodies bounded in size and in how long they may stall.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http_body::{Body, Frame};
use sfauth::{ForwardError, ForwardLimits, Forwarder, Upstream};
use sfauth_emulator::Config;

use crate::support::Org;

/// A request body that sends `chunks` pieces of 64 KiB, then `then_stall`s (never another
/// piece, never an end) or ends.
struct Upload {
    chunks: usize,
    then_stall: bool,
}

impl Body for Upload {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if self.chunks > 0 {
            self.chunks -= 1;
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'x'; 64 * 1024])))));
        }
        if self.then_stall {
            Poll::Pending
        } else {
            Poll::Ready(None)
        }
    }
}

fn limits() -> ForwardLimits {
    ForwardLimits {
        replay: 16 * 1024,
        max_body: 256 * 1024,
        idle: Duration::from_millis(300),
    }
}

fn upload(body: Upload) -> http::Request<Upload> {
    http::Request::put("/services/data/v62.0/jobs/ingest/750000000000009AAA/batches")
        .header("content-type", "text/csv")
        .body(body)
        .unwrap()
}

fn refused_status(outcome: Result<sfauth::Forwarded, ForwardError>) -> StatusCode {
    match outcome {
        Err(ForwardError::Refused { status, .. }) => status,
        other => panic!("not refused: {other:?}"),
    }
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_cut_off_after_the_idle_limit() {
    let org = Org::start(Config::default()).await;
    let forwarder = Forwarder::new(org.session(org.client())).with_limits(limits());
    let started = std::time::Instant::now();
    let outcome = tokio::time::timeout(
        Duration::from_secs(20),
        forwarder.forward(
            Upstream::Instance,
            upload(Upload {
                chunks: 1,
                then_stall: true,
            }),
        ),
    )
    .await
    .expect("the forwarder gave up on its own");
    assert_eq!(refused_status(outcome), StatusCode::REQUEST_TIMEOUT);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_streamed_body_over_the_limit_is_cut_off() {
    let org = Org::start(Config::default()).await;
    let forwarder = Forwarder::new(org.session(org.client())).with_limits(limits());
    let outcome = forwarder
        .forward(
            Upstream::Instance,
            upload(Upload {
                chunks: 8, // 512 KiB, twice the limit, with no length announced
                then_stall: false,
            }),
        )
        .await;
    assert_eq!(refused_status(outcome), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_streamed_body_within_the_limit_arrives_whole() {
    let org = Org::start(Config::default()).await;
    let forwarder = Forwarder::new(org.session(org.client())).with_limits(limits());
    let answer = forwarder
        .forward(
            Upstream::Instance,
            upload(Upload {
                chunks: 3,
                then_stall: false,
            }),
        )
        .await
        .unwrap();
    assert_eq!(answer.response.status(), 201);
    assert_eq!(
        org.emulator.last_rest_request().unwrap().body.len(),
        3 * 64 * 1024
    );
}
