//! `GET /metrics`: the headend's state in the Prometheus text exposition format (0.0.4):
//! per channel lane what aired, slates and failures; per output bytes, datagrams, errors
//! and whether it is up.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::AppState;
use crate::playout::{EncoderStats, LaneStats, Playout};

/// Escapes a label value (backslash, double quote, newline).
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The exposition text for `playout` (or none) and the process uptime.
pub fn render(playout: Option<&Playout>, uptime_secs: f64) -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, rows: Vec<(String, String)>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, value) in rows {
            if labels.is_empty() {
                let _ = writeln!(out, "{name} {value}");
            } else {
                let _ = writeln!(out, "{name}{{{labels}}} {value}");
            }
        }
    };
    family(
        "govchannel_uptime_seconds",
        "gauge",
        "Seconds since the headend started serving.",
        vec![(String::new(), format!("{uptime_secs:.3}"))],
    );
    let channels = playout.map(|p| p.channels()).unwrap_or_default();
    family(
        "govchannel_channels",
        "gauge",
        "Channels on air.",
        vec![(String::new(), channels.len().to_string())],
    );
    // The process's encoders and GOP cache, shared by every lane.
    type EncoderField = fn(&EncoderStats) -> u64;
    let encoder_metrics: [(&str, &str, &str, EncoderField); 9] = [
        (
            "govchannel_process_encodes_total",
            "counter",
            "Screens drawn and encoded by the process, each once whichever channels air it (SD frames whole, HD frames' bodies above the status line).",
            |s| EncoderStats::get(&s.encodes),
        ),
        (
            "govchannel_status_line_encodes_total",
            "counter",
            "HD status lines drawn and encoded (a channel's own rows, stitched below a shared body).",
            |s| EncoderStats::get(&s.status_encodes),
        ),
        (
            "govchannel_shared_encodes_total",
            "counter",
            "Requests for a frame answered by an encode already under way for another request.",
            |s| EncoderStats::get(&s.joined),
        ),
        (
            "govchannel_gop_cache_hits_total",
            "counter",
            "Requests for a frame answered from the GOP cache (every part of it cached).",
            |s| EncoderStats::get(&s.hits),
        ),
        (
            "govchannel_gop_cache_misses_total",
            "counter",
            "Requests for a frame that had to wait for an encode.",
            |s| EncoderStats::get(&s.misses),
        ),
        (
            "govchannel_gop_cache_evictions_total",
            "counter",
            "GOPs dropped from the cache to stay within its budget (least recently aired first).",
            |s| EncoderStats::get(&s.evictions),
        ),
        (
            "govchannel_encode_failures_process_total",
            "counter",
            "Frames that failed to draw or encode.",
            |s| EncoderStats::get(&s.failures),
        ),
        (
            "govchannel_gop_cache_bytes",
            "gauge",
            "Bytes of coded video in the GOP cache.",
            |s| EncoderStats::get(&s.bytes),
        ),
        (
            "govchannel_gop_cache_entries",
            "gauge",
            "GOPs in the cache.",
            |s| EncoderStats::get(&s.entries),
        ),
    ];
    if let Some(p) = playout {
        let e = p.encoders();
        for (name, kind, help, field) in encoder_metrics {
            family(
                name,
                kind,
                help,
                vec![(String::new(), field(e.stats()).to_string())],
            );
        }
        family(
            "govchannel_gop_cache_budget_bytes",
            "gauge",
            "The GOP cache's byte budget (gop_cache_mb).",
            vec![(String::new(), e.budget().to_string())],
        );
    }
    // The one pacing thread of the UDP outputs.
    let pacer = crate::playout::pacer::stats();
    let read = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    for (name, kind, help, value) in [
        (
            "govchannel_pacer_wakeups_total",
            "counter",
            "Quanta (20 ms) the UDP pacing thread woke for.",
            read(&pacer.wakeups).to_string(),
        ),
        (
            "govchannel_pacer_late_wakeups_total",
            "counter",
            "Pacing wake-ups more than 5 ms after their time.",
            read(&pacer.late_wakeups).to_string(),
        ),
        (
            "govchannel_pacer_lateness_seconds_total",
            "counter",
            "Seconds the pacing thread woke after its time, summed over its wake-ups.",
            format!("{:.6}", read(&pacer.late_us) as f64 / 1e6),
        ),
        (
            "govchannel_pacer_outputs",
            "gauge",
            "UDP outputs the pacing thread sends for.",
            read(&pacer.outputs).to_string(),
        ),
    ] {
        family(name, kind, help, vec![(String::new(), value)]);
    }
    type LaneField = fn(&LaneStats) -> u64;
    let lane_metrics: [(&str, &str, &str, LaneField); 10] = [
        (
            "govchannel_gops_total",
            "counter",
            "Seconds (GOPs) aired.",
            |s| LaneStats::get(&s.gops),
        ),
        (
            "govchannel_screens_aired_total",
            "counter",
            "Screen pages put on air (changes of what airs).",
            |s| LaneStats::get(&s.screens),
        ),
        (
            "govchannel_slate_gops_total",
            "counter",
            "Seconds that aired the slate.",
            |s| LaneStats::get(&s.slate_gops),
        ),
        (
            "govchannel_render_failures_total",
            "counter",
            "Frames that failed to render (the slate aired instead).",
            |s| LaneStats::get(&s.render_failures),
        ),
        (
            "govchannel_encode_failures_total",
            "counter",
            "Frames that failed to encode (the slate aired instead).",
            |s| LaneStats::get(&s.encode_failures),
        ),
        (
            "govchannel_encoder_restarts_total",
            "counter",
            "Encoder restarts after a failure.",
            |s| LaneStats::get(&s.encoder_restarts),
        ),
        (
            "govchannel_encodes_total",
            "counter",
            "Frames encoded into GOPs (cache misses).",
            |s| LaneStats::get(&s.encodes),
        ),
        (
            "govchannel_late_gops_total",
            "counter",
            "Seconds a screen was held because the next was not ready.",
            |s| LaneStats::get(&s.late_gops),
        ),
        (
            "govchannel_program_items",
            "gauge",
            "Screens in the channel's current program.",
            |s| LaneStats::get(&s.program_items),
        ),
        (
            "govchannel_program_errors_total",
            "counter",
            "Program rebuilds that failed.",
            |s| LaneStats::get(&s.program_errors),
        ),
    ];
    for (name, kind, help, field) in lane_metrics {
        let mut rows = Vec::new();
        for c in &channels {
            for lane in &c.lanes {
                rows.push((
                    format!(
                        "channel=\"{}\",profile=\"{}\"",
                        esc(&c.name),
                        lane.profile.as_str()
                    ),
                    field(&lane.stats).to_string(),
                ));
            }
        }
        family(name, kind, help, rows);
    }
    type OutField = fn(&crate::playout::OutputView) -> u64;
    let out_metrics: [(&str, &str, &str, OutField); 9] = [
        (
            "govchannel_output_up",
            "gauge",
            "1 while the output's muxer is open and writing.",
            |o| u64::from(o.stats.up.load(Ordering::Relaxed)),
        ),
        (
            "govchannel_output_muxrate_bits",
            "gauge",
            "Configured CBR rate of an MPEG-TS output in bit/s.",
            |o| o.muxrate,
        ),
        (
            "govchannel_output_gops_total",
            "counter",
            "GOPs muxed.",
            |o| LaneStats::get(&o.stats.gops),
        ),
        (
            "govchannel_output_bytes_total",
            "counter",
            "Bytes delivered (TS sent or written; HLS: coded video).",
            |o| LaneStats::get(&o.stats.bytes),
        ),
        (
            "govchannel_output_datagrams_total",
            "counter",
            "UDP datagrams sent.",
            |o| LaneStats::get(&o.stats.datagrams),
        ),
        (
            "govchannel_output_send_errors_total",
            "counter",
            "Failed UDP sends or file writes.",
            |o| LaneStats::get(&o.stats.send_errors),
        ),
        (
            "govchannel_output_mux_errors_total",
            "counter",
            "Muxer failures: an HLS write that failed, or a TS muxer that failed and stopped its output.",
            |o| LaneStats::get(&o.stats.mux_errors),
        ),
        (
            "govchannel_output_dropped_gops_total",
            "counter",
            "GOPs dropped because the output fell behind.",
            |o| LaneStats::get(&o.stats.dropped_gops),
        ),
        (
            "govchannel_output_late_units_total",
            "counter",
            "Pictures and audio frames of an MPEG-TS output sent after their decoding time (mux rate too low for the content).",
            |o| LaneStats::get(&o.stats.late_units),
        ),
    ];
    for (name, kind, help, field) in out_metrics {
        let mut rows = Vec::new();
        for c in &channels {
            for lane in &c.lanes {
                for o in &lane.outputs {
                    rows.push((
                        format!(
                            "channel=\"{}\",profile=\"{}\",output=\"{}\",kind=\"{}\"",
                            esc(&c.name),
                            lane.profile.as_str(),
                            esc(&o.label),
                            o.kind
                        ),
                        field(o).to_string(),
                    ));
                }
            }
        }
        family(name, kind, help, rows);
    }
    out
}

/// `GET /metrics`.
pub async fn get(State(state): State<AppState>) -> impl IntoResponse {
    let text = render(state.playout.get(), state.started.elapsed().as_secs_f64());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_playout_the_exposition_is_still_valid() {
        let text = render(None, 1.5);
        assert!(text.contains("govchannel_uptime_seconds 1.500\n"), "{text}");
        // One prefix for every family.
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            assert!(line.starts_with("# TYPE govchannel_"), "{line}");
        }
        assert!(text.contains("govchannel_channels 0\n"));
        assert!(!text.contains("{}"));
        assert_eq!(esc("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
