//! The contract net (DESIGN.md §2): call for proposals to the process group
//! of the order's service and cell, collect bids until the deadline, rank
//! them, award the best, let the database confirm, and move to the next bid
//! when a worker lost a race. A second round widens the area; when nobody
//! can come, workers suggest other times.

use crate::groups::group_name;
use crate::worker_actor::{send_to_worker, WorkerMsg};
use crate::{EngineError, Shared};
use autoglm_core::dispatch::{Bid, CallForProposals};
use autoglm_core::order::AssignedWorker;
use autoglm_core::ownership::worker_resource;
use autoglm_core::slot::{Slot, SlotRange};
use autoglm_core::{Order, WorkerId};
use autoglm_storage::{Fence, OrderChange, WriteError};
use chrono::{DateTime, FixedOffset};
use futures::stream::{FuturesUnordered, StreamExt};
use ractor::ActorCell;
use rand::seq::SliceRandom;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// How a negotiation ended.
#[derive(Debug)]
pub enum Placement {
    /// A worker accepted and the database committed: the order as it now is.
    Placed(Box<Order>),
    /// Nobody could take it; other start times that could work.
    Nobody {
        /// Suggested start times, earliest first.
        alternatives: Vec<DateTime<FixedOffset>>,
    },
}

/// Negotiates `range` for `order` and commits the winner through the
/// group-commit writer. `make` turns the winning bid into the change to
/// commit; `prefer` (the current worker on a reschedule) is tried first when
/// it bids.
#[allow(clippy::too_many_arguments)]
pub async fn place<F>(
    shared: &Arc<Shared>,
    order: &Order,
    range: SlotRange,
    excluded: Vec<WorkerId>,
    favourites: &[WorkerId],
    prefer: Option<&WorkerId>,
    make: F,
) -> Result<Placement, EngineError>
where
    F: FnMut(&Order, &Bid) -> Result<OrderChange, EngineError>,
{
    let commit = |change: OrderChange| shared.writer.submit(change);
    negotiate(shared, order, range, excluded, favourites, prefer, make, commit).await
}

/// The contract net alone, all in memory: bids, ranking and the award,
/// with `commit` standing in for the database (benchmarks, simulations).
/// The placed order carries its worker, who holds the slots until told to
/// release them ([`Shared::release_worker`]).
pub async fn place_in_memory(shared: &Arc<Shared>, order: &Order) -> Result<Placement, EngineError> {
    let make = |o: &Order, bid: &Bid| {
        let mut next = o.clone();
        next.worker = Some(AssignedWorker::from(bid));
        Ok(OrderChange::insert(next))
    };
    let commit = |_: OrderChange| std::future::ready(Ok(()));
    negotiate(shared, order, order.slots(), Vec::new(), &[], None, make, commit).await
}

/// What one negotiation did, for its metrics.
#[derive(Default)]
struct Tally {
    rounds: u64,
    bids: u64,
}

/// The contract net, timed and counted (`Metrics::negotiation`).
#[allow(clippy::too_many_arguments)]
async fn negotiate<F, C, Fut>(
    shared: &Arc<Shared>,
    order: &Order,
    range: SlotRange,
    excluded: Vec<WorkerId>,
    favourites: &[WorkerId],
    prefer: Option<&WorkerId>,
    make: F,
    commit: C,
) -> Result<Placement, EngineError>
where
    F: FnMut(&Order, &Bid) -> Result<OrderChange, EngineError>,
    C: Fn(OrderChange) -> Fut,
    Fut: std::future::Future<Output = Result<(), WriteError>>,
{
    let started = std::time::Instant::now();
    let mut tally = Tally::default();
    let span = tracing::info_span!("negotiation", order = %order.id, service = %order.service);
    let result = contract_net(shared, order, range, excluded, favourites, prefer, make, commit, &mut tally)
        .instrument(span.clone())
        .await;
    let outcome = match &result {
        Ok(Placement::Placed(_)) => "placed",
        Ok(Placement::Nobody { .. }) => "nobody",
        Err(_) => "error",
    };
    span.in_scope(|| tracing::debug!(outcome, rounds = tally.rounds, bids = tally.bids, "negotiation settled"));
    shared.metrics.negotiation(started.elapsed(), tally.rounds, tally.bids, outcome);
    result
}

#[allow(clippy::too_many_arguments)]
async fn contract_net<F, C, Fut>(
    shared: &Arc<Shared>,
    order: &Order,
    range: SlotRange,
    excluded: Vec<WorkerId>,
    favourites: &[WorkerId],
    prefer: Option<&WorkerId>,
    mut make: F,
    commit: C,
    tally: &mut Tally,
) -> Result<Placement, EngineError>
where
    F: FnMut(&Order, &Bid) -> Result<OrderChange, EngineError>,
    C: Fn(OrderChange) -> Fut,
    Fut: std::future::Future<Output = Result<(), WriteError>>,
{
    let dispatch = &shared.cfg.dispatch;
    let group = group_name(order.service, order.address.point().cell());
    let mut members = ractor::pg::get_scoped_members(&shared.scope, &group);
    // Passivated workers of the area are woken: they rejoin the group.
    members.extend(shared.wake_group(&group).await);
    members.shuffle(&mut rand::thread_rng());
    // Favourites and the preferred worker are always asked first.
    if prefer.is_some() || !favourites.is_empty() {
        members.sort_by_key(|cell| {
            let w = shared.directory.worker_of(cell.get_id());
            let wanted = w.as_ref().is_some_and(|w| Some(w) == prefer || favourites.contains(w));
            !wanted
        });
    }
    let fanout = dispatch.max_fanout.max(1);
    for factor in [1.0, dispatch.widen_radius_factor.max(1.0)] {
        let cfp = Arc::new(CallForProposals {
            order: order.id.clone(),
            service: order.service,
            place: order.address.point(),
            range,
            favourites: favourites.to_vec(),
            excluded: excluded.clone(),
            radius_factor: factor,
        });
        for chunk in members.chunks(fanout) {
            let bids = collect_bids(shared, chunk, &cfp).await;
            tally.rounds += 1;
            tally.bids += bids.len() as u64;
            if bids.is_empty() {
                continue;
            }
            let cells: HashMap<WorkerId, ActorCell> = bids.iter().map(|(b, c)| (b.worker.clone(), c.clone())).collect();
            let mut ranked = shared.weights.rank(bids.into_iter().map(|(b, _)| b).collect());
            if let Some(p) = prefer {
                if let Some(i) = ranked.iter().position(|b| &b.worker == p) {
                    let b = ranked.remove(i);
                    ranked.insert(0, b);
                }
            }
            for bid in ranked {
                let Some(cell) = cells.get(&bid.worker) else { continue };
                // In a cluster every bid carries its node's lease token; one
                // without could not be fenced off, so it is not taken.
                if shared.clustered && bid.fence.is_none() {
                    tracing::warn!(worker = %bid.worker, "bid without a lease token in a cluster; skipped");
                    continue;
                }
                if !award(shared, cell, &bid.worker, order, range).await {
                    continue;
                }
                let release = || {
                    send_to_worker(&shared.directory, cell, WorkerMsg::Release { order: order.id.clone() });
                };
                let mut change = match make(order, &bid) {
                    Ok(c) => c,
                    Err(e) => {
                        release();
                        return Err(e);
                    }
                };
                // Written over the version bid on; a new order's first write inserts it.
                if change.created.is_none() {
                    change.expected_version = Some(order.version);
                }
                change.fence = bid.fence.map(|token| Fence { resource: worker_resource(&bid.worker), token });
                let next = change.order.clone();
                match commit(change).await {
                    Ok(()) => {
                        send_to_worker(&shared.directory, cell, WorkerMsg::Confirm { order: order.id.clone(), range });
                        shared.cache.put(&next).await;
                        return Ok(Placement::Placed(Box::new(next)));
                    }
                    Err(WriteError::SlotTaken { .. } | WriteError::Fenced { .. }) => {
                        // The database is the arbiter: someone else got the slot,
                        // or the bidding node no longer holds the worker's lease
                        // (fenced off: a paused old owner). Next bid.
                        shared.metrics.lost_race();
                        release();
                    }
                    Err(e) => {
                        release();
                        return Err(e.into());
                    }
                }
            }
        }
    }
    let alternatives = suggest(shared, &members, order, range).await;
    Ok(Placement::Nobody { alternatives })
}

/// Sends the call for proposals to `cells` and gathers bids until every
/// worker answered or the deadline passed.
async fn collect_bids(shared: &Shared, cells: &[ActorCell], cfp: &Arc<CallForProposals>) -> Vec<(Bid, ActorCell)> {
    let deadline = tokio::time::Instant::now() + shared.cfg.dispatch.bid_deadline();
    let mut pending = FuturesUnordered::new();
    for cell in cells {
        let (tx, rx) = ractor::concurrency::oneshot();
        if send_to_worker(&shared.directory, cell, WorkerMsg::Cfp(cfp.clone(), tx.into())) {
            let cell = cell.clone();
            pending.push(async move { (cell, rx.await) });
        }
    }
    shared.metrics.cfp(pending.len());
    let mut bids = Vec::new();
    while let Ok(Some((cell, answer))) = tokio::time::timeout_at(deadline, pending.next()).await {
        if let Ok(Some(bid)) = answer {
            bids.push((bid, cell));
        }
    }
    shared.metrics.bids(bids.len());
    bids
}

/// Awards the job to one worker; true when the worker holds the slots.
async fn award(shared: &Shared, cell: &ActorCell, worker: &WorkerId, order: &Order, range: SlotRange) -> bool {
    let (tx, rx) = ractor::concurrency::oneshot();
    let msg = WorkerMsg::Award { order: order.id.clone(), range, reply: tx.into() };
    if !send_to_worker(&shared.directory, cell, msg) {
        return false;
    }
    match tokio::time::timeout(award_timeout(shared), rx).await {
        Ok(Ok(Ok(()))) => true,
        Ok(Ok(Err(reason))) => {
            tracing::debug!(%worker, order = %order.id, %reason, "award refused");
            shared.metrics.lost_race();
            false
        }
        _ => {
            tracing::warn!(%worker, order = %order.id, "worker did not answer the award");
            // It may still hold the slots; tell it to let go (the hold also expires).
            send_to_worker(&shared.directory, cell, WorkerMsg::Release { order: order.id.clone() });
            false
        }
    }
}

/// Other start times at which some worker of the group could come.
async fn suggest(
    shared: &Shared,
    members: &[ActorCell],
    order: &Order,
    range: SlotRange,
) -> Vec<DateTime<FixedOffset>> {
    let want = shared.cfg.dispatch.alternatives;
    if want == 0 {
        return Vec::new();
    }
    let mut pending = FuturesUnordered::new();
    for cell in members.iter().take(shared.cfg.dispatch.max_fanout.max(1)) {
        let (tx, rx) = ractor::concurrency::oneshot();
        let msg = WorkerMsg::Suggest {
            order: order.id.clone(),
            from: Slot(range.start.0 + 1),
            len: range.len() as i64,
            reply: tx.into(),
        };
        if send_to_worker(&shared.directory, cell, msg) {
            pending.push(rx);
        }
    }
    let deadline = tokio::time::Instant::now() + shared.cfg.dispatch.bid_deadline();
    let mut starts = Vec::new();
    while let Ok(Some(answer)) = tokio::time::timeout_at(deadline, pending.next()).await {
        if let Ok(s) = answer {
            starts.extend(s);
        }
    }
    starts.sort();
    starts.dedup();
    starts.truncate(want);
    starts.into_iter().map(|s| s.start_at(shared.offset)).collect()
}

/// How long to wait for one worker's answer to an award.
pub fn award_timeout(shared: &Shared) -> Duration {
    shared.cfg.dispatch.bid_deadline() * 4
}
