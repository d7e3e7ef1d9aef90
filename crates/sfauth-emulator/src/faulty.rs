//! Answers that break HTTP on purpose: bodies cut short, sent a byte at a time, or that
//! inflate to gigabytes.
//!
//! They are streamed bodies with an explicit `Content-Length`, so hyper writes the head
//! first and aborts the connection when the stream fails. Each is marked
//! [`Uncompressed`] so the compression layer passes it through byte for byte (a gzip
//! encoder would buffer the trickle and hide the truncation).

use std::io::{self, Write as _};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use flate2::Compression;
use flate2::write::DeflateEncoder;
use futures_util::{StreamExt as _, stream};

use crate::reply;

/// Response extension that keeps the compression layer off an answer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Uncompressed;

/// How long a cut-short body waits before failing, so hyper has flushed what came before.
const BEFORE_RESET: Duration = Duration::from_millis(100);

/// The error that makes hyper abort the connection.
fn reset() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        "emulator fault: connection reset",
    )
}

/// Rebuilds `answer` with its real `Content-Length` and a body of `stream`.
async fn restream<S>(answer: Response, make_stream: impl FnOnce(Bytes) -> S) -> Response
where
    S: futures_util::TryStream<Ok = Bytes, Error = io::Error> + Send + 'static,
{
    let (mut parts, body) = answer.into_parts();
    // The answers here are small JSON bodies built in memory, so this never fails; if it
    // did, an empty body is still a broken answer, which is what was asked for.
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    parts.extensions.insert(Uncompressed);
    Response::from_parts(parts, Body::from_stream(make_stream(bytes)))
}

/// `answer`'s status line and headers, then a closed connection before any body byte.
pub(crate) async fn reset_before_body(answer: Response) -> Response {
    restream(answer, |_| {
        stream::once(async {
            tokio::time::sleep(BEFORE_RESET).await;
            Err(reset())
        })
    })
    .await
}

/// `answer`'s headers and the first half of its body, then a closed connection.
pub(crate) async fn reset_mid_body(answer: Response) -> Response {
    restream(answer, |bytes| {
        let half = bytes.slice(..bytes.len() / 2);
        stream::iter([Ok(half)]).chain(stream::once(async {
            tokio::time::sleep(BEFORE_RESET).await;
            Err(reset())
        }))
    })
    .await
}

/// `answer` complete, one body byte after each `delay`.
pub(crate) async fn trickle(answer: Response, delay: Duration) -> Response {
    restream(answer, move |bytes| {
        stream::unfold(bytes, move |mut rest| async move {
            if rest.is_empty() {
                return None;
            }
            tokio::time::sleep(delay).await;
            let byte = rest.split_to(1);
            Some((Ok(byte), rest))
        })
    })
    .await
}

/// A `200` JSON answer, `Content-Encoding: gzip`, whose body inflates to `inflated_bytes`
/// zeros.
pub(crate) fn gzip_bomb(inflated_bytes: u64) -> Response {
    let mut answer = reply::raw(StatusCode::OK, reply::JSON_UTF8, String::new());
    *answer.body_mut() = Body::from(gzip_zeros(inflated_bytes));
    let headers = answer.headers_mut();
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    answer.extensions_mut().insert(Uncompressed);
    answer
}

/// Raw deflate inflating to 1 MiB of zeros, and the repeating unit of [`gzip_zeros`].
const CHUNK: usize = 1 << 20;

/// A complete gzip member whose content is `inflated_bytes` zeros.
///
/// Compressing gigabytes would take seconds, so one 1 MiB chunk is deflated on its own
/// (no back-reference reaches before it) and ends in a sync flush (byte-aligned, not
/// final): copies of it concatenate into a valid deflate stream. A remainder chunk, a
/// final empty block and the trailer (the CRC combined per chunk, not computed over
/// gigabytes) complete it. 3 GiB comes to about 3 MB.
pub(crate) fn gzip_zeros(inflated_bytes: u64) -> Vec<u8> {
    let chunk_len = CHUNK as u64;
    let whole = inflated_bytes / chunk_len;
    let remainder = (inflated_bytes % chunk_len) as usize;
    let chunk = deflated_zeros(CHUNK);

    let mut crc = crc32fast::Hasher::new();
    let mut chunk_crc = crc32fast::Hasher::new();
    chunk_crc.update(&vec![0; CHUNK]);

    let capacity = usize::try_from(whole)
        .unwrap_or(usize::MAX)
        .saturating_mul(chunk.len())
        .saturating_add(64);
    let mut out = Vec::with_capacity(capacity);
    // Header: magic, deflate, no flags, no mtime, no extra flags, unknown OS.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    for _ in 0..whole {
        out.extend_from_slice(&chunk);
        crc.combine(&chunk_crc);
    }
    if remainder > 0 {
        out.extend_from_slice(&deflated_zeros(remainder));
        crc.update(&vec![0; remainder]);
    }
    // A final, empty block with fixed Huffman codes: BFINAL=1, BTYPE=01, end of block.
    out.extend_from_slice(&[0x03, 0x00]);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    // ISIZE is the length modulo 2^32, as the format says.
    out.extend_from_slice(&((inflated_bytes & 0xffff_ffff) as u32).to_le_bytes());
    out
}

/// `len` zeros as raw deflate blocks ending in a sync flush.
fn deflated_zeros(len: usize) -> Vec<u8> {
    let mut encoder = DeflateEncoder::new(Vec::with_capacity(len / 512 + 64), Compression::best());
    // `flush` is deflate's sync flush: all output so far, byte-aligned, stream not final.
    // Writing to memory cannot fail; an empty chunk would still be a (short) valid stream.
    if encoder
        .write_all(&vec![0; len])
        .and_then(|()| encoder.flush())
        .is_err()
    {
        return Vec::new();
    }
    encoder.get_ref().clone()
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn inflate_len(gzip: &[u8]) -> u64 {
        let mut decoder = flate2::read::GzDecoder::new(gzip);
        let mut buffer = vec![0; 64 * 1024];
        let mut total = 0_u64;
        loop {
            let read = decoder.read(&mut buffer).expect("valid gzip, CRC included");
            if read == 0 {
                return total;
            }
            assert!(buffer[..read].iter().all(|&b| b == 0));
            total += read as u64;
        }
    }

    #[test]
    fn the_bomb_inflates_to_exactly_the_size_asked_with_a_valid_trailer() {
        for size in [0, 1, 1000, CHUNK as u64, 5 * CHUNK as u64 + 12_345] {
            assert_eq!(inflate_len(&gzip_zeros(size)), size, "size {size}");
        }
    }

    #[test]
    fn three_gibibytes_fit_in_a_few_megabytes() {
        let bomb = gzip_zeros(3 << 30);
        assert!(bomb.len() < 8 << 20, "{} bytes", bomb.len());
    }
}
