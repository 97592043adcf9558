//! The county's content vocabulary: the closed sets of values the store and every other
//! module share (catalogue kinds, notice workflow states, case states …), and county time.
//!
//! Each enum is a [`vocabulary!`](crate::names::vocabulary): stored in SQLite as its
//! snake_case name (`as_str`), which the migrations' CHECK constraints also list, and
//! carrying the Chinese label viewers and staff see.

use chrono::{FixedOffset, NaiveDate, Offset, Utc};

use crate::names::vocabulary;

/// The county's offset from UTC. Every county we serve keeps China Standard Time.
pub const COUNTY_UTC_OFFSET_SECS: i32 = 8 * 3600;

/// China Standard Time as a chrono offset.
pub fn county_offset() -> FixedOffset {
    // 8 h is within chrono's ±24 h range; east_opt only fails outside it.
    FixedOffset::east_opt(COUNTY_UTC_OFFSET_SECS).unwrap_or(Utc.fix())
}

/// Today's date in the county.
pub fn county_today() -> NaiveDate {
    Utc::now().with_timezone(&county_offset()).date_naive()
}

vocabulary! {
    /// Level of a region in the county tree.
    pub RegionLevel as "region level" {
        /// 县.
        County = "county" / "县",
        /// 乡镇/街道.
        Town = "town" / "乡镇（街道）",
        /// 村/社区.
        Village = "village" / "村（社区）",
    }
}

vocabulary! {
    /// The three kinds of entry in the government information disclosure catalogue.
    pub CatalogueKind as "catalogue kind" {
        /// 政府信息公开事项.
        Disclosure = "disclosure" / "政府信息公开事项",
        /// 行政职权事项.
        Power = "power" / "行政职权事项",
        /// 便民服务事项.
        Service = "service" / "便民服务事项",
    }
}

vocabulary! {
    /// How often a catalogue entry must be reviewed and brought up to date.
    pub UpdateFrequency as "update frequency" {
        /// 每月.
        Monthly = "monthly" / "每月更新",
        /// 每季度.
        Quarterly = "quarterly" / "每季度更新",
        /// 每半年.
        HalfYearly = "half_yearly" / "每半年更新",
        /// 每年.
        Yearly = "yearly" / "每年更新",
        /// 有变化时.
        OnChange = "on_change" / "变动时更新",
    }
}

vocabulary! {
    /// Kind of notice.
    pub NoticeKind as "notice kind" {
        /// 通知公告.
        Notice = "notice" / "通知公告",
        /// 公示 (with an objection period).
        Publicity = "publicity" / "公示",
    }
}

vocabulary! {
    /// Priority of a notice on air.
    pub Priority as "priority" {
        /// 一般.
        Normal = "normal" / "一般",
        /// 重要.
        Important = "important" / "重要",
        /// 紧急: airs as a banner over everything.
        Urgent = "urgent" / "紧急",
    }
}

vocabulary! {
    /// Publishing workflow state of a notice (review before publishing).
    pub NoticeStatus as "notice status" {
        /// 草稿.
        Draft = "draft" / "草稿",
        /// 待审核.
        Submitted = "submitted" / "待审核",
        /// 已退回.
        Returned = "returned" / "已退回",
        /// 审核通过，待发布.
        Approved = "approved" / "审核通过",
        /// 已发布.
        Published = "published" / "已发布",
        /// 已过期.
        Expired = "expired" / "已过期",
        /// 已撤回.
        Withdrawn = "withdrawn" / "已撤回",
    }
}

vocabulary! {
    /// Progress of a case (办件).
    pub CaseStatus as "case status" {
        /// 已受理.
        Accepted = "accepted" / "已受理",
        /// 办理中.
        InProgress = "in_progress" / "正在办理",
        /// 待补正材料.
        AwaitingMaterials = "awaiting_materials" / "等待补充材料",
        /// 已办结.
        Completed = "completed" / "已办结",
        /// 不予受理/不予许可.
        Refused = "refused" / "不予办理",
        /// 申请人撤回.
        Withdrawn = "withdrawn" / "已撤回",
    }
}

impl CaseStatus {
    /// Whether the case is finished (it then has a completion date).
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            CaseStatus::Completed | CaseStatus::Refused | CaseStatus::Withdrawn
        )
    }
}

vocabulary! {
    /// Who applied for a case.
    pub ApplicantKind as "applicant kind" {
        /// 个人.
        Individual = "individual" / "个人",
        /// 法人和其他组织.
        Enterprise = "enterprise" / "企业或组织",
    }
}

/// Chinese weekday names, Monday first.
pub const WEEKDAYS: [&str; 7] = ["一", "二", "三", "四", "五", "六", "日"];

/// `2026年11月22日 星期日` for the summary screen.
pub fn date_line(now: chrono::DateTime<chrono::FixedOffset>) -> String {
    use chrono::Datelike;
    let weekday = WEEKDAYS[now.weekday().num_days_from_monday() as usize];
    format!(
        "{}年{}月{}日 星期{}",
        now.year(),
        now.month(),
        now.day(),
        weekday
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_round_trip_and_match_serde() {
        for s in NoticeStatus::ALL {
            assert_eq!(NoticeStatus::parse(s.as_str()), Some(*s));
            assert_eq!(
                serde_json::to_string(s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        for k in CaseStatus::ALL {
            assert_eq!(CaseStatus::parse(k.as_str()), Some(*k));
        }
        assert_eq!(CatalogueKind::parse("nonsense"), None);
    }

    #[test]
    fn county_time_is_utc_plus_eight() {
        assert_eq!(county_offset().local_minus_utc(), 8 * 3600);
    }
}
