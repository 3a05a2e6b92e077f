use super::*;
use crate::lexicon::Lexicon;
use crate::understand::understand;
use autoglm_core::geo::Address;
use autoglm_core::order::{AssignedWorker, OrderRequest};
use autoglm_core::{CustomerId, OrderId, WorkerId};
use chrono::{Datelike, Duration, Weekday};
use proptest::prelude::*;
use std::sync::OnceLock;

fn lexicon() -> &'static Lexicon {
    static LEX: OnceLock<Lexicon> = OnceLock::new();
    LEX.get_or_init(Lexicon::builtin)
}

/// Thursday 2026-03-05 08:00 +08:00.
fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-03-05T08:00:00+08:00").expect("valid")
}

fn order(id: &str, state: OrderState, days: i64, hour: u32) -> Order {
    let start = (now() + Duration::days(days)).date_naive().and_hms_opt(hour, 0, 0).expect("valid");
    let req = OrderRequest {
        service: Service::Cleaning,
        rooms: vec![Room::Kitchen],
        start: now().offset().from_local_datetime(&start).single().expect("valid"),
        duration_minutes: None,
        address: Address { text: "人民广场1号".into(), lat: 31.23, lon: 121.47 },
        notes: None,
    };
    let valid = req.validate(&Policies::default(), &(now() - Duration::days(30))).expect("valid request");
    let mut o = Order::new(OrderId(id.into()), CustomerId("C1".into()), valid, now());
    o.state = state;
    o.worker =
        Some(AssignedWorker { id: WorkerId("W1".into()), name: "王阿姨".into(), rating: 4.8, skill_level: 4 });
    o
}

/// A customer talking to the policy, with a fake engine behind it.
struct Chat {
    state: DialogueState,
    orders: Vec<Order>,
    address: Option<String>,
    cfg: DialogueConfig,
    actions: Vec<Action>,
}

impl Chat {
    fn new() -> Chat {
        Chat {
            state: DialogueState::default(),
            orders: Vec::new(),
            address: Some("人民广场1号".into()),
            cfg: DialogueConfig::default(),
            actions: Vec::new(),
        }
    }

    /// One turn; the reply text, what it expects, what is missing.
    fn say(&mut self, text: &str) -> Reply {
        let nlu = understand(text, None, now(), lexicon(), None);
        let policies = Policies::default();
        let turn = Turn {
            nlu: &nlu,
            now: now(),
            profile_address: self.address.as_deref(),
            orders: &self.orders,
            policies: &policies,
        };
        let (state, step) = decide(&self.state, &turn, &self.cfg);
        self.state = state;
        match step {
            Step::Reply(r) => r,
            Step::Act(action) => {
                self.actions.push(action.clone());
                let done = self.perform(&action);
                let (state, reply) = after(&self.state, &action, Outcome::Done(&done));
                self.state = state;
                reply
            }
        }
    }

    fn perform(&mut self, action: &Action) -> Order {
        match action {
            Action::Place(b) => {
                let mut o = order(&format!("A{}", 100 + self.orders.len()), OrderState::AwaitingPayment, 1, 10);
                o.service = b.service;
                o.rooms = b.rooms.clone();
                o.start = b.start;
                o.address.text = b.address.clone();
                self.orders.insert(0, o.clone());
                o
            }
            Action::Order { kind, order_id, start, rating } => {
                let Some(o) = self.orders.iter_mut().find(|o| o.id.as_str() == order_id) else {
                    panic!("no order {order_id}")
                };
                match kind {
                    ActionKind::Cancel => o.state = OrderState::Cancelled,
                    ActionKind::Reschedule => o.start = start.expect("a new start"),
                    ActionKind::Rate => o.rating = *rating,
                    _ => {}
                }
                o.clone()
            }
        }
    }

    fn placed(&self) -> &NewBooking {
        match self.actions.last() {
            Some(Action::Place(b)) => b,
            other => panic!("expected a placed booking, got {other:?}"),
        }
    }
}

fn at(days: i64, hour: u32) -> DateTime<FixedOffset> {
    let d = (now() + Duration::days(days)).date_naive().and_hms_opt(hour, 0, 0).expect("valid");
    now().offset().from_local_datetime(&d).single().expect("valid")
}

#[test]
fn books_in_one_sentence_after_a_summary_and_a_yes() {
    let mut c = Chat::new();
    let r = c.say("明天上午10点来打扫厨房");
    assert_eq!(r.expect, Some(Expect::Confirmation), "{}", r.text);
    assert!(r.text.contains("厨房") && r.text.contains("10:00") && r.text.contains('¥'), "{}", r.text);
    assert!(c.actions.is_empty(), "nothing is placed before a yes");
    let r = c.say("确认");
    let b = c.placed();
    assert_eq!((b.service, b.rooms.clone(), b.start), (Service::Cleaning, vec![Room::Kitchen], at(1, 10)));
    assert!(r.text.contains("预约成功") && r.order_id.is_some(), "{}", r.text);
    assert_eq!(c.state.booking, None);
    assert_eq!(c.state.last_order.as_deref(), Some("A100"));
}

#[test]
fn asks_for_what_is_missing_one_question_at_a_time() {
    let mut c = Chat::new();
    c.address = None;
    let r = c.say("我想约个保洁");
    assert_eq!(r.missing, vec![Missing::Time, Missing::Address]);
    assert!(r.text.contains("哪天"), "{}", r.text);
    let r = c.say("明天");
    assert_eq!(r.missing, vec![Missing::Time, Missing::Address]);
    assert!(r.text.contains("几点"), "{}", r.text);
    let r = c.say("下午3点");
    assert_eq!(r.missing, vec![Missing::Address], "{}", r.text);
    let r = c.say("徐汇区漕溪北路88号");
    assert_eq!(r.expect, Some(Expect::Confirmation), "{}", r.text);
    assert!(r.text.contains("全屋"), "cleaning without a room is the whole home: {}", r.text);
    c.say("好的");
    let b = c.placed();
    assert_eq!((b.start, b.address.as_str()), (at(1, 15), "徐汇区漕溪北路88号"));
}

#[test]
fn a_correction_replaces_only_what_it_names() {
    let mut c = Chat::new();
    c.say("明天上午10点来打扫厨房");
    let r = c.say("不对，改成后天");
    assert_eq!(r.expect, Some(Expect::Confirmation), "{}", r.text);
    c.say("确认");
    assert_eq!(c.placed().start, at(2, 10), "the day moved, the hour stayed");
    assert_eq!(c.placed().rooms, vec![Room::Kitchen]);

    let mut c = Chat::new();
    c.say("clean my kitchen tomorrow at 10am");
    let r = c.say("actually make it 3pm");
    assert!(r.text.contains("15:00"), "{}", r.text);
    c.say("yes");
    assert_eq!(c.placed().start, at(1, 15), "the hour moved, the day stayed");
}

#[test]
fn english_conversations_get_english_replies() {
    let mut c = Chat::new();
    let r = c.say("I need a deep cleaning");
    assert!(r.text.starts_with("When"), "{}", r.text);
    let r = c.say("tomorrow at 2pm");
    assert!(r.text.contains("Shall I place it"), "{}", r.text);
    let r = c.say("ok");
    assert!(r.text.starts_with("Booked"), "{}", r.text);
}

#[test]
fn refuses_times_in_the_past_and_asks_again() {
    let mut c = Chat::new();
    let r = c.say("今天早上7点打扫卫生间");
    assert!(r.text.contains("过去") || r.text.contains("提前"), "{}", r.text);
    assert_eq!(r.missing, vec![Missing::Time]);
    assert!(c.state.booking.as_ref().is_some_and(|b| b.draft.date.is_some() && b.draft.time.is_none()));
}

#[test]
fn deny_drops_the_booking_and_small_talk_keeps_it() {
    let mut c = Chat::new();
    c.say("明天上午10点来打扫厨房");
    let r = c.say("你好");
    assert!(c.state.booking.is_some(), "small talk keeps the draft: {}", r.text);
    let r = c.say("不用了");
    assert_eq!(c.state.booking, None, "{}", r.text);
    assert!(c.actions.is_empty());
}

#[test]
fn cancel_acts_on_the_only_active_order_and_asks_among_several() {
    let mut c = Chat::new();
    c.orders = vec![order("A7", OrderState::Confirmed, 2, 10), order("A6", OrderState::Completed, -3, 10)];
    let r = c.say("取消我的订单");
    assert!(matches!(&c.actions[..], [Action::Order { kind: ActionKind::Cancel, order_id, .. }] if order_id == "A7"));
    assert!(r.text.contains("已为您取消"), "{}", r.text);

    let mut c = Chat::new();
    c.orders = vec![order("A9", OrderState::AwaitingPayment, 1, 10), order("A8", OrderState::Confirmed, 3, 15)];
    let r = c.say("取消订单");
    assert_eq!((r.expect, r.choices.clone()), (Some(Expect::Choice), vec!["A9".to_string(), "A8".to_string()]));
    c.say("第二个");
    assert!(matches!(&c.actions[..], [Action::Order { kind: ActionKind::Cancel, order_id, .. }] if order_id == "A8"));
}

#[test]
fn reschedule_keeps_the_hour_when_only_a_day_is_named() {
    let mut c = Chat::new();
    c.orders = vec![order("A3", OrderState::Confirmed, 1, 10)];
    c.say("改到周六");
    let Some(Action::Order { kind: ActionKind::Reschedule, start: Some(start), .. }) = c.actions.last() else {
        panic!("expected a reschedule, got {:?}", c.actions)
    };
    assert_eq!(start.weekday(), Weekday::Sat);
    assert_eq!(start.naive_local().time(), NaiveTime::from_hms_opt(10, 0, 0).expect("valid"));
}

#[test]
fn reschedule_without_a_time_asks_for_one() {
    let mut c = Chat::new();
    c.orders = vec![order("A3", OrderState::Confirmed, 1, 10)];
    let r = c.say("我想改时间");
    assert_eq!(r.missing, vec![Missing::NewTime], "{}", r.text);
    c.say("后天下午3点");
    assert!(matches!(c.actions.last(), Some(Action::Order { start: Some(s), .. }) if *s == at(2, 15)));
}

#[test]
fn rating_asks_for_stars_then_records_them() {
    let mut c = Chat::new();
    c.orders = vec![order("A5", OrderState::Completed, -1, 10)];
    let r = c.say("我要评价");
    assert_eq!(r.missing, vec![Missing::Rating], "{}", r.text);
    let r = c.say("5星");
    assert!(matches!(c.actions.last(), Some(Action::Order { kind: ActionKind::Rate, rating: Some(5), .. })));
    assert!(r.text.contains("★★★★★"), "{}", r.text);
}

#[test]
fn query_and_pay_use_the_last_order_of_the_conversation() {
    let mut c = Chat::new();
    c.orders = vec![order("A2", OrderState::AwaitingPayment, 4, 10)];
    c.say("明天上午10点来打扫厨房");
    c.say("确认");
    let r = c.say("查一下我的订单");
    assert!(r.text.contains("A101") && r.text.contains("待支付"), "{}", r.text);
    c.say("付款");
    assert!(
        matches!(c.actions.last(), Some(Action::Order { kind: ActionKind::Pay, order_id, .. }) if order_id == "A101")
    );
}

#[test]
fn part_of_day_takes_the_configured_hour() {
    let mut c = Chat::new();
    c.cfg.morning_hour = 10;
    c.say("明天上午来打扫厨房");
    c.say("确认");
    assert_eq!(c.placed().start, at(1, 10));
    let mut c = Chat::new();
    c.say("明天上午来打扫厨房");
    c.say("确认");
    assert_eq!(c.placed().start, at(1, 9), "the default morning hour is 9");
}

#[test]
fn unassignable_keeps_the_draft_and_asks_for_another_time() {
    let mut c = Chat::new();
    c.say("明天上午10点来打扫厨房");
    let nlu = understand("确认", None, now(), lexicon(), None);
    let policies = Policies::default();
    let turn = Turn { nlu: &nlu, now: now(), profile_address: Some("x"), orders: &[], policies: &policies };
    let (state, step) = decide(&c.state, &turn, &c.cfg);
    let Step::Act(action) = step else { panic!("expected an action") };
    let mut o = order("A1", OrderState::Unassignable, 1, 10);
    o.worker = None;
    o.alternatives = vec![at(1, 14)];
    let (state, reply) = after(&state, &action, Outcome::Done(&o));
    assert!(reply.text.contains("14:00"), "{}", reply.text);
    assert_eq!(reply.missing, vec![Missing::Time]);
    assert!(state
        .booking
        .as_ref()
        .is_some_and(|b| b.draft.time.is_none() && b.draft.service == Some(Service::Cleaning)));
}

#[test]
fn the_state_survives_json() {
    let mut c = Chat::new();
    c.say("明天上午10点来打扫厨房");
    let json = serde_json::to_string(&c.state).expect("serializes");
    let back: DialogueState = serde_json::from_str(&json).expect("parses");
    assert_eq!(back, c.state);
}

const UTTERANCES: &[&str] = &[
    "明天上午10点来打扫厨房",
    "确认",
    "好的",
    "不用了",
    "不对，改成后天",
    "下午3点",
    "你好",
    "取消订单",
    "改到周六",
    "5星",
    "第二个",
    "我的订单怎么样了",
    "付款",
    "yes",
    "clean my kitchen tomorrow at 10am",
    "actually make it 3pm",
    "修改",
    "徐汇区漕溪北路88号",
    "换个阿姨",
    "",
];

proptest! {
    /// Whatever the customer says, in any order: nothing panics, and a
    /// booking is placed only right after a summary was shown and answered yes.
    #[test]
    fn bookings_need_a_summary_and_a_yes(seq in proptest::collection::vec(0..UTTERANCES.len(), 1..12)) {
        let mut c = Chat::new();
        c.orders = vec![order("A1", OrderState::Confirmed, 2, 10), order("A0", OrderState::Completed, -2, 10)];
        let mut confirming = false;
        for i in seq {
            let before = c.actions.len();
            let r = c.say(UTTERANCES[i]);
            let placed = c.actions[before..].iter().any(|a| matches!(a, Action::Place(_)));
            if placed {
                prop_assert!(confirming, "placed without a summary first ({:?})", UTTERANCES[i]);
            }
            prop_assert!(!r.text.is_empty());
            confirming = r.expect == Some(Expect::Confirmation);
        }
    }
}

#[test]
fn a_house_number_in_the_address_is_not_a_date() {
    let mut c = Chat::new();
    c.address = None;
    let r = c.say("明天上午10点来打扫厨房");
    assert_eq!(r.missing, vec![Missing::Address]);
    let r = c.say("人民广场1号");
    assert_eq!(r.expect, Some(Expect::Confirmation), "{}", r.text);
    c.say("确认");
    assert_eq!((c.placed().start, c.placed().address.as_str()), (at(1, 10), "人民广场1号"));
}
