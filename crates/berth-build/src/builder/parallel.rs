//! Multi-stage scheduling: the stages the target needs build concurrently as soon as the
//! stages they use (FROM, COPY --from, RUN --mount from=) are built, each in a forked
//! [`Builder`] whose messages go to a channel of its own; one forwarder relays the channels
//! stage by stage, so the output reads exactly as the classic builder's sequential one.
//! Step numbers are the classic builder's: it numbers every stage up to the target (it builds
//! them all), so a stage the target does not need keeps its numbers, unprinted.

use super::{Builder, Out, StageState};
use crate::error::{BuildError, Result};
use crate::instructions::Parsed;
use berth_api::models::JsonMessage;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// `M` of "Step N/M": the ARGs before FROM, then every stage up to the target with its steps.
pub(super) fn total_steps(parsed: &Parsed, target: usize) -> usize {
    parsed.meta_nodes.len() + (0..=target).map(|i| steps_of(parsed, i)).sum::<usize>()
}

fn steps_of(parsed: &Parsed, i: usize) -> usize {
    parsed
        .stages
        .get(i)
        .map(|s| 1 + s.instructions.len())
        .unwrap_or(0)
}

/// The stages each needed stage waits for (among the needed ones).
pub(super) fn stage_deps(
    parsed: &Parsed,
    needed: &[usize],
    expand: &dyn Fn(&str) -> String,
) -> BTreeMap<usize, Vec<usize>> {
    let need: HashSet<usize> = needed.iter().copied().collect();
    needed
        .iter()
        .map(|&i| {
            let d = parsed.deps(i, expand);
            (i, d.into_iter().filter(|d| need.contains(d)).collect())
        })
        .collect()
}

type StageResult = (usize, HashSet<String>, Result<StageState>);

impl Builder {
    /// A builder for one stage: same engine, context and options, its own output and step.
    fn fork(&self, out: Out, step: usize) -> Builder {
        let mut b = self.clone();
        b.out = out;
        b.step = step;
        b.used_args.clear();
        b
    }

    /// Builds the `needed` stages (in Dockerfile order), concurrently where independent;
    /// returns the last one's image id.
    pub(super) async fn build_stages(
        &mut self,
        parsed: &Parsed,
        needed: &[usize],
        deps: BTreeMap<usize, Vec<usize>>,
    ) -> Result<String> {
        let shared = Arc::new(parsed.clone());
        // First step number (minus one) of each stage, as the classic builder counts.
        let mut first = vec![0; parsed.stages.len()];
        let mut n = parsed.meta_nodes.len();
        for (i, f) in first.iter_mut().enumerate() {
            *f = n;
            n += steps_of(parsed, i);
        }

        // Each stage's lines go through its own channel; the forwarder passes them on in
        // stage order, and stops after a failed stage's, as the sequential builder would
        // have (later stages' output never shows). A stage marks its failure before its
        // task ends, so before its channel closes: the forwarder sees the mark once the
        // channel's last line is passed on.
        let mut senders: BTreeMap<usize, Out> = BTreeMap::new();
        let mut failed_marks: BTreeMap<usize, Arc<AtomicBool>> = BTreeMap::new();
        let mut receivers = Vec::new();
        for &i in needed {
            let (tx, rx) = mpsc::unbounded_channel::<JsonMessage>();
            let mark = Arc::new(AtomicBool::new(false));
            senders.insert(i, tx);
            failed_marks.insert(i, mark.clone());
            receivers.push((rx, mark));
        }
        let out = self.out.clone();
        let forwarder = tokio::spawn(async move {
            for (mut rx, failed) in receivers {
                while let Some(m) = rx.recv().await {
                    let _ = out.send(m);
                }
                if failed.load(Ordering::SeqCst) {
                    return;
                }
            }
        });

        let mut running: JoinSet<StageResult> = JoinSet::new();
        let mut failed: Option<(usize, BuildError)> = None;
        loop {
            if failed.is_none() {
                let ready: Vec<usize> = senders
                    .keys()
                    .copied()
                    .filter(|i| deps[i].iter().all(|d| self.done[*d].is_some()))
                    .collect();
                for i in ready {
                    let Some(tx) = senders.remove(&i) else {
                        continue;
                    };
                    let mut sub = self.fork(tx.clone(), first[i]);
                    let parsed = shared.clone();
                    let failed_mark = failed_marks.get(&i).cloned();
                    tracing::debug!(stage = i, "building stage");
                    running.spawn(async move {
                        let r = sub.build_stage(&parsed, i).await;
                        match &r {
                            Ok(st) => {
                                let _ = tx.send(JsonMessage::build_result(st.image.clone()));
                            }
                            Err(_) => {
                                if let Some(m) = &failed_mark {
                                    m.store(true, Ordering::SeqCst);
                                }
                            }
                        }
                        (i, std::mem::take(&mut sub.used_args), r)
                    });
                }
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            let (i, used, r) = joined.map_err(|e| BuildError::internal("build stage", e))?;
            self.used_args.extend(used);
            match r {
                Ok(st) => self.done[i] = Some(st),
                // The earliest stage's error is the one the sequential builder would report.
                Err(e) if failed.as_ref().is_none_or(|(j, _)| i < *j) => failed = Some((i, e)),
                Err(_) => {}
            }
        }
        // Stages never started: their channels close, the forwarder runs to the end.
        senders.clear();
        let _ = forwarder.await;
        if let Some((_, e)) = failed {
            return Err(e);
        }
        needed
            .last()
            .and_then(|i| self.done[*i].as_ref())
            .map(|st| st.image.clone())
            .ok_or_else(|| BuildError::internal("build stages", "no stage was built"))
    }
}
