//! A bank on gauntlet-runtime, put under Gauntlet as a user would put their own system.
//!
//! - **Accounts** are entities (virtual actors, `actor://bank/accounts/acct-N`),
//!   activated on demand and passivated when idle. Their state lives in a [`Ledger`]
//!   (this example's stand-in for a database): a crash, kill or passivation loses no
//!   money, only the actor.
//! - **Tellers** (`actor://bank/teller-N`) run the transfer protocol, one transfer at a
//!   time each: debit the source, credit the destination; when the credit is refused (the
//!   destination is full) or cannot be confirmed, cancel it at the destination and
//!   refund the source (the compensation). Every step is idempotent by transfer id, so
//!   a step whose reply was lost is simply retried.
//! - **Audit** (`actor://bank/audit`) records every finished transfer once; tellers
//!   retry until it acknowledges, so a partition delays the record but never loses it.
//!
//! Invariants: `money.conserved`, `transfers.applied-once`, `balances.non-negative`
//! (every tick), `audit.complete`. `[target] bug = "double-credit"` makes the credit
//! step forget its idempotency: a credit retried after a lost reply is applied twice,
//! which `bank-chaos` catches (exit 1).

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use gauntlet_harness::units::DurationSpec;
use gauntlet_harness::workload::{
    BuildContext, BuildError, Capabilities, CheckContext, Checkpoint, ConfigField, Invariant,
    InvariantCheck, OpError, OpId, Target, Workload,
};
use gauntlet_runtime::actor::{
    Actor, ActorRef, AskError, Context, Entities, EntityProps, HandlerError, Props, ReplyTo, System,
};
use serde::Deserialize;

/// The `[target]` table of `workload = "bank"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankConfig {
    /// Accounts (default 100).
    #[serde(default = "default_accounts")]
    pub accounts: u32,
    /// Starting balance of each account (default 1000).
    #[serde(default = "default_balance")]
    pub initial_balance: i64,
    /// Tellers, i.e. transfers in progress at once (default 8).
    #[serde(default = "default_tellers")]
    pub tellers: u32,
    /// Largest transfer (default 100).
    #[serde(default = "default_max_amount")]
    pub max_amount: i64,
    /// How long a teller waits for one step before retrying it (default 100ms).
    pub step_timeout: Option<DurationSpec>,
    /// Accounts idle this long are passivated (default 2s).
    pub idle_timeout: Option<DurationSpec>,
    /// A deliberate bug, for the negative control.
    pub bug: Option<Bug>,
}

fn default_accounts() -> u32 {
    100
}
fn default_balance() -> i64 {
    1000
}
fn default_tellers() -> u32 {
    8
}
fn default_max_amount() -> i64 {
    100
}

/// A bug to plant on purpose: the invariants must catch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bug {
    /// Credits are not deduplicated by transfer id: a retried credit is applied twice.
    DoubleCredit,
}

type Tid = u64;

/// Why an account refused a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not enough money (debit).
    Insufficient,
    /// The balance would pass the cap (credit).
    Full,
    /// The transfer was voided here before this step arrived.
    Voided,
}

/// One account's durable state.
#[derive(Debug, Default)]
pub struct AccountState {
    /// Its balance.
    pub balance: i64,
    debits: HashSet<Tid>,
    credits: HashSet<Tid>,
    voided: HashSet<Tid>,
    refunds: HashSet<Tid>,
    /// Every credit applied, in order (what the checker reads).
    credit_log: Vec<Tid>,
}

/// The bank's storage: every account's state.
#[derive(Debug)]
pub struct Ledger {
    accounts: Vec<Mutex<AccountState>>,
    total: i64,
    cap: i64,
}

impl Ledger {
    fn account(&self, i: usize) -> MutexGuard<'_, AccountState> {
        self.accounts[i].lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Messages of an account.
pub enum AccountMsg {
    /// Take `amount` for transfer `tid` (once).
    Debit(Tid, i64, ReplyTo<Result<(), Refusal>>),
    /// Add `amount` for transfer `tid` (once).
    Credit(Tid, i64, ReplyTo<Result<(), Refusal>>),
    /// Void transfer `tid` here: replies whether its credit had already been applied.
    VoidCredit(Tid, ReplyTo<bool>),
    /// Give back a debit of transfer `tid` (once), or void a debit not yet applied.
    Refund(Tid, i64, ReplyTo<()>),
    /// The balance.
    Balance(ReplyTo<i64>),
}

/// An account entity: a cache-less view of its ledger entry.
pub struct Account {
    index: usize,
    ledger: Arc<Ledger>,
    bug: Option<Bug>,
}

impl Actor for Account {
    type Msg = AccountMsg;

    async fn handle(
        &mut self,
        msg: AccountMsg,
        _ctx: &mut Context<Self>,
    ) -> Result<(), HandlerError> {
        let mut a = self.ledger.account(self.index);
        match msg {
            AccountMsg::Debit(tid, amount, reply) => reply.send(if a.debits.contains(&tid) {
                Ok(())
            } else if a.voided.contains(&tid) {
                Err(Refusal::Voided)
            } else if a.balance < amount {
                Err(Refusal::Insufficient)
            } else {
                a.balance -= amount;
                a.debits.insert(tid);
                Ok(())
            }),
            AccountMsg::Credit(tid, amount, reply) => {
                let dedupe = self.bug != Some(Bug::DoubleCredit);
                reply.send(if dedupe && a.credits.contains(&tid) {
                    Ok(())
                } else if a.voided.contains(&tid) {
                    Err(Refusal::Voided)
                } else if a.balance + amount > self.ledger.cap {
                    Err(Refusal::Full)
                } else {
                    a.balance += amount;
                    a.credits.insert(tid);
                    a.credit_log.push(tid);
                    Ok(())
                });
            }
            AccountMsg::VoidCredit(tid, reply) => {
                let applied = a.credits.contains(&tid);
                if !applied {
                    a.voided.insert(tid);
                }
                reply.send(applied);
            }
            AccountMsg::Refund(tid, amount, reply) => {
                if a.debits.contains(&tid) && a.refunds.insert(tid) {
                    a.balance += amount;
                } else if !a.debits.contains(&tid) {
                    a.voided.insert(tid);
                }
                reply.send(());
            }
            AccountMsg::Balance(reply) => reply.send(a.balance),
        }
        Ok(())
    }
}

/// An account's key: `acct-N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountId(pub u32);

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "acct-{}", self.0)
    }
}

/// How a transfer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Money moved.
    Settled,
    /// The source had too little (nothing moved).
    Declined,
    /// The credit was refused or could not be confirmed; the source got its money back.
    Refunded,
    /// A step could not be completed within the retries: money may be in flight.
    Stuck,
}

/// Messages of a teller.
pub enum TellerMsg {
    /// Move `amount` from `from` to `to` as transfer `tid`.
    Transfer(Tid, AccountId, AccountId, i64, ReplyTo<Outcome>),
    /// Replies once every transfer queued before it has finished.
    Drain(ReplyTo<()>),
}

/// What the audit actor is told.
pub enum AuditMsg {
    /// Transfer `tid` ended with `outcome` (acknowledged; recorded once).
    Record(Tid, Outcome, ReplyTo<()>),
}

/// Counters shared by tellers and the checker.
#[derive(Debug, Default)]
pub struct Totals {
    /// Money debited and neither credited nor refunded yet.
    in_flight: AtomicI64,
    /// Transfers the tellers finished.
    finished: AtomicU64,
    /// Transfers the audit actor recorded (once each).
    audited: AtomicU64,
}

/// A teller: runs one transfer at a time, retrying each idempotent step.
pub struct Teller {
    system: System,
    accounts: Entities<Account, AccountId>,
    audit: ActorRef<AuditMsg>,
    step: Duration,
    totals: Arc<Totals>,
}

/// How long a teller keeps retrying one protocol step before calling it stuck.
const STEP_BUDGET: Duration = Duration::from_secs(10);
/// How long a teller keeps retrying an audit record (partitions are finite).
const AUDIT_BUDGET: Duration = Duration::from_secs(60);

/// Tries a step until it answers, 5 ms apart, for at most `budget`.
async fn retry<R, F, Fut>(budget: Duration, mut step: F) -> Option<R>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<R, AskError>>,
{
    let give_up = tokio::time::Instant::now() + budget;
    loop {
        if let Ok(r) = step().await {
            return Some(r);
        }
        if tokio::time::Instant::now() >= give_up {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

impl Teller {
    async fn ask<R: Send + 'static>(
        &self,
        who: AccountId,
        make: impl Fn(ReplyTo<R>) -> AccountMsg,
    ) -> Option<R> {
        let account = self.accounts.get(who).ok()?;
        let (make, step) = (&make, self.step);
        let (system, account) = (&self.system, &account);
        retry(STEP_BUDGET, || async move {
            // An active account is asked directly, actor to actor (a partition between
            // tellers and accounts cuts this); an inactive one through its entity ref,
            // which activates it.
            match system.lookup::<AccountMsg>(&account.address()) {
                Some(actor) => actor.ask(make, step).await,
                None => account.ask(make, step).await,
            }
        })
        .await
    }

    async fn transfer(&self, tid: Tid, from: AccountId, to: AccountId, amount: i64) -> Outcome {
        match self.ask(from, |r| AccountMsg::Debit(tid, amount, r)).await {
            Some(Ok(())) => {}
            Some(Err(_)) => return Outcome::Declined,
            None => {
                // Unknown whether the debit happened: refund it, or void it if not.
                return match self.ask(from, |r| AccountMsg::Refund(tid, amount, r)).await {
                    Some(()) => Outcome::Declined,
                    None => Outcome::Stuck,
                };
            }
        }
        self.totals.in_flight.fetch_add(amount, Ordering::AcqRel);
        let credited = match self.ask(to, |r| AccountMsg::Credit(tid, amount, r)).await {
            Some(Ok(())) => true,
            Some(Err(_)) => false,
            // Unknown whether the credit happened: void it at the destination.
            None => match self.ask(to, |r| AccountMsg::VoidCredit(tid, r)).await {
                Some(applied) => applied,
                None => return Outcome::Stuck,
            },
        };
        if credited {
            self.totals.in_flight.fetch_sub(amount, Ordering::AcqRel);
            return Outcome::Settled;
        }
        match self.ask(from, |r| AccountMsg::Refund(tid, amount, r)).await {
            Some(()) => {
                self.totals.in_flight.fetch_sub(amount, Ordering::AcqRel);
                Outcome::Refunded
            }
            None => Outcome::Stuck,
        }
    }
}

impl Actor for Teller {
    type Msg = TellerMsg;

    async fn handle(
        &mut self,
        msg: TellerMsg,
        _ctx: &mut Context<Self>,
    ) -> Result<(), HandlerError> {
        match msg {
            TellerMsg::Transfer(tid, from, to, amount, reply) => {
                let outcome = self.transfer(tid, from, to, amount).await;
                self.totals.finished.fetch_add(1, Ordering::AcqRel);
                let audit = &self.audit;
                // A partition may cut us off the audit for a while: keep trying.
                let step = self.step;
                let _ = retry(AUDIT_BUDGET, || {
                    audit.ask(move |r| AuditMsg::Record(tid, outcome, r), step)
                })
                .await;
                reply.send(outcome);
            }
            TellerMsg::Drain(reply) => reply.send(()),
        }
        Ok(())
    }
}

/// The audit actor: records each transfer once.
pub struct Audit {
    seen: HashSet<Tid>,
    totals: Arc<Totals>,
}

impl Actor for Audit {
    type Msg = AuditMsg;

    async fn handle(
        &mut self,
        msg: AuditMsg,
        _ctx: &mut Context<Self>,
    ) -> Result<(), HandlerError> {
        let AuditMsg::Record(tid, _outcome, reply) = msg;
        if self.seen.insert(tid) {
            self.totals.audited.fetch_add(1, Ordering::AcqRel);
        }
        reply.send(());
        Ok(())
    }
}

/// The bank workload.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bank;

const CONSERVED: &str = "money.conserved";
const ONCE: &str = "transfers.applied-once";
const NON_NEGATIVE: &str = "balances.non-negative";
const AUDITED: &str = "audit.complete";

impl Workload for Bank {
    type Config = BankConfig;
    type Target = BankTarget;

    fn name(&self) -> &'static str {
        "bank"
    }

    fn help(&self) -> &'static str {
        "examples/bank: accounts as entities, transfers between them with compensation, an audit actor"
    }

    fn ops(&self) -> &'static [&'static str] {
        &["transfer", "balance"]
    }

    fn fields(&self) -> &'static [ConfigField] {
        &[
            ConfigField {
                name: "accounts",
                example: "100",
                help: "accounts (default 100)",
            },
            ConfigField {
                name: "initial_balance",
                example: "1000",
                help: "starting balance of each (default 1000)",
            },
            ConfigField {
                name: "tellers",
                example: "8",
                help: "transfers in progress at once (default 8)",
            },
            ConfigField {
                name: "max_amount",
                example: "100",
                help: "largest transfer (default 100)",
            },
            ConfigField {
                name: "step_timeout",
                example: "\"100ms\"",
                help: "a protocol step unanswered this long is retried (default 100ms)",
            },
            ConfigField {
                name: "idle_timeout",
                example: "\"2s\"",
                help: "idle accounts are passivated (default 2s)",
            },
            ConfigField {
                name: "bug",
                example: "\"double-credit\"",
                help: "plant a bug the invariants must catch (default none)",
            },
        ]
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ACTOR_SYSTEM
    }

    fn addresses(&self, _config: &BankConfig) -> Vec<String> {
        ["accounts", "accounts/acct-*", "teller-*", "audit"]
            .iter()
            .map(|a| format!("actor://bank/{a}"))
            .collect()
    }

    fn invariants(&self) -> Vec<Invariant> {
        vec![
            Invariant::at_end(
                CONSERVED,
                "the balances plus money in flight add up to what the bank started with",
            ),
            Invariant::at_end(ONCE, "no account applied the credit of one transfer twice"),
            Invariant::every_tick(NON_NEGATIVE, "no balance is ever negative"),
            Invariant::at_end(
                AUDITED,
                "the audit recorded every finished transfer exactly once",
            ),
        ]
    }

    fn check(&self, c: &BankConfig, _ctx: &CheckContext) -> Vec<(String, String)> {
        let mut p = Vec::new();
        if !(2..=1_000_000).contains(&c.accounts) {
            p.push((
                "accounts".into(),
                format!("must be between 2 and 1000000 (got {})", c.accounts),
            ));
        }
        if !(1..=10_000).contains(&c.tellers) {
            p.push((
                "tellers".into(),
                format!("must be between 1 and 10000 (got {})", c.tellers),
            ));
        }
        if c.initial_balance < 0 || c.max_amount < 1 {
            p.push((
                "max_amount".into(),
                "balances start at 0 or more and transfers move at least 1".into(),
            ));
        }
        p
    }

    async fn build(&self, c: BankConfig, ctx: BuildContext) -> Result<BankTarget, BuildError> {
        let fail = |e: &dyn std::fmt::Display| BuildError(e.to_string());
        let system =
            System::with_config("bank", ctx.runtime.system_config()).map_err(|e| fail(&e))?;
        let ledger = Arc::new(Ledger {
            accounts: (0..c.accounts)
                .map(|_| {
                    Mutex::new(AccountState {
                        balance: c.initial_balance,
                        ..Default::default()
                    })
                })
                .collect(),
            total: c.initial_balance * i64::from(c.accounts),
            cap: c.initial_balance * 2,
        });
        let (l, bug) = (ledger.clone(), c.bug);
        let idle = c.idle_timeout.map_or(Duration::from_secs(2), |d| d.0);
        let accounts = system
            .entities(
                "accounts",
                EntityProps::new(move |id: &AccountId| Account {
                    index: id.0 as usize,
                    ledger: l.clone(),
                    bug,
                })
                .idle_timeout(idle),
            )
            .map_err(|e| fail(&e))?;
        let totals = Arc::new(Totals::default());
        let t = totals.clone();
        let audit = system
            .spawn(
                "audit",
                Props::new(move || Audit {
                    seen: HashSet::new(),
                    totals: t.clone(),
                }),
            )
            .map_err(|e| fail(&e))?;
        let step = c.step_timeout.map_or(Duration::from_millis(100), |d| d.0);
        let tellers = (0..c.tellers)
            .map(|i| {
                let (accounts, audit, totals) = (accounts.clone(), audit.clone(), totals.clone());
                let sys = system.clone();
                system.spawn(
                    &format!("teller-{i}"),
                    Props::new(move || Teller {
                        system: sys.clone(),
                        accounts: accounts.clone(),
                        audit: audit.clone(),
                        step,
                        totals: totals.clone(),
                    }),
                )
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(&e))?;
        Ok(BankTarget {
            system,
            accounts,
            tellers,
            ledger,
            totals,
            next_tid: AtomicU64::new(1),
            seed: ctx.seed,
            n: u64::from(c.accounts),
            max_amount: c.max_amount as u64,
        })
    }
}

/// The built bank.
pub struct BankTarget {
    system: System,
    accounts: Entities<Account, AccountId>,
    tellers: Vec<ActorRef<TellerMsg>>,
    ledger: Arc<Ledger>,
    totals: Arc<Totals>,
    next_tid: AtomicU64,
    seed: u64,
    n: u64,
    max_amount: u64,
}

/// SplitMix64: replayable "random" choices from the seed and the op number.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Target for BankTarget {
    async fn call(&self, op: OpId, seq: u64) -> Result<(), OpError> {
        let r = mix(self.seed ^ seq.wrapping_mul(0x2545_f491_4f6c_dd1d));
        let from = AccountId((r % self.n) as u32);
        if op.0 == 1 {
            let account = self.accounts.get(from).map_err(|_| OpError::Failed)?;
            return account
                .ask(AccountMsg::Balance, Duration::from_secs(5))
                .await
                .map(drop)
                .map_err(ask_error);
        }
        let to =
            AccountId(((r >> 20) % (self.n - 1) + u64::from(from.0) + 1) as u32 % self.n as u32);
        let amount = ((r >> 40) % self.max_amount + 1) as i64;
        let tid = self.next_tid.fetch_add(1, Ordering::Relaxed);
        let teller = &self.tellers[(seq % self.tellers.len() as u64) as usize];
        // The teller finishes the transfer even if this future is dropped (op timeout):
        // the protocol never lives in the caller.
        match teller
            .ask(
                |r| TellerMsg::Transfer(tid, from, to, amount, r),
                Duration::from_secs(60),
            )
            .await
        {
            Ok(Outcome::Stuck) => Err(OpError::Failed),
            Ok(_) => Ok(()),
            Err(e) => Err(ask_error(e)),
        }
    }

    fn system(&self) -> Option<&System> {
        Some(&self.system)
    }

    async fn check_invariants(&self, at: Checkpoint) -> Vec<InvariantCheck> {
        let ledger = &self.ledger;
        let balances: Vec<i64> = (0..ledger.accounts.len())
            .map(|i| ledger.account(i).balance)
            .collect();
        let negative = balances.iter().filter(|b| **b < 0).count();
        let mut out = vec![InvariantCheck::check(NON_NEGATIVE, negative == 0, || {
            format!("{negative} accounts below zero")
        })];
        if at == Checkpoint::Tick {
            return out;
        }
        // Quiescent: let every teller finish what is queued before checking the sums.
        for t in &self.tellers {
            let _ = t.ask(TellerMsg::Drain, Duration::from_secs(30)).await;
        }
        let sum: i64 = (0..ledger.accounts.len())
            .map(|i| ledger.account(i).balance)
            .sum();
        let in_flight = self.totals.in_flight.load(Ordering::Acquire);
        out.push(InvariantCheck::check(CONSERVED, sum + in_flight == ledger.total, || {
            format!(
                "balances {sum} + in flight {in_flight} = {} but the bank started with {} ({:+})",
                sum + in_flight,
                ledger.total,
                sum + in_flight - ledger.total
            )
        }));
        let mut twice = Vec::new();
        for i in 0..ledger.accounts.len() {
            let a = ledger.account(i);
            let mut seen = HashSet::new();
            twice.extend(
                a.credit_log
                    .iter()
                    .filter(|t| !seen.insert(**t))
                    .map(|t| (i, *t)),
            );
        }
        out.push(InvariantCheck::check(ONCE, twice.is_empty(), || {
            let distinct: std::collections::BTreeSet<_> = twice.iter().collect();
            let shown: Vec<String> = distinct
                .iter()
                .take(3)
                .map(|(a, t)| format!("transfer {t} at acct-{a}"))
                .collect();
            format!(
                "{} transfers credited more than once ({} extra credits), e.g. {}",
                distinct.len(),
                twice.len(),
                shown.join(", ")
            )
        }));
        let (finished, audited) = (
            self.totals.finished.load(Ordering::Acquire),
            self.totals.audited.load(Ordering::Acquire),
        );
        out.push(InvariantCheck::check(AUDITED, finished == audited, || {
            format!("{finished} transfers finished, {audited} audited")
        }));
        out
    }
}

fn ask_error(e: AskError) -> OpError {
    match e {
        AskError::Timeout(_) => OpError::Timeout,
        AskError::Full | AskError::Dropped | AskError::Stopped => OpError::Rejected,
        _ => OpError::Failed,
    }
}
