//! When a schedule entry airs: once, daily, on weekdays or on chosen weekdays, within a
//! date range, except on listed dates. Dates are county dates (China Standard Time has no
//! daylight saving, so every day is 24 hours long).

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// How an entry repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "repeat", content = "weekdays")]
pub enum Repeat {
    /// On its first date only.
    Once,
    /// Every day.
    Daily,
    /// Monday to Friday.
    Weekdays,
    /// On the chosen weekdays: bit 0 is Monday … bit 6 is Sunday.
    Days(u8),
}

/// Chinese names of the weekdays, Monday first.
pub const WEEKDAY_NAMES: [&str; 7] = ["一", "二", "三", "四", "五", "六", "日"];

impl Repeat {
    /// Its name in the store (`once`, `daily`, `weekdays`, `days`).
    pub fn name(self) -> &'static str {
        match self {
            Repeat::Once => "once",
            Repeat::Daily => "daily",
            Repeat::Weekdays => "weekdays",
            Repeat::Days(_) => "days",
        }
    }

    /// From the store's name and weekday mask.
    pub fn parse(name: &str, mask: u8) -> Option<Repeat> {
        Some(match name {
            "once" => Repeat::Once,
            "daily" => Repeat::Daily,
            "weekdays" => Repeat::Weekdays,
            "days" => Repeat::Days(mask & 0x7f),
            _ => return None,
        })
    }

    /// The weekday mask of weekday numbers (1 = Monday … 7 = Sunday; others ignored).
    pub fn mask_of(days: &[u8]) -> u8 {
        days.iter()
            .filter(|d| (1..=7).contains(*d))
            .fold(0, |m, d| m | 1 << (d - 1))
    }

    /// The weekday numbers (1 = Monday … 7 = Sunday) of the weekday mask.
    pub fn days_of(mask: u8) -> Vec<u8> {
        (1..=7u8).filter(|d| mask & (1 << (d - 1)) != 0).collect()
    }

    /// The weekday mask (0 unless `Days`).
    pub fn mask(self) -> u8 {
        match self {
            Repeat::Days(m) => m,
            _ => 0,
        }
    }

    /// How staff read it: 仅一次, 每天, 工作日（周一至周五）, 每周一、三、五.
    pub fn describe(self) -> String {
        match self {
            Repeat::Once => "仅一次".into(),
            Repeat::Daily => "每天".into(),
            Repeat::Weekdays => "工作日（周一至周五）".into(),
            Repeat::Days(mask) => {
                let days: Vec<&str> = (0..7)
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| WEEKDAY_NAMES[i])
                    .collect();
                format!("每周{}", days.join("、"))
            }
        }
    }
}

/// The dates an entry airs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// How it repeats.
    #[serde(flatten)]
    pub repeat: Repeat,
    /// First date (the only one for `Once`).
    pub from: NaiveDate,
    /// Last date, if it ends.
    pub until: Option<NaiveDate>,
    /// Dates it does not air.
    pub except: BTreeSet<NaiveDate>,
}

impl Rule {
    /// Whether it airs on `date`.
    pub fn occurs_on(&self, date: NaiveDate) -> bool {
        if date < self.from || self.until.is_some_and(|u| date > u) || self.except.contains(&date) {
            return false;
        }
        let weekday = date.weekday().num_days_from_monday();
        match self.repeat {
            Repeat::Once => date == self.from,
            Repeat::Daily => true,
            Repeat::Weekdays => weekday < 5,
            Repeat::Days(mask) => mask & (1 << weekday) != 0,
        }
    }

    /// Every date it airs on in `first..=last`, in order.
    pub fn dates(&self, first: NaiveDate, last: NaiveDate) -> Vec<NaiveDate> {
        let start = first.max(self.from);
        let end = match self.until {
            Some(u) => last.min(u),
            None => last,
        };
        let end = if self.repeat == Repeat::Once {
            end.min(self.from)
        } else {
            end
        };
        start
            .iter_days()
            .take_while(|d| *d <= end)
            .filter(|d| self.occurs_on(*d))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn rule(repeat: Repeat, from: &str, until: Option<&str>, except: &[&str]) -> Rule {
        Rule {
            repeat,
            from: d(from),
            until: until.map(d),
            except: except.iter().map(|s| d(s)).collect(),
        }
    }

    #[test]
    fn daily_runs_across_the_end_of_a_month_and_of_a_year() {
        let r = rule(Repeat::Daily, "2026-12-30", Some("2027-01-02"), &[]);
        assert_eq!(
            r.dates(d("2026-12-01"), d("2027-01-31")),
            vec![
                d("2026-12-30"),
                d("2026-12-31"),
                d("2027-01-01"),
                d("2027-01-02")
            ]
        );
        // February of a leap year and of a common year.
        let r = rule(Repeat::Daily, "2028-02-28", Some("2028-03-01"), &[]);
        assert_eq!(r.dates(d("2028-01-01"), d("2028-12-31")).len(), 3);
        let r = rule(Repeat::Daily, "2027-02-28", Some("2027-03-01"), &[]);
        assert_eq!(r.dates(d("2027-01-01"), d("2027-12-31")).len(), 2);
    }

    #[test]
    fn weekdays_skip_weekends_and_exceptions_skip_their_dates() {
        // 2026-12-28 is a Monday; 2027-01-01 (Friday) is a holiday exception.
        let r = rule(Repeat::Weekdays, "2026-12-26", None, &["2027-01-01"]);
        assert_eq!(
            r.dates(d("2026-12-26"), d("2027-01-04")),
            vec![
                d("2026-12-28"),
                d("2026-12-29"),
                d("2026-12-30"),
                d("2026-12-31"),
                d("2027-01-04")
            ]
        );
    }

    #[test]
    fn chosen_weekdays_and_a_single_date() {
        // Monday, Wednesday and Sunday.
        let r = rule(
            Repeat::Days(0b100_0101),
            "2026-12-01",
            Some("2026-12-13"),
            &[],
        );
        let days: Vec<String> = r
            .dates(d("2026-11-01"), d("2026-12-31"))
            .iter()
            .map(|x| x.to_string())
            .collect();
        assert_eq!(
            days,
            [
                "2026-12-02",
                "2026-12-06",
                "2026-12-07",
                "2026-12-09",
                "2026-12-13"
            ]
        );
        let once = rule(Repeat::Once, "2026-12-31", None, &[]);
        assert_eq!(
            once.dates(d("2026-12-01"), d("2027-12-31")),
            vec![d("2026-12-31")]
        );
        assert!(once.dates(d("2027-01-01"), d("2027-12-31")).is_empty());
        assert_eq!(Repeat::Days(0b100_0101).describe(), "每周一、三、日");
    }
}
