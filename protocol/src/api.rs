//! Request and response bodies of the box API under `/stb/v1` (JSON).

use serde::{Deserialize, Serialize};

use crate::Screen;

/// Body of `POST /stb/v1/boxes`: a box registers itself once, answered by [`BoxCredentials`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterBox {
    /// Device identification of the box (model and serial, as the box reports them).
    pub device: String,
    /// Region code the box is installed in, e.g. `"339901101"`.
    pub region: String,
    /// Picture profile the box shows: `"sd"`, `"sd_wide"`, `"hd720"` or `"hd1080"`.
    pub profile: String,
}

/// Answer of `POST /stb/v1/boxes`: the identity a box sends with votes and view reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoxCredentials {
    /// Box id.
    pub id: String,
    /// Secret proving the box id; kept by the box, never shown.
    pub secret: String,
}

/// Body of `POST /stb/v1/cases/lookup` (sent by [`Action::Submit`](crate::Action::Submit)),
/// answered by a [`ScreenAnswer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseLookup {
    /// The case number as entered: the entry's prefix followed by its digits, e.g. `"SF2025001"`.
    pub case_no: String,
    /// The box asking, if registered.
    #[serde(default)]
    pub box_id: Option<String>,
}

/// Body of `POST /stb/v1/polls/{id}/votes` (sent by [`Action::Vote`](crate::Action::Vote)),
/// answered by a [`ScreenAnswer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteRequest {
    /// Id of the voting box.
    pub box_id: String,
    /// Its secret.
    pub secret: String,
    /// Number of the chosen option, counting from 1.
    pub option: u32,
}

/// Answer of a case lookup or a vote: one screen to show. Its page images are fetched from
/// `GET /stb/v1/img/{image}-{n}.png` ([`Screen::page_image`]) like those of the manifest, and
/// the manifest's global keys apply on its pages ([`Manifest::action`](crate::Manifest::action)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenAnswer {
    /// The screen.
    pub screen: Screen,
}

/// Body of `POST /stb/v1/views`: how often a box showed each screen on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewReport {
    /// Id of the reporting box.
    pub box_id: String,
    /// Its secret.
    pub secret: String,
    /// The day counted, `YYYY-MM-DD`.
    pub day: String,
    /// Views per screen.
    pub counts: Vec<ViewCount>,
}

/// How often one screen was shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewCount {
    /// Screen id.
    pub screen: String,
    /// Number of times it was opened.
    pub views: u32,
}

/// Body of every 4xx and 5xx answer of the box API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, in Chinese (a box may show it to the viewer).
    pub error: String,
    /// A screen to show instead, where the headend has one: a second vote in a poll is
    /// refused (409) with the poll's results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen: Option<Screen>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_use_the_documented_field_names() {
        let lookup: CaseLookup = serde_json::from_str(r#"{"case_no": "SF2025001"}"#).unwrap();
        assert_eq!(lookup.box_id, None);
        let vote = VoteRequest {
            box_id: "b1".into(),
            secret: "s".into(),
            option: 2,
        };
        assert_eq!(
            serde_json::to_value(&vote).unwrap(),
            serde_json::json!({"box_id": "b1", "secret": "s", "option": 2})
        );
        let report: ViewReport = serde_json::from_str(
            r#"{"box_id": "b1", "secret": "s", "day": "2025-03-01",
                "counts": [{"screen": "home", "views": 12, "seconds": 40}], "firmware": "2.1"}"#,
        )
        .unwrap();
        assert_eq!(
            report.counts,
            vec![ViewCount {
                screen: "home".into(),
                views: 12
            }]
        );
        let err: ErrorBody =
            serde_json::from_str(r#"{"error": "未找到该案件", "code": 404}"#).unwrap();
        assert_eq!(err.error, "未找到该案件");
    }
}
