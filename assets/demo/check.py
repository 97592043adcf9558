#!/usr/bin/env python3
"""Validate assets/demo/county.json against the rules of the demo county bundle.

Checks counts, references, vocabularies, date consistency, uniqueness, ID-number
checksums and the absence of placeholder text.  Prints every failure and exits with
status 1 if there is any; prints a short summary and exits 0 otherwise.

Usage:  python3 assets/demo/check.py [path/to/county.json]
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

PATH = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "county.json"

CATALOGUE_KINDS = {"disclosure", "power", "service"}
FREQUENCIES = {"monthly": 31, "quarterly": 92, "half_yearly": 183, "yearly": 366, "on_change": None}
POWER_TYPES = {"行政许可", "行政处罚", "行政强制", "行政征收", "行政给付", "行政检查", "行政确认",
               "行政奖励", "行政裁决", "其他行政权力"}
NOTICE_KINDS = {"notice", "publicity"}
PRIORITIES = {"normal", "important", "urgent"}
NOTICE_STATUSES = {"draft", "submitted", "returned", "approved", "published", "expired", "withdrawn"}
UNPUBLISHED = {"draft", "submitted", "returned"}
CASE_STATUSES = {"accepted", "in_progress", "awaiting_materials", "completed", "refused", "withdrawn"}
CLOSED = {"completed", "refused", "withdrawn"}
APPLICANT_KINDS = {"individual", "enterprise"}

PLACEHOLDER_VALUES = {"无", "暂无", "无公开信息", "详见附件", "待定", "略", "-", "—", "N/A", "TBD"}
PLACEHOLDER_SUBSTRINGS = ["暂无", "无公开信息", "详见附件", "XXX", "xxx", "×××", "某某", "lorem", "Lorem",
                          "TODO", "FIXME", "占位", "测试数据", "示例文本", "{", "}", "None", "null"]
NUMBERED_TITLE = re.compile(r"(通知|公告|公示|事项|标题|项目)\s*\d+$")

ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK = "10X98765432"
HOLIDAYS = {date(2026, 10, d) for d in range(1, 8)} | {date(2027, 1, 1)}

errors: list[str] = []


def fail(msg: str) -> None:
    errors.append(msg)


def expect(cond: bool, msg: str) -> bool:
    if not cond:
        fail(msg)
    return cond


def parse_day(value, where: str) -> date | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        fail(f"{where}: not a YYYY-MM-DD date: {value!r}")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{where}: invalid date {value!r}")
        return None


def parse_stamp(value, where: str) -> datetime | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00", value):
        fail(f"{where}: not a YYYY-MM-DDTHH:MM:SS+08:00 timestamp: {value!r}")
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        fail(f"{where}: invalid timestamp {value!r}")
        return None


def han_count(text: str) -> int:
    return sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")


def valid_id_number(idn: str, anchor: date) -> bool:
    if not re.fullmatch(r"339901\d{11}[\dX]", idn):
        return False
    try:
        birth = date(int(idn[6:10]), int(idn[10:12]), int(idn[12:14]))
    except ValueError:
        return False
    if not (date(1910, 1, 1) <= birth <= anchor):
        return False
    return ID_CHECK[sum(int(c) * w for c, w in zip(idn[:17], ID_WEIGHTS)) % 11] == idn[17]


def workdays_between(a: date, b: date) -> int:
    n, d = 0, a
    while d < b:
        d += timedelta(days=1)
        if d.weekday() < 5 and d not in HOLIDAYS:
            n += 1
    return n


def walk_strings(node, path="$"):
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, list):
        for i, x in enumerate(node):
            yield from walk_strings(x, f"{path}[{i}]")
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from walk_strings(v, f"{path}.{k}")


def nonempty_str(value, where: str) -> bool:
    return expect(isinstance(value, str) and value.strip() != "", f"{where}: must be a non-empty string")


# ---------------------------------------------------------------------------

def check_top(data: dict) -> date | None:
    keys = ["format", "anchor_date", "county", "regions", "departments", "subjects", "audiences",
            "catalogue", "notices", "cases", "polls", "channels", "blocks", "schedule"]
    expect(list(data) == keys, f"top-level keys must be exactly {keys}, got {list(data)}")
    expect(data.get("format") == 1, "format must be 1")
    anchor = parse_day(data.get("anchor_date"), "anchor_date")
    expect(data.get("county") == {"code": "339901", "name": "示范县", "full_name": "浙江省示范县"},
           "county must be 339901 示范县 浙江省示范县")
    return anchor


def check_regions(data: dict) -> dict:
    regions = data["regions"]
    by_code = {}
    for r in regions:
        expect(set(r) == {"code", "name", "level", "parent"}, f"region {r}: unexpected fields")
        expect(r["code"] not in by_code, f"region code {r['code']} duplicated")
        by_code[r["code"]] = r
    levels = Counter(r["level"] for r in regions)
    expect(levels["county"] == 1, f"exactly one county region expected, got {levels['county']}")
    expect(levels["town"] >= 8, f">= 8 towns expected, got {levels['town']}")
    expect(levels["village"] >= 40, f">= 40 villages expected, got {levels['village']}")
    expect(set(levels) <= {"county", "town", "village"}, f"unknown region levels {set(levels)}")
    names = Counter(r["name"] for r in regions)
    expect(all(n == 1 for n in names.values()), f"region names not unique: {[k for k, n in names.items() if n > 1]}")
    for r in regions:
        code, level, parent = r["code"], r["level"], r["parent"]
        if level == "county":
            expect(parent is None and code == "339901", "county region must be 339901 without parent")
        elif level == "town":
            expect(parent in by_code and by_code[parent]["level"] == "county", f"town {code}: parent must be the county")
            expect(re.fullmatch(r"339901\d{3}", code) is not None, f"town {code}: code must be 9 digits under 339901")
            expect(r["name"].endswith(("镇", "乡", "街道")), f"town {code}: name {r['name']} must end with 镇/乡/街道")
        elif level == "village":
            expect(parent in by_code and by_code[parent]["level"] == "town", f"village {code}: parent must be a town")
            expect(code.startswith(str(parent)) and len(code) == 12, f"village {code}: code must extend its town's code")
            expect(r["name"].endswith(("村", "社区")), f"village {code}: name {r['name']} must end with 村/社区")
    for t in (r for r in regions if r["level"] == "town"):
        n = sum(1 for v in regions if v["parent"] == t["code"])
        expect(n >= 3, f"town {t['name']} has only {n} villages")
    return by_code


def check_departments(data: dict, regions: dict) -> dict:
    depts = {}
    for d in data["departments"]:
        expect(set(d) == {"code", "name", "short_name", "region", "phone", "address"}, f"department {d}: unexpected fields")
        code = d["code"]
        expect(re.fullmatch(r"[a-z][a-z0-9_]{1,15}", code) is not None, f"department code {code!r} is not a short lowercase slug")
        expect(code not in depts, f"department code {code} duplicated")
        depts[code] = d
        expect(d["region"] in regions and regions[d["region"]]["level"] in ("county", "town"),
               f"department {code}: region {d['region']} must be the county or a town")
        expect(re.fullmatch(r"0\d{3}-\d{8}", d["phone"]) is not None, f"department {code}: phone {d['phone']!r}")
        for f in ("name", "short_name", "address"):
            nonempty_str(d[f], f"department {code}.{f}")
    expect(len(depts) >= 30, f">= 30 departments expected, got {len(depts)}")
    names = Counter(d["name"] for d in data["departments"])
    expect(all(n == 1 for n in names.values()), "department names must be unique")
    for t in (r for r in regions.values() if r["level"] == "town"):
        expect(any(d["region"] == t["code"] and d["name"] == f"{t['name']}人民政府" or
                   d["region"] == t["code"] and t["name"].endswith("街道") for d in depts.values()),
               f"town {t['name']} has no government department")
    return depts


def check_vocab(data: dict) -> tuple[set, set]:
    subjects = data["subjects"]
    expect(15 <= len(subjects) <= 22, f"15–22 subjects expected, got {len(subjects)}")
    scodes = [s["code"] for s in subjects]
    expect(len(set(scodes)) == len(scodes), "subject codes must be unique")
    auds = data["audiences"]
    expect(6 <= len(auds) <= 10, f"6–10 audiences expected, got {len(auds)}")
    acodes = [a["code"] for a in auds]
    expect(len(set(acodes)) == len(acodes), "audience codes must be unique")
    expect(all(re.fullmatch(r"[a-z_]+", c) for c in acodes), "audience codes must be ascii")
    expect({"individual", "enterprise"} <= set(acodes), "audiences must include individual and enterprise")
    for x in subjects + auds:
        expect(set(x) == {"code", "name"}, f"vocabulary entry {x}: unexpected fields")
        nonempty_str(x["name"], f"vocabulary {x['code']}")
    return set(scodes), set(acodes)


def check_guide(g, where: str) -> None:
    keys = {"conditions", "materials", "steps", "legal_limit_days", "promised_limit_days", "fees", "place",
            "hours", "phone", "online_url", "basis"}
    if not expect(isinstance(g, dict) and set(g) == keys, f"{where}: guide must have exactly {sorted(keys)}"):
        return
    for f in ("conditions", "steps"):
        expect(isinstance(g[f], list) and len(g[f]) >= 1 and all(isinstance(x, str) and x for x in g[f]),
               f"{where}: guide.{f} must be a non-empty list of strings")
    expect(isinstance(g["materials"], list) and len(g["materials"]) >= 1, f"{where}: guide.materials must not be empty")
    for m in g["materials"]:
        expect(isinstance(m, dict) and set(m) == {"name", "copies", "note"}, f"{where}: material {m} fields")
        nonempty_str(m.get("name"), f"{where}: material name")
        nonempty_str(m.get("copies"), f"{where}: material copies")
        expect(isinstance(m.get("note"), str), f"{where}: material note must be a string")
    legal, promised = g["legal_limit_days"], g["promised_limit_days"]
    expect(isinstance(legal, int) and isinstance(promised, int) and 1 <= promised <= legal,
           f"{where}: need 1 <= promised ({promised}) <= legal ({legal}) limit days")
    for f in ("fees", "place", "hours", "phone", "basis"):
        nonempty_str(g[f], f"{where}: guide.{f}")
    expect(g["basis"].startswith("《"), f"{where}: guide.basis must cite a law: {g['basis']!r}")
    expect(g["online_url"] is None or str(g["online_url"]).startswith("https://"), f"{where}: online_url")


def check_catalogue(data: dict, anchor: date, depts: dict, subjects: set, auds: set) -> dict:
    items = {}
    titles = Counter()
    kinds = Counter()
    stale = 0
    power_types = Counter()
    power_depts = Counter()
    keys = ["index_no", "kind", "title", "department", "doc_no", "date", "subject", "audiences", "valid_from",
            "valid_until", "summary", "body", "update_frequency", "updated_at", "power_type", "url", "guide", "flow"]
    for e in data["catalogue"]:
        idx = e.get("index_no")
        w = f"catalogue {idx}"
        if not expect(list(e) == keys, f"{w}: fields must be {keys}"):
            continue
        expect(re.fullmatch(r"339901-[a-z0-9_]+-\d{4}-\d{5}", idx) is not None, f"{w}: index_no format")
        expect(idx not in items, f"{w}: index_no duplicated")
        items[idx] = e
        kind = e["kind"]
        expect(kind in CATALOGUE_KINDS, f"{w}: kind {kind!r}")
        kinds[kind] += 1
        titles[e["title"]] += 1
        nonempty_str(e["title"], f"{w}.title")
        expect(e["department"] in depts, f"{w}: unknown department {e['department']}")
        expect(e["doc_no"] is None or re.search(r"〔20\d\d〕\d+号$", e["doc_no"]) is not None, f"{w}: doc_no {e['doc_no']!r}")
        d = parse_day(e["date"], f"{w}.date")
        expect(e["subject"] in subjects, f"{w}: unknown subject {e['subject']}")
        expect(isinstance(e["audiences"], list) and len(e["audiences"]) >= 1, f"{w}: audiences must not be empty")
        expect(len(set(e["audiences"])) == len(e["audiences"]), f"{w}: duplicated audiences")
        for a in e["audiences"]:
            expect(a in auds, f"{w}: unknown audience {a}")
        vf = parse_day(e["valid_from"], f"{w}.valid_from") if e["valid_from"] is not None else None
        vu = parse_day(e["valid_until"], f"{w}.valid_until") if e["valid_until"] is not None else None
        if vf and vu:
            expect(vf <= vu, f"{w}: valid_from after valid_until")
        nonempty_str(e["summary"], f"{w}.summary")
        nonempty_str(e["body"], f"{w}.body")
        expect(han_count(e["body"]) >= 80, f"{w}: body too short ({han_count(e['body'])} Han characters)")
        expect("\n\n\n" not in e["body"] and not e["body"].startswith("\n"), f"{w}: body paragraph separators")
        freq = e["update_frequency"]
        expect(freq in FREQUENCIES, f"{w}: update_frequency {freq!r}")
        upd = parse_stamp(e["updated_at"], f"{w}.updated_at")
        if d and upd:
            expect(d <= upd.date() <= anchor, f"{w}: need date <= updated_at <= anchor")
            expect(d <= anchor, f"{w}: date after anchor")
            period = FREQUENCIES.get(freq)
            if period and (anchor - upd.date()).days > period:
                stale += 1
        if kind == "power":
            expect(e["power_type"] in POWER_TYPES, f"{w}: power_type {e['power_type']!r}")
            power_types[e["power_type"]] += 1
            power_depts[e["department"]] += 1
            expect(isinstance(e["flow"], list) and 3 <= len(e["flow"]) <= 6, f"{w}: power items need 3–6 flow steps")
            for s in e["flow"]:
                expect(isinstance(s, dict) and set(s) == {"name", "post", "authority", "procedure", "time_limit"},
                       f"{w}: flow step fields")
                for f in ("name", "post", "authority", "procedure", "time_limit"):
                    nonempty_str(s.get(f), f"{w}: flow.{f}")
        else:
            expect(e["power_type"] is None, f"{w}: power_type must be null for {kind}")
            expect(e["flow"] == [], f"{w}: flow must be [] for {kind}")
        if kind == "disclosure":
            expect(e["guide"] is None, f"{w}: disclosure must not have a guide")
        else:
            check_guide(e["guide"], w)
            expect(e["url"] is not None, f"{w}: power/service entries need a url")
        expect(e["url"] is None or e["url"].startswith("https://zwfw.shifan.example/item/"), f"{w}: url {e['url']!r}")
    expect(kinds == Counter({"disclosure": 65, "power": 295, "service": 25}),
           f"catalogue must hold 65 disclosure / 295 power / 25 service, got {dict(kinds)}")
    dup = [t for t, n in titles.items() if n > 1]
    expect(not dup, f"catalogue titles not unique: {dup[:5]}")
    expect(len(power_types) == len(POWER_TYPES), f"all power types should occur, missing {POWER_TYPES - set(power_types)}")
    expect(len(power_depts) >= 20, f"power items should span >= 20 departments, got {len(power_depts)}")
    expect(max(power_depts.values()) <= 40, "power items too concentrated in one department")
    covered = {e["department"] for e in data["catalogue"]}
    expect(covered == set(depts), f"departments without catalogue entries: {sorted(set(depts) - covered)}")
    expect(stale >= 10, f">= 10 deliberately stale entries expected, got {stale}")
    items["_stale"] = stale
    return items


def check_notices(data: dict, anchor: date, depts: dict, regions: dict) -> dict:
    notices = data["notices"]
    stats = Counter()
    titles = Counter()
    long_ones = 0
    region_levels = {"county": set(), "town": set(), "village": set()}
    keys = ["kind", "title", "department", "region", "published_at", "valid_from", "valid_until", "objection",
            "priority", "status", "body", "list"]
    for i, n in enumerate(notices, 1):
        w = f"notice #{i} {n.get('title', '')[:24]}"
        if not expect(list(n) == keys, f"{w}: fields must be {keys}"):
            continue
        titles[n["title"]] += 1
        expect(n["kind"] in NOTICE_KINDS, f"{w}: kind {n['kind']!r}")
        expect(n["department"] in depts, f"{w}: unknown department {n['department']}")
        expect(n["region"] in regions, f"{w}: unknown region {n['region']}")
        if n["region"] in regions:
            region_levels[regions[n["region"]]["level"]].add(n["region"])
        expect(n["priority"] in PRIORITIES, f"{w}: priority {n['priority']!r}")
        expect(n["status"] in NOTICE_STATUSES, f"{w}: status {n['status']!r}")
        pub = parse_stamp(n["published_at"], f"{w}.published_at") if n["published_at"] is not None else None
        expect((n["published_at"] is None) == (n["status"] in UNPUBLISHED),
               f"{w}: published_at must be null exactly for draft/submitted/returned")
        vf = parse_day(n["valid_from"], f"{w}.valid_from")
        vu = parse_day(n["valid_until"], f"{w}.valid_until") if n["valid_until"] is not None else None
        if vf and vu:
            expect(vf <= vu, f"{w}: valid_from after valid_until")
        if pub and n["status"] in ("published", "expired", "withdrawn"):
            expect(pub.date() <= anchor, f"{w}: published in the future")
        current = vf is not None and vf <= anchor and (vu is None or vu >= anchor)
        if n["status"] == "published":
            expect(current, f"{w}: published notices must be valid at the anchor")
        if n["status"] == "expired":
            expect(vu is not None and vu < anchor, f"{w}: expired notices must have ended before the anchor")
        body = n["body"]
        h = han_count(body)
        expect(150 <= h <= 900 or 1500 <= h <= 3000, f"{w}: body has {h} Han characters (want 150–900 or 1500–3000)")
        long_ones += h >= 1500
        expect("\n\n" in body and "\n\n\n" not in body, f"{w}: body must be paragraphs separated by one blank line")
        o = n["objection"]
        if n["kind"] == "publicity":
            if expect(isinstance(o, dict) and set(o) == {"start", "end", "contact", "phone", "address"},
                      f"{w}: publicity needs an objection period"):
                s, e = parse_day(o["start"], f"{w}.objection.start"), parse_day(o["end"], f"{w}.objection.end")
                if s and e:
                    expect(s <= e, f"{w}: objection start after end")
                    expect(vf is None or vf <= s, f"{w}: objection period starts before the notice is valid")
                    expect(vu is None or e <= vu, f"{w}: objection period outlasts the notice")
                    if n["status"] == "published" and s <= anchor <= e:
                        stats["objection_open"] += 1
                for f in ("contact", "phone", "address"):
                    nonempty_str(o[f], f"{w}: objection.{f}")
        else:
            expect(o is None, f"{w}: only publicity notices have an objection period")
        lst = n["list"]
        if lst is not None:
            check_list(lst, w, n, regions, anchor)
            if 20 <= len(lst["rows"]) <= 60 and n["status"] == "published":
                stats["lists"] += 1
        if n["status"] == "published" and current:
            stats["current"] += 1
            stats[f"current_{n['priority']}"] += 1
        stats[f"status_{n['status']}"] += 1
        stats[f"priority_{n['priority']}"] += 1
    expect(len(notices) >= 45, f">= 45 notices expected, got {len(notices)}")
    dup = [t for t, k in titles.items() if k > 1]
    expect(not dup, f"notice titles not unique: {dup}")
    for s in NOTICE_STATUSES:
        expect(stats[f"status_{s}"] >= 1, f"no notice with status {s}")
    expect(stats["current"] >= 30, f">= 30 published, currently valid notices expected, got {stats['current']}")
    expect(stats["current_urgent"] >= 2, f">= 2 urgent published notices expected, got {stats['current_urgent']}")
    expect(stats["priority_important"] >= 5, f">= 5 important notices expected, got {stats['priority_important']}")
    expect(stats["objection_open"] >= 4, f">= 4 publicity notices with an open objection period, got {stats['objection_open']}")
    expect(stats["lists"] >= 3, f">= 3 published publicity lists of 20–60 rows expected, got {stats['lists']}")
    expect(long_ones >= 3, f">= 3 long notices (1500–3000 Han characters) expected, got {long_ones}")
    expect(len(region_levels["county"]) == 1, "some notices must be county-wide")
    expect(len(region_levels["town"]) >= 3, f"notices should target >= 3 towns, got {len(region_levels['town'])}")
    expect(len(region_levels["village"]) >= 3, f"notices should target >= 3 villages, got {len(region_levels['village'])}")
    stats["long"] = long_ones
    return stats


def check_list(lst, w: str, n: dict, regions: dict, anchor: date) -> None:
    if not expect(isinstance(lst, dict) and set(lst) == {"title", "columns", "rows"}, f"{w}: list fields"):
        return
    nonempty_str(lst["title"], f"{w}: list.title")
    expect(isinstance(lst["columns"], list) and 5 <= len(lst["columns"]) <= 6, f"{w}: list needs 5–6 columns")
    expect(lst["columns"][:1] == ["姓名"] and lst["columns"][3:4] == ["身份证号码"] and lst["columns"][4:5] == ["联系电话"],
           f"{w}: columns must follow the row field order (姓名, 村, 金额, 身份证号码, 联系电话[, 备注])")
    ids, names = set(), set()
    scope = n["region"]
    for j, row in enumerate(lst["rows"], 1):
        rw = f"{w} row {j}"
        if not expect(set(row) == {"name", "village", "amount", "id_number", "phone", "note"}, f"{rw}: fields"):
            continue
        expect(re.fullmatch(r"[\u4e00-\u9fff]{2,4}", row["name"] or "") is not None, f"{rw}: name {row['name']!r}")
        expect(row["name"] not in names, f"{rw}: name repeated in list")
        names.add(row["name"])
        v = row["village"]
        expect(v in regions and regions[v]["level"] == "village", f"{rw}: village {v!r} is not a village code")
        if v in regions and regions[scope]["level"] != "county":
            expect(v.startswith(scope) or scope.startswith(v), f"{rw}: village {v} outside the notice's region {scope}")
        expect(re.fullmatch(r"\d+\.\d{2}", row["amount"] or "") is not None, f"{rw}: amount {row['amount']!r}")
        expect(valid_id_number(row["id_number"] or "", anchor), f"{rw}: invalid ID number {row['id_number']!r}")
        expect(row["id_number"] not in ids, f"{rw}: ID number repeated")
        ids.add(row["id_number"])
        expect(re.fullmatch(r"1[3-9]\d{9}", row["phone"] or "") is not None, f"{rw}: phone {row['phone']!r}")
        expect(isinstance(row["note"], str), f"{rw}: note must be a string")
        if len(lst["columns"]) == 6:
            nonempty_str(row["note"], f"{rw}: note (6th column)")


def check_cases(data: dict, anchor: date, items: dict, depts: dict) -> Counter:
    stats = Counter()
    seen = set()
    keys = ["case_no", "item", "department", "applicant", "applicant_kind", "received", "due", "completed",
            "status", "note"]
    for c in data["cases"]:
        w = f"case {c.get('case_no')}"
        if not expect(list(c) == keys, f"{w}: fields must be {keys}"):
            continue
        expect(re.fullmatch(r"SF\d{8,20}", c["case_no"]) is not None, f"{w}: case_no must be SF + digits")
        expect(c["case_no"] not in seen, f"{w}: duplicated case number")
        seen.add(c["case_no"])
        item = items.get(c["item"])
        if expect(item is not None and item["kind"] in ("power", "service"), f"{w}: item {c['item']} is not a power/service entry"):
            expect(c["department"] == item["department"], f"{w}: department differs from the item's")
        expect(c["department"] in depts, f"{w}: unknown department")
        nonempty_str(c["applicant"], f"{w}.applicant")
        expect(c["applicant_kind"] in APPLICANT_KINDS, f"{w}: applicant_kind {c['applicant_kind']!r}")
        expect(c["status"] in CASE_STATUSES, f"{w}: status {c['status']!r}")
        expect(isinstance(c["note"], str), f"{w}: note must be a string")
        rec = parse_day(c["received"], f"{w}.received")
        due = parse_day(c["due"], f"{w}.due")
        done = parse_day(c["completed"], f"{w}.completed") if c["completed"] is not None else None
        expect((c["completed"] is not None) == (c["status"] in CLOSED),
               f"{w}: completed must be set exactly for completed/refused/withdrawn")
        if rec:
            expect(anchor - timedelta(days=92) <= rec <= anchor, f"{w}: received {rec} not within 90 days before the anchor")
            expect(c["case_no"][2:10] == rec.strftime("%Y%m%d"), f"{w}: case number should start with the received date")
        if rec and due:
            expect(rec <= due, f"{w}: due before received")
            if item and item.get("guide"):
                promised = item["guide"]["promised_limit_days"]
                expect(workdays_between(rec, due) == promised,
                       f"{w}: due is {workdays_between(rec, due)} working days after received, item promises {promised}")
        if rec and done:
            expect(rec <= done <= anchor, f"{w}: completed must be between received and the anchor")
        if due and c["status"] not in CLOSED and due < anchor:
            stats["overdue"] += 1
        if due and done and c["status"] == "completed" and done > due:
            stats["late"] += 1
        if c["status"] == "awaiting_materials":
            expect(c["note"] != "", f"{w}: awaiting_materials needs a note saying what is missing")
        stats[c["status"]] += 1
    expect(len(data["cases"]) >= 320, f">= 320 cases expected, got {len(data['cases'])}")
    for s in CASE_STATUSES:
        expect(stats[s] >= 1, f"no case with status {s}")
    expect(stats["overdue"] >= 5, f">= 5 overdue open cases expected, got {stats['overdue']}")
    expect(stats["late"] >= 5, f">= 5 cases completed late expected, got {stats['late']}")
    return stats


def check_polls(data: dict, anchor: date, regions: dict) -> Counter:
    stats = Counter()
    for p in data["polls"]:
        w = f"poll {p.get('question', '')[:20]}"
        if not expect(set(p) == {"question", "options", "opens", "closes", "region", "votes"}, f"{w}: fields"):
            continue
        nonempty_str(p["question"], f"{w}.question")
        expect(2 <= len(p["options"]) <= 9, f"{w}: 2–9 options expected")
        expect(len(set(p["options"])) == len(p["options"]), f"{w}: duplicate options")
        expect(len(p["votes"]) == len(p["options"]) and all(isinstance(v, int) and v >= 0 for v in p["votes"]),
               f"{w}: one non-negative vote count per option")
        expect(p["region"] in regions, f"{w}: unknown region")
        o, c = parse_day(p["opens"], f"{w}.opens"), parse_day(p["closes"], f"{w}.closes")
        if o and c:
            expect(o <= c, f"{w}: opens after closes")
            stats["open"] += o <= anchor <= c
            stats["closed"] += c < anchor
            if o > anchor:
                expect(sum(p["votes"]) == 0, f"{w}: a poll that has not opened cannot have votes")
    expect(len(data["polls"]) >= 4, f">= 4 polls expected, got {len(data['polls'])}")
    expect(stats["open"] >= 2, f">= 2 polls open at the anchor expected, got {stats['open']}")
    expect(stats["closed"] >= 1, f">= 1 closed poll expected, got {stats['closed']}")
    return stats


def check_channels(data: dict, regions: dict) -> None:
    chans = data["channels"]
    names = [c["name"] for c in chans]
    expect(len(set(names)) == len(names), "channel names must be unique")
    expect(all(re.fullmatch(r"[a-z][a-z0-9]*", n) for n in names), "channel names must be ascii slugs")
    county = [c for c in chans if c["name"] == "county"]
    expect(len(county) == 1 and county[0]["region"] == "339901", "exactly one channel 'county' for region 339901")
    towns = {r["code"] for r in regions.values() if r["level"] == "town"}
    chan_towns = [c["region"] for c in chans if c["name"] != "county"]
    expect(sorted(chan_towns) == sorted(towns), "one channel per town expected")
    for c in chans:
        expect(set(c) == {"name", "title", "region"}, f"channel {c}: fields")
        nonempty_str(c["title"], f"channel {c['name']}.title")


SELECTORS = {"notices", "notice", "entry", "section", "guides", "cases_today", "poll", "polls"}


def check_schedule(data: dict, depts: dict) -> None:
    blocks = data["blocks"]
    names = [b["name"] for b in blocks]
    expect(len(set(names)) == len(names), "block names must be unique")
    for b in blocks:
        expect(set(b) == {"name", "description", "items"}, f"block {b.get('name')}: fields")
        expect(1 <= len(b["items"]) <= 30, f"block {b['name']}: 1 to 30 items")
        for i in b["items"]:
            expect(set(i) == {"selector", "arg", "count", "dwell"}, f"block {b['name']}: item fields")
            expect(i["selector"] in SELECTORS, f"block {b['name']}: selector {i['selector']}")
            expect(3 <= i["dwell"] <= 300, f"block {b['name']}: dwell {i['dwell']}")
            if i["selector"] == "guides":
                expect(i["arg"] in depts, f"block {b['name']}: department {i['arg']}")
            if i["selector"] == "section":
                expect(i["arg"] in {"disclosure", "power", "service"}, f"block {b['name']}: section {i['arg']}")
    channels = {c["name"] for c in data["channels"]}
    for e in data["schedule"]:
        expect(e["channel"] in channels, f"schedule: channel {e['channel']}")
        expect(e["block"] in names, f"schedule: block {e['block']}")
        expect(re.fullmatch(r"[0-2][0-9]:[0-5][0-9]", e["start"]) is not None, f"schedule: start {e['start']}")
        expect(1 <= e["minutes"] <= 1440, f"schedule: minutes {e['minutes']}")
        expect(e["repeat"] in {"once", "daily", "weekdays", "days"}, f"schedule: repeat {e['repeat']}")
        expect((e["repeat"] == "days") == bool(e["weekdays"]), f"schedule: weekdays of {e}")


def check_text(data: dict) -> None:
    for path, s in walk_strings(data):
        if s.strip() in PLACEHOLDER_VALUES:
            fail(f"{path}: placeholder value {s!r}")
        for bad in PLACEHOLDER_SUBSTRINGS:
            if bad in s and not path.endswith(("url", "online_url")):
                fail(f"{path}: placeholder text {bad!r} in {s[:40]!r}")
        if s != s.strip() and not path.endswith("body"):
            fail(f"{path}: leading/trailing whitespace")
    for e in data["catalogue"] + data["notices"]:
        if NUMBERED_TITLE.search(e["title"]):
            fail(f"mechanical title {e['title']!r}")


def main() -> int:
    try:
        raw = PATH.read_bytes()
        data = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError) as exc:
        print(f"check.py: cannot load {PATH}: {exc}", file=sys.stderr)
        return 1
    anchor = check_top(data)
    if anchor is None:
        print("check.py: anchor_date missing", file=sys.stderr)
        return 1
    regions = check_regions(data)
    depts = check_departments(data, regions)
    subjects, auds = check_vocab(data)
    items = check_catalogue(data, anchor, depts, subjects, auds)
    nstats = check_notices(data, anchor, depts, regions)
    cstats = check_cases(data, anchor, items, depts)
    pstats = check_polls(data, anchor, regions)
    check_channels(data, regions)
    check_schedule(data, depts)
    check_text(data)
    if errors:
        for e in errors[:200]:
            print("FAIL:", e, file=sys.stderr)
        if len(errors) > 200:
            print(f"... and {len(errors) - 200} more", file=sys.stderr)
        print(f"check.py: {len(errors)} problem(s) in {PATH}", file=sys.stderr)
        return 1
    kinds = Counter(e["kind"] for e in data["catalogue"])
    levels = Counter(r["level"] for r in data["regions"])
    print(f"OK {PATH.name} ({len(raw)} bytes)")
    print(f"  regions: 1 county, {levels['town']} towns, {levels['village']} villages; "
          f"{len(data['departments'])} departments; {len(data['subjects'])} subjects; {len(data['audiences'])} audiences")
    print(f"  catalogue: {kinds['disclosure']} disclosure, {kinds['power']} power, {kinds['service']} service; "
          f"{items['_stale']} stale for their update frequency")
    print(f"  notices: {len(data['notices'])} ({nstats['current']} published and current, "
          f"{nstats['current_urgent']} urgent, {nstats['priority_important']} important, "
          f"{nstats['objection_open']} open objection periods, {nstats['lists']} lists, {nstats['long']} long)")
    print("  cases: " + str(len(data["cases"])) + " (" +
          ", ".join(f"{s} {cstats[s]}" for s in sorted(CASE_STATUSES)) +
          f"; overdue {cstats['overdue']}, completed late {cstats['late']})")
    print(f"  polls: {len(data['polls'])} ({pstats['open']} open, {pstats['closed']} closed); "
          f"channels: {len(data['channels'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
