//! Command-line interface of `headend` (its subcommands and flags are documented in README.md, "Command line").

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use headend::config::Config;
use headend::store::{Store, DATABASE_FILE};

/// GovChannel headend: a county government channel for digital cable TV.
#[derive(Debug, Parser)]
#[command(name = "headend", version, about)]
pub struct Cli {
    /// Configuration file (TOML).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory holding headend.db [default: ./data].
    #[arg(long, global = true, value_name = "DIR")]
    data: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    /// Whether this runs the long-lived server.
    pub fn serves(&self) -> bool {
        matches!(self.command, Command::Serve { .. })
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the headend: admin UI, JSON API, set-top-box protocol, HLS, health and metrics.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// Do not load the demo county into an empty database.
        #[arg(long)]
        no_demo: bool,
    },
    /// Render one screen to PNG (and its layout to JSON).
    Render(RenderArgs),
    /// Write a channel as it airs to an MPEG-TS file, faster than real time.
    Stream {
        /// Channel name, e.g. `county`.
        #[arg(long)]
        channel: String,
        /// Length of the recording in seconds.
        #[arg(long)]
        seconds: u32,
        /// Output file.
        #[arg(long, value_name = "FILE.ts")]
        out: PathBuf,
        /// Also write the as-run log of the recording (one JSON line per aired screen).
        #[arg(long, value_name = "FILE.jsonl")]
        as_run: Option<PathBuf>,
        /// Also write the layout record of every aired screen as `DIR/<hash>.json`.
        #[arg(long, value_name = "DIR")]
        layouts: Option<PathBuf>,
        /// County time the recording starts at (`2026-12-07T08:00`, `08:00` for today,
        /// RFC 3339, or `now`), so a part of the schedule can be recorded as it will air
        /// [default: now].
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
    /// Set up a new county's store (instead of the demo): the county, its regions and its
    /// publishing bodies, and the county channel.
    Init {
        /// The county's region code and name, e.g. `--county 330784 永康市`.
        #[arg(long, num_args = 2, value_names = ["CODE", "NAME"])]
        county: Vec<String>,
        /// Towns and villages: CSV with the columns code,name,level,parent.
        #[arg(long, value_name = "FILE.csv")]
        regions: Option<PathBuf>,
        /// Publishing bodies: CSV with the columns code,name,short_name,region[,phone,address].
        #[arg(long, value_name = "FILE.csv")]
        departments: Option<PathBuf>,
    },
    /// Run one ingest pass over a feed URL or file.
    Import(ImportArgs),
    /// Write a region's set-top-box manifest and every image it names as plain files.
    Bundle {
        /// Region code (a village, a town or the county).
        #[arg(long)]
        region: String,
        /// Picture profile.
        #[arg(long, value_enum, default_value = "sd")]
        profile: headend::render::Profile,
        /// Directory to write `manifest.json` and `img/<hash>.png` into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Print a channel's programme guide as XMLTV.
    Epg {
        /// Channel name.
        #[arg(long)]
        channel: String,
        /// Number of days from today (at most 14).
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// Print the guide as JSON instead of XMLTV.
        #[arg(long)]
        json: bool,
    },
    /// Print JSON counts of what the store holds.
    Stats,
    /// Manage staff and operator accounts.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("content").required(true).args(["input", "notice"])))]
struct RenderArgs {
    /// Output profile.
    #[arg(long, value_enum)]
    profile: headend::render::Profile,
    /// Content JSON file.
    #[arg(long, value_name = "FILE.json")]
    input: Option<PathBuf>,
    /// Id of a stored notice.
    #[arg(long, value_name = "ID")]
    notice: Option<i64>,
    /// Page to render (1-based).
    #[arg(long, default_value_t = 1)]
    page: u32,
    /// Output PNG.
    #[arg(long, value_name = "FILE.png")]
    out: PathBuf,
    /// Write the layout record here.
    #[arg(long, value_name = "FILE.json")]
    layout: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// Feed or export: an http(s) URL, a file path, or the name of a configured source.
    source: String,
    /// What the source holds: notices, catalogue or cases [default: notices, or the
    /// configured source's].
    #[arg(long)]
    kind: Option<headend::ingest::SourceKind>,
    /// Document format: auto, rss, atom, json_feed, csv or json [default: auto].
    #[arg(long)]
    format: Option<headend::ingest::Format>,
    /// Default publishing body (department code) for items that name none.
    #[arg(long, value_name = "CODE")]
    department: Option<String>,
    /// Region notices are addressed to [default: the county].
    #[arg(long, value_name = "CODE")]
    region: Option<String>,
    /// Publish notices directly instead of holding them for review (待审核).
    #[arg(long)]
    trusted: bool,
    /// Source name items are recorded under [default: the configured name, or
    /// `import-` and a hash of SOURCE, so re-importing the same SOURCE updates in place].
    #[arg(long)]
    name: Option<String>,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add an account and print its one-time password (changed at first login).
    Add {
        /// Login name (letters, digits, '.', '_' or '-').
        name: String,
        /// Role: editor (信息员), reviewer (审核员), operator (播出员) or admin (管理员);
        /// repeat for several.
        #[arg(long, required = true)]
        role: Vec<String>,
        /// Department code the editor or reviewer roles act for (a reviewer without one
        /// reviews for the whole county; an editor needs one).
        #[arg(long, value_name = "CODE")]
        department: Option<String>,
        /// Name shown to staff.
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Give an account a new one-time password (also unlocks it and ends its sessions).
    Reset {
        /// Login name.
        name: String,
    },
    /// List the accounts.
    List,
}

/// Sets up logging to standard error: `info` for `serve`, `warn` otherwise (so command
/// output on standard output stays clean). `RUST_LOG` overrides.
pub fn init_logging(cli: &Cli) {
    let default = match cli.command {
        Command::Serve { .. } => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only on a terminal: a log file or journal gets plain text.
    let colours = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colours)
        .init();
}

/// Runs the chosen subcommand.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(data) = cli.data {
        config.data_dir = data;
    }
    match cli.command {
        Command::Serve { listen, no_demo } => {
            if let Some(listen) = listen {
                config.listen = listen;
            }
            if no_demo {
                config.load_demo = false;
            }
            serve(config)
        }
        Command::Stats => stats(&config),
        Command::Render(args) => render(&config, args),
        Command::Stream {
            channel,
            seconds,
            out,
            as_run,
            layouts,
            at,
        } => stream(
            &config,
            &channel,
            seconds,
            &out,
            (as_run, layouts),
            at.as_deref(),
        ),
        Command::Import(args) => import(&config, args),
        Command::Init {
            county,
            regions,
            departments,
        } => init(&config, &county, regions.as_deref(), departments.as_deref()),
        Command::Bundle {
            region,
            profile,
            out,
        } => bundle(&config, &region, profile, &out),
        Command::Epg {
            channel,
            days,
            json,
        } => epg(&config, &channel, days, json),
        Command::User { action } => user(&config, action),
    }
}

/// `headend init`: a new county's store, set up from its CSV files.
fn init(
    config: &Config,
    county: &[String],
    regions: Option<&std::path::Path>,
    departments: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    use headend::setup;
    let [code, name] = county else {
        anyhow::bail!(
            "--county takes the county's region code and its name, e.g. --county 330784 永康市"
        );
    };
    let read = |p: Option<&std::path::Path>| -> anyhow::Result<String> {
        match p {
            None => Ok(String::new()),
            Some(p) => {
                std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
            }
        }
    };
    let regions = match regions {
        Some(_) => setup::parse_regions(&read(regions)?)?,
        None => Vec::new(),
    };
    let departments = match departments {
        Some(_) => setup::parse_departments(&read(departments)?)?,
        None => Vec::new(),
    };
    let store = Store::open_in_dir(&config.data_dir)?;
    let (code, name) = (code.clone(), name.clone());
    let report = store.call_blocking(move |conn| {
        Ok(setup::init(
            conn,
            (&code, &name),
            &regions,
            &departments,
            chrono::Utc::now(),
        ))
    })??;
    let data = config.data_dir.display();
    println!(
        "set up {data}: {} regions, {} publishing bodies, channel `{}`",
        report.regions, report.departments, report.channel
    );
    println!("next: headend user add NAME --role admin --data {data}");
    println!("      headend import FEED --department CODE --data {data}");
    println!("      headend serve --no-demo --data {data}");
    Ok(ExitCode::SUCCESS)
}

/// `headend epg`: a channel's programme guide for the coming days, XMLTV or JSON.
fn epg(config: &Config, channel: &str, days: u32, json: bool) -> anyhow::Result<ExitCode> {
    use headend::schedule;
    if !(1..=schedule::epg::MAX_DAYS).contains(&days) {
        anyhow::bail!("--days must be 1 to {}", schedule::epg::MAX_DAYS);
    }
    let store = open_existing_store(config)?;
    let name = channel.to_owned();
    let today = headend::content::county_today();
    let found = store.call_blocking(move |conn| {
        let Some(info) = schedule::channel(conn, &name)? else {
            let known: Vec<String> = schedule::channels(conn)?
                .into_iter()
                .map(|c| c.name)
                .collect();
            return Ok(Err(known));
        };
        let programmes = schedule::epg::guide(conn, &info, today, days)?;
        Ok(Ok((info, programmes)))
    })?;
    let (info, programmes) = match found {
        Ok(x) => x,
        Err(known) => {
            return Err(headend::playout::PlayoutError::UnknownChannel {
                name: channel.to_owned(),
                known: known.join(", "),
            }
            .into())
        }
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&schedule::epg::json(&info, &programmes))?
        );
    } else {
        print!("{}", schedule::epg::xmltv(&info, &programmes));
    }
    Ok(ExitCode::SUCCESS)
}

fn serve(config: Config) -> anyhow::Result<ExitCode> {
    // x264 asks for transparent huge pages (madvise) on every buffer of 2 MiB or more,
    // so each encoder opened for a GOP made whole 2 MiB pages resident: ~75 MiB of the
    // demo's RSS in its first seconds were such pages (AnonHugePages in smaps). The
    // flag covers the whole process and its encoders; a kernel without it changes
    // nothing.
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::debug!(error = %e, "transparent huge pages could not be turned off");
    }
    let runtime = headend::serve::runtime().context("cannot start the async runtime")?;
    runtime.block_on(headend::serve::run(config, |addr| {
        // Tests and scripts wait for this line; it is printed once the socket accepts.
        println!("headend: serving http://{addr}/");
    }))?;
    Ok(ExitCode::SUCCESS)
}

/// The source an import runs: a configured or stored source named SOURCE, or an ad-hoc
/// source at the URL or path SOURCE; flags override either.
fn import_spec(
    config: &Config,
    store: &Store,
    args: &ImportArgs,
) -> anyhow::Result<headend::ingest::SourceSpec> {
    use headend::ingest::{source, sources, Location, SourceKind, SourceName, SourceSpec};
    let known = match SourceName::new(&args.source) {
        Ok(name) => match config.sources.iter().find(|s| s.name == name) {
            Some(s) => Some(s.clone()),
            None => {
                let n = name.to_string();
                store
                    .call_blocking(move |conn| sources::get(conn, &n))?
                    .map(|r| r.spec)
            }
        },
        Err(_) => None,
    };
    let mut spec = match known {
        Some(spec) => spec,
        None => {
            let location = Location::parse(&args.source)?;
            let identity = match &location {
                Location::File(path) => std::fs::canonicalize(path)
                    .unwrap_or_else(|_| path.clone())
                    .display()
                    .to_string(),
                Location::Http(url) => url.to_string(),
            };
            let name = format!(
                "import-{}",
                &headend::ingest::feed::short_hash(&identity)[..8]
            );
            SourceSpec::try_from(source::SourceFields {
                name,
                url: args.source.clone(),
                kind: SourceKind::Notices.as_str().to_owned(),
                ..source::SourceFields::default()
            })?
        }
    };
    if let Some(name) = &args.name {
        spec.name = SourceName::new(name)?;
    }
    if let Some(kind) = args.kind {
        spec.kind = kind;
    }
    if let Some(format) = args.format {
        spec.format = format;
    }
    if !spec.format.fits(spec.kind) {
        anyhow::bail!("format {} does not fit kind {}", spec.format, spec.kind);
    }
    if args.department.is_some() {
        spec.department = args.department.clone();
    }
    if args.region.is_some() {
        spec.region = args.region.clone();
    }
    spec.trusted |= args.trusted;
    Ok(spec)
}

/// `headend import`: one full pass; prints the counts, then one line per rejection.
fn import(config: &Config, args: ImportArgs) -> anyhow::Result<ExitCode> {
    use headend::ingest::{fetch, run_pass, Fetcher, PassMode, PassOutcome};
    let store = open_existing_store(config)?;
    let spec = import_spec(config, &store, &args)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome = runtime.block_on(async {
        // The operator's own command: any file they can read, any address.
        let fetcher = Fetcher::new(
            fetch::DEFAULT_CONNECT_TIMEOUT,
            headend::ingest::Reach::anywhere(),
        )?;
        run_pass(&store, &fetcher, &spec, PassMode::Full).await
    });
    let report = match outcome.with_context(|| format!("cannot import {}", spec.location))? {
        PassOutcome::Applied(report) => report,
        PassOutcome::NotModified => Default::default(),
    };
    println!(
        "added {}, updated {}, unchanged {}, rejected {}",
        report.added, report.updated, report.unchanged, report.rejected
    );
    for r in &report.rejections {
        if r.title.is_empty() {
            println!("rejected {}: {}", r.key, r.reason.zh());
        } else {
            println!("rejected {} 《{}》: {}", r.key, r.title, r.reason.zh());
        }
    }
    if report.missing > 0 {
        println!(
            "missing from source {} (flagged, not deleted)",
            report.missing
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `headend stream`: the channel exactly as it airs (its first MPEG-TS output's settings,
/// or SD defaults) written to a file faster than real time.
fn stream(
    config: &Config,
    channel: &str,
    seconds: u32,
    out: &std::path::Path,
    (as_run, layouts): (Option<PathBuf>, Option<PathBuf>),
    at: Option<&str>,
) -> anyhow::Result<ExitCode> {
    use headend::playout::spec::UdpOutput;
    use headend::playout::{self, asrun, OutputKind, OutputSpec, PlayoutError};
    let now = chrono::Utc::now().with_timezone(&headend::content::county_offset());
    let today_at = |t: &str| {
        chrono::NaiveTime::parse_from_str(t, "%H:%M:%S")
            .or_else(|_| chrono::NaiveTime::parse_from_str(t, "%H:%M"))
            .ok()
            .and_then(|time| headend::schedule::airing::at_county(now.date_naive().and_time(time)))
    };
    let start = match at {
        None | Some("now") => now,
        Some(t) if today_at(t).is_some() => today_at(t).unwrap_or(now),
        Some(t) => headend::schedule::urgent::parse_time(t).ok_or_else(|| {
            anyhow::anyhow!(
                "--at {t:?} is not a time: use 2026-12-07T08:00 (county time) or RFC 3339"
            )
        })?,
    };
    let store = open_existing_store(config)?;
    let known = store.call_blocking(|conn| headend::schedule::channels(conn))?;
    if known.is_empty() {
        return Err(PlayoutError::NoChannels.into());
    }
    let info = known
        .iter()
        .find(|c| c.name == channel)
        .cloned()
        .ok_or_else(|| PlayoutError::UnknownChannel {
            name: channel.to_owned(),
            known: known
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let spec = config
        .channels
        .iter()
        .find(|c| c.name == channel)
        .cloned()
        .unwrap_or_else(|| playout::ChannelSpec::new(channel, Vec::new()));
    let output = spec
        .outputs
        .iter()
        .find(|o| o.kind() != OutputKind::Hls)
        .cloned()
        .unwrap_or_else(|| OutputSpec::Udp(UdpOutput::default()));
    let plan = output
        .plan(&info.name, &info.title, &config.data_dir)
        .map_err(PlayoutError::Config)?;
    // A recording's as-run log starts empty (and an unwritable path fails before any work).
    if let Some(path) = &as_run {
        std::fs::write(path, b"")
            .with_context(|| format!("cannot write the as-run log {}", path.display()))?;
    }
    let report = playout::record(
        playout::Recording {
            title: info.title.clone(),
            source: std::sync::Arc::new(headend::schedule::ScheduleProgram::new(store, &info.name)),
            options: spec.lane_options(),
            output: plan,
            start,
            faults: Default::default(),
            as_run: playout::AsRun::new(
                channel,
                as_run.map_or(asrun::Target::None, asrun::Target::File),
            )
            .with_layouts(layouts),
        },
        out,
        u64::from(seconds),
    )
    .with_context(|| format!("cannot record channel {channel}"))?;
    eprintln!(
        "wrote {} s of channel {} to {}: {} screens, {} frames encoded, {} slate seconds, {} bytes",
        report.gops,
        channel,
        out.display(),
        report.screens,
        report.encodes,
        report.slate_gops,
        report.bytes
    );
    Ok(ExitCode::SUCCESS)
}

/// `headend bundle`: a region's set-top-box content as files.
fn bundle(
    config: &Config,
    region: &str,
    profile: headend::render::Profile,
    out: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let store = open_existing_store(config)?;
    let now = chrono::Utc::now().with_timezone(&headend::content::county_offset());
    let report = headend::stb::bundle::write(&store, region, profile, now, out)
        .with_context(|| format!("cannot write the bundle of region {region}"))?;
    eprintln!(
        "wrote {} screens and {} images ({} bytes, version {}) to {}",
        report.screens,
        report.images,
        report.bytes,
        report.version,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Opens `<data>/headend.db` for a one-shot command, refusing to create an empty one.
fn open_existing_store(config: &Config) -> anyhow::Result<Store> {
    let db = config.data_dir.join(DATABASE_FILE);
    if !db.exists() {
        anyhow::bail!(
            "no database at {}: set up a county with `headend init --county CODE NAME`, start `headend serve` once for the demo county, or pass --data DIR",
            db.display()
        );
    }
    Ok(Store::open(&db)?)
}

fn stats(config: &Config) -> anyhow::Result<ExitCode> {
    let store = open_existing_store(config)?;
    let stats = store.call_blocking(headend::store::Stats::read)?;
    println!("{}", serde_json::to_string_pretty(&stats)?);
    Ok(ExitCode::SUCCESS)
}

fn user(config: &Config, action: UserCommand) -> anyhow::Result<ExitCode> {
    use headend::accounts::{self, Grant, NewUser, Role};
    let store = open_existing_store(config)?;
    let now = chrono::Utc::now();
    match action {
        UserCommand::Add {
            name,
            role,
            department,
            display_name,
        } => {
            let mut grants = Vec::new();
            for r in &role {
                let role = Role::parse(r).with_context(|| {
                    format!("unknown role {r:?}: use editor, reviewer, operator or admin")
                })?;
                let department = match role {
                    Role::Editor | Role::Reviewer => department.clone(),
                    Role::Operator | Role::Admin => None,
                };
                grants.push(Grant { role, department });
            }
            let password = accounts::one_time_password()?;
            let hash = accounts::hash_password(&password)?;
            let added = store.call_blocking(move |conn| {
                let user = NewUser {
                    name: &name,
                    display_name: display_name.as_deref().unwrap_or(""),
                    password_hash: &hash,
                    grants: &grants,
                    must_change: true,
                };
                Ok(accounts::add_user(conn, &user, "cli", now))
            })?;
            added?;
            println!("{password}");
            eprintln!("one-time password printed above: the user must change it at first login");
        }
        UserCommand::Reset { name } => {
            let password = accounts::one_time_password()?;
            let hash = accounts::hash_password(&password)?;
            store.call_blocking(move |conn| {
                Ok(accounts::reset_password(conn, &name, &hash, "cli", now))
            })??;
            println!("{password}");
            eprintln!("one-time password printed above: the user must change it at next login");
        }
        UserCommand::List => {
            let users = store.call_blocking(move |conn| Ok(accounts::list_users(conn, now)))??;
            for u in users {
                let grants: Vec<String> = u
                    .grants
                    .iter()
                    .map(|g| match &g.department {
                        Some(d) => format!("{}@{d}", g.role.as_str()),
                        None => g.role.as_str().to_owned(),
                    })
                    .collect();
                let mut flags = Vec::new();
                if u.disabled {
                    flags.push("disabled");
                }
                if u.locked {
                    flags.push("locked");
                }
                if u.must_change {
                    flags.push("one-time password");
                }
                println!(
                    "{}\t{}\t{}\t{}",
                    u.name,
                    u.display_name,
                    grants.join(","),
                    flags.join(",")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn render(config: &Config, args: RenderArgs) -> anyhow::Result<ExitCode> {
    use headend::render::{Renderer, Screen};
    let screen: Screen = match (&args.input, args.notice) {
        (Some(input), _) => {
            let text = std::fs::read_to_string(input)
                .with_context(|| format!("cannot read {}", input.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not a valid screen description", input.display()))?
        }
        (None, Some(id)) => {
            let store = open_existing_store(config)?;
            let today = headend::content::county_today();
            let notice =
                store.call_blocking(move |conn| headend::pages::notice(conn, id, today))?;
            Screen::Notice(notice.with_context(|| format!("there is no notice with id {id}"))?)
        }
        (None, None) => anyhow::bail!("give --input FILE.json or --notice ID"),
    };
    let mut renderer = Renderer::new()?;
    let (png, layout) = renderer.render_png(&screen, args.profile, args.page)?;
    std::fs::write(&args.out, png)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    if let Some(path) = &args.layout {
        let json = serde_json::to_string_pretty(&layout)?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if !layout.missing.is_empty() {
        let chars: String = layout.missing.iter().collect();
        eprintln!("warning: no font has these characters, drawn as blanks: {chars}");
    }
    Ok(ExitCode::SUCCESS)
}
