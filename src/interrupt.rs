//! SIGINT (Ctrl-C) and SIGTERM during `apply`. Once [`Interrupts::listen`] is called, they no
//! longer end the process: they are heard here, so apply can stop starting calls, record the
//! answers of those in flight, save the state and only then exit (130 for SIGINT, 143 for
//! SIGTERM, as a shell reports a process a signal ended). CI systems cancel a job this way.

use crate::error::exit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: Ctrl-C at a terminal.
    Interrupt,
    /// SIGTERM: a CI system or service manager cancelling the run.
    Terminate,
}

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => exit::INTERRUPTED,
            Signal::Terminate => exit::TERMINATED,
        }
    }
}

/// The signals heard since [`Interrupts::listen`]. Keep it alive as long as the command runs:
/// the process no longer ends on these signals, so one nobody listens for would be lost.
pub struct Interrupts {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    heard: usize,
}

impl Interrupts {
    /// Starts listening (inside the runtime).
    pub fn listen() -> std::io::Result<Interrupts> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Interrupts {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
                heard: 0,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Interrupts { heard: 0 })
        }
    }

    /// The next signal. Cancel-safe: a signal that arrives while nobody awaits this is kept
    /// for the next call.
    pub async fn next(&mut self) -> Signal {
        #[cfg(unix)]
        let signal = tokio::select! {
            _ = self.interrupt.recv() => Signal::Interrupt,
            _ = self.terminate.recv() => Signal::Terminate,
        };
        #[cfg(not(unix))]
        let signal = {
            let _ = tokio::signal::ctrl_c().await;
            Signal::Interrupt
        };
        self.heard += 1;
        signal
    }

    /// How many signals were heard.
    pub fn heard(&self) -> usize {
        self.heard
    }
}
