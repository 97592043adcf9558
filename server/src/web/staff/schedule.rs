//! The operators' pages: channels, programme blocks (with their thumbnail strip), the
//! schedule of a channel as a week grid, urgent overrides (two-person rule) and the
//! programme guide with what airs at any moment. Everyone signed in may look; operators
//! and administrators edit (checked again in `crate::schedule`).

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{Datelike, Duration, NaiveTime, Utc};

use super::{form_errors, page, PageError, Staff};
use crate::schedule::{self, block, edit, epg, timeline, urgent, EditError};
use crate::web::schedule::{self as api, AtQuery, RangeQuery};
use crate::web::{ApiError, AppState};

/// Rows of the block form.
pub const BLOCK_ROWS: usize = 10;

type Pairs = Vec<(String, String)>;

fn field<'a>(pairs: &'a Pairs, name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

fn fields<'a>(pairs: &'a Pairs, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    pairs
        .iter()
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

impl From<EditError> for PageError {
    fn from(e: EditError) -> Self {
        staff_api(e.into())
    }
}

/// Splits an edit's outcome: `Ok(Ok(v))` done, `Ok(Err(fields))` to show on the form.
fn fields_or<T>(r: Result<T, EditError>) -> Result<Result<T, edit::Fields>, PageError> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(EditError::Invalid(f)) => Ok(Err(f)),
        Err(e) => Err(e.into()),
    }
}

fn may_edit(staff: &Staff) -> bool {
    edit::may_schedule(&staff.user)
}

/// `GET /admin/channels`.
pub async fn channels(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    channels_page(&state, &staff, StatusCode::OK, None).await
}

/// A channel form that was refused: which channel, which form, what was sent and why.
struct Refused {
    channel: String,
    outputs: bool,
    pairs: Pairs,
    errors: edit::Fields,
}

/// One output as the channel page lists it.
fn output_row(o: &crate::playout::OutputSpec) -> minijinja::Value {
    use crate::playout::OutputKind;
    let ts = o.ts();
    let rate = ts
        .muxrate
        .unwrap_or_else(|| crate::playout::encode::default_muxrate(o.profile()));
    minijinja::context! {
        kind => o.kind().label(),
        profile => o.profile().label(),
        address => o.udp_address().map(|a| a.to_string()),
        rate => (o.kind() != OutputKind::Hls).then(|| format!("{} kbit/s", rate / 1000)),
        service_name => o.names().0,
        gb2312 => ts.charset == Some(crate::playout::spec::Charset::Gb2312),
    }
}

async fn channels_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    failed: Option<Refused>,
) -> Result<Response, PageError> {
    let (channels, blocks, regions) = state
        .store
        .call(|conn| {
            Ok((
                schedule::channels(conn)?,
                block::all(conn)?,
                super::account::regions(conn)?,
            ))
        })
        .await?;
    let names: BTreeMap<i64, String> = blocks.iter().map(|b| (b.id, b.name.clone())).collect();
    let rows: Vec<minijinja::Value> = channels
        .iter()
        .map(|c| {
            let mut title = c.title.clone();
            let mut region = c.region.clone();
            let mut fallback = c.fallback;
            let mut per_notice = c.epg_per_notice;
            let mut errs = Vec::new();
            let (mut output_errors, mut output_form) = (Vec::new(), None);
            if let Some(f) = failed.as_ref().filter(|f| f.channel == c.name) {
                if f.outputs {
                    output_errors = form_errors(&f.errors).0;
                    output_form = Some(
                        f.pairs
                            .iter()
                            .cloned()
                            .collect::<BTreeMap<String, String>>(),
                    );
                } else {
                    title = field(&f.pairs, "title").to_owned();
                    region = field(&f.pairs, "region").to_owned();
                    fallback = field(&f.pairs, "fallback").parse().ok();
                    per_notice = field(&f.pairs, "epg_per_notice") == "1";
                    errs = form_errors(&f.errors).0;
                }
            }
            let configured = state
                .planner
                .as_ref()
                .and_then(|p| p.configured_outputs(&c.name));
            let shown = configured.clone().unwrap_or_else(|| c.outputs.clone());
            let on_air: Option<Vec<String>> = state.playout.get().map(|p| {
                p.channel(&c.name)
                    .map(|v| {
                        v.lanes
                            .iter()
                            .flat_map(|l| l.outputs.iter().map(|o| o.label.clone()))
                            .collect()
                    })
                    .unwrap_or_default()
            });
            minijinja::context! {
                name => c.name, title, region, fallback, per_notice, errors => errs,
                outputs => shown.iter().map(output_row).collect::<Vec<_>>(),
                outputs_configured => configured.is_some(),
                on_air, output_errors, output_form,
                fallback_name => c.fallback.and_then(|b| names.get(&b).cloned()).unwrap_or_else(|| format!("{}（默认轮播）", epg::DEFAULT_TITLE)),
                current_title => c.title,
            }
        })
        .collect();
    let html = page(
        "channels.html",
        Some(staff),
        "channels",
        minijinja::context! { channels => rows, blocks, regions, may_edit => may_edit(staff) },
    )?;
    Ok((status, html).into_response())
}

/// `POST /admin/channels/{name}`.
pub async fn update_channel(
    State(state): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    let form = edit::ChannelForm {
        title: field(&pairs, "title").to_owned(),
        region: field(&pairs, "region").to_owned(),
        fallback: field(&pairs, "fallback").parse().ok(),
        epg_per_notice: field(&pairs, "epg_per_notice") == "1",
    };
    let (user, n) = (staff.user.clone(), name.clone());
    let r = state
        .store
        .call(move |conn| Ok(edit::update_channel(conn, &user, &n, &form, Utc::now())))
        .await?;
    match fields_or(r)? {
        Ok(()) => Ok(Redirect::to("/admin/channels").into_response()),
        Err(errors) => {
            let refused = Refused {
                channel: name,
                outputs: false,
                pairs,
                errors,
            };
            channels_page(
                &state,
                &staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(refused),
            )
            .await
        }
    }
}

/// An output from the channel page's form; the fields it cannot read.
fn output_form(p: &Pairs) -> Result<crate::playout::OutputSpec, edit::Fields> {
    use crate::playout::spec::{HlsOutput, UdpOutput};
    use crate::playout::OutputSpec;
    use crate::render::Profile;
    let mut errors: edit::Fields = Vec::new();
    let profile = match field(p, "profile") {
        "" => None,
        name => Profile::parse(name).or_else(|| {
            errors.push(("profile", "请选择画面规格".into()));
            None
        }),
    };
    let o = match field(p, "kind") {
        "udp" => {
            let mut o = UdpOutput {
                profile,
                ..UdpOutput::default()
            };
            read_udp(p, &mut o, &mut errors);
            OutputSpec::Udp(o)
        }
        kind => {
            if kind != "hls" {
                errors.push(("kind", "请选择输出方式（UDP 或 HLS）".into()));
            }
            OutputSpec::Hls(HlsOutput {
                profile,
                ..HlsOutput::default()
            })
        }
    };
    if errors.is_empty() {
        Ok(o)
    } else {
        Err(errors)
    }
}

/// A UDP output's own fields from the channel page's form.
fn read_udp(p: &Pairs, o: &mut crate::playout::spec::UdpOutput, errors: &mut edit::Fields) {
    let address = field(p, "address").trim();
    if !address.is_empty() {
        match address.parse() {
            Ok(a) => o.address = Some(a),
            Err(_) => errors.push((
                "address",
                format!("地址“{address}”格式不对，应为 127.0.0.1:5000 这样的“地址:端口”"),
            )),
        }
    }
    let rate = field(p, "muxrate").trim();
    if !rate.is_empty() {
        match number::<u64>(rate) {
            Ok(k) => o.muxrate = Some(k.saturating_mul(1000)),
            Err(()) => errors.push(("muxrate", "码率须为整数（kbit/s）".into())),
        }
    }
    if field(p, "charset") == "gb2312" {
        o.charset = Some(crate::playout::spec::Charset::Gb2312);
    }
    let service = field(p, "service_name").trim();
    if !service.is_empty() {
        o.service_name = Some(service.to_owned());
    }
}

/// Saves `outputs` as channel `name`'s and airs them: `Ok(Err(fields))` when refused.
async fn save_outputs(
    state: &AppState,
    staff: &Staff,
    name: &str,
    change: impl FnOnce(&mut Vec<crate::playout::OutputSpec>) -> Result<(), edit::Fields>
        + Send
        + 'static,
) -> Result<Result<(), edit::Fields>, PageError> {
    api::outputs_editable(state, name).map_err(staff_api)?;
    let (user, n) = (staff.user.clone(), name.to_owned());
    let r = state
        .store
        .call(move |conn| {
            let Some(info) = schedule::channel(conn, &n)? else {
                return Ok(Err(EditError::NotFound));
            };
            let mut outputs = info.outputs;
            if let Err(f) = change(&mut outputs) {
                return Ok(Err(EditError::Invalid(f)));
            }
            Ok(edit::set_outputs(conn, &user, &n, &outputs, Utc::now()))
        })
        .await?;
    if let Err(f) = fields_or(r)? {
        return Ok(Err(f));
    }
    api::air_outputs(state, name).await.map_err(staff_api)?;
    Ok(Ok(()))
}

/// `POST /admin/channels/{name}/outputs`: adds an output.
pub async fn add_output(
    State(state): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    let parsed = output_form(&pairs);
    let r = save_outputs(&state, &staff, &name, move |list| {
        list.push(parsed?);
        Ok(())
    })
    .await?;
    outputs_saved(&state, &staff, name, pairs, r).await
}

/// `POST /admin/channels/{name}/outputs/{n}/delete`: removes output `n` (1-based).
pub async fn delete_output(
    State(state): State<AppState>,
    staff: Staff,
    Path((name, n)): Path<(String, usize)>,
) -> Result<Response, PageError> {
    let r = save_outputs(&state, &staff, &name, move |list| {
        if n == 0 || n > list.len() {
            return Err(vec![("outputs", format!("没有第{n}路输出"))]);
        }
        list.remove(n - 1);
        Ok(())
    })
    .await?;
    outputs_saved(&state, &staff, name, Vec::new(), r).await
}

/// Back to the channel's outputs when saved; the page with the reasons when refused.
async fn outputs_saved(
    state: &AppState,
    staff: &Staff,
    name: String,
    pairs: Pairs,
    saved: Result<(), edit::Fields>,
) -> Result<Response, PageError> {
    match saved {
        Ok(()) => Ok(Redirect::to(&format!("/admin/channels#outputs-{name}")).into_response()),
        Err(errors) => {
            let refused = Refused {
                channel: name,
                outputs: true,
                pairs,
                errors,
            };
            channels_page(
                state,
                staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(refused),
            )
            .await
        }
    }
}

/// The week grid's query: the week and the entry being edited.
#[derive(Debug, Default, serde::Deserialize)]
pub struct GridQuery {
    /// A date of the week shown (`YYYY-MM-DD`), default today.
    #[serde(default)]
    pub from: Option<String>,
    /// The entry whose settings fill the form.
    #[serde(default)]
    pub edit: Option<i64>,
}

/// `GET /admin/channels/{name}/schedule?from=&edit=`: the week grid, and the form to add an
/// entry or edit one.
pub async fn schedule_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
    Query(q): Query<GridQuery>,
) -> Result<Response, PageError> {
    grid(&state, &staff, &name, &q, StatusCode::OK, None, Vec::new()).await
}

async fn grid(
    state: &AppState,
    staff: &Staff,
    name: &str,
    q: &GridQuery,
    status: StatusCode,
    typed: Option<Pairs>,
    errors: edit::Fields,
) -> Result<Response, PageError> {
    let (from, _) = api::range(&RangeQuery {
        from: q.from.clone(),
        days: None,
    })?;
    // The week from Monday.
    let monday = from - Duration::days(i64::from(from.weekday().num_days_from_monday()));
    let n = name.to_owned();
    let (view, blocks) = state
        .store
        .call(move |conn| Ok((api::schedule_view(conn, &n, monday, 7)?, block::all(conn)?)))
        .await?;
    let view = view.ok_or_else(|| ApiError::NotFound(format!("没有名为“{name}”的频道")))?;
    let names: BTreeMap<i64, String> = blocks.iter().map(|b| (b.id, b.name.clone())).collect();
    let fallback_title = view
        .channel
        .fallback
        .and_then(|b| names.get(&b).cloned())
        .unwrap_or_else(|| epg::DEFAULT_TITLE.to_owned());
    let mut days: Vec<minijinja::Value> = Vec::new();
    for d in 0..7 {
        let date = monday + Duration::days(d);
        let (start, end) = (
            date.and_time(NaiveTime::MIN),
            (date + Duration::days(1)).and_time(NaiveTime::MIN),
        );
        let slots: Vec<minijinja::Value> = view
            .segments
            .iter()
            .filter(|s| s.start < end && s.end > start)
            .map(|s| {
                let (title, entry, fallback) = match s.source {
                    timeline::Source::Block { block, entry, .. } => (
                        names.get(&block).cloned().unwrap_or_default(),
                        Some(entry),
                        false,
                    ),
                    timeline::Source::Fallback => (fallback_title.clone(), None, true),
                };
                let (a, b) = (s.start.max(start), s.end.min(end));
                minijinja::context! {
                    from => a.format("%H:%M").to_string(),
                    to => if b == end { "24:00".to_owned() } else { b.format("%H:%M").to_string() },
                    title, entry, fallback, hard => s.hard,
                }
            })
            .collect();
        days.push(minijinja::context! {
            date => date.to_string(),
            label => format!("{}月{}日 星期{}", date.month(), date.day(), crate::content::WEEKDAYS[d as usize]),
            today => date == crate::content::county_today(),
            slots,
        });
    }
    let conflicts: Vec<minijinja::Value> = view
        .conflicts
        .iter()
        .map(|c| minijinja::context! { a => c.a, b => c.b, from => c.start.format("%m-%d %H:%M").to_string(), to => c.end.format("%m-%d %H:%M").to_string() })
        .collect();
    let editing = match q.edit {
        Some(id) => Some(
            view.entries
                .iter()
                .find(|e| e.id == id)
                .ok_or_else(|| ApiError::NotFound(format!("没有编号为{id}的编排")))?,
        ),
        None => None,
    };
    let form = match (&typed, editing) {
        (None, Some(e)) => minijinja::context! {
            block => e.form.block.to_string(), start => e.form.start.strip_suffix(":00").filter(|t| t.len() == 5).unwrap_or(&e.form.start), minutes => e.form.minutes.to_string(),
            repeat => e.form.repeat, weekdays => e.form.weekdays.iter().map(u8::to_string).collect::<Vec<_>>(),
            from => e.form.from, until => e.form.until.clone().unwrap_or_default(), except => e.form.except.join(","),
            hard => e.form.hard, priority => e.form.priority.to_string(),
        },
        (Some(p), _) => minijinja::context! {
            block => field(p, "block"), start => field(p, "start"), minutes => field(p, "minutes"),
            repeat => field(p, "repeat"), weekdays => fields(p, "weekdays").map(str::to_owned).collect::<Vec<_>>(),
            from => field(p, "from"), until => field(p, "until"), except => field(p, "except"),
            hard => field(p, "hard") == "1", priority => field(p, "priority"),
        },
        (None, None) => minijinja::context! {
            block => "", start => "08:00", minutes => "60", repeat => "daily", weekdays => Vec::<String>::new(),
            from => crate::content::county_today().to_string(), until => "", except => "", hard => false, priority => "0",
        },
    };
    let (errors, by_field) = form_errors(&errors);
    let html = page(
        "schedule.html",
        Some(staff),
        "channels",
        minijinja::context! {
            channel => view.channel, entries => view.entries, days, conflicts, blocks, form, errors, by_field,
            prev => (monday - Duration::days(7)).to_string(), next => (monday + Duration::days(7)).to_string(),
            week => monday.to_string(), may_edit => may_edit(staff), editing => editing.map(|e| e.id),
            weekday_names => crate::content::WEEKDAYS,
        },
    )?;
    Ok((status, html).into_response())
}

/// A number typed into a form (full-width digits and minus, as a Chinese input method
/// types them, read as ASCII); `Err` when it is not one, so the check refuses it rather
/// than taking a default.
fn number<T: std::str::FromStr>(text: &str) -> Result<T, ()> {
    let ascii: String = text
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            '－' | '−' => '-',
            c => c,
        })
        .collect();
    ascii.parse().map_err(|_| ())
}

/// A number field, or `invalid` (out of every accepted range) when it is filled in with
/// something that is not a number; `empty` when it is left empty.
fn number_or<T: std::str::FromStr + Copy>(text: &str, empty: T, invalid: T) -> T {
    if text.trim().is_empty() {
        empty
    } else {
        number(text).unwrap_or(invalid)
    }
}

fn entry_form(p: &Pairs) -> edit::EntryForm {
    edit::EntryForm {
        block: field(p, "block").parse().unwrap_or(0),
        start: field(p, "start").to_owned(),
        minutes: number_or(field(p, "minutes"), 0, 0),
        repeat: field(p, "repeat").to_owned(),
        weekdays: fields(p, "weekdays")
            .filter_map(|d| d.parse().ok())
            .collect(),
        from: field(p, "from").to_owned(),
        until: Some(field(p, "until").to_owned()).filter(|s| !s.trim().is_empty()),
        except: field(p, "except")
            .split(|c: char| c == ',' || c == '，' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        hard: field(p, "hard") == "1",
        priority: number_or(field(p, "priority"), 0, i32::MAX),
    }
}

/// `POST /admin/channels/{name}/schedule`.
pub async fn add_entry(
    State(state): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    save_entry(state, staff, name, None, pairs).await
}

/// `POST /admin/channels/{name}/schedule/{id}`: saves an edited entry.
pub async fn update_entry(
    State(state): State<AppState>,
    staff: Staff,
    Path((name, id)): Path<(String, i64)>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    save_entry(state, staff, name, Some(id), pairs).await
}

async fn save_entry(
    state: AppState,
    staff: Staff,
    name: String,
    id: Option<i64>,
    pairs: Pairs,
) -> Result<Response, PageError> {
    let form = entry_form(&pairs);
    let week = form.from.clone();
    let (user, n) = (staff.user.clone(), name.clone());
    let r = state
        .store
        .call(move |conn| {
            Ok(match id {
                None => edit::create_entry(conn, &user, &n, &form, Utc::now()).map(|_| ()),
                Some(id) => edit::update_entry(conn, &user, &n, id, &form, Utc::now()),
            })
        })
        .await?;
    match fields_or(r)? {
        Ok(()) => Ok(
            Redirect::to(&format!("/admin/channels/{name}/schedule?from={week}")).into_response(),
        ),
        Err(f) => {
            let q = GridQuery {
                from: Some(week).filter(|w| {
                    api::range(&RangeQuery {
                        from: Some(w.clone()),
                        days: None,
                    })
                    .is_ok()
                }),
                edit: id,
            };
            grid(
                &state,
                &staff,
                &name,
                &q,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(pairs),
                f,
            )
            .await
        }
    }
}

/// `POST /admin/channels/{name}/schedule/{id}/delete`.
pub async fn delete_entry(
    State(state): State<AppState>,
    staff: Staff,
    Path((name, id)): Path<(String, i64)>,
) -> Result<Response, PageError> {
    let (user, n) = (staff.user.clone(), name.clone());
    state
        .store
        .call(move |conn| Ok(edit::delete_entry(conn, &user, &n, id, Utc::now())))
        .await??;
    Ok(Redirect::to(&format!("/admin/channels/{name}/schedule")).into_response())
}

/// `GET /admin/channels/{name}/epg?at=`: the guide and what airs at a moment.
pub async fn epg_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
    Query(q): Query<AtQuery>,
) -> Result<Response, PageError> {
    let (info, programmes) = api::guide(&state, &name, 7).await.map_err(staff_api)?;
    let at = api::moment(&q)?;
    let on_air = api::on_air_json_value(&state, &name, &q)
        .await
        .map_err(staff_api)?;
    let rows: Vec<minijinja::Value> = programmes
        .iter()
        .map(|p| {
            minijinja::context! {
                day => p.start.format("%m-%d").to_string(),
                from => p.start.format("%H:%M").to_string(),
                to => p.stop.format("%H:%M").to_string(),
                title => p.title, desc => p.desc, kind => p.kind,
            }
        })
        .collect();
    let at_text = at.format("%Y-%m-%dT%H:%M").to_string();
    let html = page(
        "epg.html",
        Some(&staff),
        "channels",
        minijinja::context! {
            channel => info, programmes => rows, at => at_text, on_air,
            image => format!("/api/v1/channels/{name}/on-air.png?at={}", at.format("%Y-%m-%dT%H:%M:%S")),
        },
    )?;
    Ok(html.into_response())
}

fn staff_api(e: crate::web::api::StaffApiError) -> PageError {
    match e {
        crate::web::api::StaffApiError::Api(a) => PageError::Api(a),
        crate::web::api::StaffApiError::Fields(f) => PageError::Api(ApiError::BadRequest(
            f.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join("；"),
        )),
    }
}

/// `GET /admin/blocks`.
pub async fn blocks(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    let list = state.store.call(|conn| block::all(conn)).await?;
    let rows: Vec<minijinja::Value> = list
        .iter()
        .map(|b| {
            minijinja::context! {
                id => b.id, name => b.name, description => b.description,
                items => b.items.iter().map(block::BlockItem::describe).collect::<Vec<_>>(),
                updated_by => b.updated_by, updated_at => b.updated_at.get(..10).unwrap_or(""),
            }
        })
        .collect();
    let html = page(
        "blocks.html",
        Some(&staff),
        "blocks",
        minijinja::context! { blocks => rows, may_edit => may_edit(&staff) },
    )?;
    Ok(html.into_response())
}

fn block_rows(items: &[block::BlockItem]) -> Vec<minijinja::Value> {
    (0..BLOCK_ROWS)
        .map(|i| match items.get(i) {
            Some(it) => minijinja::context! { n => i + 1, selector => it.selector, arg => it.arg, count => if it.count == 0 { String::new() } else { it.count.to_string() }, dwell => it.dwell },
            None => minijinja::context! { n => i + 1, selector => "", arg => "", count => "", dwell => 10 },
        })
        .collect()
}

async fn block_page(
    staff: &Staff,
    status: StatusCode,
    id: Option<i64>,
    form: &edit::BlockForm,
    errors: edit::Fields,
) -> Result<Response, PageError> {
    let (errors, by_field) = form_errors(&errors);
    let selectors: Vec<minijinja::Value> = block::SELECTORS
        .iter()
        .map(|(k, name, arg)| minijinja::context! { key => k, name, arg })
        .collect();
    let html = page(
        "block.html",
        Some(staff),
        "blocks",
        minijinja::context! {
            id, name => form.name, description => form.description, rows => block_rows(&form.items),
            selectors, errors, by_field, may_edit => may_edit(staff),
        },
    )?;
    Ok((status, html).into_response())
}

/// `GET /admin/blocks/new`.
pub async fn new_block(staff: Staff) -> Result<Response, PageError> {
    let form = edit::BlockForm {
        items: vec![block::BlockItem {
            selector: "notices".into(),
            arg: String::new(),
            count: 10,
            dwell: 10,
        }],
        ..Default::default()
    };
    block_page(&staff, StatusCode::OK, None, &form, Vec::new()).await
}

/// `GET /admin/blocks/{id}`.
pub async fn show_block(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let b = state
        .store
        .call(move |conn| block::get(conn, id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("没有编号为{id}的节目块")))?;
    let form = edit::BlockForm {
        name: b.name,
        description: b.description,
        items: b.items,
    };
    block_page(&staff, StatusCode::OK, Some(id), &form, Vec::new()).await
}

fn block_form(p: &Pairs) -> edit::BlockForm {
    let items = (1..=BLOCK_ROWS)
        .filter_map(|i| {
            let selector = field(p, &format!("selector_{i}")).trim().to_owned();
            if selector.is_empty() {
                return None;
            }
            Some(block::BlockItem {
                selector,
                arg: field(p, &format!("arg_{i}")).trim().to_owned(),
                count: number_or(field(p, &format!("count_{i}")), 0, u32::MAX),
                dwell: number_or(field(p, &format!("dwell_{i}")), 0, 0),
            })
        })
        .collect();
    edit::BlockForm {
        name: field(p, "name").to_owned(),
        description: field(p, "description").to_owned(),
        items,
    }
}

/// `POST /admin/blocks` (new) and `POST /admin/blocks/{id}` (save).
async fn save_block(
    state: AppState,
    staff: Staff,
    id: Option<i64>,
    pairs: Pairs,
) -> Result<Response, PageError> {
    let form = block_form(&pairs);
    let (user, f) = (staff.user.clone(), form.clone());
    let r = state
        .store
        .call(move |conn| {
            Ok(match id {
                Some(id) => edit::update_block(conn, &user, id, &f, Utc::now()).map(|()| id),
                None => edit::create_block(conn, &user, &f, Utc::now()),
            })
        })
        .await?;
    match fields_or(r)? {
        Ok(id) => Ok(Redirect::to(&format!("/admin/blocks/{id}")).into_response()),
        Err(errors) => {
            block_page(&staff, StatusCode::UNPROCESSABLE_ENTITY, id, &form, errors).await
        }
    }
}

/// `POST /admin/blocks`.
pub async fn create_block(
    State(state): State<AppState>,
    staff: Staff,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    save_block(state, staff, None, pairs).await
}

/// `POST /admin/blocks/{id}`.
pub async fn update_block(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    save_block(state, staff, Some(id), pairs).await
}

/// `POST /admin/blocks/{id}/delete`.
pub async fn delete_block(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let user = staff.user.clone();
    state
        .store
        .call(move |conn| Ok(edit::delete_block(conn, &user, id, Utc::now())))
        .await??;
    Ok(Redirect::to("/admin/blocks").into_response())
}

/// `GET /admin/overrides`.
pub async fn overrides(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    overrides_page(&state, &staff, StatusCode::OK, None, Vec::new()).await
}

async fn overrides_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    typed: Option<&Pairs>,
    errors: edit::Fields,
) -> Result<Response, PageError> {
    let today = crate::content::county_today().to_string();
    let (list, channels, notices) = state
        .store
        .call(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT id, title FROM notices WHERE status = 'published'
                   AND (valid_until IS NULL OR valid_until >= ?1)
                 ORDER BY priority = 'urgent' DESC, COALESCE(published_at, valid_from) DESC, id DESC LIMIT 200",
            )?;
            let notices: Vec<(i64, String)> = stmt
                .query_map([today], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok((urgent::all(conn)?, schedule::channels(conn)?, notices))
        })
        .await?;
    let now = Utc::now();
    let rows: Vec<minijinja::Value> = list
        .iter()
        .map(|o| {
            let state_text = o.state(now);
            minijinja::context! {
                id => o.id, notice_id => o.notice_id, title => o.notice_title, channels => o.channels.join("、"),
                from => o.starts_at.format("%Y-%m-%d %H:%M").to_string(), to => o.ends_at.format("%Y-%m-%d %H:%M").to_string(),
                form => o.form.label(), requested_by => o.requested_by, approved_by => o.approved_by, cancelled_by => o.cancelled_by,
                state => state_text,
                may_approve => state_text == "待批准" && o.requested_by != staff.user.name,
                may_cancel => matches!(state_text, "待批准" | "已批准（未开始）" | "播出中"),
            }
        })
        .collect();
    let soon = (now + Duration::minutes(10)).with_timezone(&crate::content::county_offset());
    let later = soon + Duration::hours(1);
    let form = match typed {
        Some(p) => minijinja::context! {
            notice_id => field(p, "notice_id"), channels => fields(p, "channels").map(str::to_owned).collect::<Vec<_>>(),
            starts_at => field(p, "starts_at"), ends_at => field(p, "ends_at"), form => field(p, "form"),
        },
        None => minijinja::context! {
            notice_id => "", channels => vec!["county".to_owned()],
            starts_at => soon.format("%Y-%m-%dT%H:%M").to_string(), ends_at => later.format("%Y-%m-%dT%H:%M").to_string(), form => "full",
        },
    };
    let (errors, by_field) = form_errors(&errors);
    let html = page(
        "overrides.html",
        Some(staff),
        "overrides",
        minijinja::context! {
            overrides => rows, channels, notices, form, errors, by_field,
            may_edit => urgent::may_override(&staff.user), max_hours => urgent::MAX_HOURS,
        },
    )?;
    Ok((status, html).into_response())
}

/// `POST /admin/overrides`.
pub async fn request_override(
    State(state): State<AppState>,
    staff: Staff,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    let form = urgent::OverrideForm {
        notice_id: field(&pairs, "notice_id").parse().unwrap_or(0),
        channels: fields(&pairs, "channels").map(str::to_owned).collect(),
        starts_at: field(&pairs, "starts_at").to_owned(),
        ends_at: field(&pairs, "ends_at").to_owned(),
        form: field(&pairs, "form").to_owned(),
    };
    let user = staff.user.clone();
    let r = state
        .store
        .call(move |conn| Ok(urgent::request(conn, &user, &form, Utc::now())))
        .await?;
    match fields_or(r)? {
        Ok(_) => Ok(Redirect::to("/admin/overrides").into_response()),
        Err(f) => {
            overrides_page(
                &state,
                &staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&pairs),
                f,
            )
            .await
        }
    }
}

/// `POST /admin/overrides/{id}/{action}`: `approve` or `cancel`.
pub async fn override_action(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, action)): Path<(i64, String)>,
) -> Result<Response, PageError> {
    let user = staff.user.clone();
    let now = Utc::now();
    let r = match action.as_str() {
        "approve" => {
            state
                .store
                .call(move |conn| Ok(urgent::approve(conn, &user, id, now)))
                .await?
        }
        "cancel" => {
            state
                .store
                .call(move |conn| Ok(urgent::cancel(conn, &user, id, now)))
                .await?
        }
        _ => return Err(PageError::Api(ApiError::NotFound("没有这个操作".into()))),
    };
    r?;
    Ok(Redirect::to("/admin/overrides").into_response())
}
