//! Closed sets of names: every enum the store, the API, the config file or the command
//! line writes as a string is declared with one macro, [`vocabulary!`], so it is written
//! and read one way everywhere.
//!
//! A vocabulary enum gets its name as stored in SQLite, JSON and TOML (`as_str`, serde,
//! `Display`), its parsing (`parse`, `FromStr` with [`UnknownName`], serde, clap's
//! `ValueEnum` with the same names and aliases, SQLite's `ToSql`/`FromSql`), the list of
//! its values (`ALL`) and, where declared, the Chinese label viewers and staff see
//! (`label`).

/// A name that is none of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {name:?}: expected one of {expected}")]
pub struct UnknownName {
    /// What was being named (`profile`, `source kind`, …).
    pub what: &'static str,
    /// The name given.
    pub name: String,
    /// The names accepted, comma-separated.
    pub expected: String,
}

/// Declares a string-valued enum:
///
/// ```text
/// vocabulary! {
///     /// Docs.
///     pub Profile as "profile" {
///         /// SD.
///         Sd = "sd" / "标清",
///         /// SD 16:9, also read as `sd-wide`.
///         SdWide = "sd_wide" | "sd-wide" / "标清宽屏",
///     }
/// }
/// ```
///
/// `"name"` is the stored name, `| "alias"` further names read (never written), `/ "标签"`
/// the Chinese label (all variants or none). The `as "…"` text names the set in errors.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])* $vis:vis $name:ident as $what:literal {
            $($(#[$vmeta:meta])* $variant:ident = $stored:literal $(| $alias:literal)* / $label:literal,)+
        }
    ) => {
        $crate::names::vocabulary! {
            $(#[$meta])* $vis $name as $what {
                $($(#[$vmeta])* $variant = $stored $(| $alias)*,)+
            }
        }

        impl $name {
            /// What viewers and staff see.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label,)+ }
            }
        }
    };
    (
        $(#[$meta:meta])* $vis:vis $name:ident as $what:literal {
            $($(#[$vmeta:meta])* $variant:ident = $stored:literal $(| $alias:literal)*,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        $vis enum $name {
            $($(#[$vmeta])* #[serde(rename = $stored $(, alias = $alias)*)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The name stored in the database and written in JSON, TOML and on the
            /// command line.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $stored,)+ }
            }

            /// The value named `s` (its stored name or an alias).
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($stored $(| $alias)* => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::names::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::parse(s).ok_or_else(|| $crate::names::UnknownName {
                    what: $what,
                    name: s.to_owned(),
                    expected: [$($stored),+].join(", "),
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl rusqlite::types::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                let s = value.as_str()?;
                s.parse()
                    .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
            }
        }

        impl clap::ValueEnum for $name {
            fn value_variants<'a>() -> &'a [Self] {
                $name::ALL
            }
            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(match self {
                    $($name::$variant => clap::builder::PossibleValue::new($stored)$(.alias($alias))*,)+
                })
            }
        }
    };
}
pub(crate) use vocabulary;

#[cfg(test)]
mod tests {
    vocabulary! {
        /// A test set.
        Size as "size" {
            /// Small.
            Small = "small" / "小",
            /// Extra large, also read as `xl`.
            ExtraLarge = "extra_large" | "xl" / "特大",
        }
    }

    #[test]
    fn one_name_everywhere() {
        for &s in Size::ALL {
            assert_eq!(Size::parse(s.as_str()), Some(s));
            assert_eq!(s.to_string(), s.as_str());
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<Size>(&json).unwrap(), s);
            let value = clap::ValueEnum::to_possible_value(&s).unwrap();
            assert_eq!(value.get_name(), s.as_str());
        }
        assert_eq!(Size::parse("xl"), Some(Size::ExtraLarge));
        assert_eq!(
            serde_json::from_str::<Size>("\"xl\"").unwrap(),
            Size::ExtraLarge
        );
        assert_eq!(Size::ExtraLarge.label(), "特大");
        let db = rusqlite::Connection::open_in_memory().unwrap();
        let back: Size = db
            .query_row("SELECT ?1", [Size::ExtraLarge], |r| r.get(0))
            .unwrap();
        assert_eq!(back, Size::ExtraLarge);
        let stored: String = db
            .query_row("SELECT ?1", [Size::ExtraLarge], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, "extra_large");
        let bad = db.query_row("SELECT 'huge'", [], |r| r.get::<_, Size>(0));
        assert!(bad.is_err());
        let err = "huge".parse::<Size>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown size \"huge\": expected one of small, extra_large"
        );
    }
}
