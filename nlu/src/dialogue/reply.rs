//! What the assistant says, in Chinese and English. Every sentence the
//! dialogue can produce is written here, so wording changes in one place.

use autoglm_core::catalog::{Room, Service};
use autoglm_core::money::Money;
use autoglm_core::state::OrderState;
use autoglm_core::Order;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use super::{ActionKind, Draft, Missing};
use crate::Lang;

/// Picks the sentence for `lang`.
pub fn pick(lang: Lang, zh: String, en: String) -> String {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// A service as a customer calls it.
pub fn service_name(service: Service, lang: Lang) -> &'static str {
    use Service::*;
    let (zh, en) = match service {
        Cleaning => ("日常保洁", "home cleaning"),
        DeepCleaning => ("深度保洁", "deep cleaning"),
        MoveInCleaning => ("开荒保洁", "move-in cleaning"),
        WindowCleaning => ("擦玻璃", "window cleaning"),
        ApplianceCleaning => ("家电清洗", "appliance cleaning"),
        Nanny => ("育儿嫂", "nanny"),
        MaternityNurse => ("月嫂", "maternity nurse"),
        ElderlyCare => ("老人护理", "elderly care"),
        Plumbing => ("水管维修", "plumbing"),
        Electrical => ("电路维修", "electrical repair"),
        ApplianceRepair => ("家电维修", "appliance repair"),
        Moving => ("搬家", "moving"),
    };
    if lang == Lang::Zh {
        zh
    } else {
        en
    }
}

/// A room as a customer calls it.
pub fn room_name(room: Room, lang: Lang) -> &'static str {
    let (zh, en) = match room {
        Room::Kitchen => ("厨房", "kitchen"),
        Room::Bathroom => ("卫生间", "bathroom"),
        Room::LivingRoom => ("客厅", "living room"),
        Room::Bedroom => ("卧室", "bedroom"),
        Room::Balcony => ("阳台", "balcony"),
        Room::WholeHome => ("全屋", "whole home"),
    };
    if lang == Lang::Zh {
        zh
    } else {
        en
    }
}

/// An order state as a customer reads it.
pub fn state_name(state: OrderState, lang: Lang) -> &'static str {
    let (zh, en) = match state {
        OrderState::Negotiating => ("正在匹配服务人员", "finding a worker"),
        OrderState::AwaitingPayment => ("待支付", "awaiting payment"),
        OrderState::Confirmed => ("已确认", "confirmed"),
        OrderState::InService => ("服务中", "in service"),
        OrderState::Completed => ("已完成", "completed"),
        OrderState::Cancelled => ("已取消", "cancelled"),
        OrderState::Unassignable => ("暂时无法安排", "could not be assigned"),
    };
    if lang == Lang::Zh {
        zh
    } else {
        en
    }
}

const WEEKDAYS_ZH: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];

/// A day, as `12月1日（周二）` / `Tue 1 Dec`.
pub fn day(date: NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!(
            "{}月{}日（{}）",
            date.month(),
            date.day(),
            WEEKDAYS_ZH[date.weekday().num_days_from_monday() as usize]
        ),
        Lang::En => date.format("%a %-d %b").to_string(),
    }
}

/// A time of day, `10:00`.
pub fn clock(time: NaiveTime) -> String {
    format!("{:02}:{:02}", time.hour(), time.minute())
}

/// A day and time of day.
pub fn when(at: NaiveDateTime, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("{} {}", day(at.date(), lang), clock(at.time())),
        Lang::En => format!("{}, {}", day(at.date(), lang), clock(at.time())),
    }
}

fn when_tz(at: &DateTime<FixedOffset>, lang: Lang) -> String {
    when(at.naive_local(), lang)
}

/// `¥240.00`.
pub fn money(m: Money) -> String {
    let sign = if m.amount_cents < 0 { "-" } else { "" };
    let cents = m.amount_cents.unsigned_abs();
    format!("{sign}¥{}.{:02}", cents / 100, cents % 100)
}

fn rooms_text(rooms: &[Room], lang: Lang) -> String {
    let names: Vec<&str> = rooms.iter().map(|r| room_name(*r, lang)).collect();
    names.join(if lang == Lang::Zh { "、" } else { ", " })
}

fn order_line(order: &Order, lang: Lang) -> String {
    let mut what = service_name(order.service, lang).to_string();
    if order.service.takes_rooms() && !order.rooms.is_empty() {
        what = match lang {
            Lang::Zh => format!("{what}（{}）", rooms_text(&order.rooms, lang)),
            Lang::En => format!("{what} ({})", rooms_text(&order.rooms, lang)),
        };
    }
    pick(
        lang,
        format!("订单 {}：{}，{}", order.id, what, when_tz(&order.start, lang)),
        format!("order {}: {}, {}", order.id, what, when_tz(&order.start, lang)),
    )
}

fn worker_part(order: &Order, lang: Lang) -> String {
    match &order.worker {
        Some(w) => pick(
            lang,
            format!("服务人员 {}（评分 {:.1}）", w.name, w.rating),
            format!("your worker is {} (rated {:.1})", w.name, w.rating),
        ),
        None => pick(lang, "尚未分配服务人员".into(), "no worker assigned yet".into()),
    }
}

/// The question that asks for `missing`.
pub fn ask(missing: Missing, draft: &Draft, lang: Lang) -> String {
    match missing {
        Missing::Service => pick(
            lang,
            "请问您需要什么服务？比如日常保洁、深度保洁、擦玻璃、育儿嫂、月嫂、老人护理、维修或搬家。".into(),
            "Which service do you need? For example home cleaning, deep cleaning, window cleaning, a nanny, \
             a maternity nurse, elderly care, a repair or moving."
                .into(),
        ),
        Missing::Time => match draft.date {
            Some(date) => pick(
                lang,
                format!("{}几点开始比较方便？", day(date, lang)),
                format!("What time on {} suits you?", day(date, lang)),
            ),
            None => pick(
                lang,
                "请问您希望哪天几点上门？比如明天上午10点。".into(),
                "When should we come? For example tomorrow at 10am.".into(),
            ),
        },
        Missing::Address => pick(lang, "请问服务地址是哪里？".into(), "What is the address for the service?".into()),
        Missing::Order => pick(lang, "您说的是哪个订单？".into(), "Which order do you mean?".into()),
        Missing::Rating => pick(
            lang,
            "请为这次服务打个分吧（1-5星）。".into(),
            "How would you rate the service, from 1 to 5 stars?".into(),
        ),
        Missing::NewTime => pick(lang, "要改到什么时间呢？".into(), "What time should it move to?".into()),
    }
}

/// The summary before a booking is placed.
pub fn summary(draft: &Draft, at: NaiveDateTime, minutes: u32, price: Money, lang: Lang) -> String {
    let service = draft.service.map(|s| service_name(s, lang)).unwrap_or_default();
    let rooms = if draft.service.is_some_and(Service::takes_rooms) && !draft.rooms.is_empty() {
        match lang {
            Lang::Zh => format!("（{}）", rooms_text(&draft.rooms, lang)),
            Lang::En => format!(" ({})", rooms_text(&draft.rooms, lang)),
        }
    } else {
        String::new()
    };
    let address = draft.address.clone().unwrap_or_default();
    pick(
        lang,
        format!(
            "好的，为您预约：{service}{rooms}，{}，约{}，地址：{address}，预计费用 {}。确认下单吗？",
            when(at, lang),
            hours_zh(minutes),
            money(price)
        ),
        format!(
            "Here is your booking: {service}{rooms}, {}, about {}, at {address}, estimated {}. Shall I place it?",
            when(at, lang),
            hours_en(minutes),
            money(price)
        ),
    )
}

fn hours_zh(minutes: u32) -> String {
    if minutes.is_multiple_of(60) {
        format!("{}小时", minutes / 60)
    } else {
        format!("{}小时{}分钟", minutes / 60, minutes % 60)
    }
}

fn hours_en(minutes: u32) -> String {
    match (minutes / 60, minutes % 60) {
        (1, 0) => "1 hour".into(),
        (h, 0) => format!("{h} hours"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// A start time the policy does not accept.
pub fn bad_time(reason: BadTime, lang: Lang) -> String {
    match reason {
        BadTime::Past => pick(
            lang,
            "这个时间已经过去了，请换一个时间。".into(),
            "That time has already passed; please pick another.".into(),
        ),
        BadTime::TooSoon(minutes) => pick(
            lang,
            format!("需要至少提前{minutes}分钟预约，请换一个时间。"),
            format!("Bookings need at least {minutes} minutes' notice; please pick another time."),
        ),
        BadTime::TooFar(days) => pick(
            lang,
            format!("最多只能提前{days}天预约，请换一个时间。"),
            format!("Bookings are taken at most {days} days ahead; please pick another time."),
        ),
    }
}

/// Why a start time was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadTime {
    /// Before now.
    Past,
    /// Sooner than the minimum lead time (minutes).
    TooSoon(u32),
    /// Beyond the booking horizon (days).
    TooFar(u32),
}

/// A requested duration out of the service's range.
pub fn bad_duration(min: u32, max: u32, lang: Lang) -> String {
    pick(
        lang,
        format!(
            "这项服务的时长需要在{}到{}之间（以半小时为单位），先按默认时长为您安排。",
            hours_zh(min),
            hours_zh(max)
        ),
        format!(
            "This service is booked for {} to {} in half-hour steps; I used the usual length instead.",
            hours_en(min),
            hours_en(max)
        ),
    )
}

/// A friendly answer to small talk, then the pending question if any.
pub fn small_talk(lang: Lang, pending_question: Option<String>) -> String {
    match pending_question {
        Some(q) => pick(lang, format!("抱歉，我没太明白。{q}"), format!("Sorry, I didn't quite get that. {q}")),
        None => pick(
            lang,
            "您好！我可以帮您预约保洁、育儿嫂、月嫂、老人护理、维修和搬家，也可以查询、改期、取消订单。\
             比如：明天上午10点来打扫厨房。"
                .into(),
            "Hello! I can book cleaning, nannies, maternity nurses, elderly care, repairs and moving, and check, \
             reschedule or cancel your orders. Try: clean my kitchen tomorrow at 10am."
                .into(),
        ),
    }
}

/// The booking was dropped.
pub fn booking_dropped(lang: Lang) -> String {
    pick(
        lang,
        "好的，这次预约不下单了。还有什么可以帮您？".into(),
        "OK, I won't place that booking. Anything else I can do?".into(),
    )
}

/// The customer dropped an order action half-way.
pub fn action_dropped(lang: Lang) -> String {
    pick(lang, "好的，那先不处理了。还有什么可以帮您？".into(), "OK, I'll leave it. Anything else?".into())
}

/// The customer wants to change the draft but did not say what.
pub fn what_to_change(lang: Lang) -> String {
    pick(
        lang,
        "好的，请告诉我要修改的内容，比如时间、地址或服务项目。".into(),
        "Sure, what should I change: the time, the address or the service?".into(),
    )
}

/// Nothing the customer could mean.
pub fn no_order(kind: ActionKind, lang: Lang) -> String {
    let (zh, en) = match kind {
        ActionKind::Cancel => ("可以取消的订单", "order that can be cancelled"),
        ActionKind::Reschedule => ("可以改期的订单", "order that can be rescheduled"),
        ActionKind::ChangeWorker => ("可以更换服务人员的订单", "order whose worker can be changed"),
        ActionKind::Query => ("订单", "order"),
        ActionKind::Pay => ("待支付的订单", "order awaiting payment"),
        ActionKind::Rate => ("待评价的订单", "finished order to rate"),
    };
    pick(lang, format!("您目前没有{zh}。"), format!("You have no {en} at the moment."))
}

/// Several orders fit: which one?
pub fn choose(orders: &[&Order], lang: Lang) -> String {
    let lines: Vec<String> =
        orders.iter().enumerate().map(|(i, o)| format!("{}. {}", i + 1, order_line(o, lang))).collect();
    pick(
        lang,
        format!("您有{}个订单，请问是哪一个？\n{}", orders.len(), lines.join("\n")),
        format!("You have {} orders; which one do you mean?\n{}", orders.len(), lines.join("\n")),
    )
}

/// An order was placed (or at least stored); what happened to it.
pub fn placed(order: &Order, lang: Lang) -> String {
    match order.state {
        OrderState::AwaitingPayment | OrderState::Confirmed => pick(
            lang,
            format!(
                "预约成功！{}，{}，费用 {}。{}",
                order_line(order, lang),
                worker_part(order, lang),
                money(order.price),
                if order.state == OrderState::AwaitingPayment { "请在15分钟内完成支付。" } else { "" }
            ),
            format!(
                "Booked! {}; {}; price {}.{}",
                order_line(order, lang),
                worker_part(order, lang),
                money(order.price),
                if order.state == OrderState::AwaitingPayment { " Please pay within 15 minutes." } else { "" }
            ),
        ),
        OrderState::Unassignable => unassignable(order, lang),
        _ => pick(
            lang,
            format!("已收到您的预约（{}），正在为您匹配服务人员。", order_line(order, lang)),
            format!("Got it ({}); we are finding you a worker.", order_line(order, lang)),
        ),
    }
}

fn unassignable(order: &Order, lang: Lang) -> String {
    let alternatives: Vec<String> = order.alternatives.iter().take(3).map(|t| when_tz(t, lang)).collect();
    if alternatives.is_empty() {
        pick(
            lang,
            "抱歉，这个时间段暂时没有可以接单的服务人员。换个时间试试？".into(),
            "Sorry, nobody is free at that time. Would another time work?".into(),
        )
    } else {
        pick(
            lang,
            format!(
                "抱歉，这个时间段暂时没有可以接单的服务人员。这些时间可以安排：{}。要换哪个时间？",
                alternatives.join("、")
            ),
            format!(
                "Sorry, nobody is free at that time. These times work: {}. Which one would you like?",
                alternatives.join("; ")
            ),
        )
    }
}

/// An order action went through; what it did.
pub fn done(kind: ActionKind, order: &Order, lang: Lang) -> String {
    match kind {
        ActionKind::Cancel => {
            let fee = order.cancellation_fee.filter(|f| f.amount_cents > 0);
            pick(
                lang,
                format!(
                    "已为您取消{}。{}",
                    order_line(order, lang),
                    fee.map(|f| format!("按取消规则收取 {}。", money(f))).unwrap_or_else(|| "未产生费用。".into())
                ),
                format!(
                    "Cancelled {}.{}",
                    order_line(order, lang),
                    fee.map(|f| format!(" A cancellation fee of {} applies.", money(f)))
                        .unwrap_or_else(|| " No fee.".into())
                ),
            )
        }
        ActionKind::Reschedule | ActionKind::ChangeWorker if order.state == OrderState::Unassignable => {
            unassignable(order, lang)
        }
        ActionKind::Reschedule => pick(
            lang,
            format!("已改期：{}，{}。", order_line(order, lang), worker_part(order, lang)),
            format!("Rescheduled: {}; {}.", order_line(order, lang), worker_part(order, lang)),
        ),
        ActionKind::ChangeWorker => pick(
            lang,
            format!("已为您更换：{}，{}。", order_line(order, lang), worker_part(order, lang)),
            format!("Changed: {}; {}.", order_line(order, lang), worker_part(order, lang)),
        ),
        ActionKind::Query => pick(
            lang,
            format!(
                "{}，状态：{}，{}。",
                order_line(order, lang),
                state_name(order.state, lang),
                worker_part(order, lang)
            ),
            format!(
                "{} is {}; {}.",
                capitalised(&order_line(order, lang)),
                state_name(order.state, lang),
                worker_part(order, lang)
            ),
        ),
        ActionKind::Pay => {
            let expires = order.payment.as_ref().and_then(|p| p.expires_at).map(|t| clock(t.naive_local().time()));
            pick(
                lang,
                format!(
                    "请支付 {}（{}）。{}",
                    money(order.price),
                    order_line(order, lang),
                    expires.as_ref().map(|t| format!("请在 {t} 前完成支付。")).unwrap_or_default()
                ),
                format!(
                    "Please pay {} for {}.{}",
                    money(order.price),
                    order_line(order, lang),
                    expires.map(|t| format!(" The payment is open until {t}.")).unwrap_or_default()
                ),
            )
        }
        ActionKind::Rate => {
            let stars = order.rating.unwrap_or(0) as usize;
            pick(
                lang,
                format!("感谢您的评价：{}（{}）。", "★".repeat(stars), order_line(order, lang)),
                format!("Thank you for rating {} {}.", order_line(order, lang), "★".repeat(stars)),
            )
        }
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The engine refused or failed an action.
pub fn refused(kind: Option<ActionKind>, reason: &str, lang: Lang) -> String {
    let what = match kind {
        None => ("下单", "place the booking"),
        Some(ActionKind::Cancel) => ("取消订单", "cancel the order"),
        Some(ActionKind::Reschedule) => ("改期", "reschedule"),
        Some(ActionKind::ChangeWorker) => ("更换服务人员", "change the worker"),
        Some(ActionKind::Query) => ("查询订单", "find that order"),
        Some(ActionKind::Pay) => ("发起支付", "start the payment"),
        Some(ActionKind::Rate) => ("评价", "record the rating"),
    };
    pick(lang, format!("抱歉，暂时无法{}：{reason}", what.0), format!("Sorry, I could not {}: {reason}", what.1))
}
