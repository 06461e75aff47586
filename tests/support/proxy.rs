//! A minimal real HTTP proxy for tests of `HTTPS_PROXY` / `HTTP_PROXY`:
//! `CONNECT host:port` is tunnelled; a plain request in absolute form
//! (`POST http://host:port/ HTTP/1.1`) is forwarded verbatim to that host.
//! Counts the connections it carried.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Starts the proxy on a free port: its URL and its connection counter.
pub async fn start() -> (String, Arc<AtomicU32>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let carried = Arc::new(AtomicU32::new(0));
    let count = carried.clone();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            tokio::spawn(serve(inbound, count.clone()));
        }
    });
    (url, carried)
}

async fn serve(mut inbound: tokio::net::TcpStream, carried: Arc<AtomicU32>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if inbound.read(&mut byte).await.unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let mut words = text.split(' ');
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let host = if method == "CONNECT" {
        target.to_string()
    } else if let Some(rest) = target.strip_prefix("http://") {
        rest.split('/').next().unwrap_or("").to_string()
    } else {
        let _ = inbound.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        return;
    };
    let Ok(mut outbound) = tokio::net::TcpStream::connect(&host).await else {
        let _ = inbound.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    carried.fetch_add(1, Ordering::SeqCst);
    if method == "CONNECT" {
        let _ = inbound
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await;
    } else if outbound.write_all(&head).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
}
