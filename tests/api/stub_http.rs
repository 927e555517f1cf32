//! A one-thread HTTP/1.1 server for the stubs the tests stand in for real services with (an
//! identity provider, an OTLP collector): one request per connection, the body read by
//! `content-length`, JSON answered. Its thread lives as long as the test binary: it only ever
//! blocks in `accept`.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;

/// What the stub was asked: the request target (path and query) and the body.
pub struct Request {
    pub target: String,
    pub body: Vec<u8>,
}

/// What it answers: a status line's code and reason (`"200 OK"`), extra header lines (each
/// ending `\r\n`; usually empty) and a JSON body.
pub struct Response {
    pub status: &'static str,
    pub headers: String,
    pub body: String,
}

impl Response {
    pub fn json(status: &'static str, body: String) -> Self {
        Response {
            status,
            headers: String::new(),
            body,
        }
    }
}

/// A free loopback port bound for a stub, and its base URL (`http://127.0.0.1:PORT`), for a
/// stub whose answers name its own address.
pub fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    (listener, base)
}

/// Serves `answer` on `listener` from a thread of its own.
pub fn serve(listener: TcpListener, answer: impl Fn(Request) -> Response + Send + 'static) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                if let Some((name, value)) = line.split_once(':') {
                    if name.eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                line.clear();
            }
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let target = request_line.split(' ').nth(1).unwrap_or("").to_owned();
            let response = answer(Request { target, body });
            let _ = write!(
                stream,
                "HTTP/1.1 {}\r\n{}content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                response.status,
                response.headers,
                response.body.len(),
                response.body
            );
        }
    });
}
