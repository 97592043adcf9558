//! The page renderer: golden images, layout rules over the whole demo county, and a
//! property test of text layout.

mod golden;
mod property;
mod rules;

use headend::render::layout::{Layout, Role};
use headend::render::screens::{
    HomeScreen, ListItem, ListScreen, NoticeScreen, Publicity, SlateScreen, Tile,
};
use headend::render::text::{is_closing, is_opening};
use headend::render::Screen;

/// A fixed set of screens covering every template.
pub fn sample_screens() -> Vec<(&'static str, Screen)> {
    let notice = NoticeScreen {
        title: "关于做好2026年冬季森林防火工作的通知".into(),
        publisher: "示范县应急管理局".into(),
        date: "2026-11-20".into(),
        body: "各乡镇人民政府、街道办事处，县级有关单位：\n\n入冬以来，我县降水偏少，林区可燃物积累较多，森林火险等级持续偏高。根据《中华人民共和国森林法》和《森林防火条例》有关规定，现将有关事项通知如下。\n\n一、严格管控野外用火。森林防火期内（2026年11月1日至2027年4月30日），禁止在林区烧荒、烧田埂、焚烧秸秆——违者依法处理。\n\n二、发现火情请立即拨打12119或0579-87012345报告……标点符号用法执行GB/T 15834—2011。".into(),
        publicity: None,
    };
    let publicity = NoticeScreen {
        title: "2026年第四季度临时救助对象公示".into(),
        publisher: "示范县民政局".into(),
        date: "2026-11-18".into(),
        body: "经村（社区）申请、乡镇审核，以下对象拟给予临时救助，现予公示。".into(),
        publicity: Some(Publicity {
            start: "2026-11-18".into(),
            end: "2026-11-25".into(),
            days_left: 4,
            contact: "县民政局社会救助科".into(),
            phone: "0579-87110001".into(),
        }),
    };
    let tiles = [
        "通知公告",
        "政府信息",
        "办事指南",
        "行政职权",
        "便民服务",
        "办件查询",
        "公示公告",
        "民意调查",
        "按键帮助",
    ]
    .iter()
    .enumerate()
    .map(|(i, l)| Tile {
        label: (*l).into(),
        target: format!("section:{i}"),
    })
    .collect();
    let home = HomeScreen {
        title: "示范县政务频道".into(),
        now: "2026年11月22日 星期日 08:00".into(),
        tiles,
    };
    let items = [
        ("关于临时停水的通知", "11月20日 城关镇"),
        ("冬季森林防火工作通知", "11月20日 县应急管理局"),
        ("2026年城乡居民医保缴费提醒", "11月18日 县医疗保障局"),
        ("第四季度临时救助对象公示", "11月18日 县民政局"),
        ("农技培训班报名通知", "11月15日 县农业农村局"),
        ("道路施工交通管制公告", "11月14日 县公安局"),
        ("征兵工作通告", "11月10日 县人民政府"),
    ]
    .iter()
    .enumerate()
    .map(|(i, (l, d))| ListItem {
        label: (*l).into(),
        detail: Some((*d).into()),
        target: format!("notice:{i}"),
    })
    .collect();
    let list = ListScreen {
        title: "通知公告".into(),
        items,
    };
    let slate = SlateScreen {
        channel: "示范县政务频道".into(),
        time: "08:00".into(),
    };
    vec![
        ("notice", Screen::Notice(notice)),
        ("publicity", Screen::Notice(publicity)),
        ("home", Screen::Home(home)),
        ("list", Screen::List(list)),
        ("slate", Screen::Slate(slate)),
    ]
}

/// Every rule a laid-out page must keep; returns the broken ones.
pub fn broken_rules(l: &Layout) -> Vec<String> {
    let mut broken = Vec::new();
    let min_body = match l.height {
        576 => 36.0,
        720 => 48.0,
        _ => 72.0,
    };
    for line in &l.lines {
        let ink = headend::render::Rect::new(line.x, line.y, line.w, line.h);
        if !l.safe.contains(&ink) {
            broken.push(format!("outside the safe area: {:?} {ink:?}", line.text));
        }
        if matches!(
            line.role,
            Role::Body | Role::Item | Role::Title | Role::Heading
        ) && line.em < min_body
        {
            broken.push(format!(
                "{:?} at {} px < {min_body}: {:?}",
                line.role, line.em, line.text
            ));
        }
        if line.fg_rgb.contrast(line.bg_rgb) < 7.0 {
            broken.push(format!(
                "contrast {:.2} < 7: {:?}",
                line.fg_rgb.contrast(line.bg_rgb),
                line.text
            ));
        }
        if let (Some(first), Some(last)) = (line.text.chars().next(), line.text.chars().last()) {
            if is_closing(first) {
                broken.push(format!("line starts with {first:?}: {:?}", line.text));
            }
            if is_opening(last) || last == '/' {
                broken.push(format!("line ends with {last:?}: {:?}", line.text));
            }
        }
    }
    for shape in &l.shapes {
        if shape.rect.y % 2.0 != 0.0 || shape.rect.h % 2.0 != 0.0 || shape.rect.h < 2.0 {
            broken.push(format!("shape not on even rows: {:?}", shape.rect));
        }
        if !shape.rgb.is_broadcast_legal() {
            broken.push(format!("shape colour {} not broadcast legal", shape.fill));
        }
    }
    if l.page < 1 || l.page > l.pages {
        broken.push(format!("page {}/{}", l.page, l.pages));
    }
    broken
}
