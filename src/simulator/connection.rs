//! The simulator's connections, with the two switches fault injection needs that a plain
//! `TcpListener` lacks: cutting one connection without an answer (a handler finds its own
//! through `ConnectInfo<Peer>`), and an outage — every other connection cut and the listening
//! socket closed for a while, so that new connections are refused, then bound again.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use futures_util::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Notify;
use tokio::time::Instant;

/// How long to wait before trying again when the address cannot be bound after an outage.
const REBIND_PAUSE: Duration = Duration::from_millis(20);

/// One connection's switch: once cut, it reads end-of-file and refuses every write, so hyper
/// drops it without sending anything more.
#[derive(Debug, Default)]
pub(super) struct Line {
    cut: AtomicBool,
    waker: AtomicWaker,
}

impl Line {
    pub(super) fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.waker.wake();
    }

    fn is_cut(&self, cx: &Context<'_>) -> bool {
        self.waker.register(cx.waker());
        self.cut.load(Ordering::SeqCst)
    }
}

/// Every live connection, and whether (until when) new ones are refused.
#[derive(Debug, Default)]
pub(super) struct Switchboard {
    lines: Mutex<Vec<Weak<Line>>>,
    down_until: Mutex<Option<Instant>>,
    /// Wakes the listener when an outage starts; a permit is kept if it is not waiting.
    outage: Notify,
}

impl Switchboard {
    fn connect(&self) -> Arc<Line> {
        let line = Arc::new(Line::default());
        let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        lines.retain(|line| line.strong_count() > 0);
        lines.push(Arc::downgrade(&line));
        line
    }

    /// Cuts every connection but `spared` and refuses new ones for `length`.
    pub(super) fn outage(&self, length: Duration, spared: &Line) {
        let until = Instant::now() + length;
        {
            let mut down = self
                .down_until
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            *down = Some(down.map_or(until, |earlier| earlier.max(until)));
        }
        self.outage.notify_one();
        let lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        for line in lines.iter().filter_map(Weak::upgrade) {
            if !std::ptr::eq(Arc::as_ptr(&line), spared) {
                line.cut();
            }
        }
    }

    /// The end of the outage under way, if one is.
    fn down_until(&self) -> Option<Instant> {
        let mut down = self
            .down_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if down.is_some_and(|until| until <= Instant::now()) {
            *down = None;
        }
        *down
    }
}

/// What a handler learns about its connection.
#[derive(Debug, Clone)]
pub(super) struct Peer {
    pub(super) line: Arc<Line>,
}

/// The listening side: accepts like a `TcpListener`, except during an outage, when its socket
/// is closed (connections are refused) and bound again at its end.
pub(super) struct Switched {
    socket: Option<TcpListener>,
    address: SocketAddr,
    board: Arc<Switchboard>,
}

impl Switched {
    pub(super) fn new(socket: TcpListener, board: Arc<Switchboard>) -> io::Result<Switched> {
        Ok(Switched {
            address: socket.local_addr()?,
            socket: Some(socket),
            board,
        })
    }
}

impl Listener for Switched {
    type Io = Connection;
    type Addr = Peer;

    async fn accept(&mut self) -> (Connection, Peer) {
        loop {
            if let Some(until) = self.board.down_until() {
                self.socket = None;
                tokio::time::sleep_until(until).await;
                continue;
            }
            let socket = match &self.socket {
                Some(socket) => socket,
                None => match rebind(self.address) {
                    Ok(socket) => self.socket.insert(socket),
                    Err(err) => {
                        tracing::warn!(address = %self.address, error = %err, "cannot listen again after an outage");
                        tokio::time::sleep(REBIND_PAUSE).await;
                        continue;
                    }
                },
            };
            tokio::select! {
                accepted = socket.accept() => match accepted {
                    Ok((stream, _)) => {
                        let _ = stream.set_nodelay(true);
                        let line = self.board.connect();
                        let peer = Peer { line: line.clone() };
                        return (Connection { stream, line }, peer);
                    }
                    // Out of file descriptors and the like: wait, as axum's own loop does.
                    Err(_) => tokio::time::sleep(REBIND_PAUSE).await,
                },
                () = self.board.outage.notified() => {}
            }
        }
    }

    fn local_addr(&self) -> io::Result<Peer> {
        Err(io::Error::other("a switched listener has no single peer"))
    }
}

fn rebind(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(1024)
}

impl Connected<IncomingStream<'_, Switched>> for Peer {
    fn connect_info(stream: IncomingStream<'_, Switched>) -> Peer {
        stream.remote_addr().clone()
    }
}

/// A TCP connection with its switch.
pub(super) struct Connection {
    stream: TcpStream,
    line: Arc<Line>,
}

fn reset() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "cut by a simulated fault")
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.line.is_cut(cx) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.line.is_cut(cx) {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.line.is_cut(cx) {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.line.is_cut(cx) {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
