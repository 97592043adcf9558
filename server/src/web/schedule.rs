//! The scheduling JSON API: channels, programme blocks (with a thumbnail strip), the
//! schedule, urgent overrides, what airs at a moment (rendered), and the programme guide
//! (XMLTV for the cable operator, JSON for the admin pages). Who may call what is in
//! [`super::access`]; the domain checks are in `crate::schedule`.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::access::Caller;
use super::api::{call, read, read_body, ApiResult, StaffApiError};
use super::{ApiError, AppState};
use crate::playout::Item;
use crate::render::{OnAir, Profile, RenderError, Screen, ScreenContext};
use crate::schedule::{self, airing, block, edit, epg, timeline, urgent, ChannelInfo};

/// Thumbnails in a block's strip at most.
pub const STRIP_SCREENS: usize = 8;
/// Width of one thumbnail in the strip, pixels.
pub const THUMB_WIDTH: u32 = 240;

fn county_now() -> DateTime<FixedOffset> {
    Utc::now().with_timezone(&crate::content::county_offset())
}

fn not_found_channel(name: &str) -> StaffApiError {
    StaffApiError::Api(ApiError::NotFound(format!("没有名为“{name}”的频道")))
}

async fn channel_info(state: &AppState, name: &str) -> Result<ChannelInfo, StaffApiError> {
    let n = name.to_owned();
    read(state, move |conn| schedule::channel(conn, &n))
        .await?
        .ok_or_else(|| not_found_channel(name))
}

/// `GET /api/v1/channels`.
pub async fn channels(State(state): State<AppState>) -> ApiResult {
    let list = read(&state, schedule::channels).await?;
    Ok(Json(json!({ "channels": list })).into_response())
}

/// `PUT /api/v1/channels/{name}`.
pub async fn update_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    b: axum::body::Body,
) -> ApiResult {
    let form: edit::ChannelForm = read_body(b).await?;
    let n = name.clone();
    call(&state, move |conn| {
        edit::update_channel(conn, &caller.user, &n, &form, Utc::now())
    })
    .await?;
    let info = channel_info(&state, &name).await?;
    Ok(Json(json!(info)).into_response())
}

/// Refuses to edit the outputs of a channel set up in the config (the config wins).
pub fn outputs_editable(state: &AppState, name: &str) -> Result<(), StaffApiError> {
    match &state.planner {
        Some(p) if p.configured(name) => Err(StaffApiError::Api(ApiError::Conflict(
            "这个频道的输出由配置文件中的 [[channels]] 设定，请修改配置文件后重启 headend".into(),
        ))),
        _ => Ok(()),
    }
}

/// Airs channel `name` as the store now says: its lanes stop and start again with the
/// new outputs (the other channels go on). Whether it is on air afterwards; `false` too
/// when playout has not started (it reads the store when it does).
pub async fn air_outputs(state: &AppState, name: &str) -> Result<bool, StaffApiError> {
    let (Some(planner), Some(_)) = (state.planner.clone(), state.playout.get()) else {
        return Ok(false);
    };
    let (slot, n) = (std::sync::Arc::clone(&state.playout), name.to_owned());
    let aired = tokio::task::spawn_blocking(move || {
        let playout = slot.get().ok_or(crate::playout::PlayoutError::NoChannels)?;
        let plan = planner.plan(&n)?;
        let on_air = plan.is_some();
        playout.replace(&n, plan).map(|()| on_air)
    })
    .await
    .map_err(|e| ApiError::Unavailable(format!("restarting channel {name}: {e}")))?;
    aired.map_err(|e| {
        tracing::error!(channel = %name, error = %super::error_chain(&e), "channel did not restart with its new outputs");
        StaffApiError::Api(ApiError::Unavailable(format!(
            "输出设置已保存，但频道未能按新设置开始播出：{e}"
        )))
    })
}

/// `PUT /api/v1/channels/{name}/outputs`: replaces the outputs set by operators and
/// restarts the channel's outputs with them.
pub async fn put_outputs(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    b: axum::body::Body,
) -> ApiResult {
    let outputs: Vec<crate::playout::OutputSpec> = read_body(b).await?;
    outputs_editable(&state, &name)?;
    let n = name.clone();
    call(&state, move |conn| {
        edit::set_outputs(conn, &caller.user, &n, &outputs, Utc::now())
    })
    .await?;
    let on_air = air_outputs(&state, &name).await?;
    let info = channel_info(&state, &name).await?;
    Ok(Json(json!({ "channel": info, "on_air": on_air })).into_response())
}

/// Days of a schedule view.
#[derive(Debug, Default, Deserialize)]
pub struct RangeQuery {
    /// First date (`YYYY-MM-DD`), default today.
    #[serde(default)]
    pub from: Option<String>,
    /// Days, default 7, at most 14.
    #[serde(default)]
    pub days: Option<u32>,
}

/// The first date and days of a range query (Chinese message when malformed).
pub fn range(q: &RangeQuery) -> Result<(NaiveDate, u32), ApiError> {
    let from = match q.from.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => crate::content::county_today(),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .filter(|d| edit::YEARS.contains(&chrono::Datelike::year(d)))
            .ok_or_else(|| {
                ApiError::BadRequest(format!("日期“{s}”格式不正确（例如 2026-12-07）"))
            })?,
    };
    let days = q.days.unwrap_or(7);
    if !(1..=epg::MAX_DAYS).contains(&days) {
        return Err(ApiError::BadRequest(format!(
            "天数须在1到{}之间",
            epg::MAX_DAYS
        )));
    }
    Ok((from, days))
}

/// A channel's schedule over a range: entries, segments and conflicts.
#[derive(Debug, serde::Serialize)]
pub struct ScheduleView {
    /// The channel.
    pub channel: ChannelInfo,
    /// Its entries.
    pub entries: Vec<edit::EntryView>,
    /// Segments over the range.
    pub segments: Vec<timeline::Segment>,
    /// Conflicts over the range.
    pub conflicts: Vec<timeline::Conflict>,
}

/// Reads the schedule view of `name` (None: no such channel).
pub fn schedule_view(
    conn: &rusqlite::Connection,
    name: &str,
    from: NaiveDate,
    days: u32,
) -> Result<Option<ScheduleView>, crate::store::StoreError> {
    let Some(channel) = schedule::channel(conn, name)? else {
        return Ok(None);
    };
    let start = from.and_time(NaiveTime::MIN);
    let end = start + Duration::days(i64::from(days));
    let entries = airing::entries_of(conn, name)?;
    Ok(Some(ScheduleView {
        segments: timeline::resolve(&entries, start, end),
        conflicts: timeline::conflicts(&entries, start, end),
        entries: edit::entry_views(conn, name)?,
        channel,
    }))
}

/// `GET /api/v1/channels/{name}/schedule?from=&days=`.
pub async fn schedule(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<RangeQuery>,
) -> ApiResult {
    let (from, days) = range(&q)?;
    let n = name.clone();
    let view = read(&state, move |conn| schedule_view(conn, &n, from, days))
        .await?
        .ok_or_else(|| not_found_channel(&name))?;
    Ok(Json(json!(view)).into_response())
}

/// `POST /api/v1/channels/{name}/schedule`.
pub async fn create_entry(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    b: axum::body::Body,
) -> ApiResult {
    let form: edit::EntryForm = read_body(b).await?;
    let id = call(&state, move |conn| {
        edit::create_entry(conn, &caller.user, &name, &form, Utc::now())
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

/// `PUT /api/v1/channels/{name}/schedule/{id}`.
pub async fn update_entry(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, id)): Path<(String, i64)>,
    b: axum::body::Body,
) -> ApiResult {
    let form: edit::EntryForm = read_body(b).await?;
    call(&state, move |conn| {
        edit::update_entry(conn, &caller.user, &name, id, &form, Utc::now())
    })
    .await?;
    Ok(Json(json!({ "id": id })).into_response())
}

/// `DELETE /api/v1/channels/{name}/schedule/{id}`.
pub async fn delete_entry(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, id)): Path<(String, i64)>,
) -> ApiResult {
    call(&state, move |conn| {
        edit::delete_entry(conn, &caller.user, &name, id, Utc::now())
    })
    .await?;
    Ok(Json(json!({ "id": id, "deleted": true })).into_response())
}

/// Public guides already written: (channel, days) → (store change count, date, XMLTV).
/// A guide only changes with the store or the date, so repeated loads by the cable
/// operator (the endpoint is public) cost the store nothing.
#[derive(Debug)]
pub struct GuideCache {
    map: std::sync::Mutex<GuideMap>,
    /// How long a guide is served after the store changed before it is written again
    /// (any write changes the store: box reports, votes, sessions), so anonymous loads
    /// cannot keep the store's thread busy.
    max_stale: std::time::Duration,
}

impl Default for GuideCache {
    fn default() -> Self {
        GuideCache::with_max_stale(std::time::Duration::from_secs(30))
    }
}

impl GuideCache {
    /// A cache serving a guide up to `max_stale` after the store changed.
    pub fn with_max_stale(max_stale: std::time::Duration) -> GuideCache {
        GuideCache {
            map: std::sync::Mutex::default(),
            max_stale,
        }
    }
}

type GuideMap = std::collections::HashMap<
    (String, u32),
    (u64, NaiveDate, std::time::Instant, std::sync::Arc<String>),
>;

/// Channels × day counts a guide cache keeps at most.
const GUIDE_CACHE_ENTRIES: usize = 256;

/// `GET /api/v1/channels/{name}/epg.xml?days=` (public: the cable operator loads it).
pub async fn epg_xml(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<RangeQuery>,
) -> ApiResult {
    let (_, days) = range(&q)?;
    let version = state
        .store
        .changes()
        .load(std::sync::atomic::Ordering::Acquire);
    let today = crate::content::county_today();
    let key = (name.clone(), days);
    let max_stale = state.guides.max_stale;
    let cached = state
        .guides
        .map
        .lock()
        .ok()
        .and_then(|m| m.get(&key).cloned())
        .filter(|(v, d, at, _)| *d == today && (*v == version || at.elapsed() < max_stale))
        .map(|(_, _, _, xml)| xml);
    let xml = match cached {
        Some(xml) => xml,
        None => {
            let (info, programmes) = guide(&state, &name, days).await?;
            let xml = std::sync::Arc::new(epg::xmltv(&info, &programmes));
            if let Ok(mut m) = state.guides.map.lock() {
                if m.len() >= GUIDE_CACHE_ENTRIES {
                    m.clear();
                }
                m.insert(
                    key,
                    (
                        version,
                        today,
                        std::time::Instant::now(),
                        std::sync::Arc::clone(&xml),
                    ),
                );
            }
            xml
        }
    };
    Ok((
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        (*xml).clone(),
    )
        .into_response())
}

/// `GET /api/v1/channels/{name}/epg?days=`.
pub async fn epg_json(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<RangeQuery>,
) -> ApiResult {
    let (_, days) = range(&q)?;
    let (info, programmes) = guide(&state, &name, days).await?;
    Ok(Json(epg::json(&info, &programmes)).into_response())
}

/// The guide of `name` for `days` from today.
pub async fn guide(
    state: &AppState,
    name: &str,
    days: u32,
) -> Result<(ChannelInfo, Vec<epg::Programme>), StaffApiError> {
    let n = name.to_owned();
    let today = crate::content::county_today();
    call(state, move |conn| {
        let Some(info) = schedule::channel(conn, &n)? else {
            return Ok(None);
        };
        let programmes = epg::guide(conn, &info, today, days)?;
        Ok::<_, crate::store::StoreError>(Some((info, programmes)))
    })
    .await?
    .ok_or_else(|| not_found_channel(name))
}

/// A moment and a picture profile.
#[derive(Debug, Default, Deserialize)]
pub struct AtQuery {
    /// County time (`2026-12-07T08:30`) or RFC 3339; default now.
    #[serde(default)]
    pub at: Option<String>,
    /// `sd` (default), `hd720`, `hd1080`.
    #[serde(default)]
    pub profile: Option<String>,
}

/// The moment of an `at` query (Chinese message when malformed).
pub fn moment(q: &AtQuery) -> Result<DateTime<FixedOffset>, ApiError> {
    match q.at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(county_now()),
        Some(s) => urgent::parse_time(s)
            .filter(|t| edit::YEARS.contains(&chrono::Datelike::year(t)))
            .ok_or_else(|| {
                ApiError::BadRequest(format!("时间“{s}”格式不正确（例如 2026-12-07T08:30）"))
            }),
    }
}

fn profile(q: &AtQuery) -> Result<Profile, ApiError> {
    match q.profile.as_deref() {
        None | Some("") => Ok(Profile::Sd),
        Some(p) => Profile::parse(p).ok_or_else(|| {
            ApiError::BadRequest(format!("不支持的画面规格“{p}”，可选 sd、hd720、hd1080"))
        }),
    }
}

/// What a channel airs at a moment, as planned, with the screen and page then.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OnAirView {
    /// The moment.
    pub at: DateTime<FixedOffset>,
    /// The segment.
    pub segment: Option<timeline::Segment>,
    /// Block name, 紧急插播 or the fallback's title.
    pub title: String,
    /// Key of the screen up then (`notice:12`), if anything airs.
    pub item: Option<String>,
    /// Its headline.
    pub headline: Option<String>,
    /// Page up then, and pages.
    pub page: u32,
    /// Pages of the screen.
    pub pages: u32,
    /// The alert band's title, when a band is up.
    pub band: Option<String>,
    /// Screens in the program then.
    pub screens: usize,
    #[serde(skip)]
    screen: Option<(Screen, ScreenContext)>,
}

/// Works out what `channel` airs at `at` in `profile` (blocking: lays out screens).
fn on_air(
    state: &AppState,
    info: &ChannelInfo,
    planned: airing::Planned,
    at: DateTime<FixedOffset>,
    profile: Profile,
) -> Result<OnAirView, ApiError> {
    let screens = state.screens()?;
    let program = planned.program;
    let mut items: Vec<Item> = Vec::new();
    if program.summary {
        let heads = program
            .items
            .iter()
            .take(6)
            .map(|i| i.screen.headline())
            .collect();
        items.push(Item::always(
            crate::playout::cycle::SUMMARY_KEY,
            crate::playout::cycle::summary_screen(&info.title, at, heads),
        ));
    }
    items.extend(program.items.iter().cloned());
    let band = program.urgent.as_ref().map(|u| u.alert.clone());
    let context_of = |i: usize| {
        ScreenContext::Broadcast(OnAir {
            channel: info.title.clone(),
            next: items
                .get(i + 1)
                .or(items.first())
                .map(|n| n.screen.headline()),
            alert: band.clone(),
        })
    };
    let layouts: Vec<usize> = screens.with_renderer(|r| {
        items
            .iter()
            .enumerate()
            .map(|(i, it)| {
                r.layout_in(&it.screen, profile, &context_of(i))
                    .len()
                    .max(1)
            })
            .collect()
    });
    let times: Vec<Vec<u64>> = items
        .iter()
        .zip(&layouts)
        .map(|(it, pages)| vec![u64::from(it.dwell.unwrap_or(epg::DEFAULT_DWELL)); *pages])
        .collect();
    let position = airing::position(&times, planned.elapsed);
    let (item, page, pages, screen) = match position {
        Some((i, p)) => (
            Some(items[i].key.clone()),
            p,
            layouts.get(i).copied().unwrap_or(1) as u32,
            Some(((*items[i].screen).clone(), context_of(i))),
        ),
        None => (None, 1, 1, None),
    };
    Ok(OnAirView {
        at,
        segment: planned.segment,
        title: planned.title,
        headline: screen.as_ref().map(|(s, _)| s.headline()),
        item,
        page,
        pages,
        band: band.map(|b| b.title),
        screens: program.items.len(),
        screen,
    })
}

async fn on_air_view(
    state: &AppState,
    name: &str,
    q: &AtQuery,
) -> Result<OnAirView, StaffApiError> {
    let at = moment(q)?;
    let profile = profile(q)?;
    let info = channel_info(state, name).await?;
    let i = info.clone();
    let planned = read(state, move |conn| airing::planned_at(conn, &i, at)).await?;
    let st = state.clone();
    tokio::task::spawn_blocking(move || on_air(&st, &info, planned, at, profile))
        .await
        .map_err(|e| ApiError::Unavailable(format!("on-air task failed: {e}")))?
        .map_err(StaffApiError::Api)
}

/// What airs on `name` at the query's moment, as JSON (for the admin pages).
pub async fn on_air_json_value(
    state: &AppState,
    name: &str,
    q: &AtQuery,
) -> Result<serde_json::Value, StaffApiError> {
    Ok(json!(on_air_view(state, name, q).await?))
}

/// `GET /api/v1/channels/{name}/on-air?at=`.
pub async fn on_air_json(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<AtQuery>,
) -> ApiResult {
    let view = on_air_view(&state, &name, &q).await?;
    Ok(Json(json!(view)).into_response())
}

/// `GET /api/v1/channels/{name}/on-air.png?at=&profile=`: the screen up then, as it airs.
pub async fn on_air_png(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<AtQuery>,
) -> ApiResult {
    let profile = profile(&q)?;
    let view = on_air_view(&state, &name, &q).await?;
    let Some((screen, context)) = view.screen.clone() else {
        return Err(StaffApiError::Api(ApiError::NotFound(
            "这一时刻没有可播出的画面".into(),
        )));
    };
    let page = view.page;
    let st = state.clone();
    let png = tokio::task::spawn_blocking(move || {
        st.screens()?
            .with_renderer(|r| {
                let pages = r.layout_in(&screen, profile, &context);
                let count = pages.len() as u32;
                let layout = pages
                    .get((page as usize).saturating_sub(1))
                    .ok_or(RenderError::NoSuchPage { page, pages: count })?;
                // With the alert band up: its first strip, as the page opens on air.
                let layout = if layout.strips > 0 {
                    layout.with_strip(1)
                } else {
                    layout.clone()
                };
                let pixmap = r.raster(&layout).ok_or(RenderError::Canvas {
                    width: layout.width,
                    height: layout.height,
                })?;
                Ok(crate::render::raster::encode_png(&pixmap)?)
            })
            .map_err(ApiError::Render)
    })
    .await
    .map_err(|e| ApiError::Unavailable(format!("render task failed: {e}")))??;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}

/// `GET /api/v1/blocks`.
pub async fn blocks(State(state): State<AppState>) -> ApiResult {
    let list = read(&state, block::all).await?;
    Ok(Json(json!({ "blocks": list, "selectors": block::SELECTORS.iter().map(|s| json!({"selector": s.0, "name": s.1, "arg": s.2})).collect::<Vec<_>>() })).into_response())
}

/// `GET /api/v1/blocks/{id}`: the block with what it selects now (county-wide).
pub async fn block(State(state): State<AppState>, Path(id): Path<i64>) -> ApiResult {
    let today = crate::content::county_today();
    let found = call(&state, move |conn| {
        let Some(b) = block::get(conn, id)? else {
            return Ok(None);
        };
        let region = crate::pages::county_code(conn)?;
        let screens: Vec<serde_json::Value> = block::screens(conn, &b.items, &region, today)?
            .iter()
            .map(|i| json!({ "key": i.key, "headline": i.screen.headline(), "dwell": i.dwell }))
            .collect();
        Ok::<_, crate::store::StoreError>(Some(json!({ "block": b, "screens": screens })))
    })
    .await?
    .ok_or_else(|| StaffApiError::Api(ApiError::NotFound(format!("没有编号为{id}的节目块"))))?;
    Ok(Json(found).into_response())
}

/// `POST /api/v1/blocks`.
pub async fn create_block(
    State(state): State<AppState>,
    caller: Caller,
    b: axum::body::Body,
) -> ApiResult {
    let form: edit::BlockForm = read_body(b).await?;
    let id = call(&state, move |conn| {
        edit::create_block(conn, &caller.user, &form, Utc::now())
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

/// `PUT /api/v1/blocks/{id}`.
pub async fn update_block(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    b: axum::body::Body,
) -> ApiResult {
    let form: edit::BlockForm = read_body(b).await?;
    call(&state, move |conn| {
        edit::update_block(conn, &caller.user, id, &form, Utc::now())
    })
    .await?;
    Ok(Json(json!({ "id": id })).into_response())
}

/// `DELETE /api/v1/blocks/{id}`.
pub async fn delete_block(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult {
    call(&state, move |conn| {
        edit::delete_block(conn, &caller.user, id, Utc::now())
    })
    .await?;
    Ok(Json(json!({ "id": id, "deleted": true })).into_response())
}

/// Draws the first page of each of `screens` (at most [`STRIP_SCREENS`]) in SD as
/// thumbnails side by side: the block preview.
pub fn strip(
    renderer: &mut crate::render::Renderer,
    screens: &[Screen],
) -> Result<Vec<u8>, RenderError> {
    let profile = Profile::Sd;
    let shown: Vec<&Screen> = screens.iter().take(STRIP_SCREENS).collect();
    let (w, h) = (profile.width(), profile.height());
    let scale = THUMB_WIDTH as f32 / w as f32;
    let th = ((h as f32) * scale).round() as u32;
    let gap = 8u32;
    let n = shown.len().max(1) as u32;
    let (width, height) = (n * THUMB_WIDTH + (n + 1) * gap, th + 2 * gap);
    let mut out =
        tiny_skia::Pixmap::new(width, height).ok_or(RenderError::Canvas { width, height })?;
    out.fill(tiny_skia::Color::from_rgba8(40, 40, 40, 255));
    for (i, screen) in shown.iter().enumerate() {
        let context = ScreenContext::Broadcast(OnAir {
            channel: String::new(),
            next: None,
            alert: None,
        });
        let (pix, _) = renderer.draw_page(screen, profile, &context, 1)?;
        let x = gap + i as u32 * (THUMB_WIDTH + gap);
        let transform =
            tiny_skia::Transform::from_row(scale, 0.0, 0.0, scale, x as f32, gap as f32);
        out.draw_pixmap(
            0,
            0,
            pix.as_ref(),
            &tiny_skia::PixmapPaint {
                quality: tiny_skia::FilterQuality::Bilinear,
                ..Default::default()
            },
            transform,
            None,
        );
    }
    Ok(crate::render::raster::encode_png(&out)?)
}

/// `GET /api/v1/blocks/{id}/strip.png`: thumbnails of what the block airs now.
pub async fn block_strip(State(state): State<AppState>, Path(id): Path<i64>) -> ApiResult {
    let today = crate::content::county_today();
    let screens = call(&state, move |conn| {
        if block::get(conn, id)?.is_none() {
            return Ok(None);
        }
        let region = crate::pages::county_code(conn)?;
        let items = block::screens(conn, &block::items_of(conn, id)?, &region, today)?;
        Ok::<_, crate::store::StoreError>(Some(
            items
                .iter()
                .map(|i| (*i.screen).clone())
                .collect::<Vec<Screen>>(),
        ))
    })
    .await?
    .ok_or_else(|| StaffApiError::Api(ApiError::NotFound(format!("没有编号为{id}的节目块"))))?;
    let st = state.clone();
    let png = tokio::task::spawn_blocking(move || {
        st.screens()?
            .with_renderer(|r| strip(r, &screens))
            .map_err(ApiError::Render)
    })
    .await
    .map_err(|e| ApiError::Unavailable(format!("strip task failed: {e}")))??;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}

/// An override with its state and when it actually aired.
pub fn override_json(o: &urgent::Override, now: DateTime<Utc>) -> serde_json::Value {
    json!({
        "override": o, "state": o.state(now), "form_label": o.form.label(),
    })
}

/// `GET /api/v1/overrides`.
pub async fn overrides(State(state): State<AppState>) -> ApiResult {
    let list = read(&state, urgent::all).await?;
    let now = Utc::now();
    Ok(
        Json(
            json!({ "overrides": list.iter().map(|o| override_json(o, now)).collect::<Vec<_>>() }),
        )
        .into_response(),
    )
}

/// `POST /api/v1/overrides`.
pub async fn create_override(
    State(state): State<AppState>,
    caller: Caller,
    b: axum::body::Body,
) -> ApiResult {
    let form: urgent::OverrideForm = read_body(b).await?;
    let id = call(&state, move |conn| {
        urgent::request(conn, &caller.user, &form, Utc::now())
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "state": "待批准" })),
    )
        .into_response())
}

/// `POST /api/v1/overrides/{id}/{action}`: `approve` or `cancel`.
pub async fn override_action(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action)): Path<(i64, String)>,
) -> ApiResult {
    let now = Utc::now();
    match action.as_str() {
        "approve" => {
            call(&state, move |conn| {
                urgent::approve(conn, &caller.user, id, now)
            })
            .await?
        }
        "cancel" => {
            call(&state, move |conn| {
                urgent::cancel(conn, &caller.user, id, now)
            })
            .await?
        }
        other => {
            return Err(StaffApiError::Api(ApiError::NotFound(format!(
                "没有“{other}”这个操作（可用 approve、cancel）"
            ))))
        }
    }
    let o = call(&state, move |conn| urgent::get(conn, id)).await?;
    Ok(Json(json!(o.map(|o| override_json(&o, now)))).into_response())
}
