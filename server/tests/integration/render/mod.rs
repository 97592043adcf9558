//! The page renderer: golden images, layout rules over the whole demo county, and a
//! property test of text layout.

mod golden;
mod indexed;
mod property;
mod rules;

use headend::render::layout::{Layout, Role};
use headend::render::screen::{
    BannerScreen, CaseLookupScreen, CaseResultScreen, EntryScreen, FlowBox, FlowScreen,
    GuideScreen, HelpScreen, HomeScreen, ListItem, ListScreen, NoticeScreen, PollScreen,
    PublicListScreen, Publicity, SlateScreen, Tile,
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
        url: None,
        urgent: false,
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
        url: None,
        urgent: false,
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
    let entry = EntryScreen {
        kind_label: "政府信息公开事项".into(),
        title: "示范县2026年城乡居民最低生活保障标准".into(),
        index_no: "11339901002580123X/2026-00012".into(),
        publisher: "示范县民政局".into(),
        doc_no: Some("示民发〔2026〕3号".into()),
        date: "2026-01-15".into(),
        summary: "公布全县城乡低保标准。".into(),
        body: "自2026年1月1日起，全县城乡居民最低生活保障标准统一为每人每月1120元。\n\n各乡镇（街道）要按新标准及时调整发放，确保困难群众基本生活。".into(),
        url: Some("https://zwfw.shifan.example/item/339901-mzj-2026-00012".into()),
        links: Vec::new(),
    };
    let guide = GuideScreen {
        title: "最低生活保障审批".into(),
        conditions: vec!["户籍在本县".into(), "家庭人均收入低于当地低保标准".into()],
        materials: vec![
            "居民身份证复印件1份".into(),
            "户口簿原件（核对后退回）".into(),
            "家庭收入情况申报表1份".into(),
        ],
        steps: vec![
            "申请".into(),
            "受理".into(),
            "入户调查".into(),
            "公示".into(),
            "审批".into(),
        ],
        time_limit: "法定30个工作日，承诺15个工作日".into(),
        fees: "不收费".into(),
        place: "各乡镇（街道）便民服务中心社会事务窗口".into(),
        hours: "周一至周五 8:30—12:00，14:00—17:30".into(),
        phone: "0579-87110001".into(),
        url: Some("https://zwfw.shifan.example/guide/dibao".into()),
    };
    let flow = FlowScreen {
        title: "最低生活保障审批".into(),
        steps: vec![
            FlowBox {
                name: "受理".into(),
                post: "乡镇便民服务中心".into(),
                time_limit: "1个工作日".into(),
            },
            FlowBox {
                name: "入户调查".into(),
                post: "乡镇社会事务办".into(),
                time_limit: "10个工作日".into(),
            },
            FlowBox {
                name: "公示".into(),
                post: "村（社区）".into(),
                time_limit: "7天".into(),
            },
            FlowBox {
                name: "审批决定".into(),
                post: "县民政局".into(),
                time_limit: "4个工作日".into(),
            },
        ],
    };
    let people = [
        ("王*英", "上溪村", "1200.00"),
        ("李*", "下溪村", "800.00"),
        ("张*兰", "东门社区", "1500.00"),
        ("欧**花", "上溪村", "600.00"),
        ("陈*明", "西岭村", "1000.00"),
        ("刘*华", "下溪村", "900.00"),
        ("周*", "东门社区", "700.00"),
        ("吴*芳", "西岭村", "1100.00"),
    ];
    let public_list = PublicListScreen {
        title: "临时救助对象名单".into(),
        columns: vec!["姓名".into(), "村（社区）".into(), "金额（元）".into()],
        rows: people
            .iter()
            .map(|(n, v, a)| vec![(*n).into(), (*v).into(), (*a).into()])
            .collect(),
    };
    let case_lookup = CaseLookupScreen {
        entered: "20261103".into(),
        message: None,
    };
    let case_result = CaseResultScreen {
        case_no: "SF20261103000123".into(),
        item: "最低生活保障审批".into(),
        department: "示范县民政局".into(),
        applicant: "李*国".into(),
        status: "正在办理".into(),
        received: "2026-10-20".into(),
        due: "2026-11-10".into(),
        completed: None,
        overdue: true,
    };
    let poll = PollScreen {
        question: "您希望村文化礼堂冬季开放哪类活动？".into(),
        options: vec!["戏曲演出".into(), "健康讲座".into(), "电影放映".into()],
        closes: "2026-12-15".into(),
        votes: Some(vec![12, 30, 7]),
        chosen: None,
    };
    let banner = BannerScreen {
        title: "寒潮预警".into(),
        text: "受强冷空气影响，11月24日至26日我县将出现大风降温天气，最低气温零下5℃，请做好防寒防冻措施，注意用火用电安全。".into(),
    };
    let help = HelpScreen {
        channel: "示范县政务频道".into(),
    };
    vec![
        ("entry", Screen::Entry(entry)),
        ("guide", Screen::Guide(guide)),
        ("flow", Screen::Flow(flow)),
        ("public_list", Screen::PublicList(public_list)),
        ("case_lookup", Screen::CaseLookup(case_lookup)),
        ("case_result", Screen::CaseResult(case_result)),
        ("poll", Screen::Poll(poll)),
        ("banner", Screen::Banner(banner)),
        ("help", Screen::Help(help)),
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
