//! `WorkerActor`: one per worker. Holds the worker's calendar in memory (the
//! fast no-double-booking check), answers calls for proposals with bids, and
//! holds slots for awarded orders until the database confirms them.

use crate::groups::{self, Directory};
use crate::Shared;
use autoglm_core::calendar::Calendar;
use autoglm_core::dispatch::{self, Bid, CallForProposals};
use autoglm_core::slot::{Slot, SlotRange};
use autoglm_core::{OrderId, Worker, WorkerId};
use autoglm_supervisor::{Gauges, Inbox, Inspect, Probe};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Messages a worker actor takes.
pub enum WorkerMsg {
    /// A call for proposals; the reply is a bid or `None`.
    Cfp(Arc<CallForProposals>, RpcReplyPort<Option<Bid>>),
    /// The order awards the job: hold the slots tentatively, or refuse.
    Award { order: OrderId, range: SlotRange, reply: RpcReplyPort<Result<(), String>> },
    /// The database committed the reservation: the hold is firm.
    Confirm { order: OrderId, range: SlotRange },
    /// The order no longer needs this worker.
    Release { order: OrderId },
    /// Drop the tentative holds whose time is up (one timer per worker,
    /// armed while it has holds, rather than one per award).
    ExpireHolds,
    /// Start slots at which the worker could do a job of `len` slots.
    Suggest { order: OrderId, from: Slot, len: i64, reply: RpcReplyPort<Vec<Slot>> },
    /// The worker's profile changed.
    Update(Box<Worker>),
    /// Passivate if nothing happened since message number `u64`.
    IdleCheck(u64),
    /// Fail on purpose (supervision drills and tests).
    Fail(String),
}

/// The actor behaviour.
pub struct WorkerActor;

/// How a worker actor starts.
pub struct WorkerArgs {
    /// The worker (None: load from the database, as on a restart).
    pub worker: Option<Worker>,
    /// Its id.
    pub id: WorkerId,
    /// In a cluster: this node's lease token on the worker, sent with every bid.
    pub fence: Option<i64>,
    /// Its entry in the live registry (made by the supervisor).
    pub probe: Probe,
    /// Engine resources.
    pub shared: Arc<Shared>,
}

/// A worker actor's state.
pub struct WorkerState {
    worker: Worker,
    calendar: Calendar,
    fence: Option<i64>,
    groups: Vec<String>,
    /// Tentative holds (awarded, not yet confirmed) and when each lapses.
    tentative: HashMap<OrderId, tokio::time::Instant>,
    /// An `ExpireHolds` is on its way.
    sweep_armed: bool,
    bids: u64,
    awards: u64,
    activity: u64,
    idle_timer: bool,
    passivating: bool,
    probe: Probe,
    gauges: Arc<Gauges>,
    inbox: Inbox,
    shared: Arc<Shared>,
}

/// The worker's numbers that change with nearly every message, shown by
/// `/ops/actors` through [`Gauges`] (a store each, no snapshot rebuilt).
const GAUGES: &[&str] = &["bookings", "tentative", "bids", "awards"];

impl Inspect for WorkerState {
    fn kind(&self) -> &'static str {
        "worker"
    }

    fn snapshot_state(&self) -> String {
        if self.worker.active { "available" } else { "inactive" }.into()
    }

    fn snapshot_fields(&self) -> serde_json::Value {
        json!({
            "name": self.worker.name,
            "skills": self.worker.skills,
            "groups": self.groups.len(),
            "lease": self.fence,
        })
    }
}

impl WorkerState {
    fn join_groups(&mut self, myself: &ActorRef<WorkerMsg>) {
        self.leave_groups(myself);
        if !self.worker.active {
            return;
        }
        let factor = self.shared.cfg.dispatch.widen_radius_factor.max(1.0);
        self.groups = groups::groups_of(&self.worker, factor);
        if self.shared.clustered {
            self.groups.push(groups::worker_group(&self.worker.id));
        }
        for g in &self.groups {
            ractor::pg::join_scoped(self.shared.scope.clone(), g.clone(), vec![myself.get_cell()]);
        }
    }

    fn leave_groups(&mut self, myself: &ActorRef<WorkerMsg>) {
        for g in self.groups.drain(..) {
            ractor::pg::leave_scoped(self.shared.scope.clone(), g, vec![myself.get_cell()]);
        }
    }

    /// Publishes the whole snapshot (on start and when the profile changes).
    fn publish(&self) {
        self.count();
        self.probe.publish_from(self);
    }

    /// Updates the gauges (after every message: four stores).
    fn count(&self) {
        let g = &self.gauges;
        g.set(0, self.calendar.len() as i64);
        g.set(1, self.tentative.len() as i64);
        g.set(2, self.bids as i64);
        g.set(3, self.awards as i64);
    }
}

impl Actor for WorkerActor {
    type Msg = WorkerMsg;
    type State = WorkerState;
    type Arguments = WorkerArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<WorkerMsg>,
        args: WorkerArgs,
    ) -> Result<WorkerState, ActorProcessingErr> {
        let shared = args.shared;
        let worker = match args.worker {
            Some(w) => w,
            // Database futures are boxed so they are not part of every actor's task.
            None => Box::pin(shared.db.get_worker(&args.id))
                .await?
                .ok_or_else(|| format!("worker {} is not in the database", args.id))?,
        };
        // Rehydrate the calendar from committed reservations: after a restart
        // the tentative holds are gone, the firm ones come back.
        let mut calendar = Calendar::new();
        let now_slot = Slot::containing(&chrono::Utc::now());
        let rows = Box::pin(shared.db.reservations_of(&worker.id, Slot(now_slot.0 - 48))).await?;
        for (order, range) in group_runs(rows) {
            if calendar.hold(range, &order, true).is_err() {
                tracing::error!(worker = %worker.id, %order, "conflicting reservations in the database");
            }
        }
        let probe = args.probe;
        let inbox = probe.inbox();
        let gauges = Gauges::new(GAUGES);
        probe.attach_gauges(gauges.clone());
        shared.directory.set(myself.get_id(), &worker.id, inbox.clone());
        shared.dormant.remove(&worker.id);
        let mut state = WorkerState {
            worker,
            calendar,
            fence: args.fence,
            groups: Vec::new(),
            tentative: HashMap::new(),
            sweep_armed: false,
            bids: 0,
            awards: 0,
            activity: 0,
            idle_timer: false,
            passivating: false,
            probe,
            gauges,
            inbox,
            shared,
        };
        state.join_groups(&myself);
        state.publish();
        state.arm_idle(&myself);
        Ok(state)
    }

    async fn post_stop(&self, myself: ActorRef<WorkerMsg>, state: &mut WorkerState) -> Result<(), ActorProcessingErr> {
        let groups = state.groups.clone();
        state.leave_groups(&myself);
        if state.passivating {
            // Reachable again through the groups it left: the next call for
            // proposals there wakes it.
            state.shared.dormant.add(&state.worker.id, groups);
        }
        state.shared.directory.remove(myself.get_id());
        state.probe.deregister();
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<WorkerMsg>,
        msg: WorkerMsg,
        state: &mut WorkerState,
    ) -> Result<(), ActorProcessingErr> {
        state.inbox.dequeued();
        state.activity += 1;
        let tz = state.shared.offset;
        match msg {
            WorkerMsg::Cfp(cfp, reply) => {
                let mut bid = dispatch::evaluate(&state.worker, &state.calendar, &cfp, tz);
                if let Some(b) = &mut bid {
                    b.fence = state.fence;
                    state.bids += 1;
                }
                let _ = reply.send(bid);
            }
            WorkerMsg::Award { order, range, reply } => {
                // A retried award for a booking the database already confirmed
                // stays firm: it must not become a hold that lapses.
                let confirmed = state.calendar.booking(&order).is_some_and(|b| b.firm && b.range == range);
                let result = state.calendar.hold(range, &order, false).map_err(|c| c.to_string());
                if result.is_ok() && !confirmed {
                    state.awards += 1;
                    let ttl = Duration::from_millis(state.shared.cfg.dispatch.hold_ttl_ms);
                    state.tentative.insert(order, tokio::time::Instant::now() + ttl);
                    state.arm_sweep(&myself);
                }
                let _ = reply.send(result);
            }
            WorkerMsg::Confirm { order, range } => {
                state.tentative.remove(&order);
                if state.calendar.hold(range, &order, true).is_err() {
                    // The database is the arbiter: it committed this order, so
                    // any tentative hold in the way loses.
                    evict_overlapping(state, &range, &order);
                    let _ = state.calendar.hold(range, &order, true);
                }
            }
            WorkerMsg::Release { order } => {
                state.tentative.remove(&order);
                state.calendar.release(&order);
            }
            WorkerMsg::ExpireHolds => {
                state.sweep_armed = false;
                let now = tokio::time::Instant::now();
                let lapsed: Vec<OrderId> =
                    state.tentative.iter().filter(|(_, until)| **until <= now).map(|(o, _)| o.clone()).collect();
                for order in lapsed {
                    tracing::debug!(worker = %state.worker.id, %order, "tentative hold expired");
                    state.tentative.remove(&order);
                    state.calendar.release(&order);
                }
                state.arm_sweep(&myself);
            }
            WorkerMsg::Suggest { order, from, len, reply } => {
                let n = state.shared.cfg.dispatch.alternatives;
                let window = dispatch::SearchWindow { from, len, horizon: 14 * 48, max: n };
                let starts = dispatch::free_starts(&state.worker, &state.calendar, &order, window, tz);
                let _ = reply.send(starts);
            }
            WorkerMsg::Update(worker) => {
                state.worker = *worker;
                state.join_groups(&myself);
                state.publish();
            }
            WorkerMsg::IdleCheck(seen) => {
                state.idle_timer = false;
                if seen + 1 == state.activity && state.tentative.is_empty() {
                    state.passivating = true;
                    myself.stop(Some("idle".into()));
                    return Ok(());
                }
            }
            WorkerMsg::Fail(reason) => return Err(reason.into()),
        }
        state.count();
        state.arm_idle(&myself);
        Ok(())
    }
}

impl WorkerState {
    /// Arms the hold sweep for the earliest tentative hold, unless armed.
    fn arm_sweep(&mut self, myself: &ActorRef<WorkerMsg>) {
        if self.sweep_armed {
            return;
        }
        let Some(first) = self.tentative.values().min() else { return };
        self.sweep_armed = true;
        let after = first.saturating_duration_since(tokio::time::Instant::now());
        crate::send_after(myself, after, WorkerMsg::ExpireHolds);
    }

    fn arm_idle(&mut self, myself: &ActorRef<WorkerMsg>) {
        // In a cluster a worker stays up where it is leased: a passivated one
        // could only be woken by calls on its own node.
        if self.idle_timer || self.shared.clustered {
            return;
        }
        self.idle_timer = true;
        let after = Duration::from_millis(self.shared.cfg.actors.worker_idle_ms.max(1));
        crate::send_after(myself, after, WorkerMsg::IdleCheck(self.activity));
    }
}

fn evict_overlapping(state: &mut WorkerState, range: &SlotRange, keep: &OrderId) {
    let losers: Vec<OrderId> = state
        .calendar
        .bookings()
        .filter(|(o, b)| *o != keep && b.range.overlaps(range))
        .map(|(o, _)| o.clone())
        .collect();
    for o in losers {
        tracing::warn!(worker = %state.worker.id, order = %o, "hold evicted by a committed reservation");
        state.tentative.remove(&o);
        state.calendar.release(&o);
    }
}

/// Turns (slot, order) rows into one contiguous range per order.
fn group_runs(rows: Vec<(Slot, OrderId)>) -> Vec<(OrderId, SlotRange)> {
    let mut by_order: HashMap<OrderId, SlotRange> = HashMap::new();
    for (slot, order) in rows {
        by_order
            .entry(order)
            .and_modify(|r| {
                r.start = r.start.min(slot);
                r.end = r.end.max(Slot(slot.0 + 1));
            })
            .or_insert(SlotRange { start: slot, end: Slot(slot.0 + 1) });
    }
    by_order.into_iter().collect()
}

/// Sends `msg` to a worker actor cell, counting it in the worker's inbox.
pub fn send_to_worker(directory: &Directory, cell: &ractor::ActorCell, msg: WorkerMsg) -> bool {
    directory.enqueued(cell.get_id());
    cell.send_message(msg).is_ok()
}
