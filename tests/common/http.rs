//! A one-file HTTP server on the loopback interface, for the downloader's tests.

use std::io::{Read, Write};
use std::net::TcpListener;

/// Serves `body` with status 200 to at most `max` connections on 127.0.0.1; returns its URL.
pub fn serve(body: Vec<u8>, max: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max) {
            let Ok(mut s) = stream else { continue };
            s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .unwrap();
            let mut req = [0u8; 4096];
            let _ = s.read(&mut req);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    format!("http://{addr}")
}
