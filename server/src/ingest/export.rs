//! Catalogue and case exports (CSV or JSON) to [`CatalogueItem`]s and [`CaseItem`]s.
//!
//! Platforms name their columns in Chinese, each a little differently; every field accepts
//! a short list of the headers seen in the wild (`索引号`, `发布机构`, `受理日期` …) and its
//! English stored name. A CSV is UTF-8 or GB18030, with or without a BOM, comma-, tab- or
//! semicolon-separated; a JSON export is an array of objects or an object holding one
//! (`{"data": {"list": [...]}}`). Values that cannot be understood reject the record with
//! the field named, never the whole export.

use std::collections::HashSet;

use chrono::NaiveDate;
use serde_json::Value;

use super::charset;
use super::feed::{clean_key, parse_date, ParseError, Parsed};
use super::html;
use super::lint::{self, Reason, Rejection};
use super::source::Format;
use crate::content::{ApplicantKind, CaseStatus, CatalogueKind, UpdateFrequency};

/// One record of an export: normalised header → value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// Where it is, for staff: `第N行` (CSV) or `第N条` (JSON).
    pub place: String,
    fields: Vec<(String, String)>,
}

impl Record {
    /// The first non-empty value under any of `names` (normalised header names).
    pub fn get(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| {
            self.fields
                .iter()
                .find(|(k, v)| k == n && !v.trim().is_empty())
                .map(|(_, v)| v.trim())
        })
    }
}

/// The records of an export and the (normalised) column names it has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Records {
    /// Column names: the CSV header, or every key of the JSON records.
    pub columns: Vec<String>,
    /// The records, empty rows skipped.
    pub records: Vec<Record>,
}

/// Header as compared with the alias lists: no whitespace, no required-markers, lower case.
fn normalise_header(h: &str) -> String {
    h.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '*' | '＊' | ':' | '：' | '\u{feff}'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Reads the records of a CSV or JSON export.
pub fn read_records(
    bytes: &[u8],
    http_charset: Option<&str>,
    format: Format,
) -> Result<Records, ParseError> {
    let text = charset::decode_text(bytes, http_charset)?;
    let text = text.trim_start_matches('\u{feff}');
    let json = match format {
        Format::Json => true,
        Format::Csv => false,
        _ => matches!(text.trim_start().chars().next(), Some('[' | '{')),
    };
    if json {
        read_json(text)
    } else {
        read_csv(text)
    }
}

fn read_csv(text: &str) -> Result<Records, ParseError> {
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = [b',', b'\t', b';']
        .into_iter()
        .max_by_key(|d| first_line.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader.headers()?.iter().map(normalise_header).collect();
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row?;
        if row.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        let line = row.position().map_or(i as u64 + 2, |p| p.line());
        out.push(Record {
            place: format!("第{line}行"),
            fields: headers
                .iter()
                .cloned()
                .zip(row.iter().map(str::to_owned))
                .collect(),
        });
    }
    Ok(Records {
        columns: headers,
        records: out,
    })
}

/// The list of records inside a JSON export.
fn find_list(value: &Value, depth: u32) -> Option<&Vec<Value>> {
    match value {
        Value::Array(items) if items.iter().all(Value::is_object) => Some(items),
        Value::Object(map) if depth < 4 => {
            const PREFERRED: &[&str] = &[
                "data", "list", "items", "rows", "records", "result", "results", "datas", "content",
            ];
            for key in PREFERRED {
                if let Some(found) = map.get(*key).and_then(|v| find_list(v, depth + 1)) {
                    return Some(found);
                }
            }
            map.values()
                .filter(|v| v.is_array() || v.is_object())
                .find_map(|v| find_list(v, depth + 1))
        }
        _ => None,
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null | Value::Object(_) => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(scalar)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("、"),
    }
}

fn read_json(text: &str) -> Result<Records, ParseError> {
    let value: Value = serde_json::from_str(text)?;
    let list = find_list(&value, 0).ok_or(ParseError::NoRecords)?;
    let records: Vec<Record> = list
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            let map = item.as_object()?;
            Some(Record {
                place: format!("第{}条", i + 1),
                fields: map
                    .iter()
                    .map(|(k, v)| (normalise_header(k), scalar(v)))
                    .collect(),
            })
        })
        .collect();
    // Columns in order of first appearance; a set makes this linear in the fields.
    let mut columns: Vec<String> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for r in &records {
        for (k, _) in &r.fields {
            if seen.insert(k.as_str()) {
                columns.push(k.clone());
            }
        }
    }
    Ok(Records { columns, records })
}

// Header aliases (normalised: lower case, no spaces).
const INDEX_NO: &[&str] = &["索引号", "index_no", "indexno", "索引", "信息索引号"];
const TITLE: &[&str] = &["标题", "名称", "信息名称", "事项名称", "title", "name"];
const KIND: &[&str] = &["类别", "目录类别", "事项类别", "信息类别", "kind", "type"];
const DEPARTMENT: &[&str] = &[
    "发布机构",
    "发布单位",
    "实施机构",
    "实施主体",
    "责任单位",
    "办理部门",
    "受理部门",
    "部门",
    "department",
    "publisher",
];
const DOC_NO: &[&str] = &["文号", "发文字号", "doc_no", "docno"];
const ISSUED_ON: &[&str] = &[
    "发布日期",
    "成文日期",
    "生成日期",
    "公开日期",
    "日期",
    "issued_on",
    "date",
];
const SUBJECT: &[&str] = &["主题分类", "主题", "分类", "subject"];
const VALID_FROM: &[&str] = &["有效期起", "生效日期", "施行日期", "valid_from"];
const VALID_UNTIL: &[&str] = &["有效期止", "失效日期", "废止日期", "valid_until"];
const SUMMARY: &[&str] = &["摘要", "内容概述", "简介", "内容摘要", "summary"];
const BODY: &[&str] = &["正文", "内容", "详细内容", "公开内容", "body", "content"];
const FREQUENCY: &[&str] = &["更新频率", "更新周期", "update_frequency"];
const POWER_TYPE: &[&str] = &["职权类型", "权力类型", "事项类型", "power_type"];
const URL: &[&str] = &["链接", "网址", "原文链接", "url", "link"];
const AUDIENCES: &[&str] = &["服务对象", "audiences", "audience"];

const CASE_NO: &[&str] = &[
    "办件编号",
    "办件号",
    "受理编号",
    "申报号",
    "申办流水号",
    "case_no",
    "caseno",
];
const CASE_ITEM: &[&str] = &["事项索引号", "事项编码", "索引号", "item", "index_no"];
const CASE_ITEM_TITLE: &[&str] = &["事项名称", "申请事项", "办理事项", "item_title"];
const APPLICANT: &[&str] = &["申请人", "申请人名称", "申请单位", "applicant"];
const APPLICANT_KIND: &[&str] = &["申请人类型", "申请人类别", "applicant_kind"];
const RECEIVED: &[&str] = &[
    "受理日期",
    "受理时间",
    "申请日期",
    "申请时间",
    "received_on",
    "received",
];
const DUE: &[&str] = &[
    "承诺办结日期",
    "应办结日期",
    "办结时限",
    "截止日期",
    "due_on",
    "due",
];
const COMPLETED: &[&str] = &[
    "办结日期",
    "办结时间",
    "完成日期",
    "completed_on",
    "completed",
];
const STATUS: &[&str] = &["办理状态", "办件状态", "状态", "status"];
const NOTE: &[&str] = &["备注", "说明", "办理意见", "note"];

/// A catalogue entry as the export gives it, before publisher and subject resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueItem {
    /// 索引号: the key.
    pub index_no: String,
    /// Kind. Default: disclosure.
    pub kind: CatalogueKind,
    /// Title.
    pub title: String,
    /// Publishing body as written (code, name or short name).
    pub department: Option<String>,
    /// 文号.
    pub doc_no: Option<String>,
    /// Issue date.
    pub issued_on: NaiveDate,
    /// Subject category as written (code or name).
    pub subject: Option<String>,
    /// Start of validity.
    pub valid_from: Option<NaiveDate>,
    /// End of validity.
    pub valid_until: Option<NaiveDate>,
    /// Summary.
    pub summary: String,
    /// Body text.
    pub body: String,
    /// Update frequency. Default: on change.
    pub update_frequency: UpdateFrequency,
    /// Power type (power items only).
    pub power_type: Option<String>,
    /// Online page.
    pub url: Option<String>,
    /// Audience categories as written (codes or names).
    pub audiences: Vec<String>,
}

/// A case as the export gives it, before department and item resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseItem {
    /// 办件编号: the key.
    pub case_no: String,
    /// 索引号 of the item applied for, if given.
    pub item_index_no: Option<String>,
    /// Name of the item applied for, if given.
    pub item_title: Option<String>,
    /// Handling department as written.
    pub department: Option<String>,
    /// Applicant (stored whole, masked on air).
    pub applicant: String,
    /// Individual or enterprise. Default: individual.
    pub applicant_kind: ApplicantKind,
    /// Received.
    pub received_on: NaiveDate,
    /// Due.
    pub due_on: NaiveDate,
    /// Completed.
    pub completed_on: Option<NaiveDate>,
    /// Status.
    pub status: CaseStatus,
    /// Note.
    pub note: String,
}

fn text_field(r: &Record, names: &[&str]) -> String {
    r.get(names)
        .map(|v| {
            if v.contains('<') || v.contains('&') {
                html::html_to_text(v).text
            } else {
                html::plain_to_text(v)
            }
        })
        .unwrap_or_default()
}

fn line_field(r: &Record, names: &[&str]) -> Option<String> {
    r.get(names).map(html::one_line).filter(|v| !v.is_empty())
}

fn date_field(
    r: &Record,
    names: &[&str],
    label: &'static str,
) -> Result<Option<NaiveDate>, Reason> {
    match r.get(names) {
        None => Ok(None),
        Some(v) => parse_date(v).map(Some).ok_or_else(|| Reason::BadValue {
            field: label,
            value: v.to_owned(),
        }),
    }
}

fn catalogue_kind(v: Option<&str>) -> Result<CatalogueKind, Reason> {
    let Some(v) = v else {
        return Ok(CatalogueKind::Disclosure);
    };
    if let Some(k) = CatalogueKind::parse(v) {
        return Ok(k);
    }
    if v.contains("职权") || v.contains("权力") {
        Ok(CatalogueKind::Power)
    } else if v.contains("便民") || v.contains("服务") {
        Ok(CatalogueKind::Service)
    } else if v.contains("公开") {
        Ok(CatalogueKind::Disclosure)
    } else {
        Err(Reason::BadValue {
            field: "类别",
            value: v.to_owned(),
        })
    }
}

fn frequency(v: Option<&str>) -> UpdateFrequency {
    let Some(v) = v else {
        return UpdateFrequency::OnChange;
    };
    if let Some(f) = UpdateFrequency::parse(v) {
        return f;
    }
    if v.contains("半年") {
        UpdateFrequency::HalfYearly
    } else if v.contains('季') {
        UpdateFrequency::Quarterly
    } else if v.contains('月') {
        UpdateFrequency::Monthly
    } else if v.contains('年') {
        UpdateFrequency::Yearly
    } else {
        UpdateFrequency::OnChange
    }
}

/// Parses a case status from a stored name or the labels platforms use.
pub fn case_status(v: &str) -> Option<CaseStatus> {
    let v = v.trim();
    if let Some(s) = CaseStatus::parse(v) {
        return Some(s);
    }
    if let Some(s) = CaseStatus::ALL.iter().find(|s| s.label() == v) {
        return Some(*s);
    }
    if v.contains("不予") || v.contains("驳回") {
        Some(CaseStatus::Refused)
    } else if v.contains('撤') {
        Some(CaseStatus::Withdrawn)
    } else if v.contains("补正") || v.contains("补充材料") || v.contains("补齐") {
        Some(CaseStatus::AwaitingMaterials)
    } else if v.contains("办结") || v.contains("完成") || v.contains("准予") {
        Some(CaseStatus::Completed)
    } else if v.contains("办理中")
        || v.contains("在办")
        || v.contains("审核中")
        || v.contains("审批中")
    {
        Some(CaseStatus::InProgress)
    } else if v.contains("受理") {
        Some(CaseStatus::Accepted)
    } else {
        None
    }
}

fn applicant_kind(v: Option<&str>) -> Result<ApplicantKind, Reason> {
    let Some(v) = v else {
        return Ok(ApplicantKind::Individual);
    };
    if let Some(k) = ApplicantKind::parse(v) {
        return Ok(k);
    }
    if v.contains("个人") || v.contains("自然人") || v.contains("居民") {
        Ok(ApplicantKind::Individual)
    } else if v.contains("企业") || v.contains("法人") || v.contains("组织") || v.contains("单位")
    {
        Ok(ApplicantKind::Enterprise)
    } else {
        Err(Reason::BadValue {
            field: "申请人类型",
            value: v.to_owned(),
        })
    }
}

/// Refuses an export without the column every record needs. An empty JSON list has no
/// columns at all and is a valid (empty) export.
fn require_column(r: &Records, names: &[&str], label: &'static str) -> Result<(), ParseError> {
    let empty_json = r.records.is_empty() && r.columns.is_empty();
    if empty_json || r.columns.iter().any(|c| names.contains(&c.as_str())) {
        Ok(())
    } else {
        Err(ParseError::MissingColumn(label))
    }
}

/// Runs `convert` on every record, collecting items, rejections and keys; refuses the
/// second record with a key already seen.
fn collect<T>(
    records: Vec<Record>,
    key_of: impl Fn(&Record) -> Option<String>,
    title_of: impl Fn(&Record) -> String,
    key_label: &'static str,
    convert: impl Fn(&Record, String) -> Result<T, Reason>,
) -> Parsed<T> {
    let mut out = Parsed::default();
    let mut keys = HashSet::new();
    for r in records {
        let title = title_of(&r);
        let Some(key) = key_of(&r) else {
            out.rejected.push(Rejection {
                key: r.place.clone(),
                title,
                reason: Reason::MissingField(key_label),
            });
            continue;
        };
        if !out.claim_key(&mut keys, &key, &title) {
            continue;
        }
        match convert(&r, key.clone()) {
            Ok(item) => out.items.push(item),
            Err(reason) => out.rejected.push(Rejection { key, title, reason }),
        }
    }
    out
}

/// Parses a catalogue export.
pub fn parse_catalogue(
    bytes: &[u8],
    http_charset: Option<&str>,
    format: Format,
) -> Result<Parsed<CatalogueItem>, ParseError> {
    let records = read_records(bytes, http_charset, format)?;
    require_column(&records, INDEX_NO, "索引号")?;
    require_column(&records, TITLE, "标题")?;
    Ok(collect(
        records.records,
        |r| r.get(INDEX_NO).map(clean_key).filter(|k| !k.is_empty()),
        |r| line_field(r, TITLE).unwrap_or_default(),
        "索引号",
        |r, index_no| {
            let title = line_field(r, TITLE).unwrap_or_default();
            let summary = text_field(r, SUMMARY);
            let body = text_field(r, BODY);
            let lint_body = if body.is_empty() { &summary } else { &body };
            lint::check_text(&title, lint_body, false)?;
            let kind = catalogue_kind(r.get(KIND))?;
            let power_type = line_field(r, POWER_TYPE);
            let power_type = match kind {
                CatalogueKind::Power => Some(power_type.ok_or(Reason::PowerTypeMissing)?),
                _ => None,
            };
            let issued_on =
                date_field(r, ISSUED_ON, "发布日期")?.ok_or(Reason::MissingField("发布日期"))?;
            Ok(CatalogueItem {
                index_no,
                kind,
                title,
                department: line_field(r, DEPARTMENT),
                doc_no: line_field(r, DOC_NO),
                issued_on,
                subject: line_field(r, SUBJECT),
                valid_from: date_field(r, VALID_FROM, "有效期起")?,
                valid_until: date_field(r, VALID_UNTIL, "有效期止")?,
                summary,
                body,
                update_frequency: frequency(r.get(FREQUENCY)),
                power_type,
                url: line_field(r, URL),
                audiences: r
                    .get(AUDIENCES)
                    .map(|v| {
                        v.split(['、', ',', '，', ';', '；', '|', '/'])
                            .map(html::one_line)
                            .filter(|a| !a.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        },
    ))
}

/// Parses a case export.
pub fn parse_cases(
    bytes: &[u8],
    http_charset: Option<&str>,
    format: Format,
) -> Result<Parsed<CaseItem>, ParseError> {
    let records = read_records(bytes, http_charset, format)?;
    require_column(&records, CASE_NO, "办件编号")?;
    Ok(collect(
        records.records,
        |r| r.get(CASE_NO).map(clean_key).filter(|k| !k.is_empty()),
        |r| line_field(r, CASE_ITEM_TITLE).unwrap_or_default(),
        "办件编号",
        |r, case_no| {
            let item_index_no = line_field(r, CASE_ITEM);
            let item_title = line_field(r, CASE_ITEM_TITLE);
            if item_index_no.is_none() && item_title.is_none() {
                return Err(Reason::MissingField("事项名称"));
            }
            let applicant = line_field(r, APPLICANT).ok_or(Reason::MissingField("申请人"))?;
            let status_text = r.get(STATUS).ok_or(Reason::MissingField("办理状态"))?;
            let status = case_status(status_text).ok_or_else(|| Reason::BadValue {
                field: "办理状态",
                value: status_text.to_owned(),
            })?;
            Ok(CaseItem {
                case_no,
                item_index_no,
                item_title,
                department: line_field(r, DEPARTMENT),
                applicant,
                applicant_kind: applicant_kind(r.get(APPLICANT_KIND))?,
                received_on: date_field(r, RECEIVED, "受理日期")?
                    .ok_or(Reason::MissingField("受理日期"))?,
                due_on: date_field(r, DUE, "承诺办结日期")?
                    .ok_or(Reason::MissingField("承诺办结日期"))?,
                completed_on: date_field(r, COMPLETED, "办结日期")?,
                status,
                note: text_field(r, NOTE),
            })
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOGUE: &str = "索引号,标题,类别,发布机构,文号,发布日期,主题分类,摘要,正文,更新频率,职权类型\n\
339902-mzj-2026-00010,2026年度临时救助标准,政府信息公开事项,县民政局,样民发〔2026〕9号,2026/03/01,民政、扶贫、救灾,公布临时救助标准。,\"<p>临时救助标准为每人每次不超过3000元。</p>\",每年,\n\
339902-mzj-2026-00011,无公开信息,政府信息公开事项,县民政局,,2026-03-02,11,,无公开信息,,\n\
339902-mzj-2026-00012,临时救助审批,行政职权事项,mzj,,2026-03-03,11,对困难群众给予临时救助。,,变动时,\n\
,缺索引号的条目,政府信息公开事项,mzj,,2026-03-03,11,摘要,正文,,\n\
339902-mzj-2026-00010,重复索引号,政府信息公开事项,mzj,,2026-03-03,11,摘要,正文,,\n";

    #[test]
    fn catalogue_csv_with_chinese_headers() {
        let mut bytes = vec![0x84, 0x31, 0x95, 0x33];
        bytes.extend_from_slice(&encoding_rs::GB18030.encode(CATALOGUE).0);
        let p = parse_catalogue(&bytes, None, Format::Auto).unwrap();
        assert_eq!(p.items.len(), 1, "{p:#?}");
        let e = &p.items[0];
        assert_eq!(e.index_no, "339902-mzj-2026-00010");
        assert_eq!(e.department.as_deref(), Some("县民政局"));
        assert_eq!(e.issued_on, NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
        assert_eq!(e.body, "临时救助标准为每人每次不超过3000元。");
        assert_eq!(e.update_frequency, UpdateFrequency::Yearly);
        assert_eq!(e.power_type, None);
        let reasons: Vec<_> = p
            .rejected
            .iter()
            .map(|r| (r.key.as_str(), r.reason.code()))
            .collect();
        assert_eq!(
            reasons,
            [
                ("339902-mzj-2026-00011", "placeholder_title"),
                ("339902-mzj-2026-00012", "power_type_missing"),
                ("第5行", "missing_field"),
                ("339902-mzj-2026-00010", "duplicate_key"),
            ]
        );
        assert_eq!(p.seen.len(), 3);
    }

    #[test]
    fn an_export_without_its_key_column_is_refused_whole() {
        let err = parse_catalogue("编号,名称\n1,甲\n".as_bytes(), None, Format::Auto).unwrap_err();
        assert!(matches!(err, ParseError::MissingColumn("索引号")));
        let err = parse_cases(b"<html>error</html>", None, Format::Auto).unwrap_err();
        assert!(
            matches!(err, ParseError::MissingColumn("办件编号")),
            "{err:?}"
        );
    }

    #[test]
    fn case_json_nested_in_a_platform_envelope() {
        let json = r#"{"code":0,"msg":"ok","data":{"total":3,"list":[
          {"办件编号":"SF2026110300001","事项名称":"最低生活保障审批","办理部门":"县民政局","申请人":"周某某",
           "受理日期":"2026-11-03","承诺办结日期":"2026-11-24","办理状态":"正在办理","备注":null},
          {"办件编号":"SF2026110300002","事项名称":"高龄津贴申领","申请人":"吴某某","申请人类型":"个人",
           "受理日期":"2026-11-03 10:12","承诺办结日期":"2026/11/13","办结日期":"2026-11-10","办理状态":"已办结"},
          {"办件编号":"SF2026110300003","事项名称":"高龄津贴申领","申请人":"郑某某",
           "受理日期":"上周","承诺办结日期":"2026-11-13","办理状态":"已受理"}]}}"#;
        let p = parse_cases(json.as_bytes(), None, Format::Auto).unwrap();
        assert_eq!(p.items.len(), 2);
        assert_eq!(p.items[0].status, CaseStatus::InProgress);
        assert_eq!(p.items[1].status, CaseStatus::Completed);
        assert_eq!(
            p.items[1].completed_on,
            NaiveDate::from_ymd_opt(2026, 11, 10)
        );
        assert_eq!(p.rejected[0].reason.zh(), "受理日期“上周”无法识别");
    }

    #[test]
    fn status_labels() {
        assert_eq!(case_status("不予受理"), Some(CaseStatus::Refused));
        assert_eq!(case_status("待补正"), Some(CaseStatus::AwaitingMaterials));
        assert_eq!(case_status("completed"), Some(CaseStatus::Completed));
        assert_eq!(case_status("已受理"), Some(CaseStatus::Accepted));
        assert_eq!(case_status("未知"), None);
    }
}
