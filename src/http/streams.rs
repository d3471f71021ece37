//! Streaming request and response bodies: a request body or a multipart
//! field fed through a small bounded channel to a blocking reader (the
//! archive reads it while the network writes it, never the whole file in
//! memory), a blocking reader streamed out as a response, and the small
//! helpers around them.

use crate::error::AppError;
use axum::body::{Body, Bytes};
use axum::extract::multipart::Field;
use axum::http::{HeaderMap, HeaderValue, header};
use std::io::{self, Read};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;

/// Chunks buffered between the network and the archive (64 KiB-ish each).
const CHANNEL_DEPTH: usize = 8;

/// Longest text field accepted in a multipart form.
pub(crate) const MAX_FORM_FIELD: usize = 4096;

/// The request's `Content-Length`, if it gives one.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// A blocking reader over chunks sent from the async side.
pub(crate) struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

pub(crate) fn channel() -> (mpsc::Sender<io::Result<Bytes>>, ChannelReader) {
    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    (tx, ChannelReader { rx, current: Bytes::new() })
}

/// Feeds a request body into the channel until it ends or the reader stops.
pub(crate) async fn feed_body(body: Body, tx: mpsc::Sender<io::Result<Bytes>>) {
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let item = chunk.map_err(|e| io::Error::other(e.to_string()));
        let failed = item.is_err();
        if tx.send(item).await.is_err() || failed {
            break;
        }
    }
}

/// Feeds a multipart field into the channel.
pub(crate) async fn feed_field(field: &mut Field<'_>, tx: mpsc::Sender<io::Result<Bytes>>) {
    loop {
        let item = match field.chunk().await {
            Ok(Some(b)) => Ok(b),
            Ok(None) => break,
            Err(e) => Err(io::Error::other(e.to_string())),
        };
        let failed = item.is_err();
        if tx.send(item).await.is_err() || failed {
            break;
        }
    }
}

/// A response body streamed from a blocking reader.
pub(crate) fn stream_body(reader: Box<dyn Read + Send>) -> Body {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(CHANNEL_DEPTH);
    tokio::task::spawn_blocking(move || {
        let mut reader = reader;
        let mut buf = vec![0u8; xueji_archive::CHUNK_SIZE];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.blocking_send(Ok(Bytes::copy_from_slice(&buf[..n]))).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// RFC 6266 `attachment` with an ASCII fallback and the UTF-8 name.
pub(crate) fn attachment(name: &str, fallback: &str) -> HeaderValue {
    disposition("attachment", name, fallback)
}

/// `Content-Disposition` of `kind` (`inline` or `attachment`) with the
/// UTF-8 name (RFC 6266 `filename*`) and an ASCII fallback.
pub(crate) fn disposition(kind: &str, name: &str, fallback: &str) -> HeaderValue {
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    HeaderValue::from_str(&format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// Reads a short text field of a multipart form: at most [`MAX_FORM_FIELD`]
/// bytes of UTF-8, else the error `bad` makes.
pub(crate) async fn small_text(field: &mut Field<'_>, bad: fn() -> AppError) -> Result<String, AppError> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|_| bad())? {
        out.extend_from_slice(&chunk);
        if out.len() > MAX_FORM_FIELD {
            return Err(bad());
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_header_encodes_names() {
        let h = attachment("户口簿 1.jpg", "scan.jpg");
        let s = h.to_str().unwrap();
        assert!(s.starts_with("attachment; filename=\"scan.jpg\"; filename*=UTF-8''"), "{s}");
        assert!(s.ends_with("%201.jpg"), "{s}");
        assert!(!s.contains('户'));
        let h = attachment("a\"b\r\n.pdf", "x.pdf");
        assert!(!h.to_str().unwrap().contains('"') || h.to_str().unwrap().matches('"').count() == 2);
    }

    #[test]
    fn channel_reader_reads_across_chunks() {
        let (tx, mut reader) = channel();
        let t = std::thread::spawn(move || {
            let mut out = Vec::new();
            reader.read_to_end(&mut out).unwrap();
            out
        });
        tx.blocking_send(Ok(Bytes::from_static(b"hello "))).unwrap();
        tx.blocking_send(Ok(Bytes::from_static(b"world"))).unwrap();
        drop(tx);
        assert_eq!(t.join().unwrap(), b"hello world");
    }
}
