//! One pacing thread for every UDP output of the process.
//!
//! Each UDP output's muxer ([`TsMux`]) lives here. Every [`QUANTUM`] the pacer draws from
//! each muxer the bytes for a few quanta ahead (taking the next GOP from the output's
//! queue when the muxer has written the last) and sends the output's datagrams due within
//! the next quantum at once: with UDP GSO (one buffer of up to 48 datagrams the kernel
//! splits, through `quinn-udp`'s safe API) where the kernel has it, else in one `sendmmsg`
//! call. A channel thus costs one system call per quantum, and its bytes go from the
//! muxer to the socket without a pipe or a thread of its own. Each output keeps its own
//! clock at its mux rate, datagrams go out at most one quantum early, and a stall upstream
//! (no GOP to mux) restarts the output's clock rather than bursting to catch up.

use std::io::{ErrorKind, IoSlice};
use std::net::{SocketAddr, UdpSocket};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rustix::net::{sendmmsg, MMsgHdr, SendAncillaryBuffer, SendFlags};

use super::output::{Command, DATAGRAM};
use super::stats::{LaneStats, OutputStats};
use super::ts::TsMux;

/// How often the pacer wakes; datagrams due within it are sent at once.
pub const QUANTUM: Duration = Duration::from_millis(20);
/// An output this far behind (a stall) restarts its clock instead of bursting.
const RESET: Duration = Duration::from_millis(300);
/// Bytes an output may hold muxed ahead of its clock, at least (64 ms at 8 Mbit/s): beyond
/// it (or three quanta at the output's rate, if more) the pacer stops muxing, and GOPs
/// wait in the output's queue. Small, as 300 channels hold it each.
const MIN_READ_AHEAD: usize = 64 * 1024;
/// Datagrams per `sendmmsg` call (the kernel's UIO_MAXIOV is 1024).
const BATCH: usize = 256;

/// What the pacing thread has done, for `/metrics`.
#[derive(Debug, Default)]
pub struct PacerStats {
    /// Quanta the thread woke for.
    pub wakeups: AtomicU64,
    /// Wake-ups more than a quarter quantum (5 ms) after their time.
    pub late_wakeups: AtomicU64,
    /// Microseconds of lateness over all wake-ups.
    pub late_us: AtomicU64,
    /// UDP outputs it paces now.
    pub outputs: AtomicU64,
}

/// The process's pacing counters.
pub fn stats() -> &'static PacerStats {
    static STATS: PacerStats = PacerStats {
        wakeups: AtomicU64::new(0),
        late_wakeups: AtomicU64::new(0),
        late_us: AtomicU64::new(0),
        outputs: AtomicU64::new(0),
    };
    &STATS
}

/// A UDP output handed to the pacer.
pub(crate) struct PacedOutput {
    /// The output's GOPs.
    pub inbox: Receiver<Command>,
    /// Its muxer.
    pub mux: TsMux,
    /// The connected socket.
    pub socket: UdpSocket,
    /// The output's counters.
    pub stats: Arc<OutputStats>,
    /// For logs.
    pub label: String,
    /// Told once everything the muxer wrote is sent (or dropped, if the pacer stops).
    pub done: Sender<()>,
}

struct Paced {
    out: PacedOutput,
    /// UDP GSO: one send of many datagrams the kernel splits (when the socket has it).
    gso: Option<(quinn_udp::UdpSocketState, SocketAddr)>,
    /// Bytes it may hold read ahead of its clock.
    read_ahead: usize,
    /// Bytes muxed: `..sent` are sent.
    pending: Vec<u8>,
    sent: usize,
    start: Option<Instant>,
    sent_bits: u128,
    warned: bool,
    eof: bool,
    /// Its muxer panicked: it is dropped.
    broken: bool,
}

/// Hands `out` to the process's pacing thread (started on first use).
pub(crate) fn pace(out: PacedOutput) -> std::io::Result<()> {
    static INBOX: OnceLock<Mutex<Sender<PacedOutput>>> = OnceLock::new();
    let inbox = match INBOX.get() {
        Some(i) => i,
        None => {
            let (tx, rx) = mpsc::channel();
            std::thread::Builder::new()
                .name("pacer".into())
                .spawn(move || run(&rx))?;
            INBOX.get_or_init(|| Mutex::new(tx))
        }
    };
    inbox
        .lock()
        .map_err(|_| std::io::Error::other("the pacer's inbox is poisoned"))?
        .send(out)
        .map_err(|_| std::io::Error::other("the pacing thread has stopped"))
}

fn run(inbox: &Receiver<PacedOutput>) {
    let mut outputs: Vec<Paced> = Vec::new();
    let mut tick = Instant::now();
    loop {
        if outputs.is_empty() {
            // Nothing to pace: sleep until an output comes.
            match inbox.recv() {
                Ok(o) => outputs.push(Paced::new(o)),
                Err(_) => return,
            }
            tick = Instant::now();
        }
        while let Ok(o) = inbox.try_recv() {
            outputs.push(Paced::new(o));
        }
        let now = Instant::now();
        let late = now.saturating_duration_since(tick);
        let counters = stats();
        counters.wakeups.fetch_add(1, Ordering::Relaxed);
        counters
            .late_us
            .fetch_add(late.as_micros() as u64, Ordering::Relaxed);
        if late > QUANTUM / 4 {
            counters.late_wakeups.fetch_add(1, Ordering::Relaxed);
        }
        for p in &mut outputs {
            // A fault in one output's muxer (a bug) must not stop the others: that
            // output stops, counted and logged.
            let ok = std::panic::catch_unwind(AssertUnwindSafe(|| {
                p.fill();
                p.send_due(now);
            }))
            .is_ok();
            if !ok {
                tracing::error!(output = %p.out.label, "the output's muxer failed; this output stops, the others go on");
                LaneStats::add(&p.out.stats.mux_errors, 1);
                p.out.stats.up.store(false, Ordering::Relaxed);
                p.broken = true;
            }
        }
        // An output whose muxer has finished and whose bytes are all sent is done.
        outputs.retain(|p| {
            let finished = p.broken || (p.eof && p.sent == p.pending.len());
            if finished {
                let _ = p.out.done.send(());
            }
            !finished
        });
        counters
            .outputs
            .store(outputs.len() as u64, Ordering::Relaxed);
        tick += QUANTUM;
        let now = Instant::now();
        if tick <= now {
            // Behind (a busy machine): the next quantum starts now; the outputs' own
            // clocks decide what is due.
            tick = now + QUANTUM;
        }
        std::thread::sleep(tick - now);
    }
}

impl Paced {
    fn new(out: PacedOutput) -> Paced {
        let quanta = u128::from(out.mux.muxrate()) * 3 * QUANTUM.as_nanos() / 8 / 1_000_000_000;
        // GOVCHANNEL_UDP_GSO=0 sends datagram by datagram (sendmmsg) instead.
        let wanted = std::env::var("GOVCHANNEL_UDP_GSO").map_or(true, |v| v != "0");
        let gso = wanted
            .then(|| quinn_udp::UdpSocketState::new((&out.socket).into()).ok())
            .flatten()
            .filter(|s| s.max_gso_segments() > 1)
            .zip(out.socket.peer_addr().ok());
        Paced {
            gso,
            read_ahead: MIN_READ_AHEAD.max(usize::try_from(quanta).unwrap_or(usize::MAX)),
            out,
            pending: Vec::new(),
            sent: 0,
            start: None,
            sent_bits: 0,
            warned: false,
            eof: false,
            broken: false,
        }
    }

    /// Muxes up to the read-ahead, taking GOPs from the output's queue as the muxer needs
    /// them.
    fn fill(&mut self) {
        while !self.eof && self.pending.len() - self.sent < self.read_ahead {
            if self.out.mux.write_next(&mut self.pending) {
                continue;
            }
            match self.out.inbox.try_recv() {
                Ok(Command::Gop(gop, index)) => {
                    self.out.mux.push(gop, index);
                    LaneStats::add(&self.out.stats.gops, 1);
                }
                Ok(Command::Finish) | Err(TryRecvError::Disconnected) => self.eof = true,
                Err(TryRecvError::Empty) => break,
            }
        }
        let late = self.out.mux.late_units();
        self.out.stats.late_units.store(late, Ordering::Relaxed);
    }

    /// Sends the datagrams due by `now` + one quantum.
    fn send_due(&mut self, now: Instant) {
        if self.sent == self.pending.len() {
            return; // nothing to send: the clock starts with the first datagram
        }
        let rate = u128::from(self.out.mux.muxrate());
        let at = |bits: u128| Duration::from_nanos((bits * 1_000_000_000 / rate) as u64);
        let t0 = *self.start.get_or_insert(now);
        let t0 = if now > t0 + at(self.sent_bits) + RESET {
            // A stall upstream: restart the clock rather than burst to catch up.
            let restarted = now - at(self.sent_bits);
            self.start = Some(restarted);
            restarted
        } else {
            t0
        };
        let mut end = self.sent;
        let mut bits = self.sent_bits;
        while end < self.pending.len() {
            let len = DATAGRAM.min(self.pending.len() - end);
            if (len < DATAGRAM && !self.eof) || t0 + at(bits) > now + QUANTUM {
                break;
            }
            bits += len as u128 * 8;
            end += len;
        }
        if end == self.sent {
            return;
        }
        self.sent_bits = bits;
        let bytes = &self.pending[self.sent..end];
        match &self.gso {
            Some((state, peer)) => send_gso(&self.out, state, *peer, &mut self.warned, bytes),
            None => {
                for batch in bytes.chunks(BATCH * DATAGRAM) {
                    send_batch(&self.out, &mut self.warned, batch);
                }
            }
        }
        self.sent = end;
        // Sent bytes leave the buffer once they are half of it (not every quantum: the
        // rest would be moved 50 times a second).
        if self.sent * 2 >= self.pending.len() {
            self.pending.drain(..self.sent);
            self.sent = 0;
        }
    }
}

/// Sends `bytes` as datagrams of [`DATAGRAM`] bytes (the last may be shorter) with UDP
/// GSO: each call hands the kernel up to 48 datagrams (64 KB) in one buffer, which it
/// splits as late as it can. A failed call is counted (its datagrams are lost).
fn send_gso(
    out: &PacedOutput,
    state: &quinn_udp::UdpSocketState,
    peer: SocketAddr,
    warned: &mut bool,
    bytes: &[u8],
) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let segments = state.max_gso_segments().clamp(1, 48);
        let take = rest.len().min(segments * DATAGRAM);
        let chunk = &rest[..take];
        let transmit = quinn_udp::Transmit {
            destination: peer,
            ecn: None,
            contents: chunk,
            segment_size: (chunk.len() > DATAGRAM).then_some(DATAGRAM),
            src_ip: None,
        };
        match state.try_send((&out.socket).into(), &transmit) {
            Ok(()) => {
                LaneStats::add(&out.stats.datagrams, chunk.len().div_ceil(DATAGRAM) as u64);
                LaneStats::add(&out.stats.bytes, chunk.len() as u64);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                LaneStats::add(&out.stats.send_errors, 1);
                if !*warned {
                    tracing::warn!(output = %out.label, error = %e, "output send failed; the stream goes on");
                    *warned = true;
                }
            }
        }
        rest = &rest[take..];
    }
}

/// Sends `bytes` as datagrams of [`DATAGRAM`] bytes (the last may be shorter), with as
/// few `sendmmsg` calls as the kernel allows. A refused datagram is counted and skipped.
fn send_batch(out: &PacedOutput, warned: &mut bool, bytes: &[u8]) {
    let slices: Vec<[IoSlice<'_>; 1]> = bytes.chunks(DATAGRAM).map(|c| [IoSlice::new(c)]).collect();
    let mut next = 0;
    while next < slices.len() {
        let mut controls: Vec<SendAncillaryBuffer<'_, '_, '_>> =
            (next..slices.len()).map(|_| Default::default()).collect();
        let mut msgs: Vec<MMsgHdr<'_>> = slices[next..]
            .iter()
            .zip(controls.iter_mut())
            .map(|(iov, control)| MMsgHdr::new(iov, control))
            .collect();
        match sendmmsg(&out.socket, &mut msgs, SendFlags::empty()) {
            Ok(sent) if sent > 0 => {
                let n: usize = msgs[..sent].iter().map(MMsgHdr::bytes_sent).sum();
                LaneStats::add(&out.stats.datagrams, sent as u64);
                LaneStats::add(&out.stats.bytes, n as u64);
                next += sent;
            }
            Err(e) if e == rustix::io::Errno::INTR => continue,
            result => {
                // The first datagram failed (a refused port, a full buffer: the socket
                // does not block, so one destination never holds up the others): count
                // it, skip it, and go on with the rest.
                LaneStats::add(&out.stats.send_errors, 1);
                if !*warned {
                    let error = match result {
                        Err(e) => std::io::Error::from(e).to_string(),
                        Ok(_) => "no datagram sent".to_owned(),
                    };
                    tracing::warn!(output = %out.label, %error, "output send failed; the stream goes on");
                    *warned = true;
                }
                next += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playout::encode::{silent_audio, AudioCodec, Gop};
    use crate::playout::ts::{Service, TsMux};
    use crate::render::Profile;
    use std::sync::mpsc::SyncSender;

    struct Probe {
        receiver: UdpSocket,
        commands: SyncSender<Command>,
        stats: Arc<OutputStats>,
        done: Receiver<()>,
    }

    fn paced(panic_at: Option<u64>) -> Probe {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        receiver
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.connect(receiver.local_addr().unwrap()).unwrap();
        socket.set_nonblocking(true).unwrap();
        let silence = silent_audio(AudioCodec::Mp2).unwrap();
        let service = Service::default();
        let mut mux = TsMux::new(Profile::Sd, AudioCodec::Mp2, &silence, 3_000_000, &service);
        mux.panic_at = panic_at;
        let (commands, inbox) = mpsc::sync_channel(8);
        let (done_tx, done) = mpsc::channel();
        let stats = Arc::new(OutputStats::default());
        stats.up.store(true, Ordering::Relaxed);
        pace(PacedOutput {
            inbox,
            mux,
            socket,
            stats: Arc::clone(&stats),
            label: format!("test {panic_at:?}"),
            done: done_tx,
        })
        .unwrap();
        Probe {
            receiver,
            commands,
            stats,
            done,
        }
    }

    /// Receives `n` datagrams of 1316 bytes.
    fn receive(probe: &Probe, n: usize) {
        let mut buf = [0u8; 2048];
        for _ in 0..n {
            let len = probe.receiver.recv(&mut buf).expect("a datagram");
            assert_eq!(len, DATAGRAM);
            assert_eq!(buf[0], 0x47);
        }
    }

    #[test]
    fn a_muxer_that_fails_stops_its_own_output_and_no_other() {
        let gop = Arc::new(Gop::of_pictures(&[(vec![0x11; 4000], true)]));
        let good = paced(None);
        let bad = paced(Some(40));
        for i in 0..2 {
            good.commands
                .send(Command::Gop(Arc::clone(&gop), i))
                .unwrap();
            bad.commands
                .send(Command::Gop(Arc::clone(&gop), i))
                .unwrap();
        }
        // The failing output is dropped by the pacer: counted, down, its end signalled.
        bad.done
            .recv_timeout(Duration::from_secs(10))
            .expect("the failed output is let go");
        assert_eq!(LaneStats::get(&bad.stats.mux_errors), 1);
        assert!(!bad.stats.up.load(Ordering::Relaxed));
        // The other goes on at its rate: more than a second of stream after the fault.
        receive(&good, 300);
        assert_eq!(LaneStats::get(&good.stats.mux_errors), 0);
        good.commands.send(Command::Finish).unwrap();
        good.done
            .recv_timeout(Duration::from_secs(10))
            .expect("the good output finishes");
        let sent = LaneStats::get(&good.stats.datagrams);
        assert!(sent >= 300, "{sent} datagrams");
    }
}
